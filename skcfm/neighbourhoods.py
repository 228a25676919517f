"""Local contexts: regions of covariate space, each read from its nearest training rows.

With many more training rows than a context holds, a random draw of rows gives every
member a coarse view of the whole covariate space, and the model must find the effect's
heterogeneity from a few rows in each region. Local contexts (as in CausalPFN and
retrieval-based TabPFN) split the covariate space into regions by k-means on the
training rows; each region is read from the training rows nearest its centre, and each
query is answered by the region whose centre is nearest. Distances are taken on
standardised covariates weighted by their relevance (correlation with T, with Y, or with
Y within a treatment arm), so regions follow the covariates that matter. Neighbourhoods are
drawn per treatment arm, in the same shares as a stratified context, so every region sees
every arm; sampling rows by arm does not change E[Y | T, x], which is what the model reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

from .inference import arm_quotas

MAX_NEIGHBOURHOODS = 8  # regions; more costs a context encoding per region and member
ROWS_PER_CONTEXT = 2  # a region holds at least this many contexts' worth of its nearest rows


@dataclass(frozen=True)
class Neighbourhoods:
    """Regions of covariate space: a centre each and the training rows it reads."""

    location: np.ndarray  # (d,) covariate means of the rows they were drawn from
    scale: np.ndarray  # (d,) covariate standard deviations divided by relevance weights
    centres: np.ndarray  # (k, d) in the scaled space
    rows: list[np.ndarray]  # per region, indices into the rows they were drawn from

    def assign(self, X_query: np.ndarray) -> np.ndarray:
        """The region of each query row: the nearest centre, shape (m,)."""
        return pairwise_distances_argmin((X_query - self.location) / self.scale, self.centres)


def plan_neighbourhoods(
    X: np.ndarray,
    arms: np.ndarray | None,
    relevance: np.ndarray,
    *,
    size: int,
    rng: np.random.Generator,
    max_neighbourhoods: int = MAX_NEIGHBOURHOODS,
) -> Neighbourhoods | None:
    """Up to ``max_neighbourhoods`` regions for ``X`` (n, d), each reading its nearest
    ``max(size, n / regions)`` rows, or None when ``n <= size`` (one region would read
    every row: the global context).

    ``arms`` (n,) are treatment labels for per-arm quotas (None for a continuous
    treatment); ``relevance`` (d,) weights the standardised covariates.
    """
    n = len(X)
    k = int(min(max_neighbourhoods, np.ceil(n / size)))
    if k <= 1:
        return None
    size = max(size, int(np.ceil(n / k)))  # the regions together read about every row
    location = X.mean(axis=0)
    spread = X.std(axis=0)
    weights = np.asarray(relevance, dtype=float)
    usable = (spread > 0) & (weights > 0)
    if not usable.any():
        return None
    scale = np.full(X.shape[1], np.inf)  # constant or irrelevant columns do not count
    scale[usable] = spread[usable] / weights[usable]
    Z = (X - location) / scale
    kmeans = KMeans(k, n_init=3, random_state=int(rng.integers(2**31))).fit(Z)
    rows = [_nearest_rows(Z, centre, arms, size) for centre in kmeans.cluster_centers_]
    return Neighbourhoods(location, scale, kmeans.cluster_centers_, rows)


def _nearest_rows(Z: np.ndarray, centre: np.ndarray, arms: np.ndarray | None, size: int) -> np.ndarray:
    order = np.argsort(((Z - centre) ** 2).sum(axis=1), kind="stable")
    if arms is None:
        return np.sort(order[:size])
    labels, quota = arm_quotas(arms, size)
    ordered_arms = arms[order]
    return np.sort(np.concatenate([order[ordered_arms == label][:q] for label, q in zip(labels, quota, strict=True)]))
