"""Weight averages of two trained models of one run's lineage (a "model soup").

Two checkpoints of the same run that branched apart (another prior, a longer schedule)
can sit in one basin, where the validation loss along the line between their weights has
no barrier; their weight average is then one model between the two, at the cost of one.
When the later checkpoint's outer bars were split (:mod:`.tails`), the earlier model's head
is split the same way first, so both predict over the same bars.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import torch

from ..model import CFMConfig
from ..pretrained import load_model
from .configs import TrainConfig
from .tails import split_head
from .train import (
    CHECKPOINT_NAME,
    VALIDATION_FIELDS,
    VALIDATION_LOG,
    append_rows,
    evaluate,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    validation_set,
)


def _same_borders(a, b) -> bool:
    a, b = (torch.tensor(borders, dtype=torch.float64) for borders in (a, b))
    return a.shape == b.shape and torch.allclose(a, b)


def _aligned_head(state: Mapping[str, torch.Tensor], config: CFMConfig, target: CFMConfig,
                  head_history: list[dict]) -> dict[str, torch.Tensor]:
    """``state`` with its head split as the target's tails were, so both share bars."""
    state = {name: tensor.float() for name, tensor in state.items()}
    if config.n_bars == target.n_bars:
        if not _same_borders(config.bar_borders, target.bar_borders):
            raise ValueError("the two models' bar borders differ; only models of one run can be averaged")
        return state
    tail_bars = head_history[-1]["tail_bars"] if head_history else 0
    split = (tail_bars > 1 and target.n_bars == config.n_bars + 2 * (tail_bars - 1)
             and _same_borders(target.bar_borders[tail_bars:-tail_bars], config.bar_borders[1:-1])
             and _same_borders((target.bar_borders[0], target.bar_borders[-1]),
                               (config.bar_borders[0], config.bar_borders[-1])))
    if not split:
        raise ValueError(f"the models predict over {config.n_bars} and {target.n_bars} bars, and the second is not "
                         "the first with its outer bars split (split-tails); only models of one run can be averaged")
    return split_head(state, tail_bars)


def average_checkpoint(checkpoint: dict, other_state: Mapping[str, torch.Tensor], other_config: CFMConfig,
                       weight: float, *, other_card: Mapping | None = None) -> dict:
    """A copy of a training ``checkpoint`` whose model is ``weight`` times its own plus
    ``1 - weight`` times another model's (``other_state``, with ``other_config``).

    The other model may predict over the checkpoint's bars before a tail split. Everything
    but the model stays (step, optimiser, random state, configuration), so the result
    resumes and exports like the checkpoint; ``average_history`` records the average, with
    the other model's steps, data sets seen and sha256 when ``other_card`` gives them.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight={weight}; expected the checkpoint's share, within [0, 1]")
    target = CFMConfig.from_dict(checkpoint["train_config"]["model"])
    compared = ("bar_borders", "n_bars")
    mine, theirs = target.to_dict(), other_config.to_dict()
    differing = sorted(key for key in mine if key not in compared and mine[key] != theirs.get(key))
    if differing:
        raise ValueError(f"the models' architectures differ in {', '.join(differing)}; they cannot be averaged")
    other = _aligned_head(other_state, other_config, target, checkpoint.get("head_history", []))
    own = checkpoint["model"]
    if other.keys() != own.keys():
        raise ValueError("the two models' parameters differ in names; they cannot be averaged")
    averaged = {name: (weight * own[name].float() + (1.0 - weight) * other[name]).to(own[name].dtype) for name in own}
    card = other_card or {}
    record = {"at_step": checkpoint["step"], "weight": weight,
              **{key: card[key] for key in ("steps", "datasets_seen", "sha256") if key in card}}
    return {**checkpoint, "model": averaged, "average_history": [*checkpoint.get("average_history", []), record]}


def load_other_model(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], CFMConfig, dict]:
    """Weights, architecture and card facts of a run's ``last.pt`` or an exported ``.safetensors``."""
    if Path(path).suffix == ".safetensors":
        model = load_model(path)  # checks the card's sha256
        card = json.loads(Path(path).with_suffix(".json").read_text())
        return model.state_dict(), model.config, card
    checkpoint = load_checkpoint(path)
    card = {"steps": checkpoint["step"], "datasets_seen": checkpoint["datasets_seen"]}
    return checkpoint["model"], CFMConfig.from_dict(checkpoint["train_config"]["model"]), card


def average_run(checkpoint_path: str | os.PathLike, other_path: str | os.PathLike, weight: float,
                out: str | os.PathLike) -> dict:
    """Write ``out/last.pt``, the weight average of a checkpoint and another model (see
    :func:`average_checkpoint`), with the checkpoint run's validation log plus a row for the
    average at the same step (on the run's validation set), so ``export`` puts the average's
    own metrics in its card."""
    checkpoint = load_checkpoint(checkpoint_path)
    other_state, other_config, other_card = load_other_model(other_path)
    averaged = average_checkpoint(checkpoint, other_state, other_config, weight, other_card=other_card)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = Path(checkpoint_path).parent / VALIDATION_LOG
    if log.exists():
        shutil.copyfile(log, out / VALIDATION_LOG)
    config = TrainConfig.from_dict(averaged["train_config"])
    metrics = evaluate(model_from_checkpoint(averaged), validation_set(config), "cpu")
    row = {"step": averaged["step"], "datasets_seen": averaged["datasets_seen"],
           "elapsed_s": round(averaged["elapsed_s"], 1), **metrics}
    append_rows(out / VALIDATION_LOG, VALIDATION_FIELDS, [row])
    save_checkpoint(averaged, out / CHECKPOINT_NAME)
    return {"checkpoint": str(out / CHECKPOINT_NAME), "step": averaged["step"], "weight": weight, **metrics}
