"""EconML's inference methods and result objects on CFMCateEstimator, and its checks of X's columns."""

import numpy as np
import pandas as pd
import pytest
from econml.inference import EmpiricalInferenceResults, NormalInferenceResults, PopulationSummaryResults

from skcfm import CFMCateEstimator
from skcfm.econml_results import EnsembleSpreadWarning

N = 200


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(N, 3)), columns=["age", "income", "score"])
    T = pd.Series((rng.random(N) < 1 / (1 + np.exp(-X["age"]))).astype(int), name="treated")
    Y = pd.Series(X["age"] + 2.0 * T + rng.normal(size=N), name="outcome")
    return X, T, Y


def _fit(model, X, T, Y, **params):
    return CFMCateEstimator(**{"model": model, "n_estimators": 4, "final_stage": "cfm", "random_state": 0, **params})\
        .fit(X, T, Y)


@pytest.fixture(scope="module")
def binary_est(tiny_model, data):
    return _fit(tiny_model, *data)


def test_effect_inference_is_the_ensemble_as_an_empirical_distribution(binary_est, data):
    X = data[0].iloc[:6]
    result = binary_est.effect_inference(X)
    assert isinstance(result, EmpiricalInferenceResults)
    members = binary_est._member_effects(X, 0, 1)
    np.testing.assert_allclose(result.point_estimate, binary_est.effect(X))
    # the members' sample standard deviation, as in the population summaries (small ensembles)
    np.testing.assert_allclose(result.stderr, members.std(axis=0, ddof=1))
    np.testing.assert_allclose(result.stderr, binary_est.const_marginal_ate_inference(X).pred_stderr.ravel())
    for got, want in zip(result.conf_int(alpha=0.1), binary_est.effect_interval(X, alpha=0.1), strict=True):
        np.testing.assert_allclose(got, want)
    frame = result.summary_frame()
    assert list(frame.columns[:2]) == ["point_estimate", "stderr"] and len(frame) == 6
    # the members' spread is no sampling distribution: no test statistics
    assert frame["zstat"].isna().all() and frame["pvalue"].isna().all()


def test_ensemble_intervals_warn_that_they_are_not_confidence_intervals(tiny_model, data):
    est = _fit(tiny_model, *data)
    message = "per-row intervals .* spread of 4 members.*final_stage='causal_forest'"
    for method in (est.effect_interval, est.effect_inference, est.const_marginal_effect_interval):
        with pytest.warns(EnsembleSpreadWarning, match=message) as record:
            method(data[0].iloc[:3])
        assert {warning.filename for warning in record} == {__file__}  # points at the caller, not inside skcfm
    # the population summary of the members: no test statistics either
    with pytest.warns(EnsembleSpreadWarning, match="ATE intervals .* spread of 4 members.*doubly robust"):
        summary = est.const_marginal_ate_inference(data[0])
    assert np.isnan(summary.zstat()) and np.isnan(summary.pvalue()) and summary.stderr_mean > 0
    assert "Uncertainty of Mean Point Estimate" in str(summary)
    with pytest.warns(EnsembleSpreadWarning):  # the per-row results' own summary is the same
        rows = est.effect_inference(data[0]).population_summary()
    assert np.isclose(rows.mean_point, summary.mean_point) and np.isclose(rows.stderr_mean, summary.stderr_mean)
    assert np.isnan(rows.pvalue())
    # the interval of the same mean warns the same way, from ate_interval (without doubly robust
    # inference, as for a continuous treatment) and the marginal methods
    ensemble = CFMCateEstimator(model=tiny_model, n_estimators=4, final_stage="cfm", random_state=0)\
        .fit(*data, inference="ensemble")
    for method in (lambda: ensemble.ate_interval(data[0]), lambda: est.const_marginal_ate_interval(data[0])):
        with pytest.warns(EnsembleSpreadWarning, match="ATE intervals .* spread of 4 members") as record:
            lo, hi = method()
        assert {warning.filename for warning in record} == {__file__}
        assert np.ravel(lo)[0] <= summary.mean_point <= np.ravel(hi)[0]


