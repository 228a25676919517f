"""How far out do the shipped model's outer bars put their mass, against the prior's targets there?

The bar distribution (``skcfm.model.bar_distribution``) replaces its two outermost bars by
half-normal tails whose scale makes half the tail's mass fall inside the outer bar. Borders
sit at equal-mass quantiles of prior targets, so the outermost border is the most extreme
target of the border sample, and the tail's mean, which ``mean()`` and so every effect
uses, lands far beyond where the prior's targets in that bar lie. This script samples
prior data sets of the ``small`` configuration's current prior (standardised query
targets, as in training) and prints, for each outer bar, the share of targets in it, their
mean and median, and the centre the model's ``mean()`` uses; then the model's CATE mean
squared error on the fixed validation set (the ``cate_mse`` of ``python -m skcfm.training
eval``) with the outer bars counted at those half-normal means and at the prior's means.

Usage, from the repository root with skcfm importable (``pip install -e .``)::

    python benchmarks/training/bar_tails.py --batches 100

Writes ``benchmarks/results/bar_tails.csv`` (the bars) and
``benchmarks/results/bar_tails_validation.csv`` (the CATE errors).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from skcfm import load_model
from skcfm.model import bar_distribution
from skcfm.training.configs import CONFIGS
from skcfm.training.train import prior_targets, validation_set

RESULTS = Path(__file__).resolve().parents[1] / "results"
SEED = 777  # any seed away from the training, validation and border seeds


def outer_bars(targets: torch.Tensor, borders: torch.Tensor) -> pd.DataFrame:
    """Per outer bar: its inner border, the targets' share, mean and median beyond it, and
    the centre ``bar_distribution.mean`` gives it."""
    left_centre, right_centre = bar_distribution.half_normal_tail_means(borders)
    rows = []
    for side, inner, beyond, centre in (
        ("left", borders[1], targets < borders[1], left_centre),
        ("right", borders[-2], targets > borders[-2], right_centre),
    ):
        tail = targets[beyond]
        rows.append({
            "bar": side,
            "inner_border": float(inner),
            "outer_border": float(borders[0] if side == "left" else borders[-1]),
            "share_of_targets": float(beyond.float().mean()),
            "prior_mean": float(tail.mean()),
            "prior_median": float(tail.median()),
            "model_centre": float(centre),
        })
    return pd.DataFrame(rows)


@torch.no_grad()
def validation_cate_mse(model, batches, tail_centres=None) -> list[float]:
    """Per validation batch, the mean squared error of the model's effects (with the PAM)
    in standardised outcome units, outer bars counted at ``tail_centres``."""
    model.eval()
    errors = []
    for batch in batches:
        means = [bar_distribution.mean(model(batch.context, queries, batch.pam), model.borders, tail_centres)
                 for queries in (batch.queries, batch.alt_queries)]
        errors.append(float((means[1] - means[0] - (batch.alt_targets - batch.targets)).pow(2).mean()))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="prior batches of the small configuration")
    args = parser.parse_args()
    model = load_model()
    targets = prior_targets(CONFIGS["small"], args.batches, SEED)
    table = outer_bars(targets[torch.isfinite(targets)], model.borders.cpu())
    print(table.round(3).to_string(index=False))
    batches = validation_set(CONFIGS["small"])
    prior_means = tuple(table.set_index("bar").loc[["left", "right"], "prior_mean"])
    errors = pd.DataFrame({"batch": range(len(batches)),
                           "half_normal_means": validation_cate_mse(model, batches),
                           "prior_means": validation_cate_mse(model, batches, prior_means)})
    print("validation cate_mse, mean (max) over batches:",
          *(f"{name} {errors[name].mean():.3f} ({errors[name].max():.2f})" for name in errors.columns[1:]))
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "bar_tails.csv", index=False, lineterminator="\n")
    errors.to_csv(RESULTS / "bar_tails_validation.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
