"""Pretraining throughput of each named configuration: prior data sets per second and hour.

Each step does what one step of ``skcfm.training.train`` does, timed in two parts:

- prior: ``sample_batch`` for the step's seed, then ``prepare`` (scaling);
- model: forward, NLL, backward, gradient clipping and the AdamW update.

Steps use the training loop's seeds, so the context sizes and covariate counts drawn
are those of a real run's first steps. The bar borders are left at their defaults:
fitting them to the prior takes time but does not change a step's cost.

With ``--processes P`` the steps run data-parallel as ``torchrun`` would run them:
P processes on the gloo backend, each with its own batch and ``--threads`` threads
(default 1), gradients all-reduced by DistributedDataParallel; a step's data sets are
then P times the batch size. On a 2-core CPU two one-thread processes use the cores
better than one two-thread process, whose small matrix products parallelise poorly.

Usage, from the repository root with skcfm importable (``pip install -e .``)::

    python benchmarks/training/training_throughput.py --steps 20 --configs tiny small base
    python benchmarks/training/training_throughput.py --steps 20 --configs small --processes 2

Prints a table and writes one row per configuration to
``benchmarks/results/training_throughput.csv``.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from skcfm.model import CausalFoundationModel
from skcfm.training import CONFIGS
from skcfm.training.prior import sample_batch
from skcfm.training.train import learning_rate, optimisation_step, prepare, step_generator

RESULTS = Path(__file__).resolve().parents[1] / "results" / "training_throughput.csv"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_config(
    name: str, steps: int, warmup: int, seed: int, device: torch.device, rank: int = 0, world_size: int = 1
) -> dict:
    """Mean seconds per step of the prior and of the model step for config ``name``."""
    config = CONFIGS[name]
    torch.manual_seed(seed)
    model = CausalFoundationModel(config.model).to(device)
    wrapped = torch.nn.parallel.DistributedDataParallel(model) if world_size > 1 else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    prior_s = model_s = 0.0
    for step in range(warmup + steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        started = time.perf_counter()
        generator = step_generator(seed, step, rank, world_size)
        batch = prepare(sample_batch(config.batch_size, generator, config.prior)).to(device)
        _sync(device)
        sampled = time.perf_counter()
        optimisation_step(model, wrapped, optimizer, batch, config.grad_clip, autocast)
        _sync(device)
        if step >= warmup:
            prior_s += sampled - started
            model_s += time.perf_counter() - sampled
    prior_s, model_s = prior_s / steps, model_s / steps
    per_s = world_size * config.batch_size / (prior_s + model_s)
    return {
        "config": name,
        "params": sum(p.numel() for p in model.parameters()),
        "batch_size": config.batch_size,
        "processes": world_size,
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _data_parallel_worker(rank: int, world_size: int, port: int, args: argparse.Namespace, results: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(args.threads or 1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        rows = [time_config(name, args.steps, args.warmup, args.seed, torch.device("cpu"), rank, world_size)
                for name in args.configs]
        # rank 0's step time includes waiting for the others in the all-reduce: it is the run's pace
        if rank == 0:
            pd.DataFrame(rows).to_csv(results, index=False)
    finally:
        dist.destroy_process_group()


def time_data_parallel(args: argparse.Namespace) -> list[dict]:
    """Rows of :func:`time_config` measured by rank 0 of ``args.processes`` gloo processes."""
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "rows.csv")
        mp.spawn(_data_parallel_worker, args=(args.processes, _free_port(), args, results), nprocs=args.processes)
        return pd.read_csv(results).to_dict("records")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "small", "base"], choices=sorted(CONFIGS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per config (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per process (default: torch's choice; 1 with --processes)")
    parser.add_argument("--processes", type=int, default=1, help="data-parallel CPU processes (gloo DDP)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.processes > 1:
        if args.device != "cpu":
            parser.error("--processes times CPU processes; on CUDA use torchrun with the training command")
        rows = time_data_parallel(args)
    else:
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        device = torch.device(args.device)
        rows = [time_config(name, args.steps, args.warmup, args.seed, device) for name in args.configs]
    table = pd.DataFrame(rows)
    print(table[["config", "params", "processes", "threads", "datasets_per_s", "datasets_per_hour", "prior_share",
                 "prior_s_per_step", "model_s_per_step"]].to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():  # keep the rows of other (config, processes, threads) set-ups
        earlier = pd.read_csv(args.out)
        if "processes" not in earlier:
            earlier["processes"] = 1
        keys = ["config", "processes", "threads", "device"]
        merged = earlier.merge(table[keys], on=keys, how="left", indicator=True)
        table = pd.concat([earlier[merged["_merge"].eq("left_only").to_numpy()], table], ignore_index=True)
    table.to_csv(args.out, index=False)
    return table


if __name__ == "__main__":
    main()
