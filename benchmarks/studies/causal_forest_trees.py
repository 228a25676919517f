"""How many trees does the final-stage causal forest need?

``final_stage="causal_forest"`` (and ``"auto"`` where it wins) fits EconML's
``CausalForest`` on the residuals of the CFM's cross-fitted nuisances; its trees are most
of that stage's time. On the learning-curve designs (``smooth``, ``steps``; 2,000 training
rows, 2,000 test rows) this fits the estimator once per seed and refits the forest on the
same nuisances with each tree count, recording sqrt(PEHE) on the test rows and the
forest's fit time.

Run: python benchmarks/studies/causal_forest_trees.py [--trees 100 200 500 1000] [--seeds 3]
Writes benchmarks/results/causal_forest_trees.csv and prints the means per design and count.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    sys.path.insert(0, str(HERE.parent))
    import learning_curve  # noqa: PLC0415

    import skcfm.final_stages as final_stages
    from skcfm import CFMCateEstimator, set_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS / "causal_forest_trees.csv")
    args = parser.parse_args(argv)
    set_config(progress=False)
    shipped = final_stages.CAUSAL_FOREST_TREES
    rows = []
    try:
        for design in ("smooth", "steps"):
            for seed in range(args.seeds):
                rng = np.random.default_rng(1000 * args.n + seed)
                X, T, Y, _ = learning_curve.draw(design, args.n, rng)
                X_test, _, _, tau = learning_curve.draw(design, learning_curve.N_TEST, rng)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = CFMCateEstimator(final_stage="causal_forest", random_state=seed).fit(X, T, Y)
                nuisances, stage = est._doubly_robust, est._final_stage
                mu0, mu1 = nuisances.cfm_
                unit, Z, Z_test = stage.y_scale_, stage.x_scaler_.transform(X), stage.x_scaler_.transform(X_test)
                for trees in args.trees:
                    final_stages.CAUSAL_FOREST_TREES = trees
                    start = time.perf_counter()
                    forest = final_stages.causal_forest_stage(Z, T, Y / unit, nuisances.propensity_, mu0 / unit,
                                                              mu1 / unit, seed)
                    fit_s = time.perf_counter() - start
                    effect = forest.predict(Z_test).ravel() * unit
                    rows.append({"design": design, "n": args.n, "seed": seed, "trees": trees,
                                 "sqrt_pehe": float(np.sqrt(np.mean((effect - tau) ** 2))), "fit_s": fit_s})
                    print(rows[-1], flush=True)
    finally:
        final_stages.CAUSAL_FOREST_TREES = shipped
    frame = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(frame.groupby(["design", "trees"])[["sqrt_pehe", "fit_s"]].mean().round(4).to_string())
    return frame


if __name__ == "__main__":
    main()
