"""Tests for skcfm.cate: CFMCateEstimator on EconML's API, with a tiny random model."""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from econml.cate_interpreter import SingleTreeCateInterpreter, SingleTreePolicyInterpreter
from econml.score import RScorer
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression

from skcfm import CFMCateEstimator, unconfoundedness_pam
from skcfm.nuisances import OverlapWarning
from skcfm.pam_validation import PostTreatmentWarning

N = 200


def _binary(n=N, seed=0, effect=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    Y = X[:, 0] + effect * T + rng.normal(size=n)
    W = rng.normal(size=(n, 2))
    return X, T, Y, W


def _estimator(model, **params):
    """The CFM alone unless ``params`` say otherwise: most tests here are about its answers."""
    return CFMCateEstimator(**{"model": model, "n_estimators": 2, "final_stage": "cfm", "random_state": 0, **params})


@pytest.fixture(scope="module")
def data():
    return _binary()


@pytest.fixture(scope="module")
def binary_est(tiny_model, data):
    X, T, Y, _ = data
    return _estimator(tiny_model).fit(X, T, Y)


@pytest.fixture(scope="module")
def multi_est(tiny_model, data):
    X, _, Y, _ = data
    T3 = np.random.default_rng(1).integers(0, 3, N)
    return _estimator(tiny_model).fit(X, T3, Y)


@pytest.fixture(scope="module")
def continuous_est(tiny_model, data):
    X, _, _, _ = data
    rng = np.random.default_rng(2)
    T = X[:, 0] + rng.normal(size=N)
    Y = np.sin(T) + X[:, 1] + rng.normal(scale=0.1, size=N)
    return _estimator(tiny_model).fit(X, T, Y)


# -- fit signatures ---------------------------------------------------------------------


def test_fit_returns_self(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model)
    assert est.fit(X, T, Y) is est


def test_fit_accepts_card_usage_with_labelled_ancestors(tiny_model, data):
    X, T, Y, _ = data
    pam = unconfoundedness_pam(["x0", "x1", "x2"], treatment="T", outcome="Y")
    est = _estimator(tiny_model).fit(X, T, Y, ancestors=pam)
    # model order [T, Y, X..., one column per arm], labelled: every covariate a known ancestor of T and of Y
    assert list(est.pam_.index) == list(est.pam_.columns) == ["T", "Y", "x0", "x1", "x2", "E[Y | T=0]", "E[Y | T=1]"]
    assert (est.pam_.loc["x0":, "T"] == 1).all() and (est.pam_.loc["x0":, "Y"] == 1).all()
    assert est.pam_.loc["T", "Y"] == 1


def test_fit_aligns_a_dataframe_pam_by_column_name(tiny_model, data):
    X, T, Y, _ = data
    frame = pd.DataFrame(X, columns=["age", "income", "score"])
    pam = unconfoundedness_pam(["score", "age", "income"], treatment="treated", outcome="earnings")
    pam.loc["score", :] = 0  # only score is not a known ancestor
    est = _estimator(tiny_model).fit(frame, pd.Series(T, name="treated"), pd.Series(Y, name="earnings"), ancestors=pam)
    assert est.feature_names_in_ == ["age", "income", "score"]
    assert est.pam_["treated"].tolist() == [0, 0, 1, 1, 0, 0, 0]  # the arm columns: not every covariate is an ancestor
    assert est.pam_.index[2:5].tolist() == ["age", "income", "score"]
    est.fit(X, T, Y)  # scikit-learn's convention: feature names only from string column names
    assert not hasattr(est, "feature_names_in_")


def test_fit_accepts_econml_keywords(tiny_model, data):
    X, T, Y, W = data
    est = _estimator(tiny_model).fit(Y=Y, T=T, X=X, W=W)
    assert est.X_.shape == (N, 7)  # X, W, one column per arm
    assert est.effect(X[:4]).shape == (4,)


def test_fit_refuses_more_than_three_positional_arguments(tiny_model, data):
    X, T, Y, W = data
    with pytest.raises(TypeError, match="at most 3 positional arguments"):
        _estimator(tiny_model).fit(X, T, Y, W)
    with pytest.raises(TypeError, match="with X passed by keyword, fit\\(\\) takes EconML's two positional"):
        _estimator(tiny_model).fit(Y, T, W, X=X)


def test_fit_with_more_covariates_than_the_model_saw(tiny_model):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 12))  # the tiny model saw at most 5
    T = (rng.random(150) < 0.5).astype(int)
    est = _estimator(tiny_model).fit(X, T, X[:, 0] + T + rng.normal(size=150))
    assert all(len(m.covariates) == tiny_model.config.max_covariates for m in est.members_)
    assert np.isfinite(est.effect(X[:5])).all()


# -- binary treatment ------------------------------------------------------------------


def test_effect_has_one_finite_value_per_row(binary_est, data):
    effect = binary_est.effect(data[0][:7])
    assert effect.shape == (7,)
    assert np.isfinite(effect).all()


def test_effect_without_x_uses_the_training_rows(binary_est):
    assert binary_est.effect().shape == (N,)


def test_const_marginal_effect_equals_effect_for_binary_treatment(binary_est, data):
    X = data[0][:5]
    np.testing.assert_allclose(binary_est.const_marginal_effect(X), binary_est.effect(X, T0=0, T1=1))


def test_marginal_effect_for_binary_treatment_is_the_level_effect(binary_est, data):
    X = data[0][:5]
    np.testing.assert_allclose(binary_est.marginal_effect(np.ones(5), X), binary_est.const_marginal_effect(X))


def test_ate_with_x_under_ensemble_inference_is_the_mean_effect(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model).fit(X, T, Y, inference="ensemble")
    assert est.ate(X[:20]) == pytest.approx(est.effect(X[:20]).mean())


def test_aipw_ate_with_x_is_the_cfm_mean_effect_plus_the_training_correction(tiny_model, data):
    est = _estimator(tiny_model).fit(*data[:3], inference="aipw")
    X = data[0][:20]
    mu0, mu1 = est.cross_fitted_outcomes()
    residual = est._doubly_robust.scores_ - (mu1 - mu0)
    design = np.column_stack([np.ones(N), data[0]])  # 200 rows: >= 10 per term, a linear correction
    beta = np.linalg.lstsq(design, residual, rcond=None)[0]
    correction = np.concatenate([[1.0], X.mean(axis=0)]) @ beta
    assert est.ate(X) == pytest.approx(est.effect(X).mean() + correction)


def test_haipw_ate_interval_with_x_is_a_normal_interval_around_the_estimate(binary_est, data):
    X = data[0][:20]
    lo, hi = binary_est.ate_interval(X, alpha=0.05)
    assert lo < binary_est.ate(X) < hi
    narrow_lo, narrow_hi = binary_est.ate_interval(X, alpha=0.5)
    assert lo < narrow_lo < narrow_hi < hi


def test_ate_without_x_is_the_doubly_robust_estimate(binary_est):
    assert binary_est.ate() == pytest.approx(binary_est.ate_result().estimate)


def test_ate_interval_with_x_under_ensemble_inference_is_the_members_spread(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model).fit(X, T, Y, inference="ensemble")
    lo, hi = est.ate_interval(X[:20], alpha=0.1)
    member_ates = est._member_effects(X[:20], 0, 1).mean(axis=1)
    np.testing.assert_allclose([lo, hi], np.quantile(member_ates, [0.05, 0.95]))


def test_ate_interval_without_x_is_a_normal_interval_around_the_estimate(binary_est):
    lo, hi = binary_est.ate_interval(alpha=0.05)
    result = binary_est.ate_result()
    assert lo < result.estimate < hi
    assert (hi - lo) / 2 == pytest.approx(1.959964 * result.stderr, rel=1e-5)
    narrow_lo, narrow_hi = binary_est.ate_interval(alpha=0.5)
    assert lo < narrow_lo < narrow_hi < hi


