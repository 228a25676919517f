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
from sklearn.neighbors import NearestNeighbors

from .inference import arm_quotas

EXACT_NEAREST_REGIONS = 8  # up to this many regions, each sorts every row by distance; beyond, a tree index
KMEANS_ROWS = 20_000  # k-means sees a random sample of at most this many rows (or 10 per region) of larger data
ROWS_PER_CONTEXT = 2  # a region holds this many contexts' worth of its nearest rows


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
) -> Neighbourhoods | None:
    """``ceil(n / size)`` regions for ``X`` (n, d), each reading its nearest ``size`` rows,
    or None when ``n <= size`` (one region would read every row: the global context).

    The number of regions grows with n while each stays ``size`` rows, so a query's
    context is drawn from rows ever closer to it as data grow, and the cost per query
    stays bounded. ``arms`` (n,) are treatment labels for per-arm quotas (None for a
    continuous treatment); ``relevance`` (d,) weights the standardised covariates.
    """
    n = len(X)
    k = int(np.ceil(n / size))
    if k <= 1:
        return None
    location = X.mean(axis=0)
    spread = X.std(axis=0)
    weights = np.asarray(relevance, dtype=float)
    usable = (spread > 0) & (weights > 0)
    if not usable.any():
        return None
    scale = np.full(X.shape[1], np.inf)  # constant or irrelevant columns do not count
    scale[usable] = spread[usable] / weights[usable]
    Z = (X - location) / scale
    seed = int(rng.integers(2**31))
    n_sample = max(KMEANS_ROWS, 10 * k)  # at least 10 rows per centre, however many regions
    sample = Z if n <= n_sample else Z[np.sort(rng.choice(n, size=n_sample, replace=False))]
    centres = KMeans(k, n_init=3, random_state=seed).fit(sample).cluster_centers_
    if k <= EXACT_NEAREST_REGIONS:
        rows = [_nearest_rows(Z, centre, arms, size) for centre in centres]
    else:
        rows = _nearest_rows_indexed(Z, centres, arms, size)
    return Neighbourhoods(location, scale, centres, rows)


def _nearest_rows(Z: np.ndarray, centre: np.ndarray, arms: np.ndarray | None, size: int) -> np.ndarray:
    order = np.argsort(((Z - centre) ** 2).sum(axis=1), kind="stable")
    if arms is None:
        return np.sort(order[:size])
    labels, quota = arm_quotas(arms, size)
    ordered_arms = arms[order]
    return np.sort(np.concatenate([order[ordered_arms == label][:q] for label, q in zip(labels, quota, strict=True)]))


def _nearest_rows_indexed(Z: np.ndarray, centres: np.ndarray, arms: np.ndarray | None, size: int) -> list[np.ndarray]:
    """:func:`_nearest_rows` for many centres at once, through one nearest-neighbour index
    per arm: O(n log n) where sorting every row per centre would be O(n k)."""
    groups = [(np.arange(len(Z)), size)] if arms is None else [
        (np.flatnonzero(arms == label), q) for label, q in zip(*arm_quotas(arms, size), strict=True)]
    found = []
    for members, quota in groups:
        index = NearestNeighbors(n_neighbors=int(quota)).fit(Z[members])
        found.append(members[index.kneighbors(centres, return_distance=False)])
    return [np.sort(np.concatenate([rows[c] for rows in found])) for c in range(len(centres))]
