"""Rows per second of ``skcfm.dask.map_partitions`` on a process LocalCluster, 1 vs 2 workers.

A CFMCateEstimator is fitted on 2,000 rows (10 covariates); effects are then computed
for ``--rows`` rows of a Dask DataFrame split into ``--partitions`` partitions.
``--final-stage cfm`` (with ``--n-estimators 1``: one member per region) times the CFM's
own query path; ``--final-stage auto`` the default estimator, whose effects come from the
final stage it chose; ``--stacked-cfm summary`` lets the stack read a regressor of the CFM's
cross-fitted effects in place of the members (the default, "auto", does so only for
training sets beyond the encoding cache).

Run: python benchmarks/studies/dask_scaleout.py [--rows 1000000] [--workers 1 2] [--n-estimators 1]
[--final-stage cfm] [--stacked-cfm auto]
Writes benchmarks/results/dask_scaleout.csv (rows of other worker counts and stages already there are kept).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

from skcfm import CFMCateEstimator
from skcfm.dask import map_partitions

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n-estimators", default="1", help='members per region, or "auto"')
    parser.add_argument("--final-stage", default="cfm")
    parser.add_argument("--stacked-cfm", default="auto", choices=["auto", "members", "summary"])
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    columns = [f"x{i}" for i in range(10)]
    X = pd.DataFrame(rng.normal(size=(args.rows, 10)).astype(np.float32), columns=columns)
    T = (rng.random(2000) < 0.4).astype(int)
    Y = X.x0[:2000] + T * (1 + X.x1[:2000]) + rng.normal(size=2000)
    n_estimators = args.n_estimators if args.n_estimators == "auto" else int(args.n_estimators)
    est = CFMCateEstimator(model=args.model, n_estimators=n_estimators, final_stage=args.final_stage,
                           inference_config={"stacked_cfm": args.stacked_cfm}, random_state=0)
    est.fit(X.iloc[:2000], T, Y.rename("y"))
    frame = dd.from_pandas(X, npartitions=args.partitions)
    rows = []
    for n_workers in args.workers:
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster):
                start = time.perf_counter()
                effects = map_partitions(est, frame).compute()
                seconds = time.perf_counter() - start
        rows.append({"workers": n_workers, "rows": args.rows, "final_stage": est.final_stage_,
                     "n_estimators": args.n_estimators, "stacked_cfm": args.stacked_cfm,
                     "cfm_weight": est._final_stage.cfm_weight_,
                     "seconds": seconds, "rows_per_s": args.rows / seconds,
                     "finite": bool(np.isfinite(effects).all())})
        print(rows[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "dask_scaleout.csv"
    frame = pd.DataFrame(rows)
    if path.exists():  # keep earlier runs' other worker counts (e.g. 1 and 2 workers run separately)
        earlier = pd.read_csv(path)
        if "final_stage" not in earlier:  # rows without it timed the CFM with one member per region
            earlier["final_stage"], earlier["n_estimators"] = "cfm", "1"
        if "stacked_cfm" not in earlier:  # rows without it predate the option
            earlier["stacked_cfm"] = "auto"
        key = ["workers", "rows", "final_stage", "n_estimators", "stacked_cfm"]
        earlier["n_estimators"] = earlier["n_estimators"].astype(str)
        keep = ~earlier.set_index(key).index.isin(frame.set_index(key).index)
        frame = pd.concat([earlier[keep], frame]).sort_values(["rows", "workers"])
    frame.to_csv(path, index=False)


if __name__ == "__main__":
    main()
