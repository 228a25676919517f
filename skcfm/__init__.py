"""skcfm: graph-conditioned causal foundation models for scikit-learn, EconML and DoWhy."""

from importlib import import_module

from ._config import config_context, get_config, set_config
from ._optional import defer_econml_imports
from .pam_alignment import align_pam
from .pam_builders import ancestor_matrix, merge_pams, tiered_pam, unconfoundedness_pam
from .pam_validation import validate_pam
from .pretrained import available_models, load_model, model_card

__version__ = "0.1.0"

__all__ = [
    "CFMCateEstimator",
    "GraphConditionedCFMRegressor",
    "InferenceConfig",
    "__version__",
    "align_pam",
    "ancestor_matrix",
    "available_models",
    "config_context",
    "get_config",
    "load_model",
    "merge_pams",
    "model_card",
    "set_config",
    "tiered_pam",
    "unconfoundedness_pam",
    "validate_pam",
]

# EconML imports DoWhy (and with it matplotlib, statsmodels, sympy) whenever DoWhy is
# installed, and sparse (numba); defer both to first use so `import skcfm` stays light
defer_econml_imports()

# the estimators import EconML, start-up that the pretraining command line does not need:
# load them (and their options, which import scikit-learn and SciPy) on first access
_LAZY = {"CFMCateEstimator": ".cate", "GraphConditionedCFMRegressor": ".regressor",
         "InferenceConfig": ".inference_config"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'skcfm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
