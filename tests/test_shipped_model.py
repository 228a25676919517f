"""The weights shipped in skcfm/weights: load offline, verified, and better than chance."""

import json

import pytest
import torch

from skcfm import available_models, load_model
from skcfm.model import bar_distribution
from skcfm.pretrained import DEFAULT_MODEL, WEIGHTS_DIR
from skcfm.training.configs import TrainConfig
from skcfm.training.train import validation_set


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((WEIGHTS_DIR / f"{DEFAULT_MODEL}.json").read_text())


def test_default_model_is_shipped_and_loads_from_its_card(card):
    assert DEFAULT_MODEL in available_models()
    model = load_model()
    assert model.config.to_dict() == card["config"]
    assert card["steps"] >= 1000 and card["datasets_seen"] >= 16_000


@pytest.mark.slow
def test_shipped_model_beats_the_prior_marginal_on_held_out_prior_data(card):
    model = load_model()
    config = TrainConfig.from_dict({"model": card["config"], "prior": card["prior"], "batch_size": 8})
    batches = validation_set(config, n_batches=2)
    with torch.no_grad():
        nll = sum(bar_distribution.nll(model(b.context, b.queries, b.pam), model.borders, b.targets) for b in batches)
        constant = sum(
            bar_distribution.nll(torch.zeros(*b.targets.shape, model.config.n_bars), model.borders, b.targets)
            for b in batches
        )
    # equal-mass borders make zero logits the prior's marginal: the constant predictor
    assert nll / 2 < constant / 2 - 0.2
