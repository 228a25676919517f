"""Shipped weights: export a training checkpoint, load it back safely.

Weights live in ``skcfm/weights/<name>.safetensors`` beside a JSON model card holding the
architecture (``CFMConfig``), training history and the file's sha256. Loading verifies
the checksum and never unpickles code. Before any network is built it checks the card's
structure and the architecture's sizes (within ``CFMConfig``'s bounds, at most
``MAX_PARAMETERS`` parameters, counted from the sizes alone, so that a hostile card
allocates nothing), then that the file holds exactly the tensors that architecture needs,
with their shapes, and that every value is finite. Each failure names the file and says what to do.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import re
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .model import CausalFoundationModel, CFMConfig

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "cfm-small"
MAX_PARAMETERS = 200_000_000  # 800 MB in float32; the shipped model has about 0.4 million
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _resolve(name_or_path: str | os.PathLike) -> tuple[Path, Path]:
    path = Path(name_or_path)
    if path.suffix in CHECKPOINT_SUFFIXES:
        raise ValueError(f"model={str(name_or_path)!r} is a training checkpoint, not exported weights; export it "
                         "first with skcfm.pretrained.export_model(read_checkpoint(path), 'name.safetensors')")
    if path.suffix == ".safetensors":
        return path, path.with_suffix(".json")
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    weights = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    if not weights.exists():
        shipped = sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors"))
        raise FileNotFoundError(
            f"model={str(name_or_path)!r} is neither a shipped model {shipped} nor a .safetensors path")
    return weights, weights.with_suffix(".json")


def available_models() -> list[str]:
    """Names of the models shipped inside the package."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors"))


def model_card(model: str | os.PathLike | None = None) -> dict:
    """The model card of a shipped model or of exported weights.

    Parameters
    ----------
    model : str, path or None, default=None
        As for :func:`load_model`: a shipped model's name (None means ``"cfm-small"``) or
        a path to a ``.safetensors`` file (or its ``.json`` card).

    Returns
    -------
    dict
        The card: ``config``, ``prior``, ``steps``, ``datasets_seen``, the training and
        validation histories and the weights' ``sha256`` (checked by :func:`load_model`,
        not here).

    Raises
    ------
    FileNotFoundError
        The model card is missing.
    ValueError
        The card is not a JSON object.
    """
    _, card = _resolve(DEFAULT_MODEL if model is None else model)
    if not card.exists():
        raise FileNotFoundError(f"model card {card} not found")
    return _parse_card(card, _read_text(card))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"model card {path} is not a UTF-8 text file ({error}); it must be the JSON card that "
                         "export_model wrote beside the weights") from error


def _parse_card(card: Path, text: str) -> dict:
    """The JSON object in model card ``card``, or a ValueError naming the file."""
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"model card {card} is not valid JSON ({error}); it is truncated or corrupt: restore it "
                         "from the exported model") from error
    if not isinstance(meta, dict):
        raise ValueError(f"model card {card} holds a JSON {type(meta).__name__}; expected an object with "
                         "'config' and 'sha256'")
    return meta


