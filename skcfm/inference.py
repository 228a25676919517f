"""Inference at any size: ensembles of bounded contexts and covariate subsets, chunked queries.

A fitted estimator holds training rows (x, t, y) and a PAM in the model's order
[t, y, x_1..x_d]. Each ensemble member draws a context of at most ``context_size`` rows
(stratified by treatment arm so rare arms are represented), a subset of at most the
model's ``max_covariates`` covariates (preferring covariates the PAM marks as known
ancestors of T or Y, then, if the caller gives them, covariates that correlate with T or Y)
in a random order, and predicts every query under one or more
interventions do(T = t). The member's context is encoded once; the queries of all
interventions then go through the model in chunks, so memory is bounded and time is
linear in the number of queries. Members are combined by averaging means
and quantiles (quantile averaging) in the outcome's original units. Local contexts (one
ensemble per region of covariate space) are in ``skcfm.neighbourhoods``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import rankdata

from ._threads import map_members
from .model import CausalFoundationModel, bar_distribution
from .model.transformer import ContextCache
from .outcome_transform import YeoJohnsonOutcome
from .preprocessing import Scaling, fit_scaling

# each treatment arm fills at least this share of a stratified context. Measured with the
# shipped model on the selection realizations (benchmarks/results/model_selection.csv):
# 0.2 beats 0, 0.1, 0.35 and 0.5 on IHDP, PSID and CPS (PSID 14,849 vs 14,954 / 14,890 /
# 15,411 / 16,233; IHDP 3.50 vs 3.69 / 3.69 / 3.97 / 4.89), ACIC-like alike (1.21-1.28)
MIN_ARM_SHARE = 0.2
RELEVANCE_FLOOR = 1e-3  # an irrelevant-looking covariate keeps a small chance of being read
MIN_ARM_ROWS_FOR_RELEVANCE = 11  # an arm with fewer rows adds no within-arm correlations
# fewest and most members n_estimators="auto" picks; at least two pairs per region of local
# contexts, so each row's cross-fitted answer averages two members (docs/decisions.md)
AUTO_MEMBERS = (4, 16)


@dataclass(frozen=True)
class Member:
    """One ensemble member: which training rows form its context, which covariates it sees."""

    rows: np.ndarray  # (n_context,) indices into the training rows
    covariates: np.ndarray  # (k,) indices into the covariates, in the member's order


def arm_quotas(arms: np.ndarray, context_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows per treatment arm in a stratified context: the arm's share, at least
    ``MIN_ARM_SHARE`` of the context (or all its rows), ``context_size`` in all.

    Returns the arm labels and their quotas.
    """
    labels, counts = np.unique(arms, return_counts=True)
    # every arm's floor fits while k * share <= 1; with more arms each keeps one row
    floor = int(np.ceil(MIN_ARM_SHARE * context_size)) if len(labels) * MIN_ARM_SHARE <= 1 else 1
    quota = np.maximum(np.round(counts / counts.sum() * context_size).astype(int), np.minimum(counts, floor))
    while quota.sum() > context_size:  # give back from the largest arm
        quota[np.argmax(quota - np.minimum(counts, floor))] -= 1
    return labels, np.minimum(quota, counts)


def _stratified_rows(arms: np.ndarray, context_size: int, rng: np.random.Generator) -> np.ndarray:
    labels, quota = arm_quotas(arms, context_size)
    chosen = [rng.choice(np.flatnonzero(arms == label), size=q, replace=False)
              for label, q in zip(labels, quota, strict=True)]
    return np.sort(np.concatenate(chosen))


