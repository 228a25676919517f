"""Does more data buy more accuracy? sqrt(PEHE) and time against n, skcfm beside EconML.

Two confounded designs of this script's own (nonlinear outcome, heterogeneous effect,
propensity depending on the outcome's drivers), drawn fresh for every (design, n, seed):

- ``smooth``: 10 Gaussian covariates; mu0 = sin(2 x0) + x1^2 / 2 + x3, tau = 1 + x1 +
  tanh(2 x2) / 2, logit e(x) = 0.8 x0 - 0.6 x1 + 0.4 x3.
- ``steps``: 6 Gaussian and 4 binary covariates; mu0 = |x0| + 1.5 b0 - b1 + x2 x3 / 2,
  tau = 2 [x0 > 0] + b2 - 0.5 + x4 / 2, logit e(x) = 1.2 x0 + 0.8 b0 - 0.5.

Noise is standard normal. Every method fits on n rows and predicts the effects of 2,000
fresh test rows from the same design; sqrt(PEHE) is against the true tau there. Methods:
``skcfm`` (``CFMCateEstimator`` defaults: ``final_stage="auto"`` for the binary T here),
``skcfm_cfm`` (``final_stage="cfm"``, the CFM's own effects), ``skcfm_summary``
(``final_stage="cfm_summary"``),
``causal_forest_dml`` and ``t_learner`` (the tables' fixed baselines, ``_baselines.py``).
``fit_s`` is fit, ``effect_s`` the effect on the test rows.

Run: python benchmarks/learning_curve.py [--sizes 500 2000 8000 32000] [--seeds 2]
[--methods skcfm causal_forest_dml ...] [--out benchmarks/results/learning_curve.csv]
Prints the mean sqrt(PEHE) (and its SEM over seeds) per design, method and n.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baselines import METHODS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
N_TEST = 2000


def draw(design: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Covariates, treatment, outcome and true effect of ``n`` rows of ``design``."""
    if design == "smooth":
        X = rng.normal(size=(n, 10))
        mu0 = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 / 2 + X[:, 3]
        tau = 1 + X[:, 1] + np.tanh(2 * X[:, 2]) / 2
        logit = 0.8 * X[:, 0] - 0.6 * X[:, 1] + 0.4 * X[:, 3]
    elif design == "steps":
        G = rng.normal(size=(n, 6))
        B = (rng.random((n, 4)) < 0.4).astype(float)
        X = np.column_stack([G, B])
        b0, b1, b2 = B[:, 0], B[:, 1], B[:, 2]
        mu0 = np.abs(G[:, 0]) + 1.5 * b0 - b1 + G[:, 2] * G[:, 3] / 2
        tau = 2 * (G[:, 0] > 0) + b2 - 0.5 + G[:, 4] / 2
        logit = 1.2 * G[:, 0] + 0.8 * b0 - 0.5
    else:
        raise ValueError(f"design={design!r}; expected 'smooth' or 'steps'")
    T = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    Y = mu0 + tau * T + rng.normal(size=n)
    return X, T, Y, tau


def skcfm_method(**params):
    """A CFMCateEstimator with ``params``, timed fit and effect."""

    def method(X_train, T_train, Y_train, X_test, *, random_state):
        from skcfm import CFMCateEstimator

        start = time.perf_counter()
        est = CFMCateEstimator(random_state=random_state, **params).fit(X_train, T_train, Y_train)
        fitted = time.perf_counter()
        cate = est.effect(X_test)
        return cate, fitted - start, time.perf_counter() - fitted

    return method


def baseline_method(name: str):
    """A baseline of the tables (fit and effect in one call; timed as fit)."""

    def method(X_train, T_train, Y_train, X_test, *, random_state):
        start = time.perf_counter()
        cate = METHODS[name](X_train, T_train, Y_train, X_test, random_state=random_state)["cate_test"]
        return cate, time.perf_counter() - start, 0.0

    return method


ALL_METHODS = {
    "skcfm": skcfm_method(),
    "skcfm_cfm": skcfm_method(final_stage="cfm"),
    "skcfm_summary": skcfm_method(final_stage="cfm_summary"),
    "causal_forest_dml": baseline_method("causal_forest_dml"),
    "t_learner": baseline_method("t_learner"),
}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000, 32000])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--designs", nargs="+", default=["smooth", "steps"])
    parser.add_argument("--methods", nargs="+", default=list(ALL_METHODS), choices=list(ALL_METHODS))
    parser.add_argument("--out", type=Path, default=RESULTS / "learning_curve.csv")
    args = parser.parse_args(argv)
    rows = []
    for design in args.designs:
        for n in args.sizes:
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, n, len(design)])
                X, T, Y, _ = draw(design, n, rng)
                X_test, _, _, tau_test = draw(design, N_TEST, rng)
                for name in args.methods:
                    cate, fit_s, effect_s = ALL_METHODS[name](X, T, Y, X_test, random_state=seed)
                    pehe = float(np.sqrt(np.mean((cate - tau_test) ** 2)))
                    rows.append({"design": design, "n": n, "seed": seed, "method": name, "sqrt_pehe": pehe,
                                 "fit_s": fit_s, "effect_s": effect_s})
                    print(f"{design:6s} n={n:6d} seed={seed} {name:18s} sqrt(PEHE) {pehe:.3f}  "
                          f"fit {fit_s:6.1f} s  effect {effect_s:6.1f} s", flush=True)
                    frame = pd.DataFrame(rows)
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    frame.to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    table = frame.groupby(["design", "method", "n"]).agg(
        sqrt_pehe=("sqrt_pehe", "mean"), sem=("sqrt_pehe", "sem"), fit_s=("fit_s", "mean"),
        effect_s=("effect_s", "mean"))
    print(table.round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
