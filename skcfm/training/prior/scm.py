"""Random structural causal models, evaluated for a batch of SCMs at once.

Every SCM shares the node count N of its batch; graphs, mechanisms and noise differ.
Nodes are indexed in topological order. Evaluation is ancestral sampling with the
exogenous noise passed in, so the same noise under an intervention gives each unit's
counterfactual outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def n_nodes(self) -> int:
        return self.adjacency.shape[-1]

    def select(self, keep: torch.Tensor) -> SCM:
        """The sub-batch of SCMs at indices ``keep``."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return SCM(**{
            name: tuple(v[keep] for v in value) if isinstance(value, tuple) else value[keep]
            for name, value in fields.items()
        })


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
) -> SCM:
    """Random mechanisms and noise for the given graphs and treatment nodes."""
    b, n = adjacency.shape[:2]
    h = HIDDEN_UNITS
    fan_in = adjacency.sum(-1).clamp(min=1)  # (B, N)
    weights_in = torch.randn(b, n, n, h, generator=generator) / fan_in.sqrt()[..., None, None]
    weights_in = weights_in * adjacency[..., None]
    width = HIDDEN_WIDTHS[_categorical(HIDDEN_WIDTH_WEIGHTS, (b, n), generator)]
    weights_out = torch.randn(b, n, h, generator=generator) / width.sqrt()[..., None]
    weights_out = weights_out * (torch.arange(h) < width[..., None])
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
    return SCM(
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
        binary_treatment=torch.rand(b, generator=generator) < binary_treatment_prob,
        treatment_slope=torch.exp(torch.empty(b).uniform_(0.0, 2.5, generator=generator)),
        treatment_threshold=torch.empty(b).uniform_(-1.0, 1.0, generator=generator),
    )


def sample_noise(scm: SCM, n_rows: int, generator: torch.Generator) -> Noise:
    b, n = scm.adjacency.shape[:2]
    endogenous = standard_noise(scm.noise_kind, n_rows, generator)
    exogenous_kind = torch.randint(0, N_NOISE_KINDS, (b, 1), generator=generator).expand(b, n)
    exogenous = standard_noise(exogenous_kind, n_rows, generator)
    return Noise(endogenous, exogenous, torch.rand(b, n_rows, generator=generator))


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
    for i in range(n):
        pre = values @ scm.weights_in[:, i] + scm.bias[:, i, None, :]  # (B, R, H)
        pre = pre + (noise.exogenous[:, :, i, None] * scm.weights_root[:, i, None, :]) * is_root[:, i, None, None]
        eps = noise.endogenous[:, :, i] * scm.noise_std[:, i, None]  # (B, R)
        mode = scm.noise_mode[:, i, None, None]
        pre = pre + (mode == NOISE_BEFORE) * eps[..., None]
        pre = pre + (mode == NOISE_AS_INPUT) * eps[..., None] * scm.weights_noise[:, i, None, :]
        activated = apply_activation(pre, scm.activation[:, i], tuple(g[:, i] for g in scm.gp))
        hidden_sum = (activated * scm.weights_out[:, i, None, :]).sum(-1)
        out = torch.where(scm.one_hidden_layer[:, i, None], hidden_sum, activated[..., 0])
        out = out + (scm.noise_mode[:, i, None] == NOISE_AFTER) * eps
        out = torch.nan_to_num(out, nan=0.0).clamp(-MAX_ABS_NODE_VALUE, MAX_ABS_NODE_VALUE)
        if statistics is None:
            means[:, i] = out.mean(dim=1)
            stds[:, i] = out.std(dim=1).clamp(min=1e-6)
        else:
            means[:, i], stds[:, i] = statistics.mean[:, i], statistics.std[:, i]
        scaled = (out - means[:, i, None]) / stds[:, i, None]
        # huge scales are standardised always, so one node cannot swamp its children
        standardise = scm.standardise[:, i] | (stds[:, i] > 100)
        out = torch.where(standardise[:, None], scaled, out)
        is_treatment = scm.treatment == i
        if is_treatment.any():
            probability = torch.sigmoid(scm.treatment_slope[:, None] * (scaled - scm.treatment_threshold[:, None]))
            binary = (noise.treatment_uniform < probability).float()
            out = torch.where((is_treatment & scm.binary_treatment)[:, None], binary, out)
            if treatment_values is not None:
                out = torch.where(is_treatment[:, None], treatment_values, out)
        values[:, :, i] = out
    return values, NodeStatistics(means, stds)

