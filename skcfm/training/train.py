"""Pretraining loop: ``python -m skcfm.training train --config small --out runs/small``.

Reads top to bottom: configuration, distributed setup, model (fresh or resumed),
optimizer, loop. Each step's prior batch is a pure function of (seed, step, rank) and the
learning rate a pure function of the step, so a resumed run continues the same curve.
"""

from __future__ import annotations

import csv
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist

from .._config import progress_bar
from ..model import CausalFoundationModel, bar_distribution
from ..preprocessing import fit_scaling
from ..pretrained import read_checkpoint
from .configs import CONFIGS, TrainConfig
from .prior import PRIOR_VERSION, PriorBatch, PriorConfig, sample_batch

CHECKPOINT_NAME = "last.pt"
VALIDATION_SEED = 2_147_483_647  # fixed and far from any training seed
BORDER_SEED = 2_147_483_000
TRAIN_LOG, VALIDATION_LOG = "train_log.csv", "validation_log.csv"
# what other commands did to a checkpoint (split-tails, average): training carries it on, export shows it
CARRIED_HISTORIES = ("head_history", "average_history")
TRAIN_FIELDS = ["step", "datasets_seen", "elapsed_s", "loss", "learning_rate", "datasets_per_s"]
VALIDATION_FIELDS = ["step", "datasets_seen", "elapsed_s", "nll", "nll_no_pam", "cate_mse", "cate_mse_no_pam"]


@dataclass(frozen=True)
class ModelInputs:
    """A prior batch scaled for the model: rows, PAM and standardised targets."""

    context: torch.Tensor  # (B, N, F)
    queries: torch.Tensor  # (B, M, F), outcome column zeroed
    alt_queries: torch.Tensor
    pam: torch.Tensor  # (B, F, F)
    targets: torch.Tensor  # (B, M)
    alt_targets: torch.Tensor

    def to(self, device: torch.device) -> ModelInputs:
        return ModelInputs(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def prepare(batch: PriorBatch) -> ModelInputs:
    """Scale a prior batch exactly as inference scales user data."""
    scaling = fit_scaling(batch.context)

    def scaled_queries(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = scaling.transform(rows)
        out[:, :, 1] = 0.0
        return out, scaling.outcome_to_model(rows[:, :, 1])

    queries, targets = scaled_queries(batch.queries)
    alt_queries, alt_targets = scaled_queries(batch.alt_queries)
    return ModelInputs(scaling.transform(batch.context), queries, alt_queries, batch.pam, targets, alt_targets)


def step_generator(seed: int, step: int, rank: int = 0, world_size: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + step * world_size + rank)


def learning_rate(config: TrainConfig, step: int, schedule_history: list[dict] | None = None) -> float:
    """Linear warm-up, then cosine decay to ``min_learning_rate_ratio``.

    ``schedule_history`` lists schedule lengths as ``{"from_step", "total_steps"}``;
    after a lengthening at step s the rate moves linearly, over ``warmup_steps``, from the
    old schedule's rate at s onto the new cosine, so a resumed run never jumps.
    """
    history = schedule_history or [{"from_step": 0, "total_steps": config.total_steps}]
    current = max((entry for entry in history if entry["from_step"] <= step), key=lambda entry: entry["from_step"])
    config = replace(config, total_steps=current["total_steps"])
    start = current["from_step"]
    if start == 0:
        if step < config.warmup_steps:
            return config.learning_rate * (step + 1) / config.warmup_steps
        progress = min(1.0, (step - config.warmup_steps) / max(1, config.total_steps - config.warmup_steps))
        floor = config.min_learning_rate_ratio
        ratio = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        return config.learning_rate * ratio
    earlier = [entry for entry in history if entry["from_step"] < start]
    fresh = [{"from_step": 0, "total_steps": config.total_steps}]
    new = learning_rate(config, max(step, start + config.warmup_steps), fresh)
    if step >= start + config.warmup_steps:
        return new
    old = learning_rate(config, start, earlier)
    return old + (new - old) * (step - start) / config.warmup_steps


def prior_targets(config: TrainConfig, n_batches: int, seed: int) -> torch.Tensor:
    """The standardised query targets of ``n_batches`` prior batches drawn with ``seed``, flattened."""
    return torch.cat([
        prepare(sample_batch(config.batch_size, step_generator(seed, i), config.prior)).targets.flatten()
        for i in range(n_batches)
    ])


def fit_bar_borders(config: TrainConfig) -> tuple[float, ...]:
    """Equal-mass borders over the prior's standardised query targets."""
    targets = prior_targets(config, config.border_batches, BORDER_SEED)
    return tuple(bar_distribution.fit_borders(targets, config.model.n_bars).tolist())


def validation_set(
    config: TrainConfig, n_batches: int | None = None, prior: PriorConfig | None = None
) -> list[ModelInputs]:
    """Fixed prior data sets, identical for every run with the same prior and validation batch size."""
    n_batches = config.validation_batches if n_batches is None else n_batches
    size = config.validation_batch_size or config.batch_size
    return [prepare(sample_batch(size, step_generator(VALIDATION_SEED, i), prior or config.prior))
            for i in range(n_batches)]


@torch.no_grad()
def evaluate(
    model: CausalFoundationModel, batches: list[ModelInputs], device: torch.device | str = "cpu"
) -> dict[str, float]:
    """Validation NLL and CATE MSE (standardised outcome units), with and without the PAM."""
    model.eval()
    sums = {name: 0.0 for name in VALIDATION_FIELDS[3:]}
    for batch in batches:
        batch = batch.to(torch.device(device))
        for suffix, pam in (("", batch.pam), ("_no_pam", torch.zeros_like(batch.pam))):
            logits = model(batch.context, batch.queries, pam)
            alt_logits = model(batch.context, batch.alt_queries, pam)
            sums["nll" + suffix] += bar_distribution.nll(logits, model.borders, batch.targets).item()
            effect = bar_distribution.mean(alt_logits, model.borders) - bar_distribution.mean(logits, model.borders)
            sums["cate_mse" + suffix] += (effect - (batch.alt_targets - batch.targets)).pow(2).mean().item()
    model.train()
    return {name: value / len(batches) for name, value in sums.items()}


def save_checkpoint(payload: dict, path: Path) -> None:
    """Write a checkpoint; a crash mid-write leaves the previous file intact."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a training checkpoint without unpickling code; a truncated, corrupt or foreign
    file gets an error naming it (:func:`skcfm.pretrained.read_checkpoint`)."""
    return read_checkpoint(path)


def model_from_checkpoint(checkpoint: dict) -> CausalFoundationModel:
    config = TrainConfig.from_dict(checkpoint["train_config"])
    model = CausalFoundationModel(config.model)
    model.load_state_dict(checkpoint["model"])
    return model


def append_rows(path: Path, fields: list[str], rows: list[dict]) -> None:
    """Append ``rows`` to the CSV log at ``path`` (columns ``fields``), writing the header first
    when the file is new; the training and weight-averaging runs share the logs."""
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _truncate_log(path: Path, after_step: int) -> None:
    """Drop log rows written after the checkpoint we resume from."""
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["step"]) <= after_step]
    fields = TRAIN_FIELDS if path.name == TRAIN_LOG else VALIDATION_FIELDS
    path.unlink()
    append_rows(path, fields, rows)


