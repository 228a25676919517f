"""Context plans: which training rows and covariates each ensemble member reads, and
predictions answered through them.

A plan is one ensemble over all training rows ("global" contexts) or one ensemble per
region of covariate space ("local" contexts, :mod:`skcfm.neighbourhoods`). Shared by
:class:`skcfm.CFMCateEstimator` and :class:`skcfm.GraphConditionedCFMRegressor`, so both
read data the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._config import progress_bar
from ._threads import map_members, model_threads
from .inference import (
    EncodedContext,
    Member,
    Predictions,
    covariate_relevance,
    encode_member,
    ensemble_size,
    plan_ensemble,
    predict_interventions,
)
from .model import CausalFoundationModel
from .neighbourhoods import ROWS_PER_CONTEXT, Neighbourhoods, plan_neighbourhoods
from .outcome_transform import YeoJohnsonOutcome

FIT_MODES = ("auto", "low_memory", "fit_with_cache")
CACHE_BYTES = 256 * 2**20  # fit_mode="auto" keeps the encoded contexts up to this size
PROGRESS_PASSES = 20_000  # a prediction runs this many query rows through members before it shows a bar
MAX_DISCRETE_LEVELS = 10  # "auto" treatment kind: at most this many distinct values is discrete


@dataclass(frozen=True)
class ContextPlan:
    """The ensembles of a fitted estimator: one per region of local contexts, or one."""

    neighbourhoods: Neighbourhoods | None
    ensembles: list[list[Member]]  # same number of members in each

    @property
    def members(self) -> list[Member]:
        """Every member of every region, region by region."""
        return [member for ensemble in self.ensembles for member in ensemble]

    def regions(self, X_query: np.ndarray) -> np.ndarray:
        """The ensemble answering each query row, shape (m,)."""
        if self.neighbourhoods is None:
            return np.zeros(len(X_query), dtype=int)
        return self.neighbourhoods.assign(X_query)

    def region_rows(self, region: int, rows: np.ndarray) -> np.ndarray:
        """The training rows region ``region`` reads; ``rows`` for a global plan."""
        return rows if self.neighbourhoods is None else self.neighbourhoods.rows[region]


def check_context_options(estimator) -> None:
    """Validate an estimator's ``treatment_kind`` and ``fit_mode``."""
    if estimator.treatment_kind not in ("auto", "discrete", "continuous"):
        raise ValueError(
            f"treatment_kind={estimator.treatment_kind!r}; expected 'auto', 'discrete' or 'continuous'")
    if estimator.fit_mode not in FIT_MODES:
        raise ValueError(f"fit_mode={estimator.fit_mode!r}; expected 'auto', 'low_memory' or 'fit_with_cache'")


def plan_contexts(
    X: np.ndarray,
    T: np.ndarray,
    Y: np.ndarray,
    pam: np.ndarray,
    *,
    rows: np.ndarray,
    discrete: bool,
    contexts: str,
    n_estimators: int | str,
    context_size: int,
    max_covariates: int,
    rng: np.random.Generator,
) -> ContextPlan:
    """Ensembles reading the training ``rows`` of (X, T, Y): one, or one per region.

    ``discrete`` stratifies contexts and regions by treatment arm. With more covariates
    than ``max_covariates``, members favour those that correlate with T or Y, or with Y
    within an arm (within the region for local contexts). Member and region rows index X.
    """
    X_rows, T_rows, Y_rows = X[rows], T[rows], Y[rows]
    arms = T_rows if discrete else None
    n_covariates = X.shape[1]
    wide = n_covariates > max_covariates
    neighbourhoods = None
    if contexts == "local":
        neighbourhoods = plan_neighbourhoods(
            X_rows, arms, covariate_relevance(X_rows, T_rows, Y_rows, arms), size=ROWS_PER_CONTEXT * context_size,
            rng=rng)
    regions = [np.arange(len(rows))] if neighbourhoods is None else neighbourhoods.rows
    # one member count for every region, so their predictions stack
    size = ensemble_size(n_estimators, max(len(r) for r in regions), n_covariates,
                         context_size=context_size, max_covariates=max_covariates)
    ensembles = []
    for region in regions:
        relevance = None
        if wide:
            relevance = covariate_relevance(X_rows[region], T_rows[region], Y_rows[region],
                                            None if arms is None else arms[region])
        members = plan_ensemble(
            len(region), pam, n_estimators=size, context_size=context_size, max_covariates=max_covariates,
            arms=None if arms is None else arms[region], rng=rng, relevance=relevance,
        )
        ensembles.append([Member(rows[region[m.rows]], m.covariates) for m in members])
    if neighbourhoods is not None:  # regions index X, like the members
        neighbourhoods = Neighbourhoods(neighbourhoods.location, neighbourhoods.scale, neighbourhoods.centres,
                                        [rows[r] for r in neighbourhoods.rows])
    return ContextPlan(neighbourhoods, ensembles)