def test_causal_forest_final_stage_gives_normal_per_row_inference(tiny_model, data):
    est = _fit(tiny_model, *data, final_stage="causal_forest")
    X = data[0].iloc[:8]
    result = est.effect_inference(X)
    assert isinstance(result, NormalInferenceResults)
    np.testing.assert_allclose(result.point_estimate, est.effect(X))
    assert np.all(result.stderr > 0)
    lo, hi = est.effect_interval(X, alpha=0.1)
    np.testing.assert_allclose(hi - lo, 2 * 1.6448536 * result.stderr, rtol=1e-6)
    np.testing.assert_allclose(result.conf_int(alpha=0.1), (lo, hi))
    frame = result.summary_frame()
    assert frame["pvalue"].between(0, 1).all() and np.isfinite(frame["zstat"]).all()
    # the true effect is 2 everywhere, with 200 rows the 95% intervals cover it in most rows
    lo95, hi95 = est.effect_interval(data[0])
    assert np.mean((lo95 <= 2) & (2 <= hi95)) > 0.8
    swapped = est.effect_interval(X, T0=1, T1=0, alpha=0.1)
    np.testing.assert_allclose(swapped, (-hi, -lo))
    same = est.effect_inference(X, T0=1, T1=1)  # no contrast: zero effect, zero spread
    assert np.all(same.point_estimate == 0) and np.all(same.stderr == 0)
    np.testing.assert_allclose(est.const_marginal_effect_interval(X, alpha=0.1), (lo, hi))
    np.testing.assert_allclose(est.marginal_effect_inference(None, X).point_estimate, est.effect(X))


def test_ate_inference_carries_the_doubly_robust_estimate_and_interval(binary_est, data):
    X = data[0].iloc[:50]
    result = binary_est.ate_inference(X)
    assert isinstance(result, PopulationSummaryResults)
    assert np.isclose(result.mean_point, binary_est.ate(X))
    # the doubly robust estimate is not the plain mean of the effects the summary describes
    assert not np.isclose(result.mean_point, binary_est.effect(X).mean())
    np.testing.assert_allclose(result.conf_int_mean(alpha=0.1), binary_est.ate_interval(X, alpha=0.1))
    assert result.stderr_mean > 0 and 0 <= result.pvalue() <= 1
    assert "Uncertainty of Mean Point Estimate" in str(result)
    np.testing.assert_allclose(result.pred_stderr, binary_est.effect_inference(X).stderr)
    population = binary_est.ate_inference()  # X None: the population ATE on the training rows
    assert np.isclose(population.mean_point, binary_est.ate())


def test_ensemble_ate_inference_uses_the_spread_of_the_members_means(tiny_model, data):
    X, T, Y = data
    ensemble = CFMCateEstimator(model=tiny_model, n_estimators=4, final_stage="cfm", random_state=0)\
        .fit(X, T, Y, inference="ensemble")
    member_ates = ensemble._member_effects(X.iloc[:40], 0, 1).mean(axis=1)
    result = ensemble.ate_inference(X.iloc[:40])
    assert np.isclose(result.mean_point, member_ates.mean())
    assert np.isclose(result.stderr_mean, member_ates.std(ddof=1))
    lo, hi = ensemble.ate_interval(X.iloc[:40])  # the members' quantiles, where the summary's interval is normal
    np.testing.assert_allclose([lo, hi], np.quantile(member_ates, [0.025, 0.975]))


def test_marginal_inference_for_a_multivalued_treatment_has_a_column_per_level(tiny_model, data):
    X, _, Y = data
    T = pd.Series(np.random.default_rng(1).choice(["a", "b", "c"], N), name="arm")
    est = _fit(tiny_model, X, T, Y)
    result = est.const_marginal_effect_inference(X.iloc[:5])
    np.testing.assert_allclose(result.point_estimate, est.const_marginal_effect(X.iloc[:5]))
    assert result.point_estimate.shape == (5, 2)
    assert list(result.summary_frame().index.get_level_values("T").unique()) == ["arm_b", "arm_c"]
    summary = est.const_marginal_ate_inference(X.iloc[:30])
    np.testing.assert_allclose(summary.mean_point, est.const_marginal_ate(X.iloc[:30]))
    lo, hi = est.const_marginal_ate_interval(X.iloc[:30])
    assert lo.shape == (2,) and np.all(lo <= hi)


