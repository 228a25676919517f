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


# -- damaged or mismatched files: an error that names the file, before a network is built


def _rewrite(weights, *, tensors=None, config=None, card_text=None):
    """Replace the weights' tensors and/or the card's config, with a matching checksum."""
    from safetensors.torch import load_file, save_file

    if tensors is not None:
        save_file({**load_file(weights), **tensors} if isinstance(tensors, dict) else tensors(load_file(weights)),
                  str(weights))
    card_path = weights.with_suffix(".json")
    card = json.loads(card_path.read_text())
    if config is not None:
        card["config"] = config(dict(card["config"]))
    card["sha256"] = _sha256(weights)
    card_path.write_text(json.dumps(card) if card_text is None else card_text)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_weight_with_a_matching_checksum_is_refused(tiny_model_path, tmp_path, value):
    weights = _copy_model(tiny_model_path, tmp_path)
    from safetensors.torch import load_file

    head = load_file(weights)["head.bias"].clone()
    head[3] = value
    _rewrite(weights, tensors={"head.bias": head})
    with pytest.raises(ValueError, match=r"tiny.safetensors: tensor 'head.bias' holds 1 NaN or infinite"):
        load_model(weights)


def test_a_truncated_file_with_a_matching_checksum_names_the_file(tiny_model_path, tmp_path):
    weights = _copy_model(tiny_model_path, tmp_path)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    _rewrite(weights)
    with pytest.raises(ValueError, match=r"tiny.safetensors is not a valid safetensors file .*truncated or corrupt"):
        load_model(weights)


@pytest.mark.parametrize("text, message", [
    ('{"config": {', "is not valid JSON"),
    ("[1, 2]", "holds a JSON list"),
    ('{"config": {}}', r"lacks \['sha256'\]"),
    ('{"config": {}, "sha256": "abc"}', "expected 64 hexadecimal digits"),
])
def test_a_corrupt_model_card_names_the_card(tiny_model_path, tmp_path, text, message):
    weights = _copy_model(tiny_model_path, tmp_path)
    weights.with_suffix(".json").write_text(text)
    with pytest.raises(ValueError, match=rf"model card .*tiny.json .*{message}|model card .*tiny.json {message}"):
        load_model(weights)
    if "JSON" in message:
        with pytest.raises(ValueError, match="tiny.json"):
            model_card(weights)


@pytest.mark.parametrize("change, error, message", [
    (lambda c: {**c, "d_modle": 16}, ValueError, r"unknown configuration keys \['d_modle'\]"),
    (lambda c: {**c, "n_layers": "2"}, TypeError, r"n_layers='2'; expected an integer"),
    (lambda c: {**c, "n_bars": 3.5}, TypeError, r"n_bars=3.5; expected an integer"),
    (lambda c: {**c, "d_model": 8192, "n_layers": 64}, ValueError, r"d_model=8192 is outside \[1, 2048\]"),
    (lambda c: {**c, "bar_borders": "wide"}, TypeError, "bar_borders must be a list of numbers"),
])
def test_a_wrong_config_in_the_card_is_refused_before_building(tiny_model_path, tmp_path, change, error, message):
    weights = _copy_model(tiny_model_path, tmp_path)
    _rewrite(weights, config=change)
    with pytest.raises(error, match=rf"model card .*tiny.json has an invalid 'config': {message}"):
        load_model(weights)


def test_a_card_asking_for_too_many_parameters_is_refused_before_allocating(tiny_model_path, tmp_path, monkeypatch):
    from skcfm import pretrained

    weights = _copy_model(tiny_model_path, tmp_path)
    _rewrite(weights, config=lambda c: {**c, "d_model": 2048, "n_heads": 2, "n_layers": 48, "ffn_mult": 16})
    # the count is taken on the meta device: the tensors are never read, no network is built
    monkeypatch.setattr(pretrained, "load_file", lambda *args, **kwargs: pytest.fail("read the weights"))
    with pytest.raises(ValueError, match=r"describes a network of [\d,]+ parameters, beyond the 200,000,000"):
        load_model(weights)


def test_a_card_that_does_not_match_the_weights_names_the_tensors(tiny_model_path, tmp_path):
    weights = _copy_model(tiny_model_path, tmp_path)
    _rewrite(weights, config=lambda c: {**c, "n_bars": c["n_bars"] * 2, "bar_borders": []})
    with pytest.raises(ValueError, match=r"tiny.safetensors has tensors of other shapes .*head.weight"):
        load_model(weights)
    weights = _copy_model(tiny_model_path, tmp_path)
    _rewrite(weights, tensors=lambda state: {k: v for k, v in state.items() if k != "head.bias"})
    with pytest.raises(ValueError, match=r"missing \['head.bias'\], unexpected \[\]"):
        load_model(weights)


def test_a_training_checkpoint_is_pointed_to_export_model(tmp_path):
    with pytest.raises(ValueError, match="is a training checkpoint, not exported weights; export it"):
        load_model(tmp_path / "last.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "pickle"])
def test_read_checkpoint_names_the_file_and_never_suggests_unpickling(tmp_path, damage):
    from skcfm.pretrained import read_checkpoint

    path = tmp_path / "last.pt"
    torch.save({"model": {"w": torch.ones(50, 50)}, "train_config": {}}, path)
    marker = tmp_path / "code-ran"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    else:
        path.write_bytes(pickle.dumps({"model": _Payload(marker), "train_config": {}}))
    with pytest.raises(ValueError, match=r"last.pt could not be read as a training checkpoint") as info:
        read_checkpoint(path)
    assert "weights_only" not in str(info.value) and info.value.__cause__ is None
    assert not marker.exists()


def test_read_checkpoint_refuses_non_finite_model_weights(tmp_path):
    from skcfm.pretrained import read_checkpoint

    path = tmp_path / "last.pt"
    torch.save({"model": {"w": torch.tensor([1.0, float("nan")])}, "train_config": {}}, path)
    with pytest.raises(ValueError, match=r"last.pt: tensor 'w' holds 1 NaN or infinite values"):
        read_checkpoint(path)
    torch.save({"model": {"w": torch.ones(2)}, "train_config": {"a": 1}}, path)
    assert read_checkpoint(path)["train_config"] == {"a": 1}
