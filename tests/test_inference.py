"""Tests for skcfm.inference: ensemble planning and chunked interventional prediction."""

import numpy as np
import pytest

from skcfm.inference import (
    AUTO_MEMBERS,
    MIN_ARM_SHARE,
    covariate_relevance,
    ensemble_size,
    plan_ensemble,
    predict_interventions,
)


def _plan(n_rows, pam, *, arms=None, seed=0, n_estimators=4, context_size=192, max_covariates=5, relevance=None):
    return plan_ensemble(
        n_rows, pam, n_estimators=n_estimators, context_size=context_size,
        max_covariates=max_covariates, arms=arms, rng=np.random.default_rng(seed), relevance=relevance,
    )


def _data(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    T = (rng.random(n) < 0.5).astype(float)
    Y = X[:, 0] + 2 * T + rng.normal(size=n)
    return X, T, Y


def test_stratified_context_keeps_a_rare_arm():
    n = 5000
    arms = np.zeros(n)
    arms[np.random.default_rng(0).choice(n, size=50, replace=False)] = 1  # 1% treated
    for member in _plan(n, np.zeros((5, 5), dtype=np.int8), arms=arms):
        assert len(member.rows) == 192
        assert len(np.unique(member.rows)) == 192
        treated_share = arms[member.rows].mean()
        assert treated_share >= MIN_ARM_SHARE
        assert treated_share < 0.5  # the floor, not an equal split


def test_stratified_context_takes_every_row_of_an_arm_smaller_than_its_floor():
    n = 5000
    arms = np.zeros(n)
    arms[:10] = 1
    for member in _plan(n, np.zeros((5, 5), dtype=np.int8), arms=arms):
        assert arms[member.rows].sum() == 10
        assert len(member.rows) == 192


def test_unstratified_context_is_capped_at_context_size():
    members = _plan(1000, np.zeros((5, 5), dtype=np.int8), context_size=100)
    assert all(len(m.rows) == 100 and len(np.unique(m.rows)) == 100 for m in members)


def test_plan_ensemble_is_deterministic_for_a_seed():
    pam = np.zeros((14, 14), dtype=np.int8)
    arms = np.arange(1000) % 2
    first = _plan(1000, pam, arms=arms, seed=3)
    second = _plan(1000, pam, arms=arms, seed=3)
    other = _plan(1000, pam, arms=arms, seed=4)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.covariates, b.covariates)
    assert any(not np.array_equal(a.rows, c.rows) for a, c in zip(first, other, strict=True))


@pytest.mark.parametrize(
    ("n_rows", "n_covariates", "expected"),
    [
        (100, 10, AUTO_MEMBERS[0]),  # fits one context: the floor
        (672, 25, 8),  # IHDP: 4 row blocks x 2 covariate blocks
        (1000, 10, 6),  # long only: row blocks
        (4321, 82, AUTO_MEMBERS[1]),  # ACIC: 23 x 6 blocks, capped
    ],
)
def test_auto_ensemble_size_covers_rows_and_covariates(n_rows, n_covariates, expected):
    assert ensemble_size("auto", n_rows, n_covariates, context_size=192, max_covariates=16) == expected
    assert ensemble_size(3, n_rows, n_covariates, context_size=192, max_covariates=16) == 3


def test_plan_ensemble_draws_the_auto_number_of_members():
    pam = np.zeros((27, 27), dtype=np.int8)  # 25 covariates
    members = _plan(672, pam, arms=np.arange(672) % 2, n_estimators="auto", max_covariates=16)
    assert len(members) == 8
    assert len({tuple(m.rows.tolist()) for m in members}) == 8  # distinct context draws


