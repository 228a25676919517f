"""Property tests over the public API: every call returns finite results of the right shape
or raises a clear ValueError/TypeError that names the offending argument."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor, validate_pam

ARGUMENT_NAMES = ("X", "T", "Y", "W", "ancestors", "treatment", "T0", "T1", "alpha", "y", "n_estimators")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def causal_data(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    d = draw(st.integers(min_value=1, max_value=8))
    seed = draw(st.integers(min_value=0, max_value=2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    kind = draw(st.sampled_from(["binary", "three", "continuous", "constant"]))
    T = {"binary": rng.integers(0, 2, n), "three": rng.integers(0, 3, n),
         "continuous": rng.normal(size=n), "constant": np.ones(n)}[kind]
    Y = rng.normal(size=n)
    corrupt = draw(st.sampled_from([None, "X", "T", "Y"]))
    if corrupt is not None:
        target = {"X": X, "T": T.astype(float), "Y": Y}[corrupt]
        flat = target.reshape(-1)
        flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        if corrupt == "T":
            T = target
    return X, T, Y


def _names_an_argument(error: Exception) -> bool:
    return re.search(r"\b(" + "|".join(ARGUMENT_NAMES) + r")\b", str(error)) is not None


@SETTINGS
@given(data=causal_data())
def test_cate_fit_and_effect_are_finite_or_fail_clearly(tiny_model, data):
    X, T, Y = data
    try:
        est = CFMCateEstimator(model=tiny_model, n_estimators=1, random_state=0).fit(X, T, Y, inference="ensemble")
        effect = est.effect(X)
    except (ValueError, TypeError) as error:
        assert _names_an_argument(error), f"unclear error: {error!r}"
        return
    assert effect.shape == (X.shape[0],)
    assert np.isfinite(effect).all()


@SETTINGS
@given(data=causal_data())
def test_regressor_fit_predict_are_finite_or_fail_clearly(tiny_model, data):
    X, T, Y = data
    try:
        reg = GraphConditionedCFMRegressor(model=tiny_model, n_estimators=1, random_state=0)
        prediction = reg.fit(np.column_stack([T, X]), Y).predict(np.column_stack([T, X]))
    except (ValueError, TypeError) as error:
        assert _names_an_argument(error), f"unclear error: {error!r}"
        return
    assert prediction.shape == (X.shape[0],)
    assert np.isfinite(prediction).all()


@SETTINGS
@given(
    size=st.integers(min_value=2, max_value=6),
    values=st.lists(st.sampled_from([-2, -1, 0, 0, 0, 1, 2, 0.5]), min_size=36, max_size=36),
)
def test_validate_pam_accepts_or_rejects_with_ancestors_named(size, values):
    names = [f"v{i}" for i in range(size)]
    matrix = np.array(values[: size * size], dtype=float).reshape(size, size)
    pam = pd.DataFrame(matrix, index=names, columns=names)
    try:
        out = validate_pam(pam)
    except (ValueError, TypeError) as error:
        assert "ancestors" in str(error), f"error does not name ancestors: {error!r}"
        return
    assert set(np.unique(out.to_numpy())) <= {-1, 0, 1}
    assert (np.diag(out.to_numpy()) == 0).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_same_random_state_gives_identical_effects(tiny_model, seed):
    rng = np.random.default_rng(seed)
    X, T, Y = rng.normal(size=(300, 4)), rng.integers(0, 2, 300), rng.normal(size=300)
    first = CFMCateEstimator(model=tiny_model, n_estimators=3, context_size=50, random_state=seed).fit(X, T, Y)
    second = CFMCateEstimator(model=tiny_model, n_estimators=3, context_size=50, random_state=seed).fit(X, T, Y)
    np.testing.assert_array_equal(first.effect(X), second.effect(X))