def predict_with_plan(
    model: CausalFoundationModel,
    X: np.ndarray,
    T: np.ndarray,
    Y: np.ndarray,
    pam: np.ndarray,
    plan: ContextPlan,
    X_query: np.ndarray,
    treatments: list[np.ndarray],
    *,
    rows: np.ndarray | None = None,
    clip: bool = False,
    quantiles: np.ndarray | None = None,
    return_logits: bool = False,
    chunk_size: int = 1024,
    device: str = "cpu",
    encodings: list[list[EncodedContext]] | None = None,
    outcome_transform: YeoJohnsonOutcome | None = None,
) -> Predictions:
    """:func:`skcfm.inference.predict_interventions` through a plan: each query row is
    answered by its region's ensemble.

    ``clip`` (discrete T) keeps each arm within what it shows in the rows the answering
    ensemble reads (its region's, or ``rows``, default all): a query under level t is
    answered at its covariates clipped to the box of covariates observed with T = t there
    (flat extrapolation, as a forest's), and the mean and quantiles are clipped to the
    outcomes observed with T = t. Levels never observed are left as they are; logits are
    not clipped. ``borders`` have shape (E, m, K + 1): each query's own members.
    ``encodings`` (from :func:`encode_plan` on this plan) skip encoding the contexts again.
    ``outcome_transform``: the model reads z = g(Y) (see :func:`predict_interventions`).
    """
    rows = np.arange(len(T)) if rows is None else rows
    regions = plan.regions(X_query)
    n_members, n_arms, m = len(plan.ensembles[0]), len(treatments), len(X_query)
    means = np.empty((n_members, n_arms, m))
    quantile_out = None if quantiles is None else np.empty((n_members, n_arms, m, len(quantiles)))
    logits = borders = None
    if return_logits:
        logits = np.empty((n_members, n_arms, m, model.config.n_bars), np.float32)
        borders = np.empty((n_members, m, model.config.n_bars + 1))
    answering = np.unique(regions)

    def answer(region: int) -> None:  # fills the region's queries in the outputs
        queries = regions == region
        arms = [t[queries] for t in treatments]
        region_rows = plan.region_rows(region, rows)
        X_arms = X_query[queries]
        if clip:
            X_arms = _clip_to_arm_boxes(X_arms, arms, X[region_rows], T[region_rows])
        out = predict_interventions(
            model, X, T, Y, pam, X_arms, arms, plan.ensembles[region], quantiles=quantiles,
            return_logits=return_logits, chunk_size=chunk_size, device=device,
            encodings=None if encodings is None else encodings[region], outcome_transform=outcome_transform,
        )
        if clip:
            out = _clip_to_arm_ranges(out, arms, T[region_rows], Y[region_rows])
        means[:, :, queries] = out.means
        if quantile_out is not None:
            quantile_out[:, :, queries] = out.quantiles
        if return_logits:
            logits[:, :, queries] = out.logits
            borders[:, queries] = out.borders[:, None]
        bar.update(1)

    bar = progress_bar(total=len(answering), desc="skcfm: predicting", unit="region", delay=2, leave=False,
                       disable=m * n_members * n_arms < PROGRESS_PASSES)
    with model_threads(), bar:  # regions side by side; a lone region's members side by side
        map_members(answer, answering)
    return Predictions(means, quantile_out, logits, borders)


def predict_out_of_context(
    model: CausalFoundationModel,
    X: np.ndarray,
    T: np.ndarray,
    Y: np.ndarray,
    pam: np.ndarray,
    plan: ContextPlan,
    levels: list[float],
    *,
    clip: bool = False,
    chunk_size: int = 1024,
    device: str = "cpu",
    encodings: list[list[EncodedContext]] | None = None,
    outcome_transform: YeoJohnsonOutcome | None = None,
) -> np.ndarray | None:
    """Each training row's E[Y | do(T = t), x] for t in ``levels``, shape (len(levels), n),
    from the members of its region whose context leaves the row out; None where some row
    has no such member.

    The plan's members come in pairs over the two halves of each region's rows
    (:func:`skcfm.inference.plan_ensemble`), so each row of a region is out of context for
    one member of every pair: these answers are cross-fitted without contexts of their
    own. The rows are ``X`` itself (with arm outcome columns, their out-of-bag values).
    ``clip`` keeps each answer within what the member's context shows (see
    :func:`predict_with_plan`), so no row's own outcome bounds its answer. ``encodings``
    (from :func:`encode_plan`) skip encoding the contexts again.
    """
    n = len(T)
    regions = plan.regions(X)
    tasks = []  # (region, member index, the rows it answers)
    for region, ensemble in enumerate(plan.ensembles):
        answered = np.flatnonzero(regions == region)
        if len(answered) == 0:
            continue
        if not _in_pairs(ensemble):
            return None  # members drawn from all of a region's rows read most of them
        for k, member in enumerate(ensemble):
            queries = answered[~np.isin(answered, member.rows)]
            if len(queries):
                tasks.append((region, k, queries))

    def answer(task: tuple[int, int, np.ndarray]) -> np.ndarray:
        region, k, queries = task
        member = plan.ensembles[region][k]
        arms = [np.full(len(queries), float(level)) for level in levels]
        X_arms = X[queries]
        if clip:
            X_arms = _clip_to_arm_boxes(X_arms, arms, X[member.rows], T[member.rows])
        out = predict_interventions(
            model, X, T, Y, pam, X_arms, arms, [member], chunk_size=chunk_size, device=device,
            encodings=None if encodings is None else [encodings[region][k]], outcome_transform=outcome_transform)
        if clip:
            out = _clip_to_arm_ranges(out, arms, T[member.rows], Y[member.rows])
        return out.means[0]

    total = np.zeros((len(levels), n))
    count = np.zeros(n)
    with model_threads():
        answers = map_members(answer, tasks)
    for (_, _, queries), means in zip(tasks, answers, strict=True):  # summed in the members' order
        total[:, queries] += means
        count[queries] += 1
    if (count == 0).any():
        return None
    return total / count


