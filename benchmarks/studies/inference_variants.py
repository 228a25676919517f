"""Inference-time variants of the CFM estimator, tried against its defaults on selection sets.

Two questions the benchmark's ACIC and PSID gaps raise, with the shipped weights:

- *Wide data* (ACIC: 82 covariates, the model reads 16 per member). ``covariates_24``
  lets each member read 24 (the model has no per-feature embedding, so it accepts more
  than it was pretrained on); ``prognostic`` adds an out-of-bag forest's E[Y | x] as a
  covariate; ``arm_outcomes`` is the estimator's ``inference_config={"arm_outcomes": True}``
  (a forest's E[Y | x, T = t] for both arms, out of bag for the rows of that arm), so every member
  sees a summary of all covariates; ``arm_outcomes_leaf5`` the same columns from forests
  grown to 5-row leaves without a depth cap and ``arm_outcomes_extra`` from bootstrapped
  extremely randomised trees with the default's depth and leaves (cheaper to grow), both
  added to X (which, under the unconfoundedness PAM, states about them what
  the arm columns state). Every other variant is without them (``"arm_outcomes": False``),
  as ``default``, the baseline the study compares against. The results file's
  ``arm_outcomes_5fold`` rows (not a variant of this script) and its ``prognostic`` rows
  hold these columns as 5-fold out-of-fold predictions instead of out-of-bag ones; a rerun
  of ``prognostic`` replaces its rows with out-of-bag ones.
- *Skewed outcomes*: ``yeo_johnson`` is ``arm_outcomes`` with ``"outcome_transform":
  "yeo-johnson"`` (the model reads a power transform of Y), ``yeo_johnson_noarms`` the same
  without the arm columns (compare with ``default``).
- *Every covariate in every member*: ``arm_outcomes_all_covariates`` is ``arm_outcomes`` (the
  estimator's defaults) with each member reading all covariates and both arm columns
  instead of at most 16 (IHDP: 27); checked on held-out realizations with
  ``--realizations``.
- *Final stages* over the CFM's cross-fitted outcomes (4 members, as ``skcfm_dr``) and a
  cross-fitted logistic propensity: the DR-learner (``dr_forest``, the pseudo-outcomes of
  the CFM alone), the R-learner (``r_forest``: (Y - m) / (T - e) regressed with weights
  (T - e)^2) and a generalised random forest on the same residuals (``causal_forest``,
  econml.grf.CausalForest with CausalForestDML's defaults and 1000 trees), against the CFM
  alone with those 4 members (``cfm_4``).

Forests use the benchmark baselines' settings. By default only selection realizations are
used (``model_selection.SELECTION``; ACIC's own 10 are all reported); ``--realizations``
runs others, to check a variant chosen on them.

Run: python benchmarks/studies/inference_variants.py --datasets acic_like psid ihdp
[--variants ...] [--realizations 0-9 30-99] [--out results/inference_variants.csv]
(appends; a rerun of a (variant, dataset, realization) replaces its row).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

from _baselines import _forest  # noqa: E402
from _metrics import pehe  # noqa: E402
from model_selection import LOADERS, SELECTION, add_rows, parse_realizations  # noqa: E402

from skcfm import CFMCateEstimator, load_model, unconfoundedness_pam  # noqa: E402
from skcfm.aipw import aipw_scores  # noqa: E402
from skcfm.arm_outcomes import ArmOutcomeCovariates  # noqa: E402

COVARIATE_VARIANTS = ("default", "covariates_24", "prognostic", "arm_outcomes", "arm_outcomes_leaf5",
                      "arm_outcomes_extra", "yeo_johnson", "yeo_johnson_noarms", "arm_outcomes_all_covariates")
FINAL_STAGES = ("cfm_4", "dr_forest", "r_forest", "causal_forest")


def _fit(X, T, Y, random_state, config=None, **params) -> CFMCateEstimator:
    """The CFM alone: ``params`` for the constructor, ``config`` added to the study's ``inference_config``."""
    pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")
    config = {"arm_outcomes": False, **(config or {})}  # the study's baseline ("auto" is the default); variants add
    est = CFMCateEstimator(random_state=random_state, inference_config=config, **{"final_stage": "cfm", **params})
    return est.fit(X, T, Y, ancestors=pam)


