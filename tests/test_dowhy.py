"""DoWhy route: method name, the estimate is the estimator's ATE and interval, PAM from the graph by
name, refuters, clear errors."""

import copy

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel

import skcfm.cate
from skcfm.dowhy import CFMCateEstimator, CFMDoWhyWrapper, dowhy_method_name
from skcfm.dowhy_wrapper import METHOD_NAME

COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]
LALONDE_DOT = "digraph {" + " ".join(f"{c} -> treat; {c} -> re78;" for c in COVARIATES) + " treat -> re78; }"
EFFECT = 1.5


@pytest.fixture(scope="module")
def lalonde():
    """LaLonde-shaped data: covariates confound treat -> re78, whose effect is EFFECT."""
    rng = np.random.default_rng(0)
    n = 240
    df = pd.DataFrame(rng.normal(size=(n, len(COVARIATES))), columns=COVARIATES)
    for column in ("black", "hisp", "married", "nodegr"):
        df[column] = (df[column] > 0).astype(int)
    df["treat"] = (rng.random(n) < 1 / (1 + np.exp(-df["age"] + df["re75"]))).astype(int)
    df["re78"] = df["age"] + df["re75"] - df["nodegr"] + EFFECT * df["treat"] + rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def causal_model(lalonde):
    return CausalModel(data=lalonde, treatment="treat", outcome="re78", graph=LALONDE_DOT)


@pytest.fixture(scope="module")
def estimand(causal_model):
    return causal_model.identify_effect(proceed_when_unidentifiable=True)


@pytest.fixture(scope="module")
def method_params(tiny_model):
    return {"graph": LALONDE_DOT, "init_params": {"model": tiny_model, "n_estimators": 2, "random_state": 0},
            "fit_params": {}}


@pytest.fixture(scope="module")
def estimate(causal_model, estimand, method_params):
    return causal_model.estimate_effect(
        estimand, method_name="backdoor.skcfm.dowhy.CFMCateEstimator", method_params=copy.deepcopy(method_params)
    )


def expected_pam(treatment="treat", outcome="re78", covariates=COVARIATES, in_graph=COVARIATES):
    """The LaLonde graph's PAM with unknown="covariates", labelled."""
    labels = [treatment, outcome, *covariates]
    pam = pd.DataFrame(0, index=labels, columns=labels)
    graph_nodes = [treatment, outcome, *in_graph]
    pam.loc[graph_nodes, graph_nodes] = -1
    pam.loc[in_graph, in_graph] = 0
    pam.loc[in_graph, [treatment, outcome]] = 1
    pam.loc[treatment, outcome] = 1
    for label in labels:
        pam.loc[label, label] = 0
    return pam


def fitted_pam(estimator) -> pd.DataFrame:
    """The wrapped estimator's pam_ labelled by the names it was fitted with."""
    inner = estimator.estimator
    x_names = list(inner.feature_names_in_)
    w_names = [c for c in estimator._observed_common_causes.columns if c not in x_names]
    labels = [inner.treatment_name_, inner.outcome_name_, *x_names, *w_names]
    return inner.pam_.loc[labels, labels]  # less the arm columns


def test_dowhy_method_name_is_the_documented_string():
    assert dowhy_method_name() == "backdoor.skcfm.dowhy.CFMCateEstimator"
    assert dowhy_method_name() == METHOD_NAME  # the wrapper names the method without importing skcfm.dowhy


def test_estimate_effect_through_method_name_is_finite(estimate):
    assert isinstance(estimate.estimator, CFMCateEstimator)
    assert isinstance(estimate.estimator.estimator, skcfm.cate.CFMCateEstimator)
    assert np.isfinite(estimate.value)


