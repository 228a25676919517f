"""Coverage study of the AIPW and hybrid AIPW intervals of ``skcfm.aipw``.

Simulates confounded data sets with a binary treatment and a known average
treatment effect, estimates the ATE on each with cross-fitted AIPW (standard
linear outcome model) and with the hybrid AIPW that adds a second, "foundation
model" outcome predictor, and reports how often the 95% interval covers the
true ATE and how wide it is. The second predictor is deliberately good on a
third of the data sets and wrong (biased effect, or pure noise) on the rest: the
hybrid interval must keep its coverage either way. Real CFM predictions enter
through :func:`cfm_outcome_predictions`.

Simulation, per data set (n rows, 5 standard-normal covariates):

- treatment ``T ~ Bernoulli(sigmoid(X @ b))``, so ``T`` depends on ``X`` and
  the default logistic propensity model is correctly specified;
- outcome surfaces alternate between linear (``mu0 = X @ beta``,
  ``tau = ate + X @ gamma``) and non-linear (sines, squares and an
  interaction in ``mu0``; ``tau = ate + a (X_0^2 - 1) + c sin(2 X_1)``);
  every part of ``tau`` besides ``ate`` has mean zero, so the population
  ATE is ``ate ~ U(-2, 2)`` exactly;
- ``Y = mu_T(X) + N(0, 1)`` noise.

Methods: ``aipw`` (standard outcome model), ``aipw_fm`` (the second predictor alone),
``haipw`` (both, hybrid) for the population ATE; ``haipw_new_rows``: the hybrid's mean
effect (both models' effects with the hybrid weights) over 100 new rows from the same
population, corrected linearly in X by the hybrid scores (:func:`skcfm.debiased_effect.debiased_mean_effect`, what
``CFMCateEstimator.ate_interval(X)`` computes), scored against the true mean effect over
those rows (``true_ate`` holds each method's target).

Usage, from the repository root with skcfm importable (``pip install -e .``)::

    python benchmarks/studies/interval_coverage.py --n-datasets 200 --seed 0 --jobs 2

Writes one row per data set and method to ``benchmarks/results/coverage.csv``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from skcfm.aipw import aipw_ate, hybrid_aipw_ate, hybrid_aipw_scores
from skcfm.debiased_effect import debiased_mean_effect
from skcfm.nuisances import crossfit_outcome, crossfit_propensity, outcome_effect

N_FEATURES = 5
FM_SCENARIOS = ("good", "biased", "noise")
N_NEW_ROWS = 100  # rows the "haipw_new_rows" interval averages the effect over
TARGET_COVERAGE = 0.90


def simulate(rng: np.random.Generator, n_rows: int, surface: str) -> dict:
    """One confounded data set with its true outcome surfaces and ATE.

    ``surfaces(X)`` gives ``(mu0, tau)`` at any rows, for new rows drawn later.
    """
    X = rng.normal(size=(n_rows, N_FEATURES))
    b = rng.uniform(-0.8, 0.8, size=N_FEATURES)
    T = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-X @ b))).astype(int)
    ate = rng.uniform(-2.0, 2.0)
    if surface == "linear":
        beta, gamma = rng.normal(size=N_FEATURES), rng.normal(scale=0.5, size=N_FEATURES)

        def surfaces(X):
            return X @ beta, ate + X @ gamma
    else:
        a, c = rng.uniform(0.5, 1.5, size=2)

        def surfaces(X):
            mu0 = 2.0 * np.sin(X[:, 0]) + X[:, 1] ** 2 + X[:, 2] * X[:, 3] + np.abs(X[:, 4])
            return mu0, ate + a * (X[:, 0] ** 2 - 1.0) + c * np.sin(2.0 * X[:, 1])
    mu0, tau = surfaces(X)
    mu1 = mu0 + tau
    Y = np.where(T == 1, mu1, mu0) + rng.normal(size=n_rows)
    return dict(X=X, T=T, Y=Y, mu0=mu0, mu1=mu1, ate=ate, surfaces=surfaces)


def simulated_fm_predictions(data: dict, scenario: str, rng: np.random.Generator):
    """A stand-in foundation model built from the true surfaces.

    ``good``: truth plus small noise; ``biased``: truth with ``mu1`` shifted
    by ``offset * (1 + X_0)``, an offset of 0.5 to 2 outcome units, so its
    effect is wrong on average and wrong most where ``X_0`` (which drives
    ``T``) is large; ``noise``: independent noise at the outcome's scale,
    unrelated to ``X``.
    None of them looks at ``Y``'s noise, so no cross-fitting is needed.
    Returns ``(mu0, mu1)`` on the data's rows and ``effect(X, rng)``, the
    predictor's effect at new rows.
    """
    mu0, mu1, Y = data["mu0"], data["mu1"], data["Y"]
    n = len(Y)
    if scenario == "good":
        def effect(X, rng):
            return data["surfaces"](X)[1] + rng.normal(scale=0.2 * np.sqrt(2.0), size=len(X))

        return (mu0 + rng.normal(scale=0.2, size=n), mu1 + rng.normal(scale=0.2, size=n)), effect
    if scenario == "biased":
        offset = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)

        def effect(X, rng):
            return data["surfaces"](X)[1] + offset * (1.0 + X[:, 0])

        return (mu0, mu1 + offset * (1.0 + data["X"][:, 0])), effect
    scale = Y.std()

    def effect(X, rng):
        return rng.normal(scale=scale * np.sqrt(2.0), size=len(X))

    return (Y.mean() + rng.normal(scale=scale, size=n), Y.mean() + rng.normal(scale=scale, size=n)), effect


CFM_MODEL = {"enabled": False, "path": None}  # set from --cfm / --model in main()


def cfm_outcome_predictions(X, T, Y, random_state):
    """Cross-fitted predictions ``(mu0, mu1)`` of skcfm's CFM for one data set and its
    ``effect(X_new, rng)`` at new rows, or None.

    With ``--cfm``, each row is predicted by CFMCateEstimator from contexts drawn from
    the other folds (given the unconfoundedness PAM); the study then also reports AIPW
    and H-AIPW with the real CFM. Without it, only the simulated good and wrong
    predictors of :func:`simulated_fm_predictions` are evaluated.
    """
    if not CFM_MODEL["enabled"]:
        return None
    from skcfm import CFMCateEstimator, unconfoundedness_pam

    pam = unconfoundedness_pam([f"x{i}" for i in range(X.shape[1])], treatment="T", outcome="Y")
    est = CFMCateEstimator(model=CFM_MODEL["path"], n_estimators=2, final_stage="cfm", random_state=random_state)
    est.fit(X, T.astype(int), Y, ancestors=pam)
    return est.cross_fitted_outcomes(), lambda X_new, rng: est.effect(X_new)


def study_one(index: int, seed_seq: np.random.SeedSequence, n_rows: int) -> list[dict]:
    """All methods on data set ``index``; one result row per method."""
    rng = np.random.default_rng(seed_seq)
    surface = ("linear", "nonlinear")[index % 2]
    scenario = FM_SCENARIOS[index % len(FM_SCENARIOS)]
    data = simulate(rng, n_rows, surface)
    X, T, Y = data["X"], data["T"], data["Y"]
    fold_seed = int(rng.integers(2**31))

    start = time.perf_counter()
    propensity = crossfit_propensity(X, T, random_state=fold_seed)
    standard = crossfit_outcome(X, T, Y, random_state=fold_seed)
    nuisance_seconds = time.perf_counter() - start

    second_models = {scenario: simulated_fm_predictions(data, scenario, rng)}
    cfm = cfm_outcome_predictions(X, T, Y, random_state=fold_seed)
    if cfm is not None:
        second_models["cfm"] = cfm
    # new rows from their own stream, so the data sets above do not change with them
    new_rng = np.random.default_rng(seed_seq.spawn(1)[0])
    X_new = new_rng.normal(size=(N_NEW_ROWS, N_FEATURES))
    new_rows_ate = float(data["surfaces"](X_new)[1].mean())

    results = {("aipw", "none"): (aipw_ate(Y, T, *standard, propensity), data["ate"])}
    for name, (model, effect) in second_models.items():
        results[("aipw_fm", name)] = (aipw_ate(Y, T, *model, propensity), data["ate"])
        results[("haipw", name)] = (hybrid_aipw_ate(Y, T, [standard, model], propensity), data["ate"])
        scores, weights = hybrid_aipw_scores(Y, T, [standard, model], propensity)
        # the hybrid's effect, as CFMCateEstimator.ate(X) uses
        effect_train = weights[0] * (standard[1] - standard[0]) + weights[1] * (model[1] - model[0])
        effect_new = weights[0] * outcome_effect(X, T, Y, X_new) + weights[1] * effect(X_new, new_rng)
        over_rows = debiased_mean_effect(scores, effect_train, effect_new, X=X, X_new=X_new)
        results[("haipw_new_rows", name)] = (replace(over_rows, weights=weights), new_rows_ate)

    rows = []
    for (method, fm), (r, target) in results.items():
        rows.append(
            dict(
                dataset=index,
                surface=surface,
                fm=fm,
                method=method,
                n_rows=n_rows,
                true_ate=target,
                estimate=r.estimate,
                stderr=r.stderr,
                lower=r.lower,
                upper=r.upper,
                covered=bool(r.lower <= target <= r.upper),
                width=r.upper - r.lower,
                weight_standard=np.nan if r.weights is None else r.weights[0],
                nuisance_seconds=nuisance_seconds,
            )
        )
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Coverage, mean width, mean absolute error and weight per method."""
    frame = frame.assign(abs_error=(frame.estimate - frame.true_ate).abs())
    return frame.groupby(["method", "fm"], sort=False).agg(
        datasets=("dataset", "size"),
        coverage=("covered", "mean"),
        mean_width=("width", "mean"),
        mean_abs_error=("abs_error", "mean"),
        weight_standard=("weight_standard", "mean"),
    )


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-datasets", type=int, default=200)
    parser.add_argument("--n-rows", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "coverage.csv"
    )
    parser.add_argument("--cfm", action="store_true", help="also evaluate skcfm's CFM as the second model")
    parser.add_argument("--model", default=None, help="CFM weights (.safetensors); default: the shipped model")
    args = parser.parse_args(argv)
    CFM_MODEL.update(enabled=args.cfm, path=args.model)
    if args.cfm and args.jobs != 1:
        parser.error("--cfm runs with --jobs 1 (the model state lives in this process)")

    start = time.perf_counter()
    seeds = np.random.SeedSequence(args.seed).spawn(args.n_datasets)
    per_dataset = Parallel(n_jobs=args.jobs)(
        delayed(study_one)(i, seeds[i], args.n_rows) for i in range(args.n_datasets)
    )
    frame = pd.DataFrame([row for rows in per_dataset for row in rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)

    table = summarise(frame)
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(table.to_string())
    overall = frame.groupby("method", sort=False)["covered"].mean()
    print()
    for method, coverage in overall.items():
        verdict = "ok" if coverage >= TARGET_COVERAGE else "BELOW TARGET"
        print(f"{method}: 95% coverage {coverage:.3f} ({verdict}, target >= 0.90)")
    print(
        f"\n{args.n_datasets} data sets of {args.n_rows} rows, seed {args.seed}, "
        f"{time.perf_counter() - start:.1f} s; wrote {args.out}"
    )
    return frame


if __name__ == "__main__":
    main()
