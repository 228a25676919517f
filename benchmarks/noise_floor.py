"""The lowest √PEHE any method can expect on the RealCause data sets.

RealCause's ``ite`` is ``y1 - y0`` with both potential outcomes drawn from its generative
model, so it holds outcome noise that no estimate of the CATE E[ite | x] can predict. Its
samples share the covariates (the same rows, with T, y0 and y1 drawn afresh), so the true
CATE of a row is the mean of its ``ite`` over the samples. For sample ``i`` this script
scores the best possible estimate, the mean ``ite`` of the *other* samples, with the
benchmark's own split and metric, and removes that mean's own sampling error: with S
samples its expected squared error is the noise variance times ``1 + 1 / (S - 1)``, so the
MSE is divided by that before the square root. IHDP and ACIC have noiseless truths
(mu1 - mu0), so their floor is 0.

Run: python benchmarks/noise_floor.py [--out benchmarks/results/noise_floor.csv]
(reads the 50 RealCause samples of CPS and PSID, about half a minute). report.py puts the
floor beside the methods in each RealCause table.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import DATASETS, default_data_home, psid_balanced_rows  # noqa: E402

from skcfm.datasets import load_lalonde, train_test_split_protocol  # noqa: E402

GROUPS = {"cps": "cps", "psid": "psid", "psid_balanced": "psid"}


def oracle_sqrt_pehe(ite: np.ndarray, sample: int, rows: np.ndarray) -> float:
    """√PEHE on ``rows`` of sample ``sample`` of the mean ``ite`` of the other samples.

    ``ite`` has shape (n_samples, n_rows); the squared error is divided by
    ``1 + 1 / (n_samples - 1)``, the part of it that the other samples' mean adds.
    """
    n_samples = len(ite)
    if n_samples < 2:
        raise ValueError(f"ite must hold at least 2 samples; got {n_samples}")
    others = np.delete(ite[:, rows], sample, axis=0).mean(axis=0)
    mse = np.mean((ite[sample, rows] - others) ** 2)
    return float(np.sqrt(mse / (1.0 + 1.0 / (n_samples - 1))))


def test_rows(dataset: str, i: int, treatment: np.ndarray) -> np.ndarray:
    """The rows of sample ``i`` that ``run.py`` scores for ``dataset``."""
    rows = psid_balanced_rows(treatment, i) if dataset == "psid_balanced" else np.arange(len(treatment))
    return rows[train_test_split_protocol(len(rows), i)[1]]


@functools.lru_cache(maxsize=2)
def _samples(group: str, data_home: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(ite, treatment) of every sample of the protocol, each of shape (n_samples, n_rows)."""
    bunches = [load_lalonde(i, group=group, data_home=data_home) for i in DATASETS[group][0]]
    return np.stack([b.truth.ite for b in bunches]), np.stack([b.treatment for b in bunches])


def true_cate(dataset: str, i: int, data_home: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The true CATE of realization ``i``'s test rows (their mean ``ite`` over the other
    samples) and the variance of that mean's own sampling error, row by row."""
    ite, treatment = _samples(GROUPS[dataset], data_home)
    others = np.delete(ite[:, test_rows(dataset, i, treatment[i])], i, axis=0)
    return others.mean(axis=0), others.var(axis=0, ddof=1) / len(others)


def rmse_vs_true_cate(estimate: np.ndarray, truth: np.ndarray, truth_var: np.ndarray) -> float:
    """RMSE of ``estimate`` against the true CATE from :func:`true_cate`, less the part
    its sampling variance ``truth_var`` adds (0 if that leaves nothing)."""
    return float(np.sqrt(max(np.mean((estimate - truth) ** 2) - np.mean(truth_var), 0.0)))


def noise_floor(data_home: str | None) -> pd.DataFrame:
    """One row per (RealCause data set, realization): the oracle √PEHE on its test rows."""
    records = []
    for dataset, group in GROUPS.items():
        ite, treatment = _samples(group, data_home)
        for i in DATASETS[dataset][0]:
            rows = test_rows(dataset, i, treatment[i])
            records.append({"dataset": dataset, "realization": i, "n_test": len(rows),
                            "sqrt_pehe": oracle_sqrt_pehe(ite, i, rows)})
    return pd.DataFrame(records)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "noise_floor.csv")
    parser.add_argument("--data-home", default=None, help="data folder (default: as run.py)")
    args = parser.parse_args(argv)
    floor = noise_floor(args.data_home or default_data_home())
    floor.to_csv(args.out, index=False)
    summary = floor.groupby("dataset", sort=False)["sqrt_pehe"].agg(["mean", "sem", "count"])
    print(summary.round(1).to_string())
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