def _abs_rank_correlations(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """|Spearman correlation| of each column of A (n, d) with each column of B (n, k),
    shape (d, k); a constant column scores 0."""
    ranks = np.apply_along_axis(rankdata, 0, np.column_stack([B, A]))
    ranks = ranks - ranks.mean(axis=0)
    norms = np.sqrt((ranks**2).sum(axis=0))
    norms[norms == 0] = np.inf
    k = B.shape[1]
    return np.abs(ranks[:, k:].T @ ranks[:, :k]) / norms[k:, None] / norms[None, :k]


def covariate_relevance(X: np.ndarray, T: np.ndarray, Y: np.ndarray, arms: np.ndarray | None = None) -> np.ndarray:
    """Each covariate's largest absolute Spearman correlation with T, with Y, and (given
    discrete ``arms``) with Y within each arm of more than 10 rows, shape (d,).

    Screens covariates when there are more than a member can read, and weights the
    distances of local contexts: confounders correlate with T, prognostic covariates with
    Y, and effect modifiers with Y within an arm (pooled over arms the treatment's shift
    of Y can hide them). Constant columns score 0.
    """
    relevance = _abs_rank_correlations(X, np.column_stack([T, Y])).max(axis=1)
    if arms is not None:
        for level in np.unique(arms):
            rows = arms == level
            if rows.sum() >= MIN_ARM_ROWS_FOR_RELEVANCE:
                relevance = np.maximum(relevance, _abs_rank_correlations(X[rows], Y[rows, None])[:, 0])
    return relevance


def _covariate_priority(pam: np.ndarray) -> np.ndarray:
    """Known ancestors of T and of Y first: they are the confounders an adjustment needs."""
    return (pam[2:, 0] == 1).astype(float) + (pam[2:, 1] == 1).astype(float)


def ensemble_size(n_estimators: int | str, n_rows: int, n_covariates: int, *, context_size: int,
                  max_covariates: int, fewest: int = AUTO_MEMBERS[0]) -> int:
    """Members to draw: ``n_estimators``, or for "auto" enough that every row and every
    covariate is read about once (row blocks x covariate blocks), between ``fewest`` and
    ``AUTO_MEMBERS[1]``.

    More members average out which rows and covariates each one reads; that matters only
    when the data are longer than a context or wider than the model.
    """
    if n_estimators != "auto":
        return int(n_estimators)
    blocks = int(np.ceil(n_rows / context_size) * np.ceil(n_covariates / max_covariates))
    return int(np.clip(blocks, fewest, AUTO_MEMBERS[1]))


def plan_ensemble(
    n_rows: int,
    pam: np.ndarray,
    *,
    n_estimators: int | str,
    context_size: int,
    max_covariates: int,
    arms: np.ndarray | None,
    rng: np.random.Generator,
    relevance: np.ndarray | None = None,
) -> list[Member]:
    """Draw the members of an ensemble (``n_estimators``: a count or "auto", see
    :func:`ensemble_size`).

    ``arms`` are treatment labels for stratification (None for a continuous treatment).
    With more covariates than ``max_covariates``, PAM-known ancestors of T or Y come
    first; among equals a member draws covariates with probability growing with
    ``relevance`` (d,) (Gumbel top-k), or uniformly when it is None.

    With at least two contexts' worth of rows (a region of local contexts), each arm's
    half filling its quota, the members come in pairs that read the same covariates from
    the two halves of the rows (split per arm): every row is left out of one member of
    each pair, whose answer for it is an out-of-sample one
    (:func:`skcfm.contexts.predict_out_of_context`), so cross-fitting needs no contexts of
    its own.
    """
    n_covariates = pam.shape[0] - 2
    priority = _covariate_priority(pam)
    members = []
    size = ensemble_size(n_estimators, n_rows, n_covariates, context_size=context_size, max_covariates=max_covariates)
    halves = _halves(n_rows, arms, rng) if _paired(n_rows, arms, context_size) and size >= 2 else None
    for k in range(size):
        pool = np.arange(n_rows) if halves is None else halves[k % 2]
        if len(pool) <= context_size:
            rows = pool
        elif arms is not None:
            rows = pool[_stratified_rows(arms[pool], context_size, rng)]
        else:
            rows = np.sort(rng.choice(pool, size=context_size, replace=False))
        if halves is not None and k % 2 == 1:  # the pair's second member reads the first's covariates
            covariates = members[-1].covariates
        else:
            tie_break = rng.random(n_covariates) if relevance is None else (
                -(np.log(relevance + RELEVANCE_FLOOR) + rng.gumbel(size=n_covariates)))
            order = np.lexsort((tie_break, -priority))  # by priority, then random or relevance-weighted
            covariates = rng.permutation(order[:max_covariates])
        members.append(Member(rows, covariates))
    return members


def _paired(n_rows: int, arms: np.ndarray | None, context_size: int) -> bool:
    """Whether members can come in pairs over two halves of the rows: each half fills a
    context, and with ``arms`` each arm's half fills its stratified quota but for a row (a
    region's rows hold two contexts' quotas, which an odd count splits unevenly)."""
    if n_rows < 2 * context_size:
        return False
    if arms is None:
        return True
    labels, counts = np.unique(arms, return_counts=True)
    return bool(np.all(counts // 2 + 1 >= arm_quotas(arms, context_size)[1]))


def _halves(n_rows: int, arms: np.ndarray | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of ``n_rows`` rows, each arm split evenly between them."""
    groups = [np.arange(n_rows)] if arms is None else [np.flatnonzero(arms == label) for label in np.unique(arms)]
    halves: tuple[list, list] = ([], [])
    for group in groups:
        shuffled = rng.permutation(group)
        cut = (len(shuffled) + int(rng.integers(2))) // 2  # an odd arm's extra row falls on either side
        halves[0].append(shuffled[:cut])
        halves[1].append(shuffled[cut:])
    return np.sort(np.concatenate(halves[0])), np.sort(np.concatenate(halves[1]))


@dataclass(frozen=True)
class Predictions:
    """Per-member summaries in the outcome's units.

    Shapes: ``means`` (E, A, M) for E members, A interventions and M queries;
    ``quantiles`` (E, A, M, Q) or None; ``logits`` (E, A, M, K) and ``borders`` (E, K + 1)
    in outcome units, or None.
    """

    means: np.ndarray
    quantiles: np.ndarray | None = None
    logits: np.ndarray | None = None
    borders: np.ndarray | None = None


def _model_rows(t: np.ndarray, y: np.ndarray, x: np.ndarray) -> torch.Tensor:
    """Rows in the model's order [t, y, x], shape (n, 2 + d), in float64: they are scaled
    (:mod:`skcfm.preprocessing`) before the cast to the model's float32, so the model's
    input does not depend on the data's units or offset."""
    return torch.as_tensor(np.column_stack([t, y, x]), dtype=torch.float64)


def _distinct_arms(treatments: list[np.ndarray], queries: list[np.ndarray]) -> tuple[list[int], np.ndarray]:
    """The first of each set of identical (treatment, query) arms and, for each arm, the
    index of its distinct copy among them."""
    distinct: list[int] = []
    index = []
    for a, (t, x) in enumerate(zip(treatments, queries, strict=True)):
        match = next((i for i, b in enumerate(distinct)
                      if np.array_equal(treatments[b], t) and (queries[b] is x or np.array_equal(queries[b], x))), None)
        if match is None:
            distinct.append(a)
            match = len(distinct) - 1
        index.append(match)
    return distinct, np.array(index)


@dataclass(frozen=True)
class EncodedContext:
    """A member's encoded context: its scaling and the states its queries attend to."""

    scaling: Scaling
    cache: ContextCache

    @property
    def nbytes(self) -> int:
        """Memory the cached model states hold."""
        tensors = [*self.cache.keys, *self.cache.feature_biases, self.cache.graph_embedding]
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)


@torch.no_grad()
def encode_member(
    model: CausalFoundationModel,
    X: np.ndarray,
    T: np.ndarray,
    Y: np.ndarray,
    pam: np.ndarray,
    member: Member,
    device: str | torch.device = "cpu",
    outcome_transform: YeoJohnsonOutcome | None = None,
) -> EncodedContext:
    """Scale ``member``'s context rows and run them through the model once; the model
    reads ``outcome_transform``'s z in place of Y when it is given."""
    model.eval()
    device = torch.device(device)
    columns = np.concatenate([[0, 1], 2 + member.covariates])
    member_pam = torch.as_tensor(pam[np.ix_(columns, columns)], device=device)[None]
    y = Y[member.rows] if outcome_transform is None else outcome_transform.transform(Y[member.rows])
    context = _model_rows(T[member.rows], y, X[member.rows][:, member.covariates])[None]
    scaling = fit_scaling(context)
    return EncodedContext(scaling, model.encode_context(scaling.transform(context).to(device), member_pam))


@torch.no_grad()
def predict_interventions(
    model: CausalFoundationModel,
    X: np.ndarray,
    T: np.ndarray,
    Y: np.ndarray,
    pam: np.ndarray,
    X_query: np.ndarray | list[np.ndarray],
    treatments: list[np.ndarray],
    members: list[Member],
    *,
    quantiles: np.ndarray | None = None,
    return_logits: bool = False,
    chunk_size: int = 1024,
    device: str | torch.device = "cpu",
    encodings: list[EncodedContext] | None = None,
    outcome_transform: YeoJohnsonOutcome | None = None,
) -> Predictions:
    """Predict y under do(T = t) for each query row and each array in ``treatments``.

    Shapes: X (n, d), T (n,), Y (n,), pam (d + 2, d + 2) in model order, X_query (m, d)
    or a list of one (m, d) array per intervention, each ``treatments[a]`` (m,). Returns
    :class:`Predictions`. ``encodings`` (one per member, from :func:`encode_member`)
    skip encoding the contexts again. With ``outcome_transform`` the model reads z = g(Y):
    means are expectations of g^-1(z) under each predicted distribution, quantiles and
    borders are mapped through g^-1 (so bars are no longer uniform within, in Y's units).
    """
    queries = list(X_query) if isinstance(X_query, list) else [X_query] * len(treatments)
    if len(queries) != len(treatments):
        raise ValueError(f"X_query holds {len(queries)} arrays; expected one per intervention ({len(treatments)})")
    distinct, arm_of = _distinct_arms(treatments, queries)
    if len(distinct) < len(treatments):  # identical arms get identical numbers (effect 0, not ~1e-7)
        out = predict_interventions(model, X, T, Y, pam, [queries[a] for a in distinct],
                                    [treatments[a] for a in distinct], members, quantiles=quantiles,
                                    return_logits=return_logits, chunk_size=chunk_size, device=device,
                                    encodings=encodings, outcome_transform=outcome_transform)
        return Predictions(
            out.means[:, arm_of], None if out.quantiles is None else out.quantiles[:, arm_of],
            None if out.logits is None else out.logits[:, arm_of], out.borders,
        )
    if encodings is not None and len(encodings) != len(members):
        raise ValueError(f"{len(encodings)} encodings for {len(members)} members; expected one per member")
    model.eval()
    device = torch.device(device)
    n_arms, n_queries = len(treatments), queries[0].shape[0]
    means = np.empty((len(members), n_arms, n_queries))
    qs = None if quantiles is None else torch.as_tensor(quantiles, dtype=torch.float32, device=device)
    quantile_out = None if qs is None else np.empty((len(members), n_arms, n_queries, len(quantiles)))
    logits_out = np.empty((len(members), n_arms, n_queries, model.config.n_bars), np.float32) if return_logits else None
    borders_out = np.empty((len(members), model.config.n_bars + 1)) if return_logits else None
    borders = model.borders.to(device)

    @torch.no_grad()  # per thread: the members' threads need it too
    def answer(e: int) -> None:  # fills member e's slices of the outputs
        member = members[e]
        encoded = (encode_member(model, X, T, Y, pam, member, device, outcome_transform) if encodings is None
                   else encodings[e])
        scaling, cache = encoded.scaling, encoded.cache
        to_outcome = _outcome_units(scaling, outcome_transform)
        bar_values = None if outcome_transform is None else torch.as_tensor(
            to_outcome(bar_distribution.bar_nodes(borders.cpu().double())[None]).mean(-1)[0], device=device)
        if return_logits:
            borders_out[e] = to_outcome(borders.cpu()[None, None])[0, 0]
        # every intervention's queries in one stream: queries never see each other, so
        # chunks may mix arms, and the context is encoded once per member
        x_member = np.concatenate([x[:, member.covariates] for x in queries])
        t_all = np.concatenate(treatments)
        for start in range(0, len(t_all), chunk_size):
            part = slice(start, start + chunk_size)
            arm, query = np.divmod(np.arange(len(t_all))[part], n_queries)
            rows = scaling.transform(_model_rows(t_all[part], np.zeros(len(t_all[part])), x_member[part])[None])
            rows[:, :, 1] = 0.0
            logits = model.predict_queries(cache, rows.to(device))
            if bar_values is None:
                means[e, arm, query] = to_outcome(bar_distribution.mean(logits, borders).cpu())[0]
            else:
                means[e, arm, query] = (torch.softmax(logits.double(), dim=-1) @ bar_values).cpu()[0].numpy()
            if qs is not None:
                quantile_out[e, arm, query] = to_outcome(bar_distribution.quantiles(logits, borders, qs).cpu())[0]
            if return_logits:
                logits_out[e, arm, query] = logits[0].cpu().numpy()

    map_members(answer, range(len(members)))
    return Predictions(means, quantile_out, logits_out, borders_out)


def _outcome_units(scaling: Scaling, outcome_transform: YeoJohnsonOutcome | None):
    """Model units (B, M, ...) -> numpy arrays in the outcome's units."""
    if outcome_transform is None:
        return lambda values: scaling.outcome_from_model(values).numpy()
    return lambda values: outcome_transform.inverse(scaling.outcome_from_model(values.double()).numpy())