def test_value_is_the_estimators_doubly_robust_ate(estimate):
    inner = estimate.estimator.estimator
    assert inner.inference_ == "haipw"  # binary treatment: ate() is the hybrid AIPW estimate
    assert estimate.value == pytest.approx(inner.ate(), abs=1e-12, rel=0)
    assert estimate.value == pytest.approx(inner.ate(T0=0, T1=1), abs=1e-12, rel=0)
    assert estimate.value != pytest.approx(estimate.cate_estimates.mean(), abs=1e-6)  # not the plain mean


def test_cate_estimates_are_the_per_row_effects(estimate, lalonde):
    inner = estimate.estimator.estimator
    assert estimate.cate_estimates.shape == (len(lalonde), 1)
    np.testing.assert_allclose(estimate.cate_estimates[:, 0], inner.effect(), rtol=0, atol=1e-12)


def test_confidence_interval_is_the_ate_interval(causal_model, estimand, method_params):
    estimate = causal_model.estimate_effect(
        estimand, method_name=dowhy_method_name(), method_params=copy.deepcopy(method_params),
        confidence_intervals=True,
    )
    inner = estimate.estimator.estimator
    np.testing.assert_allclose(estimate.get_confidence_intervals(), inner.ate_interval(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(estimate.get_confidence_intervals(confidence_level=0.9),
                               inner.ate_interval(alpha=0.1), rtol=0, atol=1e-12)
    assert estimate.get_standard_error() == pytest.approx(inner.ate_result().stderr, abs=1e-12)
    assert "95.0% confidence interval" in str(estimate)


def test_interval_needs_no_flag_at_estimation(estimate):
    np.testing.assert_allclose(estimate.get_confidence_intervals(), estimate.estimator.estimator.ate_interval(),
                               rtol=0, atol=1e-12)


def test_att_averages_over_the_treated_rows(causal_model, estimand, method_params, lalonde):
    estimate = causal_model.estimate_effect(
        estimand, method_name=dowhy_method_name(), method_params=copy.deepcopy(method_params), target_units="att",
    )
    inner = estimate.estimator.estimator
    treated = lalonde.loc[lalonde["treat"] == 1, COVARIATES]
    assert estimate.value == pytest.approx(inner.ate(treated), abs=1e-12, rel=0)
    assert estimate.cate_estimates.shape == (len(treated), 1)


def test_pam_is_built_from_the_graph_by_name(estimate):
    pam = fitted_pam(estimate.estimator)
    assert list(pam.index[2:]) == COVARIATES  # the data's column order, not DoWhy's set order
    pd.testing.assert_frame_equal(pam, expected_pam().loc[pam.index, pam.columns], check_dtype=False)


def test_refit_marks_a_random_common_cause_unknown(estimate, estimand, lalonde):
    new_estimand = copy.deepcopy(estimand)
    new_estimand.set_adjustment_set(estimand.get_adjustment_set() + ["w_random"])
    data = lalonde.assign(w_random=np.random.default_rng(1).normal(size=len(lalonde)))
    estimator = estimate.estimator.get_new_estimator_object(new_estimand)
    estimator.fit(data, effect_modifier_names=[])
    pam = fitted_pam(estimator)
    expected = expected_pam(covariates=[*COVARIATES, "w_random"])
    pd.testing.assert_frame_equal(pam, expected.loc[pam.index, pam.columns], check_dtype=False)


def test_refit_leaves_a_placebo_treatment_unknown(estimate, estimand, lalonde):
    new_estimand = copy.deepcopy(estimand)
    new_estimand.treatment_variable = ["placebo"]
    data = lalonde.assign(placebo=np.random.default_rng(1).permutation(lalonde["treat"].to_numpy()))
    estimator = estimate.estimator.get_new_estimator_object(new_estimand)
    estimator.fit(data, effect_modifier_names=[])
    pam = fitted_pam(estimator)
    assert (pam.loc["placebo"] == 0).all() and (pam["placebo"] == 0).all()
    assert (pam.loc[COVARIATES, "re78"] == 1).all()


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # DoWhy's z-score of 2 simulations
@pytest.mark.parametrize(
    "refuter, options",
    [
        ("placebo_treatment_refuter", {"placebo_type": "permute"}),
        ("random_common_cause", {}),
        ("data_subset_refuter", {"subset_fraction": 0.8}),
    ],
)
def test_refuters_run_on_the_estimate(causal_model, estimand, estimate, refuter, options):
    result = causal_model.refute_estimate(
        estimand, estimate, method_name=refuter, num_simulations=2, random_state=0, **options
    )
    assert np.isfinite(result.new_effect)


def test_same_seed_gives_the_same_estimate(causal_model, estimand, method_params, estimate):
    again = causal_model.estimate_effect(
        estimand, method_name=dowhy_method_name(), method_params=copy.deepcopy(method_params)
    )
    assert again.value == estimate.value


def test_graph_may_be_the_causal_model(causal_model, estimand, method_params, estimate):
    params = {**copy.deepcopy(method_params), "graph": causal_model}
    again = causal_model.estimate_effect(estimand, method_name=dowhy_method_name(), method_params=params)
    pd.testing.assert_frame_equal(fitted_pam(again.estimator), fitted_pam(estimate.estimator))
    assert again.value == estimate.value


def test_effect_modifiers_are_x_and_other_common_causes_w(causal_model, estimand, method_params):
    estimate = causal_model.estimate_effect(
        estimand, method_name=dowhy_method_name(), method_params=copy.deepcopy(method_params),
        effect_modifiers=["age"],
    )
    assert list(estimate.estimator.estimator.feature_names_in_) == ["age"]
    assert np.isfinite(estimate.value)
    pam = fitted_pam(estimate.estimator)
    pd.testing.assert_frame_equal(pam, expected_pam().loc[pam.index, pam.columns], check_dtype=False)


def test_categorical_dummies_inherit_their_variables_relations(tiny_model):
    rng = np.random.default_rng(2)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "race": rng.choice(["a", "b", "c"], size=n)})
    df["t"] = (rng.random(n) < 0.5).astype(int)
    df["y"] = df["x"] + df["t"] + rng.normal(size=n)
    graph = "digraph { x -> t; x -> y; race -> t; race -> y; t -> y }"
    model = CausalModel(df, treatment="t", outcome="y", graph=graph)
    estimate = model.estimate_effect(
        model.identify_effect(proceed_when_unidentifiable=True), method_name=dowhy_method_name(),
        method_params={"graph": model, "init_params": {"model": tiny_model, "n_estimators": 2, "random_state": 0}},
    )
    pam = fitted_pam(estimate.estimator)
    assert list(pam.index) == ["t", "y", "x", "race_b", "race_c"]
    assert list(pam.loc["race_b"]) == [1, 1, 0, 0, 0]
    assert list(pam.loc["race_c"]) == [1, 1, 0, 0, 0]


