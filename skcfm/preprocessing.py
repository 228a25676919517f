"""Scaling of context and query rows: one implementation for pretraining and inference.

Rows are in the model's variable order [t, y, x_1..x_d]. Statistics come from the
context only; queries are transformed with them. Covariates and the context outcome are
clipped to the context's 1st/99th percentiles before standardising, so a few extreme
values cannot dominate the scale; targets are standardised with the same outcome
statistics but never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CLIP_QUANTILES = (0.01, 0.99)
MIN_STD = 1e-6
MAX_ABS_VALUE = 10.0  # standardised inputs beyond this carry no extra information


@dataclass(frozen=True)
class Scaling:
    """Per-data-set, per-variable scaling fitted on a context. Shapes (B, 1, F)."""

    lower: torch.Tensor
    upper: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def transform(self, rows: torch.Tensor) -> torch.Tensor:
        """Clip and standardise rows of shape (B, N, F)."""
        clipped = torch.minimum(torch.maximum(rows, self.lower), self.upper)
        return ((clipped - self.mean) / self.std).clamp(-MAX_ABS_VALUE, MAX_ABS_VALUE)

    def outcome_to_model(self, y: torch.Tensor) -> torch.Tensor:
        """Standardise outcomes (B, M) without clipping: the scale of model targets."""
        return (y - self.mean[:, :, 1]) / self.std[:, :, 1]

    def outcome_from_model(self, y: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`outcome_to_model`; works for any trailing shape after (B, M)."""
        mean, std = self.mean[:, 0, 1], self.std[:, 0, 1]
        extra = (1,) * (y.dim() - 1)
        return y * std.view(-1, *extra) + mean.view(-1, *extra)


def fit_scaling(context: torch.Tensor) -> Scaling:
    """Fit clipping bounds and standardisation on context rows (B, N, F)."""
    qs = torch.tensor(CLIP_QUANTILES, dtype=context.dtype, device=context.device)
    bounds = torch.quantile(context, qs, dim=1, keepdim=True)  # (2, B, 1, F)
    lower, upper = bounds[0], bounds[1]
    clipped = torch.minimum(torch.maximum(context, lower), upper)
    mean = clipped.mean(dim=1, keepdim=True)
    std = clipped.std(dim=1, keepdim=True, unbiased=False)
    # a binary column with < 1% ones is clipped to a constant: fall back to the raw spread
    raw_std = context.std(dim=1, keepdim=True, unbiased=False)
    degenerate = std < MIN_STD
    lower = torch.where(degenerate, context.amin(dim=1, keepdim=True), lower)
    upper = torch.where(degenerate, context.amax(dim=1, keepdim=True), upper)
    mean = torch.where(degenerate, context.mean(dim=1, keepdim=True), mean)
    std = torch.where(degenerate, raw_std, std).clamp(min=MIN_STD)
    return Scaling(lower=lower, upper=upper, mean=mean, std=std)
