"""The checked data of :meth:`skcfm.CFMCateEstimator.fit` and the names it is known by.

``fit`` takes X, T, Y, W and ``groups`` as users pass them (arrays, Series, DataFrames;
``skcfm._fit_arguments`` says which positional argument is which). :func:`check_fit_data`
turns them into checked arrays with the names that the partial ancestor matrix is aligned
by, and refuses what the model cannot honour: row weights, and a covariate that repeats
the treatment or the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._validation import check_matrix, check_vector, column_names, is_numeric, series_name


def refuse_weights(**weights) -> None:
    """Raise for any weight (``sample_weight``, ``freq_weight``, ``sample_var``) that is not
    None: the model reads the rows in context as they are, so a weight would be ignored."""
    for name, value in weights.items():
        if value is not None:
            raise ValueError(f"{name} is not supported: the causal foundation model reads the rows in context "
                             f"unweighted, so a weight would be silently ignored; resample the rows in "
                             f"proportion to their weights instead, or leave {name}=None")


@dataclass
class FitData:
    """``fit``'s data as checked arrays, with the names the PAM is aligned by.

    Attributes
    ----------
    X : ndarray of shape (n, d_x)
    W : ndarray of shape (n, d_w) or None
    T : ndarray of shape (n,)
        The treatment as given (labels stay labels; the estimator encodes it).
    Y : ndarray of shape (n,)
    groups : ndarray of shape (n,) or None
    x_names, w_names : list
        X's and W's column names (x0, ..., w0, ... for arrays).
    """

    X: np.ndarray
    W: np.ndarray | None
    T: np.ndarray
    Y: np.ndarray
    groups: np.ndarray | None
    x_names: list
    w_names: list

    @property
    def covariates(self) -> list:
        """X's then W's column names: the covariates of the PAM."""
        return self.x_names + self.w_names


def check_fit_data(X, T, Y, W=None, groups=None) -> FitData:
    """Check ``fit``'s data: X a matrix, T, Y, W and ``groups`` with its rows, no column of X
    or W equal to T or Y (:func:`check_not_covariates`)."""
    X_arr = check_matrix(X, "X")
    n = X_arr.shape[0]
    W_arr = check_matrix(W, "W", n_rows=n, allow_none=True)
    T_raw = check_vector(T, "T", n_rows=n, numeric=False)
    Y_arr = check_vector(Y, "Y", n_rows=n)
    groups = None if groups is None else check_vector(groups, "groups", n_rows=n, numeric=False)
    x_names = column_names(X, X_arr.shape[1])
    w_names = [] if W_arr is None else column_names(W, W_arr.shape[1], prefix="w")
    check_not_covariates(T_raw, Y_arr, [("X", X_arr, x_names), ("W", W_arr, w_names)])
    return FitData(X_arr, W_arr, T_raw, Y_arr, groups, x_names, w_names)


def check_not_covariates(T: np.ndarray, Y: np.ndarray, blocks: list[tuple[str, np.ndarray | None, list]]) -> None:
    """Raise where a column of X or W (``blocks``: name, values, column names) repeats T or
    Y: conditioning on the outcome or on the treatment itself leaves no effect to estimate,
    and the answer would silently be near 0."""
    numeric_t = T.astype(np.float64) if is_numeric(T) else None
    for block, values, columns in blocks:
        for j in range(0 if values is None else values.shape[1]):
            for variable, role, target in (("Y", "outcome", Y), ("T", "treatment", numeric_t)):
                if target is not None and np.array_equal(values[:, j], target):
                    raise ValueError(f"{block}'s column {columns[j]!r} is {variable} itself; the {role} cannot be "
                                     f"a covariate: remove it from {block}")


def variable_names(T, Y, covariates: list) -> tuple:
    """Names of T and Y for aligning a labelled PAM: their Series names, unless those clash
    with a covariate or each other (e.g. Y derived from a column of X); then "T" and "Y"."""
    treatment, outcome = series_name(T, "T"), series_name(Y, "Y")
    if treatment == outcome or treatment in covariates or outcome in covariates:
        treatment, outcome = "T", "Y"
    return treatment, outcome


def frame_feature_names(X, x_names: list) -> list | None:
    """X's column names as scikit-learn's ``feature_names_in_`` keeps them: for a DataFrame
    with string column names only; None otherwise."""
    if isinstance(X, pd.DataFrame) and all(isinstance(name, str) for name in X.columns):
        return x_names
    return None
