"""Do the per-row effect intervals cover the true effects?

For each realization, three estimators are fitted as in ``run.py`` (``random_state=i``)
and their 95% ``effect_interval`` on the test rows is compared with the true effects, row
by row:

- ``skcfm_cfm``: ``CFMCateEstimator(final_stage="cfm")``, the ensemble members' spread;
- ``skcfm_causal_forest``: ``final_stage="causal_forest"``, the forest's normal interval
  (bootstrap of little bags) on the CFM's residuals;
- ``causal_forest_dml``: EconML's ``CausalForestDML`` with the benchmark's settings
  (``_baselines.causal_forest_dml``), the same kind of interval on forest nuisances.

Per realization and estimator: the share of test rows whose true effect lies inside
(``coverage``), the mean width, sqrt(PEHE), and the mean absolute z of the errors
(error / half-width * 1.96). Use data sets whose true effects are noiseless (IHDP, ACIC,
``simulated``): RealCause's hold outcome noise, against which no CATE interval can cover.
``simulated`` is the easy case a forest's asymptotics are made for: 1,000 training and 200
test rows, five standard normal covariates, P(T = 1 | x) = sigmoid(x0 / 2), a smooth
effect 1 + x1 / 2 and unit noise (:func:`simulated`).

Run: python benchmarks/studies/row_interval_coverage.py [--datasets ihdp simulated acic]
[--realizations 0-19] [--data-home DIR]. The committed CSV holds IHDP 0-19, simulated 0-19
(the defaults) and ACIC 1-10 (``--datasets acic --realizations 1-10``). Appends to
benchmarks/results/row_interval_coverage.csv (finished rows are skipped) and prints the
summary.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

import run  # noqa: E402
from _baselines import N_JOBS, _forest  # noqa: E402
from model_selection import parse_realizations  # noqa: E402

from skcfm import CFMCateEstimator  # noqa: E402

OUT = HERE / "results" / "row_interval_coverage.csv"
ALPHA = 0.05


def simulated(i: int, data_home=None):
    """The ``simulated`` data set's realization ``i``: X_train, T_train, Y_train, X_test, tau_test."""
    rng = np.random.default_rng(1000 + i)
    X = rng.normal(size=(1200, 5))
    T = (rng.random(1200) < 1 / (1 + np.exp(-X[:, 0] / 2))).astype(int)
    tau = 1 + X[:, 1] / 2
    Y = X[:, 0] + np.sin(X[:, 2]) + T * tau + rng.normal(size=1200)
    return X[:1000], T[:1000], Y[:1000], X[1000:], tau[1000:]


LOADERS = {name: load for name, (_, load) in run.DATASETS.items()} | {"simulated": simulated}


def intervals(method: str, X_train, T_train, Y_train, X_test, random_state: int):
    """(effects, lower, upper) on the test rows."""
    if method == "causal_forest_dml":
        from econml.dml import CausalForestDML

        n = len(X_train)
        est = CausalForestDML(model_y=_forest(n, random_state), model_t=_forest(n, random_state, classifier=True),
                              discrete_treatment=True, n_estimators=1000, cv=5, n_jobs=N_JOBS,
                              random_state=random_state).fit(Y_train, T_train, X=X_train)
        lo, hi = est.effect_interval(X_test, alpha=ALPHA)
        return est.effect(X_test), lo, hi
    stage = method.removeprefix("skcfm_")
    est = CFMCateEstimator(final_stage=stage, random_state=random_state, n_jobs=N_JOBS)
    est.fit(X_train, T_train, Y_train)
    with warnings.catch_warnings():  # the ensemble spread's warning is what this script measures
        warnings.simplefilter("ignore")
        lo, hi = est.effect_interval(X_test, alpha=ALPHA)
    return est.effect(X_test), lo, hi


def row(dataset: str, i: int, method: str, split: tuple) -> dict:
    """The metrics of ``method`` on realization ``i``'s ``split`` (X_train, T_train, Y_train, X_test, tau)."""
    X_train, T_train, Y_train, X_test, tau = split
    start = time.perf_counter()
    effects, lo, hi = intervals(method, X_train, T_train, Y_train, X_test, i)
    half = np.maximum((hi - lo) / 2, 1e-12)
    return {"dataset": dataset, "realization": i, "method": method, "n_test": len(tau),
            "coverage": float(np.mean((lo <= tau) & (tau <= hi))), "mean_width": float(np.mean(hi - lo)),
            "sqrt_pehe": float(np.sqrt(np.mean((effects - tau) ** 2))),
            "mean_abs_z": float(np.mean(np.abs(effects - tau) / half * 1.96)),
            "time_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ihdp", "simulated"], choices=sorted(LOADERS))
    parser.add_argument("--realizations", nargs="+", default=["0-19"], help="numbers or ranges like 0-19")
    parser.add_argument("--methods", nargs="+", default=["skcfm_cfm", "skcfm_causal_forest", "causal_forest_dml"])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    done = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame(columns=["dataset", "realization", "method"])
    finished = set(zip(done.dataset, done.realization, done.method, strict=True))
    for dataset in args.datasets:
        for i in parse_realizations(args.realizations):
            todo = [method for method in args.methods if (dataset, i, method) not in finished]
            split = LOADERS[dataset](i, args.data_home) if todo else None
            for method in todo:
                result = row(dataset, i, method, split)
                pd.DataFrame([result]).to_csv(args.out, mode="a", header=not args.out.exists(), index=False)
                print(result, flush=True)
    table = pd.read_csv(args.out)
    summary = table.groupby(["dataset", "method"]).agg(
        realizations=("realization", "size"), coverage=("coverage", "mean"), coverage_sd=("coverage", "std"),
        mean_width=("mean_width", "mean"), sqrt_pehe=("sqrt_pehe", "mean"))
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
