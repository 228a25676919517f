"""Tests for skcfm.training.prior: DAGs, SCM evaluation, rejection, PAM hiding and batches.

Variables of a prior batch are in the model's order [t, y, x_1..x_d]; ``pam[b, a, c] == 1``
means a is an ancestor of c.
"""

from dataclasses import replace
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
import torch

from skcfm.training.configs import CONFIGS
from skcfm.training.prior import (
    SCM,
    PriorConfig,
    evaluate,
    hide_entries,
    sample_batch,
    sample_noise,
    sample_scms,
)
from skcfm.training.prior import batch as prior_batch
from skcfm.training.prior.dag import ancestor_relation, sample_dags
from skcfm.training.prior.mechanisms import ACTIVATIONS, sample_gp_functions
from skcfm.training.prior.scm import HIDDEN_UNITS, NOISE_AFTER, NodeMechanism

TINY_PRIOR = CONFIGS["tiny"].prior


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def networkx_ancestors(adjacency: np.ndarray) -> np.ndarray:
    """[a, c] = 1 when a is an ancestor of c; ``adjacency[i, j] == 1``: j is a parent of i."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(adjacency)))
    graph.add_edges_from((int(j), int(i)) for i, j in zip(*np.nonzero(adjacency), strict=True))
    out = np.zeros(adjacency.shape, dtype=int)
    for node in graph:
        out[list(nx.ancestors(graph, node)), node] = 1
    return out


# -- DAGs and the ancestor relation


def test_sampled_dags_are_strictly_lower_triangular():
    adjacency = sample_dags(16, 12, generator(0))
    assert adjacency.shape == (16, 12, 12)
    assert torch.equal(adjacency, torch.tril(adjacency, diagonal=-1))
    assert set(adjacency.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("n_nodes", [2, 3, 5, 8, 17, 33, 50])
def test_ancestor_relation_matches_networkx_closure(n_nodes):
    rng = np.random.default_rng(n_nodes)
    graphs = []
    for density in (0.05, 0.2, 0.5, 0.9):
        # a random DAG in a random node order, so the closure cannot rely on the order
        lower = np.tril(rng.random((n_nodes, n_nodes)) < density, k=-1)
        order = rng.permutation(n_nodes)
        graphs.append(lower[np.ix_(order, order)].astype(np.float32))
    adjacency = torch.tensor(np.stack(graphs))
    got = ancestor_relation(adjacency).numpy()
    for b, graph in enumerate(graphs):
        np.testing.assert_array_equal(got[b], networkx_ancestors(graph))


def test_long_chain_ancestors_reach_the_first_node():
    n = 50
    adjacency = torch.diag(torch.ones(n - 1), diagonal=-1)[None]  # i-1 -> i
    expected = torch.triu(torch.ones(n, n), diagonal=1)
    assert torch.equal(ancestor_relation(adjacency)[0], expected)


# -- true and revealed PAMs


def test_true_pam_equals_networkx_ancestors_of_the_sampled_scms(monkeypatch):
    captured = {}
    roles, scms = prior_batch._roles, prior_batch.sample_scms

    def capture_roles(*args, **kwargs):
        out = roles(*args, **kwargs)
        captured["observed"] = out[-1]
        return out

    def capture_scms(*args, **kwargs):
        scm = scms(*args, **kwargs)
        captured["adjacency"] = scm.adjacency
        return scm

    monkeypatch.setattr(prior_batch, "_roles", capture_roles)
    monkeypatch.setattr(prior_batch, "sample_scms", capture_scms)
    config = PriorConfig(n_queries=4)
    *_, true_pam, _, _ = prior_batch._candidates(24, 30, 6, 2, config, generator(1))
    assert true_pam.shape == (24, 8, 8)
    for b in range(24):
        ancestors = networkx_ancestors(captured["adjacency"][b].numpy())
        observed = captured["observed"][b].numpy()
        expected = np.where(ancestors[np.ix_(observed, observed)] == 1, 1, -1)
        np.fill_diagonal(expected, 0)
        np.testing.assert_array_equal(true_pam[b].numpy(), expected)


def test_true_pam_is_acyclic_with_zero_diagonal():
    batch = sample_batch(32, generator(2), TINY_PRIOR)
    pam = batch.true_pam
    f = pam.shape[-1]
    assert torch.all(pam.diagonal(dim1=1, dim2=2) == 0)
    off_diagonal = ~torch.eye(f, dtype=torch.bool)
    assert torch.all(pam[:, off_diagonal].abs() == 1)
    # a is an ancestor of c, so c is not an ancestor of a
    assert torch.all((pam == 1) <= (pam.transpose(1, 2) == -1))


@pytest.mark.parametrize("seed", range(4))
def test_revealed_pam_entries_agree_with_true_pam(seed):
    batch = sample_batch(64, generator(seed), PriorConfig(n_queries=4, max_context=64))
    revealed = batch.pam != 0
    assert revealed.any() and (~revealed).any()
    assert torch.equal(batch.pam[revealed], batch.true_pam[revealed])


def test_hide_entries_mixes_nothing_known_and_everything_known():
    # the documented shares: nothing known 20% (+ ~1% from the uniform scenario),
    # everything known 15% (+ ~1%); 4000 draws give a standard error below 0.007
    f, n = 6, 4000
    rng = np.random.default_rng(0)
    true = np.where(rng.random((f, f)) < 0.5, 1, -1)
    np.fill_diagonal(true, 0)
    true_pam = torch.tensor(true, dtype=torch.int8).expand(n, f, f).contiguous()
    pam = hide_entries(true_pam, generator(3))
    nothing_known = (pam == 0).all(dim=(1, 2)).float().mean().item()
    everything_known = (pam == true_pam).all(dim=(1, 2)).float().mean().item()
    assert nothing_known == pytest.approx(0.21, abs=0.03)
    assert everything_known == pytest.approx(0.16, abs=0.03)


def test_hide_entries_produces_the_unconfoundedness_pattern():
    # Prop. A.1's PAM: only "is an ancestor" entries involving T or Y are known
    f, n = 5, 2000
    true = torch.ones(f, f, dtype=torch.int8).triu(1) - torch.ones(f, f, dtype=torch.int8).tril(-1)
    true_pam = true.expand(n, f, f).contiguous()
    pam = hide_entries(true_pam, generator(4))
    involves_t_or_y = torch.zeros(f, f, dtype=torch.bool)
    involves_t_or_y[:2], involves_t_or_y[:, :2] = True, True
    pattern = torch.where(involves_t_or_y & (true == 1), true, torch.zeros_like(true))
    share = (pam == pattern).all(dim=(1, 2)).float().mean().item()
    assert share == pytest.approx(0.10, abs=0.03)


# -- SCM evaluation: a linear-Gaussian SCM built by hand

# nodes 0 = X, 1 = T, 2 = Y; X -> T, X -> Y, T -> Y
MU_X, X_ROOT, SD_X = 1.0, 0.8, 0.3
T_FROM_X, SD_T = 1.5, 0.5
Y_FROM_X, Y_FROM_T, Y_BIAS, SD_Y = -2.0, 0.7, 0.5, 0.4


def linear_gaussian_scm(*, standardise_y: bool = False, binary: bool = False) -> SCM:
    b, n, h = 1, 3, HIDDEN_UNITS
    weights_in = torch.zeros(b, n, n, h)
    weights_in[0, 1, 0, 0] = T_FROM_X
    weights_in[0, 2, 0, 0] = Y_FROM_X
    weights_in[0, 2, 1, 0] = Y_FROM_T
    weights_root = torch.zeros(b, n, h)
    weights_root[0, 0, 0] = X_ROOT
    bias = torch.zeros(b, n, h)
    bias[0, 0, 0], bias[0, 2, 0] = MU_X, Y_BIAS
    return SCM(
        adjacency=torch.tensor([[[0.0, 0, 0], [1, 0, 0], [1, 1, 0]]]),
        weights_in=weights_in,
        weights_root=weights_root,
        bias=bias,
        weights_out=torch.zeros(b, n, h),
        one_hidden_layer=torch.zeros(b, n, dtype=torch.bool),  # out = act(pre[..., 0])
        activation=torch.full((b, n), ACTIVATIONS.index("identity")),
        gp=sample_gp_functions((b, n), 8, generator(0)),
        noise_kind=torch.zeros(b, n, dtype=torch.long),  # normal
        noise_std=torch.tensor([[SD_X, SD_T, SD_Y]]),
        noise_mode=torch.full((b, n), NOISE_AFTER),
        weights_noise=torch.zeros(b, n, h),
        standardise=torch.tensor([[False, False, standardise_y]]),
        treatment=torch.tensor([1]),
        binary_treatment=torch.tensor([binary]),
        treatment_slope=torch.tensor([2.0]),
        treatment_threshold=torch.tensor([0.0]),
    )


def test_observational_pass_follows_the_linear_equations():
    scm = linear_gaussian_scm()
    noise = sample_noise(scm, 1000, generator(5))
    values, _ = evaluate(scm, noise)
    x = MU_X + X_ROOT * noise.exogenous[0, :, 0] + SD_X * noise.endogenous[0, :, 0]
    t = T_FROM_X * x + SD_T * noise.endogenous[0, :, 1]
    y = Y_BIAS + Y_FROM_X * x + Y_FROM_T * t + SD_Y * noise.endogenous[0, :, 2]
    torch.testing.assert_close(values[0], torch.stack([x, t, y], dim=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t", [-2.0, 0.0, 3.0])
def test_interventional_mean_matches_the_analytic_value(t):
    scm = linear_gaussian_scm()
    n = 200_000
    noise = sample_noise(scm, n, generator(6))
    _, stats = evaluate(scm, noise)
    values, _ = evaluate(scm, noise, treatment_values=torch.full((1, n), t), statistics=stats)
    y = values[0, :, 2].double()
    expected = Y_BIAS + Y_FROM_X * MU_X + Y_FROM_T * t  # E[Y | do(T = t)]: X keeps its law
    assert y.mean().item() == pytest.approx(expected, abs=5 * y.std().item() / n**0.5)
    # and differs from the confounded observational regression slope of Y on T
    obs, _ = evaluate(scm, noise)
    slope = np.polyfit(obs[0, :, 1].numpy(), obs[0, :, 2].numpy(), 1)[0]
    assert abs(slope - Y_FROM_T) > 0.5


def test_counterfactuals_of_the_same_units_differ_by_the_linear_effect():
    scm = linear_gaussian_scm()
    n = 500
    noise = sample_noise(scm, n, generator(7))
    _, stats = evaluate(scm, noise)
    t0 = torch.randn(1, n, generator=generator(8))
    t1 = t0 + torch.rand(1, n, generator=generator(9)) * 4 - 2
    y0 = evaluate(scm, noise, treatment_values=t0, statistics=stats)[0]
    y1 = evaluate(scm, noise, treatment_values=t1, statistics=stats)[0]
    torch.testing.assert_close(y1[0, :, 2] - y0[0, :, 2], Y_FROM_T * (t1 - t0)[0], rtol=0, atol=1e-5)
    assert torch.equal(y1[..., 0], y0[..., 0])  # X is upstream of T: unchanged
    assert torch.equal(y1[..., 1], t1) and torch.equal(y0[..., 1], t0)


def test_interventions_reuse_the_observational_standardisation():
    scm = linear_gaussian_scm(standardise_y=True)
    n = 500
    noise = sample_noise(scm, n, generator(10))
    _, stats = evaluate(scm, noise)
    y0 = evaluate(scm, noise, treatment_values=torch.zeros(1, n), statistics=stats)[0][0, :, 2]
    y1 = evaluate(scm, noise, treatment_values=torch.ones(1, n), statistics=stats)[0][0, :, 2]
    torch.testing.assert_close(y1 - y0, torch.full_like(y0, Y_FROM_T) / stats.std[0, 2], rtol=1e-5, atol=1e-5)


def test_binary_treatment_is_bernoulli_in_the_observational_pass_and_set_under_do():
    scm = linear_gaussian_scm(binary=True)
    n = 2000
    noise = sample_noise(scm, n, generator(11))
    values, stats = evaluate(scm, noise)
    t = values[0, :, 1]
    assert set(t.unique().tolist()) == {0.0, 1.0}
    # the propensity rises with X (T's parent, positive weight)
    x = values[0, :, 0]
    assert x[t == 1].mean() > x[t == 0].mean()
    y1 = evaluate(scm, noise, treatment_values=torch.ones(1, n), statistics=stats)[0][0, :, 2]
    y0 = evaluate(scm, noise, treatment_values=torch.zeros(1, n), statistics=stats)[0][0, :, 2]
    torch.testing.assert_close(y1 - y0, torch.full_like(y0, Y_FROM_T), rtol=0, atol=1e-5)


# -- rejection of degenerate data sets


def _dataset(n: int = 100, *, binary: bool = False, seed: int = 0):
    """One valid data set [t, y, x]: context (1, n, 3), queries and alt (1, 8, 3)."""
    g = generator(seed)
    context = torch.randn(1, n, 3, generator=g)
    if binary:
        context[0, :, 0] = (torch.arange(n) % 2).float()
    queries, alt = torch.randn(1, 8, 3, generator=g), torch.randn(1, 8, 3, generator=g)
    return context, queries, alt, SimpleNamespace(binary_treatment=torch.tensor([binary]))


def _is_valid(context, queries, alt, scm) -> bool:
    return bool(prior_batch._is_valid(context, queries, alt, scm).item())


@pytest.mark.parametrize("binary", [False, True])
def test_is_valid_accepts_a_regular_data_set(binary):
    assert _is_valid(*_dataset(binary=binary))


def test_is_valid_rejects_a_constant_outcome():
    context, queries, alt, scm = _dataset()
    context[0, :, 1] = 3.0
    assert not _is_valid(context, queries, alt, scm)


def test_is_valid_rejects_an_outcome_swamped_by_one_outlier():
    # variance on the range-normalised scale below 0.01 (the paper's rule)
    context, queries, alt, scm = _dataset()
    context[0, :, 1] = context[0, :, 1] * 0.01
    context[0, 0, 1] = 100.0
    assert not _is_valid(context, queries, alt, scm)


@pytest.mark.parametrize("n_levels,valid", [(19, False), (20, True)])
def test_is_valid_requires_20_percent_unique_outcomes(n_levels, valid):
    context, queries, alt, scm = _dataset(n=100)
    context[0, :, 1] = (torch.arange(100) % n_levels).float()
    assert _is_valid(context, queries, alt, scm) is valid


@pytest.mark.parametrize("n_treated,valid", [(0, False), (1, False), (2, True), (98, True), (99, False), (100, False)])
def test_is_valid_requires_two_units_in_each_binary_arm(n_treated, valid):
    context, queries, alt, scm = _dataset(n=100, binary=True)
    context[0, :, 0] = (torch.arange(100) < n_treated).float()
    assert _is_valid(context, queries, alt, scm) is valid


def test_is_valid_rejects_a_constant_continuous_treatment():
    context, queries, alt, scm = _dataset()
    context[0, :, 0] = 1.5
    assert not _is_valid(context, queries, alt, scm)


@pytest.mark.parametrize("where", ["context", "queries", "alt"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_is_valid_rejects_non_finite_values(where, value):
    context, queries, alt, scm = _dataset()
    {"context": context, "queries": queries, "alt": alt}[where][0, 3, 2] = value
    assert not _is_valid(context, queries, alt, scm)


def test_is_valid_judges_each_data_set_of_a_batch_separately():
    parts = [_dataset(seed=s) for s in range(3)]
    context, queries, alt = (torch.cat([p[i] for p in parts]) for i in range(3))
    context[1, :, 1] = 0.0
    scm = SimpleNamespace(binary_treatment=torch.tensor([False, False, False]))
    assert prior_batch._is_valid(context, queries, alt, scm).tolist() == [True, False, True]


def test_sampled_batches_contain_no_degenerate_data_sets():
    batch = sample_batch(64, generator(12), TINY_PRIOR)
    y = batch.context[:, :, 1]
    assert torch.isfinite(batch.context).all() and torch.isfinite(batch.queries).all()
    assert torch.isfinite(batch.alt_queries).all()
    for row in y:
        assert row.unique().numel() >= 0.2 * row.numel()
    treated = batch.context[batch.binary_treatment, :, 0].sum(1)
    assert torch.all((treated >= 2) & (treated <= batch.context.shape[1] - 2))


# -- batches


def test_sample_batch_shapes_and_dtypes():
    config = PriorConfig(n_queries=12)
    batch = sample_batch(5, generator(13), config, n_context=40, n_covariates=3)
    assert batch.context.shape == (5, 40, 5)
    assert batch.queries.shape == batch.alt_queries.shape == (5, 12, 5)
    assert batch.pam.shape == batch.true_pam.shape == (5, 5, 5)
    assert batch.pam.dtype == batch.true_pam.dtype == torch.int8
    assert batch.binary_treatment.shape == (5,) and batch.binary_treatment.dtype == torch.bool
    assert batch.context.dtype == torch.float32


def test_sample_batch_draws_sizes_within_the_config_ranges():
    for seed in range(6):
        batch = sample_batch(2, generator(seed), TINY_PRIOR)
        n, f = batch.context.shape[1:]
        assert TINY_PRIOR.min_context <= n <= TINY_PRIOR.max_context
        assert 3 <= f <= TINY_PRIOR.max_covariates + 2
        assert batch.queries.shape[1] == TINY_PRIOR.n_queries


def test_same_seed_gives_identical_batches():
    first = sample_batch(16, generator(14), TINY_PRIOR)
    second = sample_batch(16, generator(14), TINY_PRIOR)
    for name in first.__dataclass_fields__:
        assert torch.equal(getattr(first, name), getattr(second, name)), name


def test_different_seeds_give_different_batches():
    first = sample_batch(4, generator(15), TINY_PRIOR, n_context=30, n_covariates=2)
    second = sample_batch(4, generator(16), TINY_PRIOR, n_context=30, n_covariates=2)
    assert not torch.equal(first.context, second.context)


def test_binary_treatments_are_zero_or_one_in_context_and_queries():
    batch = sample_batch(48, generator(17), TINY_PRIOR)
    binary = batch.binary_treatment
    assert 0 < binary.sum() < len(binary)  # both kinds occur (about half each)
    for rows in (batch.context, batch.queries, batch.alt_queries):
        assert set(rows[binary, :, 0].unique().tolist()) == {0.0, 1.0}
    # the alternative query is the other arm of the same unit
    assert torch.equal(batch.alt_queries[binary, :, 0], 1 - batch.queries[binary, :, 0])


def test_continuous_interventions_spread_over_the_observed_treatment_range():
    # t' ~ U(mean -+ 3 sd) of the observed T (a continuous T node may still be discrete,
    # e.g. through a sign activation, so only the interventions are checked)
    batch = sample_batch(48, generator(18), TINY_PRIOR)
    for b in torch.nonzero(~batch.binary_treatment).flatten():
        t = batch.context[b, :, 0]
        for rows in (batch.queries, batch.alt_queries):
            t_new = rows[b, :, 0]
            assert t_new.unique().numel() == t_new.numel()
            assert torch.all((t_new - t.mean()).abs() <= 3 * t.std() + 1e-5)


def test_queries_and_alt_queries_share_their_units_covariates():
    # covariates upstream of T are the same unit's under both interventions
    batch = sample_batch(16, generator(19), TINY_PRIOR)
    upstream = batch.true_pam[:, 2:, 0] == 1  # covariate is an ancestor of T: (B, d)
    same = batch.queries[:, :, 2:] == batch.alt_queries[:, :, 2:]  # (B, M, d)
    assert torch.all(same.all(1) | ~upstream)
    assert upstream.any()


# -- binary covariates, two response surfaces, rare arms


def test_default_prior_draws_neither_binary_covariates_nor_arm_specific_outcomes():
    # older checkpoints' priors must replay exactly: the new options draw nothing when off
    adjacency = sample_dags(4, 5, generator(20))
    scm = sample_scms(adjacency, torch.full((4,), 3), generator(21))
    assert scm.discretise is None and scm.arm_specific is None and scm.treated_mechanism is None


def test_binary_covariate_prob_one_makes_every_covariate_zero_or_one_but_not_t_or_y(monkeypatch):
    captured = {}
    roles, scms = prior_batch._roles, prior_batch.sample_scms

    def capture_roles(*args, **kwargs):
        out = roles(*args, **kwargs)
        captured["treatment"], captured["outcome"] = out[1], out[2]
        return out

    def capture_scms(*args, **kwargs):
        captured["scm"] = scms(*args, **kwargs)
        return captured["scm"]

    monkeypatch.setattr(prior_batch, "_roles", capture_roles)
    monkeypatch.setattr(prior_batch, "sample_scms", capture_scms)
    config = PriorConfig(n_queries=8, binary_covariate_prob=1.0)
    context, queries, *_ = prior_batch._candidates(16, 60, 4, 1, config, generator(22))
    covariates = torch.cat([context[:, :, 2:], queries[:, :, 2:]], dim=1)
    assert set(covariates.unique().tolist()) <= {0.0, 1.0}
    rows = torch.arange(16)
    discretise = captured["scm"].discretise
    assert not discretise[rows, captured["treatment"]].any() and not discretise[rows, captured["outcome"]].any()
    assert discretise.sum() == 16 * (discretise.shape[1] - 2)


def test_arm_specific_outcome_gives_the_effect_of_two_linear_surfaces():
    alt_from_x, alt_bias = 1.5, -0.8
    weights_in = torch.zeros(1, 3, HIDDEN_UNITS)
    weights_in[0, 0, 0], weights_in[0, 1, 0] = alt_from_x, Y_FROM_T
    bias = torch.zeros(1, HIDDEN_UNITS)
    bias[0, 0] = alt_bias
    treated = NodeMechanism(weights_in, bias, torch.zeros(1, HIDDEN_UNITS), torch.tensor([0]))
    scm = replace(linear_gaussian_scm(binary=True), arm_specific=torch.tensor([True]), treated_mechanism=treated)
    n = 400
    noise = sample_noise(scm, n, generator(23))
    values, stats = evaluate(scm, noise)
    y1 = evaluate(scm, noise, treatment_values=torch.ones(1, n), statistics=stats)[0][0]
    y0 = evaluate(scm, noise, treatment_values=torch.zeros(1, n), statistics=stats)[0][0]
    x = y0[:, 0]
    expected = alt_bias - Y_BIAS + Y_FROM_T + (alt_from_x - Y_FROM_X) * x
    torch.testing.assert_close(y1[:, 2] - y0[:, 2], expected, rtol=0, atol=1e-4)
    # the observational outcome follows each unit's own arm
    t = values[0, :, 1] == 1
    torch.testing.assert_close(values[0, t, 2], y1[t, 2])
    torch.testing.assert_close(values[0, ~t, 2], y0[~t, 2])
    # switched off, the same SCM has the constant effect of the base surface
    plain = replace(scm, arm_specific=torch.tensor([False]))
    y1 = evaluate(plain, noise, treatment_values=torch.ones(1, n), statistics=stats)[0][0]
    torch.testing.assert_close(y1[:, 2] - y0[:, 2], torch.full((n,), Y_FROM_T), rtol=0, atol=1e-5)


def test_arm_specific_outcomes_make_effects_vary_across_units():
    def effect_spread(prob: float) -> float:
        config = PriorConfig(n_queries=32, binary_treatment_prob=1.0, backdoor_prob=1.0, arm_specific_prob=prob,
                             linear_gaussian=False)
        batch = sample_batch(64, generator(24), config, n_context=80, n_covariates=4)
        effect = (batch.alt_queries[..., 1] - batch.queries[..., 1]) * (1 - 2 * batch.queries[..., 0])
        return (effect.std(1) / batch.context[:, :, 1].std(1)).median().item()

    assert effect_spread(1.0) > 2 * effect_spread(0.0)


def test_arm_parent_drop_makes_the_treated_surface_ignore_some_parents_and_changes_nothing_else():
    adjacency = sample_dags(64, 6, generator(26))
    adjacency[:, 5, 4] = 1  # T (node 4) causes Y (node 5)
    treatment = torch.full((64,), 4)
    base = sample_scms(adjacency, treatment, generator(27), binary_treatment_prob=1.0, arm_specific_prob=1.0)
    dropped = sample_scms(adjacency, treatment, generator(27), binary_treatment_prob=1.0, arm_specific_prob=1.0,
                          arm_parent_drop=1.0)
    torch.testing.assert_close(dropped.weights_in, base.weights_in)
    torch.testing.assert_close(dropped.treated_mechanism.bias, base.treated_mechanism.bias)
    used = dropped.treated_mechanism.weights_in.abs().sum(-1) > 0  # (B, N): inputs the treated arm reads
    parents = adjacency[:, 5] > 0
    assert torch.all(used <= parents) and torch.all(used[:, 4])  # only parents, and always T
    assert (used.sum(-1) < parents.sum(-1)).any()  # some SCMs' treated arm ignores a parent
    assert torch.all((base.treated_mechanism.weights_in.abs().sum(-1) > 0) == parents)


def test_a_wider_threshold_range_gives_rarer_treatment_arms():
    def mean_treated_share(threshold_range) -> float:
        config = PriorConfig(n_queries=4, binary_treatment_prob=1.0, treatment_threshold_range=threshold_range)
        batch = sample_batch(64, generator(25), config, n_context=150, n_covariates=4)
        share = batch.context[:, :, 0].mean(1)
        return torch.minimum(share, 1 - share).mean().item()

    assert mean_treated_share((1.5, 2.0)) < mean_treated_share((-0.2, 0.2)) - 0.1


# -- skewed outcomes (IHDP's exponential surfaces, LaLonde's zero earnings)
def _two_arm_rows(n: int, seed: int) -> torch.Tensor:
    rows = torch.randn(4, n, 3, generator=generator(seed))
    rows[:, :, 0] = (torch.rand(4, n, generator=generator(seed + 1)) < 0.5).float()
    return rows


def test_skew_outcomes_maps_context_and_queries_alike_and_keeps_the_order():
    context, queries = _two_arm_rows(200, 0), _two_arm_rows(30, 2)
    alt = queries.clone()
    before = context[:, :, 1].clone()
    prior_batch.skew_outcomes(context, queries, alt, torch.zeros(4, dtype=torch.bool), 1.0, generator(4))
    torch.testing.assert_close(queries, alt)  # the same unit under the same arm: the same outcome
    assert not torch.allclose(context[:, :, 1], before)
    for old, new in zip(before, context[:, :, 1], strict=True):
        order = old.argsort()
        assert torch.all(new[order][1:] >= new[order][:-1])  # monotone map
    torch.testing.assert_close(context[:, :, [0, 2]], _two_arm_rows(200, 0)[:, :, [0, 2]])


def test_skew_outcomes_on_one_arm_leaves_the_other_arm_alone():
    maps_one_arm = []
    for seed in range(20):
        context = _two_arm_rows(100, seed)
        before = context.clone()
        prior_batch.skew_outcomes(context, context.clone(), context.clone(), torch.ones(4, dtype=torch.bool),
                                  1.0, generator(seed))
        for b in range(4):
            changed = context[b, :, 1] != before[b, :, 1]
            arms = context[b, changed, 0].unique()
            maps_one_arm.append(len(arms) == 1 and changed.sum() < 100)
            if maps_one_arm[-1]:  # the arm mapped is the one most rows are in
                assert arms.item() == float(context[b, :, 0].mean() >= 0.5)
    assert 0.2 < np.mean(maps_one_arm) < 0.8  # about half the data sets map a single arm


@pytest.mark.parametrize("headroom", [0.0, 1.0])
def test_skew_outcomes_keeps_queries_within_the_context_tail_plus_headroom(headroom):
    passed = []
    for seed in range(5):
        context, queries = _two_arm_rows(100, seed), _two_arm_rows(100, seed + 7) * 3.0  # queries reach further
        before = queries[:, :, 1].clone()
        prior_batch.skew_outcomes(context, queries, queries.clone(), torch.zeros(4, dtype=torch.bool), 1.0,
                                  generator(seed), headroom=headroom)
        # the exponential map stops at the context's largest outcome (plus headroom); the floor leaves the top alone
        bound = torch.maximum(context[:, :, 1].amax(1, keepdim=True), before)
        passed.append((queries[:, :, 1] > bound + 1e-4).any().item())
    assert any(passed) == (headroom > 0)


def test_outcome_transform_prob_zero_leaves_the_prior_stream_unchanged():
    config = replace(TINY_PRIOR, n_queries=8)
    plain = sample_batch(4, generator(0), config)
    off = sample_batch(4, generator(0), replace(config, outcome_transform_prob=0.0))
    on = sample_batch(4, generator(0), replace(config, outcome_transform_prob=1.0))
    torch.testing.assert_close(plain.context, off.context)
    assert not torch.allclose(plain.context[:, :, 1], on.context[:, :, 1])
