"""CFMCateEstimator's intervals come from an EconML ``Inference`` fitted with it (skcfm.cate_inference)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from econml.cate_interpreter import SingleTreeCateInterpreter, SingleTreePolicyInterpreter
from econml.inference import EmpiricalInferenceResults, PopulationSummaryResults
from econml.inference._inference import Inference
from econml.score import RScorer
from sklearn.linear_model import LinearRegression, LogisticRegression

from skcfm import CFMCateEstimator
from skcfm.cate_inference import DoublyRobustInference, EnsembleInference, check_alpha, content_key
from skcfm.econml_results import EnsembleSpreadWarning

N = 150


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(N, 3)), columns=["a", "b", "c"])
    T = pd.Series((rng.random(N) < 1 / (1 + np.exp(-X["a"]))).astype(int), name="treated")
    Y = pd.Series(X["a"] + (1 + X["b"]) * T + rng.normal(size=N), name="outcome")
    return X, T, Y


def _fit(model, X, T, Y, **fit_params):
    return CFMCateEstimator(model=model, n_estimators=4, final_stage="cfm", random_state=0).fit(X, T, Y, **fit_params)


@pytest.fixture(scope="module")
def binary_est(tiny_model, data):
    return _fit(tiny_model, *data)


@pytest.mark.parametrize(("inference", "kind"), [("auto", DoublyRobustInference), (None, DoublyRobustInference),
                                                 ("haipw", DoublyRobustInference), ("aipw", DoublyRobustInference),
                                                 ("ensemble", EnsembleInference)])
def test_fit_chooses_an_econml_inference_per_option(tiny_model, data, inference, kind):
    est = _fit(tiny_model, *data, inference=inference)
    assert isinstance(est._inference, Inference) and type(est._inference) is kind
    assert est._inference._est is est  # it reads the fitted estimator


def test_a_multivalued_treatment_gets_the_ensemble_inference(tiny_model, data):
    X, _, Y = data
    T = np.random.default_rng(4).integers(0, 3, size=N)
    est = _fit(tiny_model, X, T, Y)
    assert type(est._inference) is EnsembleInference
    with pytest.warns(EnsembleSpreadWarning):
        frame = est.const_marginal_effect_inference(X.iloc[:4]).summary_frame()
    assert len(frame) == 8  # a row per query row and non-baseline level


def test_the_estimator_methods_are_the_inferences(binary_est, data):
    X = data[0].iloc[:10]
    inference = binary_est._inference
    with pytest.warns(EnsembleSpreadWarning):
        got, want = binary_est.effect_interval(X, alpha=0.1), inference.effect_interval(X, T0=0, T1=1, alpha=0.1)
    np.testing.assert_array_equal(got, want)
    assert binary_est.ate_interval(X) == inference.ate_interval(X)
    assert binary_est.ate_interval(estimand="overlap") == inference.ate_interval(estimand="overlap")
    pd.testing.assert_frame_equal(binary_est.summary(), inference.summary())


def test_econml_result_objects_and_tools_work_through_the_deferral(binary_est, data):
    X, T, Y = data
    with pytest.warns(EnsembleSpreadWarning):
        result = binary_est.effect_inference(X.iloc[:6])
    assert isinstance(result, EmpiricalInferenceResults)
    assert list(result.summary_frame().columns[:2]) == ["point_estimate", "stderr"]
    population = binary_est.ate_inference()
    assert isinstance(population, PopulationSummaryResults) and np.isclose(population.mean_point, binary_est.ate())
    assert "Uncertainty of Mean Point Estimate" in str(population.summary())
    scorer = RScorer(model_y=LinearRegression(), model_t=LogisticRegression(), discrete_treatment=True, cv=2,
                     random_state=0).fit(Y, T, X=X)
    assert np.isfinite(scorer.score(binary_est))
    with pytest.warns(EnsembleSpreadWarning):  # the model uncertainty is the ensemble's population summary
        SingleTreeCateInterpreter(include_model_uncertainty=True, max_depth=2).interpret(binary_est, X)
    policy = SingleTreePolicyInterpreter(risk_level=None, max_depth=2).interpret(binary_est, X)
    assert policy.tree_model_ is not None


def test_inference_reads_fitted_state_only_and_survives_a_copy(binary_est, data):
    X = data[0].iloc[:8]
    fitted = {name: value for name, value in vars(binary_est).items() if name.endswith("_")}
    first = binary_est.ate(X), binary_est.ate_interval(X), binary_est.ate_interval()
    assert all(vars(binary_est)[name] is value for name, value in fitted.items())  # nothing refitted
    copy = pickle.loads(pickle.dumps(binary_est))
    assert copy._inference._est is copy  # the copy's inference reads the copy
    assert (copy.ate(X), copy.ate_interval(X), copy.ate_interval()) == first


def test_refitting_with_another_option_replaces_the_inference(tiny_model, data):
    est = _fit(tiny_model, *data)
    assert type(est._inference) is DoublyRobustInference
    est.fit(*data, inference="ensemble")
    assert type(est._inference) is EnsembleInference
    with pytest.raises(ValueError, match="estimand='overlap' needs doubly robust inference"):
        est.ate(estimand="overlap")


def test_helpers():
    assert check_alpha(0.1) == 0.1
    for alpha in (0, 1, True, "0.1"):
        with pytest.raises(ValueError, match="alpha must be a number in"):
            check_alpha(alpha)
    a = np.arange(6.0).reshape(2, 3)
    assert content_key(a) == content_key(a.copy()) != content_key(a.reshape(3, 2))
