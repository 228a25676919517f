"""Random structural causal models, evaluated for a batch of SCMs at once.

Every SCM shares the node count N of its batch; graphs, mechanisms and noise differ.
Nodes are indexed in topological order. Evaluation is ancestral sampling with the
exogenous noise passed in, so the same noise under an intervention gives each unit's
counterfactual outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .mechanisms import ACTIVATION_WEIGHTS, HIDDEN_WIDTH_WEIGHTS, HIDDEN_WIDTHS, apply_activation, sample_gp_functions
from .noise import N_NOISE_KINDS, standard_noise

HIDDEN_UNITS = int(HIDDEN_WIDTHS.max())
GP_FEATURES = 64
NOISE_AFTER, NOISE_BEFORE, NOISE_AS_INPUT = 0, 1, 2
MAX_ABS_NODE_VALUE = 1e4


@dataclass(frozen=True)
class SCM:
    """Parameters of B structural causal models over N nodes (H hidden units per node)."""

    adjacency: torch.Tensor  # (B, N, N): [b, i, j] = 1 when j is a parent of i
    weights_in: torch.Tensor  # (B, N, N, H), zero where there is no edge
    weights_root: torch.Tensor  # (B, N, H): how a parentless node reads its exogenous noise
    bias: torch.Tensor  # (B, N, H)
    weights_out: torch.Tensor  # (B, N, H), zero beyond the node's hidden width
    one_hidden_layer: torch.Tensor  # (B, N) bool; False: out = act(pre[..., 0])
    activation: torch.Tensor  # (B, N) index into ACTIVATIONS
    gp: tuple[torch.Tensor, ...]  # random-feature GP draws, each (B, N, G)
    noise_kind: torch.Tensor  # (B, N)
    noise_std: torch.Tensor  # (B, N)
    noise_mode: torch.Tensor  # (B, N): after / before the activation, or as an input
    weights_noise: torch.Tensor  # (B, N, H)
    standardise: torch.Tensor  # (B, N) bool: BatchNorm-like standardisation of the node
    treatment: torch.Tensor  # (B,) node index of T
    binary_treatment: torch.Tensor  # (B,) bool
    treatment_slope: torch.Tensor  # (B,) sharpness of P(T=1 | parents)
    treatment_threshold: torch.Tensor  # (B,)
    # optional: covariate nodes cut into 0/1 at a threshold on their standardised value
    discretise: torch.Tensor | None = None  # (B, N) bool
    discretise_threshold: torch.Tensor | None = None  # (B, N)
    # optional: the last node (the outcome in the backdoor design) follows a second
    # mechanism where the binary treatment is 1, so effects vary with the covariates
    arm_specific: torch.Tensor | None = None  # (B,) bool
    treated_mechanism: NodeMechanism | None = None

    @property
    def n_nodes(self) -> int:
        return self.adjacency.shape[-1]

    def select(self, keep: torch.Tensor) -> SCM:
        """The sub-batch of SCMs at indices ``keep``."""
        return SCM(**{name: _select(getattr(self, name), keep) for name in self.__dataclass_fields__})


@dataclass(frozen=True)
class NodeMechanism:
    """One node's mechanism for B SCMs: input weights (B, N, H), bias, output weights, activation."""

    weights_in: torch.Tensor
    bias: torch.Tensor  # (B, H)
    weights_out: torch.Tensor  # (B, H)
    activation: torch.Tensor  # (B,)

    def select(self, keep: torch.Tensor) -> NodeMechanism:
        return NodeMechanism(*(_select(getattr(self, name), keep) for name in self.__dataclass_fields__))


def _select(value, keep: torch.Tensor):
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(v[keep] for v in value)
    if isinstance(value, NodeMechanism):
        return value.select(keep)
    return value[keep]


@dataclass(frozen=True)
class Noise:
    endogenous: torch.Tensor  # (B, R, N), unit variance
    exogenous: torch.Tensor  # (B, R, N)
    treatment_uniform: torch.Tensor  # (B, R): the unit's draw for a Bernoulli treatment

    def rows(self, index: slice) -> Noise:
        return Noise(self.endogenous[:, index], self.exogenous[:, index], self.treatment_uniform[:, index])


