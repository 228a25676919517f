"""``InferenceConfig``: the expert options of how the estimators read the data and answer.

:class:`skcfm.CFMCateEstimator` and :class:`skcfm.GraphConditionedCFMRegressor` take them
in one ``inference_config`` parameter (TabPFN's pattern), so that their constructors show
the options users tune and these switches, whose defaults were measured on the benchmark's
selection realizations, stay out of the way until needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

from ._validation import check_integer_parameters
from .outcome_transform import check_outcome_transform

__all__ = ["InferenceConfig"]

CONTEXTS = ("local", "global")
STACKED_CFM = ("auto", "members", "summary")


@dataclass(frozen=True)
class InferenceConfig:
    """Expert options of :class:`skcfm.CFMCateEstimator` and :class:`skcfm.GraphConditionedCFMRegressor`.

    Pass one, or a dict of some of its fields, as an estimator's ``inference_config``; the
    fields left out keep their defaults. ``fit`` stores the options it used as
    ``inference_config_``. Each value is checked when the object is made.

    Parameters
    ----------
    contexts : {"local", "global"}, default="local"
        Which training rows a member reads when there are more than ``2 * context_size``.
        "local": the covariate space is split into ``ceil(n / (2 * context_size))``
        regions, each with its own ensemble reading its nearest ``2 * context_size`` rows,
        and a query is answered by the region whose centre is nearest, so that the members
        follow effects and overlap that change across the covariate space. "global":
        random draws from all rows.
    arm_outcomes : {"auto", True, False}, default="auto"
        Discrete treatment: add one covariate per level, a random forest's out-of-bag
        E[Y | covariates, T = level] fitted on that level's rows, so that every member reads
        a summary of all covariates, not only the model's ``max_covariates`` it draws.
        "auto" is True for a discrete treatment and False for a continuous one (True with a
        continuous treatment is an error). False saves the forests' time in ``fit``.
    clip_to_observed : bool, default=True
        Discrete treatment: keep each level within what it shows in the rows the answering
        members read. A query under level t is answered at its covariates clipped to the
        box of covariates observed with t (flat extrapolation), and each member's mean (and
        the regressor's quantiles) is clipped to the outcomes observed with t, so that the
        model does not extrapolate far where the levels do not overlap. Levels never
        observed and the regressor's "full" logits are not clipped; no effect on a
        continuous treatment. False for an outcome that can truly leave the observed range.
    outcome_transform : {"none", "yeo-johnson"}, default="none"
        "yeo-johnson": the model reads a Yeo-Johnson power transform of the standardised
        outcome (fitted on the training rows, power within [0, 2]) in place of Y; means are
        expectations of the inverse under each predicted distribution and quantiles map
        through it, so answers stay in Y's units. For skewed outcomes.
    chunk_size : int, default=1024
        Query rows per forward pass; bounds memory without changing the answers beyond
        float32 rounding.
    stacked_cfm : {"auto", "members", "summary"}, default="auto"
        :class:`~skcfm.CFMCateEstimator`'s ``final_stage="stack"`` (the default's for a
        binary treatment): what stands for the CFM in the effects on the rows asked about
        and in the doubly robust ATE over them (``ate(X)``, ``ate_interval(X)``).
        "members": the ensemble, each row through its region's members (two passes of the
        model per member and row). "summary": a gradient boosting regressor of the CFM's
        cross-fitted effects on the training rows, fitted in ``fit`` (microseconds per row).
        "auto": "summary" where the fitted plan's encoded contexts would not fit the
        encoding cache (256 MB: about 50 members, i.e. beyond about 10,000 training rows
        with 16 covariates read), where the ensemble costs seconds per thousand rows and
        more members add little; "members" otherwise.

    Examples
    --------
    >>> from skcfm import CFMCateEstimator, InferenceConfig
    >>> est = CFMCateEstimator(inference_config={"arm_outcomes": False})
    >>> config = InferenceConfig.resolve(est.inference_config)
    >>> config.arm_outcomes, config.contexts
    (False, 'local')
    """

    contexts: Literal["local", "global"] = "local"
    arm_outcomes: bool | Literal["auto"] = "auto"
    clip_to_observed: bool = True
    outcome_transform: Literal["none", "yeo-johnson"] = "none"
    chunk_size: int = 1024
    stacked_cfm: Literal["auto", "members", "summary"] = "auto"

    def __post_init__(self) -> None:
        if self.contexts not in CONTEXTS:
            raise ValueError(f"contexts={self.contexts!r}; expected 'local' or 'global'")
        auto = isinstance(self.arm_outcomes, str) and self.arm_outcomes == "auto"
        if not (auto or isinstance(self.arm_outcomes, bool | np.bool_)):
            raise TypeError(f"arm_outcomes={self.arm_outcomes!r}; expected 'auto', True or False")
        if not isinstance(self.clip_to_observed, bool | np.bool_):
            raise TypeError(f"clip_to_observed={self.clip_to_observed!r}; expected True or False")
        check_outcome_transform(self.outcome_transform)
        if self.stacked_cfm not in STACKED_CFM:
            raise ValueError(f"stacked_cfm={self.stacked_cfm!r}; expected 'auto', 'members' or 'summary'")
        check_integer_parameters(self, {"chunk_size": 1})

    def summarises_cfm(self, beyond_cache: bool) -> bool:
        """Whether a summary stands for the CFM in the stack (``stacked_cfm``), given whether
        the fitted plan's contexts outgrow the encoding cache."""
        return self.stacked_cfm == "summary" or (self.stacked_cfm == "auto" and beyond_cache)

    @classmethod
    def resolve(cls, value) -> InferenceConfig:
        """The options an estimator's ``inference_config`` stands for.

        Parameters
        ----------
        value : None, dict or InferenceConfig
            None: every default; a dict: the fields it names, the defaults for the rest.

        Returns
        -------
        InferenceConfig

        Raises
        ------
        TypeError
            For a value of another type, or a field's value of the wrong type.
        ValueError
            For a dict key that is not a field (the message lists the fields) or a field's
            value outside its options.
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"inference_config must be None, a dict or an InferenceConfig; got {type(value).__name__}")
        valid = [field.name for field in fields(cls)]
        unknown = [key for key in value if key not in valid]
        if unknown:
            raise ValueError(f"inference_config has unknown key{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; valid keys are {', '.join(map(repr, valid))}")
        return cls(**value)
