"""A monotone transform of the outcome that the model reads in place of Y.

Skewed outcomes (earnings, IHDP's exponential control surface) put most of their spread
in a few rows of the upper tail, which the context scaling clips and the prior rarely
showed. The model can read a Yeo-Johnson transform z = g(Y) instead: it predicts a bar
distribution over z, and means in the outcome's units are exact expectations of
g^-1(z) under that distribution (:func:`skcfm.model.bar_distribution.bar_nodes`), not
g^-1 of the mean. Quantiles map through g^-1 directly, as g is increasing. TabPFN's
regressor ensembles over such a power transform of the target in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

OUTCOME_TRANSFORMS = ("none", "yeo-johnson")
LAMBDA_RANGE = (0.0, 2.0)  # where g^-1 is defined on the whole line (no pole in either branch)
MIN_DISTINCT = 10  # fewer distinct outcomes (binary, counts) are left as they are
EXTRAPOLATION = 1.0  # g^-1 is clipped this many observed ranges beyond the observed outcomes


def _yeo_johnson_inverse(z: np.ndarray, lmbda: float) -> np.ndarray:
    x = np.empty_like(z)
    pos = z >= 0
    if abs(lmbda) < 1e-12:
        x[pos] = np.expm1(z[pos])
    else:
        x[pos] = np.power(lmbda * z[pos] + 1, 1 / lmbda) - 1
    if abs(lmbda - 2) < 1e-12:
        x[~pos] = -np.expm1(-z[~pos])
    else:
        x[~pos] = 1 - np.power(1 - (2 - lmbda) * z[~pos], 1 / (2 - lmbda))
    return x


@dataclass(frozen=True)
class YeoJohnsonOutcome:
    """Y -> z = yeo_johnson((Y - loc) / scale, lmbda), with its inverse.

    ``lmbda`` is the maximum-likelihood one, kept within ``LAMBDA_RANGE``; the inverse clips
    z to ``[z_min, z_max]``, the images of the observed outcomes widened by
    ``EXTRAPOLATION`` observed ranges, so a bar distribution's tails cannot map to
    unbounded outcomes.
    """

    loc: float
    scale: float
    lmbda: float
    z_min: float
    z_max: float

    @classmethod
    def fit(cls, y: np.ndarray) -> YeoJohnsonOutcome | None:
        """The transform fitted on outcomes ``y``; None (leave Y as it is) for fewer than
        ``MIN_DISTINCT`` distinct values."""
        y = np.asarray(y, dtype=float)
        if len(np.unique(y)) < MIN_DISTINCT:
            return None
        loc, scale = float(y.mean()), float(y.std())
        u = (y - loc) / scale
        lmbda = float(np.clip(stats.yeojohnson_normmax(u), *LAMBDA_RANGE))
        span = EXTRAPOLATION * float(np.ptp(u))
        bounds = stats.yeojohnson(np.array([u.min() - span, u.max() + span]), lmbda)
        return cls(loc, scale, lmbda, float(bounds[0]), float(bounds[1]))

    def transform(self, y: np.ndarray) -> np.ndarray:
        """z for outcomes ``y``, any shape."""
        return stats.yeojohnson((np.asarray(y, dtype=float) - self.loc) / self.scale, self.lmbda)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Outcomes for ``z``, any shape, with z clipped to ``[z_min, z_max]``."""
        z = np.clip(np.asarray(z, dtype=float), self.z_min, self.z_max)
        return _yeo_johnson_inverse(z, self.lmbda) * self.scale + self.loc


def check_outcome_transform(kind) -> None:
    """Raise unless ``kind`` is one of ``OUTCOME_TRANSFORMS``."""
    if not isinstance(kind, str) or kind not in OUTCOME_TRANSFORMS:
        raise ValueError(f"outcome_transform={kind!r}; expected one of {OUTCOME_TRANSFORMS}")


def fit_outcome_transform(kind: str, y: np.ndarray) -> YeoJohnsonOutcome | None:
    """The fitted transform ``kind`` (one of ``OUTCOME_TRANSFORMS``) of outcomes ``y``, or
    None for none."""
    check_outcome_transform(kind)
    return None if kind == "none" else YeoJohnsonOutcome.fit(y)
