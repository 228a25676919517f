"""The doubly robust estimates of the ATE (skcfm.aipw, skcfm.debiased_effect) and the cross-fitted
nuisances and default models they rest on (skcfm.nuisances, skcfm.default_models)."""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsRegressor

from skcfm.aipw import AteResult, aipw_ate, aipw_scores, hybrid_aipw_ate, hybrid_aipw_scores, overlap_weighted_ate
from skcfm.debiased_effect import debiased_mean_effect
from skcfm.default_models import StandardiseMeasurements
from skcfm.nuisances import OverlapWarning, crossfit_outcome, crossfit_propensity, outcome_effect

ATE = 2.0


def simulate(n=2000, seed=0):
    """Confounded data with known nuisances; the ATE is ``ATE``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    propensity = 1.0 / (1.0 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 1])))
    T = (rng.random(n) < propensity).astype(int)
    mu0 = X[:, 0] + np.sin(X[:, 1])
    mu1 = mu0 + ATE + X[:, 2]  # E[X_2] = 0, so the ATE is ATE
    Y = np.where(T == 1, mu1, mu0) + rng.normal(size=n)
    return X, T, Y, mu0, mu1, propensity


def test_aipw_scores_match_hand_computation():
    Y = [3.0, 1.0, 2.0]
    T = [1, 0, 0]
    mu0 = [0.5, 0.0, 1.0]
    mu1 = [2.0, 1.0, 3.0]
    e = [0.25, 0.5, 0.8]
    # row 0: 1/0.25 * (3 - 2) + 2 - 0.5 = 5.5
    # row 1: 1 - 1/0.5 * (1 - 0) - 0 = -1
    # row 2: 3 - 1/0.2 * (2 - 1) - 1 = -3
    np.testing.assert_allclose(aipw_scores(Y, T, mu0, mu1, e), [5.5, -1.0, -3.0])


def test_aipw_ate_recovers_ate_with_true_nuisances():
    X, T, Y, mu0, mu1, e = simulate()
    result = aipw_ate(Y, T, mu0, mu1, e)
    assert isinstance(result, AteResult)
    assert result.weights is None
    assert abs(result.estimate - ATE) < 4 * result.stderr
    assert result.lower < ATE < result.upper
    assert result.upper - result.estimate == pytest.approx(1.959964 * result.stderr)


def test_aipw_ate_recovers_ate_with_crossfitted_nuisances():
    X, T, Y, *_ = simulate()
    e = crossfit_propensity(X, T, random_state=0)
    mu0, mu1 = crossfit_outcome(X, T, Y, random_state=0)
    result = aipw_ate(Y, T, mu0, mu1, e)
    assert abs(result.estimate - ATE) < 4 * result.stderr
    assert result.stderr < 0.1


def test_debiased_mean_effect_over_the_training_rows_is_the_aipw_estimate():
    X, T, Y, mu0, mu1, e = simulate()
    aipw = aipw_ate(Y, T, mu0, mu1, e)
    result = debiased_mean_effect(aipw_scores(Y, T, mu0, mu1, e), mu1 - mu0, mu1 - mu0)
    assert result.estimate == pytest.approx(aipw.estimate)
    # the effect's heterogeneity (X_2) is conditioned on: a narrower interval
    assert result.stderr < aipw.stderr
    assert result.upper - result.estimate == pytest.approx(1.959964 * result.stderr)


def test_debiased_mean_effect_covers_the_average_effect_of_new_rows_under_a_biased_model():
    rng = np.random.default_rng(3)
    covered, plain_covered = [], []
    for _ in range(200):
        X, T, Y, mu0, mu1, e = simulate(n=400, seed=int(rng.integers(2**31)))
        X_new = rng.normal(size=(80, 3))
        bias = 0.5 + 0.3 * X[:, 0]  # the model's effect is off by a row-dependent amount
        scores = aipw_scores(Y, T, mu0, mu0 + (mu1 - mu0) + bias, e)
        effect_new = ATE + X_new[:, 2] + 0.5 + 0.3 * X_new[:, 0]
        truth = ATE + X_new[:, 2].mean()
        result = debiased_mean_effect(scores, mu1 - mu0 + bias, effect_new)
        covered.append(result.lower < truth < result.upper)
        half = result.upper - result.estimate
        plain_covered.append(abs(effect_new.mean() - truth) < half)
    assert 0.9 <= np.mean(covered) <= 0.99
    assert np.mean(plain_covered) < 0.5  # the uncorrected mean effect misses


def test_debiased_mean_effect_with_covariates_follows_an_error_that_varies_with_them():
    X, T, Y, mu0, mu1, e = simulate(n=2000, seed=4)
    bias = 1.0 + 1.5 * X[:, 0]  # the model's effect is off most where X_0 is large
    scores = aipw_scores(Y, T, mu0, mu1 + bias, e)
    X_new = np.random.default_rng(5).normal(loc=[1.0, 0.0, 0.0], size=(300, 3))  # shifted rows
    effect_new = ATE + X_new[:, 2] + 1.0 + 1.5 * X_new[:, 0]
    truth = ATE + X_new[:, 2].mean()
    linear = debiased_mean_effect(scores, mu1 - mu0 + bias, effect_new, X=X, X_new=X_new)
    constant = debiased_mean_effect(scores, mu1 - mu0 + bias, effect_new)
    assert linear.lower < truth < linear.upper
    assert not constant.lower < truth < constant.upper  # the mean error of the training rows is not theirs


def test_outcome_effect_fits_each_arm_on_all_its_rows():
    X, T, Y, mu0, mu1, e = simulate(n=2000, seed=6)
    X_new = np.random.default_rng(7).normal(size=(50, 3))
    effect = outcome_effect(X, T, Y, X_new)  # RidgeCV per arm; the effect is linear in X_2
    np.testing.assert_allclose(effect, ATE + X_new[:, 2], atol=0.3)
    with pytest.raises(ValueError, match="X_new has 2 columns; expected 3"):
        outcome_effect(X, T, Y, np.ones((1, 2)))


def test_debiased_mean_effect_rejects_mismatched_and_empty_inputs():
    with pytest.raises(ValueError, match="effect_train has 2 rows; expected 3"):
        debiased_mean_effect([1.0, 2.0, 3.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="effect_new is empty"):
        debiased_mean_effect([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [])
    with pytest.raises(ValueError, match="pass X and X_new together"):
        debiased_mean_effect([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0], X=np.ones((3, 1)))
    with pytest.raises(ValueError, match="X_new has 2 columns; expected 1"):
        debiased_mean_effect([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0], X=np.ones((3, 1)), X_new=np.ones((1, 2)))


def test_hybrid_weights_sum_to_one_and_favour_good_model():
    X, T, Y, mu0, mu1, e = simulate()
    rng = np.random.default_rng(1)
    noise = (rng.normal(scale=5.0, size=len(Y)), rng.normal(scale=5.0, size=len(Y)))
    result = hybrid_aipw_ate(Y, T, [(mu0, mu1), noise], e)
    assert result.weights.shape == (2,)
    assert result.weights.sum() == pytest.approx(1.0)
    assert result.weights[0] > 0.9
    assert abs(result.weights[1]) < 0.1


def test_hybrid_stderr_not_above_single_models():
    X, T, Y, mu0, mu1, e = simulate()
    standard = crossfit_outcome(X, T, Y, random_state=0)
    rng = np.random.default_rng(2)
    # A foundation model that knows the surface, up to noise and a biased effect.
    fm = (mu0 + rng.normal(scale=0.3, size=len(Y)), mu1 + 0.5)
    models = [standard, fm]
    hybrid = hybrid_aipw_ate(Y, T, models, e)
    for mu0_j, mu1_j in models:
        single = aipw_ate(Y, T, mu0_j, mu1_j, e)
        assert hybrid.stderr <= single.stderr * (1 + 1e-9)
    assert abs(hybrid.estimate - ATE) < 4 * hybrid.stderr


def test_hybrid_with_one_model_equals_aipw():
    X, T, Y, mu0, mu1, e = simulate(n=200)
    hybrid = hybrid_aipw_ate(Y, T, [(mu0, mu1)], e)
    single = aipw_ate(Y, T, mu0, mu1, e)
    np.testing.assert_allclose(hybrid.weights, [1.0])
    assert hybrid.estimate == pytest.approx(single.estimate)
    assert hybrid.stderr == pytest.approx(single.stderr)


def test_hybrid_scores_average_to_the_hybrid_estimate():
    X, T, Y, mu0, mu1, e = simulate(n=500)
    noise = np.random.default_rng(1).normal(size=(2, 500))
    models = [(mu0, mu1), (noise[0], noise[1])]
    scores, weights = hybrid_aipw_scores(Y, T, models, e)
    result = hybrid_aipw_ate(Y, T, models, e)
    np.testing.assert_allclose(weights, result.weights)
    assert scores.mean() == pytest.approx(result.estimate)
    assert scores.std(ddof=1) / np.sqrt(500) == pytest.approx(result.stderr)


def test_hybrid_weights_can_be_chosen_on_a_subset_of_rows():
    X, T, Y, mu0, mu1, e = simulate(n=500)
    noise = np.random.default_rng(1).normal(size=(2, 500))
    # the second model is right on the first half and noise on the second
    half = np.arange(500) < 250
    second = (np.where(half, mu0, noise[0]), np.where(half, mu1, noise[1]))
    models = [(mu0 + 0.5 * noise[0], mu1 + 0.5 * noise[1]), second]
    _, everywhere = hybrid_aipw_scores(Y, T, models, e)
    scores, on_half = hybrid_aipw_scores(Y, T, models, e, weight_rows=half)
    assert on_half[1] > everywhere[1]
    # the weights come from the subset, the scores still cover every row
    np.testing.assert_allclose(on_half, hybrid_aipw_scores(
        Y[half], T[half], [(m0[half], m1[half]) for m0, m1 in models], e[half])[1])
    assert scores.shape == (500,)
    with pytest.raises(ValueError, match="weight_rows must be a boolean array"):
        hybrid_aipw_scores(Y, T, models, e, weight_rows=np.arange(500))
    with pytest.raises(ValueError, match="selects 1 row"):
        hybrid_aipw_scores(Y, T, models, e, weight_rows=np.arange(500) == 3)


def test_hybrid_weights_stay_non_negative():
    # a second model that overfits: it follows each row's residual, so its scores move with
    # the good model's but further (covariance above the good model's variance), and the
    # unconstrained minimum-variance weight on it would be negative
    X, T, Y, mu0, mu1, e = simulate(n=1000)
    overfit = (mu0 + 0.5 * (Y - mu0) * (T == 0), mu1 + 0.5 * (Y - mu1) * (T == 1))
    psi = np.vstack([aipw_scores(Y, T, mu0, mu1, e), aipw_scores(Y, T, *overfit, e)])
    unconstrained = np.linalg.solve(np.cov(psi), np.ones(2))
    assert (unconstrained / unconstrained.sum()).min() < 0  # the case this test is about
    result = hybrid_aipw_ate(Y, T, [(mu0, mu1), overfit], e)
    assert np.all(result.weights >= 0)
    assert result.weights.sum() == pytest.approx(1.0)
    best_single = min(aipw_ate(Y, T, *model, e).stderr for model in [(mu0, mu1), overfit])
    assert result.stderr <= best_single * (1 + 1e-9)


def test_hybrid_handles_singular_covariance():
    X, T, Y, mu0, mu1, e = simulate(n=200)
    result = hybrid_aipw_ate(Y, T, [(mu0, mu1), (mu0, mu1)], e)
    single = aipw_ate(Y, T, mu0, mu1, e)
    assert np.all(np.isfinite(result.weights))
    assert result.weights.sum() == pytest.approx(1.0)
    assert result.estimate == pytest.approx(single.estimate)
    assert result.stderr == pytest.approx(single.stderr)


def test_crossfit_is_reproducible_with_random_state():
    X, T, Y, *_ = simulate(n=300)
    forest = RandomForestRegressor(n_estimators=10, random_state=0)
    np.testing.assert_array_equal(
        crossfit_propensity(X, T, random_state=3),
        crossfit_propensity(X, T, random_state=3),
    )
    first = crossfit_outcome(X, T, Y, regressor=forest, random_state=3)
    second = crossfit_outcome(X, T, Y, regressor=forest, random_state=3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_crossfit_outcome_never_predicts_a_row_it_saw():
    X, T, Y, *_ = simulate(n=300)
    # 1-nearest-neighbour reproduces any training row's outcome exactly.
    mu0, mu1 = crossfit_outcome(
        X, T, Y, regressor=KNeighborsRegressor(n_neighbors=1), random_state=0
    )
    observed = np.where(T == 1, mu1, mu0)
    assert not np.any(np.isclose(observed, Y))


def test_crossfit_propensity_is_clipped():
    X, T, *_ = simulate(n=300)
    X = X.copy()
    X[:, 0] = 100 * (T - 0.5)  # perfectly separable
    with pytest.warns(OverlapWarning, match="100% of the rows"):
        e = crossfit_propensity(X, T, clip=0.05, random_state=0)
    assert e.min() == pytest.approx(0.05)
    assert e.max() == pytest.approx(0.95)


def psid_like(n, seed):
    """Covariates in raw units like LaLonde's PSID sample (age, schooling, four indicators,
    two years of earnings) and a rare treatment for the young, unmarried and poor."""
    rng = np.random.default_rng(seed)
    age, schooling = rng.integers(17, 56, n), rng.integers(0, 18, n)
    indicators = rng.random((n, 4)) < [0.3, 0.03, 0.8, 0.33]
    level = rng.normal(size=(n, 1))
    earnings = np.exp(9.6 + 0.6 * level + 0.3 * rng.normal(size=(n, 2))) * (rng.random((n, 2)) > 0.1)
    X = np.column_stack([age, schooling, indicators, earnings]).astype(float)
    logit = X @ [0.015, 0.045, 0.14, 0.42, -0.32, 0.39, -0.00012, -0.00017] - 1.6
    propensity = 1.0 / (1.0 + np.exp(-logit))
    return X, (rng.random(n) < propensity).astype(int), propensity


def test_default_propensity_converges_on_covariates_in_raw_units():
    X, T, e = psid_like(n=1000, seed=6)  # lbfgs stops short in every fold here
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", OverlapWarning)  # rare treatment: it does warn, rightly
        fitted = crossfit_propensity(X, T, random_state=0)
    assert np.abs(fitted - e).mean() < 0.02


def test_overlapping_arms_raise_no_overlap_warning():
    X, T, *_ = simulate(n=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverlapWarning)
        crossfit_propensity(X, T, random_state=0)


def test_debiased_mean_effect_handles_dependent_columns_like_a_full_rank_design():
    rng = np.random.default_rng(0)
    onehot = np.eye(3)[rng.integers(0, 3, 400)]  # sums to the intercept
    X = np.column_stack([rng.normal(size=400), onehot])
    scores = X[:, 0] + onehot @ [0.0, 1.0, -1.0] + rng.normal(size=400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rank-deficiency warning
        dependent = debiased_mean_effect(scores, np.zeros(400), np.zeros(50), X=X, X_new=X[:50])
    full_rank = debiased_mean_effect(scores, np.zeros(400), np.zeros(50), X=X[:, :3], X_new=X[:50, :3])
    assert dependent.estimate == pytest.approx(full_rank.estimate)
    assert dependent.stderr == pytest.approx(full_rank.stderr)


def test_debiased_mean_effect_warns_when_new_rows_break_a_dependence_of_the_training_rows():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=200), np.ones(200)])  # a constant column
    X_new = np.column_stack([rng.normal(size=20), np.full(20, 2.0)])
    with pytest.warns(UserWarning, match="linearly dependent"):
        debiased_mean_effect(rng.normal(size=200), np.zeros(200), np.zeros(20), X=X, X_new=X_new)


@pytest.mark.parametrize(
    "T, match",
    [
        ([0, 1, 2, 1], "T must be binary"),
        ([1, 1, 1, 1], "both arms"),
        ([0, 1, np.nan, 1], "T contains NaN"),
        ([0, 1, 1], "T has 3 rows; expected 4"),
    ],
)
def test_aipw_scores_rejects_bad_treatment(T, match):
    with pytest.raises(ValueError, match=match):
        aipw_scores(np.zeros(4), T, np.zeros(4), np.zeros(4), np.full(4, 0.5))


@pytest.mark.parametrize("name", ["mu0", "mu1", "propensity"])
def test_aipw_scores_rejects_mismatched_length(name):
    args = dict(Y=np.zeros(4), T=[0, 1, 0, 1], mu0=np.zeros(4), mu1=np.zeros(4))
    args["propensity"] = np.full(4, 0.5)
    args[name] = args[name][:3]
    with pytest.raises(ValueError, match=f"{name} has 3 rows; expected 4"):
        aipw_scores(**args)


def test_aipw_scores_rejects_infinite_outcome():
    with pytest.raises(ValueError, match="Y contains NaN or infinite"):
        aipw_scores([0, np.inf], [0, 1], [0, 0], [0, 0], [0.5, 0.5])


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_aipw_scores_rejects_propensity_outside_open_unit_interval(bad):
    with pytest.raises(ValueError, match="propensity must lie strictly between"):
        aipw_scores([0, 1], [0, 1], [0, 0], [0, 0], [0.5, bad])


def test_aipw_ate_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha must lie in"):
        aipw_ate([0, 1], [0, 1], [0, 0], [0, 0], [0.5, 0.5], alpha=1.5)


def test_hybrid_rejects_empty_and_malformed_models():
    with pytest.raises(ValueError, match="outcome_models is empty"):
        hybrid_aipw_ate([0, 1], [0, 1], [], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"outcome_models\[1\] has 3 entries"):
        hybrid_aipw_ate([0, 1], [0, 1], [([0, 0], [0, 0]), ([0, 0],) * 3], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"outcome_models\[0\]: mu1 has 1 rows"):
        hybrid_aipw_ate([0, 1], [0, 1], [([0, 0], [0])], [0.5, 0.5])


def test_crossfit_rejects_too_few_rows_per_arm():
    X = np.zeros((10, 2))
    T = np.array([1] * 3 + [0] * 7)
    with pytest.raises(ValueError, match="T has 3 rows in its smaller arm"):
        crossfit_propensity(X, T, cv=5)


def test_crossfit_rejects_bad_cv_and_clip():
    X, T, Y, *_ = simulate(n=50)
    with pytest.raises(ValueError, match="cv must be an integer >= 2"):
        crossfit_outcome(X, T, Y, cv=1)
    with pytest.raises(ValueError, match="clip must lie in"):
        crossfit_propensity(X, T, clip=0.5)


def test_crossfit_rejects_nan_in_X():
    X, T, Y, *_ = simulate(n=50)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        crossfit_outcome(X, T, Y)


@pytest.mark.parametrize("scale, offset", [(1e-6, 0.0), (1e6, 1e6), (1.0, -1e8)])
def test_default_nuisance_models_do_not_depend_on_the_covariates_units(scale, offset):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    T = (rng.random(300) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    Y = X[:, 0] + 2 * T + rng.normal(size=300)
    moved = X * scale + offset  # an offset of 1e8 keeps about 8 of X's 16 digits
    np.testing.assert_allclose(crossfit_propensity(moved, T, random_state=0), crossfit_propensity(X, T, random_state=0),
                               rtol=1e-5)
    for a, b in zip(crossfit_outcome(moved, T, Y, random_state=0), crossfit_outcome(X, T, Y, random_state=0),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_standardise_measurements_leaves_indicators_and_scales_the_rest():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(3.0, 5.0, 200), rng.integers(0, 2, 200), np.full(200, 7.0)])
    Z = StandardiseMeasurements().fit(X).transform(X)
    np.testing.assert_array_equal(Z[:, 1], X[:, 1])  # a 0/1 indicator as it is
    assert abs(Z[:, 0].mean()) < 1e-12 and Z[:, 0].std() == pytest.approx(1.0)
    np.testing.assert_allclose(Z[:, 2], 0.0)  # a constant column centred, not divided by 0


def test_overlap_weighted_ate_gives_rows_without_overlap_no_weight():
    rng = np.random.default_rng(0)
    n = 400
    T = (rng.random(n) < 0.5).astype(int)
    mu0, mu1 = rng.normal(size=n), rng.normal(size=n) + 1
    Y = np.where(T == 1, mu1, mu0) + rng.normal(size=n)
    e = rng.uniform(0.1, 0.9, size=n)
    outside = np.arange(n) < 100  # no overlap: propensity exactly 0 or 1, effects far off
    e[outside] = T[outside]
    mu1[outside] += 50
    full = overlap_weighted_ate(Y, T, mu0, mu1, e)
    inside = overlap_weighted_ate(Y[~outside], T[~outside], mu0[~outside], mu1[~outside], e[~outside])
    assert full.estimate == pytest.approx(inside.estimate, rel=1e-12)
    with pytest.raises(ValueError, match="every propensity is 0 or 1"):
        overlap_weighted_ate(Y[:50], T[:50], mu0[:50], mu1[:50], T[:50].astype(float))
    with pytest.raises(ValueError, match=r"propensity must lie in \[0, 1\]"):
        overlap_weighted_ate(Y, T, mu0, mu1, e + 0.5)


def test_crossfit_propensity_returns_the_scores_before_clipping_on_request():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    T = (rng.random(300) < 1 / (1 + np.exp(-4 * X[:, 0]))).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        clipped, unclipped = crossfit_propensity(X, T, random_state=0, clip=0.1, return_unclipped=True)
    np.testing.assert_array_equal(clipped, np.clip(unclipped, 0.1, 0.9))
    assert unclipped.min() < 0.1 < 0.9 < unclipped.max()
