"""The graph-conditioned causal foundation model (Reuter et al., "Use What You Know")."""

from __future__ import annotations

import math

import torch
from torch import nn

from . import bar_distribution
from .config import CFMConfig
from .graph_encoder import GraphEncoder, variable_roles
from .layers import CFMBlock

# learnable attention-bias relations, seen from the attending variable i towards key j
_RELATIONS = ("j ancestor of i", "j descendant of i", "j not ancestor of i")


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

    def _embed(self, context: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        n_batch, n_context, n_vars = context.shape
        values = torch.cat([context, queries], dim=1).unsqueeze(-1)  # (B, R, F, 1)
        cells = self.cell_mlp(values)
        is_query = torch.zeros(values.shape[1], dtype=torch.long, device=values.device)
        is_query[n_context:] = 1
        # the outcome of a query row is what we predict: replace it by the mask token
        cells[:, n_context:, 1] = self.masked_target
        rows = self.row_mlp(cells.mean(dim=2, keepdim=True))
        roles = variable_roles(n_vars, values.device)
        cells = cells + self.role_embedding(roles) + self.source_embedding(is_query)[:, None, :]
        h = self.mix[0] * rows + self.mix[1] * cells
        positions = sinusoidal_positions(n_vars, self.config.d_model, values.device)
        sinks = self.sinks[:, roles].expand(n_batch, -1, -1, -1)
        return torch.cat([sinks, h], dim=1) + positions

    def _feature_bias(self, pam: torch.Tensor, layer: int) -> torch.Tensor | None:
        """Additive attention bias (B, 1, H, F, F) for query variable i, key variable j."""
        if self.config.graph_mode == "hard":
            not_ancestor = (pam == -1).transpose(1, 2)  # [i, j]: j known not to cause i
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

    def forward(self, context: torch.Tensor, queries: torch.Tensor, pam: torch.Tensor) -> torch.Tensor:
        """Logits of the bar distribution of each query's outcome under do(t).

        Shape:
            context: (B, N, F) standardised rows [t, y, x_1..x_d], F = d + 2.
            queries: (B, M, F) rows [t', ignored, x_1..x_d].
            pam: (B, F, F) in {-1, 0, 1}; ``pam[b, a, c] == 1``: a is an ancestor of c.
            returns: (B, M, n_bars).
        """
        h = self._embed(context, queries)
        n_visible = self.config.n_sinks + context.shape[1]
        z = self.graph_encoder(pam) if self.graph_encoder is not None else None
        for layer, block in enumerate(self.blocks):
            h = block(h, n_visible, self._feature_bias(pam, layer), z)
        return self.head(self.head_norm(h[:, n_visible:, 1]))

    def loss(self, context: torch.Tensor, queries: torch.Tensor, pam: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean NLL of standardised ``targets`` (B, M)."""
        return bar_distribution.nll(self(context, queries, pam), self.borders, targets)
