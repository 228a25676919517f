"""The causal foundation model: configuration, network and bar distribution."""

from .config import CFMConfig
from .transformer import CausalFoundationModel

__all__ = ["CFMConfig", "CausalFoundationModel"]
