"""Final stages over the CFM's cross-fitted nuisances, and how "auto" weighs them.

With a binary treatment the CFM's cross-fitted outcomes mu_0(x), mu_1(x) and a
cross-fitted propensity e(x) are the nuisances of a double machine learning final stage.
``"causal_forest"`` is the R-learner as a generalised random forest (EconML's
:class:`econml.grf.CausalForest` with ``CausalForestDML``'s settings) on the residuals
Y - m(x) and T - e(x), where m = e mu_1 + (1 - e) mu_0. It splits on every covariate,
which the CFM's members cannot when the data are wider than the model reads. ``"dr"`` is
the DR-learner on the AIPW scores, ``"tl"`` a T-learner (a random forest per arm).
``"blend_dr"`` and ``"blend_tl"`` average the CFM's effects with the DR-learner's or the
T-learner's.

``"stack"`` (and ``"auto"`` where overlap allows) reports a convex combination of the
CFM's, the causal forest's and the DR-learner's effects, with the weights
that minimise the DR-loss on the training rows: the squared error against the AIPW
pseudo-outcome phi = mu_1 - mu_0 + T (Y - mu_1) / e - (1 - T) (Y - mu_0) / (1 - e), whose
expectation is the PEHE plus a constant (the doubly robust "T-risk" of Mahajan et al.,
ICLR 2024; stacking on it as in Han and Wu, "Ensemble method for estimating individualized
treatment effects", 2022). Each candidate enters with its out-of-sample effects: the
CFM's cross-fitted effects mu_1 - mu_0 and the forests' out-of-bag effects. Picking the
single candidate with the lowest loss trusted the DR-learner, which is fitted to the very
pseudo-outcomes it is scored on, where it was much worse; the weights hedge instead, and
on the selection realizations the stack's sqrt(PEHE) was 8 % lower on ACIC-like data and
1.5 % lower on IHDP than the lowest loss's (``benchmarks/studies/final_stage_rules.py``,
docs/decisions.md).
Where overlap is poor the loss is not trusted: when more than half of the rows have a
propensity at the clip bound, the inverse weights of most pseudo-outcomes are capped and
their loss says little about which extrapolation is right, so ``"auto"`` takes
``"blend_tl"``, hedging between the CFM's extrapolation and the forests' flat one (LaLonde
PSID has 56-69 % of its rows at the bound and CPS about 90 %; IHDP and ACIC under 1 %), and
fits no other candidate there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ._threads import fit_on_threads
from .aipw import aipw_scores
from .arm_outcomes import exact_sum_grid
from .nuisances import clipped_share

CAUSAL_FOREST_TREES = 500
BLENDS = ("blend_dr", "blend_tl")  # half the CFM's effects, half the DR-learner's or the T-learner's
STACKED = ("cfm", "causal_forest", "dr")  # what "stack" (and "auto" where overlap allows) combines
POOR_OVERLAP_SHARE = 0.5  # beyond this share of rows at the propensity clip bound the DR-loss is not trusted
POOR_OVERLAP_STAGE = "blend_tl"  # ... and "auto" hedges between the CFM's extrapolation and a forest's


def causal_forest_stage(X: np.ndarray, T: np.ndarray, Y: np.ndarray, propensity: np.ndarray, mu0: np.ndarray,
                        mu1: np.ndarray, random_state: int, n_jobs: int | None = None):
    """The R-learner forest fitted on the residuals of the cross-fitted nuisances, with the
    bootstrap of little bags (``inference=True``, as ``CausalForestDML``) for per-row
    standard errors (``predict_and_var``), fitted on ``n_jobs`` jobs (:func:`~skcfm._threads.fit_on_threads`)."""
    from econml.grf import CausalForest

    forest = CausalForest(n_estimators=CAUSAL_FOREST_TREES, min_samples_leaf=5, max_samples=0.45, honest=True,
                          inference=True, random_state=random_state)
    # on exact_sum_grid the residuals of data that differ only in their units' last digits are
    # equal, and so are the trees (see skcfm.arm_outcomes)
    return fit_on_threads(forest, X, exact_sum_grid(T - propensity),
                          exact_sum_grid(Y - (propensity * mu1 + (1 - propensity) * mu0)), n_jobs=n_jobs)


@dataclass(frozen=True)
class FinalStageChoice:
    """The final stage "auto" or "stack" settled on, and the evidence.

    Attributes
    ----------
    chosen : str
        "stack", or ``POOR_OVERLAP_STAGE`` where the overlap gate decided.
    clipped_share : float
        Share of the training rows whose propensity lies at the clip bound. Above
        ``POOR_OVERLAP_SHARE`` "auto" takes ``POOR_OVERLAP_STAGE`` whatever the losses.
    dr_loss : dict of str to float
        Mean out-of-sample DR-loss of every candidate scored, "cfm" included, and of the
        stack. Where the overlap gate decides, :class:`skcfm.CFMCateEstimator` scores only
        ``POOR_OVERLAP_STAGE``: the other candidates are not fitted.
    z : dict of str to float
        Paired z statistic of each scored candidate's (and the stack's) per-row losses
        minus the CFM's (negative: it fits better; 0 on a tie within float rounding).
    weights : dict of str to float
        The stack's convex weights by candidate (they sum to 1); empty where the overlap
        gate decided.
    """

    chosen: str
    clipped_share: float
    dr_loss: dict[str, float]
    z: dict[str, float]
    weights: dict[str, float]


def poor_overlap(share: float) -> bool:
    """Whether ``share`` of the rows at the propensity clip bound is past ``POOR_OVERLAP_SHARE``,
    where "auto" takes ``POOR_OVERLAP_STAGE`` whatever the losses."""
    return share > POOR_OVERLAP_SHARE


def auto_candidates(propensity: np.ndarray) -> tuple[str, ...]:
    """The candidates besides the CFM that "auto" fits and scores: those of ``STACKED``, or
    only ``POOR_OVERLAP_STAGE`` where overlap is poor (the others' losses would not count)."""
    return (POOR_OVERLAP_STAGE,) if poor_overlap(clipped_share(propensity)) else STACKED[1:]


def dr_losses(T: np.ndarray, Y: np.ndarray, propensity: np.ndarray, mu0: np.ndarray, mu1: np.ndarray,
              effects: np.ndarray) -> np.ndarray:
    """Per-row DR-loss (phi - tau)^2 of ``effects`` tau, shape (n,)."""
    return (aipw_scores(Y, T, mu0, mu1, propensity) - effects) ** 2


def paired_z(losses: np.ndarray, baseline_losses: np.ndarray) -> float:
    """z statistic of the mean per-row difference ``losses - baseline_losses`` (negative:
    lower losses); 0 when the differences are no larger than float rounding of the losses."""
    diff = losses - baseline_losses
    spread = diff.std(ddof=1) / np.sqrt(len(diff))
    rounding = 1e-9 * np.abs(baseline_losses).mean()
    return float(diff.mean() / spread) if spread > rounding else 0.0


def stacking_weights(effects: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Convex weights w (w >= 0, sum 1) minimising mean (scores - effects @ w)^2, shape (k,).

    ``effects`` is (n, k): each candidate's out-of-sample effects on the training rows;
    ``scores`` (n,) the AIPW pseudo-outcomes. Weights below 1e-6 are set to 0 (and the rest
    rescaled), so a candidate the data give no weight is not evaluated on new rows."""
    k = effects.shape[1]
    # in units of the scores' size, so that the optimiser's absolute tolerances mean the same
    # whatever Y's units (an absolute floor here stopped it at the start for Y of order 1e-10)
    unit = float(np.sqrt(np.mean(scores**2)))
    unit = unit if np.isfinite(unit) and unit > 0 else 1.0
    scores, effects = scores / unit, effects / unit
    result = minimize(lambda w: np.mean((scores - effects @ w) ** 2), np.full(k, 1 / k), method="SLSQP",
                      bounds=[(0.0, 1.0)] * k, constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
                      options={"ftol": 1e-12, "maxiter": 500})  # to the optimum, not near it: the weights
    # must not move with the data's units beyond float rounding
    weights = np.where(result.x > 1e-6, result.x, 0.0)
    return weights / weights.sum()


def choose_final_stage(T: np.ndarray, Y: np.ndarray, propensity: np.ndarray, mu0: np.ndarray, mu1: np.ndarray,
                       alternatives: dict[str, np.ndarray]) -> FinalStageChoice:
    """Stack the CFM's cross-fitted effects mu1 - mu0 with the ``alternatives``' out-of-sample
    effects (name to shape (n,)) by :func:`stacking_weights` on the AIPW pseudo-outcomes.
    When more than ``POOR_OVERLAP_SHARE`` of the rows have a ``propensity`` at the clip
    bound (:func:`skcfm.nuisances.clipped_share`) and ``POOR_OVERLAP_STAGE`` is among the
    alternatives, that one instead, whatever the losses."""
    phi = aipw_scores(Y, T, mu0, mu1, propensity)
    candidates = {"cfm": mu1 - mu0, **alternatives}
    losses = {name: (phi - effects) ** 2 for name, effects in candidates.items()}
    share = clipped_share(propensity)
    weights = {}
    if poor_overlap(share) and POOR_OVERLAP_STAGE in alternatives:
        chosen = POOR_OVERLAP_STAGE
    else:
        chosen = "stack"
        effects = np.column_stack(list(candidates.values()))
        w = stacking_weights(effects, phi)
        weights = {name: float(value) for name, value in zip(candidates, w, strict=True)}
        losses["stack"] = (phi - effects @ w) ** 2
    z = {name: paired_z(loss, losses["cfm"]) for name, loss in losses.items() if name != "cfm"}
    dr_loss = {name: float(loss.mean()) for name, loss in losses.items()}
    return FinalStageChoice(chosen, share, dr_loss, z, weights)
