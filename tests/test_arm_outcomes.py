"""Tests for arm outcome covariates (skcfm.arm_outcomes, the estimators' ``arm_outcomes`` option)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from skcfm import CFMCateEstimator, unconfoundedness_pam
from skcfm.arm_outcomes import ArmOutcomeCovariates, extend_pam
from skcfm.pam_alignment import align_pam

N, D = 240, 6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    T = (rng.random(N) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    Y = X[:, 0] + (1 + X[:, 1]) * T + rng.normal(scale=0.3, size=N)
    return X, T, Y


def test_training_rows_get_out_of_bag_predictions_for_their_own_arm(data):
    X, T, Y = data
    covariates = ArmOutcomeCovariates(random_state=0)
    inside = covariates.fit_transform(X, T, Y)
    full = covariates.transform(X)
    assert inside.shape == full.shape == (N, 2)
    for arm in (0, 1):
        own = T == arm
        np.testing.assert_array_equal(inside[~own, arm], full[~own, arm])  # other arm: the full fit
        assert np.abs(inside[own, arm] - full[own, arm]).mean() > 1e-3  # own arm: held out
    # the arm forests learn their arm's surface: treated rows' Y tracks the treated column
    treated = T == 1
    assert np.corrcoef(inside[treated, 1], Y[treated])[0, 1] > 0.5
    np.testing.assert_array_equal(ArmOutcomeCovariates(random_state=0).fit_transform(X, T, Y), inside)


def test_leaf_rows_sizes_the_leaves_by_the_given_rows_not_the_arms(data):
    X, T, Y = data
    per_arm = ArmOutcomeCovariates(random_state=0).fit_transform(X, T, Y)
    covariates = ArmOutcomeCovariates(random_state=0, leaf_rows=100 * N)
    whole = covariates.fit_transform(X, T, Y)
    assert [forest.min_samples_leaf for forest in covariates.forests_] == [N, N]
    # leaves of N rows cannot split an arm: each column is one arm's mean (out of bag: near it)
    for arm in (0, 1):
        assert np.ptp(covariates.transform(X)[:, arm]) == 0
    assert np.ptp(whole[T == 1, 1]) < np.ptp(per_arm[T == 1, 1])


def test_a_training_rows_own_outcome_never_reaches_its_column(data):
    X, T, Y = data
    row = int(np.flatnonzero(T == 1)[0])
    changed = Y.copy()
    changed[row] += 100.0
    before, after = (ArmOutcomeCovariates(random_state=0) for _ in range(2))
    inside_before, inside_after = before.fit_transform(X, T, Y), after.fit_transform(X, T, changed)
    assert inside_after[row, 1] == inside_before[row, 1]
    assert after.transform(X[[row]])[0, 1] > before.transform(X[[row]])[0, 1] + 1  # the full fit sees it


def test_added_columns_share_what_holds_for_every_covariate():
    names = [f"x{i}" for i in range(3)]
    pam = align_pam(unconfoundedness_pam(names, treatment="T", outcome="Y"), covariates=names,
                    treatment="T", outcome="Y")
    extended = extend_pam(pam, n_covariates=3, n_added=2)
    assert extended.shape == (7, 7)
    np.testing.assert_array_equal(extended[:5, :5], pam)
    for added in (5, 6):
        assert extended[added, 0] == extended[added, 1] == 1  # every covariate causes T and Y
        assert extended[0, added] == pam[0, 2]  # what T is to every covariate
        assert not extended[added, 2:].any() and not extended[2:, added].any()
    mixed = pam.copy()
    mixed[2, 1] = 0  # one covariate's relation to Y unknown: the summary's is unknown too
    assert extend_pam(mixed, 3, 1)[5, 1] == 0


def test_estimator_reads_the_added_columns(tiny_model, data):
    X, T, Y = data
    names = [f"x{i}" for i in range(D)]
    pam = unconfoundedness_pam(names, treatment="T", outcome="Y")
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, inference_config={"arm_outcomes": True}, random_state=0)
    est.fit(X, T, Y, ancestors=pam)
    assert est.X_.shape == (N, D + 2) and est.pam_.shape == (D + 4, D + 4)
    assert est.n_features_in_ == D and isinstance(est.arm_outcomes_, ArmOutcomeCovariates)
    effect = est.effect(X[:5])
    assert effect.shape == (5,) and np.isfinite(effect).all()
    np.testing.assert_allclose(est.effect(X[:5]), effect)
    np.testing.assert_allclose(clone(est).fit(X, T, Y, ancestors=pam).effect(X[:5]), effect)
    assert est.effect().shape == (N,)
    assert np.isfinite(est.ate(X[:50])) and np.isfinite(est.ate_interval(X[:50])).all()
    plain = CFMCateEstimator(model=tiny_model, n_estimators=2, inference_config={"arm_outcomes": False}, random_state=0)
    plain.fit(X, T, Y, ancestors=pam)
    assert plain.arm_outcomes_ is None and not np.allclose(plain.effect(X[:5]), effect)


def test_propensity_and_standard_outcome_model_read_only_the_users_covariates(tiny_model, data):
    X, T, Y = data
    with_arms, without = (CFMCateEstimator(model=tiny_model, n_estimators=2, inference_config={"arm_outcomes": arms},
                                           random_state=0).fit(X, T, Y) for arms in (True, False))
    propensity, standard, _ = with_arms._nuisances(with_standard=True)
    np.testing.assert_array_equal(propensity, without._nuisances(with_standard=True)[0])
    np.testing.assert_array_equal(standard, without._nuisances(with_standard=True)[1])
    assert np.isfinite(with_arms.ate(X[:50]))


def test_auto_adds_arm_outcomes_for_a_discrete_treatment_only(tiny_model, data):
    X, T, Y = data
    discrete = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0).fit(X, T, Y)
    assert discrete.inference_config_.arm_outcomes == "auto" and discrete.X_.shape == (N, D + 2)
    continuous = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0).fit(X, 2 * X[:, 0] + 1, Y)
    assert continuous.arm_outcomes_ is None and continuous.X_.shape == (N, D)


def test_arm_outcomes_rejects_what_it_cannot_use(tiny_model, data):
    X, T, Y = data
    with pytest.raises(ValueError, match="arm_outcomes=True needs a discrete treatment"):
        CFMCateEstimator(model=tiny_model, inference_config={"arm_outcomes": True}).fit(X, 2 * X[:, 0] + 1, Y)
    with pytest.raises(TypeError, match="arm_outcomes='yes'; expected 'auto', True or False"):
        CFMCateEstimator(model=tiny_model, inference_config={"arm_outcomes": "yes"}).fit(X, T, Y)


def test_with_controls_the_added_columns_are_controls_too(tiny_model, data):
    X, T, Y = data
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, inference_config={"arm_outcomes": True}, random_state=0)
    est.fit(X[:, :4], T, Y, W=X[:, 4:])
    assert est.X_.shape == (N, D + 2) and est.pam_.shape == (D + 4, D + 4) and est._n_controls == 4
    effect = est.effect(X[:5, :4])
    assert effect.shape == (5,) and np.isfinite(effect).all()
    assert np.isfinite(est.ate(X[:50, :4]))


def test_one_added_column_per_level_of_a_multi_valued_treatment(tiny_model, data):
    X, _, Y = data
    T3 = np.random.default_rng(1).choice(["a", "b", "c"], N)
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, inference_config={"arm_outcomes": True}, random_state=0)
    est.fit(X, T3, Y)
    assert est.X_.shape == (N, D + 3) and est.pam_.shape == (D + 5, D + 5)
    assert est.effect(X[:4], T0="a", T1="c").shape == (4,)


def test_cross_fitted_outcomes_never_read_their_folds_outcomes(tiny_model, data):
    X, T, Y = data
    est = CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0).fit(X, T, Y)
    folds = StratifiedKFold(est.cv, shuffle=True, random_state=est._seed).split(np.zeros((N, 1)), T)
    _, held_out = next(folds)
    changed = Y.copy()
    changed[held_out] += np.random.default_rng(1).normal(scale=5.0, size=len(held_out))
    other = clone(est).fit(X, T, changed)
    for before, after in zip(est.cross_fitted_outcomes(), other.cross_fitted_outcomes(), strict=True):
        np.testing.assert_array_equal(after[held_out], before[held_out])
        assert np.abs(after - before).max() > 1e-3  # the other folds read the changed rows


def test_n_jobs_parallelises_the_arm_forests_without_changing_the_numbers(tiny_model, data, monkeypatch):
    from sklearn.ensemble import RandomForestRegressor

    X, T, Y = data
    fit_jobs = []
    fit = RandomForestRegressor.fit
    monkeypatch.setattr(RandomForestRegressor, "fit", lambda self, *a, **k: (fit_jobs.append(self.n_jobs),
                                                                             fit(self, *a, **k))[1])
    serial, parallel = (CFMCateEstimator(model=tiny_model, n_estimators=2, n_jobs=jobs, random_state=0).fit(X, T, Y)
                        for jobs in (1, 2))
    assert set(fit_jobs) == {1, 2}
    assert all(forest.n_jobs == 1 for forest in parallel.arm_outcomes_.forests_)  # they predict on one
    np.testing.assert_array_equal(parallel.X_, serial.X_)  # the same trees, summed in the same order
    np.testing.assert_array_equal(parallel.effect(X[:5]), serial.effect(X[:5]))
    with pytest.raises(ValueError, match="n_jobs must be None or a nonzero integer"):
        CFMCateEstimator(model=tiny_model, n_jobs=0).fit(X, T, Y)
