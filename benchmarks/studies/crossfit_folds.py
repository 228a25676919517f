"""How many cross-fitting folds? The doubly robust ATE's error, coverage and fit time for cv = 2 and 5.

``fit`` cross-fits the propensity, the outcome models and the CFM's out-of-fold outcomes.
With K folds each fold draws and encodes its own contexts from (K - 1) / K of the rows and
refits the arm outcome forests, so the cross-fitting encodes about K - 1 times the contexts
of one plan: most of ``fit``'s time. EconML's estimators default to cv=2; skcfm to 5. For
each IHDP realization (train split; truth on the test split, as in the tables) this fits the
default estimator with each ``cv`` and records ``ate(X_test)``'s absolute error, whether
``ate_interval(X_test)`` covers, the interval's width, ``ate()``'s interval on the training
rows, and the fit time.

Run: python benchmarks/studies/crossfit_folds.py [--realizations 30] [--cv 2 5]
Writes benchmarks/results/crossfit_folds.csv and prints the means per cv.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
DATA_HOME = os.environ.get("SKCFM_DATA", str(HERE.parents[2] / "shared" / "data"))


def main(argv: list[str] | None = None) -> pd.DataFrame:
    from skcfm import CFMCateEstimator, set_config, unconfoundedness_pam
    from skcfm.datasets import load_ihdp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realizations", type=int, default=30)
    parser.add_argument("--cv", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--out", type=Path, default=RESULTS / "crossfit_folds.csv")
    args = parser.parse_args(argv)
    set_config(progress=False)
    rows = []
    for r in range(args.realizations):
        train, test = (load_ihdp(r, split=s, data_home=DATA_HOME) for s in ("train", "test"))
        truth = float(np.mean(test.truth["mu1"] - test.truth["mu0"]))
        pam = unconfoundedness_pam([f"x{j}" for j in range(train.data.shape[1])], treatment="T", outcome="Y")
        for cv in args.cv:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = CFMCateEstimator(cv=cv, random_state=r).fit(train.data, train.treatment, train.outcome,
                                                                  ancestors=pam)
            fit_s = time.perf_counter() - start
            lo, hi = est.ate_interval(test.data)
            estimate = est.ate(test.data)
            rows.append({"realization": r, "cv": cv, "ate_abs_err": abs(estimate - truth),
                         "covered": bool(lo <= truth <= hi), "width": hi - lo, "fit_s": fit_s,
                         "weight_cfm": est.ate_result().weights[1]})
            print(f"IHDP {r} cv={cv}: |ATE error| {abs(estimate - truth):.3f}, covered {lo <= truth <= hi}, "
                  f"width {hi - lo:.3f}, fit {fit_s:.1f} s", flush=True)
        frame = pd.DataFrame(rows)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    print(frame.groupby("cv")[["ate_abs_err", "covered", "width", "fit_s", "weight_cfm"]].agg(["mean", "sem"])
          .round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
