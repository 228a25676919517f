"""Input checks of the doubly robust functions of arrays (:mod:`skcfm.nuisances`,
:mod:`skcfm.aipw`, :mod:`skcfm.debiased_effect`).

Each raises a ``ValueError`` that names the argument and what was expected; the
estimators' own checks, which also name rows and columns of a DataFrame, are in
``skcfm._validation``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array

__all__ = ["check_binary_treatment", "check_float_vector", "check_new_rows"]


def check_new_rows(X_new, X: np.ndarray) -> np.ndarray:
    """``X_new`` as a finite 2-d array with as many columns as ``X``, the rows it was fitted on."""
    X_new = check_array(X_new, input_name="X_new")
    if X_new.shape[1] != X.shape[1]:
        raise ValueError(f"X_new has {X_new.shape[1]} columns; expected {X.shape[1]}, as X.")
    return X_new


def check_float_vector(a, name: str, n: int | None) -> np.ndarray:
    """``a`` as a finite 1-d float array (a single column is flattened) of ``n`` rows.

    Parameters
    ----------
    a : array-like of shape (n_samples,) or (n_samples, 1)
        The values to check.
    name : str
        The argument's name, for the error message.
    n : int or None
        The rows ``a`` must have; None accepts any number.
    """
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name} has shape {a.shape}; expected (n_samples,).")
    try:
        a = a.astype(float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric; got dtype {a.dtype}.") from err
    if n is not None and len(a) != n:
        raise ValueError(f"{name} has {len(a)} rows; expected {n}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def check_binary_treatment(T, n: int | None) -> np.ndarray:
    """``T`` as a float vector of ``n`` rows (:func:`check_float_vector`) whose values are 0
    and 1, both present: the doubly robust estimates need rows of either arm."""
    T = check_float_vector(T, "T", n)
    values = np.unique(T)
    if not np.all(np.isin(values, (0.0, 1.0))):
        shown = ", ".join(f"{v:g}" for v in values[:5])
        more = ", ..." if len(values) > 5 else ""
        raise ValueError(
            f"T must be binary with values in {{0, 1}}; got values {{{shown}{more}}}."
        )
    if len(values) < 2:
        raise ValueError(
            f"T has only the value {values[0]:g}; both arms (0 and 1) are needed."
        )
    return T
