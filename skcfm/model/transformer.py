"""The graph-conditioned causal foundation model (Reuter et al., "Use What You Know")."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from . import bar_distribution
from .config import CFMConfig
from .graph_encoder import GraphEncoder, variable_roles
from .layers import CFMBlock

# learnable attention-bias relations, seen from the attending variable i towards key j
_RELATIONS = ("j ancestor of i", "j descendant of i", "j not ancestor of i")


@dataclass(frozen=True)
class ContextCache:
    """What queries need from an encoded context: per block, the normalised sink and
    context rows their sample-wise attention reads, the PAM's attention bias and the
    graph embedding (None where the configuration has no GCN / soft bias)."""

    keys: list[torch.Tensor]  # per block (B, F, n_sinks + N, d)
    feature_biases: list[torch.Tensor | None]  # per block (B, 1, H, F, F)
    graph_embedding: torch.Tensor | None  # (B, F, d)


def sinusoidal_positions(n_positions: int, d_model: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed feature position encodings, shape (n_positions, d_model)."""
    position = torch.arange(n_positions, device=device, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, d_model, 2, device=device) * (-math.log(10000.0) / d_model))
    encoding = torch.zeros(n_positions, d_model, device=device)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)
    return encoding


class CausalFoundationModel(nn.Module):
    """Predicts p(y | do(t), x, context, PAM) as a bar distribution.

    Variables are ordered [T, Y, X_1..X_d] everywhere inside the model.
    """

    def __init__(self, config: CFMConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.cell_mlp = nn.Sequential(nn.Linear(1, d), nn.GELU(), nn.Linear(d, d))
        self.row_mlp = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.role_embedding = nn.Embedding(3, d)  # treatment / outcome / covariate
        self.source_embedding = nn.Embedding(2, d)  # context row / query row
        self.masked_target = nn.Parameter(torch.randn(d) * 0.02)
        self.mix = nn.Parameter(torch.tensor([0.5, 1.0]))  # lambda_row, lambda_cell
        self.sinks = nn.Parameter(torch.randn(config.n_sinks, 3, d) * 0.02)
        self.graph_encoder = GraphEncoder(d, config.gcn_layers) if config.uses_gcn else None
        self.blocks = nn.ModuleList(
            CFMBlock(d, config.n_heads, config.ffn_mult, conditioned=config.uses_gcn) for _ in range(config.n_layers)
        )
        initial_bias = torch.tensor([1.0, 0.0, -1.0]).expand(config.n_layers, config.n_heads, 3)
        self.feature_bias = nn.Parameter(initial_bias.clone()) if config.uses_soft_bias else None
        self.head_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.n_bars)
        borders = torch.tensor(config.bar_borders) if config.bar_borders else torch.linspace(-4, 4, config.n_bars + 1)
        self.register_buffer("borders", borders.float(), persistent=False)

    def _embed(self, rows: torch.Tensor, is_query: bool) -> torch.Tensor:
        """Cell tokens (B, R, F, d) of context or query rows; each row is embedded on its own."""
        cells = self.cell_mlp(rows.unsqueeze(-1))
        if is_query:  # the outcome of a query row is what we predict: replace it by the mask token
            cells[:, :, 1] = self.masked_target
        summary = self.row_mlp(cells.mean(dim=2, keepdim=True))
        roles = variable_roles(rows.shape[-1], rows.device)
        source = self.source_embedding.weight[int(is_query)]
        cells = cells + self.role_embedding(roles) + source
        positions = sinusoidal_positions(rows.shape[-1], self.config.d_model, rows.device)
        return self.mix[0] * summary + self.mix[1] * cells + positions

    def _feature_bias(self, pam: torch.Tensor, layer: int) -> torch.Tensor | None:
        """Additive attention bias (B, 1, H, F, F) for query variable i, key variable j."""
        if self.config.graph_mode == "hard":
            not_ancestor = (pam == -1).transpose(1, 2)  # [i, j]: j known not to cause i
            # a variable always sees itself, so no row of the attention is fully masked
            not_ancestor = not_ancestor & ~torch.eye(pam.shape[-1], dtype=torch.bool, device=pam.device)
            bias = torch.zeros(not_ancestor.shape, device=pam.device).masked_fill(not_ancestor, float("-inf"))
            return bias[:, None, None]
        if self.feature_bias is None:
            return None
        ancestor = (pam == 1).float()
        relations = torch.stack(
            [ancestor.transpose(1, 2), ancestor, (pam == -1).float().transpose(1, 2)], dim=-1
        )  # (B, F, F, 3)
        bias = torch.einsum("bijr,hr->bhij", relations, self.feature_bias[layer])
        return bias[:, None]

    def encode_context(self, context: torch.Tensor, pam: torch.Tensor) -> ContextCache:
        """Run the context rows (with the attention sinks) through every block once.

        Shape: context (B, N, F) standardised rows [t, y, x_1..x_d], F = d + 2;
        pam (B, F, F) in {-1, 0, 1}, ``pam[b, a, c] == 1``: a is an ancestor of c.
        The context never attends to queries, so its states can serve any number of
        query chunks (:meth:`predict_queries`).
        """
        n_batch, _, n_vars = context.shape
        roles = variable_roles(n_vars, context.device)
        positions = sinusoidal_positions(n_vars, self.config.d_model, context.device)
        sinks = self.sinks[:, roles].expand(n_batch, -1, -1, -1) + positions
        h = torch.cat([sinks, self._embed(context, is_query=False)], dim=1)
        z = self.graph_encoder(pam) if self.graph_encoder is not None else None
        biases = [self._feature_bias(pam, layer) for layer in range(len(self.blocks))]
        keys = []
        *inner, last = zip(self.blocks, biases, strict=True)
        for block, bias in inner:
            h, layer_keys = block(h, bias, z)
            keys.append(layer_keys)
        block, bias = last  # queries read only the last block's keys from the context
        keys.append(block.context_keys(h, bias, z))
        return ContextCache(keys, biases, z)

    def predict_queries(self, cache: ContextCache, queries: torch.Tensor) -> torch.Tensor:
        """Logits (B, M, n_bars) of each query's outcome under do(t), given an encoded context.

        Shape: queries (B, M, F) standardised rows [t', ignored, x_1..x_d].
        """
        h = self._embed(queries, is_query=True)
        *inner, last = zip(self.blocks, cache.feature_biases, cache.keys, strict=True)
        for block, bias, keys in inner:
            h, _ = block(h, bias, cache.graph_embedding, context_keys=keys)
        block, bias, keys = last  # the head reads the outcome's token only
        h = block.forward_variable(h, bias, cache.graph_embedding, keys, variable=1)
        return self.head(self.head_norm(h[:, :, 0]))

    def forward(self, context: torch.Tensor, queries: torch.Tensor, pam: torch.Tensor) -> torch.Tensor:
        """Logits of the bar distribution of each query's outcome under do(t).

        Shape:
            context: (B, N, F) standardised rows [t, y, x_1..x_d], F = d + 2.
            queries: (B, M, F) rows [t', ignored, x_1..x_d].
            pam: (B, F, F) in {-1, 0, 1}; ``pam[b, a, c] == 1``: a is an ancestor of c.
            returns: (B, M, n_bars).
        """
        return self.predict_queries(self.encode_context(context, pam), queries)

    def loss(
        self, context: torch.Tensor, queries: torch.Tensor, pam: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """Mean NLL of standardised ``targets`` (B, M)."""
        return bar_distribution.nll(self(context, queries, pam), self.borders, targets)
