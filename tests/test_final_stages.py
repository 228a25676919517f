"""Tests for skcfm.final_stages and CFMCateEstimator(final_stage="causal_forest" / "auto")."""

import numpy as np
import pytest
from sklearn.base import clone

from skcfm import CFMCateEstimator
from skcfm.aipw import aipw_scores
from skcfm.final_stages import (
    STACKED,
    auto_candidates,
    choose_final_stage,
    dr_losses,
    paired_z,
    stacking_weights,
)


def _nuisances(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    e = np.full(n, 0.5)
    T = (rng.random(n) < e).astype(float)
    tau = 2 * x
    mu0 = x
    Y = mu0 + tau * T + 0.3 * rng.normal(size=n)
    return T, Y, e, mu0, tau


def test_aipw_scores_average_to_the_effect():
    T, Y, e, mu0, tau = _nuisances(20_000)
    phi = aipw_scores(Y, T, mu0, mu0 + tau, e)
    assert abs((phi - tau).mean()) < 0.02
    # with wrong outcome models and the right propensity they still do
    wrong = aipw_scores(Y, T, np.zeros_like(Y), np.zeros_like(Y), e)
    assert abs((wrong - tau).mean()) < 0.05


def test_dr_loss_ranks_effects_by_their_error():
    T, Y, e, mu0, tau = _nuisances(5000)
    losses = [dr_losses(T, Y, e, mu0, mu0 + tau, tau + shift).mean() for shift in (0.0, 0.5, 1.0)]
    assert losses[0] < losses[1] < losses[2]


def test_the_stack_weighs_the_candidate_that_fits_best():
    T, Y, e, mu0, tau = _nuisances()
    # the CFM's effect is 0 everywhere, the forest's is the true one
    choice = choose_final_stage(T, Y, e, mu0 + tau / 2, mu0 + tau / 2, {"causal_forest": tau})
    assert choice.chosen == "stack" and choice.weights["causal_forest"] > 0.9
    assert choice.dr_loss["stack"] <= choice.dr_loss["causal_forest"] < choice.dr_loss["cfm"]
    assert choice.z["causal_forest"] < 0 and sum(choice.weights.values()) == pytest.approx(1)
    # one that errs the other way gets no weight; the losses and z of all are recorded
    alternatives = {"causal_forest": 0.7 * tau, "dr": tau, "worse": -tau}
    choice = choose_final_stage(T, Y, e, mu0 + tau / 2, mu0 + tau / 2, alternatives)
    assert choice.weights["worse"] == 0 and choice.weights["dr"] > 0.5
    assert choice.dr_loss["dr"] < choice.dr_loss["causal_forest"] < choice.dr_loss["cfm"] < choice.dr_loss["worse"]
    assert max(choice.z["dr"], choice.z["causal_forest"]) < 0 < choice.z["worse"]
    assert set(choice.dr_loss) == {"cfm", "stack", *alternatives}


def test_stacking_weights_are_convex_and_recover_a_mixture():
    rng = np.random.default_rng(0)
    effects = rng.normal(size=(2000, 3))
    effects[:, 2] = -effects[:, 1]  # errs the other way: no weight
    scores = effects @ np.array([0.2, 0.8, 0.0]) + 0.1 * rng.normal(size=2000)
    weights = stacking_weights(effects, scores)
    np.testing.assert_allclose(weights, [0.2, 0.8, 0.0], atol=0.02)
    assert weights[2] == 0 and weights.sum() == pytest.approx(1) and np.all(weights >= 0)
    # where one candidate is the scores' own, it takes all the weight
    np.testing.assert_allclose(stacking_weights(effects, effects[:, 1]), [0, 1, 0], atol=1e-6)


def test_poor_overlap_takes_the_t_learner_blend_whatever_the_losses():
    T, Y, e, mu0, tau = _nuisances()
    alternatives = {"dr": tau, "blend_tl": -tau}
    assert choose_final_stage(T, Y, e, mu0 + tau / 2, mu0 + tau / 2, alternatives).chosen == "stack"
    at_bound = np.where(np.arange(len(T)) % 3 == 0, 0.5, np.where(T == 1, 0.99, 0.01))  # two thirds at the bound
    choice = choose_final_stage(T, Y, at_bound, mu0 + tau / 2, mu0 + tau / 2, alternatives)
    assert choice.chosen == "blend_tl" and choice.clipped_share == pytest.approx(2 / 3, abs=0.01)
    assert choice.dr_loss["dr"] < choice.dr_loss["blend_tl"] and choice.weights == {}  # losses recorded, no stack
    # without the blend among the alternatives the stack decides
    assert choose_final_stage(T, Y, at_bound, mu0 + tau / 2, mu0 + tau / 2, {"dr": tau}).chosen == "stack"


def test_auto_scores_only_the_blend_where_most_rows_sit_at_the_clip_bound():
    inside = np.full(10, 0.3)
    assert auto_candidates(inside) == STACKED[1:]
    assert auto_candidates(np.r_[np.full(6, 0.01), np.full(4, 0.3)]) == ("blend_tl",)
    assert auto_candidates(np.r_[np.full(5, 0.99), np.full(5, 0.3)]) == STACKED[1:]  # half is not past it


def test_paired_z_sees_no_evidence_in_float_rounding():
    rng = np.random.default_rng(0)
    mu0, effects = rng.normal(size=300), rng.normal(size=300)
    # (mu0 + effects) - mu0 differs from effects only by rounding
    baseline, losses = ((mu0 + effects) - mu0) ** 2, effects ** 2
    assert np.any(baseline != losses) and paired_z(losses, baseline) == 0.0
    assert paired_z(losses + 0.1 * rng.random(300), baseline) > 3


def _heterogeneous(n=500, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 1 / (1 + np.exp(-X[:, 1]))).astype(int)
    tau = 1 + 2 * (X[:, 0] > 0)
    return X, T, X[:, 1] + tau * T + 0.5 * rng.normal(size=n)


def test_causal_forest_stage_recovers_heterogeneity_with_an_untrained_model(tiny_model):
    X, T, Y = _heterogeneous()
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="causal_forest", random_state=0)
    est.fit(X, T, Y)
    assert est.final_stage_ == "causal_forest" and est.final_stage_choice_ is None
    low, high = est.effect(np.array([[-1.5, 0.0, 0.0], [1.5, 0.0, 0.0]]))
    assert abs(low - 1) < 0.8 and abs(high - 3) < 0.8
    # the same seed gives the same numbers, bit for bit (EconML's parallel predict did not)
    assert np.array_equal(est.effect(X), est.effect(X))
    assert np.array_equal(est.effect(X), clone(est).fit(X, T, Y).effect(X))
    # the sign follows the direction of the contrast
    np.testing.assert_allclose(est.effect(X[:5], T0=1, T1=0), -est.effect(X[:5]))
    # per-row confidence intervals from the forest (bootstrap of little bags) cover the two true effects
    lo, hi = est.effect_interval(np.array([[-1.5, 0.0, 0.0], [1.5, 0.0, 0.0]]))
    assert np.all(lo < [1, 3]) and np.all(np.array([1, 3]) < hi) and np.all(hi - lo < 2)


