"""Can the stack read a fitted summary of the CFM instead of its members on new rows?

``effect`` on new rows runs every query row through its region's members; beyond the
encoding cache each call re-encodes the contexts too, so at 100,000 rows the stack's CFM
part cost minutes. A gradient boosting regressor of the CFM's cross-fitted effects (the
``cfm_summary`` stage) answers in microseconds per row. This study fits the default
estimator and scores, on the test rows, three ways to form the stack's CFM part:

- ``members``: the members themselves (what ships);
- ``substituted``: the summary in their place, with the stack's weights as fitted;
- ``restacked``: the summary as the stack's candidate, weighed by its 5-fold cross-fitted
  effects on the training rows.

Rows under the overlap gate (``blend_tl``) are skipped. Data: the selection realizations
of ACIC-like and IHDP and the learning curve's designs and the scale benchmark's (``--designs smooth steps scale
--sizes 8000 32000``; test rows drawn apart).

Run: python benchmarks/studies/cfm_summary_in_stack.py [--datasets acic_like ihdp]
[--designs smooth steps scale] [--sizes 8000 32000] [--out results/cfm_summary_in_stack.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

from _metrics import pehe  # noqa: E402
from learning_curve import N_TEST, draw  # noqa: E402
from model_selection import LOADERS, SELECTION, add_rows  # noqa: E402
from run import default_data_home  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402
from sklearn.model_selection import KFold, cross_val_predict  # noqa: E402

from skcfm import CFMCateEstimator, set_config  # noqa: E402
from skcfm.aipw import aipw_scores  # noqa: E402
from skcfm.final_stages import stacking_weights  # noqa: E402


def evaluate(name: str, X, T, Y, X_new, tau, seed: int) -> dict | None:
    start = time.perf_counter()
    est = CFMCateEstimator(random_state=seed).fit(X, T, Y)
    fit_s = time.perf_counter() - start
    if est.final_stage_ != "stack":
        return None
    nuisances, stages = est._doubly_robust, est._final_stage
    e, (mu0, mu1) = nuisances.propensity_, nuisances.cfm_
    phi = aipw_scores(Y, T, mu0, mu1, e)
    others = ("causal_forest", "dr")
    train = {s: stages.out_of_sample_effects(s, X, T, Y, nuisances) for s in others}
    new = {s: stages.stage_effects(s, X_new) for s in others}
    start = time.perf_counter()
    cfm_new = est._member_effects(X_new, 0, 1, cfm_only=True).mean(axis=0)
    members_s = time.perf_counter() - start
    start = time.perf_counter()
    Z, Z_new, unit = stages.x_scaler_.transform(X), stages.x_scaler_.transform(X_new), stages.y_scale_
    summary = HistGradientBoostingRegressor(random_state=seed)
    summary_train = cross_val_predict(summary, Z, (mu1 - mu0) / unit,
                                      cv=KFold(5, shuffle=True, random_state=seed)) * unit
    summary_new = summary.fit(Z, (mu1 - mu0) / unit).predict(Z_new) * unit
    summary_s = time.perf_counter() - start
    w = np.array([est.final_stage_choice_.weights[s] for s in ("cfm", *others)])
    restack = stacking_weights(np.column_stack([summary_train, train["causal_forest"], train["dr"]]), phi)
    rest = np.column_stack([new["causal_forest"], new["dr"]])
    return {
        "dataset": name, "seed": seed, "n": len(T), "members": len(est.members_),
        "cached": est._contexts.encodings is not None, "fit_s": fit_s, "members_s": members_s, "summary_s": summary_s,
        "w_cfm": w[0], "w_summary_restacked": restack[0],
        "sqrt_pehe_cfm": pehe(cfm_new, tau), "sqrt_pehe_summary": pehe(summary_new, tau),
        "sqrt_pehe_members": pehe(np.column_stack([cfm_new, rest]) @ w, tau),
        "sqrt_pehe_substituted": pehe(np.column_stack([summary_new, rest]) @ w, tau),
        "sqrt_pehe_restacked": pehe(np.column_stack([summary_new, rest]) @ restack, tau),
    }


def draw_design(design: str, n: int, rng: np.random.Generator):
    """``n`` rows of a learning-curve design, or of ``scale``: ``benchmarks/scale.py``'s
    (20 covariates, effect 1 + x1), where the stack gives the CFM weight at 100,000 rows."""
    if design != "scale":
        return draw(design, n, rng)
    X = rng.normal(size=(n, 20))
    T = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 1])))).astype(int)
    tau = 1 + X[:, 1]
    return X, T, np.sin(2 * X[:, 0]) + X[:, 2] + tau * T + rng.normal(size=n), tau


def tasks(datasets, designs, sizes, data_home):
    for dataset in datasets:
        for i in SELECTION[dataset]:
            X, T, Y, X_new, tau = LOADERS[dataset](i, data_home)
            yield dataset, X, T.astype(int), Y, X_new, tau, i
    for design in designs:
        for n in sizes:
            rng = np.random.default_rng(n)
            X, T, Y, _ = draw_design(design, n, rng)
            X_new, _, _, tau = draw_design(design, N_TEST, rng)
            yield f"{design}_{n}", X, T, Y, X_new, tau, 0


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=["acic_like", "ihdp"], choices=sorted(SELECTION))
    parser.add_argument("--designs", nargs="*", default=["smooth", "steps"])
    parser.add_argument("--sizes", nargs="*", type=int, default=[8000, 32000])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cfm_summary_in_stack.csv")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    set_config(progress=False)
    frame = None
    for name, X, T, Y, X_new, tau, seed in tasks(args.datasets, args.designs, args.sizes,
                                                 args.data_home or default_data_home()):
        row = evaluate(name, X, T, Y, X_new, tau, seed)
        if row is None:
            continue
        print(row, flush=True)
        frame = add_rows(args.out, pd.DataFrame([row]), key=("dataset", "seed", "n"))
        frame.to_csv(args.out, index=False)
    return frame


if __name__ == "__main__":
    main()
