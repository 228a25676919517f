"""Speed and memory of skcfm inference.

1. IHDP: fit + effect wall time of CFMCateEstimator (defaults, with ``n_jobs=-1``, and
   with ``inference_config={"arm_outcomes": False}``) versus EconML's CausalForestDML (1000
   trees, cv=5) on the same realizations, same process, one after the other. Targets: CFM
   <= 1 s and >= 5x faster.
2. Scale: effect() on synthetic data with 50 covariates for growing row counts, each in a
   fresh subprocess that reports its peak resident memory. Target: 100k rows < 4 GB, time
   linear in rows.
3. Arm outcome forests (``--arm-forests``): the two forests' fit + out-of-bag columns on
   IHDP (realization 0, training rows), PSID and CPS (sample 0, all rows), ``n_jobs`` None vs -1, best
   of 3.
4. Repeated predictions: GraphConditionedCFMRegressor effects as two predict() calls
   (T = 1, T = 0) on 1,000 query rows after fitting on ``--cache-rows`` rows × 25
   covariates, fit_mode "low_memory" versus "fit_with_cache", and the cache's size.

Run: python benchmarks/speed.py [--realizations 5] [--rows 10000 30000 100000]
[--cache-rows 200 2000 20000] [--arm-forests] [--model PATH]
Writes benchmarks/results/speed_ihdp.csv, speed_scale.csv, speed_arm_forests.csv and
speed_fit_mode.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
DATA_HOME = os.environ.get("SKCFM_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

SCALE_CHILD = """
import json, resource, sys, time
import numpy as np
from skcfm import CFMCateEstimator
n_rows, model = int(sys.argv[1]), (sys.argv[2] or None)
rng = np.random.default_rng(0)
X = rng.normal(size=(n_rows, 50)).astype(np.float32)
T = (rng.random(n_rows) < 0.3).astype(int)
Y = X[:, 0] + T * (1 + X[:, 1]) + rng.normal(size=n_rows)
est = CFMCateEstimator(model=model, final_stage="cfm", random_state=0).fit(X[:2000], T[:2000], Y[:2000])
start = time.perf_counter()
effect = est.effect(X)
seconds = time.perf_counter() - start
peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
finite = bool(np.isfinite(effect).all())
print(json.dumps({"rows": n_rows, "effect_s": seconds, "peak_rss_gb": peak_gb, "finite": finite}))
"""


def ihdp_timings(n_realizations: int, model: str | None) -> pd.DataFrame:
    from econml.dml import CausalForestDML
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    from skcfm import CFMCateEstimator, unconfoundedness_pam
    from skcfm.datasets import load_ihdp

    rows = []
    for r in range(n_realizations):
        train, test = load_ihdp(r, split="train", data_home=DATA_HOME), load_ihdp(r, split="test", data_home=DATA_HOME)
        pam = unconfoundedness_pam([f"x{i}" for i in range(train.data.shape[1])], treatment="T", outcome="Y")
        seconds = {}
        # the default; its arm forests on every core; without the two arm forests
        variants = {"cfm": {}, "cfm_njobs": {"n_jobs": -1}, "cfm_noarms": {"inference_config": {"arm_outcomes": False}}}
        for name, options in variants.items():
            start = time.perf_counter()
            est = CFMCateEstimator(model=model, final_stage="cfm", random_state=r, **options)
            est.fit(train.data, train.treatment.astype(int), train.outcome, ancestors=pam)
            est.effect(test.data)
            seconds[name] = time.perf_counter() - start
        start = time.perf_counter()
        forest = CausalForestDML(
            model_y=RandomForestRegressor(100, max_depth=6, random_state=r),
            model_t=RandomForestClassifier(100, max_depth=6, random_state=r),
            discrete_treatment=True, n_estimators=1000, cv=5, random_state=r, n_jobs=1,
        )
        forest.fit(train.outcome, train.treatment.astype(int), X=train.data)
        forest.effect(test.data)
        forest_s = time.perf_counter() - start
        rows.append({"realization": r, **{f"{name}_fit_effect_s": s for name, s in seconds.items()},
                     "causal_forest_fit_effect_s": forest_s})
    return pd.DataFrame(rows)


def scale_timings(row_counts: list[int], model: str | None) -> pd.DataFrame:
    rows = []
    for n in row_counts:
        command = [sys.executable, "-c", SCALE_CHILD, str(n), model or ""]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return pd.DataFrame(rows)


def arm_forest_timings(repeats: int = 3) -> pd.DataFrame:
    import numpy as np

    from skcfm.arm_outcomes import ArmOutcomeCovariates
    from skcfm.datasets import load_ihdp, load_lalonde

    ihdp = load_ihdp(0, split="train", data_home=DATA_HOME)
    data = {"ihdp": ihdp, **{group: load_lalonde(0, group=group, data_home=DATA_HOME) for group in ("psid", "cps")}}
    rows = []
    for name, bunch in data.items():
        X, T, Y = np.asarray(bunch.data, dtype=float), bunch.treatment.astype(int), bunch.outcome
        row = {"dataset": name, "rows": X.shape[0], "covariates": X.shape[1]}
        for jobs in (None, -1):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                ArmOutcomeCovariates(random_state=0, n_jobs=jobs).fit_transform(X, T, Y)
                times.append(time.perf_counter() - start)
            row["serial_s" if jobs is None else "all_cores_s"] = min(times)
        rows.append(row)
    return pd.DataFrame(rows)


def fit_mode_timings(row_counts: list[int], model: str | None) -> pd.DataFrame:
    import numpy as np

    from skcfm import GraphConditionedCFMRegressor

    rows = []
    for n in row_counts:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n + 1000, 26))
        X[:, 0] = rng.random(n + 1000) < 0.3  # the treatment column
        y = X[:, 1] + X[:, 0] * (1 + X[:, 2]) + rng.normal(size=n + 1000)
        queries = X[n:].copy()
        for mode in ("low_memory", "fit_with_cache"):
            start = time.perf_counter()
            reg = GraphConditionedCFMRegressor(model=model, fit_mode=mode, random_state=0).fit(X[:n], y[:n])
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            effect = reg.predict(np.column_stack([np.ones(1000), queries[:, 1:]]))
            effect -= reg.predict(np.column_stack([np.zeros(1000), queries[:, 1:]]))
            predict_s = time.perf_counter() - start
            cache_mb = sum(encoded.nbytes for ensemble in reg._contexts.encodings or [] for encoded in ensemble) / 1e6
            rows.append({"rows": n, "fit_mode": mode, "members": len(reg.members_), "fit_s": fit_s,
                         "two_predicts_s": predict_s, "cache_mb": cache_mb,
                         "finite": bool(np.isfinite(effect).all())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realizations", type=int, default=5)
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 30_000, 100_000])
    parser.add_argument("--cache-rows", type=int, nargs="*", default=[200, 2_000, 20_000])
    parser.add_argument("--arm-forests", action="store_true", help="time the arm outcome forests")
    parser.add_argument("--model", default=None, help=".safetensors path (default: the shipped model)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    if args.realizations:
        ihdp = ihdp_timings(args.realizations, args.model)
        ratio = ihdp.causal_forest_fit_effect_s / ihdp.cfm_fit_effect_s
        print(ihdp.to_string(index=False))
        print(f"IHDP fit+effect: CFM {ihdp.cfm_fit_effect_s.mean():.2f} ± {ihdp.cfm_fit_effect_s.std():.2f} s, "
              f"(n_jobs=-1 {ihdp.cfm_njobs_fit_effect_s.mean():.2f} s, "
              f"without arm outcomes {ihdp.cfm_noarms_fit_effect_s.mean():.2f} s), "
              f"CausalForestDML {ihdp.causal_forest_fit_effect_s.mean():.2f} s, speed-up {ratio.mean():.1f}x "
              f"(min {ratio.min():.1f}x)")
        ihdp.to_csv(RESULTS / "speed_ihdp.csv", index=False)
    if args.rows:
        scale = scale_timings(args.rows, args.model)
        scale["s_per_1k_rows"] = 1000 * scale.effect_s / scale.rows
        print(scale.to_string(index=False))
        scale.to_csv(RESULTS / "speed_scale.csv", index=False)
    if args.arm_forests:
        forests = arm_forest_timings()
        print(forests.to_string(index=False))
        forests.to_csv(RESULTS / "speed_arm_forests.csv", index=False)
    if args.cache_rows:
        modes = fit_mode_timings(args.cache_rows, args.model)
        print(modes.to_string(index=False))
        modes.to_csv(RESULTS / "speed_fit_mode.csv", index=False)


if __name__ == "__main__":
    main()
