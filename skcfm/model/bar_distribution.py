"""Bar distribution over a standardised target: K bars plus half-normal tails.

Pure functions of ``(logits, borders)``, used by the training loss and by inference.
The outermost bars are replaced by half-normal tails (as in PFNs' full-support bar
distribution) so that targets outside the fitted borders keep a finite likelihood.
"""

from __future__ import annotations

import math

import torch

# the tail half-normal puts half its mass inside the outer bar's width
_HALF_NORMAL_MEDIAN = 0.6744897501960817


def fit_borders(samples: torch.Tensor, n_bars: int) -> torch.Tensor:
    """Borders at equal-mass quantiles of ``samples``, shape ``(n_bars + 1,)``."""
    samples = samples.flatten().double()
    samples = samples[torch.isfinite(samples)]
    qs = torch.linspace(0, 1, n_bars + 1, dtype=torch.float64)
    borders = torch.quantile(samples, qs)
    # merge ties (discrete targets) by spreading borders to a minimal width
    min_width = 1e-3
    for i in range(1, len(borders)):
        if borders[i] < borders[i - 1] + min_width:
            borders[i] = borders[i - 1] + min_width
    return borders.float()


def _widths(borders: torch.Tensor) -> torch.Tensor:
    return borders[1:] - borders[:-1]


def _tail_scales(borders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    w = _widths(borders)
    return w[0] / _HALF_NORMAL_MEDIAN, w[-1] / _HALF_NORMAL_MEDIAN


def log_density(logits: torch.Tensor, borders: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Log density of ``y`` under the bar distribution; shapes ``(..., K)`` and ``(...)``."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    n_bars = logits.shape[-1]
    idx = (torch.searchsorted(borders, y.contiguous(), right=False) - 1).clamp(0, n_bars - 1)
    log_pk = log_p.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
    interior = log_pk - torch.log(_widths(borders))[idx]
    s_left, s_right = _tail_scales(borders)
    half_normal = lambda d, s: math.log(2.0) - 0.5 * math.log(2 * math.pi) - torch.log(s) - 0.5 * (d / s) ** 2  # noqa: E731
    left = log_pk + half_normal((borders[1] - y).clamp(min=0), s_left)
    right = log_pk + half_normal((y - borders[-2]).clamp(min=0), s_right)
    return torch.where(idx == 0, left, torch.where(idx == n_bars - 1, right, interior))


def nll(logits: torch.Tensor, borders: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood."""
    return -log_density(logits, borders, y).mean()


def mean(
    logits: torch.Tensor, borders: torch.Tensor, tail_centres: tuple[float, float] | None = None
) -> torch.Tensor:
    """Expected value, shape ``logits.shape[:-1]``.

    Each bar counts at its midpoint and each outer bar at ``tail_centres`` (left,
    right), by default the means of the half-normal tails.
    """
    p = torch.softmax(logits.float(), dim=-1)
    centres = ((borders[1:] + borders[:-1]) / 2).clone()
    left, right = half_normal_tail_means(borders) if tail_centres is None else tail_centres
    centres[0], centres[-1] = left, right
    return p @ centres


def half_normal_tail_means(borders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Means of the half-normal tails that stand in for the two outer bars."""
    s_left, s_right = _tail_scales(borders)
    return borders[1] - s_left * math.sqrt(2 / math.pi), borders[-2] + s_right * math.sqrt(2 / math.pi)


def bar_nodes(borders: torch.Tensor, n_nodes: int = 32) -> torch.Tensor:
    """Points at the within-bar quantiles (j + 0.5) / n_nodes of each bar, shape
    ``(K, n_nodes)``: uniform within an inner bar, half-normal in the two tails.

    The expectation of any f(y) is then ``p @ f(nodes).mean(-1)`` (midpoint rule in each
    bar's mass); for f the identity it is the inner bars' midpoints exactly.
    """
    fractions = (torch.arange(n_nodes, dtype=borders.dtype, device=borders.device) + 0.5) / n_nodes
    lo, hi = borders[:-1, None], borders[1:, None]
    nodes = lo + fractions * (hi - lo)
    s_left, s_right = _tail_scales(borders)
    depth = torch.distributions.Normal(0.0, 1.0).icdf(0.5 + 0.5 * fractions.float()).to(borders)
    nodes[0] = borders[1] - s_left * depth.flip(0)
    nodes[-1] = borders[-2] + s_right * depth
    return nodes


def quantiles(logits: torch.Tensor, borders: torch.Tensor, qs: torch.Tensor) -> torch.Tensor:
    """Quantiles ``qs`` (shape ``(Q,)``) of each distribution; returns ``(..., Q)``."""
    p = torch.softmax(logits.float(), dim=-1)
    cdf = torch.cumsum(p, dim=-1)
    cdf_before = cdf - p
    qs = qs.to(p).expand(*p.shape[:-1], -1).contiguous()
    idx = torch.searchsorted(cdf.contiguous(), qs).clamp(0, p.shape[-1] - 1)
    p_k = p.gather(-1, idx).clamp(min=1e-12)
    frac = ((qs - cdf_before.gather(-1, idx)) / p_k).clamp(0, 1)
    lo, hi = borders[:-1][idx], borders[1:][idx]
    out = lo + frac * (hi - lo)
    s_left, s_right = _tail_scales(borders)
    # half-normal tails: the mass of the outer bars sits beyond the inner borders
    normal = torch.distributions.Normal(0.0, 1.0)
    left = borders[1] - s_left * normal.icdf((0.5 + 0.5 * (1 - frac)).clamp(max=1 - 1e-6))
    right = borders[-2] + s_right * normal.icdf((0.5 + 0.5 * frac).clamp(max=1 - 1e-6))
    out = torch.where(idx == 0, left, out)
    return torch.where(idx == p.shape[-1] - 1, right, out)
