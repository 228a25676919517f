"""Input checks shared by the estimators: clear errors that name the argument."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.utils.validation import check_array, check_random_state, validate_data

from .pam_alignment import default_names

MAX_CELLS = 200_000_000  # rows x columns beyond this would not fit the memory budget
# the largest magnitude accepted: scikit-learn's trees and forests (the arm outcome
# columns, the propensity and outcome models) cast covariates to float32
MAX_ABS_INPUT = float(np.finfo(np.float32).max)
MIN_CONTEXT_SIZE = 2  # a context scales its rows by their spread: one row has none


def _column_label(values, column: int):
    """How an error names column ``column``: the DataFrame's label, else its position."""
    if isinstance(values, pd.DataFrame):
        return f"column {values.columns[column]!r}"
    return f"column {column}"


def check_frame(values, name: str) -> None:
    """Raise a clear error for a DataFrame ``values`` that no numeric check could read:
    repeated column names (a column could not be told from its namesake) and columns that
    are not numeric, named, with the fix. Anything else passes unchanged."""
    if not isinstance(values, pd.DataFrame):
        return
    repeated = list(dict.fromkeys(values.columns[values.columns.duplicated()].tolist()))
    if repeated:
        raise ValueError(f"{name} has repeated column names {repeated}; give each column its own name "
                         f"(e.g. {name}.columns = [...])")
    non_numeric = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
    if non_numeric:
        raise TypeError(f"{name} has non-numeric columns {non_numeric} (dtypes "
                        f"{[str(values[c].dtype) for c in non_numeric]}); encode them as numbers "
                        "(e.g. one-hot with pandas.get_dummies) first")


def _n_rows(values) -> int | None:
    """The rows of an array-like (its first axis), or None where it has none (a scalar,
    None, an object without a length): validation then says what it is."""
    shape = getattr(values, "shape", None)
    if shape is not None:  # arrays, frames and every sparse format (whose len() may count entries)
        return int(shape[0]) if len(shape) else None
    try:
        return len(values)
    except TypeError:
        return None


def validate_named(estimator, X, y="no_validation", **params):
    """scikit-learn's ``validate_data`` whose errors open with the argument they concern.

    Its own messages ("Found array with dim 3", "Complex data not supported", feature names
    that differ from fit's) do not say whether X or y is at fault; here they begin with
    "X: " or "y: ", and X and y of different lengths are refused with both lengths named.
    ``params`` go to ``validate_data``.
    """
    if not isinstance(y, str):
        n_X, n_y = _n_rows(X), _n_rows(y)
        if n_X is not None and n_y is not None and n_X != n_y:
            raise ValueError(f"X has {n_X} rows and y has {n_y}; y needs one value per row of X")
    try:
        return validate_data(estimator, X, y, **params)
    except ValueError as error:
        culprit = "X"
        if not isinstance(y, str):
            try:
                check_array(X, dtype=params.get("dtype", "numeric"))
                culprit = "y"
            except ValueError:
                pass
        raise ValueError(f"{culprit}: {error}") from error


def check_magnitude(array: np.ndarray, name: str, values=None) -> None:
    """Raise a ValueError naming the first entry of ``array`` (2-d, or 1-d for one column)
    beyond ``MAX_ABS_INPUT`` and the fix; ``values`` (the user's input) names columns.
    Raises a TypeError for values that are not real numbers."""
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}")
    too_large = np.abs(array) > MAX_ABS_INPUT
    if not too_large.any():
        return
    where = np.argwhere(too_large)[0]
    column = "" if array.ndim == 1 else f", {_column_label(values, int(where[1]))}"
    raise ValueError(f"{name} holds {array[tuple(where)]:.3g} (row {where[0]}{column}), beyond the largest magnitude "
                     f"the estimator computes with ({MAX_ABS_INPUT:.3g}, float32's range, which its forests use); "
                     "rescale it (other units, a log transform) or clip it")


def check_matrix(values, name: str, *, n_rows: int | None = None, allow_none: bool = False) -> np.ndarray | None:
    """A finite, numeric 2-d float array; 1-d input is read as one column.

    Errors name the argument, the row and the column (a DataFrame's label where there is
    one) and say how to fix the input.
    """
    if values is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required; got None")
    check_frame(values, name)
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
        raise ValueError(f"{name} contains NaN or infinity (first at row {bad[0]}, {_column_label(values, bad[1])}); "
                         "impute or drop it")
    check_magnitude(array, name, values)
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
    if isinstance(values, pd.DataFrame) and values.shape[1] == 1:
        values = values.iloc[:, 0]
    if isinstance(values, (list, tuple)):  # numpy would turn [0, "1"] into the strings "0", "1"
        _check_one_kind(pd.Series(values, dtype=object), name)
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d (one value per row); got shape {array.shape}")
    if array.dtype == object:
        _check_one_kind(array, name)
    if array.dtype.kind == "c":  # numpy's cast would drop the imaginary parts with only a warning
        raise TypeError(f"{name} holds complex numbers; give real values")
    if numeric:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be numeric; got dtype {array.dtype}") from error
    missing = ~np.isfinite(array) if array.dtype.kind in "fc" else pd.isna(array)
    if missing.any():
        raise ValueError(f"{name} contains NaN, None or infinity (first at row {int(np.argmax(missing))}); "
                         "impute or drop those rows")
    if array.dtype.kind in "fc":
        check_magnitude(array, name)
    if n_rows is not None and len(array) != n_rows:
        raise ValueError(f"{name} has {len(array)} rows; expected {n_rows} (one per row of X)")
    return array


def _check_one_kind(values, name: str) -> None:
    """Raise a TypeError when ``values`` (1-d) mix numbers with strings or other objects:
    their order, hence the treatment levels, would be undefined. Numbers of several types
    (bool, int, float) are one kind."""
    if pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
        return
    present = pd.Series(values, dtype=object).dropna()
    number = present.map(lambda v: isinstance(v, (numbers.Number, np.number, np.bool_)))
    kinds = present.map(lambda v: "number" if isinstance(v, (numbers.Number, np.number, np.bool_))
                        else type(v).__name__)
    if number.all() or kinds.nunique() == 1:
        return
    first = kinds.drop_duplicates()
    examples = ", ".join(f"{present[i]!r} at row {i}" for i in first.index[:2])
    raise TypeError(f"{name} mixes value types ({', '.join(first)}): {examples}; give every value the same type, "
                    f"all numbers (e.g. np.asarray({name}, dtype=float)) or all strings (e.g. {name}.astype(str))")


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


def seed_from(random_state) -> int:
    """An integer seed drawn from ``random_state`` (None, an int or a ``RandomState``), as
    scikit-learn's ``check_random_state`` reads it, with an error that names the parameter."""
    try:
        return int(check_random_state(random_state).randint(2**31))
    except (TypeError, ValueError) as error:
        raise ValueError(f"random_state={random_state!r}; expected None, an integer or a numpy "
                         "RandomState") from error


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
