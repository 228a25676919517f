"""Pretraining: the causal prior, named configurations and the training loop."""

from .configs import CONFIGS, TrainConfig

__all__ = ["CONFIGS", "TrainConfig"]
