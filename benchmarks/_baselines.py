"""Benchmark methods: a registry and the EconML baselines with fixed ("no tuning") settings.

Every method has the signature::

    method(X_train, T_train, Y_train, X_test, *, random_state, quick=False) -> dict

with arrays X_train (n, d), T_train (n,) in {0, 1}, Y_train (n,), X_test (m, d), and
returns ``dict(cate_test=ndarray (m,), ate=float, ate_lo=float|None, ate_hi=float|None)``:
the effect estimates on the test rows, the ATE estimate over the test rows and, where the
method has one, a 95% interval for it. A method with an overlap-weighted ATE (skcfm's
hybrid methods) adds ``overlap``, ``overlap_lo``, ``overlap_hi`` and ``overlap_weights``
(ndarray (n,): the weights its estimand is stated with, on the training rows), from which
run.py scores it; the baselines have none. ``quick=True`` asks for a cheap variant (small
forests, few folds) for smoke tests.

Register another method with the decorator::

    from _baselines import register

    @register("my_method")
    def my_method(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
        ...

The settings follow the no-tuning baselines of the CausalPFN benchmark code
(vdblm/CausalPFN, benchmarks/baselines/econml.py), whose published numbers are the
tables' anchors, so that the rows compare with them: random forests with
100 trees, depth 6 and min_samples_leaf = max(1, n // 100) for every nuisance model and
meta-learner arm; CausalForestDML and ForestDRLearner with 1000 trees and cv=5; X and Y
standardised on the training rows (effects are rescaled to Y's units). Unlike that code,
no degree-3 PolynomialFeatures featurizer is used for the final forests: trees do not need
it, and on ACIC (82 columns) it would make ~10^5 split features.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from econml.dml import CausalForestDML, LinearDML
from econml.dr import ForestDRLearner
from econml.metalearners import TLearner, XLearner
from scipy.stats import norm
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.preprocessing import StandardScaler

# One core per fit: the benchmark machine is shared, and single-core timings compare
# methods fairly.
N_JOBS = 1
ALPHA = 0.05

Method = Callable[..., dict]
METHODS: dict[str, Method] = {}


def register(name: str) -> Callable[[Method], Method]:
    """Decorator adding a method to :data:`METHODS` under ``name``."""

    def decorator(fn: Method) -> Method:
        if name in METHODS:
            raise ValueError(f"a benchmark method named {name!r} is already registered")
        METHODS[name] = fn
        return fn

    return decorator


def _forest(n: int, random_state: int, classifier: bool = False):
    """The fixed nuisance forest: 100 trees, depth 6, min leaf max(1, n // 100)."""
    cls = RandomForestClassifier if classifier else RandomForestRegressor
    return cls(
        n_estimators=100,
        max_depth=6,
        min_samples_leaf=max(1, n // 100),
        n_jobs=N_JOBS,
        random_state=random_state,
    )


def _fit_econml(est, X_train, T_train, Y_train, X_test, *, interval: bool) -> dict:
    """Fit an EconML estimator on standardised X and Y; effects back in Y's units."""
    scaler = StandardScaler().fit(X_train)
    y_mean, y_scale = float(np.mean(Y_train)), float(np.std(Y_train))
    y_scale = y_scale if y_scale > 0 else 1.0
    est.fit(
        (np.asarray(Y_train, dtype=float) - y_mean) / y_scale,
        np.asarray(T_train).astype(int),
        X=scaler.transform(X_train),
    )
    X_test = scaler.transform(X_test)
    cate = np.ravel(est.effect(X_test)) * y_scale
    lo = hi = None
    if interval:
        lo, hi = (float(np.ravel(v)[0]) * y_scale for v in est.ate_interval(X_test, alpha=ALPHA))
    return {"cate_test": cate, "ate": float(cate.mean()), "ate_lo": lo, "ate_hi": hi}


@register("diff_in_means")
def diff_in_means(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    """The floor: the same effect for everyone, mean(Y | T=1) - mean(Y | T=0).

    The interval is the normal approximation with Welch's standard error.
    """
    T_train, Y_train = np.asarray(T_train), np.asarray(Y_train, dtype=float)
    y1, y0 = Y_train[T_train == 1], Y_train[T_train == 0]
    ate = float(y1.mean() - y0.mean())
    se = float(np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))
    z = norm.ppf(1 - ALPHA / 2)
    return {
        "cate_test": np.full(len(X_test), ate),
        "ate": ate,
        "ate_lo": ate - z * se,
        "ate_hi": ate + z * se,
    }


@register("linear_dml")
def linear_dml(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    """LinearDML with forest nuisances; ATE interval from its OLS (statsmodels) inference."""
    n = len(X_train)
    est = LinearDML(
        model_y=_forest(n, random_state),
        model_t=_forest(n, random_state, classifier=True),
        discrete_treatment=True,
        cv=2 if quick else 5,
        random_state=random_state,
    )
    return _fit_econml(est, X_train, T_train, Y_train, X_test, interval=True)


@register("causal_forest_dml")
def causal_forest_dml(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    """CausalForestDML, 1000 trees and cv=5 (quick: 100, 2); interval from its BLB inference."""
    n = len(X_train)
    est = CausalForestDML(
        model_y=_forest(n, random_state),
        model_t=_forest(n, random_state, classifier=True),
        discrete_treatment=True,
        n_estimators=100 if quick else 1000,
        cv=2 if quick else 5,
        n_jobs=N_JOBS,
        random_state=random_state,
    )
    return _fit_econml(est, X_train, T_train, Y_train, X_test, interval=True)


@register("x_learner")
def x_learner(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    """X-learner with forest arms, forest CATE models and a forest propensity; no interval."""
    n = len(X_train)
    est = XLearner(
        models=_forest(n, random_state),
        propensity_model=_forest(n, random_state, classifier=True),
    )
    return _fit_econml(est, X_train, T_train, Y_train, X_test, interval=False)


@register("t_learner")
def t_learner(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    """T-learner: one forest per arm; no interval."""
    est = TLearner(models=_forest(len(X_train), random_state))
    return _fit_econml(est, X_train, T_train, Y_train, X_test, interval=False)


@register("dr_learner")
def dr_learner(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    """ForestDRLearner, 1000 trees and cv=5 (quick: 100, 2); interval from its BLB inference."""
    n = len(X_train)
    est = ForestDRLearner(
        model_regression=_forest(n, random_state),
        model_propensity=_forest(n, random_state, classifier=True),
        n_estimators=100 if quick else 1000,
        cv=2 if quick else 5,
        n_jobs=N_JOBS,
        random_state=random_state,
    )
    return _fit_econml(est, X_train, T_train, Y_train, X_test, interval=True)
