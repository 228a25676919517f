"""The one configuration object every model module is built from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

GraphMode = Literal["soft+gcn", "soft", "gcn", "hard", "none"]
GRAPH_MODES = ("soft+gcn", "soft", "gcn", "hard", "none")


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
        if self.graph_mode not in GRAPH_MODES:
            raise ValueError(f"graph_mode={self.graph_mode!r}; expected one of {GRAPH_MODES}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.bar_borders and len(self.bar_borders) != self.n_bars + 1:
            raise ValueError(
                f"bar_borders has {len(self.bar_borders)} entries; expected n_bars + 1 = {self.n_bars + 1}"
            )

    @property
    def uses_soft_bias(self) -> bool:
        return self.graph_mode in ("soft+gcn", "soft")

    @property
    def uses_gcn(self) -> bool:
        return self.graph_mode in ("soft+gcn", "gcn")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["bar_borders"] = list(self.bar_borders)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> CFMConfig:
        values = dict(values)
        values["bar_borders"] = tuple(float(b) for b in values.get("bar_borders", ()))
        return cls(**values)
