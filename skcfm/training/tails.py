"""Finer tails for a trained model: split its two outer bars into equal-mass bars.

Equal-mass borders leave the outer bars very wide (``small``'s right outer bar runs from
4.8 to 51.6 standard deviations and its half-normal tail puts its mean at 60): one
bar cannot say whether a tail outcome lies near 5 or near 40 standard deviations, and the
predicted mean takes the tail's mean either way. :func:`split_tail_bars` replaces each
outer bar by ``tail_bars`` bars at equal-mass quantiles of the prior's targets beyond
the inner border; the head's row (and its optimiser moments) for the old bar is copied to
the new ones with ``log(tail_bars)`` taken off the bias, so the split model predicts the
same distribution over the old bars and training goes on from there (``train --resume``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from ..model import CausalFoundationModel
from .configs import TrainConfig
from .train import BORDER_SEED, prior_targets

TAIL_BATCHES = 512  # prior batches whose targets fit the tail borders (~1,000 per tail)


def tail_borders(borders: torch.Tensor, targets: torch.Tensor, tail_bars: int) -> torch.Tensor:
    """``borders`` with each outer bar split into ``tail_bars`` bars at equal-mass
    quantiles of the ``targets`` that fall in it; the outermost borders stay."""
    if tail_bars < 2:
        raise ValueError(f"tail_bars={tail_bars}; expected at least 2")
    levels = torch.linspace(0, 1, tail_bars + 1, dtype=torch.float64)[1:-1]
    # targets beyond the outermost borders would put a new border outside the support
    left = targets[(targets > borders[0]) & (targets < borders[1])].double()
    right = targets[(targets > borders[-2]) & (targets < borders[-1])].double()
    if min(len(left), len(right)) < 4 * tail_bars:
        raise ValueError(f"{len(left)} and {len(right)} targets in the outer bars; too few for {tail_bars} bars each")
    inner_left = torch.quantile(left, levels).float()
    inner_right = torch.quantile(right, levels).float()
    return torch.cat([borders[:1], inner_left, borders[1:-1], inner_right, borders[-1:]])


def _expand_rows(tensor: torch.Tensor, tail_bars: int) -> torch.Tensor:
    """Repeat the first and last rows (bars) of a head tensor ``tail_bars`` times."""
    first, last = tensor[:1].repeat_interleave(tail_bars, 0), tensor[-1:].repeat_interleave(tail_bars, 0)
    return torch.cat([first, tensor[1:-1], last])


def split_head(state: dict[str, torch.Tensor], tail_bars: int) -> dict[str, torch.Tensor]:
    """A copy of a model ``state`` whose head's outer bars are each split into ``tail_bars``
    bars of equal share, so it predicts the same distribution over the old bars."""
    state = dict(state)
    state["head.weight"] = _expand_rows(state["head.weight"], tail_bars)
    bias = _expand_rows(state["head.bias"], tail_bars)
    bias[:tail_bars] -= math.log(tail_bars)
    bias[-tail_bars:] -= math.log(tail_bars)
    state["head.bias"] = bias
    return state


def split_tail_bars(checkpoint: dict, tail_bars: int = 8, n_batches: int = TAIL_BATCHES) -> dict:
    """A copy of a training ``checkpoint`` whose outer bars are split (see module doc).

    The model, its optimiser state and its configuration change; step, data sets seen
    and random state stay, so ``train --resume`` continues the same run. The split is
    recorded in ``head_history``.
    """
    config = TrainConfig.from_dict(checkpoint["train_config"])
    borders = torch.tensor(config.model.bar_borders)
    targets = prior_targets(config, n_batches, BORDER_SEED + 1)
    new_borders = tail_borders(borders, targets, tail_bars)
    n_bars = len(new_borders) - 1
    model_config = replace(config.model, n_bars=n_bars, bar_borders=tuple(new_borders.tolist()))
    state = split_head(checkpoint["model"], tail_bars)
    optimizer = {**checkpoint["optimizer"], "state": dict(checkpoint["optimizer"]["state"])}
    # the optimiser numbers parameters in the model's order
    names = [name for name, _ in CausalFoundationModel(config.model).named_parameters()]
    for index, name in enumerate(names):
        if name in ("head.weight", "head.bias") and index in optimizer["state"]:
            moments = dict(optimizer["state"][index])
            for key in ("exp_avg", "exp_avg_sq"):
                moments[key] = _expand_rows(moments[key], tail_bars)
            optimizer["state"][index] = moments
    history = checkpoint.get("head_history", [])
    return {
        **checkpoint,
        "model": state,
        "optimizer": optimizer,
        "train_config": replace(config, model=model_config).to_dict(),
        "head_history": [*history, {"from_step": checkpoint["step"], "tail_bars": tail_bars, "n_bars": n_bars}],
    }