def test_covariate_subsets_prefer_pam_marked_ancestors_of_t_and_y():
    d = 12
    pam = np.zeros((d + 2, d + 2), dtype=np.int8)  # model order [T, Y, X...]
    for j in (3, 7):  # confounders: ancestors of T and of Y
        pam[2 + j, 0] = pam[2 + j, 1] = 1
    pam[2 + 9, 1] = 1  # ancestor of Y only
    pam[2 + 10, 0] = 1  # ancestor of T only
    members = _plan(100, pam, n_estimators=6, max_covariates=5)
    for member in members:
        assert len(member.covariates) == 5
        assert len(np.unique(member.covariates)) == 5
        assert {3, 7, 9, 10} <= set(member.covariates.tolist())
    assert len({tuple(sorted(m.covariates.tolist())) for m in members}) > 1  # the fifth slot varies


def test_covariate_subset_keeps_every_covariate_when_they_fit():
    for member in _plan(100, np.zeros((6, 6), dtype=np.int8), max_covariates=5):
        assert sorted(member.covariates.tolist()) == [0, 1, 2, 3]


def test_predictions_in_chunks_equal_predictions_in_one_chunk(tiny_model):
    X, T, Y = _data()
    pam = np.zeros((5, 5), dtype=np.int8)
    members = _plan(len(Y), pam, n_estimators=2)
    queries = X[:40]
    treatments = [np.zeros(40), np.ones(40)]
    small = predict_interventions(tiny_model, X, T, Y, pam, queries, treatments, members,
                                  quantiles=np.array([0.1, 0.9]), chunk_size=7)
    whole = predict_interventions(tiny_model, X, T, Y, pam, queries, treatments, members,
                                  quantiles=np.array([0.1, 0.9]), chunk_size=1000)
    assert small.means.shape == (2, 2, 40)
    np.testing.assert_allclose(small.means, whole.means, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(small.quantiles, whole.quantiles, rtol=1e-5, atol=1e-6)


def test_each_intervention_is_predicted_as_if_it_were_alone(tiny_model):
    X, T, Y = _data()
    pam = np.zeros((5, 5), dtype=np.int8)
    members = _plan(len(Y), pam, n_estimators=2)
    treatments = [np.zeros(30), np.ones(30), np.full(30, 0.5)]
    together = predict_interventions(tiny_model, X, T, Y, pam, X[:30], treatments, members, chunk_size=8)
    for a, t in enumerate(treatments):
        alone = predict_interventions(tiny_model, X, T, Y, pam, X[:30], [t], members, chunk_size=1000)
        np.testing.assert_allclose(together.means[:, a], alone.means[:, 0], rtol=1e-5, atol=1e-6)


def test_each_intervention_can_have_its_own_query_rows(tiny_model):
    X, T, Y = _data()
    pam = np.zeros((5, 5), dtype=np.int8)
    members = _plan(len(Y), pam, n_estimators=2)
    shifted = X[:30] + 1.0
    together = predict_interventions(tiny_model, X, T, Y, pam, [X[:30], shifted], [np.zeros(30), np.ones(30)],
                                     members, chunk_size=8)
    for a, (x, t) in enumerate([(X[:30], np.zeros(30)), (shifted, np.ones(30))]):
        alone = predict_interventions(tiny_model, X, T, Y, pam, x, [t], members)
        np.testing.assert_allclose(together.means[:, a], alone.means[:, 0], rtol=1e-5, atol=1e-6)
    same = predict_interventions(tiny_model, X, T, Y, pam, [shifted, shifted.copy()], [np.ones(30)] * 2, members)
    np.testing.assert_array_equal(same.means[:, 0], same.means[:, 1])  # identical arms, identical numbers
    with pytest.raises(ValueError, match="X_query holds 1 arrays; expected one per intervention \\(2\\)"):
        predict_interventions(tiny_model, X, T, Y, pam, [X[:30]], [np.zeros(30), np.ones(30)], members)


def test_a_query_does_not_depend_on_the_other_queries(tiny_model):
    X, T, Y = _data()
    pam = np.zeros((5, 5), dtype=np.int8)
    members = _plan(len(Y), pam, n_estimators=2)
    rng = np.random.default_rng(1)
    alone = predict_interventions(tiny_model, X, T, Y, pam, X[:1], [np.ones(1)], members)
    others = rng.normal(scale=5, size=(30, 3))
    treatments = np.r_[1.0, rng.integers(0, 2, 30)]
    together = predict_interventions(tiny_model, X, T, Y, pam, np.vstack([X[:1], others]), [treatments], members)
    np.testing.assert_allclose(alone.means[:, 0, 0], together.means[:, 0, 0], rtol=1e-5, atol=1e-6)


def test_more_covariates_than_the_model_saw_are_predicted(tiny_model):
    assert tiny_model.config.max_covariates == 5
    X, T, Y = _data(n=150, d=12)
    pam = np.zeros((14, 14), dtype=np.int8)
    members = _plan(len(Y), pam, n_estimators=3, max_covariates=tiny_model.config.max_covariates)
    assert all(len(m.covariates) == 5 for m in members)
    predictions = predict_interventions(tiny_model, X, T, Y, pam, X[:20], [np.zeros(20), np.ones(20)], members,
                                        quantiles=np.array([0.5]))
    assert predictions.means.shape == (3, 2, 20)
    assert predictions.quantiles.shape == (3, 2, 20, 1)
    assert np.isfinite(predictions.means).all()


def test_full_output_returns_logits_and_borders_in_outcome_units(tiny_model):
    X, T, Y = _data()
    pam = np.zeros((5, 5), dtype=np.int8)
    members = _plan(len(Y), pam, n_estimators=2)
    predictions = predict_interventions(tiny_model, X, T, Y, pam, X[:6], [T[:6]], members, return_logits=True)
    k = tiny_model.config.n_bars
    assert predictions.logits.shape == (2, 1, 6, k)
    assert predictions.borders.shape == (2, k + 1)
    assert (np.diff(predictions.borders, axis=1) > 0).all()


def test_covariate_relevance_is_the_larger_rank_correlation_with_t_or_y():
    rng = np.random.default_rng(0)
    n = 500
    X = rng.normal(size=(n, 4))
    X[:, 3] = 1.0  # constant
    T = (X[:, 0] + 0.1 * rng.normal(size=n) > 0).astype(float)
    Y = np.exp(X[:, 1]) + 0.1 * rng.normal(size=n)  # monotone: Spearman near 1
    relevance = covariate_relevance(X, T, Y)
    assert relevance.shape == (4,)
    assert relevance[0] > 0.8 and relevance[1] > 0.95
    assert relevance[2] < 0.15 and relevance[3] == 0.0


def test_covariate_relevance_finds_an_effect_modifier_within_the_arms():
    rng = np.random.default_rng(0)
    n = 600
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 0.5).astype(float)
    Y = np.where(T == 1, X[:, 2], -X[:, 2]) + 0.1 * rng.normal(size=n)  # pooled, X2 looks irrelevant
    assert covariate_relevance(X, T, Y)[2] < 0.15
    within = covariate_relevance(X, T, Y, arms=T)
    assert within[2] > 0.9 and within[:2].max() < 0.15
    T[:5], Y[:5] = 2, X[:5, 0]  # within this arm of 5 rows X0 fits Y exactly, but 5 rows are too few to count
    assert covariate_relevance(X, T, Y, arms=T)[0] < 0.15


