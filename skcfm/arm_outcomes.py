"""Arm outcome covariates: per-arm forest predictions of Y added to what the CFM reads.

A member of the ensemble reads at most the model's ``max_covariates`` covariates and
``context_size`` rows. With wide data most members miss most covariates; a random forest
per treatment arm, fitted on all rows and columns, summarises them in one column per arm,
E[Y | x, T = t], which every member then reads (the column correlates with Y, so it ranks
first in :func:`skcfm.inference.covariate_relevance`). Training rows get out-of-bag
predictions for the arm they belong to (the trees whose bootstrap sample left the row out,
as in scikit-learn's ``oob_prediction_``), so a row's own outcome never enters its
covariates; one forest per arm serves both the training rows and the queries.

The forests read covariates and outcomes standardised in float64 (covariates with
scikit-learn's ``StandardScaler``; each arm's outcomes with the other arms' mean and
spread) and answer in the outcome's units. Trees cast covariates to float32
and treat a feature that spans less than 1e-7 as constant, and the squared-error
criterion loses its digits to an outcome offset of 1e8 or more: standardising first makes
the columns the same, up to rounding, whatever the units and offsets of X and Y. The
standardised outcomes are also rounded to a binary grid fine enough to lose nothing
(1e-9 of their spread) and coarse enough that every sum the trees form is exact
(:func:`exact_sum_grid`): splits on two features that separate a node
into the same rows then tie exactly, and the tie goes to the same feature whatever the
outcome's last bits. Without it a change of the outcome in its 16th digit, such as a
change of units, moves the forests' predictions by a few percent of the outcome's spread.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler

from ._threads import fit_on_threads
from .default_models import averaging_forest

MIN_OUT_OF_BAG_ROWS = 10  # smaller arms use the full fit: some rows would be in every bootstrap sample


def use_arm_outcomes(value, *, discrete: bool, kind: str, n_covariates: int) -> bool:
    """Whether the option ``value`` adds the columns: "auto" for a discrete treatment only;
    True with a treatment of another ``kind`` is an error. Without covariates there is
    nothing to summarise."""
    use = discrete if isinstance(value, str) else bool(value)
    if use and not discrete:
        raise ValueError(f"arm_outcomes=True needs a discrete treatment; T has kind {kind}")
    return use and n_covariates > 0


def add_arm_outcomes(X: np.ndarray, T: np.ndarray, Y: np.ndarray, pam: np.ndarray, random_state: int,
                     n_jobs: int | None = None):
    """Fit the arm forests; return them, X with their columns and the extended PAM."""
    covariates = ArmOutcomeCovariates(random_state=random_state, n_jobs=n_jobs)
    added = covariates.fit_transform(X, T, Y)
    return covariates, np.hstack([X, added]), extend_pam(pam, X.shape[1], added.shape[1])


class ArmOutcomeCovariates:
    """Per-arm outcome forests; ``fit_transform`` predicts out of bag, ``transform`` with every tree.

    Parameters
    ----------
    random_state : int
        Seeds the forests.
    n_jobs : int or None, default=None
        Jobs each forest fits on; None: skcfm's ``n_threads`` (:func:`skcfm._threads.fit_on_threads`).
        The columns do not depend on it.
    leaf_rows : int or None, default=None
        Leaves hold at least ``leaf_rows // 100`` rows; None: 1 % of the arm's rows. The
        benchmarks' T-learner baseline sizes them by the whole sample instead (``len(X)``).
    """

    def __init__(self, random_state: int, n_jobs: int | None = None, leaf_rows: int | None = None) -> None:
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.leaf_rows = leaf_rows

    def fit_transform(self, X: np.ndarray, T: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """One column per level of ``T`` (sorted): E[Y | x, T = level] for every row of X.

        Rows with T = level get that arm's out-of-bag prediction (the full fit where the
        arm has fewer than ``MIN_OUT_OF_BAG_ROWS`` rows).
        """
        self.levels_ = np.unique(T)
        self.forests_ = []
        self.x_scaler_ = StandardScaler().fit(X)
        Z = self.x_scaler_.transform(X)
        Y = np.asarray(Y, dtype=np.float64)
        self.outcome_scales_ = []
        columns = np.empty((len(X), len(self.levels_)))
        for k, level in enumerate(self.levels_):
            rows = T == level
            location, scale = _outcome_scale(Y, rows)
            self.outcome_scales_.append((location, scale))
            out_of_bag = rows.sum() >= MIN_OUT_OF_BAG_ROWS
            forest = self._forest(int(rows.sum())).set_params(oob_score=out_of_bag)
            self.forests_.append(fit_on_threads(forest, Z[rows], exact_sum_grid((Y[rows] - location) / scale),
                                                n_jobs=self.n_jobs))
            rest = ~rows if out_of_bag else np.ones_like(rows)
            if out_of_bag:
                columns[rows, k] = forest.oob_prediction_
            if rest.any():  # empty for a single pooled arm, answered wholly out of bag
                columns[rest, k] = forest.predict(Z[rest])
        return self._outcome_units(columns)

    def _outcome_units(self, columns: np.ndarray) -> np.ndarray:
        """Standardised predictions (one column per arm) -> the outcome's units."""
        location, scale = np.array(self.outcome_scales_).T
        return columns * scale + location

    def _forest(self, n_rows: int):
        """The unfitted forest for an arm of ``n_rows`` rows (a bagged ensemble, for its
        out-of-bag predictions)."""
        return averaging_forest(n_rows if self.leaf_rows is None else self.leaf_rows, self.random_state)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The full fits' predictions, one column per level."""
        Z = self.x_scaler_.transform(X)
        return self._outcome_units(np.column_stack([forest.predict(Z) for forest in self.forests_]))

    def extend(self, X: np.ndarray) -> np.ndarray:
        """Query rows X followed by their columns, as the model reads them."""
        return np.hstack([X, self.transform(X)])


