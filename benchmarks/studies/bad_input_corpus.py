"""Bad and extreme inputs: does each get a clear error, a sound answer, or a wrong one?

Feeds ``CFMCateEstimator``, ``GraphConditionedCFMRegressor`` and the loaders of
``skcfm.pretrained`` (exported weights, model cards, training checkpoints) a corpus of bad
or extreme inputs and classifies what happens to each case:

- ``clear_error``: an exception raised by skcfm's own code (the innermost traceback frame
  is in the installed ``skcfm`` package, at a ``raise`` statement), or by scikit-learn's
  input validation (``sklearn/utils/validation.py``, ``sklearn/base.py``,
  ``sklearn/utils/_param_validation.py``: the checks and messages every scikit-learn
  estimator gives, e.g. "Input X contains NaN", "not fitted yet. Call 'fit'"), whose
  message names the offending argument or file (one of the case's ``names``: "X", "T",
  "ancestors", "n_estimators", a file's name, ...).
- ``unclear_error``: any other exception: raised inside numpy, torch, scikit-learn or
  pandas (also by a compiled numpy or torch function that skcfm called), or not naming
  the argument; also a worker that died without an answer.
- ``handled``: no exception, and the answer passes the case's own sanity check (finite,
  of the right shape; warnings are recorded).
- ``silent_wrong``: no exception, but NaN or infinite answers, a wrong shape or a failed
  sanity check. Where no valid answer exists (missing values, mismatched lengths, invalid
  parameters or PAMs, corrupt files) the check is that none comes back: an answer counts
  as silent_wrong.
- ``hang``: no answer within the time limit per case (120 s).

The data are small: X ~ N(0, 1) of 200 x 3, a binary T with a logistic propensity in
X[:, 0], Y = X[:, 0] + 2 T + noise; ``CFMCateEstimator(random_state=0, n_estimators=4)``
and ``GraphConditionedCFMRegressor(random_state=0, n_estimators=4)`` (treatment in column
0 of [T, X]). The scale and offset cases use the default settings and compare with the
untransformed answer: under Y -> aY + b the effects scale by a and the regressor's
predictions map alike; under X -> aX + b (the regressor: its covariate columns) neither
changes. A case passes when every row is within 1 % of the spread (standard deviation
over rows) of the untransformed effects or predictions. Files are written to a temporary
directory, removed at the end.

Each case runs in a forked worker (one at a time, one thread, address space capped at
12 GB) that reports its outcome through a pipe; a worker that answers nothing within the
limit is killed. Besides the outcome, each row records the exception's type and message
(first 200 characters), the wall time, the categories of the warnings raised (and the
first one's message), the check's detail, where the exception was raised (``raised_in``,
``raised_by``), whether its message names the argument, and ``peak_rss_mb``, the worker's
growth in resident memory during the case (a model card of a huge network must be
refused before anything is allocated).

Run: python benchmarks/studies/bad_input_corpus.py [--out PATH] [--timeout 120] [--cases REGEX]
Writes benchmarks/results/bad_input_corpus.csv (one row per case) and prints the counts
per outcome and every case that is neither a clear error nor handled.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse  # noqa: E402

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: results/ is beside this folder
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

import skcfm  # noqa: E402
from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor, pretrained, unconfoundedness_pam  # noqa: E402

skcfm.set_config(n_threads=1, progress=False)

RESULTS = HERE / "results"
SKCFM_DIR = Path(skcfm.__file__).resolve().parent
# scikit-learn's input checks, whose messages its users know
SKLEARN_VALIDATION = ("sklearn/utils/validation.py", "sklearn/base.py", "sklearn/utils/_param_validation.py")
TIMEOUT_S = 120.0
MEMORY_CAP_BYTES = 12 * 1024**3
N_ROWS = 200
COLUMNS = ["a", "b", "c"]
TOLERANCE = 0.01  # of the spread of the untransformed effects or predictions, per row

Answer = dict  # what a case returns: named arrays (effects, predictions) or a loader's summary
Check = Callable[[Answer], tuple[bool, str]]


# -- the data --------------------------------------------------------------------------


def _data(n: int = N_ROWS, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    Y = X[:, 0] + 2 * T + rng.normal(size=n)
    W = rng.normal(size=(n, 2))
    return X, T, Y, W


X, T, Y, W = _data()
_rng = np.random.default_rng(1)
T3 = _rng.integers(0, 3, N_ROWS)  # three levels
Y3 = X[:, 0] + T3 + _rng.normal(size=N_ROWS)
T_CONT = X[:, 0] + _rng.normal(size=N_ROWS)  # continuous
Y_CONT = X[:, 0] + 2 * T_CONT + _rng.normal(size=N_ROWS)
D = np.column_stack([T, X])  # the regressor's data: the treatment, then the covariates
X_FRAME = pd.DataFrame(X, columns=COLUMNS)
D_FRAME = pd.DataFrame(D, columns=["t", *COLUMNS])

REFERENCES: dict[str, np.ndarray] = {}  # the untransformed answers, filled before the cases run
TMP = Path(tempfile.gettempdir())  # replaced by the study's temporary folder in main()


def changed(values, index, value, dtype=float) -> np.ndarray:
    """A copy of ``values`` as ``dtype`` with ``value`` at ``index``."""
    out = np.array(values, dtype=dtype)
    out[index] = value
    return out


def frame_with(column: str, values, base: pd.DataFrame = X_FRAME) -> pd.DataFrame:
    """``base`` with ``column`` set to ``values``."""
    out = base.copy()
    out[column] = values
    return out


# -- what the cases call -----------------------------------------------------------------


def cate(**params) -> CFMCateEstimator:
    return CFMCateEstimator(**{"n_estimators": 4, "random_state": 0, **params})


def cate_answer(est: CFMCateEstimator, query, **levels) -> Answer:
    """Effects on ``query`` and the ATE, at the treatment levels ``levels`` (T0, T1)."""
    return {"effect": est.effect(query, **levels), "ate": np.array([est.ate(**levels)])}


def fit_cate(X=X, T=T, Y=Y, *, W=None, levels=None, fit=None, **params) -> Answer:
    """Fit ``cate(**params)`` with fit's keywords ``fit`` and answer on the training X."""
    est = cate(**params).fit(X, T, Y, W=W, **(fit or {}))
    return cate_answer(est, X, **(levels or {}))


def fitted_cate(X=X, **params) -> CFMCateEstimator:
    return cate(**params).fit(X, T, Y)


def regressor(**params) -> GraphConditionedCFMRegressor:
    return GraphConditionedCFMRegressor(**{"n_estimators": 4, "random_state": 0, **params})


def fit_regressor(data=D, y=Y, *, ancestors=None, **params) -> Answer:
    """Fit ``regressor(**params)`` and predict the training rows."""
    reg = regressor(**params).fit(data, y, ancestors=ancestors)
    return {"predict": reg.predict(data)}


def fitted_regressor(data=D, **params) -> GraphConditionedCFMRegressor:
    return regressor(**params).fit(data, Y)


# -- checks of an answer -----------------------------------------------------------------


def finite(rows: int = N_ROWS) -> Check:
    """Every value finite; effects and predictions of ``rows`` rows."""

    def check(answer: Answer) -> tuple[bool, str]:
        for key, value in answer.items():
            value = np.asarray(value, dtype=float)
            if key in ("effect", "predict") and value.shape != (rows,):
                return False, f"{key} has shape {value.shape}; expected ({rows},)"
            if not np.isfinite(value).all():
                return False, f"{key} holds {int((~np.isfinite(value)).sum())} NaN or infinite values"
        return True, "finite, right shape"

    return check