def _check_card(card: Path, meta: dict) -> CFMConfig:
    """The architecture model card ``card`` describes, checked before anything is built."""
    missing = [key for key in ("config", "sha256") if key not in meta]
    if missing:
        raise ValueError(f"model card {card} lacks {missing}; it must be the card that export_model wrote")
    if not isinstance(meta["sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", meta["sha256"]):
        raise ValueError(f"model card {card} has sha256={meta['sha256']!r}; expected 64 hexadecimal digits")
    try:
        config = CFMConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as error:
        raise type(error)(f"model card {card} has an invalid 'config': {error}") from error
    n_parameters = config.n_parameters  # counted from the sizes: nothing is built before the bound holds
    if n_parameters > MAX_PARAMETERS:
        raise ValueError(f"model card {card} describes a network of {n_parameters:,} parameters, beyond the "
                         f"{MAX_PARAMETERS:,} this package loads; the card is wrong or not one of this package's")
    return config


def _check_tensors(weights: Path, network: CausalFoundationModel) -> None:
    """The names, shapes and dtypes of the tensors in ``weights`` (read from the
    safetensors header, not the data) against those ``network`` needs."""
    expected = {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}
    try:
        with safe_open(weights, framework="pt") as handle:
            found = {name: (tuple(handle.get_slice(name).get_shape()), handle.get_slice(name).get_dtype())
                     for name in handle.keys()}
    except SafetensorError as error:
        raise ValueError(f"{weights} is not a valid safetensors file ({error}): it is truncated or corrupt, or not "
                         "safetensors at all (skcfm never unpickles weights); export the weights again") from error
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{weights} does not hold the tensors its model card's config needs: missing {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                         f"{' ...' if len(unexpected) > 5 else ''}; the card and the weights do not belong together")
    wrong = [f"{name} {found[name][0]} (expected {shape})" for name, shape in expected.items()
             if found[name][0] != shape]
    if wrong:
        raise ValueError(f"{weights} has tensors of other shapes than its model card's config gives: "
                         f"{', '.join(wrong[:5])}; the card and the weights do not belong together")
    floats = ("F16", "BF16", "F32", "F64")
    not_float = [f"{name} ({dtype})" for name, (_, dtype) in found.items() if dtype not in floats]
    if not_float:
        raise ValueError(f"{weights} has tensors that are not floating point: {not_float[:5]}")


def _check_finite(source, tensors: dict[str, torch.Tensor]) -> None:
    """Raise a ValueError naming ``source`` and the first tensor that holds NaN or infinity."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise ValueError(f"{source}: tensor {name!r} holds {bad} NaN or infinite values; the weights are "
                             "corrupt (or training diverged), and a model built from them would answer NaN")


def load_model(
    model: str | os.PathLike | CausalFoundationModel | None = None, *, device: str | torch.device = "cpu"
) -> CausalFoundationModel:
    """Load a pretrained causal foundation model.

    Parameters
    ----------
    model : str, path, CausalFoundationModel or None, default=None
        A shipped model's name (see :func:`available_models`; None means
        ``"cfm-small"``), a path to a ``.safetensors`` file with its ``.json`` card
        beside it, or a model instance, returned as is when already on ``device``.
    device : str or torch.device, default="cpu"
        Where the model's weights must be. A model elsewhere is copied there: the
        caller's instance and the cached loaded model are never moved.

    Returns
    -------
    CausalFoundationModel
        Loaded models are in eval mode.

    Raises
    ------
    FileNotFoundError
        The weights or the model card are missing.
    ValueError
        The weights do not match the card's sha256 (corrupt or tampered file), the file
        is not safetensors (e.g. a pickle), the card is not valid JSON or describes an
        invalid or oversized architecture, the file's tensors do not match the card's
        architecture, or a weight is NaN or infinite. The message names the file.
    TypeError
        A field of the card's architecture has the wrong type.
    """
    device = _check_device(device)
    if not isinstance(model, CausalFoundationModel):
        if model is not None and not isinstance(model, (str, os.PathLike)):
            raise TypeError(f"model={model!r}; expected None, a shipped model's name, a path to a .safetensors "
                            "file or a CausalFoundationModel")
        weights, card = _resolve(DEFAULT_MODEL if model is None else model)
        if not weights.exists():
            raise FileNotFoundError(f"model weights {weights} not found")
        if not card.exists():
            raise FileNotFoundError(f"model card {card} is missing; it must sit beside {weights.name}")
        # keyed by the files' contents (a few ms to hash), so every call checks the checksum
        model = _load_cached(str(weights.resolve()), _sha256(weights), _read_text(card))
    current = next(model.parameters()).device
    if current.type == device.type and device.index in (None, current.index):
        return model
    return copy.deepcopy(model).to(device)


def _check_device(device) -> torch.device:
    """``device`` as a torch device that this torch build can use, or a ValueError naming it."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a torch device (e.g. 'cpu', 'cuda', 'cuda:1')") from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but this torch build sees no CUDA device "
                         "(torch.cuda.is_available() is False); use device='cpu'")
    return parsed


