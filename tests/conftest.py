"""Shared fixtures: a tiny randomly initialised model so estimator tests stay fast."""

from pathlib import Path

import pytest
import torch

from skcfm.model import CausalFoundationModel
from skcfm.training.configs import CONFIGS

# one thread: tiny models gain nothing from more, and oversubscribed cores stall torch
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_model() -> CausalFoundationModel:
    torch.manual_seed(0)
    return CausalFoundationModel(CONFIGS["tiny"].model).eval()


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_model) -> Path:
    """The tiny model exported like shipped weights (safetensors + JSON card)."""
    from skcfm.pretrained import export_model

    checkpoint = {
        "model": tiny_model.state_dict(),
        "train_config": CONFIGS["tiny"].to_dict(),
        "step": 0,
        "datasets_seen": 0,
        "elapsed_s": 0.0,
    }
    return export_model(checkpoint, tmp_path_factory.mktemp("weights") / "tiny.safetensors")