def near_zero(rows: int = N_ROWS) -> Check:
    """Finite, and effects of 0 (a constant outcome, or equal treatment levels)."""
    first = finite(rows)

    def check(answer: Answer) -> tuple[bool, str]:
        ok, detail = first(answer)
        if not ok:
            return ok, detail
        largest = float(np.max(np.abs(answer["effect"])))
        return largest <= 1e-6, f"largest |effect| {largest:.3g} (expected 0)"

    return check


def refuse(answer: Answer) -> tuple[bool, str]:
    """No valid answer exists for the case: any answer is wrong."""
    shown = {key: np.asarray(value).ravel()[:2].tolist() for key, value in answer.items()}
    return False, f"accepted without an error, answered {shown}"


def scaled(reference: str, key: str, scale: float = 1.0, offset: float = 0.0) -> Check:
    """The answer's ``key``, mapped back by (v - offset) / scale, against ``REFERENCES[reference]``
    within ``TOLERANCE`` of the reference's spread on every row."""

    def check(answer: Answer) -> tuple[bool, str]:
        ref = REFERENCES.get(reference)
        if ref is None:
            return False, f"no reference answer {reference!r}"
        moved = (np.asarray(answer[key], dtype=float) - offset) / scale
        if moved.shape != ref.shape:
            return False, f"{key} has shape {moved.shape}; expected {ref.shape}"
        if not np.isfinite(moved).all():
            return False, f"{key} holds NaN or infinite values"
        spread = float(ref.std())
        error = np.abs(moved - ref)
        worst = float(error.max()) / spread
        per_row = float(np.max(error / np.maximum(np.abs(ref), 1e-300)))
        return worst <= TOLERANCE, (f"largest row error {worst:.2%} of the spread {spread:.3g} "
                                    f"(relative to the row's value: {per_row:.2%})")

    return check


def loaded(answer: Answer) -> tuple[bool, str]:
    """A loader's answer: its parameters or tensors all finite."""
    return bool(answer["finite"][0]), f"{int(answer['values'][0])} values, finite={bool(answer['finite'][0])}"


