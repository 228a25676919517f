"""How many ensemble members and how large a context the CFM's CATE needs.

Fits ``CFMCateEstimator`` (CFM alone, no doubly robust stage) on IHDP-100 (fixed
672/75 split, unconfoundedness PAM) and ACIC 2016 (90/10 split of the run.py protocol,
no PAM) for each ``n_estimators`` x ``context_size`` and reports sqrt(PEHE) on the test
rows with its spread over realizations, the paired difference to the largest ensemble,
and the fit + effect wall time (one torch thread).

Run: python benchmarks/ensemble_size.py [--ihdp 10] [--acic 5] [--members 2 4 8 16]
Writes benchmarks/results/ensemble_size.csv and prints a summary table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skcfm import CFMCateEstimator, unconfoundedness_pam
from skcfm.datasets import load_acic2016, load_ihdp, train_test_split_protocol

RESULTS = Path(__file__).resolve().parent / "results"
DATA_HOME = os.environ.get("SKCFM_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def _ihdp(i: int):
    train, test = load_ihdp(i, split="train", data_home=DATA_HOME), load_ihdp(i, split="test", data_home=DATA_HOME)
    pam = unconfoundedness_pam([f"x{j}" for j in range(train.data.shape[1])], treatment="T", outcome="Y")
    return train.data, train.treatment.astype(int), train.outcome, test.data, np.asarray(test.truth.ite), pam


def _acic(i: int):
    data = load_acic2016(i, data_home=DATA_HOME)
    train, test = train_test_split_protocol(len(data.outcome), i)
    return (data.data[train], data.treatment[train].astype(int), data.outcome[train], data.data[test],
            np.asarray(data.truth.ite)[test], None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ihdp", type=int, default=10, help="IHDP realizations 0..N-1")
    parser.add_argument("--acic", type=int, default=5, help="ACIC realizations 1..N")
    parser.add_argument("--members", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--contexts", type=int, nargs="+", default=[128, 192])
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    jobs = [("ihdp", i, _ihdp) for i in range(args.ihdp)] + [("acic", i, _acic) for i in range(1, args.acic + 1)]
    rows = []
    for dataset, i, load in jobs:
        X, T, Y, X_test, tau, pam = load(i)
        for members in args.members:
            for context in args.contexts:
                start = time.perf_counter()
                est = CFMCateEstimator(model=args.model, n_estimators=members, context_size=context, random_state=i)
                effect = est.fit(X, T, Y, ancestors=pam).effect(X_test)
                rows.append({"dataset": dataset, "realization": i, "n_estimators": members, "context_size": context,
                             "sqrt_pehe": float(np.sqrt(np.mean((effect - tau) ** 2))),
                             "seconds": time.perf_counter() - start})
        print(dataset, i, "done", flush=True)
    frame = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / "ensemble_size.csv", index=False)
    reference = frame[(frame.n_estimators == max(args.members)) & (frame.context_size == max(args.contexts))]
    frame = frame.merge(reference[["dataset", "realization", "sqrt_pehe"]], on=["dataset", "realization"],
                        suffixes=("", "_reference"))
    frame["paired_difference"] = frame.sqrt_pehe - frame.sqrt_pehe_reference

    def sem(values: pd.Series) -> float:
        return values.std(ddof=1) / np.sqrt(len(values))

    summary = frame.groupby(["dataset", "n_estimators", "context_size"]).agg(
        sqrt_pehe=("sqrt_pehe", "mean"), sqrt_pehe_sem=("sqrt_pehe", sem),
        vs_largest=("paired_difference", "mean"), vs_largest_sem=("paired_difference", sem),
        seconds=("seconds", "mean"),
    )
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
