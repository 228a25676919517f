"""Where do the methods' effects go wrong? Test rows grouped by how well their treatment arm is covered.

For each realization of a data set, every method is fitted as in ``run.py`` and its
effects on the test rows are compared with the true effects, row by row. Rows are
grouped by their estimated propensity P(T = 1 | x) (a logistic regression on the
standardised training covariates): rows with a propensity near 0 sit where the training
data hold almost no treated units, so every method's treated outcome there is an
extrapolation. Per group and method: rows, mean true effect, mean estimated effect, their
difference (bias) and the root mean squared error; per realization, sqrt(PEHE) and the
bias of the test ATE. On the RealCause data sets, whose true effects hold outcome noise,
also the true CATE (each row's mean effect over the other samples, ``noise_floor.py``) and
the RMSE against it, less that mean's own sampling error: the error a method could remove.

Run: python benchmarks/studies/overlap_diagnostics.py --dataset psid [--realizations START STOP]
[--methods skcfm_cfm t_learner] (default: every realization of the protocol). Writes
benchmarks/results/overlap_<dataset>.csv (per row group) and
overlap_<dataset>_realizations.csv, and prints both summaries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

import run  # noqa: E402  (registers the skcfm methods and knows the splits)
from _baselines import METHODS  # noqa: E402
from _metrics import pehe  # noqa: E402
from noise_floor import GROUPS, true_cate  # noqa: E402

PROPENSITY_BINS = (0.0, 0.01, 0.05, 0.2, 1.0)


def propensity_of_test_rows(X_train: np.ndarray, T_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """P(T = 1 | x) of the test rows from a logistic regression on the training rows."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return model.fit(X_train, T_train.astype(int)).predict_proba(X_test)[:, 1]


def row_effects(dataset: str, realizations: list[int], methods: list[str], data_home: str | None) -> pd.DataFrame:
    """One row per (realization, test row, method): true and estimated effect, propensity."""
    frames = []
    for i in realizations:
        X_train, T_train, Y_train, X_test, tau = run.DATASETS[dataset][1](i, data_home)
        propensity = propensity_of_test_rows(X_train, T_train, X_test)
        cate, cate_var = true_cate(dataset, i, data_home) if dataset in GROUPS else (np.nan, np.nan)
        for method in methods:
            out = METHODS[method](X_train, T_train, Y_train, X_test, random_state=i)
            frames.append(pd.DataFrame({
                "realization": i, "method": method, "propensity": propensity, "tau": tau,
                "tau_hat": np.asarray(out["cate_test"], dtype=float).ravel(),
                "true_cate": cate, "true_cate_var": cate_var,
            }))
        print(f"{dataset} {i} done", flush=True)
    return pd.concat(frames, ignore_index=True)


def by_propensity(rows: pd.DataFrame) -> pd.DataFrame:
    """Per propensity group and method: rows, mean true / estimated effect, bias, RMSE; and
    the mean true CATE and the RMSE against it (NaN where there is none)."""
    rows = rows.assign(group=pd.cut(rows.propensity, PROPENSITY_BINS, include_lowest=True),
                       error=rows.tau_hat - rows.tau, cate_sq=(rows.tau_hat - rows.true_cate) ** 2)
    table = rows.groupby(["group", "method"], observed=True).agg(
        rows=("tau", "size"), true_effect=("tau", "mean"), estimated_effect=("tau_hat", "mean"),
        bias=("error", "mean"), rmse=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
        true_cate=("true_cate", "mean"), cate_sq=("cate_sq", "mean"), cate_var=("true_cate_var", "mean"))
    # the true CATE's own sampling error adds its variance to every squared error
    table["rmse_vs_true_cate"] = np.sqrt(np.maximum(table.pop("cate_sq") - table.pop("cate_var"), 0.0))
    return table.reset_index().assign(group=lambda t: t.group.astype(str))


def by_realization(rows: pd.DataFrame) -> pd.DataFrame:
    """Per realization and method: sqrt(PEHE) and the bias of the mean effect."""
    return rows.groupby(["realization", "method"]).apply(
        lambda g: pd.Series({"sqrt_pehe": pehe(g.tau_hat, g.tau), "ate_bias": g.tau_hat.mean() - g.tau.mean()}),
        include_groups=False).reset_index()


def paired_summary(per_realization: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Mean sqrt(PEHE) and ATE bias per method, and the paired sqrt(PEHE) difference to the first."""
    wide = per_realization.pivot(index="realization", columns="method", values="sqrt_pehe")
    bias = per_realization.pivot(index="realization", columns="method", values="ate_bias")
    out = []
    for method in methods:
        diff = wide[method] - wide[methods[0]]
        out.append({"method": method, "sqrt_pehe": wide[method].mean(),
                    "sem": wide[method].std(ddof=1) / np.sqrt(len(wide)), "ate_bias": bias[method].mean(),
                    f"minus_{methods[0]}": diff.mean(), "diff_sem": diff.std(ddof=1) / np.sqrt(len(diff)),
                    f"better_than_{methods[0]}": f"{int((diff < 0).sum())}/{len(diff)}"})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="psid", choices=list(run.DATASETS))
    parser.add_argument("--realizations", nargs=2, type=int, default=None, metavar=("START", "STOP"),
                        help="realizations START..STOP-1 (default: all of the protocol's)")
    parser.add_argument("--methods", nargs="+", default=["skcfm_cfm", "t_learner"], choices=sorted(METHODS))
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    data_home = args.data_home or run.default_data_home()
    realizations = run.DATASETS[args.dataset][0] if args.realizations is None else range(*args.realizations)
    rows = row_effects(args.dataset, list(realizations), args.methods, data_home)
    groups, per_realization = by_propensity(rows), by_realization(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    groups.to_csv(args.out / f"overlap_{args.dataset}.csv", index=False, lineterminator="\n")
    per_realization.to_csv(args.out / f"overlap_{args.dataset}_realizations.csv", index=False, lineterminator="\n")
    with pd.option_context("display.width", 160, "display.float_format", "{:,.3f}".format):
        print(paired_summary(per_realization, args.methods).to_string(index=False))
        print(groups.to_string(index=False))


if __name__ == "__main__":
    main()