# -- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad or extreme input.

    Attributes
    ----------
    name, group : str
    estimator : {"cate", "regressor", "loader"}
    run : callable
        Builds the input, calls the library and returns its answer (a dict of arrays).
    names : tuple of str
        What a clear error's message names: the argument (any of these) or the file.
    check : callable
        The sanity check of an answer: ``(passed, detail)``.
    """

    name: str
    group: str
    estimator: str
    run: Callable[[], Answer]
    names: tuple[str, ...]
    check: Check


def data_cases() -> list[Case]:
    """Bad or extreme values and types in X, T, Y and W, and their lengths."""
    ok, no = finite(), refuse
    x_object = X.astype(object)
    x_mixed = changed(X, (4, 2), "high", object)
    x_none = changed(X, (4, 2), None, object)
    cases = [
        # X: values and types
        ("X_nan", lambda: fit_cate(changed(X, (5, 1), np.nan)), no),
        ("X_inf", lambda: fit_cate(changed(X, (5, 1), np.inf)), no),
        ("X_minus_inf", lambda: fit_cate(changed(X, (5, 1), -np.inf)), no),
        ("X_none_in_object_array", lambda: fit_cate(x_none), no),
        ("X_letter_strings", lambda: fit_cate(np.full(X.shape, "low")), no),
        ("X_numeric_strings", lambda: fit_cate(X.astype(str)), ok),
        ("X_object_dtype_numbers", lambda: fit_cate(x_object), ok),
        ("X_mixed_number_and_string", lambda: fit_cate(x_mixed), no),
        ("X_booleans", lambda: fit_cate(X > 0), ok),
        ("X_complex", lambda: fit_cate(X + 1j), no),
        ("X_float32", lambda: fit_cate(X.astype(np.float32)), ok),
        ("X_int8", lambda: fit_cate(np.round(X).astype(np.int8)), ok),
        ("X_list_of_lists", lambda: fit_cate(X.tolist()), ok),
        ("X_3d", lambda: fit_cate(np.stack([X, X], axis=2)), no),
        ("X_1d_one_covariate", lambda: fit_cate(X[:, 0]), ok),
        ("X_series_one_covariate", lambda: fit_cate(X_FRAME["a"]), ok),
        ("X_sparse_matrix", lambda: fit_cate(scipy.sparse.csr_matrix(X)), ok),
        ("X_zero_columns", lambda: fit_cate(np.empty((N_ROWS, 0))), ok),
        ("X_empty", lambda: fit_cate(np.empty((0, 3)), T[:0], Y[:0]), no),
        ("X_none", lambda: cate_answer(cate().fit(None, T, Y), X), no),
        ("X_frame_repeated_column_names", lambda: fit_cate(X_FRAME.set_axis(["a", "a", "c"], axis=1)), no),
        ("X_frame_string_column", lambda: fit_cate(frame_with("c", np.where(X[:, 2] > 0, "hi", "lo"))), no),
        ("X_frame_categorical_column", lambda: fit_cate(frame_with("c", pd.Categorical(np.where(
            X[:, 2] > 0, "hi", "lo")))), ok),
        ("X_frame_nullable_with_NA", lambda: fit_cate(frame_with("c", pd.array(
            [None] + list(np.round(X[1:, 2] * 10).astype(int)), dtype="Int64"))), no),
        ("X_frame_integer_column_names", lambda: fit_cate(X_FRAME.set_axis([0, 1, 2], axis=1)), ok),
        ("X_constant_column", lambda: fit_cate(changed(X, (slice(None), 1), 3.0)), ok),
        ("X_all_columns_constant", lambda: fit_cate(np.ones_like(X)), ok),
        ("X_duplicated_columns", lambda: fit_cate(X[:, [0, 0, 1, 2]]), ok),
        ("X_identical_rows", lambda: fit_cate(np.tile(X[:1], (N_ROWS, 1))), ok),
        ("X_many_columns", lambda: fit_cate(np.column_stack([X, np.random.default_rng(2).normal(
            size=(N_ROWS, 37))])), ok),
        ("X_1e300_cell", lambda: fit_cate(frame_with("b", changed(X[:, 1], 3, 1e300))), no),
        ("X_1e300_cell_without_arm_outcomes", lambda: fit_cate(frame_with("b", changed(X[:, 1], 3, 1e300)),
                                                               inference_config={"arm_outcomes": False}), no),
        ("X_1e30_outlier", lambda: fit_cate(changed(X, (3, 1), 1e30)), ok),
        ("X_subnormal_column", lambda: fit_cate(np.column_stack([X[:, :2], X[:, 2] * 1e-310])), ok),
        ("X_column_is_Y", lambda: fit_cate(np.column_stack([X, Y])), no),
        ("X_column_is_T", lambda: fit_cate(np.column_stack([X, T])), no),
    ]
    out = [Case(name, "X values", "cate", run, ("X",), check) for name, run, check in cases]
    t_strings = np.where(T == 1, "b", "a")
    ab = {"T0": "a", "T1": "b"}
    cases = [
        ("T_nan", lambda: fit_cate(T=changed(T, 7, np.nan)), no),
        ("T_inf", lambda: fit_cate(T=changed(T, 7, np.inf)), no),
        ("T_none_in_object_array", lambda: fit_cate(T=changed(T, 7, None, object)), no),
        ("T_strings_a_b", lambda: fit_cate(T=t_strings, levels=ab), ok),
        ("T_strings_with_none", lambda: fit_cate(T=changed(t_strings, 7, None, object), levels=ab), no),
        ("T_mixed_number_and_string_list", lambda: fit_cate(T=[0, "1"] + T[2:].tolist()), no),
        ("T_mixed_number_and_string_object", lambda: fit_cate(T=changed(T, 1, "1", object)), no),
        ("T_object_dtype_numbers", lambda: fit_cate(T=T.astype(object)), ok),
        ("T_booleans", lambda: fit_cate(T=T.astype(bool)), ok),
        ("T_complex", lambda: fit_cate(T=T + 1j), no),
        ("T_float_zero_one", lambda: fit_cate(T=T.astype(float)), ok),
        ("T_int8", lambda: fit_cate(T=T.astype(np.int8)), ok),
        ("T_categorical_series", lambda: fit_cate(T=pd.Series(pd.Categorical(T))), ok),
        ("T_one_value", lambda: fit_cate(T=np.zeros(N_ROWS, dtype=int)), no),
        ("T_all_rows_one_arm_of_two_categories", lambda: fit_cate(T=np.ones(N_ROWS, dtype=int),
                                                                  categories=[0, 1]), no),
        ("T_single_treated_row", lambda: fit_cate(T=changed(np.zeros(N_ROWS, dtype=int), 0, 1, int)), no),
        ("T_two_treated_rows", lambda: fit_cate(T=changed(np.zeros(N_ROWS, dtype=int), [0, 1], 1, int)), ok),
        ("T_three_levels", lambda: fit_cate(T=T3, Y=Y3), ok),
        ("T_twelve_levels", lambda: fit_cate(T=np.arange(N_ROWS) % 12, Y=Y + np.arange(N_ROWS) % 12), ok),
        ("T_continuous", lambda: fit_cate(T=T_CONT, Y=Y_CONT), ok),
        ("T_levels_minus_one_one", lambda: fit_cate(T=2 * T - 1, levels={"T0": -1, "T1": 1}), ok),
        ("T_perfect_separation", lambda: fit_cate(T=(X[:, 0] > 0).astype(int)), ok),
        ("T_column_vector", lambda: fit_cate(T=T[:, None]), ok),
        ("T_two_columns", lambda: fit_cate(T=np.column_stack([T, 1 - T])), no),
    ]
    out += [Case(name, "T values", "cate", run, ("T",), check) for name, run, check in cases]
    cases = [
        ("Y_nan", lambda: fit_cate(Y=changed(Y, 9, np.nan)), no),
        ("Y_inf", lambda: fit_cate(Y=changed(Y, 9, np.inf)), no),
        ("Y_none_in_object_array", lambda: fit_cate(Y=changed(Y, 9, None, object)), no),
        ("Y_letter_strings", lambda: fit_cate(Y=np.where(Y > 1, "high", "low")), no),
        ("Y_numeric_strings", lambda: fit_cate(Y=Y.astype(str)), ok),
        ("Y_object_dtype_numbers", lambda: fit_cate(Y=Y.astype(object)), ok),
        ("Y_mixed_number_and_string", lambda: fit_cate(Y=changed(Y, 9, "high", object)), no),
        ("Y_booleans", lambda: fit_cate(Y=Y > 1), ok),
        ("Y_complex", lambda: fit_cate(Y=Y + 1j), no),
        ("Y_constant", lambda: fit_cate(Y=np.full(N_ROWS, 3.5)), near_zero()),
        ("Y_integers", lambda: fit_cate(Y=np.round(Y).astype(int)), ok),
        ("Y_column_vector", lambda: fit_cate(Y=Y[:, None]), ok),
        ("Y_two_columns", lambda: fit_cate(Y=np.column_stack([Y, Y])), no),
        ("Y_1e200_cell", lambda: fit_cate(Y=changed(Y, 5, -1e200)), no),
        ("Y_1e6_outlier", lambda: fit_cate(Y=changed(Y, 5, 1e6)), ok),
    ]
    out += [Case(name, "Y values", "cate", run, ("Y",), check) for name, run, check in cases]
    w_frame = pd.DataFrame(W, columns=["u", "v"])
    cases = [
        ("W_nan", lambda: fit_cate(W=changed(W, (3, 0), np.nan)), no),
        ("W_inf", lambda: fit_cate(W=changed(W, (3, 0), np.inf)), no),
        ("W_none_in_object_array", lambda: fit_cate(W=changed(W, (3, 0), None, object)), no),
        ("W_letter_strings", lambda: fit_cate(W=np.full(W.shape, "z")), no),
        ("W_object_dtype_numbers", lambda: fit_cate(W=W.astype(object)), ok),
        ("W_mixed_number_and_string", lambda: fit_cate(W=changed(W, (3, 0), "z", object)), no),
        ("W_booleans", lambda: fit_cate(W=W > 0), ok),
        ("W_complex", lambda: fit_cate(W=W + 1j), no),
        ("W_wrong_length", lambda: fit_cate(W=W[:-3]), no),
        ("W_zero_columns", lambda: fit_cate(W=np.empty((N_ROWS, 0))), ok),
        ("W_3d", lambda: fit_cate(W=np.stack([W, W], axis=2)), no),
        ("W_column_is_Y", lambda: fit_cate(W=np.column_stack([W, Y])), no),
        ("W_frame_repeated_column_names", lambda: fit_cate(W=w_frame.set_axis(["u", "u"], axis=1)), no),
        ("W_1e300_cell", lambda: fit_cate(W=changed(W, (3, 0), 1e300)), no),
    ]
    out += [Case(name, "W values", "cate", run, ("W",), check) for name, run, check in cases]
    cases = [
        ("T_shorter_than_X", lambda: fit_cate(T=T[:-5]), ("T",), no),
        ("Y_shorter_than_X", lambda: fit_cate(Y=Y[:-5]), ("Y",), no),
        ("Y_longer_than_X", lambda: fit_cate(Y=np.concatenate([Y, Y[:5]])), ("Y",), no),
        ("X_shorter_than_T_and_Y", lambda: fit_cate(X[:-5]), ("X", "T"), no),
        ("one_row", lambda: fit_cate(X[:1], T[:1], Y[:1]), ("X", "T", "Y"), no),
        ("two_rows_one_per_arm", lambda: fit_cate(X[[0, 3]], np.array([0, 1]), Y[[0, 3]]), ("X", "T", "Y"),
         finite(2)),
        ("four_rows_two_per_arm", lambda: fit_cate(X[:4], np.array([0, 1, 0, 1]), Y[:4]), ("X", "T", "Y"),
         finite(4)),
    ]
    out += [Case(name, "lengths", "cate", run, names, check) for name, run, names, check in cases]
    return out


def call_cases() -> list[Case]:
    """fit's call forms and keywords, and the estimators' parameters."""
    ok, no = finite(), refuse
    cases = [
        ("econml_call_order", lambda: cate_answer(cate().fit(Y, T, X=X, W=W), X), ("X",), ok),
        ("fit_four_positional", lambda: cate_answer(cate().fit(X, T, Y, W), X), ("X", "T", "Y"), no),
        ("fit_X_twice", lambda: cate_answer(cate().fit(Y, T, X, X=X), X), ("X",), no),
        ("fit_without_Y", lambda: cate_answer(cate().fit(X, T), X), ("Y",), no),
        ("sample_weight_given", lambda: fit_cate(fit={"sample_weight": np.ones(N_ROWS)}), ("sample_weight",), no),
        ("freq_weight_given", lambda: fit_cate(fit={"freq_weight": np.ones(N_ROWS)}), ("freq_weight",), no),
        ("groups_wrong_length", lambda: fit_cate(fit={"groups": np.arange(N_ROWS - 7) % 20}), ("groups",), no),
        ("groups_with_nan", lambda: fit_cate(fit={"groups": changed(np.arange(N_ROWS) % 20, 4, np.nan)}),
         ("groups",), no),
        ("groups_valid", lambda: fit_cate(fit={"groups": np.arange(N_ROWS) % 20}), ("groups",), ok),
        ("inference_nope", lambda: fit_cate(fit={"inference": "nope"}), ("inference",), no),
        ("inference_aipw_three_levels", lambda: fit_cate(T=T3, Y=Y3, fit={"inference": "aipw"}),
         ("inference",), no),
    ]
    out = [Case(name, "fit call", "cate", run, names, check) for name, run, names, check in cases]
    params = [  # (parameter, value, label in the case's name, check)
        ("n_estimators", 0, "0", no), ("n_estimators", -1, "minus_1", no), ("n_estimators", "x", "x", no),
        ("n_estimators", 1.5, "1.5", no), ("n_estimators", True, "True", no),
        ("n_estimators", 100_000, "100000", ok), ("context_size", 0, "0", no), ("context_size", 1, "1", ok),
        ("cv", 1, "1", no), ("cv", 1000, "1000", no), ("final_stage", "nope", "nope", no),
        ("inference_config", {"nope": 1}, "unknown_key", no), ("inference_config", "x", "x", no),
        ("fit_mode", "x", "x", no), ("device", "nope", "nope", no), ("device", "cuda:7", "cuda_7", no),
        ("random_state", "x", "x", no), ("treatment_kind", "nope", "nope", no),
        ("categories", [0, 1, 2], "0_1_2", no), ("n_jobs", 0, "0", no), ("model", "no-such-model", "unknown", no),
        ("model_final", "nope", "nope", no), ("model_propensity", LinearRegression(), "regressor", no),
    ]
    for name, value, label, check in params:
        out.append(Case(f"{name}={label}", "parameters", "cate",
                        lambda name=name, value=value: fit_cate(**{name: value}), (name,), check))
    out.append(Case("final_stage_dr_continuous_T", "parameters", "cate",
                    lambda: fit_cate(T=T_CONT, Y=Y_CONT, final_stage="dr"), ("final_stage",), no))
    return out


def pam_array(*entries: tuple[int, int, float], shape=(5, 5)) -> np.ndarray:
    """A PAM in fit's order (x0, x1, x2, T, Y) with the given (row, column, value) entries."""
    pam = np.zeros(shape)
    for row, column, value in entries:
        pam[row, column] = value
    return pam