def _any_rank(flag: bool, world_size: int, device: torch.device) -> bool:
    """True on every process when it is true on any: wall-clock decisions (stop, save)
    must be taken together under DDP, or one rank leaves the others waiting forever."""
    if world_size == 1:
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def optimisation_step(model: CausalFoundationModel, wrapped: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      batch: ModelInputs, grad_clip: float, autocast) -> torch.Tensor:
    """One AdamW step on a prepared batch (``wrapped``: the model as run, e.g. under DDP
    or compiled); returns the loss."""
    with autocast:
        logits = wrapped(batch.context, batch.queries, batch.pam)
        loss = bar_distribution.nll(logits, model.borders, batch.targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss


@contextmanager
def _sigterm_event() -> Iterator[threading.Event]:
    """An event set by SIGTERM while the block runs (in the main thread; elsewhere never
    set), so a loop can stop at a step boundary; the previous handler comes back after."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prior_version(prior_history: list[dict]) -> int:
    """The prior code version of a history's last entry; entries from before versions count as version 1."""
    return prior_history[-1].get("prior_version", 1)


def train(
    config_name: str = "small",
    out: str | os.PathLike = "runs/small",
    *,
    resume: bool = False,
    steps: int | None = None,
    device: str = "cpu",
    seed: int = 0,
    compile_model: bool = False,
    batch_size: int | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
    update_prior: bool = False,
    total_steps: int | None = None,
) -> dict[str, float]:
    """Pretrain (or resume) a model; returns the last validation metrics.

    ``steps`` is where this invocation stops (the schedule length is the config's
    ``total_steps``); ``max_minutes`` stops earlier on wall time. A checkpoint is written
    every ``checkpoint_every_s`` seconds and when the run stops. A resumed run keeps the
    checkpoint's configuration; with ``update_prior`` it trains on ``config_name``'s
    current prior instead (the change and its step are kept in the checkpoint's
    ``prior_history``, and the validation set follows the new prior). A resume under a
    newer prior code (``PRIOR_VERSION``) is recorded there too, with or without
    ``update_prior``. ``batch_size`` applies on resume as well (validation keeps its data
    sets). ``total_steps``
    sets the cosine schedule's length; on resume it lengthens (or shortens) the schedule
    from the checkpoint's step on, recorded in ``schedule_history``.
    """
    # -- configuration and distributed setup
    out = Path(out)
    if not resume and (out / CHECKPOINT_NAME).exists():  # a fresh run would overwrite it and mix the logs
        raise FileExistsError(f"{out / CHECKPOINT_NAME} exists: pass resume=True (--resume) to continue that run, "
                              "or choose a new out (--out)")
    out.mkdir(parents=True, exist_ok=True)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    owns_group = world_size > 1 and not dist.is_initialized()
    if owns_group:
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    rank = dist.get_rank() if world_size > 1 else 0
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch_device = torch.device(device)
    checkpoint_path = out / CHECKPOINT_NAME

    # -- model: resumed from the checkpoint's own config, or fresh with fitted borders
    checkpoint = load_checkpoint(checkpoint_path) if resume and checkpoint_path.exists() else None
    if checkpoint is not None:
        config = TrainConfig.from_dict(checkpoint["train_config"])
        seed = checkpoint["seed"]
        prior_history = checkpoint.get("prior_history", [{"from_step": 0, "prior": asdict(config.prior)}])
        new_settings = update_prior and CONFIGS[config_name].prior != config.prior
        if new_settings:
            config = replace(config, prior=CONFIGS[config_name].prior)
            if config.prior.max_covariates > config.model.max_covariates:
                warnings.warn(f"--update-prior with config {config_name!r}: its prior draws up to "
                              f"{config.prior.max_covariates} covariates, more than the checkpoint's model was "
                              f"built for ({config.model.max_covariates}); is this the run's own config?",
                              stacklevel=2)
        if new_settings or _prior_version(prior_history) != PRIOR_VERSION:
            entry = {"from_step": checkpoint["step"], "prior": asdict(config.prior), "prior_version": PRIOR_VERSION}
            prior_history = [*prior_history, entry]
        if batch_size is not None and batch_size != config.batch_size:
            # a GPU resumes a CPU run with larger batches: each step draws other data sets from
            # then on, and validation keeps the data sets it had
            config = replace(config, batch_size=batch_size,
                             validation_batch_size=config.validation_batch_size or config.batch_size)
        schedule_history = checkpoint.get("schedule_history", [{"from_step": 0, "total_steps": config.total_steps}])
        if total_steps is not None and total_steps != config.total_steps:
            config = replace(config, total_steps=total_steps)
            # a second change at the same step replaces the first: the schedule has one length from there on
            schedule_history = [*(entry for entry in schedule_history if entry["from_step"] != checkpoint["step"]),
                                {"from_step": checkpoint["step"], "total_steps": total_steps}]
    else:
        config = CONFIGS[config_name]
        if batch_size is not None:
            config = replace(config, batch_size=batch_size)
        config = replace(config, model=replace(config.model, bar_borders=fit_bar_borders(config)))
        if total_steps is not None:
            config = replace(config, total_steps=total_steps)
        prior_history = [{"from_step": 0, "prior": asdict(config.prior), "prior_version": PRIOR_VERSION}]
        schedule_history = [{"from_step": 0, "total_steps": config.total_steps}]
    torch.manual_seed(seed)
    model = CausalFoundationModel(config.model).to(torch_device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    step, datasets_seen, elapsed = 0, 0, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        step, datasets_seen, elapsed = checkpoint["step"], checkpoint["datasets_seen"], checkpoint["elapsed_s"]
        torch.set_rng_state(checkpoint["torch_rng"])
        if rank == 0:
            _truncate_log(out / TRAIN_LOG, step)
            _truncate_log(out / VALIDATION_LOG, step)
    wrapped = model
    if world_size > 1:
        wrapped = torch.nn.parallel.DistributedDataParallel(model)
    if compile_model:
        wrapped = torch.compile(wrapped)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else nullcontext()
    validation = validation_set(config) if rank == 0 else []
    stop = steps if steps is not None else config.total_steps
    deadline = time.monotonic() + 60 * max_minutes if max_minutes is not None else math.inf

    def save() -> None:
        if rank != 0:
            return
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "datasets_seen": datasets_seen,
                "elapsed_s": elapsed,
                "seed": seed,
                "torch_rng": torch.get_rng_state(),
                "train_config": config.to_dict(),
                "prior_history": prior_history,
                "schedule_history": schedule_history,
                **{key: (checkpoint or {}).get(key, []) for key in CARRIED_HISTORIES},
            },
            checkpoint_path,
        )

    def validate() -> dict[str, float]:
        metrics = evaluate(model, validation, torch_device)
        row = {"step": step, "datasets_seen": datasets_seen, "elapsed_s": round(elapsed, 1), **metrics}
        append_rows(out / VALIDATION_LOG, VALIDATION_FIELDS, [row])
        return metrics

    # -- loop; SIGTERM (a stopped session, torchrun, kill) ends it with a checkpoint of the last step
    metrics: dict[str, float] = {}
    first_step = step
    with _sigterm_event() as terminated:
        last_save = time.monotonic()
        # a bar on rank 0 only, and only while skcfm.set_config(progress=...) allows it
        bar = progress_bar(total=stop, initial=step, disable=not progress or rank != 0, desc=f"pretrain {config_name}")
        def should_stop() -> bool:
            return _any_rank(time.monotonic() >= deadline or terminated.is_set(), world_size, torch_device)

        while step < stop and not should_stop():
            started = time.perf_counter()
            lr = learning_rate(config, step, schedule_history)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = prepare(sample_batch(config.batch_size, step_generator(seed, step, rank, world_size), config.prior))
            batch = batch.to(torch_device)
            loss = optimisation_step(model, wrapped, optimizer, batch, config.grad_clip, autocast)
            step += 1
            datasets_seen += config.batch_size * world_size
            seconds = time.perf_counter() - started
            elapsed += seconds
            rate = config.batch_size * world_size / seconds
            if rank == 0:
                row = {"step": step, "datasets_seen": datasets_seen, "elapsed_s": round(elapsed, 2),
                       "loss": round(loss.item(), 5), "learning_rate": lr, "datasets_per_s": round(rate, 2)}
                append_rows(out / TRAIN_LOG, TRAIN_FIELDS, [row])
                bar.set_postfix(loss=f"{loss.item():.3f}", datasets_per_s=f"{rate:.1f}")
            bar.update(1)
            if rank == 0 and step % config.validation_every_steps == 0:
                metrics = validate()
            if _any_rank(time.monotonic() - last_save > config.checkpoint_every_s, world_size, torch_device):
                save()
                last_save = time.monotonic()
        bar.close()
    if rank == 0 and step == first_step:  # nothing trained: report, but log no second row for this step
        metrics = evaluate(model, validation, torch_device)
    elif rank == 0 and step % config.validation_every_steps != 0 and not terminated.is_set():
        metrics = validate()
    save()
    if world_size > 1:
        dist.barrier()
    if owns_group:  # a process that exits with its gloo group alive can abort in the group's threads
        dist.destroy_process_group()
    return metrics


def export_with_history(checkpoint_path: str | os.PathLike, weights_path: Path, hardware: str, export) -> Path:
    """Export a checkpoint with its validation history (from the run's logs) in the model card."""
    run = Path(checkpoint_path).parent
    checkpoint = load_checkpoint(checkpoint_path)
    history = []
    if (run / VALIDATION_LOG).exists():
        with (run / VALIDATION_LOG).open(newline="") as handle:
            history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    card = {
        "training_hardware": hardware,
        "validation": history[-1] if history else {},
        "validation_history": history,
        "prior_history": checkpoint.get("prior_history", []),
        "schedule_history": checkpoint.get("schedule_history", []),
        **{key: checkpoint.get(key, []) for key in CARRIED_HISTORIES},
        "validation_set": (f"{TrainConfig.from_dict(checkpoint['train_config']).validation_batches} batches, "
                           f"seed {VALIDATION_SEED}"),
    }
    return export(checkpoint, weights_path, card=card)
