"""GCN over the partial ancestor matrix; its node embeddings drive AdaLN."""

from __future__ import annotations

import torch
from torch import nn

# node roles in the model's variable order [T, Y, X...]
ROLE_TREATMENT, ROLE_OUTCOME, ROLE_COVARIATE = 0, 1, 2


def variable_roles(n_variables: int, device: torch.device | None = None) -> torch.Tensor:
    """Role index per variable for the order [T, Y, X...], shape ``(F,)``."""
    roles = torch.full((n_variables,), ROLE_COVARIATE, dtype=torch.long, device=device)
    roles[0], roles[1] = ROLE_TREATMENT, ROLE_OUTCOME
    return roles


def _row_normalised(adjacency: torch.Tensor) -> torch.Tensor:
    return adjacency / adjacency.sum(-1, keepdim=True).clamp(min=1.0)


class GraphEncoder(nn.Module):
    """Relational GCN with one message type per PAM relation.

    Relations seen from node i: j is a known ancestor of i, j is a known descendant of i,
    j is known not to be an ancestor of i, i is known not to be an ancestor of j.
    """

    def __init__(self, d_model: int, n_layers: int) -> None:
        super().__init__()
        self.role_embedding = nn.Embedding(3, d_model)
        self.layers = nn.ModuleList(nn.Linear(5 * d_model, d_model) for _ in range(n_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))

    def forward(self, pam: torch.Tensor) -> torch.Tensor:
        """Node embeddings.

        Shape: ``pam`` (B, F, F) with ``pam[b, a, c] == 1`` when a is an ancestor of c;
        returns (B, F, d_model).
        """
        pam = pam.float()
        ancestor = (pam == 1).float()  # [a, c]: a is ancestor of c
        non_ancestor = (pam == -1).float()
        relations = [
            _row_normalised(ancestor.transpose(1, 2)),  # i gathers from its ancestors
            _row_normalised(ancestor),  # ... from its descendants
            _row_normalised(non_ancestor.transpose(1, 2)),
            _row_normalised(non_ancestor),
        ]
        z = self.role_embedding(variable_roles(pam.shape[-1], pam.device)).expand(pam.shape[0], -1, -1)
        for layer, norm in zip(self.layers, self.norms, strict=True):
            messages = [z] + [rel @ z for rel in relations]
            z = norm(z + torch.nn.functional.gelu(layer(torch.cat(messages, dim=-1))))
        return z