def test_auto_weighs_an_untrained_model_down(tiny_model):
    X, T, Y = _heterogeneous()
    auto = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="auto", random_state=0).fit(X, T, Y)
    choice = auto.final_stage_choice_
    # the forests beat an untrained model; how they share the rest is close here, so it is not pinned
    assert auto.final_stage_ == "stack" and choice.weights["cfm"] < 0.2
    assert choice.dr_loss["stack"] == min(choice.dr_loss.values())
    stacked = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="stack", random_state=0)
    np.testing.assert_allclose(auto.effect(X[:20]), stacked.fit(X, T, Y).effect(X[:20]))


def test_the_stack_reports_the_weighted_effects_of_its_candidates(tiny_model):
    X, T, Y = _heterogeneous(300)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="stack", random_state=0).fit(X, T, Y)
    weights = est.final_stage_choice_.weights
    assert set(weights) == set(STACKED) and est.final_stage_ == "stack"
    stages = est._final_stage
    cfm = est._member_effects(X[:20], 0, 1, cfm_only=True)  # (members, rows)
    others = sum(w * stages.stage_effects(name, X[:20]) for name, w in weights.items() if name != "cfm")
    np.testing.assert_allclose(est._member_effects(X[:20], 0, 1), weights["cfm"] * cfm + others)
    scale = np.abs(others).max()
    np.testing.assert_allclose(est.effect(X[:5], T0=1, T1=0), -est.effect(X[:5]), rtol=1e-5, atol=1e-6 * scale)
    with pytest.raises(ValueError, match="final_stage='stack'"):
        est.effect_interval(X[:5])


