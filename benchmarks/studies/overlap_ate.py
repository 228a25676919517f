"""Doubly robust average effects where the arms barely overlap: do they beat the CFM alone?

``ate(X)`` of a hybrid estimator corrects the CFM's mean effect over X by its error on the
training rows as AIPW scores measure it. Where many rows sit at the propensity clip bound
(the ``OverlapWarning`` condition) the scores see no treated, or no control, rows like
them, so the correction rests on a few heavily weighted rows. For each selection
realization (``model_selection.SELECTION``) of IHDP, PSID and CPS this script fits
``CFMCateEstimator`` (unconfoundedness PAM, default ensemble) once and scores, against
the average *true CATE* over the test rows (RealCause: each row's mean ``ite`` over the
other 49 samples, ``noise_floor.true_cate``; IHDP: mu1 - mu0):

- ``cfm``: the CFM's mean effect over the test rows (no correction, no interval);
- ``hybrid``: the estimator's ``ate(X_test)`` and its interval (H-AIPW weights);
- ``aipw``: the same correction with AIPW scores of the CFM alone;
- ``hybrid_overlap_weights``: the hybrid with its weights chosen on the rows inside the
  clip bounds only.

Also recorded: the share of training rows at the clip bound. The truth is the conditional
ATE, not the test rows' mean ``ite`` the benchmark tables use, so that RealCause's outcome
noise (sd of the difference about 900 on PSID, 210 on CPS) does not count against the
intervals, which target the conditional effect.

- ``cfm_lo``, ``cfm_hi``: the ensemble-spread 95 % interval of ``cfm`` (quantiles of the
  members' mean effects, what ``ate_interval(X)`` gives with ``inference="ensemble"``);
- ``blend_tl``: the mean over the test rows of ``final_stage="blend_tl"``'s effects (half
  the CFM's, half the estimator's forest T-learner's), what ``final_stage="auto"`` reports
  where its overlap gate fires (no interval).

A rule written down before the realizations outside the selection set
were fitted (``--realizations``): *where more than half of the training rows sit at the
clip bound, ``ate(X)`` would report the plain mean of ``effect(X)`` rather than the doubly
robust estimate.* The selection realizations suggested it (PSID 10-19: mean absolute error
1,251 against the hybrid's 1,999; CPS 10-13: 751 against 1,245). It is confirmed only if
the plain mean's error is lower than the hybrid's, paired, on both PSID 0-9 and 20-29
and CPS 0-9; its interval is a separate question.

Run: python benchmarks/studies/overlap_ate.py [--datasets ihdp psid cps] [--realizations 0 1 ...]
[--out results/overlap_ate.csv] (appends; a rerun of a realization replaces its row;
default realizations: the selection set).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

from model_selection import LOADERS, SELECTION, add_rows  # noqa: E402
from noise_floor import GROUPS, true_cate  # noqa: E402

from skcfm import CFMCateEstimator, unconfoundedness_pam  # noqa: E402
from skcfm.aipw import aipw_scores, hybrid_aipw_scores  # noqa: E402
from skcfm.debiased_effect import debiased_mean_effect  # noqa: E402
from skcfm.doubly_robust import ROWS_PER_CORRECTION_TERM  # noqa: E402
from skcfm.nuisances import PROPENSITY_CLIP, OverlapWarning, outcome_effect  # noqa: E402

Z = float(norm.ppf(0.975))
ESTIMATES = ("cfm", "hybrid", "aipw", "hybrid_overlap_weights", "blend_tl")
POINT_ONLY = ("cfm", "blend_tl")  # no interval


def evaluate(dataset: str, i: int, data_home=None) -> dict:
    X, T, Y, X_new, tau = LOADERS[dataset](i, data_home)
    T = T.astype(int)
    pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)  # the share at the bound is recorded instead
        est = CFMCateEstimator(final_stage="cfm", random_state=i).fit(X, T, Y, ancestors=pam)
        hybrid = est._doubly_robust_ate(X_new)
        e, standard, (mu0, mu1) = est._nuisances(with_standard=True)
    inside = (e > PROPENSITY_CLIP) & (e < 1 - PROPENSITY_CLIP)
    members = est._member_effects(X_new, 0, 1, cfm_only=True)
    cfm_new = members.mean(axis=0)
    cfm_lo, cfm_hi = np.quantile(members.mean(axis=1), [0.025, 0.975])
    tl_new = np.diff(est._t_learner().transform(X_new), axis=1).ravel()
    # the estimator's rule: a correction linear in X only with enough rows per term
    linear = len(X) >= ROWS_PER_CORRECTION_TERM * (X.shape[1] + 1)
    X_fit, X_at = (X, X_new) if linear else (None, None)
    aipw = debiased_mean_effect(aipw_scores(Y, T, mu0, mu1, e), mu1 - mu0, cfm_new, X=X_fit, X_new=X_at)
    scores, w = hybrid_aipw_scores(Y, T, [standard, (mu0, mu1)], e, weight_rows=inside)
    standard_new = outcome_effect(est._user_covariates(), T, Y, X_new)
    overlap = debiased_mean_effect(scores, w[0] * (standard[1] - standard[0]) + w[1] * (mu1 - mu0),
                                   w[0] * standard_new + w[1] * cfm_new, X=X_fit, X_new=X_at)
    truth = float(true_cate(dataset, i, data_home)[0].mean()) if dataset in GROUPS else float(np.mean(tau))
    row = {"dataset": dataset, "realization": i, "selection": i in SELECTION[dataset],
           "share_at_clip_bound": float(1 - inside.mean()), "ate_true_cate": truth, "cfm": float(cfm_new.mean()),
           "cfm_lo": float(cfm_lo), "cfm_hi": float(cfm_hi), "blend_tl": float(((cfm_new + tl_new) / 2).mean())}
    for name, result in (("hybrid", hybrid), ("aipw", aipw), ("hybrid_overlap_weights", overlap)):
        row[name], row[f"{name}_stderr"] = result.estimate, result.stderr
    row["hybrid_weight_cfm"] = float(est.ate_result().weights[1])
    return row


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error against the true CATE's average and interval coverage of it, per
    data set and selection / held-out realizations."""
    pairs = zip(frame["dataset"], frame["realization"], strict=True)
    frame = frame.assign(selection=[i in SELECTION[d] for d, i in pairs])
    groups = [frame["dataset"], frame["selection"]]
    out = pd.DataFrame({"realizations": frame.groupby(groups).size(),
                        "share_at_clip_bound": frame.groupby(groups)["share_at_clip_bound"].mean()})
    for name in ESTIMATES:
        if name not in frame:
            continue
        error = (frame[name] - frame["ate_true_cate"]).abs()
        out[f"{name}_abs_err"] = error.groupby(groups).mean()
        if name not in POINT_ONLY:
            out[f"{name}_coverage"] = (error <= Z * frame[f"{name}_stderr"]).groupby(groups).mean()
        elif f"{name}_lo" in frame:  # an ensemble-spread interval
            held = (frame[f"{name}_lo"] <= frame["ate_true_cate"]) & (frame["ate_true_cate"] <= frame[f"{name}_hi"])
            out[f"{name}_coverage"] = held.where(frame[f"{name}_lo"].notna()).groupby(groups).mean()
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ihdp", "psid", "cps"], choices=sorted(SELECTION))
    parser.add_argument("--realizations", nargs="+", type=int, default=None,
                        help="realizations to fit (default: each data set's selection realizations)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "overlap_ate.csv")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    rows = []
    for dataset in args.datasets:
        for i in SELECTION[dataset] if args.realizations is None else args.realizations:
            rows.append(evaluate(dataset, i, args.data_home))
            print(pd.DataFrame(rows[-1:]).round(3).to_string(header=len(rows) == 1, index=False), flush=True)
    frame = add_rows(args.out, pd.DataFrame(rows), key=("dataset", "realization"))
    frame.to_csv(args.out, index=False)
    print(summarise(frame).round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