def test_effect_interval_has_ordered_bounds_per_row(binary_est, data):
    lo, hi = binary_est.effect_interval(data[0][:6])
    assert lo.shape == hi.shape == (6,)
    assert np.isfinite(lo).all() and (lo <= hi).all()


def test_const_marginal_effect_interval_matches_effect_interval(binary_est, data):
    X = data[0][:6]
    np.testing.assert_allclose(binary_est.const_marginal_effect_interval(X), binary_est.effect_interval(X))


def test_summary_shows_haipw_estimate_and_weights(binary_est):
    table = binary_est.summary()
    assert table.shape[0] == 1
    row = table.iloc[0]
    assert row["method"] == "haipw"
    assert row["weight_standard_model"] + row["weight_cfm"] == pytest.approx(1.0)
    assert np.isfinite(row[["ate", "stderr", "ci_lower_0.05", "ci_upper_0.05"]].astype(float)).all()
    mu0, mu1 = binary_est.cross_fitted_outcomes()
    assert row["cfm_mean_effect"] == pytest.approx(np.mean(mu1 - mu0)) and 0 <= row["share_at_clip_bound"] < 0.1


def test_haipw_interval_covers_a_known_constant_effect_with_a_random_model(tiny_model):
    X, T, Y, _ = _binary(n=300, seed=7, effect=2.0)
    est = _estimator(tiny_model).fit(X, T, Y)
    assert est.inference_ == "haipw"
    lo, hi = est.ate_interval()
    assert lo < 2.0 < hi
    assert hi - lo < 1.5  # informative, not vacuous
    # the random CFM is a poor outcome model: the standard model carries the estimate
    assert est.ate_result().weights[0] > 0.5


def test_ate_and_ate_interval_with_the_same_x_run_the_model_once(tiny_model, data, monkeypatch):
    est = _estimator(tiny_model).fit(*data[:3])
    calls = []
    original = est._inference._ate_over
    monkeypatch.setattr(est._inference, "_ate_over", lambda X: calls.append(1) or original(X))
    X = data[0][:20]
    estimate = est.ate(X)
    lo, hi = est.ate_interval(X)
    assert lo < estimate < hi and len(calls) == 1
    est.ate(X[:10])
    assert len(calls) == 2  # other rows: computed again


def test_doubly_robust_ate_with_x_corrects_by_a_constant_with_few_rows_per_covariate(tiny_model):
    X, T, Y, _ = _binary(n=36, seed=3)  # 36 rows < 10 per term for 3 covariates + intercept
    est = _estimator(tiny_model, cv=2).fit(X, T, Y, inference="aipw")
    mu0, mu1 = est.cross_fitted_outcomes()
    correction = np.mean(est._doubly_robust.scores_ - (mu1 - mu0))
    assert est.ate(X[:5]) == pytest.approx(est.effect(X[:5]).mean() + correction)


def test_haipw_interval_over_new_rows_covers_a_known_constant_effect_with_a_random_model(tiny_model):
    X, T, Y, _ = _binary(n=300, seed=7, effect=2.0)
    X_new = _binary(n=60, seed=8)[0]
    est = _estimator(tiny_model).fit(X, T, Y)
    lo, hi = est.ate_interval(X_new)
    assert lo < 2.0 < hi
    assert hi - lo < 1.5
    # the random CFM's own mean effect is far off; the correction is what brings it back
    assert abs(est.effect(X_new).mean() - 2.0) > 1.0


def test_aipw_inference_uses_the_cfm_alone(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model).fit(X, T, Y, inference="aipw")
    table = est.summary()
    assert table.iloc[0]["method"] == "aipw"
    assert "weight_cfm" not in table.columns


def test_string_treatment_levels_are_labels(tiny_model, data):
    X, T, Y, _ = data
    labels = np.where(T == 1, "treated", "control")
    est = _estimator(tiny_model).fit(X, labels, Y)
    assert list(est.categories_) == ["control", "treated"]
    np.testing.assert_allclose(est.effect(X[:3], T0="control", T1="treated"), est.const_marginal_effect(X[:3]))


# -- multi-valued treatment ------------------------------------------------------------


def test_multivalued_const_marginal_effect_has_one_column_per_non_baseline_level(multi_est, data):
    X = data[0][:6]
    effects = multi_est.const_marginal_effect(X)
    assert effects.shape == (6, 2)
    np.testing.assert_allclose(effects[:, 1], multi_est.effect(X, T0=0, T1=2))


def test_multivalued_treatment_uses_ensemble_inference(multi_est, data):
    assert multi_est.inference_ == "ensemble"
    lo, hi = multi_est.ate_interval(data[0][:20], T0=0, T1=2)
    assert lo <= hi
    assert multi_est.summary().iloc[0]["method"] == "ensemble spread"


def test_multivalued_treatment_rejects_haipw(tiny_model, data):
    X, _, Y, _ = data
    with pytest.raises(ValueError, match="inference='haipw' needs a binary treatment"):
        _estimator(tiny_model).fit(X, np.arange(N) % 3, Y, inference="haipw")


# -- continuous treatment --------------------------------------------------------------


def test_continuous_treatment_is_detected(continuous_est):
    assert continuous_est.treatment_kind_ == "continuous"
    assert continuous_est.categories_ is None


def test_continuous_effect_accepts_arrays_of_t0_and_t1(continuous_est, data):
    X = data[0][:5]
    T0, T1 = np.zeros(5), np.linspace(-1, 1, 5)
    effect = continuous_est.effect(X, T0=T0, T1=T1)
    assert effect.shape == (5,)
    assert np.isfinite(effect).all()
    np.testing.assert_allclose(continuous_est.effect(X, T0=T0, T1=T0), 0.0, atol=1e-12)


def test_continuous_effect_is_the_dose_response_difference(continuous_est, data):
    X = data[0][:5]
    curve = continuous_est.dose_response(X, [0.0, 1.5])
    np.testing.assert_allclose(
        continuous_est.effect(X, T0=0.0, T1=1.5), curve[:, 1] - curve[:, 0], rtol=1e-6, atol=1e-9)


def test_dose_response_has_one_column_per_grid_value(continuous_est, data):
    curve = continuous_est.dose_response(data[0][:4], np.linspace(-2, 2, 7))
    assert curve.shape == (4, 7)
    assert np.isfinite(curve).all()


def test_continuous_marginal_effect_has_one_value_per_row(continuous_est, data):
    slope = continuous_est.marginal_effect(np.zeros(4), data[0][:4])
    assert slope.shape == (4,)
    assert np.isfinite(slope).all()


def test_plot_dose_response_returns_axes(continuous_est, data):
    import matplotlib.pyplot as plt

    ax = continuous_est.plot_dose_response(data[0][:10], np.linspace(-1, 1, 5))
    assert isinstance(ax, plt.Axes)
    assert len(ax.lines) == 1
    plt.close(ax.figure)


def test_continuous_treatment_has_no_const_marginal_effect(continuous_est, data):
    with pytest.raises(ValueError, match="const_marginal_effect needs a discrete treatment"):
        continuous_est.const_marginal_effect(data[0][:3])


# -- controls W --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def controls_est(tiny_model, data):
    X, T, Y, W = data
    return _estimator(tiny_model).fit(X, T, Y, W=W)


def test_effect_with_controls_is_projected_onto_x(controls_est, data):
    X = data[0]
    effect = controls_est.effect(X[:8])
    assert effect.shape == (8,)
    assert np.isfinite(effect).all()
    assert [len(regressors) for regressors in controls_est._projected.models] == [1, 1]  # one per member and level


