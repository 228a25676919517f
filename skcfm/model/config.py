"""The one configuration object every model module is built from."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

GraphMode = Literal["soft+gcn", "soft", "gcn", "hard", "none"]
GRAPH_MODES = ("soft+gcn", "soft", "gcn", "hard", "none")
# (least, largest) value of each integer field. The upper bounds are far above any model
# this package trains (the shipped one: d_model 64, 4 layers) and keep a wrong or hostile
# model card from allocating gigabytes before its weights are even read.
INTEGER_BOUNDS = {
    "d_model": (1, 2048),
    "n_layers": (1, 48),
    "n_heads": (1, 64),
    "ffn_mult": (1, 16),
    "n_sinks": (0, 256),
    "n_bars": (2, 16384),
    "gcn_layers": (0, 16),
    "max_covariates": (1, 1000),
}


@dataclass(frozen=True)
class CFMConfig:
    """Architecture of a graph-conditioned causal foundation model.

    Checkpoints store this object; loading rebuilds the network from the stored copy.
    """

    d_model: int = 64  # width of every cell token
    n_layers: int = 4  # blocks of feature-wise + sample-wise attention + SwiGLU
    n_heads: int = 4
    ffn_mult: int = 2  # SwiGLU hidden width = ffn_mult * d_model
    n_sinks: int = 4  # learnable dummy context rows (attention sinks)
    n_bars: int = 256  # bars of the output distribution
    gcn_layers: int = 2
    graph_mode: GraphMode = "soft+gcn"  # the paper's ablations: soft bias, GCN, hard mask, none
    max_covariates: int = 20  # most covariates seen in pretraining; more are ensembled over subsets
    bar_borders: tuple[float, ...] = field(default=(), repr=False)  # fitted to the prior

    def __post_init__(self) -> None:
        for name, (least, largest) in INTEGER_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name}={value!r}; expected an integer in [{least}, {largest}]")
            if not least <= value <= largest:
                raise ValueError(f"{name}={value} is outside [{least}, {largest}], the sizes this package builds")
        if not isinstance(self.graph_mode, str) or self.graph_mode not in GRAPH_MODES:
            raise ValueError(f"graph_mode={self.graph_mode!r}; expected one of {GRAPH_MODES}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.bar_borders and len(self.bar_borders) != self.n_bars + 1:
            raise ValueError(
                f"bar_borders has {len(self.bar_borders)} entries; expected n_bars + 1 = {self.n_bars + 1}"
            )
        borders = self.bar_borders
        increasing = all(b < c for b, c in zip(borders, borders[1:], strict=False))
        if not all(math.isfinite(b) for b in borders) or not increasing:
            raise ValueError("bar_borders must be finite and strictly increasing")

    @property
    def uses_soft_bias(self) -> bool:
        return self.graph_mode in ("soft+gcn", "soft")

    @property
    def uses_gcn(self) -> bool:
        return self.graph_mode in ("soft+gcn", "gcn")

    @property
    def n_parameters(self) -> int:
        """The network's parameter count, from the sizes alone: a model card's architecture
        can be bounded before anything is built (``CausalFoundationModel`` builds exactly
        this many; a test holds the two together)."""
        d, layers, conditioned = self.d_model, self.n_layers, self.uses_gcn
        linear = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
        adaptive_norm = linear(d, 3 * d) if conditioned else 2 * d
        attention = linear(d, d) + linear(d, 2 * d) + linear(d, d)
        hidden = self.ffn_mult * d
        block = 2 * adaptive_norm + 2 * attention + 2 * d + linear(d, 2 * hidden) + linear(hidden, d)
        embedding = linear(1, d) + 3 * linear(d, d) + 3 * d + 2 * d + d + 2 + 3 * self.n_sinks * d
        graph = 3 * d + self.gcn_layers * (linear(5 * d, d) + 2 * d) if conditioned else 0
        soft_bias = layers * self.n_heads * 3 if self.uses_soft_bias else 0
        return embedding + graph + layers * block + soft_bias + 2 * d + linear(d, self.n_bars)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["bar_borders"] = list(self.bar_borders)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> CFMConfig:
        """The configuration a dict (a model card's or a checkpoint's "config") describes.

        Raises
        ------
        TypeError
            ``values`` is not a dict, or a field has the wrong type.
        ValueError
            ``values`` has keys that are not fields, or a field is out of its bounds
            (``INTEGER_BOUNDS``).
        """
        if not isinstance(values, dict):
            raise TypeError(f"a model configuration must be a dict of fields; got {type(values).__name__}")
        values = dict(values)
        known = [f.name for f in fields(cls)]
        unknown = [key for key in values if key not in known]
        if unknown:
            raise ValueError(f"unknown configuration keys {unknown}; the fields are {known}")
        borders = values.get("bar_borders", ())
        if not isinstance(borders, (list, tuple)) or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) for b in borders):
            raise TypeError(f"bar_borders must be a list of numbers; got {type(borders).__name__}")
        values["bar_borders"] = tuple(float(b) for b in borders)
        return cls(**values)