def covariate_variant(variant, X, T, Y, X_new, random_state) -> np.ndarray:
    """CATE on X_new of the CFM alone under a covariate variant."""
    params, config = {}, {}
    if variant in ("covariates_24", "arm_outcomes_all_covariates"):
        params["model"] = copy.deepcopy(load_model())  # the cached model stays as shipped
        most = 24 if variant == "covariates_24" else X.shape[1] + 2  # + 2: the arm columns
        params["model"].config = dataclasses.replace(params["model"].config, max_covariates=most)
    if variant in ("arm_outcomes", "arm_outcomes_all_covariates"):
        config["arm_outcomes"] = True
    if variant.startswith("yeo_johnson"):
        config.update({"outcome_transform": "yeo-johnson", "arm_outcomes": variant == "yeo_johnson"})
    elif variant == "prognostic":  # one pooled "arm": out-of-bag E[Y | x] on the training rows
        pooled = ArmOutcomeCovariates(random_state=random_state)
        X = np.column_stack([X, pooled.fit_transform(X, np.zeros(len(X)), Y)])
        X_new = np.column_stack([X_new, pooled.transform(X_new)])
    elif variant in ARM_FORESTS:  # the arm columns from other forests, added as the arm_outcomes option adds them
        arms = ARM_FORESTS[variant](random_state=random_state)
        X = np.column_stack([X, arms.fit_transform(X, T, Y)])
        X_new = np.column_stack([X_new, arms.transform(X_new)])
    return _fit(X, T, Y, random_state, config, **params).effect(X_new)


class FineArmOutcomes(ArmOutcomeCovariates):
    """Arm forests grown to leaves of 5 rows, no depth cap (the default: depth 6, ``n // 100``)."""

    def _forest(self, n_rows: int):
        return RandomForestRegressor(n_estimators=100, min_samples_leaf=5, random_state=self.random_state)


class ExtraArmOutcomes(ArmOutcomeCovariates):
    """Extremely randomised trees (bootstrapped, for out of bag) with the default's depth and leaves."""

    def _forest(self, n_rows: int):
        return ExtraTreesRegressor(n_estimators=100, max_depth=6, min_samples_leaf=max(1, n_rows // 100),
                                   bootstrap=True, random_state=self.random_state)


ARM_FORESTS = {"arm_outcomes_leaf5": FineArmOutcomes, "arm_outcomes_extra": ExtraArmOutcomes}


def final_stages(X, T, Y, X_new, random_state) -> dict[str, np.ndarray]:
    """CATE on X_new of each final stage over the same cross-fitted nuisances."""
    from econml.grf import CausalForest

    est = _fit(X, T, Y, random_state, n_estimators=4, final_stage="dr")
    e, _, (mu0, mu1) = est._nuisances(with_standard=False)
    seed, n = est._seed, len(T)
    forest = _forest(n, seed)
    residual_t, residual_y = T - e, Y - (e * mu1 + (1 - e) * mu0)
    grf = CausalForest(n_estimators=1000, min_samples_leaf=5, max_samples=0.45, honest=True, inference=False,
                       random_state=seed)
    return {
        "cfm_4": est._member_effects(X_new, 0, 1, cfm_only=True).mean(axis=0),
        "dr_forest": forest.fit(X, aipw_scores(Y, T, mu0, mu1, e)).predict(X_new),
        "r_forest": _forest(n, seed).fit(X, residual_y / residual_t, sample_weight=residual_t**2).predict(X_new),
        "causal_forest": grf.fit(X, residual_t, residual_y).predict(X_new).ravel(),
    }


def evaluate(dataset: str, i: int, variants: list[str], data_home=None) -> list[dict]:
    X, T, Y, X_new, tau = LOADERS[dataset](i, data_home)
    T = T.astype(int)
    rows = []
    for variant in (v for v in variants if v in COVARIATE_VARIANTS):
        start = time.perf_counter()
        cate = covariate_variant(variant, X, T, Y, X_new, random_state=i)
        rows.append({"variant": variant, "dataset": dataset, "realization": i, "sqrt_pehe": pehe(cate, tau),
                     "time_s": time.perf_counter() - start})
    if any(v in FINAL_STAGES for v in variants):
        start = time.perf_counter()
        cates = final_stages(X, T, Y, X_new, random_state=i)
        elapsed = time.perf_counter() - start
        rows += [{"variant": v, "dataset": dataset, "realization": i, "sqrt_pehe": pehe(cates[v], tau),
                  "time_s": elapsed} for v in variants if v in cates]
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["acic_like", "psid", "ihdp"], choices=sorted(SELECTION))
    parser.add_argument("--variants", nargs="+", default=[*COVARIATE_VARIANTS, *FINAL_STAGES],
                        choices=[*COVARIATE_VARIANTS, *FINAL_STAGES])
    parser.add_argument("--realizations", nargs="+", default=None, metavar="A-B",
                        help="realizations (single ones or inclusive ranges) instead of the selection ones")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "inference_variants.csv")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    rows = []
    for dataset in args.datasets:
        for i in SELECTION[dataset] if args.realizations is None else parse_realizations(args.realizations):
            rows += evaluate(dataset, i, args.variants, args.data_home)
            print(pd.DataFrame(rows).tail(len(args.variants)).to_string(header=False, index=False), flush=True)
    frame = add_rows(args.out, pd.DataFrame(rows), key=("variant", "dataset", "realization"))
    frame.to_csv(args.out, index=False)
    print(frame.groupby(["dataset", "variant"])["sqrt_pehe"].agg(["count", "mean", "median"]).round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
