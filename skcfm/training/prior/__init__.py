"""The causal prior: random SCMs, counterfactual queries and partially hidden PAMs."""

from .batch import PRIOR_VERSION, PriorBatch, PriorConfig, hide_entries, sample_batch
from .scm import SCM, evaluate, sample_noise, sample_scms

__all__ = [
    "PRIOR_VERSION", "PriorBatch", "PriorConfig", "SCM", "evaluate", "hide_entries", "sample_batch", "sample_noise",
    "sample_scms",
]