GRID_EXPONENT = 30  # standardised outcomes are rounded to multiples of 2**-30 (1e-9 of their spread)


def _outcome_scale(Y: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """Location and spread that standardise the outcomes of the arm ``rows`` for its forest.

    They come from the other arms' outcomes, so a training row's own outcome cannot reach
    its arm's column even through rounding; all rows serve where the other arms are
    empty or constant, and 1 where every outcome is the same.
    """
    for pool in (Y[~rows], Y):
        if len(pool):
            location, scale = float(pool.mean()), float(pool.std())
            if scale > 8 * np.finfo(np.float64).eps * abs(location):
                return location, scale
    return float(Y.mean()), 1.0


def exact_sum_grid(values: np.ndarray) -> np.ndarray:
    """Standardised ``values`` rounded to multiples of 2**-``GRID_EXPONENT``.

    A tree's squared-error criterion compares sums of outcomes over candidate splits. On
    this grid every sum with nonnegative integer weights (a bootstrap sample) is exact in
    float64 while the weights times the largest magnitude stay below 2**22 (a million rows
    within four spreads), so splits that separate the same rows score exactly the same and
    the choice among them does not depend on the order of summation.
    """
    values = np.asarray(values, dtype=np.float64)
    return np.ldexp(np.round(np.ldexp(values, GRID_EXPONENT)), -GRID_EXPONENT)


def extend_pam(pam: np.ndarray, n_covariates: int, n_added: int) -> np.ndarray:
    """``pam`` (model order [T, Y, covariates...]) with ``n_added`` columns that are functions
    of the first ``n_covariates`` covariates.

    A fact holds for an added column when it holds for every one of those covariates (all
    known ancestors of Y, say); otherwise it is unknown. Facts between the added columns
    and the covariates stay unknown.
    """
    size = pam.shape[0]
    covariates = slice(2, 2 + n_covariates)
    out = np.zeros((size + n_added, size + n_added), dtype=pam.dtype)
    out[:size, :size] = pam

    def shared(values: np.ndarray) -> int:
        return int(values[0]) if len(values) and (values == values[0]).all() else 0

    for added in range(size, size + n_added):
        for node in (0, 1):  # T, Y
            out[added, node] = shared(pam[covariates, node])
            out[node, added] = shared(pam[node, covariates])
    return out
