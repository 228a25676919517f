"""Structural mechanisms: random one-layer MLPs with the TabICL activation set, plus
random-feature Gaussian-process functions, evaluated for many SCMs at once."""

from __future__ import annotations

import torch
import torch.nn.functional as F

ACTIVATIONS = (
    "identity", "relu", "relu6", "selu", "silu", "softplus", "hardtanh", "sign",
    "sin", "rbf", "exp", "abs", "indicator", "square", "gp",
)
# identity gets extra weight: linear effects are common in real data and in the benchmarks
ACTIVATION_WEIGHTS = torch.tensor([4.0] + [1.0] * (len(ACTIVATIONS) - 1))
HIDDEN_WIDTHS = torch.tensor([1, 2, 4, 6, 8])
HIDDEN_WIDTH_WEIGHTS = torch.tensor([0.7, 0.2, 0.1, 0.05, 0.04])


_ELEMENTWISE = {
    "identity": lambda x: x,
    "relu": F.relu,
    "relu6": F.relu6,
    "selu": F.selu,
    "silu": F.silu,
    "softplus": F.softplus,
    "hardtanh": lambda x: x.clamp(-1, 1),
    "sign": torch.sign,
    "sin": torch.sin,
    "rbf": lambda x: torch.exp(-x.pow(2)),
    "exp": lambda x: torch.exp(x.clamp(max=5.0)),
    "abs": torch.abs,
    "indicator": lambda x: (x.abs() <= 1).to(x.dtype),
    "square": lambda x: x.pow(2),
}


def _gp(pre: torch.Tensor, gp: tuple[torch.Tensor, ...]) -> torch.Tensor:
    freq, phase, weight, coef = gp  # each (B, G)
    features = torch.sin(pre.unsqueeze(-1) * freq[:, None, None] + phase[:, None, None])  # (B, R, H, G)
    return (features @ ((weight * coef) / weight.norm(dim=-1, keepdim=True))[:, None, :, None]).squeeze(-1)


def apply_activation(pre: torch.Tensor, kind: torch.Tensor, gp: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Activation ``kind`` (B,) applied to ``pre`` (B, R, H); each kind only where chosen."""
    out = torch.empty_like(pre)
    for k in torch.unique(kind).tolist():
        rows = kind == k
        name = ACTIVATIONS[k]
        out[rows] = _gp(pre[rows], tuple(g[rows] for g in gp)) if name == "gp" else _ELEMENTWISE[name](pre[rows])
    return out


def sample_gp_functions(
    shape: tuple[int, ...], n_features: int, generator: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """Random-feature GP draws f(x) = phi(x)^T z (CFM paper, appendix E.1.1); each (*shape, G)."""
    full = (*shape, n_features)
    freq = torch.rand(full, generator=generator) * n_features
    phase = torch.rand(full, generator=generator) * 2 * torch.pi
    weight = freq.clamp(min=1e-3) ** (-torch.exp(torch.rand(full, generator=generator)))
    coef = torch.randn(full, generator=generator)
    return freq, phase, weight, coef