def pam_cases() -> list[Case]:
    """Partial ancestor matrices and graphs: wrong shapes, values, cycles, names."""
    ok, no = finite(), refuse
    labelled = unconfoundedness_pam(["x0", "x1", "x2"], treatment="T", outcome="Y")
    latent = nx.DiGraph([("x0", "T"), ("T", "Y"), ("x0", "Y"), ("u", "x1"), ("u", "Y")])
    unknown = nx.DiGraph([("age", "dose"), ("dose", "response"), ("age", "response")])
    cases = [
        ("pam_valid_array", pam_array((0, 3, 1), (0, 4, 1), (3, 4, 1)), ok),
        ("pam_wrong_shape", np.zeros((4, 4)), no),
        ("pam_not_square", np.zeros((5, 4)), no),
        ("pam_value_2", pam_array((0, 3, 2)), no),
        ("pam_value_0_5", pam_array((0, 3, 0.5)), no),
        ("pam_nan", pam_array((0, 3, np.nan)), no),
        ("pam_cycle", pam_array((0, 1, 1), (1, 0, 1)), no),
        ("pam_T_descendant_of_Y", pam_array((4, 3, 1)), no),
        ("pam_self_ancestor", pam_array((1, 1, 1)), no),
        ("pam_contradiction_through_chain", pam_array((0, 1, 1), (1, 3, 1), (0, 3, -1)), no),
        ("pam_booleans", pam_array((0, 3, 1), (0, 4, 1)).astype(bool), ok),
        ("pam_T_ancestor_of_covariate", pam_array((3, 1, 1)), ok),
        ("pam_list_of_lists", pam_array((0, 3, 1)).tolist(), no),
        ("pam_labelled_valid", labelled, ok),
        ("pam_labelled_unknown_name", labelled.rename(index={"x2": "zz"}, columns={"x2": "zz"}), no),
        ("pam_labelled_missing_covariate", labelled.drop(index="x2", columns="x2"), no),
        ("pam_networkx_latent_node", latent, ok),
        ("pam_networkx_unknown_nodes", unknown, no),
        ("pam_garbage_string", "not a graph at all", no),
        ("pam_integer", 5, no),
    ]
    return [Case(name, "ancestors", "cate", lambda pam=pam: fit_cate(fit={"ancestors": pam}), ("ancestors",), check)
            for name, pam, check in cases]


def predict_cases() -> list[Case]:
    """Calls after fit (and before it): effects, ATEs and intervals with bad arguments."""
    ok, no = finite(), refuse
    other = X_FRAME.rename(columns={"c": "d"})

    def interval(alpha=0.05):
        lower, upper = fitted_cate().ate_interval(alpha=alpha)
        return {"lower": np.array([lower]), "upper": np.array([upper])}

    def effect_interval():
        lower, upper = fitted_cate().effect_interval(X)
        return {"effect": np.asarray(lower), "upper": np.asarray(upper)}

    cases = [
        ("effect_before_fit", lambda: {"effect": cate().effect(X)}, ("fit",), no),
        ("ate_before_fit", lambda: {"ate": np.array([cate().ate()])}, ("fit",), no),
        ("effect_wrong_column_count", lambda: {"effect": fitted_cate().effect(X[:, :2])}, ("X",), no),
        ("effect_nan_X", lambda: {"effect": fitted_cate().effect(changed(X, (0, 0), np.nan))}, ("X",), no),
        ("effect_1e300_X", lambda: {"effect": fitted_cate().effect(changed(X, (0, 0), 1e300))}, ("X",), no),
        ("effect_3d_X", lambda: {"effect": fitted_cate().effect(np.stack([X, X], axis=2))}, ("X",), no),
        ("effect_frame_other_columns", lambda: {"effect": fitted_cate(X_FRAME).effect(other)}, ("X",), no),
        ("effect_frame_reordered_columns", lambda: {"effect": fitted_cate(X_FRAME).effect(
            X_FRAME[["c", "a", "b"]])}, ("X",), no),
        ("effect_list_of_lists", lambda: {"effect": fitted_cate().effect(X.tolist())}, ("X",), ok),
        ("effect_empty_X", lambda: {"effect": fitted_cate().effect(np.empty((0, 3)))}, ("X",), finite(0)),
        ("effect_T0_never_occurred", lambda: {"effect": fitted_cate().effect(X, T0=5)}, ("T0",), no),
        ("effect_T1_string_never_occurred", lambda: {"effect": fitted_cate().effect(X, T1="c")}, ("T1",), no),
        ("effect_T0_wrong_length", lambda: {"effect": fitted_cate().effect(X, T0=np.zeros(7))}, ("T0",), no),
        ("effect_default_levels_T_strings", lambda: {"effect": cate().fit(X, np.where(T == 1, "b", "a"), Y).effect(
            X)}, ("T0", "T1"), no),
        ("effect_default_levels_T_1_2", lambda: {"effect": cate().fit(X, T + 1, Y).effect(X)}, ("T0", "T1"), no),
        ("effect_equal_levels", lambda: {"effect": fitted_cate().effect(X, T0=1, T1=1)}, ("T0", "T1"), near_zero()),
        ("ate_interval_alpha_1_5", lambda: interval(alpha=1.5), ("alpha",), no),
        ("ate_interval_alpha_0", lambda: interval(alpha=0.0), ("alpha",), no),
        ("effect_interval_default_final_stage", effect_interval, ("final_stage",), no),
        ("const_marginal_effect_continuous_T", lambda: {"effect": cate().fit(X, T_CONT, Y_CONT)
                                                        .const_marginal_effect(X)}, ("T", "treatment"), no),
    ]
    return [Case(name, "after fit", "cate", run, names, check) for name, run, names, check in cases]


