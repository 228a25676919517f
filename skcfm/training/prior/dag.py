"""Random DAGs (Erdős–Rényi over a random topological order) and their ancestor relation."""

from __future__ import annotations

import torch


def sample_dags(n_graphs: int, n_nodes: int, generator: torch.Generator) -> torch.Tensor:
    """Adjacency of ``n_graphs`` DAGs in topological order, shape (B, N, N).

    ``adjacency[b, i, j] == 1`` means j is a parent of i (so only j < i). The edge
    probability of each graph is drawn from Beta(2, 3), as in the CFM paper's prior.
    """
    edge_prob = _beta(n_graphs, generator)
    draws = torch.rand(n_graphs, n_nodes, n_nodes, generator=generator)
    lower = torch.tril(torch.ones(n_nodes, n_nodes), diagonal=-1)
    return (draws < edge_prob[:, None, None]).float() * lower


def _beta(n: int, generator: torch.Generator, a: float = 2.0, b: float = 3.0) -> torch.Tensor:
    """Beta(a, b) for integer a, b through order statistics of uniforms (seeded)."""
    u = torch.rand(n, int(a + b) - 1, generator=generator).sort(dim=1).values
    return u[:, int(a) - 1]


def ancestor_relation(adjacency: torch.Tensor) -> torch.Tensor:
    """Transitive closure: ``out[b, a, c] == 1`` when a is an ancestor of c. Shape (B, N, N)."""
    reach = adjacency.transpose(1, 2).clone()  # [a, c]: a is a parent of c
    for _ in range(max(1, int(adjacency.shape[-1]).bit_length())):
        reach = ((reach + reach @ reach) > 0).float()
    return reach
