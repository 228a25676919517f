"""Effects do not depend on the units or offsets of the data.

Under Y -> aY + b an effect scales by a; under X_j -> a X_j + b it is unchanged, for a in
[1e-12, 1e12] and |b| <= 1e12, within 1 % per row. The property tests draw the transform;
the regression tests pin the cases that once gave silently wrong numbers (an outcome or
covariate cast to float32 before it was centred, an absolute floor on the spread, arm
forests reading raw values). Data are rounded to 1e-3 so that every drawn offset keeps
their digits in float64: the transformed data then hold the same information, up to the
rounding of an offset of 1e11 spreads in the data's fifth digit. Rows whose effect is
near zero (every row, with the untrained test model) are compared within 1e-4 of the
outcome's spread instead.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor

N_ROWS = 120


def _data(seed: int, n: int = N_ROWS):
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 3)), 3)
    T = (rng.random(n) < 0.5).astype(int)
    Y = np.round(X[:, 0] + 2 * T * (1 + 0.5 * X[:, 1]) + rng.normal(size=n), 3)
    return X, T, Y


def _affine(values: np.ndarray, scale: float, offset: float) -> np.ndarray:
    return values * scale + offset


@st.composite
def affine_maps(draw):
    """(a, b): a log-uniform in [1e-12, 1e12]; b zero or up to 1e11 spreads of the data,
    within +-1e12 (a larger offset of a small spread would round the data away)."""
    scale = 10.0 ** draw(st.floats(-12, 12))
    if draw(st.booleans()):
        return scale, 0.0
    offset = scale * draw(st.floats(-1e11, 1e11, allow_nan=False))
    return scale, float(np.clip(offset, -1e12, 1e12))


def _effects(model, X, T, Y, **params):
    return CFMCateEstimator(model=model, n_estimators=2, random_state=0, **params).fit(X, T, Y).effect(X)


def _assert_rows_close(actual, reference, spread):
    """Within 1 % of each row's reference, or 1e-4 of the outcome's spread."""
    np.testing.assert_allclose(actual, reference, rtol=1e-2, atol=1e-4 * spread)


# bounded for CI: a fixed set of examples, reported as drawn (shrinking refits for minutes)
BOUNDED = {"deadline": None, "derandomize": True, "phases": (Phase.explicit, Phase.generate),
           "suppress_health_check": [HealthCheck.function_scoped_fixture]}


@pytest.fixture(scope="module")
def reference(tiny_model):
    X, T, Y = _data(0)
    return X, T, Y, _effects(tiny_model, X, T, Y)


@settings(max_examples=12, **BOUNDED)
@given(affine=affine_maps())
def test_effect_scales_with_the_outcome(tiny_model, reference, affine):
    X, T, Y, effect = reference
    scale, offset = affine
    _assert_rows_close(_effects(tiny_model, X, T, _affine(Y, scale, offset)) / scale, effect, Y.std())


@settings(max_examples=12, **BOUNDED)
@given(affine=affine_maps(), column=st.integers(0, 2))
def test_effect_ignores_a_covariate_s_units_and_offset(tiny_model, reference, affine, column):
    X, T, Y, effect = reference
    X_new = X.copy()
    X_new[:, column] = _affine(X[:, column], *affine)
    _assert_rows_close(_effects(tiny_model, X_new, T, Y), effect, Y.std())


@settings(max_examples=10, **BOUNDED)
@given(affine=affine_maps(), target=st.sampled_from(["y", "x1", "x2"]))
def test_regressor_is_equivariant_to_affine_maps(tiny_model, affine, target):
    X, T, Y = _data(1)
    data = np.column_stack([T, X[:, 1:]])  # treatment first, then two covariates

    def predict(features, outcome):
        return GraphConditionedCFMRegressor(model=tiny_model, n_estimators=2, random_state=0).fit(
            features, outcome).predict(features)

    reference = predict(data, Y)
    scale, offset = affine
    if target == "y":
        predicted = (predict(data, _affine(Y, scale, offset)) - offset) / scale
    else:
        moved = data.copy()
        column = int(target[1])
        moved[:, column] = _affine(data[:, column], scale, offset)
        predicted = predict(moved, Y)
    _assert_rows_close(predicted, reference, Y.std())


def test_effect_without_arm_outcomes_and_with_yeo_johnson_is_equivariant(tiny_model):
    X, T, Y = _data(2)
    params = {"inference_config": {"arm_outcomes": False, "outcome_transform": "yeo-johnson"}}
    effect = _effects(tiny_model, X, T, Y, **params)
    _assert_rows_close(_effects(tiny_model, X, T, Y * 1e-9 + 3e-3, **params) / 1e-9, effect, Y.std())


# -- the cases that once gave wrong numbers, with the shipped model and default settings


@pytest.fixture(scope="module")
def shipped_reference():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    T = (rng.random(200) < 0.5).astype(int)
    Y = X[:, 0] + 2 * T + rng.normal(size=200)
    return X, T, Y, CFMCateEstimator(random_state=0).fit(X, T, Y).effect(X)


@pytest.mark.parametrize("scale, offset", [(1e-12, 0.0), (1e-7, 0.0), (1e12, 0.0), (1.0, 1e7), (1.0, 1e8),
                                           (1.0, 1e12), (1.0, -1e12)])
def test_shipped_effect_scales_with_the_outcome(shipped_reference, scale, offset):
    # were: mean effect 1.85x too high at 1e-12, 4.0004 on every row at +1e12, 0.17 at +1e8
    X, T, Y, effect = shipped_reference
    moved = CFMCateEstimator(random_state=0).fit(X, T, Y * scale + offset).effect(X) / scale
    _assert_rows_close(moved, effect, Y.std())


@pytest.mark.parametrize("scale, offset", [(1e-12, 0.0), (1e-6, 0.0), (1.0, 1e6), (1.0, 1e8)])
def test_shipped_effect_ignores_the_covariates_units_and_offset(shipped_reference, scale, offset):
    # were: one constant effect for every row at 1e-12 and +1e8, a row 44 % off at 1e-6
    X, T, Y, effect = shipped_reference
    moved = X * scale + offset
    _assert_rows_close(CFMCateEstimator(random_state=0).fit(moved, T, Y).effect(moved), effect, Y.std())


@pytest.mark.parametrize("scale, offset", [(1e-12, 0.0), (1.0, 1e12)])
def test_shipped_regressor_scales_with_the_outcome(shipped_reference, scale, offset):
    # were: predictions correlating 0.675 with the unscaled ones at 1e-12, a mean of -2.47 at +1e12
    X, T, Y, _ = shipped_reference
    data = np.column_stack([T, X])
    reference = GraphConditionedCFMRegressor(random_state=0).fit(data, Y).predict(data)
    moved = GraphConditionedCFMRegressor(random_state=0).fit(data, Y * scale + offset).predict(data)
    _assert_rows_close((moved - offset) / scale, reference, Y.std())