@dataclass(frozen=True)
class NodeStatistics:
    """Per-node mean and std from the observational pass, reused under interventions."""

    mean: torch.Tensor  # (B, N)
    std: torch.Tensor  # (B, N)


def _categorical(weights: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    n = int(torch.tensor(shape).prod())
    return torch.multinomial(weights.float(), n, replacement=True, generator=generator).view(shape)


def sample_scms(
    adjacency: torch.Tensor,
    treatment: torch.Tensor,
    generator: torch.Generator,
    *,
    binary_treatment_prob: float = 0.5,
    linear_gaussian: bool = False,
    treatment_threshold_range: tuple[float, float] = (-1.0, 1.0),
    binary_covariate_prob: float = 0.0,
    arm_specific_prob: float = 0.0,
    arm_parent_drop: float = 0.0,
) -> SCM:
    """Random mechanisms and noise for the given graphs and treatment nodes.

    ``binary_covariate_prob`` is each node's chance to be cut into 0/1 (callers clear it
    for the treatment and outcome); ``arm_specific_prob`` is each SCM's chance that its
    last node follows a second, correlated mechanism where a binary treatment parent is 1.
    ``arm_parent_drop`` lets that second mechanism ignore parents of the first: each parent
    but T is left out with a probability drawn per SCM from U(0, arm_parent_drop), so the
    treated arm may not respond to a cause of the control arm's outcome (an effect that
    cancels a prognostic covariate). None of them draws random numbers when 0, so older
    priors replay exactly.
    """
    b, n = adjacency.shape[:2]
    h = HIDDEN_UNITS
    fan_in = adjacency.sum(-1).clamp(min=1)  # (B, N)
    weights_in = _input_weights(adjacency, fan_in, generator)
    width = HIDDEN_WIDTHS[_categorical(HIDDEN_WIDTH_WEIGHTS, (b, n), generator)]
    weights_out = _output_weights(width, generator)
    activation = _categorical(ACTIVATION_WEIGHTS, (b, n), generator)
    one_hidden = torch.rand(b, n, generator=generator) < 0.2
    # noise scale: a data-set-wide level with node-to-node variation
    level = torch.exp(torch.empty(b, 1).uniform_(-3.0, 0.0, generator=generator))
    noise_std = level * torch.exp(0.3 * torch.randn(b, n, generator=generator))
    noise_kind = torch.randint(0, N_NOISE_KINDS, (b, n), generator=generator)
    noise_mode = torch.randint(0, 3, (b, n), generator=generator)
    if linear_gaussian:
        activation = torch.zeros_like(activation)
        one_hidden = torch.zeros_like(one_hidden)
        noise_kind = torch.zeros_like(noise_kind)
        noise_mode = torch.full_like(noise_mode, NOISE_AFTER)
        noise_std = torch.exp(torch.empty(b, n).uniform_(-1.5, 0.0, generator=generator))
    binary_treatment = torch.rand(b, generator=generator) < binary_treatment_prob
    slope = torch.exp(torch.empty(b).uniform_(0.0, 2.5, generator=generator))
    threshold = torch.empty(b).uniform_(*treatment_threshold_range, generator=generator)
    extras = {}
    if binary_covariate_prob > 0:
        extras["discretise"] = torch.rand(b, n, generator=generator) < binary_covariate_prob
        extras["discretise_threshold"] = torch.empty(b, n).uniform_(-1.0, 1.0, generator=generator)
    if arm_specific_prob > 0:
        has_edge = adjacency[torch.arange(b), n - 1, treatment] > 0
        extras["arm_specific"] = (torch.rand(b, generator=generator) < arm_specific_prob) & binary_treatment & has_edge
        extras["treated_mechanism"] = _correlated_mechanism(
            weights_in[:, n - 1], weights_out[:, n - 1], activation[:, n - 1], generator,
            fan_in=fan_in[:, n - 1], width=width[:, n - 1], adjacency=adjacency[:, n - 1],
        )
    scm = SCM(
        adjacency=adjacency,
        weights_in=weights_in,
        weights_root=torch.randn(b, n, h, generator=generator),
        bias=torch.randn(b, n, h, generator=generator) * 0.5 * (not linear_gaussian),
        weights_out=weights_out,
        one_hidden_layer=one_hidden,
        activation=activation,
        gp=sample_gp_functions((b, n), GP_FEATURES, generator),
        noise_kind=noise_kind,
        noise_std=noise_std,
        noise_mode=noise_mode,
        weights_noise=torch.randn(b, n, h, generator=generator),
        standardise=torch.rand(b, n, generator=generator) < 0.5,
        treatment=treatment,
        binary_treatment=binary_treatment,
        treatment_slope=slope,
        treatment_threshold=threshold,
        **extras,
    )
    if arm_parent_drop > 0 and scm.treated_mechanism is not None:  # drawn last: the rest of the SCM is unchanged
        scm = replace(scm, treated_mechanism=_drop_parents(
            scm.treated_mechanism, adjacency[:, n - 1], treatment, arm_parent_drop, generator))
    return scm


def _input_weights(adjacency: torch.Tensor, fan_in: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian weights from each parent to each hidden unit, scaled by 1/sqrt(fan-in): (*adjacency.shape, H)."""
    weights = torch.randn(*adjacency.shape, HIDDEN_UNITS, generator=generator) / fan_in.sqrt()[..., None, None]
    return weights * adjacency[..., None]


def _output_weights(width: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian weights from the first ``width`` hidden units to the output, zero beyond: (*width.shape, H)."""
    weights = torch.randn(*width.shape, HIDDEN_UNITS, generator=generator) / width.sqrt()[..., None]
    return weights * (torch.arange(HIDDEN_UNITS) < width[..., None])


def _correlated_mechanism(
    weights_in: torch.Tensor, weights_out: torch.Tensor, activation: torch.Tensor, generator: torch.Generator,
    *, fan_in: torch.Tensor, width: torch.Tensor, adjacency: torch.Tensor,
) -> NodeMechanism:
    """A second mechanism for one node per SCM, correlated with the first by rho ~ U(0, 1).

    rho near 1 gives effects that vary little with the covariates, near 0 two unrelated
    response surfaces (as in IHDP's and ACIC's simulations).
    """
    b = weights_in.shape[0]
    rho = torch.rand(b, generator=generator)
    mix = rho[:, None, None], (1 - rho**2).sqrt()[:, None, None]
    fresh_in = _input_weights(adjacency, fan_in, generator)
    fresh_out = _output_weights(width, generator)
    same_activation = torch.rand(b, generator=generator) < 0.5
    fresh_activation = _categorical(ACTIVATION_WEIGHTS, (b,), generator)
    return NodeMechanism(
        weights_in=mix[0] * weights_in + mix[1] * fresh_in,
        bias=torch.randn(b, HIDDEN_UNITS, generator=generator) * 0.5,
        weights_out=mix[0][:, 0] * weights_out + mix[1][:, 0] * fresh_out,
        activation=torch.where(same_activation, activation, fresh_activation),
    )


def _drop_parents(mechanism: NodeMechanism, parents: torch.Tensor, treatment: torch.Tensor, most: float,
                  generator: torch.Generator) -> NodeMechanism:
    """``mechanism`` (B SCMs) with each parent in ``parents`` (B, N) but the treatment
    left out with a probability drawn per SCM from U(0, most); the kept inputs are scaled
    up so the hidden units keep their variance."""
    b, n = parents.shape
    share = torch.rand(b, generator=generator) * most
    keep = (torch.rand(b, n, generator=generator) >= share[:, None]) | (torch.arange(n) == treatment[:, None])
    kept = (parents * keep).sum(-1).clamp(min=1)
    scale = (parents.sum(-1).clamp(min=1) / kept).sqrt()
    return replace(mechanism, weights_in=mechanism.weights_in * (keep * scale[:, None])[..., None])


def sample_noise(scm: SCM, n_rows: int, generator: torch.Generator) -> Noise:
    b, n = scm.adjacency.shape[:2]
    endogenous = standard_noise(scm.noise_kind, n_rows, generator)
    exogenous_kind = torch.randint(0, N_NOISE_KINDS, (b, 1), generator=generator).expand(b, n)
    exogenous = standard_noise(exogenous_kind, n_rows, generator)
    return Noise(endogenous, exogenous, torch.rand(b, n_rows, generator=generator))


def _node_output(
    scm: SCM, mechanism: NodeMechanism, values: torch.Tensor, noise: Noise, i: int, is_root: torch.Tensor
) -> torch.Tensor:
    """Node i's value (B, R) from its parents' ``values`` under ``mechanism``, before scaling."""
    pre = values @ mechanism.weights_in + mechanism.bias[:, None, :]  # (B, R, H)
    pre = pre + (noise.exogenous[:, :, i, None] * scm.weights_root[:, i, None, :]) * is_root[:, None, None]
    eps = noise.endogenous[:, :, i] * scm.noise_std[:, i, None]  # (B, R)
    mode = scm.noise_mode[:, i, None, None]
    pre = pre + (mode == NOISE_BEFORE) * eps[..., None]
    pre = pre + (mode == NOISE_AS_INPUT) * eps[..., None] * scm.weights_noise[:, i, None, :]
    activated = apply_activation(pre, mechanism.activation, tuple(g[:, i] for g in scm.gp))
    hidden_sum = (activated * mechanism.weights_out[:, None, :]).sum(-1)
    out = torch.where(scm.one_hidden_layer[:, i, None], hidden_sum, activated[..., 0])
    out = out + (scm.noise_mode[:, i, None] == NOISE_AFTER) * eps
    return torch.nan_to_num(out, nan=0.0).clamp(-MAX_ABS_NODE_VALUE, MAX_ABS_NODE_VALUE)


def evaluate(
    scm: SCM,
    noise: Noise,
    *,
    treatment_values: torch.Tensor | None = None,
    statistics: NodeStatistics | None = None,
) -> tuple[torch.Tensor, NodeStatistics]:
    """Ancestral sampling; with ``treatment_values`` (B, R) it evaluates do(T = t).

    Node standardisation uses ``statistics`` when given (interventions reuse the
    observational ones, so the mechanisms stay fixed); otherwise they are computed here.
    Returns node values (B, R, N) and the statistics used.
    """
    b, n_rows, n = noise.endogenous.shape
    values = torch.zeros(b, n_rows, n)
    means, stds = torch.zeros(b, n), torch.ones(b, n)
    is_root = scm.adjacency.sum(-1) == 0  # (B, N)
    rows = torch.arange(b)
    for i in range(n):
        own = NodeMechanism(scm.weights_in[:, i], scm.bias[:, i], scm.weights_out[:, i], scm.activation[:, i])
        out = _node_output(scm, own, values, noise, i, is_root[:, i])
        if i == n - 1 and scm.arm_specific is not None and scm.arm_specific.any():
            treated = values[rows, :, scm.treatment] > 0.5  # (B, R); binary T precedes this node
            alternative = _node_output(scm, scm.treated_mechanism, values, noise, i, is_root[:, i])
            out = torch.where(scm.arm_specific[:, None] & treated, alternative, out)
        if statistics is None:
            means[:, i] = out.mean(dim=1)
            stds[:, i] = out.std(dim=1).clamp(min=1e-6)
        else:
            means[:, i], stds[:, i] = statistics.mean[:, i], statistics.std[:, i]
        scaled = (out - means[:, i, None]) / stds[:, i, None]
        # huge scales are standardised always, so one node cannot swamp its children
        standardise = scm.standardise[:, i] | (stds[:, i] > 100)
        out = torch.where(standardise[:, None], scaled, out)
        if scm.discretise is not None:
            cut = (scaled > scm.discretise_threshold[:, i, None]).to(out.dtype)
            out = torch.where(scm.discretise[:, i, None], cut, out)
        is_treatment = scm.treatment == i
        if is_treatment.any():
            probability = torch.sigmoid(scm.treatment_slope[:, None] * (scaled - scm.treatment_threshold[:, None]))
            binary = (noise.treatment_uniform < probability).float()
            out = torch.where((is_treatment & scm.binary_treatment)[:, None], binary, out)
            if treatment_values is not None:
                out = torch.where(is_treatment[:, None], treatment_values, out)
        values[:, :, i] = out
    return values, NodeStatistics(means, stds)

