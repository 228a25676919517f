"""Zero-mean, unit-variance noise from a mixture of Normal, Gamma, Laplace, Student-t and Gumbel."""

from __future__ import annotations

import math

import torch

N_NOISE_KINDS = 5
_EULER_GAMMA = 0.5772156649015329


def standard_noise(kind: torch.Tensor, n_rows: int, generator: torch.Generator) -> torch.Tensor:
    """Noise of the given kind per data set and node: ``kind`` (B, N) -> (B, n_rows, N)."""
    b, n = kind.shape
    shape = (b, n_rows, n)
    u = torch.rand(shape, generator=generator).clamp(1e-6, 1 - 1e-6)
    normal = torch.randn(shape, generator=generator)
    # Gamma(2, 1) as a sum of two exponentials, centred and scaled to unit variance
    gamma = (-torch.log(u) - torch.log(torch.rand(shape, generator=generator).clamp(min=1e-6)) - 2.0) / math.sqrt(2.0)
    laplace = -torch.sign(u - 0.5) * torch.log(1 - 2 * (u - 0.5).abs()) / math.sqrt(2.0)
    # Student-t with 5 degrees of freedom: normal / sqrt(chi2_5 / 5), variance 5/3
    chi2 = torch.randn((5, *shape), generator=generator).pow(2).sum(0)
    student = normal / torch.sqrt(chi2 / 5) / math.sqrt(5 / 3)
    gumbel = (-torch.log(-torch.log(u)) - _EULER_GAMMA) / (math.pi / math.sqrt(6))
    kind = kind[:, None, :]
    out = torch.where(kind == 1, gamma, normal)
    out = torch.where(kind == 2, laplace, out)
    out = torch.where(kind == 3, student, out)
    return torch.where(kind == 4, gumbel, out)