def test_relevance_steers_which_covariates_members_read():
    d, k = 20, 4
    relevance = np.full(d, 0.01)
    relevance[[2, 5, 11, 17]] = 1.0
    members = _plan(100, np.zeros((d + 2, d + 2), dtype=np.int8), n_estimators=40, max_covariates=k,
                    relevance=relevance)
    counts = np.bincount(np.concatenate([m.covariates for m in members]), minlength=d)
    assert counts[[2, 5, 11, 17]].min() > counts[np.setdiff1d(np.arange(d), [2, 5, 11, 17])].max()
    # PAM-known ancestors still come first, whatever their relevance
    pam = np.zeros((d + 2, d + 2), dtype=np.int8)
    pam[2 + 0, 0] = pam[2 + 0, 1] = 1
    for member in _plan(100, pam, n_estimators=10, max_covariates=k, relevance=relevance):
        assert 0 in member.covariates


def test_regions_are_fixed_size_with_at_least_two_pairs_of_members():
    from skcfm.contexts import plan_contexts

    rng = np.random.default_rng(0)

    def plan(n):
        X = rng.normal(size=(n, 3))
        T = (rng.random(n) < 0.5).astype(float)
        Y = X[:, 0] + T + rng.normal(size=n)
        pam = np.zeros((5, 5))
        return plan_contexts(X, T, Y, pam, rows=np.arange(n), discrete=True, contexts="local", n_estimators="auto",
                             context_size=10, max_covariates=16, rng=np.random.default_rng(1))

    eight = plan(160)  # 8 regions of 20 rows: at least 4 members each, as on small data
    assert len(eight.ensembles) == 8 and len(eight.ensembles[0]) == 4
    assert {len(rows) for rows in eight.neighbourhoods.rows} == {20}
    many = plan(400)  # 20 regions of 20 rows: still two pairs each, so each row has two out-of-context answers
    assert len(many.ensembles) == 20 and len(many.ensembles[0]) == 4
    assert {len(rows) for rows in many.neighbourhoods.rows} == {20}


