"""Batches of prior data sets: observational context, counterfactual queries and PAMs."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .dag import ancestor_relation, sample_dags
from .scm import SCM, evaluate, sample_noise, sample_scms

# Raise this when a change to the sampling code changes what a PriorConfig draws: a resumed
# run then records the new code in its prior_history even though the settings are the same.
# 1: skewed outcomes with headroom; entries written before the version existed carry none.
PRIOR_VERSION = 1


@dataclass(frozen=True)
class PriorConfig:
    """Settings of the causal prior."""

    min_context: int = 20
    max_context: int = 256
    n_queries: int = 48
    max_covariates: int = 20
    max_latent: int = 3  # unobserved nodes, so hidden confounding occurs
    binary_treatment_prob: float = 0.5
    backdoor_prob: float = 0.5  # SCMs laid out as X -> T -> Y, X -> Y (the benchmarks' design)
    # per data set, each node points into T and into Y with a probability drawn from this
    # range; up to 1.0 so that "every covariate confounds" (the unconfoundedness PAM) is common
    backdoor_edge_prob: tuple[float, float] = (0.5, 1.0)
    # per data set, the weights from T into its children are multiplied by a log-uniform
    # factor from this range: without it half the effects are under 0.05 sd(Y) and the
    # model learns to shrink every effect towards zero
    treatment_edge_scale: tuple[float, float] = (1.0, 4.0)
    outcome_after_treatment_prob: float = 0.85  # otherwise Y may precede T (no effect)
    intervention_range: float = 3.0  # continuous t' ~ mean +- range * sd of observed T
    linear_gaussian: bool = False
    # P(T=1) = sigmoid(slope * (z - threshold)) for T's standardised pre-value z: a wider
    # threshold range gives rarer arms and poorer overlap (LaLonde: 1-7% treated)
    treatment_threshold_range: tuple[float, float] = (-1.0, 1.0)
    # each covariate's chance to be a 0/1 variable (most benchmark covariates are binary)
    binary_covariate_prob: float = 0.0
    # each SCM's chance that its last node (the outcome in the backdoor design) follows its
    # own mechanism under treatment, when a binary T is its parent: two response
    # surfaces, as in IHDP and ACIC
    arm_specific_prob: float = 0.0
    # with two response surfaces, the treated one ignores each of the outcome's other
    # parents with a probability drawn per SCM from U(0, this): treatment may cancel what
    # a covariate does to the outcome (LaLonde PSID: treated earnings flat in prior earnings)
    arm_parent_drop: float = 0.0
    # each data set's chance that its outcome is passed through a skewing map (see
    # ``skew_outcomes``): exponential surfaces as in IHDP's, or earnings-like outcomes
    # censored at zero as in LaLonde's, which the SCMs' bounded mechanisms do not reach
    outcome_transform_prob: float = 0.0
    # how far (in the context's standard deviations) the exponential map's input may go
    # beyond the context's largest outcome; 0 keeps every query within the context's tail
    outcome_exp_headroom: float = 0.0


@dataclass(frozen=True)
class PriorBatch:
    """B data sets with F = d + 2 variables in the model's order [t, y, x_1..x_d].

    ``queries[..., 1]`` holds the target y(t') of the query's own unit (its noise held
    fixed) under do(T = queries[..., 0]); ``alt_queries`` hold the same units under a
    second intervention (the other arm for binary T), so ``alt - queries`` is the
    unit's true effect. Unscaled: the training loop scales with ``skcfm.preprocessing``.
    """

    context: torch.Tensor  # (B, N, F)
    queries: torch.Tensor  # (B, M, F)
    alt_queries: torch.Tensor  # (B, M, F)
    pam: torch.Tensor  # (B, F, F) int8, revealed part of the true ancestor relation
    true_pam: torch.Tensor  # (B, F, F) int8, fully revealed
    binary_treatment: torch.Tensor  # (B,) bool


def _roles(adjacency: torch.Tensor, n_covariates: int, config: PriorConfig, generator: torch.Generator):
    """Pick treatment, outcome and observed covariates per SCM; may add edges (backdoor)."""
    b, n = adjacency.shape[:2]
    backdoor = torch.rand(b, generator=generator) < config.backdoor_prob
    treatment = torch.floor(torch.rand(b, generator=generator) * (n - 1)).long()
    after = treatment + 1 + torch.floor(torch.rand(b, generator=generator) * (n - 1 - treatment)).long()
    anywhere = torch.floor(torch.rand(b, generator=generator) * (n - 1)).long()
    anywhere = anywhere + (anywhere >= treatment).long()  # any node but T
    outcome = torch.where(torch.rand(b, generator=generator) < config.outcome_after_treatment_prob, after, anywhere)
    treatment = torch.where(backdoor, n - 2, treatment)
    outcome = torch.where(backdoor, n - 1, outcome)
    # backdoor design: T -> Y always, other nodes point into T and Y with extra probability
    low, high = config.backdoor_edge_prob
    edge_prob = low + (high - low) * torch.rand(b, 1, 1, generator=generator)
    extra = (torch.rand(b, 2, n, generator=generator) < edge_prob).float() * backdoor[:, None, None]
    adjacency = adjacency.clone()
    adjacency[:, n - 2, : n - 2] = torch.maximum(adjacency[:, n - 2, : n - 2], extra[:, 0, : n - 2])
    adjacency[:, n - 1, : n - 2] = torch.maximum(adjacency[:, n - 1, : n - 2], extra[:, 1, : n - 2])
    adjacency[:, n - 1, n - 2] = torch.where(backdoor, 1.0, adjacency[:, n - 1, n - 2])
    # covariates: a random subset of the other nodes, in random column order
    scores = torch.rand(b, n, generator=generator)
    scores[torch.arange(b), treatment] = 2.0
    scores[torch.arange(b), outcome] = 2.0
    covariates = scores.argsort(dim=1)[:, :n_covariates]
    observed = torch.cat([treatment[:, None], outcome[:, None], covariates], dim=1)  # (B, F)
    return adjacency, treatment, outcome, observed


def _true_pam(adjacency: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    ancestors = ancestor_relation(adjacency)  # [a, c]: a ancestor of c
    index = observed[:, :, None].expand(-1, -1, adjacency.shape[-1])
    rows = ancestors.gather(1, index)
    sub = rows.gather(2, observed[:, None, :].expand(-1, observed.shape[1], -1))
    pam = torch.where(sub > 0, 1, -1).to(torch.int8)
    return pam * (1 - torch.eye(pam.shape[-1], dtype=torch.int8))


def hide_entries(true_pam: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Hide a random share of PAM entries per data set, from all known to none known.

    Mixture: nothing known (20%), everything known (15%), only relations involving T or
    Y (20%), only the known-ancestor entries involving T or Y — the pattern of the
    unconfoundedness PAM (10%), and a uniform hidden share otherwise.
    """
    b, f = true_pam.shape[:2]
    scenario = torch.multinomial(torch.tensor([0.2, 0.15, 0.2, 0.1, 0.35]), b, replacement=True, generator=generator)
    share = torch.rand(b, generator=generator)
    hidden_prob = torch.stack([torch.ones(b), torch.zeros(b), torch.zeros(b), torch.zeros(b), share], dim=1)
    hidden_prob = hidden_prob.gather(1, scenario[:, None]).squeeze(1)
    keep = torch.rand(b, f, f, generator=generator) >= hidden_prob[:, None, None]
    involves_t_or_y = torch.zeros(f, f, dtype=torch.bool)
    involves_t_or_y[:2, :] = True
    involves_t_or_y[:, :2] = True
    only_t_y = (scenario == 2) | (scenario == 3)
    keep = keep & (~only_t_y[:, None, None] | involves_t_or_y)
    keep = keep & ((scenario != 3)[:, None, None] | (true_pam == 1))
    return true_pam * keep.to(torch.int8)


def _interventions(scm: SCM, context_t: torch.Tensor, n_queries: int, config: PriorConfig, generator: torch.Generator):
    b = context_t.shape[0]
    arm = (torch.rand(b, n_queries, generator=generator) < 0.5).float()
    mean, sd = context_t.mean(1, keepdim=True), context_t.std(1, keepdim=True)
    spread = config.intervention_range * sd
    first = mean + spread * (2 * torch.rand(b, n_queries, generator=generator) - 1)
    second = mean + spread * (2 * torch.rand(b, n_queries, generator=generator) - 1)
    binary = scm.binary_treatment[:, None]
    return torch.where(binary, arm, first), torch.where(binary, 1 - arm, second)


def _is_valid(context: torch.Tensor, queries: torch.Tensor, alt: torch.Tensor, scm: SCM) -> torch.Tensor:
    finite = torch.isfinite(context).all((1, 2)) & torch.isfinite(queries).all((1, 2)) & torch.isfinite(alt).all((1, 2))
    y = context[:, :, 1]
    y_range = (y.amax(1) - y.amin(1)).clamp(min=1e-12)
    normalised_var = (y / y_range[:, None]).var(1)  # the paper's rule: variance on [-1, 1] scale
    unique_share = torch.tensor([torch.unique(row).numel() / row.numel() for row in y])
    treated = context[:, :, 0].sum(1)
    both_arms = (treated >= 2) & (treated <= context.shape[1] - 2)
    t_varies = context[:, :, 0].std(1) > 1e-6
    return finite & (normalised_var >= 0.01) & (unique_share >= 0.2) & t_varies & (both_arms | ~scm.binary_treatment)


def _scale_treatment_edges(scm: SCM, treatment: torch.Tensor, scale_range: tuple[float, float], generator) -> None:
    """Multiply each SCM's input weights from T into its children by a log-uniform factor."""
    low, high = (torch.tensor(float(v)).log() for v in scale_range)
    b = treatment.shape[0]
    scale = torch.exp(low + (high - low) * torch.rand(b, generator=generator))
    rows = torch.arange(b)
    scm.weights_in[rows, :, treatment] = scm.weights_in[rows, :, treatment] * scale[:, None, None]
    if scm.treated_mechanism is not None:
        weights = scm.treated_mechanism.weights_in
        weights[rows, treatment] = weights[rows, treatment] * scale[:, None]


OUTCOME_EXP_RATE = (0.3, 1.0)  # exp(rate * z) for the standardised outcome z
OUTCOME_CENSOR_SHARE = (0.1, 0.6)  # share of the context's outcomes set to the floor


def skew_outcomes(context: torch.Tensor, queries: torch.Tensor, alt: torch.Tensor, binary: torch.Tensor,
                  prob: float, generator: torch.Generator, headroom: float = 0.0) -> None:
    """Pass the outcome column (1) of a share ``prob`` of the data sets through a monotone map, in place.

    The map is the same for the context and both query sets, so effects stay the units'
    own: ``y' = g(y)`` is one more mechanism of the SCM. With z the outcome standardised on
    the context, g is either ``exp(rate * z)`` (a right tail, half the time) or
    ``max(z, floor)`` with the floor at a context quantile (a point mass, as zero
    earnings). With a binary treatment, half the chosen data sets map one arm's
    outcomes only, the arm most context rows are in: a skewed surface beside a plain one,
    IHDP's setting B (there the controls' surface is exponential). z is capped at the
    context's largest value plus ``headroom``, so queries reach little beyond what the
    context shows of the tail (a rare arm's exponential surface, uncapped, gave effects of
    100 standard deviations).
    """
    b = context.shape[0]
    chosen = torch.rand(b, generator=generator) < prob
    exponential = torch.rand(b, generator=generator) < 0.5
    low, high = OUTCOME_EXP_RATE
    rate = low + (high - low) * torch.rand(b, generator=generator)
    low, high = OUTCOME_CENSOR_SHARE
    share = low + (high - low) * torch.rand(b, generator=generator)
    one_arm = binary & (torch.rand(b, generator=generator) < 0.5)
    arm = (context[:, :, 0].mean(1) >= 0.5).float()  # the majority arm
    y = context[:, :, 1]
    mean, sd = y.mean(1, keepdim=True), y.std(1, keepdim=True).clamp(min=1e-6)
    ranked = ((y - mean) / sd).sort(1).values
    floor = ranked.gather(1, (share * (y.shape[1] - 1)).long()[:, None]).squeeze(1)
    ceiling = ranked[:, -1:] + headroom
    for rows in (context, queries, alt):
        z = (rows[:, :, 1] - mean) / sd
        mapped = torch.where(exponential[:, None], torch.exp(rate[:, None] * torch.minimum(z, ceiling)),
                             torch.maximum(z, floor[:, None]))
        apply = chosen[:, None] & (~one_arm[:, None] | (rows[:, :, 0] == arm[:, None]))
        rows[:, :, 1] = torch.where(apply, mapped * sd + mean, rows[:, :, 1])


def _candidates(batch_size: int, n_context: int, n_covariates: int, n_latent: int, config: PriorConfig, generator):
    n_nodes = 2 + n_covariates + n_latent
    adjacency = sample_dags(batch_size, n_nodes, generator)
    adjacency, treatment, outcome, observed = _roles(adjacency, n_covariates, config, generator)
    scm = sample_scms(
        adjacency, treatment, generator,
        binary_treatment_prob=config.binary_treatment_prob, linear_gaussian=config.linear_gaussian,
        treatment_threshold_range=config.treatment_threshold_range,
        binary_covariate_prob=config.binary_covariate_prob, arm_specific_prob=config.arm_specific_prob,
        arm_parent_drop=config.arm_parent_drop,
    )
    if scm.discretise is not None:  # treatment and outcome keep their own types
        rows = torch.arange(batch_size)
        scm.discretise[rows, treatment] = False
        scm.discretise[rows, outcome] = False
    _scale_treatment_edges(scm, treatment, config.treatment_edge_scale, generator)
    noise = sample_noise(scm, n_context + config.n_queries, generator)
    values, stats = evaluate(scm, noise)
    context = values[:, :n_context].gather(2, observed[:, None, :].expand(-1, n_context, -1))
    t_query, t_alt = _interventions(scm, context[:, :, 0], config.n_queries, config, generator)
    query_noise = noise.rows(slice(n_context, None))
    gather_query = observed[:, None, :].expand(-1, config.n_queries, -1)
    queries = evaluate(scm, query_noise, treatment_values=t_query, statistics=stats)[0].gather(2, gather_query)
    alt = evaluate(scm, query_noise, treatment_values=t_alt, statistics=stats)[0].gather(2, gather_query)
    if config.outcome_transform_prob > 0:  # drawn only when on, so other priors keep their streams
        skew_outcomes(context, queries, alt, scm.binary_treatment, config.outcome_transform_prob, generator,
                      config.outcome_exp_headroom)
    true_pam = _true_pam(scm.adjacency, observed)
    valid = _is_valid(context, queries, alt, scm)
    return context, queries, alt, true_pam, scm.binary_treatment, valid


def sample_batch(
    batch_size: int,
    generator: torch.Generator,
    config: PriorConfig = PriorConfig(),
    *,
    n_context: int | None = None,
    n_covariates: int | None = None,
) -> PriorBatch:
    """Draw ``batch_size`` valid data sets sharing one context size and covariate count.

    Sizes not given are drawn from the config's ranges (one per batch, so no padding).
    Degenerate data sets (constant or near-discrete outcomes, a binary treatment with
    fewer than two units in an arm, non-finite values) are rejected and redrawn.
    """
    if n_context is None:
        n_context = int(torch.randint(config.min_context, config.max_context + 1, (1,), generator=generator))
    if n_covariates is None:
        n_covariates = int(torch.randint(1, config.max_covariates + 1, (1,), generator=generator))
    n_latent = int(torch.randint(0, config.max_latent + 1, (1,), generator=generator))
    parts: list[tuple[torch.Tensor, ...]] = []
    n_valid = 0
    with torch.no_grad():
        while n_valid < batch_size:
            drawn = _candidates(batch_size + batch_size // 4 + 1, n_context, n_covariates, n_latent, config, generator)
            valid = drawn[-1]
            parts.append(tuple(x[valid] for x in drawn[:-1]))
            n_valid += int(valid.sum())
    context, queries, alt, true_pam, binary = (torch.cat(xs)[:batch_size] for xs in zip(*parts, strict=True))
    return PriorBatch(context, queries, alt, hide_entries(true_pam, generator), true_pam, binary)
