"""Tests for skcfm.pretrained: exported weights load back safely and identically."""

import json
import pickle
import shutil

import numpy as np
import pytest
import torch

from skcfm.inference import plan_ensemble, predict_interventions
from skcfm.pretrained import _sha256, available_models, load_model, model_card


class _Payload:
    """Unpickling this creates a marker directory: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.mkdir, (str(self.marker),)


def _copy_model(path, directory, *, card=True):
    weights = directory / path.name
    shutil.copy(path, weights)
    if card:
        shutil.copy(path.with_suffix(".json"), weights.with_suffix(".json"))
    return weights


def _predict(model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    T = (rng.random(80) < 0.5).astype(float)
    Y = X[:, 0] + T + rng.normal(size=80)
    pam = np.zeros((5, 5), dtype=np.int8)
    members = plan_ensemble(80, pam, n_estimators=1, context_size=192, max_covariates=5, arms=None,
                            rng=np.random.default_rng(0))
    return predict_interventions(model, X, T, Y, pam, X[:10], [np.zeros(10), np.ones(10)], members).means


def test_load_model_restores_the_exported_weights(tiny_model, tiny_model_path):
    loaded = load_model(tiny_model_path)
    assert loaded is not tiny_model
    assert not loaded.training
    assert loaded.config == tiny_model.config
    source = tiny_model.state_dict()
    for name, tensor in loaded.state_dict().items():
        torch.testing.assert_close(tensor, source[name].half().float(), rtol=0, atol=0)


def test_load_model_predicts_like_the_source_model(tiny_model, tiny_model_path):
    np.testing.assert_allclose(_predict(load_model(str(tiny_model_path))), _predict(tiny_model), rtol=1e-2, atol=1e-2)


def test_load_model_accepts_the_card_path(tiny_model_path):
    assert load_model(tiny_model_path.with_suffix(".json")).config == load_model(tiny_model_path).config


def test_load_model_returns_a_model_instance_as_is(tiny_model):
    assert load_model(tiny_model) is tiny_model


def test_tampered_weights_raise_a_checksum_error(tiny_model_path, tmp_path):
    weights = _copy_model(tiny_model_path, tmp_path)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte inside the tensor data
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        load_model(weights)


def test_a_file_modified_after_loading_is_checked_again(tiny_model_path, tmp_path):
    """The cache is keyed by content: a rewrite that keeps the size and the modification
    time is still caught."""
    import os

    weights = _copy_model(tiny_model_path, tmp_path)
    load_model(weights)
    stat = weights.stat()
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ValueError, match="checksum"):
        load_model(weights)


def test_missing_card_raises_file_not_found(tiny_model_path, tmp_path):
    weights = _copy_model(tiny_model_path, tmp_path, card=False)
    with pytest.raises(FileNotFoundError, match="model card"):
        load_model(weights)


def test_missing_weights_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.safetensors")


def test_unknown_name_raises_file_not_found_listing_shipped_models():
    with pytest.raises(FileNotFoundError, match=r"no-such-model.*shipped model \[") as info:
        load_model("no-such-model")
    assert str(available_models()) in str(info.value)


def test_pickle_renamed_safetensors_fails_without_unpickling(tiny_model_path, tmp_path):
    marker = tmp_path / "code-ran"
    weights = tmp_path / "evil.safetensors"
    weights.write_bytes(pickle.dumps({"model": _Payload(marker)}))
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    card["sha256"] = _sha256(weights)  # a matching checksum: only the format may stop it
    weights.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load_model(weights)
    assert not marker.exists()


def test_model_card_reads_the_card_of_a_path_or_the_shipped_model(tiny_model_path):
    card = model_card(tiny_model_path)
    assert card == json.loads(tiny_model_path.with_suffix(".json").read_text())
    assert card["sha256"] == _sha256(tiny_model_path)
    assert model_card(tiny_model_path.with_suffix(".json")) == card
    shipped = model_card()
    assert shipped == model_card("cfm-small") and shipped["steps"] > 0


def test_model_card_without_its_file_raises_file_not_found(tiny_model_path, tmp_path):
    weights = _copy_model(tiny_model_path, tmp_path, card=False)
    with pytest.raises(FileNotFoundError, match="model card"):
        model_card(weights)
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        model_card("no-such-model")


def test_available_models_lists_names_without_suffix():
    names = available_models()
    assert isinstance(names, list)
    assert all(not name.endswith(".safetensors") for name in names)


def test_load_model_copies_a_model_to_another_device(tiny_model):
    moved = load_model(tiny_model, device="meta")  # "meta" stands in for a GPU
    assert moved is not tiny_model
    assert next(moved.parameters()).device.type == "meta"
    assert next(tiny_model.parameters()).device.type == "cpu"


def test_load_model_never_moves_the_cached_model(tiny_model_path):
    load_model(tiny_model_path, device="meta")
    assert next(load_model(tiny_model_path).parameters()).device.type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where torch sees no CUDA device")
def test_load_model_on_a_missing_cuda_device_says_so():
    with pytest.raises(ValueError, match=r"device='cuda', but this torch build sees no CUDA device"):
        load_model(device="cuda")


def test_load_model_rejects_what_is_not_a_device_or_a_model():
    with pytest.raises(ValueError, match="device='tpu' is not a torch device"):
        load_model(device="tpu")
    with pytest.raises(TypeError, match="model=3; expected None"):
        load_model(3)