def _in_pairs(ensemble: list[Member]) -> bool:
    """Whether the members come in pairs (first and second, third and fourth, ...) reading
    disjoint rows."""
    pairs = range(0, len(ensemble) - 1, 2)
    return len(ensemble) >= 2 and all(
        len(np.intersect1d(ensemble[k].rows, ensemble[k + 1].rows, assume_unique=True)) == 0 for k in pairs)


def encode_plan(
    model: CausalFoundationModel,
    X: np.ndarray,
    T: np.ndarray,
    Y: np.ndarray,
    pam: np.ndarray,
    plan: ContextPlan,
    *,
    fit_mode: str,
    device: str = "cpu",
    outcome_transform: YeoJohnsonOutcome | None = None,
) -> list[list[EncodedContext]] | None:
    """Every member's encoded context, region by region, for ``fit_mode="fit_with_cache"``,
    and for ``"auto"`` where they take at most ``CACHE_BYTES``; None otherwise
    (``"low_memory"``: contexts are encoded at each prediction).

    Holds per member the model's states for its context rows (about 5 MB for 256 rows
    and 16 covariates with the shipped model), so memory grows with regions × members.
    """
    if fit_mode == "low_memory" or (fit_mode == "auto" and beyond_cache(model, plan)):
        return None
    with model_threads():
        encoded = iter(map_members(lambda member: encode_member(model, X, T, Y, pam, member, device, outcome_transform),
                                   plan.members))
        return [[next(encoded) for _ in ensemble] for ensemble in plan.ensembles]


def beyond_cache(model: CausalFoundationModel, plan: ContextPlan) -> bool:
    """Whether the encoded contexts of ``plan`` would take more than ``CACHE_BYTES``."""
    return encoded_bytes(model, plan) > CACHE_BYTES


def encoded_bytes(model: CausalFoundationModel, plan: ContextPlan) -> int:
    """Memory the encoded contexts of ``plan`` would hold: each block's keys, float32 of
    shape (variables, sinks + context rows, d_model), per member."""
    config = model.config
    per_block = sum((len(m.covariates) + 2) * (config.n_sinks + len(m.rows)) for m in plan.members)
    return 4 * config.d_model * len(model.blocks) * per_block


def _clip_to_arm_boxes(X_query: np.ndarray, treatments: list[np.ndarray], X_rows: np.ndarray,
                       T_rows: np.ndarray) -> list[np.ndarray]:
    """Per intervention, ``X_query`` with each row under level t clipped to the box
    (per-covariate min and max) of ``X_rows`` with ``T_rows == t``."""
    clipped = []
    for t in treatments:
        x = X_query.copy()
        for level in np.unique(t):
            observed = X_rows[T_rows == level]
            if len(observed):
                queried = t == level
                x[queried] = np.clip(x[queried], observed.min(axis=0), observed.max(axis=0))
        clipped.append(x)
    return clipped


def _clip_to_arm_ranges(predictions: Predictions, treatments: list[np.ndarray], T_rows: np.ndarray,
                        Y_rows: np.ndarray) -> Predictions:
    """Clip means (E, A, m) and quantiles (E, A, m, Q) under each level t to the range of
    ``Y_rows`` with ``T_rows == t``. Clipping is monotone, so clipped quantiles are the
    quantiles of the clipped outcome."""
    means = predictions.means.copy()
    quantiles = None if predictions.quantiles is None else predictions.quantiles.copy()
    for a, t in enumerate(treatments):
        for level in np.unique(t):
            observed = Y_rows[T_rows == level]
            if observed.size == 0:
                continue
            queried = t == level
            means[:, a, queried] = np.clip(means[:, a, queried], observed.min(), observed.max())
            if quantiles is not None:
                quantiles[:, a, queried] = np.clip(quantiles[:, a, queried], observed.min(), observed.max())
    return Predictions(means, quantiles, predictions.logits, predictions.borders)