def test_members_of_a_region_with_two_contexts_of_rows_come_in_disjoint_pairs():
    arms = (np.random.default_rng(0).random(512) < 0.4).astype(int)
    members = _plan(512, np.zeros((8, 8), dtype=np.int8), arms=arms)
    assert len(members) >= 2
    for first, second in zip(members[::2], members[1::2], strict=False):
        assert len(np.intersect1d(first.rows, second.rows)) == 0  # every row is out of one of them
        np.testing.assert_array_equal(first.covariates, second.covariates)
        assert abs(arms[first.rows].mean() - arms[second.rows].mean()) < 0.02  # each arm split evenly



def test_out_of_context_answers_never_read_the_rows_own_outcome(tiny_model):
    from skcfm.contexts import plan_contexts, predict_out_of_context

    rng = np.random.default_rng(0)
    n = 160
    X = rng.normal(size=(n, 3))
    T = (rng.random(n) < 0.5).astype(float)
    Y = X[:, 0] + T + rng.normal(size=n)
    pam = np.zeros((5, 5))
    plan = plan_contexts(X, T, Y, pam, rows=np.arange(n), discrete=True, contexts="local", n_estimators="auto",
                         context_size=10, max_covariates=16, rng=np.random.default_rng(1))
    answers = predict_out_of_context(tiny_model, X, T, Y, pam, plan, [0.0, 1.0], clip=True)
    assert answers.shape == (2, n) and np.isfinite(answers).all()
    for row in (0, 7, 42):
        shifted = Y.copy()
        shifted[row] += 100.0  # the plan stays; only the row's own outcome moves
        moved = predict_out_of_context(tiny_model, X, T, shifted, pam, plan, [0.0, 1.0], clip=True)
        np.testing.assert_array_equal(moved[:, row], answers[:, row])
        assert not np.array_equal(moved, answers)  # other rows read it


def test_out_of_context_answers_need_members_in_pairs(tiny_model):
    from skcfm.contexts import plan_contexts, predict_out_of_context

    rng = np.random.default_rng(0)
    X, T, Y = rng.normal(size=(30, 2)), (rng.random(30) < 0.5).astype(float), rng.normal(size=30)
    pam = np.zeros((4, 4))
    plan = plan_contexts(X, T, Y, pam, rows=np.arange(30), discrete=True, contexts="local", n_estimators=4,
                         context_size=20, max_covariates=16, rng=np.random.default_rng(1))  # 30 rows: no halves
    assert predict_out_of_context(tiny_model, X, T, Y, pam, plan, [0.0, 1.0]) is None
