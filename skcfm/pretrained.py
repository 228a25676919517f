"""Shipped weights: export a training checkpoint, load it back safely.

Weights live in ``skcfm/weights/<name>.safetensors`` beside a JSON model card holding the
architecture (``CFMConfig``), training history and the file's sha256. Loading verifies
the checksum and never unpickles code.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .model import CausalFoundationModel, CFMConfig

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "cfm-small"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _resolve(name_or_path: str | os.PathLike) -> tuple[Path, Path]:
    path = Path(name_or_path)
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
    """
    _, card = _resolve(DEFAULT_MODEL if model is None else model)
    if not card.exists():
        raise FileNotFoundError(f"model card {card} not found")
    return json.loads(card.read_text())


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
        The weights do not match the card's sha256 (corrupt or tampered file), or
        the file is not safetensors (e.g. a pickle).
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
        model = _load_cached(str(weights.resolve()), _sha256(weights), card.read_text())
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
    meta = json.loads(card_text)
    if digest != meta.get("sha256"):
        raise ValueError(
            f"checksum mismatch for {weights_path}: sha256 {digest} but the model card says {meta.get('sha256')}; "
            "the file is corrupt or was modified"
        )
    config = CFMConfig.from_dict(meta["config"])
    network = CausalFoundationModel(config)
    try:
        tensors = load_file(weights_path)
    except SafetensorError as error:
        raise ValueError(
            f"{weights_path} is not a valid safetensors file ({error}); skcfm never unpickles weights") from error
    state = {name: tensor.float() for name, tensor in tensors.items()}
    network.load_state_dict(state)
    return network.eval()


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
