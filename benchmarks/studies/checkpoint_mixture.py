"""The CFM alone with its ensemble split between two checkpoints, on the benchmark's splits.

An ensemble's members are context draws; here half of them (per region) read the shipped
weights and half a second checkpoint, so the cost is that of either alone. Each split is
the benchmark's (``run.DATASETS``) with ``random_state=i``; the second model's members
draw with ``random_state=i + 1000``. Compare its rows with the ``skcfm_cfm`` rows of
``results/<dataset>.csv`` (the shipped weights) and of
``results/candidates/<name>/<dataset>.csv`` (the second checkpoint alone).

Run: python benchmarks/studies/checkpoint_mixture.py SECOND.safetensors [--datasets ihdp cps psid acic]
[--realizations 0-9 ...] [--out results/checkpoint_mixture.csv]
(appends; a rerun of a (dataset, realization) replaces its row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

import run  # noqa: E402
from _metrics import pehe  # noqa: E402
from model_selection import add_rows, parse_realizations  # noqa: E402

from skcfm import CFMCateEstimator, load_model, unconfoundedness_pam  # noqa: E402

SECOND_SEED_OFFSET = 1000


def mixture_effects(first, second, X, T, Y, X_new, random_state: int) -> np.ndarray:
    """CATE on X_new of an ensemble with half its members (per region, as many as
    ``n_estimators="auto"`` draws) from each model."""
    pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")

    def fit(model, n_estimators, seed):
        return CFMCateEstimator(model=model, n_estimators=n_estimators, final_stage="cfm", random_state=seed).fit(
            X, T, Y, ancestors=pam)

    auto = fit(first, "auto", random_state)
    regions = 1 if auto.neighbourhoods_ is None else len(auto.neighbourhoods_.rows)
    half = max(1, len(auto.members_) // regions // 2)
    members = [fit(model, half, seed)._member_effects(X_new, 0, 1)
               for model, seed in ((first, random_state), (second, random_state + SECOND_SEED_OFFSET))]
    return np.concatenate(members).mean(axis=0)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("second", help="the second checkpoint's .safetensors (its .json card beside it)")
    parser.add_argument("--datasets", nargs="+", default=["ihdp", "acic", "cps", "psid"], choices=sorted(run.DATASETS))
    parser.add_argument("--realizations", nargs="+", default=None, metavar="A-B",
                        help="realizations (single ones or inclusive ranges); default: each data set's protocol")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "checkpoint_mixture.csv")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    first, second = load_model(), load_model(args.second)
    data_home = args.data_home or run.default_data_home()
    rows = []
    for dataset in args.datasets:
        protocol, loader = run.DATASETS[dataset]
        chosen = protocol if args.realizations is None else [i for i in parse_realizations(args.realizations)
                                                             if i in protocol]
        for i in chosen:
            X, T, Y, X_new, tau = loader(i, data_home)
            cate = mixture_effects(first, second, X, T.astype(int), Y, X_new, random_state=i)
            rows.append({"dataset": dataset, "realization": i, "second": Path(args.second).stem,
                         "sqrt_pehe": pehe(cate, tau), "ate_hat": float(cate.mean()), "ate_true": float(tau.mean()),
                         "ate_abs_err": abs(float(cate.mean() - tau.mean()))})
            print(pd.DataFrame(rows[-1:]).to_string(header=False, index=False), flush=True)
    frame = add_rows(args.out, pd.DataFrame(rows), key=("dataset", "realization"))
    frame.to_csv(args.out, index=False)
    print(frame.groupby("dataset")[["sqrt_pehe", "ate_abs_err"]].agg(["count", "mean"]).round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