def test_effect_with_controls_uses_the_given_model_final(tiny_model, data):
    X, T, Y, W = data
    est = _estimator(tiny_model, model_final=RandomForestRegressor(n_estimators=5, random_state=0))
    est.fit(X, T, Y, W=W).effect(X[:3])
    models = [regressor for regressors in est._projected.models for regressor in regressors]
    assert all(isinstance(m, RandomForestRegressor) and len(m.estimators_) == 5 for m in models)


@pytest.fixture(scope="module")
def continuous_controls_est(tiny_model, data):
    X, _, _, W = data
    T = X[:, 0] + W[:, 0] + np.random.default_rng(3).normal(size=N)
    Y = np.sin(T) * (1 + X[:, 1]) + W[:, 1] + np.random.default_rng(4).normal(scale=0.1, size=N)
    return _estimator(tiny_model).fit(Y, T, X=X, W=W)


def test_continuous_treatment_with_controls_fits_its_projections_in_fit(continuous_controls_est, data, monkeypatch):
    X = data[0][:6]
    expected = continuous_controls_est.effect(X, T0=-0.5, T1=0.7)

    def refuse(*args, **kwargs):
        raise AssertionError("effect ran the members or fitted a projection")

    monkeypatch.setattr(continuous_controls_est, "_member_means", refuse)
    monkeypatch.setattr(continuous_controls_est, "_fit_projections", refuse)
    np.testing.assert_array_equal(continuous_controls_est.effect(X, T0=-0.5, T1=0.7), expected)
    assert np.isfinite(continuous_controls_est.marginal_effect(np.linspace(-1, 1, 6), X)).all()


def test_continuous_effects_with_controls_interpolate_the_projected_curves(continuous_controls_est, data):
    est, X = continuous_controls_est, data[0][:6]
    grid = est._projected.grid
    assert len(grid) == 11 and grid[0] == est.T_.min() and grid[-1] == est.T_.max()
    curves = est._projected.curves(X).mean(axis=0)  # (m, G)
    np.testing.assert_allclose(est.effect(X, T0=grid[0], T1=grid[4]), curves[:, 4], rtol=1e-12)
    halfway = est.effect(X, T0=grid[2], T1=(grid[4] + grid[5]) / 2)
    np.testing.assert_allclose(halfway, (curves[:, 4] + curves[:, 5]) / 2 - curves[:, 2], rtol=1e-9, atol=1e-12)
    beyond = est.effect(X, T0=grid[0] - 5, T1=grid[-1] + 5)  # flat beyond the observed doses
    np.testing.assert_allclose(beyond, curves[:, -1], rtol=1e-12)


