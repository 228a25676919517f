"""DoWhy route: method name, PAM from the graph by name, refuters, clear errors."""

import copy

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel

import skcfm.cate
from skcfm.dowhy import CFMCateEstimator, CFMDoWhyWrapper, dowhy_method_name

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
    return {"init_params": {"model": tiny_model, "n_estimators": 2, "random_state": 0}, "fit_params": {}}


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
    return pd.DataFrame(inner.pam_[:len(labels), :len(labels)], index=labels, columns=labels)  # less the arm columns


def test_dowhy_method_name_is_the_documented_string():
    assert dowhy_method_name() == "backdoor.skcfm.dowhy.CFMCateEstimator"


def test_estimate_effect_through_method_name_is_finite(estimate):
    assert isinstance(estimate.estimator, CFMCateEstimator)
    assert isinstance(estimate.estimator.estimator, skcfm.cate.CFMCateEstimator)
    assert np.isfinite(estimate.value)


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


def test_confidence_intervals_are_the_ensemble_spread(causal_model, estimand, method_params, lalonde):
    estimate = causal_model.estimate_effect(
        estimand, method_name=dowhy_method_name(), method_params=copy.deepcopy(method_params),
        confidence_intervals=True,
    )
    lower, upper = np.asarray(estimate.get_confidence_intervals()).reshape(2, len(lalonde))
    assert np.all(lower <= upper) and np.isfinite(lower).all()


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
        method_params={"init_params": {"model": tiny_model, "n_estimators": 2, "random_state": 0}},
    )
    pam = fitted_pam(estimate.estimator)
    assert list(pam.index) == ["t", "y", "x", "race_b", "race_c"]
    assert list(pam.loc["race_b"]) == [1, 1, 0, 0, 0]
    assert list(pam.loc["race_c"]) == [1, 1, 0, 0, 0]


def test_graph_can_be_passed_outside_a_causal_model(estimand, lalonde, method_params):
    estimator = CFMCateEstimator(estimand, init_params=method_params["init_params"], graph=LALONDE_DOT)
    estimator.fit(lalonde, effect_modifier_names=[])
    assert np.isfinite(estimator.estimate_effect(lalonde).value)
    with pytest.raises(ValueError, match="no causal graph"):
        CFMCateEstimator(estimand, init_params=method_params["init_params"])


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
    with pytest.raises(error, match=match):
        causal_model.estimate_effect(estimand, method_name=dowhy_method_name(), method_params=params)


def test_dowhy_wrapper_estimates_and_refutes(tiny_model):
    rng = np.random.default_rng(3)
    X, W = rng.normal(size=(150, 2)), rng.normal(size=(150, 1))
    T = (rng.random(150) < 1 / (1 + np.exp(-W[:, 0]))).astype(int)
    Y = X[:, 0] + W[:, 0] + EFFECT * T + rng.normal(size=150)
    est = skcfm.cate.CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0)
    wrapper = CFMDoWhyWrapper(est).fit(Y, T, X=X, W=W)
    assert np.isfinite(wrapper.estimate_.value)
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