def regressor_cases() -> list[Case]:
    """GraphConditionedCFMRegressor: treatment column, data and prediction calls."""
    ok, no = finite(), refuse
    string_treatment = D_FRAME.assign(t=np.where(T == 1, "yes", "no"))
    cases = [
        ("reg_treatment_index_out_of_range", lambda: fit_regressor(treatment=4), ("treatment",), no),
        ("reg_treatment_negative_out_of_range", lambda: fit_regressor(treatment=-5), ("treatment",), no),
        ("reg_treatment_negative_in_range", lambda: fit_regressor(treatment=-4), ("treatment",), ok),
        ("reg_treatment_name_not_in_columns", lambda: fit_regressor(D_FRAME, treatment="dose"), ("treatment",), no),
        ("reg_treatment_name_with_array", lambda: fit_regressor(treatment="t"), ("treatment",), no),
        ("reg_treatment_float_index", lambda: fit_regressor(treatment=0.5), ("treatment",), no),
        ("reg_treatment_column_constant", lambda: fit_regressor(changed(D, (slice(None), 0), 1.0)),
         ("treatment",), no),
        ("reg_treatment_column_strings", lambda: fit_regressor(string_treatment, treatment="t"), ("X", "t"), no),
        ("reg_treatment_continuous", lambda: fit_regressor(np.column_stack([T_CONT, X]), Y_CONT),
         ("treatment",), ok),
        ("reg_X_nan", lambda: fit_regressor(changed(D, (5, 2), np.nan)), ("X",), no),
        ("reg_X_inf", lambda: fit_regressor(changed(D, (5, 2), np.inf)), ("X",), no),
        ("reg_y_nan", lambda: fit_regressor(y=changed(Y, 5, np.nan)), ("y",), no),
        ("reg_y_inf", lambda: fit_regressor(y=changed(Y, 5, np.inf)), ("y",), no),
        ("reg_X_string_column", lambda: fit_regressor(D_FRAME.assign(c=np.where(X[:, 2] > 0, "hi", "lo")),
                                                      treatment="t"), ("X", "c"), no),
        ("reg_X_categorical_column", lambda: fit_regressor(D_FRAME.assign(c=pd.Categorical(np.where(
            X[:, 2] > 0, "hi", "lo"))), treatment="t"), ("X", "c"), ok),
        ("reg_X_repeated_column_names", lambda: fit_regressor(D_FRAME.set_axis(["t", "a", "a", "c"], axis=1),
                                                              treatment="t"), ("X",), no),
        ("reg_X_1e300_cell", lambda: fit_regressor(changed(D, (3, 2), 1e300)), ("X",), no),
        ("reg_y_1e200_cell", lambda: fit_regressor(y=changed(Y, 3, 1e200)), ("y",), no),
        ("reg_X_complex", lambda: fit_regressor(D + 1j), ("X",), no),
        ("reg_X_3d", lambda: fit_regressor(np.stack([D, D], axis=2)), ("X",), no),
        ("reg_X_booleans", lambda: fit_regressor(D > 0), ("X",), finite()),
        ("reg_X_list_of_lists", lambda: fit_regressor(D.tolist()), ("X",), ok),
        ("reg_y_two_columns", lambda: fit_regressor(y=np.column_stack([Y, Y])), ("y",), no),
        ("reg_y_letter_strings", lambda: fit_regressor(y=np.where(Y > 1, "high", "low")), ("y",), no),
        ("reg_wrong_length", lambda: fit_regressor(y=Y[:-5]), ("X", "y"), no),
        ("reg_one_row", lambda: fit_regressor(D[:1], Y[:1]), ("X", "y"), no),
        ("reg_empty", lambda: fit_regressor(D[:0], Y[:0]), ("X", "y"), no),
        ("reg_n_estimators_0", lambda: fit_regressor(n_estimators=0), ("n_estimators",), no),
        ("reg_context_size_0", lambda: fit_regressor(context_size=0), ("context_size",), no),
        ("reg_fit_mode_x", lambda: fit_regressor(fit_mode="x"), ("fit_mode",), no),
        ("reg_pam_wrong_shape", lambda: fit_regressor(ancestors=np.zeros((3, 3))), ("ancestors",), no),
        ("reg_pam_value_2", lambda: fit_regressor(ancestors=changed(np.zeros((5, 5)), (1, 4), 2)),
         ("ancestors",), no),
        ("reg_predict_before_fit", lambda: {"predict": regressor().predict(D)}, ("fit",), no),
        ("reg_predict_wrong_column_count", lambda: {"predict": fitted_regressor().predict(D[:, :3])}, ("X",), no),
        ("reg_predict_nan", lambda: {"predict": fitted_regressor().predict(changed(D, (0, 1), np.nan))},
         ("X",), no),
        ("reg_predict_unseen_treatment_level", lambda: {"predict": fitted_regressor().predict(
            changed(D, (slice(None), 0), 2.0))}, ("treatment",), no),
        ("reg_predict_frame_other_columns", lambda: {"predict": fitted_regressor(D_FRAME, treatment="t").predict(
            D_FRAME.rename(columns={"c": "d"}))}, ("X",), no),
        ("reg_predict_output_type_nope", lambda: {"predict": fitted_regressor().predict(D, output_type="nope")},
         ("output_type",), no),
        ("reg_predict_quantiles_out_of_range", lambda: {"predict": fitted_regressor().predict(
            D, output_type="quantiles", quantiles=[0.0, 1.5])}, ("quantiles",), no),
    ]
    return [Case(name, "regressor", "regressor", run, names, check) for name, run, names, check in cases]


def _cate_reference() -> Answer:
    return {"cate": CFMCateEstimator(random_state=0).fit(X, T, Y).effect(X)}


def _regressor_reference() -> Answer:
    return {"regressor": GraphConditionedCFMRegressor(random_state=0).fit(D, Y).predict(D)}