def test_effect_with_controls_takes_one_pair_of_treatment_values_per_row(continuous_controls_est, multi_controls, data):
    X = data[0][:5]
    for est, t0, t1 in [(continuous_controls_est, np.linspace(-1, 0, 5), np.linspace(0.5, 1.5, 5)),
                        (multi_controls, np.array([0, 1, 2, 0, 2]), np.array([1, 2, 0, 0, 1]))]:
        rowwise = est.effect(X, T0=t0, T1=t1)
        one_by_one = [est.effect(X[i : i + 1], T0=t0[i], T1=t1[i])[0] for i in range(5)]
        np.testing.assert_allclose(rowwise, one_by_one, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def multi_controls(tiny_model, data):
    X, _, Y, W = data
    return _estimator(tiny_model).fit(Y, np.random.default_rng(5).integers(0, 3, N), X=X, W=W)


def test_projections_of_a_multi_level_treatment_answer_every_level_in_one_pass(tiny_model, data, monkeypatch):
    from skcfm.fitted_contexts import FittedContexts

    X, _, Y, W = data
    T = np.random.default_rng(5).integers(0, 3, N)
    arms = []
    means = FittedContexts.means
    monkeypatch.setattr(FittedContexts, "means", lambda self, X_query, treatments: arms.append(
        [float(t[0]) for t in treatments]) or means(self, X_query, treatments))
    est = _estimator(tiny_model).fit(Y, T, X=X, W=W)
    assert arms == [[0.0, 1.0, 2.0]]  # the baseline once, not once per level
    # queries never see each other: a pair of arms gives the numbers of the same arms among three
    pair = means(est._contexts, est.X_, [np.zeros(N), np.full(N, 2.0)]).means
    every_level = means(est._contexts, est.X_, [np.zeros(N), np.ones(N), np.full(N, 2.0)]).means
    np.testing.assert_allclose(every_level[:, [0, 2]], pair, rtol=1e-6, atol=1e-6)


def test_final_model_still_works_under_its_former_name_with_a_warning(tiny_model, data):
    X, T, Y, W = data
    est = _estimator(tiny_model, final_model=RandomForestRegressor(n_estimators=5, random_state=0))
    with pytest.warns(FutureWarning, match="renamed model_final"):
        est.fit(X, T, Y, W=W)
    assert all(len(regressors[0].estimators_) == 5 for regressors in est._projected.models)
    with pytest.raises(TypeError, match="final_model='rf'"), pytest.warns(FutureWarning):
        _estimator(tiny_model, final_model="rf").fit(X, T, Y)


def test_ate_over_new_rows_runs_no_model_pass_where_the_hybrid_weighs_the_cfm_zero(tiny_model, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    T = (rng.random(300) < 0.5).astype(int)
    Y = X[:, 0] + 2 * T + 0.1 * rng.normal(size=300)  # linear: the ridge is right, the untrained CFM is not
    est = _estimator(tiny_model).fit(X, T, Y)
    assert est.ate_result().weights[1] == 0
    expected = est.ate(X[:50])
    fresh = _estimator(tiny_model).fit(X, T, Y)

    def refuse(*args, **kwargs):
        raise AssertionError("the CFM was run over X although its hybrid weight is 0")

    monkeypatch.setattr(fresh, "_member_effects", refuse)
    assert fresh.ate(X[:50]) == expected
    assert fresh.ate_interval(X[:50]) == est.ate_interval(X[:50])


def test_ate_over_the_training_rows_is_the_doubly_robust_ate_without_a_model_pass(tiny_model, monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    T = (rng.random(300) < 0.5).astype(int)
    Y = np.sin(2 * X[:, 0]) + (1 + X[:, 1]) * T + 0.1 * rng.normal(size=300)
    est = _estimator(tiny_model).fit(X, T, Y)

    def refuse(*args, **kwargs):
        raise AssertionError("the CFM was run over the training rows, whose cross-fitted effects are at hand")

    monkeypatch.setattr(est, "_member_effects", refuse)
    assert est.ate(X) == pytest.approx(est.ate(), rel=1e-10)
    lo, hi = est.ate_interval(X)
    assert lo < est.ate() < hi


def test_effect_with_controls_takes_x_without_w(controls_est, data):
    X, _, _, W = data
    with pytest.raises(ValueError, match="X has 5 columns; the estimator was fitted with 3"):
        controls_est.effect(np.hstack([X, W])[:4])


def test_dose_response_with_controls_raises(tiny_model, data):
    X, _, Y, W = data
    est = _estimator(tiny_model).fit(X, X[:, 0] + np.random.default_rng(0).normal(size=N), Y, W=W)
    with pytest.raises(ValueError, match="fit without W"):
        est.dose_response(X[:3], [0.0, 1.0])
    with pytest.raises(ValueError, match="fit without W"):
        est.plot_dose_response(X[:3], [0.0, 1.0])


# -- randomness and sklearn protocol ------------------------------------------------------


def test_same_random_state_gives_identical_outputs(tiny_model):
    X, T, Y, _ = _binary(n=300)
    a = _estimator(tiny_model, context_size=100).fit(X, T, Y).effect(X[:10])
    b = _estimator(tiny_model, context_size=100).fit(X, T, Y).effect(X[:10])
    np.testing.assert_array_equal(a, b)


def test_different_random_state_gives_different_outputs(tiny_model):
    X, T, Y, _ = _binary(n=300)
    a = _estimator(tiny_model, context_size=100).fit(X, T, Y).effect(X[:10])
    b = _estimator(tiny_model, context_size=100).set_params(random_state=1).fit(X, T, Y).effect(X[:10])
    assert not np.allclose(a, b)


def test_clone_and_get_params_round_trip(tiny_model, binary_est):
    params = binary_est.get_params()
    assert params["n_estimators"] == 2 and params["model"] is tiny_model
    copy = clone(binary_est)
    assert set(copy.get_params()) == set(params)
    assert copy.get_params()["random_state"] == 0
    assert not hasattr(copy, "model_")
    copy.set_params(n_estimators=3)
    assert copy.n_estimators == 3


@pytest.mark.parametrize(
    "method", ["effect", "const_marginal_effect", "ate", "ate_interval", "effect_interval", "effect_inference",
               "const_marginal_effect_interval", "summary"])
def test_methods_need_fit(tiny_model, method):
    with pytest.raises(NotFittedError):
        getattr(_estimator(tiny_model), method)()


# -- EconML tooling ------------------------------------------------------------------------


def test_rscorer_scores_the_estimator(binary_est, data):
    X, T, Y, _ = data
    scorer = RScorer(model_y=LinearRegression(), model_t=LogisticRegression(), discrete_treatment=True,
                     cv=2, random_state=0)
    scorer.fit(Y, T, X=X)
    score = scorer.score(binary_est)
    assert np.isfinite(score)
    assert score <= 1.0


def test_single_tree_cate_interpreter_fits_and_exports(binary_est, data):
    import matplotlib.pyplot as plt

    interpreter = SingleTreeCateInterpreter(include_model_uncertainty=False, max_depth=2)
    interpreter.interpret(binary_est, data[0])
    assert "digraph" in interpreter.export_graphviz(feature_names=["a", "b", "c"])
    interpreter.plot(feature_names=["a", "b", "c"])
    plt.close("all")


def test_single_tree_cate_interpreter_with_model_uncertainty(binary_est, data):
    interpreter = SingleTreeCateInterpreter(include_model_uncertainty=True, max_depth=2)
    interpreter.interpret(binary_est, data[0])
    leaves = [node for node in interpreter.node_dict_.values() if "ci" in node]
    assert leaves  # uncertainty is reported on the leaves
    for leaf in leaves:
        lower, upper = leaf["ci"]
        assert lower < leaf["mean"] < upper  # the members disagree somewhat, so the interval has width
    assert "digraph" in interpreter.export_graphviz(feature_names=["a", "b", "c"])


def test_const_marginal_ate_inference_summarises_the_effects(binary_est, data):
    result = binary_est.const_marginal_ate_inference(data[0])
    assert np.isclose(result.mean_point, binary_est.const_marginal_effect(data[0]).mean())
    assert "Uncertainty of Mean Point Estimate" in str(result)


def test_single_tree_policy_interpreter_fits_and_exports(binary_est, data):
    import matplotlib.pyplot as plt

    interpreter = SingleTreePolicyInterpreter(risk_level=None, max_depth=2)
    interpreter.interpret(binary_est, data[0])
    assert interpreter.treat(data[0][:5]).shape == (5,)
    assert "digraph" in interpreter.export_graphviz()
    interpreter.plot()
    plt.close("all")


# -- bad input -------------------------------------------------------------------------------


def _with(data, **changes):
    X, T, Y, W = (np.array(a, dtype=float) for a in data)
    values = {"X": X, "T": T, "Y": Y, "W": W}
    for name, change in changes.items():
        values[name] = change(values[name])
    return values


def _set(row, col, value):
    def change(a):
        a = a.copy()
        a[(row, col) if a.ndim == 2 else row] = value
        return a

    return change


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"X": _set(3, 1, np.nan)}, "X contains NaN"),
        ({"X": _set(3, 1, np.inf)}, "X contains NaN or infinity"),
        ({"T": _set(5, 0, np.nan)}, "T contains NaN"),
        ({"T": _set(5, 0, -np.inf)}, "T contains NaN"),
        ({"Y": _set(2, 0, np.nan)}, "Y contains NaN"),
        ({"Y": _set(2, 0, np.inf)}, "Y contains NaN"),
        ({"W": _set(0, 1, np.nan)}, "W contains NaN"),
        ({"X": lambda a: a[:, :, None]}, "X must be a numeric 2-d array"),
        ({"T": lambda a: np.column_stack([a, a])}, "T must be 1-d"),
        ({"Y": lambda a: np.column_stack([a, a])}, "Y must be 1-d"),
        ({"T": lambda a: a[:-1]}, "T has 199 rows; expected 200"),
        ({"Y": lambda a: a[:-3]}, "Y has 197 rows; expected 200"),
        ({"W": lambda a: a[:-1]}, "W has 199 rows; expected 200"),
        ({"X": lambda a: a[:0]}, "X is empty"),
    ],
    ids=["X-nan", "X-inf", "T-nan", "T-inf", "Y-nan", "Y-inf", "W-nan", "X-3d", "T-2d", "Y-2d",
         "T-short", "Y-short", "W-short", "X-empty"],
)
def test_fit_rejects_bad_arrays_naming_the_argument(tiny_model, data, changes, match):
    values = _with(data, **changes)
    with pytest.raises(ValueError, match=match):
        _estimator(tiny_model).fit(values["X"], values["T"], values["Y"], W=values["W"])


def test_fit_rejects_missing_labels_in_a_label_treatment(tiny_model, data):
    X, T, Y, _ = data
    labels = pd.Series(np.where(T == 1, "treated", "control"), dtype=object)
    labels[4] = None
    with pytest.raises(ValueError, match="T contains NaN, None"):
        _estimator(tiny_model).fit(X, labels, Y)


def test_fit_rejects_a_pam_of_the_wrong_shape(tiny_model, data):
    X, T, Y, _ = data
    with pytest.raises(ValueError, match=r"ancestors has shape \(4, 4\); expected \(5, 5\)"):
        _estimator(tiny_model).fit(X, T, Y, ancestors=np.zeros((4, 4)))


def test_fit_rejects_a_pam_with_wrong_labels(tiny_model, data):
    X, T, Y, _ = data
    pam = unconfoundedness_pam(["a", "b", "c"], treatment="T", outcome="Y")
    with pytest.raises(ValueError, match=r"ancestors has no row/column for \['x0', 'x1', 'x2'\]"):
        _estimator(tiny_model).fit(X, T, Y, ancestors=pam)


