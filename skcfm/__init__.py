"""skcfm: graph-conditioned causal foundation models for scikit-learn, EconML and DoWhy."""

from .graphs import ancestor_matrix, unconfoundedness_pam

__version__ = "0.1.0"

__all__ = ["__version__", "ancestor_matrix", "unconfoundedness_pam"]
