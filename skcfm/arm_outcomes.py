"""Arm outcome covariates: per-arm forest predictions of Y added to what the CFM reads.

A member of the ensemble reads at most the model's ``max_covariates`` covariates and
``context_size`` rows. With wide data most members miss most covariates; a random forest
per treatment arm, fitted on all rows and columns, summarises them in one column per arm,
E[Y | x, T = t], which every member then reads (the column correlates with Y, so it ranks
first in :func:`skcfm.inference.covariate_relevance`). Training rows get out-of-fold
predictions for the arm they belong to, as in scikit-learn's ``TargetEncoder``, so a row's
own outcome never enters its covariates.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, cross_val_predict

from .intervals import averaging_forest

FOLDS = 5


class ArmOutcomeCovariates:
    """Per-arm outcome forests; ``fit_transform`` cross-fits, ``transform`` uses the full fits.

    Parameters
    ----------
    random_state : int
        Seeds the folds and the forests.
    """

    def __init__(self, random_state: int) -> None:
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray, T: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """One column per level of ``T`` (sorted): E[Y | x, T = level] for every row of X.

        Rows with T = level get that arm's out-of-fold prediction (the full fit where the
        arm has fewer than ``2 * FOLDS`` rows, too few to split).
        """
        self.levels_ = np.unique(T)
        self.forests_ = []
        columns = np.empty((len(X), len(self.levels_)))
        for k, level in enumerate(self.levels_):
            rows = T == level
            forest = averaging_forest(int(rows.sum()), self.random_state).fit(X[rows], Y[rows])
            self.forests_.append(forest)
            columns[:, k] = forest.predict(X)
            if rows.sum() >= 2 * FOLDS:
                folds = KFold(FOLDS, shuffle=True, random_state=self.random_state)
                columns[rows, k] = cross_val_predict(averaging_forest(int(rows.sum()), self.random_state),
                                                     X[rows], Y[rows], cv=folds)
        return columns

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The full fits' predictions, one column per level."""
        return np.column_stack([forest.predict(X) for forest in self.forests_])


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
