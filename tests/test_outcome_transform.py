"""Tests for skcfm.outcome_transform and the estimators' ``outcome_transform`` option."""

import numpy as np
import pytest

from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor
from skcfm.outcome_transform import LAMBDA_RANGE, YeoJohnsonOutcome, fit_outcome_transform


@pytest.fixture
def skewed():
    rng = np.random.default_rng(0)
    return np.exp(rng.normal(size=400)) * 10


def test_inverse_undoes_the_transform(skewed):
    g = YeoJohnsonOutcome.fit(skewed)
    assert LAMBDA_RANGE[0] <= g.lmbda < 1  # right skew: a compressing power
    np.testing.assert_allclose(g.inverse(g.transform(skewed)), skewed, rtol=1e-10)


def test_transform_is_increasing_and_symmetrises(skewed):
    g = YeoJohnsonOutcome.fit(skewed)
    z = g.transform(np.sort(skewed))
    assert np.all(np.diff(z) > 0)
    skew = lambda v: np.mean((v - v.mean()) ** 3) / v.std() ** 3  # noqa: E731
    assert abs(skew(z)) < 0.25 * abs(skew(skewed))


def test_inverse_is_bounded_beyond_the_observed_range(skewed):
    g = YeoJohnsonOutcome.fit(skewed)
    far = g.inverse(np.array([-1e6, 1e6]))
    assert np.all(np.isfinite(far))
    span = np.ptp(skewed)
    assert skewed.min() - span - 1e-6 <= far[0] and far[1] <= skewed.max() + span + 1e-6


def test_few_distinct_outcomes_are_left_as_they_are():
    assert YeoJohnsonOutcome.fit(np.tile([0.0, 1.0], 50)) is None
    assert fit_outcome_transform("none", np.arange(100.0)) is None


@pytest.mark.parametrize("estimator", [CFMCateEstimator, GraphConditionedCFMRegressor])
def test_unknown_transform_names_the_argument(tiny_model, estimator):
    X = np.random.default_rng(0).normal(size=(40, 2))
    T = np.arange(40) % 2
    est = estimator(model=tiny_model, inference_config={"outcome_transform": "log"})
    with pytest.raises(ValueError, match="outcome_transform='log'"):
        if estimator is CFMCateEstimator:
            est.fit(X, T, X[:, 0])
        else:
            est.fit(np.column_stack([T, X]), X[:, 0])


def _skewed_data(n=150, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 0.5).astype(int)
    Y = np.exp(0.8 * X[:, 0] + 0.5 * T + 0.3 * rng.normal(size=n))
    return X, T, Y


def test_the_model_reads_the_transformed_outcome(tiny_model):
    X, T, Y = _skewed_data()
    plain = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0).fit(X, T, Y)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0,
                           inference_config={"outcome_transform": "yeo-johnson"})
    est.fit(X, T, Y)
    assert est.outcome_transform_ is not None and plain.outcome_transform_ is None
    effects = est.effect(X[:20])
    assert np.all(np.isfinite(effects))
    assert not np.allclose(effects, plain.effect(X[:20]))
    # means stay within the transform's bounds, in Y's units
    means = est._member_means(est._model_X(X[:20]), [np.zeros(20), np.ones(20)])
    span = np.ptp(Y)
    assert means.min() >= Y.min() - span and means.max() <= Y.max() + span


def test_identity_power_matches_no_transform(tiny_model, monkeypatch):
    """With the power fixed at 1 the transform is affine, which the context scaling undoes:
    the effects match those without it up to the tails' quadrature."""
    import skcfm.outcome_transform as ot

    monkeypatch.setattr(ot.stats, "yeojohnson_normmax", lambda u: 1.0)
    X, T, Y = _skewed_data()
    plain = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0,
                             inference_config={"clip_to_observed": False}).fit(X, T, Y)
    affine = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0,
                              inference_config={"clip_to_observed": False, "outcome_transform": "yeo-johnson"})
    affine.fit(X, T, Y)
    np.testing.assert_allclose(affine.effect(X[:30]), plain.effect(X[:30]), atol=0.02 * Y.std())


def test_regressor_quantiles_follow_the_transform(tiny_model):
    X, T, Y = _skewed_data()
    Z = np.column_stack([T, X])
    reg = GraphConditionedCFMRegressor(model=tiny_model, n_estimators=2, random_state=0,
                                       inference_config={"outcome_transform": "yeo-johnson"}).fit(Z, Y)
    q = reg.predict(Z[:10], output_type="quantiles", quantiles=(0.1, 0.5, 0.9))
    assert np.all(np.diff(q, axis=0) >= 0)
    full = reg.predict(Z[:10], output_type="full")
    assert np.all(np.diff(full["borders"], axis=-1) >= 0)


def test_cross_fitted_outcomes_refit_the_transform_per_fold(tiny_model):
    """Changing one fold's outcomes leaves that fold's cross-fitted outcomes unchanged, as
    without the transform (which is refitted on each fold's training rows)."""
    X, T, Y = _skewed_data(120)
    kwargs = dict(model=tiny_model, n_estimators=2, random_state=0, cv=2,
                  inference_config={"outcome_transform": "yeo-johnson", "arm_outcomes": False})
    est = CFMCateEstimator(**kwargs).fit(X, T, Y)
    mu0, _ = est.cross_fitted_outcomes()
    from sklearn.model_selection import StratifiedKFold

    _, fold = next(StratifiedKFold(2, shuffle=True, random_state=est._seed).split(X, T))
    Y2 = Y.copy()
    Y2[fold] *= 3
    mu0_changed, _ = CFMCateEstimator(**kwargs).fit(X, T, Y2).cross_fitted_outcomes()
    np.testing.assert_array_equal(mu0_changed[fold], mu0[fold])
    assert not np.allclose(mu0_changed[np.setdiff1d(np.arange(120), fold)], mu0[np.setdiff1d(np.arange(120), fold)])
