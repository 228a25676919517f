"""How many cross-fitting folds? The doubly robust ATE's error, coverage and fit time for cv = 2 and 5.

``fit`` cross-fits the propensity, the outcome models and the CFM's out-of-fold outcomes.
With K folds each fold draws and encodes its own contexts from (K - 1) / K of the rows and
refits the arm outcome forests, so the cross-fitting encodes about K - 1 times the contexts
of one plan: most of ``fit``'s time. EconML's estimators default to cv=2. For each
realization (train split; truth the mean true effect on the test split, as in the tables)
this fits the default estimator with each ``cv`` and records ``ate(X_test)``'s absolute
error, whether ``ate_interval(X_test)`` covers, the interval's width and the fit time.

Data sets: IHDP (realizations 0-29 by default) and the model-selection realizations of the
others: the ACIC-like semi-synthetic set, PSID 10-19 and CPS 10-13.

Run: python benchmarks/studies/crossfit_folds.py [--dataset ihdp] [--realizations 0 1 ...]
[--cv 2 5]
Adds its rows to benchmarks/results/crossfit_folds.csv (a rerun of a data set replaces its
rows) and prints the means per data set and cv.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
SELECTION = {"ihdp": range(30), "acic_like": range(10), "psid": range(10, 20), "cps": range(10, 14)}
DATA_HOME = os.environ.get("SKCFM_DATA", str(HERE.parents[2] / "shared" / "data"))


def main(argv: list[str] | None = None) -> pd.DataFrame:
    sys.path.insert(0, str(HERE.parent))
    import run  # noqa: PLC0415  (the tables' loaders and splits)
    from _semisynthetic import acic_like  # noqa: PLC0415

    from skcfm import CFMCateEstimator, set_config, unconfoundedness_pam

    loaders = {"ihdp": run.DATASETS["ihdp"][1], "acic_like": acic_like, "psid": run.DATASETS["psid"][1],
               "cps": run.DATASETS["cps"][1]}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(loaders), default="ihdp")
    parser.add_argument("--realizations", type=int, nargs="+", default=None,
                        help="default: IHDP 0-29, ACIC-like 0-9, PSID 10-19, CPS 10-13")
    parser.add_argument("--cv", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--out", type=Path, default=RESULTS / "crossfit_folds.csv")
    args = parser.parse_args(argv)
    realizations = args.realizations or list(SELECTION[args.dataset])
    set_config(progress=False)
    old = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame()
    if "dataset" not in old:
        old["dataset"] = "ihdp"
    old = old[old["dataset"] != args.dataset]
    rows = []
    for r in realizations:
        X, T, Y, X_test, tau_test = loaders[args.dataset](r, DATA_HOME)
        truth = float(np.mean(tau_test))
        pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")
        for cv in args.cv:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = CFMCateEstimator(cv=cv, final_stage="cfm", random_state=r).fit(X, T, Y, ancestors=pam)
            fit_s = time.perf_counter() - start
            lo, hi = est.ate_interval(X_test)
            estimate = est.ate(X_test)
            rows.append({"dataset": args.dataset, "realization": r, "cv": cv, "ate_abs_err": abs(estimate - truth),
                         "covered": bool(lo <= truth <= hi), "width": hi - lo, "fit_s": fit_s,
                         "weight_cfm": est.ate_result().weights[1]})
            print(f"{args.dataset} {r} cv={cv}: |ATE error| {abs(estimate - truth):.3f}, covered "
                  f"{lo <= truth <= hi}, width {hi - lo:.3f}, fit {fit_s:.1f} s", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        pd.concat([old, pd.DataFrame(rows)]).to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    print(frame.groupby("cv")[["ate_abs_err", "covered", "width", "fit_s", "weight_cfm"]].agg(["mean", "sem"])
          .round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