def scale_cases() -> list[Case]:
    """Units and offsets of Y and X, at the default settings, against the untransformed answer."""
    y_maps = [("Y*1e-12", 1e-12, 0.0), ("Y*1e12", 1e12, 0.0), ("Y+1e12", 1.0, 1e12), ("Y+1e7", 1.0, 1e7),
              ("Y+1e8", 1.0, 1e8)]
    x_maps = [("X*1e-12", 1e-12, 0.0), ("X*1e12", 1e12, 0.0), ("X+1e8", 1.0, 1e8), ("X+1e6", 1.0, 1e6),
              ("X*1e-6", 1e-6, 0.0)]
    out = []
    for label, a, b in y_maps:
        moved = Y * a + b
        out.append(Case(f"scale_{label}", "scale", "cate",
                        lambda moved=moved: {"effect": CFMCateEstimator(random_state=0).fit(X, T, moved).effect(X)},
                        ("Y",), scaled("cate", "effect", scale=a)))
        out.append(Case(f"reg_scale_{label}", "scale", "regressor",
                        lambda moved=moved: {"predict": GraphConditionedCFMRegressor(random_state=0).fit(
                            D, moved).predict(D)}, ("y",), scaled("regressor", "predict", scale=a, offset=b)))
    for label, a, b in x_maps:
        moved_x = X * a + b
        moved_d = np.column_stack([T, moved_x])
        out.append(Case(f"scale_{label}", "scale", "cate",
                        lambda m=moved_x: {"effect": CFMCateEstimator(random_state=0).fit(m, T, Y).effect(m)},
                        ("X",), scaled("cate", "effect")))
        out.append(Case(f"reg_scale_{label}", "scale", "regressor",
                        lambda m=moved_d: {"predict": GraphConditionedCFMRegressor(random_state=0).fit(
                            m, Y).predict(m)}, ("X",), scaled("regressor", "predict")))
    return out


# -- checkpoints, exported weights and model cards ----------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shipped_card() -> dict:
    return json.loads((pretrained.WEIGHTS_DIR / f"{pretrained.DEFAULT_MODEL}.json").read_text())


def shipped_weights() -> Path:
    return pretrained.WEIGHTS_DIR / f"{pretrained.DEFAULT_MODEL}.safetensors"


def folder(case: str) -> Path:
    out = TMP / case
    out.mkdir(parents=True, exist_ok=True)
    return out


