"""skcfm: graph-conditioned causal foundation models for scikit-learn, EconML and DoWhy."""

from .cate import CFMCateEstimator
from .graphs import align_pam, ancestor_matrix, merge_pams, tiered_pam, unconfoundedness_pam, validate_pam
from .pretrained import available_models, load_model
from .regressor import GraphConditionedCFMRegressor

__version__ = "0.1.0"

__all__ = [
    "CFMCateEstimator",
    "GraphConditionedCFMRegressor",
    "__version__",
    "align_pam",
    "ancestor_matrix",
    "available_models",
    "load_model",
    "merge_pams",
    "tiered_pam",
    "unconfoundedness_pam",
    "validate_pam",
]
