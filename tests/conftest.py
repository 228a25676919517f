"""Shared fixtures: a tiny randomly initialised model so estimator tests stay fast."""

import os
from pathlib import Path

# no progress bars in test output, here and in the subprocesses tests start (examples, CLI)
os.environ["SKCFM_PROGRESS"] = "0"

import pytest  # noqa: E402
import torch  # noqa: E402

import skcfm  # noqa: E402
from skcfm.model import CausalFoundationModel  # noqa: E402
from skcfm.training.configs import CONFIGS  # noqa: E402

skcfm.set_config(progress=False)

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


@pytest.fixture(scope="session")
def fitted_on_frame(tiny_model):
    """A CFMCateEstimator fitted on a 120-row DataFrame with columns a, b, c; and that frame."""
    import numpy as np
    import pandas as pd

    from skcfm import CFMCateEstimator

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    T = (rng.random(120) < 0.5).astype(int)
    Y = (X.a + T + rng.normal(size=120)).rename("y")
    return CFMCateEstimator(model=tiny_model, n_estimators=2, random_state=0).fit(X, T, Y), X
