"""Cost at the sizes users have: time and peak memory of fit, effect and ate_interval.

For each size (rows x covariates, binary T) the default ``CFMCateEstimator`` (``skcfm``,
``final_stage="auto"``), ``final_stage="cfm"`` (``skcfm_cfm``, the CFM alone),
``final_stage="cfm_summary"`` (``skcfm_summary``, the CFM distilled for large query sets), EconML's
``CausalForestDML`` and ``LinearDML`` (EconML's defaults, as a user would call them, with
``discrete_treatment=True``) each run in a fresh subprocess, one after the other in the
same run: ``fit`` on the n rows, ``effect`` on the same n rows, ``ate_interval``. The
subprocess reports its peak resident memory. Every method's modules (skcfm's final stages
read ``econml.grf``) are imported before the clock starts. The data: Gaussian covariates, logit e(x) =
0.8 x0 - 0.5 x1, Y = sin(2 x0) + x2 + (1 + x1) T + N(0, 1).

``--ihdp`` also times fit + effect on IHDP realizations (train split, effect on it) for
the default estimator and CausalForestDML (1000 trees, cv=5: the tables' setting), with
``--busy`` a second process spinning on one core meanwhile.

Run: python benchmarks/scale.py [--sizes 2000x20 20000x20 100000x20 100000x50]
[--methods skcfm causal_forest_dml linear_dml] [--ihdp 5] [--busy] [--load "..."]
[--out benchmarks/results/scale.csv]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
DATA_HOME = os.environ.get("SKCFM_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

CHILD = """
import json, resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
n, d, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d))
T = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 1])))).astype(int)
tau = 1 + X[:, 1]
Y = np.sin(2 * X[:, 0]) + X[:, 2] + tau * T + rng.normal(size=n)
if method.startswith("skcfm"):
    from skcfm import CFMCateEstimator, set_config
    import econml.grf, sklearn.ensemble  # imported before the clock, as the baselines' own modules are
    set_config(progress=False)
    stage = {"skcfm_summary": "cfm_summary", "skcfm_cfm": "cfm"}.get(method, "auto")
    est = CFMCateEstimator(random_state=0, final_stage=stage)
    fit = lambda: est.fit(X, T, Y)
else:
    from econml.dml import CausalForestDML, LinearDML
    est = (CausalForestDML if method == "causal_forest_dml" else LinearDML)(discrete_treatment=True, random_state=0)
    fit = lambda: est.fit(Y, T, X=X)
times = {}
start = time.perf_counter(); fit(); times["fit_s"] = time.perf_counter() - start
start = time.perf_counter(); effect = np.ravel(est.effect(X)); times["effect_s"] = time.perf_counter() - start
start = time.perf_counter(); lo, hi = est.ate_interval(X); times["ate_interval_s"] = time.perf_counter() - start
times["total_s"] = times["fit_s"] + times["effect_s"] + times["ate_interval_s"]
times["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
times["sqrt_pehe"] = float(np.sqrt(np.mean((effect - tau) ** 2)))
times["ate_covered"] = bool(float(np.ravel(lo)[0]) <= tau.mean() <= float(np.ravel(hi)[0]))
print(json.dumps(times))
"""

IHDP_CHILD = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from skcfm import CFMCateEstimator, set_config
from skcfm.datasets import load_ihdp
set_config(progress=False)
from econml.dml import CausalForestDML
import econml.grf  # skcfm's final stages read it: imported before the clock, as EconML's own modules
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
r, data_home = int(sys.argv[1]), sys.argv[2]
b = load_ihdp(r, data_home=data_home)
X, T, Y = b.data, b.treatment, b.outcome
out = {}
start = time.perf_counter()
CFMCateEstimator(random_state=0).fit(X, T, Y).effect(X)
out["skcfm_s"] = time.perf_counter() - start
n = len(Y)
forest = dict(n_estimators=100, max_depth=6, min_samples_leaf=max(1, n // 100), random_state=0)
start = time.perf_counter()
CausalForestDML(model_y=RandomForestRegressor(**forest), model_t=RandomForestClassifier(**forest),
                discrete_treatment=True, n_estimators=1000, cv=5, random_state=0).fit(Y, T, X=X).effect(X)
out["causal_forest_dml_s"] = time.perf_counter() - start
print(json.dumps(out))
"""


def _spin(stop) -> None:
    """Keep one core busy until ``stop`` is set."""
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run_child(code: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["2000x20", "20000x20", "100000x20", "100000x50"])
    parser.add_argument("--methods", nargs="+",
                        default=["skcfm", "skcfm_cfm", "skcfm_summary", "causal_forest_dml", "linear_dml"])
    parser.add_argument("--ihdp", type=int, default=0, help="IHDP realizations to time (0: none)")
    parser.add_argument("--busy", action="store_true", help="keep one core busy during the IHDP timings")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.csv")
    parser.add_argument("--load", default="", help="what else ran on the machine meanwhile, recorded with each row")
    args = parser.parse_args(argv)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    rows = []
    for size in args.sizes:
        n, d = (int(v) for v in size.split("x"))
        for method in args.methods:
            result = run_child(CHILD, n, d, method)
            rows.append({"rows": n, "covariates": d, "method": method, **result, "machine": machine,
                         "load": args.load})
            print(f"{n:7d} x {d:3d} {method:18s} fit {result['fit_s']:7.1f} s  effect {result['effect_s']:7.1f} s  "
                  f"ate_interval {result['ate_interval_s']:6.1f} s  total {result['total_s']:7.1f} s  "
                  f"peak {result['peak_rss_gb']:.2f} GB  sqrt(PEHE) {result['sqrt_pehe']:.3f}", flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(args.out, index=False)
    if args.ihdp:
        stop = multiprocessing.Event()
        spinner = multiprocessing.Process(target=_spin, args=(stop,)) if args.busy else None
        if spinner is not None:
            spinner.start()
            time.sleep(1)
        try:
            for r in range(args.ihdp):
                result = run_child(IHDP_CHILD, r, DATA_HOME)
                ratio = result["causal_forest_dml_s"] / result["skcfm_s"]
                for method in ("skcfm", "causal_forest_dml"):
                    rows.append({"rows": f"ihdp{r}", "covariates": 25, "method": method, "busy_core": args.busy,
                                 "fit_effect_s": result[f"{method}_s"], "machine": machine,
                                 "load": args.load})
                print(f"IHDP {r}{' (one core busy)' if args.busy else ''}: skcfm fit + effect "
                      f"{result['skcfm_s']:.2f} s, CausalForestDML {result['causal_forest_dml_s']:.2f} s "
                      f"({ratio:.1f}x)", flush=True)
        finally:
            if spinner is not None:
                stop.set()
                spinner.join()
        pd.DataFrame(rows).to_csv(args.out, index=False)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