def exported(case: str, *, weights: bytes | None = None, tensors: dict | None = None, card: dict | None = None,
             card_text: str | bytes | None = None, matching_sha: bool = True) -> Path:
    """Write exported weights ``m.safetensors`` (the shipped bytes, ``weights`` or ``tensors``)
    and their card ``m.json`` (the shipped card, ``card`` or the raw ``card_text``) into the
    case's folder; the card's sha256 is the written file's unless ``matching_sha`` is false."""
    path = folder(case) / "m.safetensors"
    if tensors is not None:
        save_file(tensors, str(path))
    else:
        path.write_bytes(shipped_weights().read_bytes() if weights is None else weights)
    if card_text is not None:
        raw = card_text.encode() if isinstance(card_text, str) else card_text
        path.with_suffix(".json").write_bytes(raw)
        return path
    meta = shipped_card() if card is None else card
    if matching_sha:
        meta["sha256"] = _sha256(path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def card_with(**config) -> dict:
    """The shipped card with its config's fields replaced (``None`` deletes one)."""
    meta = shipped_card()
    for key, value in config.items():
        if value is None:
            meta["config"].pop(key, None)
        else:
            meta["config"][key] = value
    return meta


def shipped_tensors() -> dict[str, torch.Tensor]:
    return load_file(shipped_weights())


def checkpoint_payload() -> dict:
    """A training checkpoint holding the shipped model (what ``read_checkpoint`` expects)."""
    meta = shipped_card()
    return {"train_config": {"model": meta["config"], "prior": meta.get("prior", {})},
            "model": {name: tensor.float() for name, tensor in shipped_tensors().items()},
            "step": 0, "datasets_seen": 0, "elapsed_s": 0.0}


def saved_checkpoint(case: str, payload=None, name: str = "last.pt") -> Path:
    path = folder(case) / name
    torch.save(checkpoint_payload() if payload is None else payload, path)
    return path


def written(case: str, name: str, data: bytes) -> Path:
    path = folder(case) / name
    path.write_bytes(data)
    return path


def model_summary(model) -> Answer:
    values = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return {"values": np.array([values.numel()]), "finite": np.array([bool(torch.isfinite(values).all())])}


def checkpoint_summary(checkpoint: dict) -> Answer:
    tensors = [t.reshape(-1).float() for t in checkpoint["model"].values() if isinstance(t, torch.Tensor)]
    values = torch.cat(tensors) if tensors else torch.zeros(0)
    return {"values": np.array([values.numel()]), "finite": np.array([bool(torch.isfinite(values).all())])}


def read(path: Path) -> Answer:
    return checkpoint_summary(pretrained.read_checkpoint(path))


def load(path) -> Answer:
    return model_summary(pretrained.load_model(path))


def with_nan(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {name: tensor.clone() for name, tensor in tensors.items()}
    first = sorted(out)[0]
    out[first].view(-1)[0] = float("nan")
    return out


def loader_cases() -> list[Case]:
    """Training checkpoints (``read_checkpoint``), exported weights (``load_model``) and model
    cards (``model_card``, and through the estimators' ``model``)."""
    no = refuse
    random_bytes = np.random.default_rng(3).bytes(4096)

    def truncated_checkpoint():
        whole = saved_checkpoint("ckpt_truncated_full").read_bytes()
        return read(written("ckpt_truncated", "last.pt", whole[: len(whole) // 2]))

    def nan_checkpoint():
        payload = checkpoint_payload()
        payload["model"] = with_nan(payload["model"])
        return read(saved_checkpoint("ckpt_nan_tensor", payload))

    def pickled_weights():
        path = folder("weights_torch_pickle") / "m.safetensors"
        torch.save(shipped_tensors(), path)
        meta = shipped_card()
        meta["sha256"] = _sha256(path)
        path.with_suffix(".json").write_text(json.dumps(meta))
        return load(path)

    def integer_tensor():
        tensors = shipped_tensors()
        first = sorted(tensors)[0]
        tensors[first] = tensors[first].to(torch.int32)
        return load(exported("weights_integer_tensor", tensors=tensors))

    def renamed_tensors():
        return load(exported("weights_wrong_keys", tensors={f"old.{k}": v for k, v in shipped_tensors().items()}))

    def weights_only_card():
        path = exported("weights_missing")
        path.unlink()
        return load(path)

    def card_missing():
        path = exported("card_missing")
        path.with_suffix(".json").unlink()
        return load(path)

    def card_missing_sha():
        meta = shipped_card()
        del meta["sha256"]
        return load(exported("card_missing_sha256", card=meta, matching_sha=False))

    def card_bad_sha():
        meta = shipped_card()
        meta["sha256"] = "abc123"
        return load(exported("card_malformed_sha256", card=meta, matching_sha=False))

    def card_missing_config():
        meta = shipped_card()
        del meta["config"]
        return load(exported("card_missing_config", card=meta))

    def yaml_card():
        config = shipped_card()["config"]
        text = "config:\n" + "".join(f"  {k}: {v}\n" for k, v in config.items() if k != "bar_borders")
        return load(exported("card_yaml", card_text=text + f"sha256: {_sha256(shipped_weights())}\n"))

    def truncated_card():
        text = json.dumps(shipped_card())
        return load(exported("card_truncated_json", card_text=text[: len(text) // 2]))

    def huge_card_estimator():
        path = exported("estimator_huge_card", card=card_with(d_model=8192, n_layers=64))
        return fit_cate(model=str(path))

    def nan_weights_regressor():
        path = exported("regressor_nan_weights", tensors=with_nan(shipped_tensors()))
        return fit_regressor(model=str(path))

    def shipped():
        return load(None)

    def card_of(path: Path) -> Answer:
        meta = pretrained.model_card(path)
        return {"values": np.array([len(meta)]), "finite": np.array([True])}

    cases = [
        # training checkpoints
        ("ckpt_valid", lambda: read(saved_checkpoint("ckpt_valid")), "last.pt", loaded),
        ("ckpt_truncated", truncated_checkpoint, "last.pt", no),
        ("ckpt_random_bytes", lambda: read(written("ckpt_random_bytes", "last.pt", random_bytes)), "last.pt", no),
        ("ckpt_empty_file", lambda: read(written("ckpt_empty_file", "last.pt", b"")), "last.pt", no),
        ("ckpt_dict_with_wrong_keys", lambda: read(saved_checkpoint("ckpt_wrong_keys", {"weights": torch.ones(3),
                                                                                       "epoch": 4})), "last.pt", no),
        ("ckpt_model_not_a_dict", lambda: read(saved_checkpoint("ckpt_model_list", {
            "train_config": {}, "model": [torch.ones(2)]})), "last.pt", no),
        ("ckpt_nan_tensor", nan_checkpoint, "last.pt", no),
        ("ckpt_pickled_python_object", lambda: read(saved_checkpoint("ckpt_python_object", {
            "train_config": {}, "model": {}, "note": Fraction(1, 3)})), "last.pt", no),
        ("ckpt_missing_path", lambda: read(TMP / "ckpt_missing" / "last.pt"), "last.pt", no),
        ("ckpt_path_is_a_folder", lambda: read(folder("ckpt_folder.pt")), "ckpt_folder.pt", no),
        ("ckpt_given_exported_weights", lambda: read(exported("ckpt_given_weights")), "m.safetensors", no),
        # exported weights
        ("weights_shipped", shipped, "cfm-small", loaded),
        ("weights_valid_copy", lambda: load(exported("weights_valid_copy")), "m.safetensors", loaded),
        ("weights_truncated_matching_sha256", lambda: load(exported(
            "weights_truncated", weights=shipped_weights().read_bytes()[:400_000])), "m.safetensors", no),
        ("weights_truncated_stale_sha256", lambda: load(exported(
            "weights_truncated_stale", weights=shipped_weights().read_bytes()[:400_000], card=shipped_card(),
            matching_sha=False)), "m.safetensors", no),
        ("weights_random_bytes", lambda: load(exported("weights_random_bytes", weights=random_bytes)),
         "m.safetensors", no),
        ("weights_empty_file", lambda: load(exported("weights_empty_file", weights=b"")), "m.safetensors", no),
        ("weights_torch_pickle", pickled_weights, "m.safetensors", no),
        ("weights_wrong_tensor_names", renamed_tensors, "m.safetensors", no),
        ("weights_integer_tensor", integer_tensor, "m.safetensors", no),
        ("weights_nan_tensor", lambda: load(exported("weights_nan_tensor", tensors=with_nan(shipped_tensors()))),
         "m.safetensors", no),
        ("weights_card_for_other_shapes", lambda: load(exported("weights_other_shapes", card=card_with(d_model=32))),
         "m.safetensors", no),
        ("weights_missing_file", weights_only_card, "m.safetensors", no),
        ("weights_checkpoint_path", lambda: load(saved_checkpoint("weights_checkpoint_path")), "last.pt", no),
        ("weights_unknown_name", lambda: load("no-such-model"), "no-such-model", no),
        ("weights_model_float", lambda: model_summary(pretrained.load_model(3.5)), "model", no),
        ("weights_device_nope", lambda: model_summary(pretrained.load_model(device="nope")), "device", no),
        # model cards
        ("card_missing_file", card_missing, "m.json", no),
        ("card_unknown_config_key", lambda: load(exported("card_unknown_key", card=card_with(d_modle=64))),
         "m.json", no),
        ("card_missing_sha256", card_missing_sha, "m.json", no),
        ("card_malformed_sha256", card_bad_sha, "m.json", no),
        ("card_missing_config", card_missing_config, "m.json", no),
        ("card_d_model_string", lambda: load(exported("card_string_size", card=card_with(d_model="64"))),
         "m.json", no),
        ("card_d_model_float", lambda: load(exported("card_float_size", card=card_with(d_model=64.0))),
         "m.json", no),
        ("card_n_layers_bool", lambda: load(exported("card_bool_size", card=card_with(n_layers=True))),
         "m.json", no),
        ("card_negative_n_layers", lambda: load(exported("card_negative", card=card_with(n_layers=-1))),
         "m.json", no),
        ("card_negative_d_model", lambda: load(exported("card_negative_width", card=card_with(d_model=-64))),
         "m.json", no),
        ("card_zero_heads", lambda: load(exported("card_zero_heads", card=card_with(n_heads=0))), "m.json", no),
        ("card_d_model_8192_n_layers_64", lambda: load(exported("card_huge", card=card_with(
            d_model=8192, n_layers=64))), "m.json", no),
        ("card_largest_sizes_in_bounds", lambda: load(exported("card_large", card=card_with(
            d_model=2048, n_layers=48, ffn_mult=16))), "m.json", no),
        ("card_heads_not_dividing_width", lambda: load(exported("card_heads", card=card_with(n_heads=5))),
         "m.json", no),
        ("card_bar_borders_decreasing", lambda: load(exported("card_borders", card=card_with(
            bar_borders=sorted(shipped_card()["config"]["bar_borders"], reverse=True)))), "m.json", no),
        ("card_graph_mode_nope", lambda: load(exported("card_graph_mode", card=card_with(graph_mode="nope"))),
         "m.json", no),
        ("card_yaml_text", yaml_card, "m.json", no),
        ("card_json_list", lambda: load(exported("card_list", card_text="[1, 2, 3]")), "m.json", no),
        ("card_truncated_json", truncated_card, "m.json", no),
        ("card_not_utf8", lambda: load(exported("card_latin1", card_text=b"\xff\xfe{\x00")), "m.json", no),
        ("model_card_missing_path", lambda: card_of(TMP / "model_card_missing" / "m.json"), "m.json", no),
        ("model_card_yaml_text", lambda: card_of(exported(
            "model_card_yaml", card_text="config:\n  d_model: 64\n").with_suffix(".json")), "m.json", no),
        ("estimator_card_d_model_8192", huge_card_estimator, "m.json", no),
        ("regressor_weights_nan_tensor", nan_weights_regressor, "m.safetensors", no),
        ("export_model_wrong_keys", lambda: {"path": np.array([len(str(pretrained.export_model(
            {"weights": torch.ones(2)}, folder("export_wrong_keys") / "m.safetensors")))])}, "checkpoint", no),
    ]
    return [Case(name, "checkpoints and cards", "loader", run, (names,), check) for name, run, names, check in cases]


def all_cases() -> list[Case]:
    cases = data_cases() + call_cases() + pam_cases() + predict_cases() + regressor_cases() + scale_cases()
    cases += loader_cases()
    names = [case.name for case in cases]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise RuntimeError(f"case names repeat: {repeated}")
    return cases


# -- running a case in a worker -------------------------------------------------------------


def _memory_kb(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0



def _names_in(message: str, names: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) for name in names)


def _raised_by(frame: traceback.FrameSummary | None) -> str:
    """Who raised: "skcfm" (a raise statement in skcfm), "skcfm (native call)" (a compiled
    function called from skcfm, e.g. a numpy ufunc or a torch operation), or the package of
    the innermost frame ("sklearn", "numpy", ...)."""
    if frame is None:
        return "?"
    path = Path(frame.filename).resolve()
    if path.is_relative_to(SKCFM_DIR):
        return "skcfm" if (frame.line or "").lstrip().startswith("raise") else "skcfm (native call)"
    if path.as_posix().endswith(SKLEARN_VALIDATION):
        return "sklearn validation"
    parts = path.parts
    return parts[parts.index("site-packages") + 1] if "site-packages" in parts else str(path)


def classify_error(error: BaseException, names: tuple[str, ...]) -> dict:
    """The row fields of an exception: a clear error when a raise statement in skcfm or
    scikit-learn's input validation raised it (the innermost traceback frame) and its
    message names one of ``names``."""
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    raised_by = _raised_by(last)
    message = " ".join(str(error).split()).replace(str(TMP), "<tmp>")  # the same text on every run
    named = _names_in(str(error), names)
    where = "?"
    if last is not None:
        path = Path(last.filename).resolve()
        where = f"{f'skcfm/{path.relative_to(SKCFM_DIR)}' if path.is_relative_to(SKCFM_DIR) else path}:{last.lineno}"
    clear = raised_by in ("skcfm", "sklearn validation") and named
    return {"outcome": "clear_error" if clear else "unclear_error",
            "exception_type": type(error).__name__, "message": message[:200], "raised_in": where,
            "raised_by": raised_by, "names_argument": named}


def _execute(case: Case, connection, keep_answer: bool = False) -> None:
    """Run ``case`` in this (forked) worker and send its row fields (with ``keep_answer``, its
    answer too) through ``connection``."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    except (ValueError, OSError):
        pass
    torch.set_num_threads(1)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak resident memory count
    except OSError:
        pass
    before = _memory_kb("VmRSS")
    row: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            answer = case.run()
        except Exception as error:  # noqa: BLE001 - every exception is a result here
            row = classify_error(error, case.names)
        else:
            try:
                passed, detail = case.check(answer)
            except Exception as error:  # noqa: BLE001 - an answer the check cannot read is wrong
                passed, detail = False, f"check failed: {type(error).__name__}: {error}"
            row = {"outcome": "handled" if passed else "silent_wrong", "detail": detail}
            if keep_answer:
                row["answer"] = answer
        row["seconds"] = time.perf_counter() - start
    row["warnings"] = ";".join(sorted({w.category.__name__ for w in caught}))
    row["first_warning"] = " ".join(str(caught[0].message).split())[:200] if caught else ""
    row["peak_rss_mb"] = max(0, _memory_kb("VmHWM") - before) / 1024
    connection.send(row)
    connection.close()


def run_in_worker(case: Case, timeout: float, keep_answer: bool = False) -> dict:
    """Run ``case`` in a forked worker; ``hang`` when it answers nothing within ``timeout``."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_execute, args=(case, sender, keep_answer), daemon=True)
    start = time.perf_counter()
    worker.start()
    sender.close()
    row = None
    if receiver.poll(timeout):
        try:
            row = receiver.recv()
        except EOFError:
            row = None
        if row is None:
            worker.join(5)
            row = {"outcome": "unclear_error", "exception_type": "WorkerDied",
                   "message": f"the worker ended with exit code {worker.exitcode} and no answer",
                   "seconds": time.perf_counter() - start}
    else:
        row = {"outcome": "hang", "message": f"no answer within {timeout:g} s", "seconds": timeout}
    if worker.is_alive():
        worker.join(2 if row["outcome"] != "hang" else 0)
    if worker.is_alive():
        worker.kill()
        worker.join()
    receiver.close()
    return row


def compute_references(timeout: float) -> None:
    """The untransformed answers of the scale cases (``REFERENCES``), each computed in a worker."""
    for name, run in (("cate", _cate_reference), ("regressor", _regressor_reference)):
        row = run_in_worker(Case(f"reference_{name}", "reference", name, run, (), finite()), timeout, keep_answer=True)
        if row["outcome"] != "handled":
            print(f"reference {name} failed, its scale cases fail too: {row}", flush=True)
            continue
        REFERENCES[name] = np.asarray(row["answer"][name], dtype=float)
        print(f"reference {name}: {row['seconds']:.1f} s, spread {REFERENCES[name].std():.4g}", flush=True)


# -- main -----------------------------------------------------------------------------------

COLUMN_ORDER = ["case", "group", "estimator", "outcome", "exception_type", "message", "seconds", "warnings",
                "first_warning", "detail", "raised_in", "raised_by", "names_argument", "names_expected",
                "peak_rss_mb"]


def main(argv=None) -> None:
    global TMP
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "bad_input_corpus.csv")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per case before it is a hang")
    parser.add_argument("--cases", default=None, help="run only the cases whose name matches this regex")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cases = all_cases()
    if args.cases:
        cases = [case for case in cases if re.search(args.cases, case.name)]
    started = time.perf_counter()
    TMP = Path(tempfile.mkdtemp(prefix="skcfm-bad-input-"))
    rows = []
    try:
        if any(case.group == "scale" for case in cases):
            compute_references(args.timeout)
        print(f"{len(cases)} cases", flush=True)
        for i, case in enumerate(cases, 1):
            row = run_in_worker(case, args.timeout)
            row.update(case=case.name, group=case.group, estimator=case.estimator,
                       names_expected="|".join(case.names))
            if isinstance(row.get("detail"), str):
                row["detail"] = row["detail"].replace(str(TMP), "<tmp>")
            rows.append(row)
            shown = row.get("message") or row.get("detail", "")
            print(f"[{i}/{len(cases)}] {case.name}: {row['outcome']} ({row['seconds']:.1f} s) {shown[:110]}",
                  flush=True)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=COLUMN_ORDER)
    frame["seconds"] = frame["seconds"].round(3)
    frame["peak_rss_mb"] = frame["peak_rss_mb"].round(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    total = time.perf_counter() - started
    print(f"\n{len(frame)} cases in {total:.0f} s; wrote {args.out}")
    print(frame.outcome.value_counts().reindex(
        ["clear_error", "handled", "unclear_error", "silent_wrong", "hang"], fill_value=0).to_string())
    flagged = frame[~frame.outcome.isin(["clear_error", "handled"])]
    if len(flagged):
        print("\nneither a clear error nor handled:")
        for _, row in flagged.iterrows():
            text = row.message if isinstance(row.message, str) else row.detail
            print(f"  {row.case} [{row.outcome}] {row.exception_type if isinstance(row.exception_type, str) else ''}"
                  f" {str(text)[:150]}")


if __name__ == "__main__":
    main()