def test_fit_rejects_non_numeric_columns(tiny_model, data):
    X, T, Y, _ = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(city=["x", "y"] * (N // 2))
    with pytest.raises(TypeError, match=r"X has non-numeric columns \['city'\]"):
        _estimator(tiny_model).fit(frame, T, Y)


def test_fit_rejects_a_treatment_without_variation(tiny_model, data):
    X, _, Y, _ = data
    with pytest.raises(ValueError, match="T has no variation"):
        _estimator(tiny_model).fit(X, np.ones(N), Y)


def test_fit_rejects_an_arm_with_fewer_than_two_rows(tiny_model, data):
    X, _, Y, _ = data
    T = np.zeros(N)
    T[0] = 1
    with pytest.raises(ValueError, match="T level 1.0 has fewer than two rows"):
        _estimator(tiny_model).fit(X, T, Y)


def test_effect_rejects_a_continuous_value_for_a_binary_treatment(binary_est, data):
    with pytest.raises(ValueError, match="T1 contains 0.5, which is not a treatment level"):
        binary_est.effect(data[0][:3], T0=0, T1=0.5)


def test_effect_rejects_non_finite_continuous_treatment_values(continuous_est, data):
    with pytest.raises(ValueError, match="T1 contains NaN"):
        continuous_est.effect(data[0][:3], T0=0.0, T1=np.nan)


def test_effect_rejects_treatment_arrays_of_the_wrong_length(continuous_est, data):
    with pytest.raises(ValueError, match="T0 has 2 values; expected 3"):
        continuous_est.effect(data[0][:3], T0=np.zeros(2), T1=1.0)


def test_effect_rejects_x_with_the_wrong_number_of_columns(binary_est, data):
    with pytest.raises(ValueError, match="X has 2 columns; the estimator was fitted with 3"):
        binary_est.effect(data[0][:3, :2])


def test_effect_rejects_nan_in_x(binary_est, data):
    X = data[0][:3].copy()
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        binary_est.effect(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_estimators": 0}, "n_estimators must be a positive integer"),
        ({"n_estimators": "many"}, "n_estimators must be a positive integer or 'auto'; got 'many'"),
        ({"context_size": 1.5}, "context_size must be a positive integer"),
        ({"cv": 1}, "cv must be a positive integer >= 2"),
        ({"inference_config": {"chunk_size": -1}}, "chunk_size must be a positive integer"),
        ({"treatment_kind": "x"}, "treatment_kind='x'; expected 'auto', 'discrete' or 'continuous'"),
        ({"inference_config": {"contexts": "near"}}, "contexts='near'; expected 'local' or 'global'"),
        ({"fit_mode": "cache"}, "fit_mode='cache'; expected 'auto', 'low_memory' or 'fit_with_cache'"),
    ],
)
def test_fit_rejects_bad_parameters(tiny_model, data, params, match):
    X, T, Y, _ = data
    with pytest.raises(ValueError, match=match):
        _estimator(tiny_model, **params).fit(X, T, Y)


def test_auto_ensemble_grows_with_the_rows(tiny_model, data):
    X, T, Y, _ = data
    small = _estimator(tiny_model, n_estimators="auto", context_size=len(Y)).fit(X, T, Y)
    long = _estimator(tiny_model, n_estimators="auto", context_size=35, inference_config={"contexts": "global"})
    long.fit(X, T, Y)
    assert len(small.members_) == 4  # one context holds every row: the floor
    assert len(long.members_) == 6  # 200 rows in six blocks of at most 35
    assert CFMCateEstimator().n_estimators == "auto"


def test_local_contexts_read_the_rows_nearest_each_region(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model, context_size=30).fit(X, T, Y)  # 200 rows: 4 regions of 60
    hood = est.neighbourhoods_
    assert len(hood.rows) == 4 and all(len(r) == 60 for r in hood.rows)
    assert all(set(T[r]) == {0, 1} for r in hood.rows)  # every region sees both arms
    Z = (est.X_ - hood.location) / hood.scale  # the regions read the arm columns too
    for k, rows in enumerate(hood.rows):
        distance = ((Z - hood.centres[k]) ** 2).sum(axis=1)
        assert distance[rows].mean() < distance.mean()  # nearer the centre than the rows at large
        assert all(set(m.rows) <= set(rows) for m in est._contexts.plan.ensembles[k])
    effect = est.effect(X[:20])
    assert effect.shape == (20,) and np.isfinite(effect).all()
    np.testing.assert_allclose(est.effect(X[5:6]), effect[5:6], rtol=1e-5, atol=1e-6)  # no batch dependence


def test_local_contexts_cover_cross_fitting_and_continuous_treatments(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model, context_size=30).fit(X, T, Y)
    mu0, mu1 = est.cross_fitted_outcomes()  # regions drawn inside each fold's training rows
    assert mu0.shape == mu1.shape == (len(Y),) and np.isfinite(mu0).all() and np.isfinite(mu1).all()
    for level, mu in ((0, mu0), (1, mu1)):  # clipped to outcomes the arm produced
        assert Y[T == level].min() <= mu.min() and mu.max() <= Y[T == level].max()
    dose = X[:, 0] + np.random.default_rng(0).normal(size=len(Y))
    continuous = _estimator(tiny_model, context_size=30).fit(X, dose, Y + dose)
    assert continuous.neighbourhoods_ is not None
    assert np.isfinite(continuous.effect(X[:10], T0=0.0, T1=1.0)).all()


def test_local_and_global_contexts_agree_when_one_context_holds_the_data(tiny_model, data):
    X, T, Y, _ = data
    local = _estimator(tiny_model, context_size=100).fit(X, T, Y)  # 2 * 100 rows: one region
    global_ = _estimator(tiny_model, context_size=100, inference_config={"contexts": "global"}).fit(X, T, Y)
    assert local.neighbourhoods_ is None
    np.testing.assert_allclose(local.effect(X[:10]), global_.effect(X[:10]), rtol=1e-5, atol=1e-6)


def test_fit_with_cache_encodes_each_context_once_and_predicts_the_same(tiny_model, data, monkeypatch):
    X, T, Y, _ = data
    plain = _estimator(tiny_model, context_size=30, fit_mode="low_memory").fit(X, T, Y)  # 4 regions of a pair
    assert plain._contexts.encodings is None
    want = plain.effect(X[:30]), plain.const_marginal_effect(X[:5]), plain.cross_fitted_outcomes()[0]
    calls = []
    encode = type(tiny_model).encode_context
    monkeypatch.setattr(type(tiny_model), "encode_context", lambda self, *a: calls.append(1) or encode(self, *a))
    for mode in ("fit_with_cache", "auto"):  # "auto" keeps a cache this small
        calls.clear()
        cached = _estimator(tiny_model, context_size=30, fit_mode=mode).fit(X, T, Y)
        # fit encodes every member's context once; the out-of-context cross-fitting reads them
        assert len(cached.members_) == 8 and len(calls) == 8
        np.testing.assert_array_equal(cached.effect(X[:30]), want[0])
        np.testing.assert_array_equal(cached.const_marginal_effect(X[:5]), want[1])
        np.testing.assert_array_equal(cached.cross_fitted_outcomes()[0], want[2])
        assert len(calls) == 8  # predictions read the cache


def test_fit_mode_auto_keeps_no_cache_beyond_its_budget(tiny_model, data, monkeypatch):
    X, T, Y, _ = data
    monkeypatch.setattr("skcfm.contexts.CACHE_BYTES", 1)
    assert _estimator(tiny_model, context_size=30).fit(X, T, Y)._contexts.encodings is None


def test_fit_rejects_an_unknown_inference(tiny_model, data):
    X, T, Y, _ = data
    with pytest.raises(ValueError, match=r"inference='x'; expected one of \('auto', 'haipw'"):
        _estimator(tiny_model).fit(X, T, Y, inference="x")


def test_continuous_treatment_kind_rejects_labels(tiny_model, data):
    X, T, Y, _ = data
    with pytest.raises(TypeError, match="treatment_kind='continuous' needs a numeric T"):
        _estimator(tiny_model, treatment_kind="continuous").fit(X, np.where(T == 1, "a", "b"), Y)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
@pytest.mark.parametrize("method", ["ate_interval", "effect_interval"])
def test_intervals_reject_alpha_out_of_range(binary_est, data, method, alpha):
    with pytest.raises(ValueError, match="alpha must be a number in \\(0, 1\\)"):
        getattr(binary_est, method)(data[0][:3], alpha=alpha)


def test_outcome_named_like_a_covariate_falls_back_to_default_names(tiny_model):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 2)), columns=["a", "b"])
    T = pd.Series(rng.integers(0, 2, 80), name="t")
    Y = 2 * X.a + rng.normal(size=80)  # a Series named "a", like the covariate
    est = CFMCateEstimator(model=tiny_model, n_estimators=1, random_state=0).fit(X, T, Y)
    assert (est.treatment_name_, est.outcome_name_) == ("T", "Y")
    assert est._gen_allowed_missing_vars() == []


