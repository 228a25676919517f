"""Tests for skcfm.InferenceConfig and the estimators' ``inference_config``."""

import dataclasses
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor, InferenceConfig

OPTIONS = {"contexts": "global", "arm_outcomes": False, "clip_to_observed": False,
           "outcome_transform": "yeo-johnson", "chunk_size": 7}


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 0.5).astype(int)
    Y = np.exp(0.5 * X[:, 0]) + T + 0.3 * rng.normal(size=n)
    return X, T, Y


def _estimator(model, **params):
    return CFMCateEstimator(model=model, n_estimators=2, final_stage="cfm", context_size=32, random_state=0,
                            **params)


def test_the_defaults_are_the_documented_ones():
    assert InferenceConfig() == InferenceConfig(contexts="local", arm_outcomes="auto", clip_to_observed=True,
                                                outcome_transform="none", chunk_size=1024)
    assert InferenceConfig.resolve(None) == InferenceConfig.resolve({}) == InferenceConfig()


def test_resolve_keeps_a_config_and_fills_a_dict_with_the_defaults():
    config = InferenceConfig(chunk_size=5)
    assert InferenceConfig.resolve(config) is config
    assert InferenceConfig.resolve({"contexts": "global"}) == InferenceConfig(contexts="global")


def test_the_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        InferenceConfig().chunk_size = 5


def test_a_dict_and_a_config_give_the_same_effects(tiny_model):
    X, T, Y = _data()
    from_dict = _estimator(tiny_model, inference_config=OPTIONS).fit(X, T, Y)
    from_config = _estimator(tiny_model, inference_config=InferenceConfig(**OPTIONS)).fit(X, T, Y)
    np.testing.assert_array_equal(from_dict.effect(X[:20]), from_config.effect(X[:20]))
    np.testing.assert_array_equal(from_dict.ate_interval(), from_config.ate_interval())
    default = _estimator(tiny_model).fit(X, T, Y)
    assert not np.allclose(default.effect(X[:20]), from_dict.effect(X[:20]))  # the options were read


def test_the_regressor_reads_the_same_options(tiny_model):
    X, T, Y = _data()
    Z = np.column_stack([T, X])
    predictions = [GraphConditionedCFMRegressor(model=tiny_model, n_estimators=2, context_size=32, random_state=0,
                                                inference_config=config).fit(Z, Y).predict(Z[:20])
                   for config in (OPTIONS, InferenceConfig(**OPTIONS))]
    np.testing.assert_array_equal(*predictions)


def test_fit_stores_the_resolved_config_and_leaves_the_parameter(tiny_model):
    X, T, Y = _data()
    options = {"arm_outcomes": False}
    est = _estimator(tiny_model, inference_config=options).fit(X, T, Y)
    assert est.inference_config is options and options == {"arm_outcomes": False}
    assert est.inference_config_ == InferenceConfig(arm_outcomes=False)
    assert est.arm_outcomes_ is None
    assert _estimator(tiny_model).fit(X, T, Y).inference_config_ == InferenceConfig()


@pytest.mark.parametrize("estimator", [CFMCateEstimator, GraphConditionedCFMRegressor])
def test_an_unknown_key_is_named_with_the_valid_keys(tiny_model, estimator):
    X, T, Y = _data()
    message = (r"inference_config has unknown key 'n_estimators'; valid keys are 'contexts', 'arm_outcomes', "
               r"'clip_to_observed', 'outcome_transform', 'chunk_size'")
    est = estimator(model=tiny_model, inference_config={"n_estimators": 2})
    with pytest.raises(ValueError, match=message):
        est.fit(X, T, Y) if estimator is CFMCateEstimator else est.fit(np.column_stack([T, X]), Y)
    with pytest.raises(ValueError, match=r"unknown keys 'clip', 'chunks'; valid keys are 'contexts'"):
        InferenceConfig.resolve({"clip": False, "contexts": "local", "chunks": 8})


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"contexts": "near"}, ValueError, "contexts='near'; expected 'local' or 'global'"),
    ({"arm_outcomes": "yes"}, TypeError, "arm_outcomes='yes'; expected 'auto', True or False"),
    ({"clip_to_observed": 1}, TypeError, "clip_to_observed=1; expected True or False"),
    ({"outcome_transform": "log"}, ValueError, "outcome_transform='log'; expected one of"),
    ({"chunk_size": 0}, ValueError, "chunk_size must be a positive integer; got 0"),
    ({"chunk_size": 2.5}, ValueError, "chunk_size must be a positive integer; got 2.5"),
])
def test_a_wrong_value_names_the_field(tiny_model, options, error, message):
    with pytest.raises(error, match=message):
        InferenceConfig(**options)
    X, T, Y = _data()
    with pytest.raises(error, match=message):
        _estimator(tiny_model, inference_config=options).fit(X, T, Y)


def test_a_value_of_another_type_is_refused(tiny_model):
    X, T, Y = _data()
    with pytest.raises(TypeError, match="inference_config must be None, a dict or an InferenceConfig; got str"):
        _estimator(tiny_model, inference_config="global").fit(X, T, Y)


@pytest.mark.parametrize("config", [{"contexts": "global"}, InferenceConfig(contexts="global")])
def test_clone_and_get_params_round_trip(tiny_model, config):
    est = _estimator(tiny_model, inference_config=config)
    assert est.get_params()["inference_config"] == config
    copy = clone(est)
    assert copy.get_params()["inference_config"] == config and not hasattr(copy, "inference_config_")
    copy.set_params(inference_config={"chunk_size": 16})
    assert copy.inference_config == {"chunk_size": 16}
    X, T, Y = _data()
    assert copy.fit(X, T, Y).inference_config_ == InferenceConfig(chunk_size=16)
    assert "inference_config=" in repr(est)


def test_a_fitted_estimator_pickles_with_its_config(tiny_model):
    X, T, Y = _data()
    est = _estimator(tiny_model, inference_config=OPTIONS).fit(X, T, Y)
    again = pickle.loads(pickle.dumps(est))
    assert again.inference_config_ == est.inference_config_
    np.testing.assert_array_equal(again.effect(X[:10]), est.effect(X[:10]))


def test_grid_search_over_inference_config(tiny_model):
    X, T, Y = _data()
    grid = {"inference_config": [{"contexts": "local"}, InferenceConfig(contexts="global")]}
    reg = GraphConditionedCFMRegressor(model=tiny_model, n_estimators=1, context_size=16, random_state=0)
    search = GridSearchCV(reg, grid, cv=2).fit(np.column_stack([T, X]), Y)
    assert search.best_params_["inference_config"] in grid["inference_config"]
    assert search.best_estimator_.inference_config_.contexts in ("local", "global")