def test_estimator_can_be_built_outside_a_causal_model(estimand, lalonde, method_params):
    estimator = CFMCateEstimator(estimand, init_params=method_params["init_params"], graph=LALONDE_DOT)
    estimator.fit(lalonde, effect_modifier_names=[])
    estimate = estimator.estimate_effect(lalonde)
    assert estimate.value == pytest.approx(estimator.estimator.ate(), abs=1e-12, rel=0)
    pam = fitted_pam(estimator)
    pd.testing.assert_frame_equal(pam, expected_pam().loc[pam.index, pam.columns], check_dtype=False)


def test_without_a_graph_the_pam_holds_what_identification_implies(causal_model, estimand, method_params, lalonde):
    params = {k: v for k, v in copy.deepcopy(method_params).items() if k != "graph"}
    with pytest.warns(UserWarning, match="no causal graph in method_params"):
        estimate = causal_model.estimate_effect(estimand, method_name=dowhy_method_name(), method_params=params)
    pam = fitted_pam(estimate.estimator)
    expected = pd.DataFrame(0, index=pam.index, columns=pam.columns)
    expected.loc["treat", "re78"], expected.loc["re78", "treat"] = 1, -1
    expected.loc[["treat", "re78"], COVARIATES] = -1  # a backdoor set holds no descendant of the treatment
    pd.testing.assert_frame_equal(pam, expected, check_dtype=False)

    new_estimand = copy.deepcopy(estimand)  # a refuter's placebo treatment learns nothing
    new_estimand.treatment_variable = ["placebo"]
    data = lalonde.assign(placebo=np.random.default_rng(1).permutation(lalonde["treat"].to_numpy()))
    refit = estimate.estimator.get_new_estimator_object(new_estimand)
    refit.fit(data, effect_modifier_names=[])
    assert (fitted_pam(refit).to_numpy() == 0).all()


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"init_params": {"n_estimator": 2}}, ValueError, r"init_params'\] has unknown keys \['n_estimator'\]"),
        ({"init_params": [("n_estimators", 2)]}, TypeError, r"init_params'\] must be a dict"),
        ({"init_param": {}}, ValueError, r"method_params has unknown keys \['init_param'\]"),
        ({"fit_params": {"ancestors": None}}, ValueError, r"fit_params'\] has unknown keys \['ancestors'\]"),
        ({"init_params": {"n_estimators": 0}}, ValueError, "n_estimators must be a positive integer"),
    ],
)
def test_bad_method_params_get_a_clear_error(causal_model, estimand, tiny_model, params, error, match):
    params = copy.deepcopy(params)
    if isinstance(params.get("init_params"), dict):
        params["init_params"]["model"] = tiny_model
    params["graph"] = LALONDE_DOT
    with pytest.raises(error, match=match):
        causal_model.estimate_effect(estimand, method_name=dowhy_method_name(), method_params=params)