def test_dr_final_stage_recovers_heterogeneity_even_with_an_untrained_model(tiny_model):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(800, 3))
    T = (rng.random(800) < 1 / (1 + np.exp(-X[:, 1]))).astype(int)
    tau = 1 + 2 * (X[:, 0] > 0)
    Y = X[:, 1] + tau * T + 0.5 * rng.normal(size=800)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="dr", random_state=0).fit(X, T, Y)
    probe = np.array([[-1.5, 0.0, 0.0], [1.5, 0.0, 0.0]])
    low, high = est.effect(probe)
    assert abs(low - 1) < 0.8 and abs(high - 3) < 0.8
    with pytest.raises(ValueError, match="final_stage"):
        est.effect_interval(probe)


def test_dr_final_stage_needs_a_binary_treatment(tiny_model):
    rng = np.random.default_rng(0)
    X, T, Y = rng.normal(size=(60, 2)), rng.normal(size=60), rng.normal(size=60)
    with pytest.raises(ValueError, match="final_stage"):
        CFMCateEstimator(model=tiny_model, final_stage="dr").fit(X, T, Y)
    with pytest.raises(ValueError, match="final_stage"):
        CFMCateEstimator(model=tiny_model, final_stage="forest").fit(X, T > 0, Y)


def test_the_default_final_stage_weighs_alternatives_for_a_binary_treatment_only(tiny_model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    T = (rng.random(120) < 0.5).astype(int)
    Y = X[:, 0] + T * (1 + X[:, 1]) + rng.normal(size=120)
    binary = CFMCateEstimator(model=tiny_model, n_estimators=1, random_state=0).fit(X, T, Y)
    assert binary.final_stage == "auto" and binary.final_stage_choice_ is not None
    assert set(binary.final_stage_choice_.dr_loss) >= {"cfm", "causal_forest", "dr"}
    for treatment in (rng.normal(size=120), rng.integers(0, 3, size=120)):  # continuous, three levels
        other = CFMCateEstimator(model=tiny_model, n_estimators=1, random_state=0).fit(X, treatment, Y)
        assert other.final_stage_ == "cfm" and other.final_stage_choice_ is None


def test_final_stage_forests_do_not_depend_on_the_covariates_units(tiny_model):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 2))
    T = (rng.random(150) < 0.5).astype(int)
    Y = X[:, 0] + T * (1 + X[:, 1]) + rng.normal(size=150)
    # were: trees on float32 X and raw outcomes, so X + 1e8 left them no digits to split on and
    # outcomes of order 1e-8 grew no tree; and the DR-learner's trees moved with the scores' last digits
    for stage in ("dr", "causal_forest", "cfm_summary"):
        reference = _estimator(tiny_model, final_stage=stage).fit(X, T, Y).effect(X)
        for scale, offset in ((1e-6, 0.0), (1e6, 1e8)):
            moved = X * scale + offset
            effect = _estimator(tiny_model, final_stage=stage).fit(moved, T, Y).effect(moved)
            np.testing.assert_allclose(effect, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())
        effect = _estimator(tiny_model, final_stage=stage).fit(X, T, Y * 1e-9).effect(X) / 1e-9
        np.testing.assert_allclose(effect, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())


def test_summary_uses_the_treatment_levels_not_zero_and_one(tiny_model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    T = np.array(["a", "b", "c"] * 30)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0).fit(X, T, rng.normal(size=90))
    table = est.summary()
    assert table["method"].iloc[0] == "ensemble spread" and np.isfinite(table["ate"].iloc[0])


# -- clipping potential outcomes to each arm's observed range ------------------------------


