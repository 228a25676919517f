"""How many ensemble members and how large a context the CFM's CATE needs.

Fits ``CFMCateEstimator`` (CFM alone, no doubly robust stage, unconfoundedness PAM) for
each ``n_estimators`` x ``context_size`` on the selection realizations, chosen before
the tables so that no default is picked by their numbers: IHDP-100 realizations 10-29 (fixed 672/75
split) and the ACIC-like semi-synthetic set (real ACIC 2016 covariates, simulated T and
Y, 90/10 split; ``_semisynthetic.py``). Reports sqrt(PEHE) on the test rows with its
spread over realizations, the paired difference to the largest ensemble, and the
fit + effect wall time (one torch thread).

Run: python benchmarks/studies/ensemble_size.py [--ihdp 20] [--acic-like 10] [--members 4 8 16 32 auto]
Writes benchmarks/results/ensemble_size.csv and prints a summary table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

from _semisynthetic import acic_like  # noqa: E402

from skcfm import CFMCateEstimator, unconfoundedness_pam  # noqa: E402
from skcfm.datasets import load_ihdp  # noqa: E402

RESULTS = HERE / "results"
DATA_HOME = os.environ.get("SKCFM_DATA", str(Path(__file__).resolve().parents[3] / "shared" / "data"))


def _pam(d: int) -> np.ndarray:
    return unconfoundedness_pam([f"x{j}" for j in range(d)], treatment="T", outcome="Y")


def _ihdp(i: int):
    train, test = load_ihdp(i, split="train", data_home=DATA_HOME), load_ihdp(i, split="test", data_home=DATA_HOME)
    return train.data, train.treatment.astype(int), train.outcome, test.data, np.asarray(test.truth.ite)


def _acic_like(i: int):
    return acic_like(i, DATA_HOME)


def _members(value: str) -> int | str:
    return value if value == "auto" else int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ihdp", type=int, default=20, help="IHDP realizations 10..10+N-1")
    parser.add_argument("--acic-like", type=int, default=10, help="ACIC-like realizations 0..N-1")
    parser.add_argument("--members", type=_members, nargs="+", default=[4, 8, 16, 32, "auto"])
    parser.add_argument("--contexts", type=int, nargs="+", default=[192])
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    jobs = [("ihdp", i, _ihdp) for i in range(10, 10 + args.ihdp)] + [
        ("acic_like", i, _acic_like) for i in range(args.acic_like)]
    rows = []
    for dataset, i, load in jobs:
        X, T, Y, X_test, tau = load(i)
        for members in args.members:
            for context in args.contexts:
                start = time.perf_counter()
                est = CFMCateEstimator(model=args.model, n_estimators=members, context_size=context, final_stage="cfm",
                                       random_state=i)
                effect = est.fit(X, T, Y, ancestors=_pam(X.shape[1])).effect(X_test)
                rows.append({"dataset": dataset, "realization": i, "n_estimators": str(members),
                             "members_drawn": len(est.members_), "context_size": context,
                             "sqrt_pehe": float(np.sqrt(np.mean((effect - tau) ** 2))),
                             "seconds": time.perf_counter() - start})
        print(dataset, i, "done", flush=True)
    frame = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / "ensemble_size.csv", index=False)
    largest = str(max((m for m in args.members if m != "auto"), default="auto"))
    reference = frame[(frame.n_estimators == largest) & (frame.context_size == max(args.contexts))]
    frame = frame.merge(reference[["dataset", "realization", "sqrt_pehe"]], on=["dataset", "realization"],
                        suffixes=("", "_reference"))
    frame["paired_difference"] = frame.sqrt_pehe - frame.sqrt_pehe_reference

    def sem(values: pd.Series) -> float:
        return values.std(ddof=1) / np.sqrt(len(values))

    order = [str(m) for m in args.members]  # as asked for, not as strings sort ("16" before "4")
    frame["n_estimators"] = pd.Categorical(frame.n_estimators, categories=order, ordered=True)
    summary = frame.groupby(["dataset", "n_estimators", "context_size"], observed=True).agg(
        sqrt_pehe=("sqrt_pehe", "mean"), sqrt_pehe_sem=("sqrt_pehe", sem),
        vs_largest=("paired_difference", "mean"), vs_largest_sem=("paired_difference", sem),
        members_drawn=("members_drawn", "mean"), seconds=("seconds", "mean"),
    )
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
