"""Scaling of context and query rows: one implementation for pretraining and inference.

Rows are in the model's variable order [t, y, x_1..x_d]. Statistics come from the
context only; queries are transformed with them. Covariates and the context outcome are
clipped to the context's 1st/99th percentiles before standardising, so a few extreme
values cannot dominate the scale; targets are standardised with the same outcome
statistics but never clipped.

Statistics are computed in the dtype of the rows they are fitted on, and inference passes
float64 rows: standardising first and casting the standardised values to the model's
float32 afterwards keeps the model's input independent of the data's units and offset.
A float32 cast of the raw values would round an outcome of about 1e12 to steps of 65,536
and make covariates of 1e-12 or 1e8 + x indistinguishable from constants. For the same
reason the floor on a column's spread is relative to its magnitude (a few units in the
last place of the dtype), not an absolute number: a spread of 1e-12 is real variation in
data measured in units of 1e-12.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CLIP_QUANTILES = (0.01, 0.99)
# a column whose spread is below this many units in the last place of its magnitude holds
# rounding, not variation (for float32 prior batches of unit scale: about 1e-6)
MIN_STD_ULPS = 8.0
MAX_ABS_VALUE = 10.0  # standardised inputs beyond this carry no extra information
MODEL_DTYPE = torch.float32  # what the model reads


def min_std(magnitude: torch.Tensor) -> torch.Tensor:
    """The smallest spread that counts as variation for a column of largest absolute value
    ``magnitude``: ``MIN_STD_ULPS`` units in its last place, and at least the dtype's
    smallest normal number (so an all-zero column divides by a positive number)."""
    info = torch.finfo(magnitude.dtype)
    return torch.clamp(magnitude * (MIN_STD_ULPS * info.eps), min=info.tiny)


@dataclass(frozen=True)
class Scaling:
    """Per-data-set, per-variable scaling fitted on a context. Shapes (B, 1, F), in the
    context's dtype."""

    lower: torch.Tensor
    upper: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def transform(self, rows: torch.Tensor) -> torch.Tensor:
        """Clip and standardise rows of shape (B, N, F) in the statistics' precision;
        returns the model's float32."""
        rows = rows.to(self.mean.dtype)
        clipped = torch.minimum(torch.maximum(rows, self.lower), self.upper)
        scaled = ((clipped - self.mean) / self.std).clamp(-MAX_ABS_VALUE, MAX_ABS_VALUE)
        return scaled.to(MODEL_DTYPE)

    def outcome_to_model(self, y: torch.Tensor) -> torch.Tensor:
        """Standardise outcomes (B, M) without clipping: the scale of model targets."""
        return (y - self.mean[:, :, 1]) / self.std[:, :, 1]

    def outcome_from_model(self, y: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`outcome_to_model`; works for any trailing shape after (B, M). The
        result has the statistics' precision (float64 at inference), so an outcome far
        from zero keeps its digits."""
        mean, std = self.mean[:, 0, 1], self.std[:, 0, 1]
        extra = (1,) * (y.dim() - 1)
        return y.to(std.dtype) * std.view(-1, *extra) + mean.view(-1, *extra)


def fit_scaling(context: torch.Tensor) -> Scaling:
    """Fit clipping bounds and standardisation on context rows (B, N, F).

    The statistics keep ``context``'s dtype; pass float64 rows (as inference does) for
    results that do not depend on the data's units or offset.
    """
    if not context.is_floating_point():
        context = context.to(torch.float64)
    qs = torch.tensor(CLIP_QUANTILES, dtype=context.dtype, device=context.device)
    bounds = torch.quantile(context, qs, dim=1, keepdim=True)  # (2, B, 1, F)
    lower, upper = bounds[0], bounds[1]
    clipped = torch.minimum(torch.maximum(context, lower), upper)
    mean = clipped.mean(dim=1, keepdim=True)
    std = clipped.std(dim=1, keepdim=True, unbiased=False)
    # a binary column with < 1% ones is clipped to a constant: fall back to the raw spread
    raw_std = context.std(dim=1, keepdim=True, unbiased=False)
    degenerate = std < min_std(torch.maximum(lower.abs(), upper.abs()))
    lower = torch.where(degenerate, context.amin(dim=1, keepdim=True), lower)
    upper = torch.where(degenerate, context.amax(dim=1, keepdim=True), upper)
    mean = torch.where(degenerate, context.mean(dim=1, keepdim=True), mean)
    std = torch.where(degenerate, raw_std, std)
    std = torch.maximum(std, min_std(torch.maximum(lower.abs(), upper.abs())))
    return Scaling(lower=lower, upper=upper, mean=mean, std=std)
