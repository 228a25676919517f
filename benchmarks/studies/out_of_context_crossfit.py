"""Cross-fit the CFM through the fitted contexts, or through contexts of its own per fold?

``fit`` needs the CFM's cross-fitted outcomes mu_0(x), mu_1(x) for each training row (the
doubly robust ATE and the final stages read them). With K folds every fold draws, encodes
and queries contexts of its own and refits the arm outcome forests: most of ``fit``'s
time. Where each region of local contexts holds two contexts' worth of rows, its members
can instead come in pairs over the two halves of those rows, and each row is answered by
the members whose context leaves it out (``skcfm.contexts.predict_out_of_context``): no
contexts beyond the fitted ones.

This compares the two on the same data, for the default estimator (``final_stage="auto"``):
``folds`` (members drawn independently from a region's rows, K = 5 fold contexts) and
``out_of_context`` (paired members, out-of-context answers). Recorded per data set:
sqrt(PEHE) of ``effect`` on the test rows, the CFM's own sqrt(PEHE) (``final_stage="cfm"``
on the same fit), ``ate(X_test)``'s absolute error, whether ``ate_interval(X_test)``
covers the mean true effect there, the interval's width, the final stage chosen and the
fit time.

Data: the learning-curve designs (``smooth``, ``steps``; 2,000 test rows), the design of
``benchmarks/scale.py`` (``scale``, 20 covariates, effects on the training rows), IHDP,
PSID 10-19 and the ACIC-like selection set.

Run: python benchmarks/studies/out_of_context_crossfit.py --dataset smooth --sizes 2000
[--realizations 0 1 2]
Adds its rows to benchmarks/results/out_of_context_crossfit.csv and prints paired means.
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
DATA_HOME = os.environ.get("SKCFM_DATA", str(HERE.parents[2] / "shared" / "data"))
SELECTION = {"ihdp": range(30), "acic_like": range(4), "psid": range(10, 20), "smooth": range(3), "steps": range(3),
             "scale": range(6)}


def load(dataset: str, r: int, n: int):
    """X, T, Y, X_test, tau_test of one realization."""
    sys.path.insert(0, str(HERE.parent))
    import learning_curve  # noqa: PLC0415
    import run  # noqa: PLC0415
    from _semisynthetic import acic_like  # noqa: PLC0415

    if dataset == "scale":  # benchmarks/scale.py's design, 20 covariates; effects on the training rows
        rng = np.random.default_rng(r)
        X = rng.normal(size=(n, 20))
        T = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 1])))).astype(int)
        tau = 1 + X[:, 1]
        Y = np.sin(2 * X[:, 0]) + X[:, 2] + tau * T + rng.normal(size=n)
        return X, T, Y, X, tau
    if dataset in ("smooth", "steps"):
        rng = np.random.default_rng(1000 * n + r)
        X, T, Y, _ = learning_curve.draw(dataset, n, rng)
        X_test, _, _, tau_test = learning_curve.draw(dataset, learning_curve.N_TEST, rng)
        return X, T, Y, X_test, tau_test
    loader = acic_like if dataset == "acic_like" else run.DATASETS[dataset][1]
    return loader(r, DATA_HOME)


def fit_variant(variant: str, X, T, Y, seed: int):
    """The default estimator fitted with one cross-fitting variant."""
    from skcfm import CFMCateEstimator, cate_members, inference

    halves, out_of_context = inference._halves, cate_members.MemberPredictionsMixin._out_of_context_outcomes
    if variant == "folds":
        inference._halves = lambda *args: None
        cate_members.MemberPredictionsMixin._out_of_context_outcomes = lambda self: None
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = CFMCateEstimator(random_state=seed).fit(X, T, Y)
        return est, time.perf_counter() - start
    finally:
        inference._halves, cate_members.MemberPredictionsMixin._out_of_context_outcomes = halves, out_of_context


def main(argv: list[str] | None = None) -> pd.DataFrame:
    from skcfm import set_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SELECTION), default="smooth")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000], help="rows (the simulated designs only)")
    parser.add_argument("--realizations", type=int, nargs="+", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "out_of_context_crossfit.csv")
    args = parser.parse_args(argv)
    set_config(progress=False)
    sizes = args.sizes if args.dataset in ("smooth", "steps", "scale") else [0]
    rows = []
    for n in sizes:
        for r in args.realizations or list(SELECTION[args.dataset]):
            X, T, Y, X_test, tau = load(args.dataset, r, n)
            truth = float(np.mean(tau))
            for variant in ("folds", "out_of_context"):
                est, fit_s = fit_variant(variant, X, T, Y, r)
                effect = np.ravel(est.effect(X_test))
                lo, hi = est.ate_interval(X_test)
                cfm_effect = est._member_effects(X_test, 0, 1, cfm_only=True).mean(axis=0)
                row = {"dataset": args.dataset, "n": len(T), "realization": r, "variant": variant,
                       "sqrt_pehe": float(np.sqrt(np.mean((effect - tau) ** 2))),
                       "cfm_sqrt_pehe": float(np.sqrt(np.mean((cfm_effect - tau) ** 2))),
                       "ate_abs_err": abs(est.ate(X_test) - truth), "covered": bool(lo <= truth <= hi),
                       "width": hi - lo, "stage": est.final_stage_, "fit_s": fit_s}
                rows.append(row)
                print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
            frame = pd.DataFrame(rows)
            old = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame(columns=frame.columns)
            key = ["dataset", "n", "realization", "variant"]
            merged = pd.concat([old, frame]).drop_duplicates(key, keep="last")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            merged.to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    print(frame.groupby(["dataset", "n", "variant"])[["sqrt_pehe", "cfm_sqrt_pehe", "ate_abs_err", "covered",
                                                        "width", "fit_s"]].mean().to_string())
    return frame


if __name__ == "__main__":
    main()
