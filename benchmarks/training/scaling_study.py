"""Scaling study: named configs trained for equal CPU time, compared on one validation set.

Each config trains from scratch for ``--minutes`` of wall time (one process, ``--threads``
torch threads), then every checkpoint is evaluated on the same fixed prior validation set
(the reference config's, so the comparison does not depend on each config's own prior
ranges). Writes benchmarks/results/scaling_study.csv (final metrics), the per-config
validation curves in runs/scaling/<config>/validation_log.csv, and scaling_study.png
(validation NLL against CPU-hours).

Run: python benchmarks/training/scaling_study.py --configs tiny small base --minutes 10 [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from skcfm.training.configs import CONFIGS  # noqa: E402
from skcfm.training.train import (  # noqa: E402
    VALIDATION_LOG,
    evaluate,
    load_checkpoint,
    model_from_checkpoint,
    train,
    validation_set,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "small", "base"], choices=sorted(CONFIGS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reference", default="small", help="config whose validation set all are scored on")
    parser.add_argument("--runs", default="runs/scaling")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reference = validation_set(CONFIGS[args.reference])
    rows = []
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name in args.configs:
        out = Path(args.runs) / name
        train(name, out, resume=True, max_minutes=args.minutes, progress=False)
        checkpoint = load_checkpoint(out / "last.pt")
        model = model_from_checkpoint(checkpoint)
        metrics = evaluate(model, reference)
        rows.append({"config": name, "parameters": sum(p.numel() for p in model.parameters()),
                     "steps": checkpoint["step"], "datasets_seen": checkpoint["datasets_seen"],
                     "cpu_hours": checkpoint["elapsed_s"] * args.threads / 3600, **metrics})
        curve = pd.read_csv(out / VALIDATION_LOG)
        ax.plot(curve.elapsed_s * args.threads / 3600, curve.nll, marker="o", label=name)
    table = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.to_csv(RESULTS / "scaling_study.csv", index=False)
    ax.set_xlabel("CPU-hours")
    ax.set_ylabel("validation NLL (own prior)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "scaling_study.png", dpi=120)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
