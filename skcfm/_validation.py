"""Input checks shared by the estimators: clear errors that name the argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.utils.validation import check_array

from .graphs import default_names

MAX_CELLS = 200_000_000  # rows x columns beyond this would not fit the memory budget


def check_matrix(values, name: str, *, n_rows: int | None = None, allow_none: bool = False) -> np.ndarray | None:
    """A finite, numeric 2-d float array; 1-d input is read as one column."""
    if values is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required; got None")
    if isinstance(values, pd.DataFrame):
        non_numeric = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
        if non_numeric:
            raise TypeError(f"{name} has non-numeric columns {non_numeric}; encode them (e.g. one-hot) first")
    try:
        array = check_array(values, dtype=np.float64, ensure_2d=False, ensure_all_finite=False,
                            ensure_min_samples=0, ensure_min_features=0, input_name=name)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name} must be a numeric 2-d array: {error}") from error
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-d (rows x columns); got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]}); impute or drop it")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty; got shape {array.shape}")
    if array.size > MAX_CELLS:
        raise ValueError(f"{name} has {array.size} cells, beyond the memory budget of {MAX_CELLS}; pass it in parts")
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"{name} has {array.shape[0]} rows; expected {n_rows} (one per row of X)")
    return array


def check_vector(values, name: str, *, n_rows: int | None = None, numeric: bool = True) -> np.ndarray:
    """A 1-d array (a single column is flattened) without missing or infinite values."""
    if values is None:
        raise ValueError(f"{name} is required; got None")
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d (one value per row); got shape {array.shape}")
    if numeric:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be numeric; got dtype {array.dtype}") from error
    missing = ~np.isfinite(array) if array.dtype.kind in "fc" else pd.isna(array)
    if missing.any():
        raise ValueError(f"{name} contains NaN, None or infinity (first at row {int(np.argmax(missing))})")
    if n_rows is not None and len(array) != n_rows:
        raise ValueError(f"{name} has {len(array)} rows; expected {n_rows} (one per row of X)")
    return array


def is_numeric(values: np.ndarray) -> bool:
    """Whether an array holds numbers (booleans count), not labels."""
    kind = np.asarray(values).dtype
    return np.issubdtype(kind, np.number) or np.issubdtype(kind, np.bool_)


def column_names(values, n_columns: int, prefix: str = "x") -> list:
    """Column names of a DataFrame, else x0, x1, ..."""
    if isinstance(values, pd.DataFrame):
        return list(values.columns)
    return default_names(n_columns) if prefix == "x" else [f"{prefix}{i}" for i in range(n_columns)]


def check_column_names(values, expected: list | None, name: str) -> None:
    """Raise a ValueError when DataFrame ``values`` has columns other than ``expected`` (the
    names seen in fit), or the same in another order: the model reads columns by position,
    so a reordered frame would silently answer for other covariates. Arrays, and frames
    when fit saw an array (``expected`` None), are not checked, as in scikit-learn."""
    if expected is None or not isinstance(values, pd.DataFrame):
        return
    columns = list(values.columns)
    if columns == list(expected):
        return
    missing = [c for c in expected if c not in columns]
    unexpected = [c for c in columns if c not in expected]
    if missing or unexpected:
        raise ValueError(f"{name}'s columns differ from those seen in fit: missing {missing}, unexpected "
                         f"{unexpected}; pass the columns {list(expected)}")
    raise ValueError(f"{name}'s columns are those seen in fit in another order; reorder them as "
                     f"{list(expected)} (e.g. {name}[est.feature_names_in_])")


def series_name(values, default: str):
    name = getattr(values, "name", None)
    if isinstance(values, pd.DataFrame) and values.shape[1] == 1:
        name = values.columns[0]
    return default if name is None else name


def check_integer_parameters(estimator, minimums: dict[str, int]) -> None:
    """Each named parameter of ``estimator`` is an integer at least its minimum."""
    for name, minimum in minimums.items():
        value = getattr(estimator, name)
        if not isinstance(value, (int, np.integer)) or value < minimum:
            bound = f" >= {minimum}" if minimum > 1 else ""
            raise ValueError(f"{name} must be a positive integer{bound}; got {value!r}")


def check_learner(value, name: str, *, kind: str, method: str) -> None:
    """``value`` is None or an unfitted scikit-learn ``kind`` ("regressor" or "classifier")
    with ``fit`` and ``method``; a classifier is refused where a regressor is expected."""
    usable = hasattr(value, "fit") and hasattr(value, method) and not (kind == "regressor" and is_classifier(value))
    if value is not None and not usable:
        raise TypeError(f"{name}={value!r}; expected None or an unfitted {kind} with fit and {method}")


def check_n_jobs(value) -> None:
    """``n_jobs`` is None or a nonzero integer (joblib's convention: -1 uses every core)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value == 0):
        raise ValueError(f"n_jobs must be None or a nonzero integer (-1: every core); got {value!r}")


def check_n_estimators(value) -> None:
    """``n_estimators`` is a positive integer or "auto"."""
    if isinstance(value, str) and value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"n_estimators must be a positive integer or 'auto'; got {value!r}")