@lru_cache(maxsize=4)
def _load_cached(weights: str, digest: str, card_text: str) -> CausalFoundationModel:
    weights_path = Path(weights)
    card = weights_path.with_suffix(".json")
    meta = _parse_card(card, card_text)
    config = _check_card(card, meta)
    if digest != meta["sha256"]:
        raise ValueError(
            f"checksum mismatch for {weights_path}: sha256 {digest} but the model card says {meta['sha256']}; "
            "the file is corrupt or was modified"
        )
    network = CausalFoundationModel(config)  # within MAX_PARAMETERS (_check_card)
    _check_tensors(weights_path, network)
    try:
        tensors = load_file(weights_path)
    except SafetensorError as error:
        raise ValueError(f"{weights_path} could not be read ({error}); it is truncated or corrupt: export the "
                         "weights again") from error
    state = {name: tensor.float() for name, tensor in tensors.items()}
    _check_finite(weights_path, state)
    network.load_state_dict(state)
    return network.eval()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A training checkpoint (a run's ``last.pt``) read without unpickling code.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
        The checkpoint, with ``train_config`` and the model's state under ``model``.

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    IsADirectoryError
        ``path`` is a folder.
    ValueError
        The file is exported weights, is truncated or corrupt, holds Python objects
        other than tensors and plain containers (never unpickled), is not a training
        checkpoint, or holds NaN or infinite model weights. The message names the file.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        raise ValueError(f"{path} holds exported weights, not a training checkpoint (a run's last.pt); load it with "
                         "skcfm.pretrained.load_model")
    if path.is_dir():
        raise IsADirectoryError(f"training checkpoint {path} is a folder; pass the checkpoint file in it "
                                "(a run's last.pt)")
    if not path.is_file():
        raise FileNotFoundError(f"training checkpoint {path} not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, AttributeError, ImportError, UnicodeDecodeError,
            OSError, RuntimeError, ValueError, TypeError) as error:
        # torch's own message suggests weights_only=False, which would run the file's code
        raise ValueError(f"{path} could not be read as a training checkpoint ({type(error).__name__}): it is "
                         "truncated or corrupt, or holds Python objects other than tensors and plain containers, "
                         "which skcfm never unpickles; resume from an intact copy or an earlier checkpoint") from None
    if not isinstance(checkpoint, dict) or "train_config" not in checkpoint or "model" not in checkpoint:
        raise ValueError(f"{path} is not a training checkpoint (a run's last.pt): it has no train_config or model")
    if not isinstance(checkpoint["model"], dict):
        raise ValueError(f"{path} is not a training checkpoint: its 'model' is a {type(checkpoint['model']).__name__}, "
                         "not a state dict")
    _check_finite(path, {name: t for name, t in checkpoint["model"].items() if isinstance(t, torch.Tensor)})
    return checkpoint


def export_model(checkpoint: dict, path: str | os.PathLike, *, card: dict | None = None, half: bool = True) -> Path:
    """Write a training checkpoint's model as safetensors (fp16 by default) plus its JSON card.

    ``checkpoint`` is a dict loaded from a training ``last.pt``; ``card`` adds fields
    (training history, validation metrics) to the model card.
    """
    path = Path(path)
    if path.suffix != ".safetensors":  # "my-cfm-v1.2" keeps its dots: with_suffix would cut at the last one
        path = path.with_name(path.name + ".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    expected = ("model", "train_config", "step")
    missing = [key for key in expected if not isinstance(checkpoint, dict) or key not in checkpoint]
    if missing:
        raise ValueError(f"checkpoint lacks {missing}; expected a training checkpoint, the dict that "
                         "skcfm.training saves as last.pt (read it with skcfm.pretrained.read_checkpoint)")
    state = {name: t.detach().to(dtype).contiguous() for name, t in checkpoint["model"].items()}
    save_file(state, str(path))
    meta = {
        "config": checkpoint["train_config"]["model"],
        "prior": checkpoint["train_config"]["prior"],
        "steps": checkpoint["step"],
        "datasets_seen": checkpoint["datasets_seen"],
        "training_seconds": round(checkpoint["elapsed_s"], 1),
        "storage_dtype": str(dtype).removeprefix("torch."),
        **(card or {}),
        "sha256": _sha256(path),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path
