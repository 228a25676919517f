"""Final stages over the CFM's cross-fitted nuisances, and the choice between them.

With a binary treatment the CFM's cross-fitted outcomes mu_0(x), mu_1(x) and a
cross-fitted propensity e(x) are the nuisances of a double machine learning final stage.
``"causal_forest"`` is the R-learner as a generalised random forest (EconML's
:class:`econml.grf.CausalForest` with ``CausalForestDML``'s settings) on the residuals
Y - m(x) and T - e(x), where m = e mu_1 + (1 - e) mu_0. It splits on every covariate,
which the CFM's members cannot when the data are wider than the model reads.
``"blend_dr"`` and ``"blend_tl"`` average the CFM's effects with the DR-learner's or with a
T-learner's (a random forest per arm), which cancels part of the error where the two err
in different directions.

``"auto"`` picks among the CFM's own effects, the causal forest's, the DR-learner's
(``final_stage="dr"``) and the two blends' by the DR-loss on the training rows: the
squared error against the AIPW pseudo-outcome
phi = mu_1 - mu_0 + T (Y - mu_1) / e - (1 - T) (Y - mu_0) / (1 - e), whose expectation is
the PEHE plus a constant (the doubly robust "T-risk" of Mahajan et al., ICLR 2024). Each
candidate is scored out of sample: the CFM's cross-fitted effects mu_1 - mu_0, the
forests' out-of-bag effects (the T-learner's out of bag for a row's own arm) and for a
blend the mean of its halves'. The candidate with the lowest mean loss wins, the selection
rule of Mahajan et al.; the CFM is kept on a tie within float rounding. The blends are
candidates because they won on the selection realizations and outside them
(``benchmarks/studies/final_stage_rules.py``; the user guide has the numbers).
Where overlap is poor the loss is not trusted: when more than half of the rows have a
propensity at the clip bound, the inverse weights of most pseudo-outcomes are capped and
their loss says little about which extrapolation is right, so ``"auto"`` takes
``"blend_tl"``, hedging between the CFM's extrapolation and the forests' flat one (LaLonde
PSID has 56-69 % of its rows at the bound and CPS about 90 %; IHDP and ACIC under 1 %), and
does not fit the causal forest or the DR-learner there.
No paired z-test gates an alternative: on the ACIC-like selection set requiring one at the
5 % level raised the mean sqrt(PEHE) from 0.646 to 0.710
(``benchmarks/studies/final_stage_choice.py``). The R-loss (EconML's ``RScorer``) weighs
rows by e (1 - e) and, where most rows have a propensity near 0, chose the forest on PSID
although its sqrt(PEHE) was 20-60 % worse (``benchmarks/studies/final_stage_choice.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aipw import aipw_scores
from .nuisances import clipped_share

CAUSAL_FOREST_TREES = 500
BLENDS = ("blend_dr", "blend_tl")  # half the CFM's effects, half the DR-learner's or the T-learner's
AUTO_CANDIDATES = ("causal_forest", "dr", "blend_tl", "blend_dr")  # the alternatives to the CFM that "auto" weighs
POOR_OVERLAP_SHARE = 0.5  # beyond this share of rows at the propensity clip bound the DR-loss is not trusted
POOR_OVERLAP_STAGE = "blend_tl"  # ... and "auto" hedges between the CFM's extrapolation and a forest's


def causal_forest_stage(X: np.ndarray, T: np.ndarray, Y: np.ndarray, propensity: np.ndarray, mu0: np.ndarray,
                        mu1: np.ndarray, random_state: int):
    """The R-learner forest fitted on the residuals of the cross-fitted nuisances, with the
    bootstrap of little bags (``inference=True``, as ``CausalForestDML``) for per-row
    standard errors (``predict_and_var``)."""
    from econml.grf import CausalForest

    forest = CausalForest(n_estimators=CAUSAL_FOREST_TREES, min_samples_leaf=5, max_samples=0.45, honest=True,
                          inference=True, random_state=random_state)
    forest.fit(X, T - propensity, Y - (propensity * mu1 + (1 - propensity) * mu0))
    # parallel predictions add the trees up in whichever order the threads finish, so the
    # same seed gave effects 1e-15 apart; fitting in parallel is deterministic
    forest.n_jobs = 1
    return forest


@dataclass(frozen=True)
class FinalStageChoice:
    """The chosen final stage and the evidence.

    Attributes
    ----------
    chosen : str
        "cfm" or the name of the alternative that replaced it.
    clipped_share : float
        Share of the training rows whose propensity lies at the clip bound. Above
        ``POOR_OVERLAP_SHARE`` the choice is ``POOR_OVERLAP_STAGE`` whatever the losses.
    dr_loss : dict of str to float
        Mean out-of-sample DR-loss of every candidate scored, "cfm" included. Where the
        overlap gate decides, :class:`skcfm.CFMCateEstimator` scores only
        ``POOR_OVERLAP_STAGE``: the other alternatives are not fitted.
    z : dict of str to float
        Paired z statistic of each scored alternative's per-row losses minus the CFM's
        (negative: the alternative fits better; 0 on a tie within float rounding). The
        evidence for the choice, not part of it beyond its sign.
    """

    chosen: str
    clipped_share: float
    dr_loss: dict[str, float]
    z: dict[str, float]


def poor_overlap(share: float) -> bool:
    """Whether ``share`` of the rows at the propensity clip bound is past ``POOR_OVERLAP_SHARE``,
    where "auto" takes ``POOR_OVERLAP_STAGE`` whatever the losses."""
    return share > POOR_OVERLAP_SHARE


def auto_candidates(propensity: np.ndarray) -> tuple[str, ...]:
    """The alternatives "auto" scores: ``AUTO_CANDIDATES``, or only ``POOR_OVERLAP_STAGE`` where
    overlap is poor (the others' losses would not count, so they need not be fitted)."""
    return (POOR_OVERLAP_STAGE,) if poor_overlap(clipped_share(propensity)) else AUTO_CANDIDATES


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


def choose_final_stage(T: np.ndarray, Y: np.ndarray, propensity: np.ndarray, mu0: np.ndarray, mu1: np.ndarray,
                       alternatives: dict[str, np.ndarray]) -> FinalStageChoice:
    """Keep "cfm" unless an alternative's out-of-sample effects (``alternatives``: name to
    shape (n,)) have a lower mean DR-loss than the CFM's cross-fitted effects (beyond float
    rounding, ``paired_z`` < 0); among those that do, the one with the lowest. When more
    than ``POOR_OVERLAP_SHARE`` of the rows have a ``propensity`` at the clip bound
    (:func:`skcfm.nuisances.clipped_share`) and ``POOR_OVERLAP_STAGE`` is among the
    alternatives, that one, whatever the losses."""
    cfm = dr_losses(T, Y, propensity, mu0, mu1, mu1 - mu0)
    losses = {name: dr_losses(T, Y, propensity, mu0, mu1, effects) for name, effects in alternatives.items()}
    z = {name: paired_z(loss, cfm) for name, loss in losses.items()}
    passing = [name for name in z if z[name] < 0]
    dr_loss = {"cfm": float(cfm.mean())} | {name: float(loss.mean()) for name, loss in losses.items()}
    chosen = min(passing, key=dr_loss.get) if passing else "cfm"
    share = clipped_share(propensity)
    if poor_overlap(share) and POOR_OVERLAP_STAGE in alternatives:
        chosen = POOR_OVERLAP_STAGE
    return FinalStageChoice(chosen, share, dr_loss, z)