def test_the_stack_can_let_a_summary_stand_for_the_cfm_on_new_rows(tiny_model, monkeypatch):
    X, T, Y = _heterogeneous(300)
    params = dict(model=tiny_model, n_estimators=2, final_stage="stack", random_state=0)
    members = CFMCateEstimator(**params).fit(X, T, Y)
    summary = CFMCateEstimator(**params, inference_config={"stacked_cfm": "summary"}).fit(X, T, Y)
    weights = members.final_stage_choice_.weights
    assert summary.final_stage_choice_.weights == weights  # the same stack, scored on the CFM's own effects
    assert weights["cfm"] > 0
    assert summary._final_stage.weights_ == {
        ("cfm_summary" if name == "cfm" else name): w for name, w in weights.items() if w > 0}
    stages = summary._final_stage
    want = sum(w * stages.stage_effects(name, X[:20]) for name, w in stages.weights_.items())

    def refuse(*args, **kwargs):
        raise AssertionError("the ensemble ran although a summary stands for it")

    monkeypatch.setattr(summary, "_member_means", refuse)
    np.testing.assert_allclose(summary.effect(X[:20]), want, rtol=1e-12)
    np.testing.assert_allclose(summary.effect(X[:5], T0=1, T1=0), -summary.effect(X[:5]), rtol=1e-12)
    # the doubly robust ATE over new rows reads the summary too, so it runs no member either
    assert summary.ate_result().weights[1] > 0
    lo, hi = summary.ate_interval(X[:40])
    assert lo < summary.ate(X[:40]) < hi
    assert abs(summary.ate(X[:40]) - members.ate(X[:40])) < hi - lo


def test_the_stack_summarises_the_cfm_where_its_contexts_outgrow_the_encoding_cache(tiny_model, monkeypatch):
    import skcfm.contexts

    X, T, Y = _heterogeneous(300)
    params = dict(model=tiny_model, n_estimators=2, final_stage="stack", random_state=0)
    assert "cfm_summary" not in CFMCateEstimator(**params).fit(X, T, Y)._final_stage.weights_
    monkeypatch.setattr(skcfm.contexts, "CACHE_BYTES", 0)
    large = CFMCateEstimator(**params).fit(X, T, Y)
    assert large._contexts.encodings is None and large.final_stage_choice_.weights["cfm"] > 0
    assert "cfm" not in large._final_stage.weights_ and "cfm_summary" in large._final_stage.weights_
    with pytest.raises(ValueError, match="stacked_cfm='all'; expected 'auto', 'members' or 'summary'"):
        CFMCateEstimator(**params, inference_config={"stacked_cfm": "all"}).fit(X, T, Y)


def test_final_stages_need_a_binary_treatment(tiny_model):
    rng = np.random.default_rng(0)
    X, T, Y = rng.normal(size=(60, 2)), rng.normal(size=60), rng.normal(size=60)
    for stage in ("causal_forest", "dr", "blend_tl", "cfm_summary", "stack"):
        with pytest.raises(ValueError, match=f"final_stage='{stage}' needs a binary treatment"):
            CFMCateEstimator(model=tiny_model, final_stage=stage).fit(X, T, Y)
    # "auto" is the default: for a continuous treatment it is the CFM
    assert CFMCateEstimator(model=tiny_model, n_estimators=1, final_stage="auto").fit(X, T, Y).final_stage_ == "cfm"


def test_auto_scores_a_final_model_without_out_of_bag_predictions_by_cross_fitting(tiny_model):
    from sklearn.linear_model import LinearRegression

    X, T, Y = _heterogeneous(300)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="auto", model_final=LinearRegression(),
                           random_state=0).fit(X, T, Y)
    held_out = est._final_stage.out_of_sample_effects("dr", X, est.T_, est.Y_, est._doubly_robust)
    in_sample = est._final_stage.models_["dr"].predict(X)
    assert held_out.shape == (300,) and not np.allclose(held_out, in_sample)
    assert set(est.final_stage_choice_.z) == {"causal_forest", "dr", "stack"}
    assert est.final_stage_ == "stack"