def _separated_arms(n=N, seed=3):
    """Treated outcomes in [100, 101], control outcomes in [0, 1]."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 0.4).astype(int)
    return X, T, 100 * T + rng.random(n)


def test_potential_outcomes_stay_within_each_arms_observed_range(tiny_model):
    X, T, Y = _separated_arms()
    ranges = [(Y[T == level].min(), Y[T == level].max()) for level in (0, 1)]
    clipped = _estimator(tiny_model).fit(X, T, Y).dose_response(X, [0, 1])
    raw = _estimator(tiny_model, inference_config={"clip_to_observed": False}).fit(X, T, Y).dose_response(X, [0, 1])
    for level, (low, high) in enumerate(ranges):
        assert np.all((clipped[:, level] >= low) & (clipped[:, level] <= high))
        # the random model's raw means leave the range, so the clipping did the work
        assert np.any((raw[:, level] < low) | (raw[:, level] > high))


def test_cross_fitted_outcomes_are_clipped_to_their_folds_ranges(tiny_model):
    X, T, Y = _separated_arms()
    mu0, mu1 = _estimator(tiny_model).fit(X, T, Y).cross_fitted_outcomes()
    assert np.all((mu0 >= Y[T == 0].min()) & (mu0 <= Y[T == 0].max()))
    assert np.all((mu1 >= Y[T == 1].min()) & (mu1 <= Y[T == 1].max()))


def test_clipping_leaves_a_continuous_treatment_alone(tiny_model, data):
    X, _, _, _ = data
    rng = np.random.default_rng(2)
    T = X[:, 0] + rng.normal(size=N)
    Y = np.sin(T) + X[:, 1]
    grid = [-1.0, 0.0, 2.0]
    on = _estimator(tiny_model).fit(X, T, Y).dose_response(X[:20], grid)
    off = _estimator(tiny_model, inference_config={"clip_to_observed": False}).fit(X, T, Y).dose_response(X[:20], grid)
    np.testing.assert_array_equal(on, off)


def test_clip_to_observed_must_be_a_bool(tiny_model, data):
    X, T, Y, _ = data
    with pytest.raises(TypeError, match="clip_to_observed"):
        _estimator(tiny_model, inference_config={"clip_to_observed": "yes"}).fit(X, T, Y)


def test_model_propensity_replaces_the_default_logistic_regression(tiny_model):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    T = (rng.random(300) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(int)
    Y = X[:, 0] + T + 0.3 * rng.normal(size=300)
    default = _estimator(tiny_model, n_estimators=1).fit(X, T, Y)
    constant = _estimator(tiny_model, n_estimators=1, model_propensity=DummyClassifier(strategy="prior")).fit(X, T, Y)
    # the same CFM outcomes, so only the propensity can move the doubly robust ATE
    np.testing.assert_allclose(default.effect(X), constant.effect(X))
    assert default.ate_result().estimate != pytest.approx(constant.ate_result().estimate)
    assert constant._nuisances(with_standard=False)[0] == pytest.approx(T.mean(), abs=0.02)


def test_model_propensity_must_be_a_classifier(tiny_model):
    X, T, Y = np.zeros((20, 1)), np.arange(20) % 2, np.arange(20.0)
    with pytest.raises(TypeError, match="model_propensity"):
        CFMCateEstimator(model=tiny_model, model_propensity=LinearRegression()).fit(X, T, Y)


def test_doubly_robust_ate_warns_when_the_arms_barely_overlap(tiny_model):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    T = (X[:, 0] + 0.05 * rng.normal(size=300) > 0).astype(int)  # almost separable
    Y = X[:, 0] + T + rng.normal(size=300)
    with pytest.warns(OverlapWarning, match="clip bound"):  # the propensity is fitted in fit
        CFMCateEstimator(model=tiny_model, n_estimators=1, random_state=0).fit(X, T, Y)


def test_fit_warns_when_the_pam_makes_the_treatment_cause_a_covariate(tiny_model):
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["age", "dose_taken"])
    T, Y = pd.Series(rng.integers(0, 2, 60), name="t"), pd.Series(rng.normal(size=60), name="y")
    pam = unconfoundedness_pam(["age", "dose_taken"], treatment="t", outcome="y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PostTreatmentWarning)
        CFMCateEstimator(model=tiny_model, n_estimators=1).fit(X, T, Y, ancestors=pam)  # pre-treatment: silent
    pam.loc["t", "dose_taken"], pam.loc["dose_taken", "t"] = 1, -1  # a mediator
    with pytest.warns(PostTreatmentWarning, match=r"known ancestor of \['dose_taken'\]"):
        CFMCateEstimator(model=tiny_model, n_estimators=1).fit(X, T, Y, ancestors=pam)


# -- the doubly robust ATE however the arms are written; the baseline level ---------------------


def test_doubly_robust_ate_does_not_depend_on_how_the_arms_are_written(binary_est, data):
    X = data[0][:60]
    forward, interval = binary_est.ate(), binary_est.ate_interval()
    assert binary_est.ate(T0=1, T1=0) == pytest.approx(-forward)
    assert binary_est.ate_interval(T0=1, T1=0) == pytest.approx((-interval[1], -interval[0]))
    assert binary_est.ate_inference(T0=1, T1=0).mean_point == pytest.approx(-forward)
    # constant arrays are the same question as scalars: the doubly robust answer, not the members' mean
    assert binary_est.ate(X, T0=np.zeros(60), T1=np.ones(60)) == pytest.approx(binary_est.ate(X))
    assert binary_est.ate(X) != pytest.approx(binary_est.effect(X).mean())
    assert binary_est.ate_interval(X, T0=np.zeros(60), T1=np.ones(60)) == pytest.approx(binary_est.ate_interval(X))


def test_categories_choose_the_baseline_level(tiny_model, data):
    X, T, Y, _ = data
    labels = np.where(T == 1, "treated", "untreated")
    auto = _estimator(tiny_model).fit(X, labels, Y)
    assert auto.categories_.tolist() == ["treated", "untreated"]  # sorted: "treated" is the baseline
    assert auto.summary()[["T0", "T1"]].iloc[0].tolist() == ["treated", "untreated"]
    assert auto.ate(T0="untreated", T1="treated") == pytest.approx(-auto.ate(T0="treated", T1="untreated"))
    ordered = _estimator(tiny_model, categories=["untreated", "treated"]).fit(X, labels, Y)
    assert ordered.categories_.tolist() == ["untreated", "treated"]
    assert ordered.summary()[["T0", "T1"]].iloc[0].tolist() == ["untreated", "treated"]
    # the model reads the same arms as with 0/1 coded T (untreated 0, treated 1)
    np.testing.assert_allclose(ordered.effect(X[:5], T0="untreated", T1="treated"),
                               _estimator(tiny_model).fit(X, T, Y).effect(X[:5]))
    with pytest.raises(ValueError, match=r"e.g. T0='untreated', T1='treated' for the effect of 'treated'"):
        auto.effect(X[:5])


@pytest.mark.parametrize(("categories", "match"), [
    (["a", "b"], r"must list each level of T once; T's levels are \[0, 1\]"),
    ([0, 1, 2], r"never observed \[2\]"),
    ([1, 1], "repeats a level"),
    ("sorted", "expected 'auto' or a list"),
])
def test_fit_rejects_categories_that_do_not_match_t(tiny_model, data, categories, match):
    X, T, Y, _ = data
    with pytest.raises(ValueError, match=match):
        _estimator(tiny_model, categories=categories).fit(X, T, Y)


def test_categories_need_a_discrete_treatment(tiny_model, data):
    X, _, Y, _ = data
    with pytest.raises(ValueError, match="applies to a discrete treatment"):
        _estimator(tiny_model, categories=[0, 1]).fit(X, np.linspace(0, 1, N), Y)


@pytest.mark.parametrize("block", ["X", "W"])
@pytest.mark.parametrize("variable", ["T", "Y"])
def test_fit_rejects_t_or_y_among_the_covariates(tiny_model, data, block, variable):
    X, T, Y, W = data
    values = {"X": X, "W": W}
    values[block] = np.column_stack([values[block], {"T": T, "Y": Y}[variable]])
    with pytest.raises(ValueError, match=rf"{block}'s column .* is {variable} itself"):
        _estimator(tiny_model).fit(values["X"], T, Y, W=values["W"])


@pytest.mark.parametrize(("params", "error", "match"), [
    ({"model_final": LogisticRegression(), "final_stage": "dr"}, TypeError, "expected None or an unfitted regressor"),
    ({"model_final": "rf"}, TypeError, "model_final='rf'"),
    ({"device": "gpu0"}, ValueError, "device='gpu0' is not a torch device"),
])
def test_fit_rejects_bad_parameters_naming_them(tiny_model, data, params, error, match):
    X, T, Y, _ = data
    with pytest.raises(error, match=match):
        _estimator(tiny_model, **params).fit(X, T, Y)


def test_fit_rejects_a_model_that_is_not_a_name_path_or_model(data):
    X, T, Y, _ = data
    with pytest.raises(TypeError, match="model=3; expected None, a shipped model's name"):
        CFMCateEstimator(model=3).fit(X, T, Y)


def test_interval_rejects_an_alpha_that_is_not_a_number(binary_est):
    with pytest.raises(ValueError, match="alpha must be a number in"):
        binary_est.ate_interval(alpha=None)


def test_final_stage_with_three_arms_names_the_levels(tiny_model, data):
    X, _, Y, _ = data
    with pytest.raises(ValueError, match="needs a binary treatment; T has 3 levels"):
        _estimator(tiny_model, final_stage="dr").fit(X, np.arange(N) % 3, Y)


@pytest.mark.parametrize("stage", ["cfm", "cfm_summary", "dr", "causal_forest", "blend_tl"])
def test_effect_ate_and_their_intervals_fit_nothing(tiny_model, data, stage, monkeypatch):
    X, T, Y, W = data
    est = _estimator(tiny_model, final_stage=stage).fit(X, T, Y, W=W if stage == "cfm" else None)

    def refuse(*args, **kwargs):
        raise AssertionError("a prediction fitted a model")

    monkeypatch.setattr("sklearn.ensemble.RandomForestRegressor.fit", refuse)
    monkeypatch.setattr("sklearn.ensemble.RandomForestClassifier.fit", refuse)
    monkeypatch.setattr("sklearn.linear_model.RidgeCV.fit", refuse)
    monkeypatch.setattr("sklearn.ensemble.HistGradientBoostingRegressor.fit", refuse)
    monkeypatch.setattr("sklearn.linear_model.LogisticRegression.fit", refuse)
    monkeypatch.setattr("skcfm.doubly_robust.crossfit_propensity", refuse)
    monkeypatch.setattr("skcfm.doubly_robust.crossfit_outcome", refuse)
    monkeypatch.setattr("skcfm.fitted_contexts.plan_contexts", refuse)
    est.effect(X[:5])
    est.ate()
    est.ate_interval()
    est.ate(X[:20])
    est.ate_interval(X[:20])
    est.ate_inference(X[:20])
    if stage == "causal_forest":
        est.effect_interval(X[:5])


def test_econml_and_card_call_orders_give_identical_effects(tiny_model, data):
    X, T, Y, W = data
    card = _estimator(tiny_model).fit(X, T, Y, W=W).effect(X[:10])
    econml_keywords = _estimator(tiny_model).fit(Y, T, X=X, W=W).effect(X[:10])
    np.testing.assert_array_equal(card, econml_keywords)
    card = _estimator(tiny_model).fit(X, T, Y).effect(X[:10])
    for est in (_estimator(tiny_model).fit(Y, T, X), _estimator(tiny_model).fit(Y=Y, T=T, X=X)):
        np.testing.assert_array_equal(card, est.effect(X[:10]))


def test_fit_says_which_argument_is_missing_or_doubled(tiny_model, data):
    X, T, Y, _ = data
    with pytest.raises(TypeError, match="fit\\(\\) needs Y"):
        _estimator(tiny_model).fit(X, T)
    with pytest.raises(TypeError, match="two values for T"):
        _estimator(tiny_model).fit(Y, T, X=X, T=T)


@pytest.mark.parametrize("weight", ["sample_weight", "freq_weight", "sample_var"])
def test_weights_are_refused_not_ignored(tiny_model, data, weight):
    X, T, Y, _ = data
    with pytest.raises(ValueError, match=f"{weight} is not supported: .* resample the rows"):
        _estimator(tiny_model).fit(Y, T, X=X, **{weight: np.ones(len(Y))})


def test_groups_stay_within_one_cross_fitting_fold(tiny_model, data, monkeypatch):
    import skcfm.doubly_robust

    X, T, Y, _ = data
    groups = np.arange(len(Y)) // 4  # four rows per unit
    seen = []
    original = skcfm.doubly_robust.crossfit_folds

    def recording(*args, **kwargs):
        folds = original(*args, **kwargs)
        seen.append(folds)
        return folds

    monkeypatch.setattr(skcfm.doubly_robust, "crossfit_folds", recording)
    est = _estimator(tiny_model).fit(Y, T, X=X, groups=groups)
    assert seen and np.isfinite(est.ate_interval()).all()
    for train, test in seen[0]:
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(ValueError, match="groups has 3 distinct groups; cross-fitting with cv=5"):
        _estimator(tiny_model).fit(X, T, Y, groups=np.arange(len(Y)) % 3)


def test_level_hint_puts_the_control_first_so_following_it_keeps_the_sign(tiny_model, data):
    X, T, Y, _ = data
    labels = np.where(T == 1, "treated", "untreated")
    est = _estimator(tiny_model).fit(X, labels, Y)
    with pytest.raises(ValueError, match="T0='untreated', T1='treated' for the effect of 'treated' against"):
        est.effect(X[:3])
    assert est.ate(T0="untreated", T1="treated") > 0  # the simulated effect is +2


def test_dose_response_warns_beyond_the_observed_doses(continuous_est, data):
    from skcfm.cate import ExtrapolationWarning

    X = data[0]
    high = continuous_est.T_.max()
    with pytest.warns(ExtrapolationWarning, match="outside the observed range"):
        continuous_est.dose_response(X[:3], [0.0, high + 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        continuous_est.dose_response(X[:3], [continuous_est.T_.min(), high])


def _poor_overlap(seed, n=600):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-4 * X[:, 0]))
    T = (rng.random(n) < e).astype(int)
    tau = 1 + X[:, 0]
    Y = X[:, 0] + X[:, 1] + tau * T + rng.normal(size=n)
    return X, T, Y, tau, e


def test_overlap_estimand_is_the_weighted_mean_effect_with_an_interval(tiny_model):
    X, T, Y, tau, e = _poor_overlap(0)
    with pytest.warns(OverlapWarning, match="estimand='overlap'"):
        est = _estimator(tiny_model).fit(X, T, Y)
    estimate = est.ate(estimand="overlap")
    lo, hi = est.ate_interval(estimand="overlap")
    assert lo < estimate < hi
    assert est.ate(estimand="overlap", T0=1, T1=0) == -estimate
    truth = np.sum(e * (1 - e) * tau) / np.sum(e * (1 - e))
    assert abs(estimate - truth) < 4 * est.overlap_result_.stderr
    robust = est._doubly_robust  # weights from the propensity before clipping: rows at the bound weigh less
    assert (robust.unclipped_propensity_ < robust.propensity_).any()
    np.testing.assert_array_equal(np.clip(robust.unclipped_propensity_, 0.01, 0.99), robust.propensity_)
    table = est.summary()
    assert table["overlap_ate"].iloc[0] == estimate
    summary = est.ate_inference(estimand="overlap")
    assert summary.mean_point == pytest.approx(estimate)
    with pytest.raises(ValueError, match="call it without X"):
        est.ate(X, estimand="overlap")
    with pytest.raises(ValueError, match="estimand='whole'; expected one of"):
        est.ate(estimand="whole")


def test_cfm_summary_is_a_regressor_of_the_cfms_cross_fitted_effects(tiny_model, data):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, T, Y, _ = data
    est = _estimator(tiny_model, final_stage="cfm_summary").fit(X, T, Y)
    mu0, mu1 = est.cross_fitted_outcomes()
    want = HistGradientBoostingRegressor(random_state=est._seed).fit(X, mu1 - mu0).predict(X[:7])
    np.testing.assert_allclose(est.effect(X[:7]), want)
    np.testing.assert_allclose(est.effect(X[:7], T0=1, T1=0), -want)
    with pytest.raises(ValueError, match="not available with final_stage='cfm_summary'.*'causal_forest' gives"):
        est.effect_interval(X[:3])
    forest = _estimator(tiny_model, final_stage="causal_forest").fit(X, T, Y)
    with pytest.raises(ValueError, match="effect_interval\\(\\) gives its per-row confidence intervals"):
        forest.const_marginal_ate_interval(X[:3])


def test_shap_values_explain_the_effects_per_covariate(tiny_model, data):
    X, T, Y, _ = data
    est = _estimator(tiny_model, final_stage="cfm_summary").fit(X, T, Y)
    explanation = est.shap_values(X[:4], background_samples=10)
    values = explanation["Y0"]["T0"]  # nested by outcome and treatment name (EconML's defaults for arrays)
    assert values.values.shape == (4, 3)
    # SHAP values add up to the effect minus the background's mean effect
    np.testing.assert_allclose(values.values.sum(axis=1) + values.base_values, est.effect(X[:4]), rtol=1e-4, atol=1e-6)


def test_score_is_econmls_doubly_robust_score_on_new_rows(tiny_model):
    from econml.dr import DRLearner

    X, T, Y, _ = _binary(n=400, seed=5)
    X_new, T_new, Y_new, _ = _binary(n=300, seed=6)
    est = _estimator(tiny_model).fit(Y, T, X=X)
    score = est.score(Y_new, T_new, X=X_new)
    reference = DRLearner(cv=3, random_state=0).fit(Y, T, X=X).score(Y_new, T_new, X=X_new)
    assert np.isfinite(score) and 0 < score < 3 * reference
    labels = _estimator(tiny_model).fit(X, np.where(T == 1, "b", "a"), Y)
    assert np.isfinite(labels.score(Y_new, np.where(T_new == 1, "b", "a"), X=X_new))
    with_controls = _estimator(tiny_model).fit(Y, T, X=X[:, :2], W=X[:, 2:])
    assert np.isfinite(with_controls.score(Y_new, T_new, X=X_new[:, :2], W=X_new[:, 2:]))
    with pytest.raises(ValueError, match="W is required"):
        with_controls.score(Y_new, T_new, X=X_new[:, :2])
    with pytest.raises(ValueError, match="score needs the doubly robust nuisances"):
        _estimator(tiny_model).fit(X, T, Y, inference="ensemble").score(Y_new, T_new, X=X_new)