def test_marginal_inference_for_a_continuous_treatment(tiny_model, data):
    X, _, _ = data
    rng = np.random.default_rng(2)
    T = X["age"].to_numpy() + rng.normal(size=N)
    Y = np.sin(T) + rng.normal(scale=0.1, size=N)
    est = _fit(tiny_model, X, T, Y)
    t = np.zeros(8)
    result = est.marginal_effect_inference(t, X.iloc[:8])
    np.testing.assert_allclose(result.point_estimate, est.marginal_effect(t, X.iloc[:8]))
    lo, hi = est.marginal_effect_interval(t, X.iloc[:8])
    assert np.all(lo <= result.point_estimate) and np.all(result.point_estimate <= hi)
    assert np.isclose(est.marginal_ate_inference(t, X.iloc[:8]).mean_point, est.marginal_ate(t, X.iloc[:8]))
    lo, hi = est.marginal_ate_interval(t, X.iloc[:8])
    assert lo <= est.marginal_ate(t, X.iloc[:8]) <= hi
    with pytest.raises(ValueError, match="const_marginal_effect_inference needs a discrete treatment"):
        est.const_marginal_effect_inference(X.iloc[:3])


def test_ensemble_intervals_refuse_a_single_final_stage_model(tiny_model, data):
    est = _fit(tiny_model, *data, final_stage="dr")
    X = data[0].iloc[:5]
    for method in (lambda: est.effect_inference(X), lambda: est.effect_interval(X)):
        with pytest.raises(ValueError, match="not available with final_stage='dr'.*final_stage='causal_forest'"):
            method()
    assert np.isclose(est.ate_inference(X).mean_point, est.ate(X))  # the doubly robust summary still works
    lo, hi = est.ate_interval(X)
    assert np.allclose(est.ate_interval(X, T0=1, T1=0), (-hi, -lo))  # swapped arms: the same interval, negated


@pytest.mark.parametrize("alpha", [0, 1, 1.5])
def test_intervals_reject_alpha_outside_the_unit_interval(binary_est, data, alpha):
    X = data[0].iloc[:3]
    for method in (binary_est.effect_interval, binary_est.ate_interval, binary_est.const_marginal_effect_interval):
        with pytest.raises(ValueError, match="alpha must be a number in"):
            method(X, alpha=alpha)


def test_x_with_other_or_reordered_columns_is_refused(binary_est, data):
    X = data[0].iloc[:4]
    with pytest.raises(ValueError, match=r"missing \['score'\], unexpected \['grade'\]"):
        binary_est.effect(X.rename(columns={"score": "grade"}))
    with pytest.raises(ValueError, match="in another order"):
        binary_est.effect(X[["score", "age", "income"]])
    np.testing.assert_allclose(binary_est.effect(X.to_numpy()), binary_est.effect(X))  # arrays are positional


def test_frames_are_positional_when_fit_saw_an_array(tiny_model, data):
    X, T, Y = data
    est = _fit(tiny_model, X.to_numpy(), T.to_numpy(), Y.to_numpy())
    renamed = X.iloc[:4].set_axis(["a", "b", "c"], axis=1)
    np.testing.assert_allclose(est.effect(renamed), est.effect(X.iloc[:4].to_numpy()))


def test_repeated_queries_reuse_the_models_answer(tiny_model, data, monkeypatch):
    import skcfm.fitted_contexts

    X, T, Y = data
    est = _fit(tiny_model, X, T, Y)
    calls = []
    original = skcfm.fitted_contexts.predict_with_plan
    monkeypatch.setattr(skcfm.fitted_contexts, "predict_with_plan",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    rows = X.iloc[:20]
    first = est.effect(rows)
    est.effect_interval(rows)
    est.effect_inference(rows)
    np.testing.assert_array_equal(est.effect(rows), first)
    assert len(calls) == 1
    other = rows.assign(age=rows["age"] + 1.0)
    assert not np.allclose(est.effect(other), first) and len(calls) == 2  # other values: a new pass
    est.effect(rows, T0=1, T1=0)
    assert len(calls) == 3  # other arms too