@pytest.mark.parametrize("blend, other", [("blend_dr", "dr"), ("blend_tl", None)])
def test_a_blend_is_the_mean_of_the_cfm_and_its_other_half(tiny_model, blend, other):
    X, T, Y = _heterogeneous(300)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage=blend, random_state=0).fit(X, T, Y)
    cfm = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="cfm", random_state=0).fit(X, T, Y)\
        .effect(X[:20])
    if other is None:  # the T-learner: a forest per arm with leaves of 1 % of all rows
        forests = est._final_stage.models_["tl"]
        assert [forest.min_samples_leaf for forest in forests.forests_] == [3, 3]
        half = np.diff(forests.transform(X[:20]), axis=1).ravel()
    else:
        half = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage=other, random_state=0)\
            .fit(X, T, Y).effect(X[:20])
    # the model computes in float32: compare at its precision, not numpy's default rtol=1e-7
    scale = np.abs(cfm).max()
    np.testing.assert_allclose(est.effect(X[:20]), (cfm + half) / 2, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(est.effect(X[:5], T0=1, T1=0), -est.effect(X[:5]), rtol=1e-5, atol=1e-6 * scale)
    with pytest.raises(ValueError, match=f"final_stage='{blend}'"):
        est.effect_interval(X[:5])


def test_t_learner_effects_on_the_training_rows_are_out_of_bag_for_their_own_arm(tiny_model):
    X, T, Y = _heterogeneous(300)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="blend_tl", random_state=0).fit(X, T, Y)
    held_out = est._final_stage.out_of_sample_effects("tl", X, est.T_, est.Y_, est._doubly_robust)
    in_sample = np.diff(est._final_stage.models_["tl"].transform(X), axis=1).ravel()
    assert held_out.shape == (300,) and not np.allclose(held_out, in_sample)
    # the T-learner finds the step in the effect at x0 = 0 (1 below, 3 above)
    assert in_sample[X[:, 0] > 0.5].mean() - in_sample[X[:, 0] < -0.5].mean() > 1


def test_auto_weighs_the_out_of_sample_effects_of_every_candidate(tiny_model):
    X, T, Y = _heterogeneous(300)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="auto", random_state=0).fit(X, T, Y)
    choice = est.final_stage_choice_
    assert set(choice.dr_loss) == {"cfm", "causal_forest", "dr", "stack"}
    e, _, (mu0, mu1) = est._nuisances(with_standard=False)
    held_out = {name: est._final_stage.out_of_sample_effects(name, X, est.T_, est.Y_, est._doubly_robust)
                for name in STACKED[1:]}
    stacked = choice.weights["cfm"] * (mu1 - mu0) + sum(choice.weights[name] * held_out[name] for name in held_out)
    assert choice.dr_loss["stack"] == pytest.approx(dr_losses(T, Y, e, mu0, mu1, stacked).mean())


def test_auto_takes_the_t_learner_blend_where_the_arms_barely_overlap(tiny_model):
    from skcfm.nuisances import OverlapWarning

    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 3))
    X[:, 0] = np.sign(X[:, 0]) * rng.uniform(0.5, 3.0, size=600)  # the arms part at x0 = 0, with a gap
    T = (X[:, 0] > 0).astype(int)
    Y = X[:, 1] + (1 + X[:, 0] / 5) * T + 0.5 * rng.normal(size=600)
    with pytest.warns(OverlapWarning, match="clip bound"):
        est = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="auto", random_state=0).fit(X, T, Y)
    choice = est.final_stage_choice_
    assert choice.clipped_share > 0.5 and est.final_stage_ == "blend_tl"
    # the other candidates are neither fitted nor scored: their losses would not count
    assert set(choice.dr_loss) == {"cfm", "blend_tl"} and set(est._final_stage.models_) == {"tl"}
    e, _, (mu0, mu1) = est._nuisances(with_standard=False)
    dr_effects = est._final_stage.out_of_sample_effects("dr", X, est.T_, est.Y_, est._doubly_robust)
    dr_loss = dr_losses(T, Y, e, mu0, mu1, dr_effects).mean()
    assert dr_loss < choice.dr_loss["blend_tl"]  # the gate, not the loss, chose the blend
    assert est.summary().iloc[0]["share_at_clip_bound"] == pytest.approx(choice.clipped_share)
