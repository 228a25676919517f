"""Pretraining throughput of each named configuration: prior data sets per second and hour.

Each step does what one step of ``skcfm.training.train`` does, timed in two parts:

- prior: ``sample_batch`` for the step's seed, then ``prepare`` (scaling);
- model: forward, NLL, backward, gradient clipping and the AdamW update.

Steps use the training loop's seeds, so the context sizes and covariate counts drawn
are those of a real run's first steps. The bar borders are left at their defaults:
fitting them to the prior takes time but does not change a step's cost.

Usage, from the repository root with skcfm importable (``pip install -e .``)::

    python benchmarks/training_throughput.py --steps 20 --configs tiny small base

Prints a table and writes one row per configuration to
``benchmarks/results/training_throughput.csv``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import pandas as pd
import torch

from skcfm.model import CausalFoundationModel, bar_distribution
from skcfm.training import CONFIGS
from skcfm.training.prior import sample_batch
from skcfm.training.train import learning_rate, prepare, step_generator

RESULTS = Path(__file__).parent / "results" / "training_throughput.csv"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_config(name: str, steps: int, warmup: int, seed: int, device: torch.device) -> dict:
    """Mean seconds per step of the prior and of the model step for config ``name``."""
    config = CONFIGS[name]
    torch.manual_seed(seed)
    model = CausalFoundationModel(config.model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    prior_s = model_s = 0.0
    for step in range(warmup + steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        started = time.perf_counter()
        batch = prepare(sample_batch(config.batch_size, step_generator(seed, step), config.prior)).to(device)
        _sync(device)
        sampled = time.perf_counter()
        with autocast:
            logits = model(batch.context, batch.queries, batch.pam)
            loss = bar_distribution.nll(logits, model.borders, batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        _sync(device)
        if step >= warmup:
            prior_s += sampled - started
            model_s += time.perf_counter() - sampled
    prior_s, model_s = prior_s / steps, model_s / steps
    per_s = config.batch_size / (prior_s + model_s)
    return {
        "config": name,
        "params": sum(p.numel() for p in model.parameters()),
        "batch_size": config.batch_size,
        "steps": steps,
        "prior_s_per_step": round(prior_s, 4),
        "model_s_per_step": round(model_s, 4),
        "datasets_per_s": round(per_s, 2),
        "datasets_per_hour": round(per_s * 3600),
        "prior_share": round(prior_s / (prior_s + model_s), 3),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "small", "base"], choices=sorted(CONFIGS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per config (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = [time_config(name, args.steps, args.warmup, args.seed, device) for name in args.configs]
    table = pd.DataFrame(rows)
    print(table[["config", "params", "datasets_per_s", "datasets_per_hour", "prior_share",
                 "prior_s_per_step", "model_s_per_step", "threads"]].to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    return table


if __name__ == "__main__":
    main()