def test_dowhy_wrapper_estimates_and_refutes(tiny_model):
    rng = np.random.default_rng(3)
    X, W = rng.normal(size=(150, 2)), rng.normal(size=(150, 1))
    T = (rng.random(150) < 1 / (1 + np.exp(-W[:, 0]))).astype(int)
    Y = X[:, 0] + W[:, 0] + EFFECT * T + rng.normal(size=150)
    est = skcfm.cate.CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0)
    wrapper = CFMDoWhyWrapper(est).fit(Y, T, X=X, W=W)
    assert wrapper.estimate_.value == pytest.approx(wrapper.estimate_.estimator.estimator.ate(), abs=1e-12, rel=0)
    pam = wrapper.estimate_.estimator.estimator.pam_
    assert (pam.iloc[2:5, :2] == 1).all().all()  # the wrapper's graph: X, W cause T, Y
    assert wrapper.effect(X[:3]).shape == (3,)
    refutation = wrapper.refute_estimate(method_name="random_common_cause", num_simulations=2, random_state=0)
    assert np.isfinite(refutation.new_effect)


def test_estimator_dowhy_property_uses_the_skcfm_wrapper(tiny_model):
    est = skcfm.cate.CFMCateEstimator(model=tiny_model, n_estimators=2)
    assert isinstance(est.dowhy, CFMDoWhyWrapper)


def test_dowhy_wrapper_takes_treatment_labels(tiny_model):
    """Labels reach DoWhy as a categorical column (its placebo refuter draws categories) and
    the estimator as labels: the same estimate as 0/1 coded T with the same level order."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 2))
    T = (rng.random(150) < 0.5).astype(int)
    Y = X[:, 0] + EFFECT * T + rng.normal(size=150)

    def wrapper():
        return CFMDoWhyWrapper(skcfm.cate.CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0))

    labelled = wrapper().fit(Y, np.where(T == 1, "treated", "control"), X=X, control_value="control",
                             treatment_value="treated")
    coded = wrapper().fit(Y, T, X=X)
    assert labelled.estimate_.value == pytest.approx(coded.estimate_.value)
    refutation = labelled.refute_estimate(method_name="placebo_treatment_refuter", num_simulations=2)
    assert np.isfinite(refutation.new_effect)
