"""EconML ``Inference`` objects behind :class:`skcfm.CFMCateEstimator`'s intervals and summaries.

EconML's estimators keep their inference in a pluggable :class:`econml.inference.Inference`
chosen by ``fit(inference=...)``; the estimator's ``effect_interval``, ``ate_inference`` and
the other ``*_interval`` and ``*_inference`` methods defer to it. ``CFMCateEstimator`` does
the same with the two kinds below, which read the fitted estimator and fit nothing:

- :class:`EnsembleInference` (``inference="ensemble"``): the spread of the ensemble members'
  estimates (:mod:`skcfm.econml_results`), per row and for the mean over rows; with the
  causal forest final stage, its per-row normal inference;
- :class:`DoublyRobustInference` (``"haipw"`` and ``"aipw"``, a binary treatment): the same
  per-row results, and for the contrast of the two levels the doubly robust ATE (fitted in
  ``fit`` by :class:`skcfm.doubly_robust.DoublyRobust`) with its normal interval, on the
  training rows or over given rows.

Both also build the estimator's one-row :meth:`~skcfm.CFMCateEstimator.summary`.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
from econml.inference import EmpiricalInferenceResults, NormalInferenceResults, PopulationSummaryResults
from econml.inference._inference import Inference  # the base class; econml.inference does not export it
from scipy.stats import norm

from .aipw import AteResult
from .econml_results import (
    DoublyRobustSummary,
    EnsembleSpreadWarning,
    ensemble_inference,
    ensemble_mean_interval,
    ensemble_population_summary,
    member_spread,
    normal_inference,
)
from .nuisances import clipped_share

ESTIMANDS = ("ate", "overlap")  # the whole-population ATE, or the overlap-weighted ATE


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` if it is a number in (0, 1), the level of a two-sided interval; raise otherwise."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}")
    return alpha


def content_key(*arrays: np.ndarray) -> bytes:
    """A digest of the arrays' values and shapes, to recognise a repeated query."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes() + repr(np.shape(array)).encode())
    return digest.digest()


class EnsembleInference(Inference):
    """Inference from the spread of the CFM's ensemble members, as EconML's bootstrap.

    Per-row results are :class:`~skcfm.econml_results.EnsembleInferenceResults` (the
    members' estimates as an empirical distribution: quantile intervals, their spread as
    ``stderr``, no test statistics) with the CFM as the final stage, and the forest's normal
    inference with ``final_stage="causal_forest"``; other final stages have a single model
    and no per-row intervals. Means over rows are
    :class:`~skcfm.econml_results.EnsemblePopulationSummary` results, whose standard error
    is the spread of the members' means.

    The spread says how much the model's answer moves with the context draw and covariate
    order; it leaves the model's own error out, so every result warns with
    :class:`~skcfm.econml_results.EnsembleSpreadWarning`.
    """

    def fit(self, estimator, *args, **kwargs):
        """Keep the fitted ``estimator`` to read; fits nothing (the estimator's ``fit`` did)."""
        self._est = estimator
        return self

    # -- per row ---------------------------------------------------------------------
    def effect_inference(self, X=None, *, T0=0, T1=1) -> EmpiricalInferenceResults | NormalInferenceResults:
        """Per-row inference of ``effect(X, T0=T0, T1=T1)``."""
        est = self._est
        if est.final_stage_ == "causal_forest":
            return self._forest_inference(X, T0, T1, [est.treatment_name_])
        return ensemble_inference(self._members(est._member_effects, X, T0, T1), outcome_name=est.outcome_name_,
                                  treatment_names=[est.treatment_name_])

    def effect_interval(self, X=None, *, T0=0, T1=1, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of :meth:`effect_inference`'s interval."""
        alpha = check_alpha(alpha)
        return self.effect_inference(X, T0=T0, T1=T1).conf_int(alpha=alpha)

    def marginal_effect_inference(self, T, X=None) -> EmpiricalInferenceResults | NormalInferenceResults:
        """Per-row inference of ``marginal_effect(T, X)``: a column per non-baseline level."""
        est = self._est
        if est.final_stage_ == "causal_forest":  # binary T: the effect of the second level against the first
            return self._forest_inference(X, *est.categories_[:2], self._marginal_treatment_names())
        return ensemble_inference(self._members(est._member_marginal_effects, T, X), outcome_name=est.outcome_name_,
                                  treatment_names=self._marginal_treatment_names())

    def marginal_effect_interval(self, T, X=None, *, alpha: float = 0.05):
        """Lower and upper bounds of :meth:`marginal_effect_inference`'s interval."""
        alpha = check_alpha(alpha)
        return self.marginal_effect_inference(T, X).conf_int(alpha=alpha)

    def const_marginal_effect_inference(self, X=None) -> EmpiricalInferenceResults | NormalInferenceResults:
        """:meth:`marginal_effect_inference` of a discrete treatment's levels against the baseline."""
        self._est._require_discrete("const_marginal_effect_inference")
        return self.marginal_effect_inference(None, X)

    def const_marginal_effect_interval(self, X=None, *, alpha: float = 0.05):
        """:meth:`marginal_effect_interval` of a discrete treatment's levels against the baseline."""
        self._est._require_discrete("const_marginal_effect_interval")
        return self.marginal_effect_interval(None, X, alpha=alpha)

    # -- means over rows -------------------------------------------------------------
    def marginal_ate_inference(self, T, X=None) -> PopulationSummaryResults:
        """Summary of ``marginal_effect(T, X)`` over X's rows, with the spread of the members' means."""
        est = self._est
        return ensemble_population_summary(self._members(est._member_marginal_effects, T, X),
                                           outcome_name=est.outcome_name_,
                                           treatment_names=self._marginal_treatment_names())

    def marginal_ate_interval(self, T, X=None, *, alpha: float = 0.05):
        """Quantiles of the members' means of ``marginal_effect(T, X)`` over X's rows."""
        alpha = check_alpha(alpha)
        return ensemble_mean_interval(self._members(self._est._member_marginal_effects, T, X), alpha)

    def const_marginal_ate_inference(self, X=None) -> PopulationSummaryResults:
        """:meth:`marginal_ate_inference` of a discrete treatment's levels against the baseline."""
        self._est._require_discrete("const_marginal_ate_inference")
        return self.marginal_ate_inference(None, X)

    def const_marginal_ate_interval(self, X=None, *, alpha: float = 0.05):
        """:meth:`marginal_ate_interval` of a discrete treatment's levels against the baseline."""
        self._est._require_discrete("const_marginal_ate_interval")
        return self.marginal_ate_interval(None, X, alpha=alpha)

    def ate_inference(self, X=None, *, T0=0, T1=1, estimand: str = "ate") -> PopulationSummaryResults:
        """Summary of ``effect(X, T0=T0, T1=T1)`` over X's rows (default: the training rows);
        the doubly robust estimate's where :meth:`doubly_robust_result` gives one."""
        est = self._est
        sign, result = self.doubly_robust_result(X, T0, T1, estimand)
        if sign:
            members = est._member_effects(X, T0, T1)
            return DoublyRobustSummary(sign * result.estimate, result.stderr, members.mean(axis=0),
                                       member_spread(members), outcome_name=est.outcome_name_,
                                       treatment_names=[est.treatment_name_])
        return ensemble_population_summary(self._members(est._member_effects, X, T0, T1),
                                           outcome_name=est.outcome_name_, treatment_names=[est.treatment_name_])

    def ate_interval(self, X=None, *, T0=0, T1=1, alpha: float = 0.05, estimand: str = "ate") -> tuple[float, float]:
        """Interval of the mean effect over X's rows: the doubly robust estimate's normal one
        where :meth:`doubly_robust_result` gives one, otherwise the quantiles of the members' means."""
        check_alpha(alpha)
        sign, result = self.doubly_robust_result(X, T0, T1, estimand)
        if sign:
            half = norm.ppf(1 - alpha / 2) * result.stderr
            return sign * result.estimate - half, sign * result.estimate + half
        lo, hi = ensemble_mean_interval(self._members(self._est._member_effects, X, T0, T1), alpha)
        return float(lo), float(hi)

    def doubly_robust_result(self, X, T0, T1, estimand: str = "ate") -> tuple[int, AteResult | None]:
        """The sign of the doubly robust contrast that (T0, T1) asks for (+1: the second level
        against the first, -1: the reverse, 0: none) and its result for ``estimand``.

        Without doubly robust inference the sign is always 0; ``estimand="overlap"`` then raises.
        """
        if estimand not in ESTIMANDS:
            raise ValueError(f"estimand={estimand!r}; expected one of {ESTIMANDS}")
        sign = self._contrast_sign(T0, T1)
        if estimand == "overlap":
            if not sign:
                raise ValueError("estimand='overlap' needs doubly robust inference (a binary T, inference 'haipw' "
                                 "or 'aipw') and T0, T1 its two levels")
            if X is not None:
                raise ValueError("estimand='overlap' is defined on the training rows, whose propensities are "
                                 "known; call it without X")
            return sign, self._est.overlap_result_
        return sign, self._doubly_robust_ate(X) if sign else None

    def _contrast_sign(self, T0, T1) -> int:
        """0: the ensemble has no doubly robust contrast."""
        return 0

    def _doubly_robust_ate(self, X) -> AteResult:
        raise NotImplementedError  # reached only where _contrast_sign is non-zero

    # -- the estimator's summary table -----------------------------------------------
    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """One-row table of the ATE of the first two levels (or of T = 1 against T = 0 for a
        continuous treatment), its interval and how they were computed."""
        est = self._est
        arms = {"T0": est.categories_[0], "T1": est.categories_[1]} if est.treatment_kind_ == "discrete" else {}
        row = self._summary_row(alpha, arms)
        if arms:  # which level is compared with which: the first of categories_ is the baseline
            row.update(arms)
        return pd.DataFrame([row], index=[f"{est.outcome_name_} ~ do({est.treatment_name_})"])

    def _summary_row(self, alpha: float, arms: dict) -> dict:
        """The mean effect over the training rows with the quantiles of the members' means."""
        est = self._est
        X_train = est._check_X(None)
        with warnings.catch_warnings():  # the "method" column says what the interval is
            warnings.simplefilter("ignore", EnsembleSpreadWarning)
            lo, hi = self.ate_interval(X_train, alpha=alpha, **arms)
        return {"ate": est.ate(X_train, **arms), "stderr": np.nan, f"ci_lower_{alpha}": lo, f"ci_upper_{alpha}": hi,
                "method": "ensemble spread"}

    # -- helpers ---------------------------------------------------------------------
    def _members(self, member_values, *args) -> np.ndarray:
        """``member_values(*args)``, the members' estimates, where their spread is an interval:
        with the CFM as the final stage (a DR-learner, a forest, a blend or the stack has none)."""
        est = self._est
        stage = est.final_stage_
        if stage != "cfm":
            chosen = f" (the one final_stage={est.final_stage!r} chose)" if est.final_stage != stage else ""
            per_row = ("effect_interval() gives its per-row confidence intervals" if stage == "causal_forest"
                       else "final_stage='causal_forest' gives per-row confidence intervals")
            raise ValueError(f"ensemble-spread intervals are not available with final_stage={stage!r}{chosen}: "
                             "its effects are not the CFM ensemble's and have no standard error of their own (as "
                             f"EconML's ensembles of CATE models have none); {per_row}, final_stage='cfm' the "
                             "ensemble's spread, "
                             "ate_interval() the doubly robust ATE")
        return member_values(*args)

    def _forest_inference(self, X, T0, T1, treatment_names: list[str]) -> NormalInferenceResults:
        """Per-row normal inference of the causal forest final stage: its effects (as the
        estimator's ``effect``) with the bootstrap-of-little-bags standard errors."""
        est = self._est
        X_arr = est._check_X(X)
        m = X_arr.shape[0]
        sign = np.sign(est._treatments.transform(T1, m, "T1") - est._treatments.transform(T0, m, "T0"))
        point, variance = est._final_stage.predict_and_var(X_arr)
        return normal_inference(sign * point.ravel(), np.abs(sign) * np.sqrt(variance.ravel()),
                                outcome_name=est.outcome_name_, treatment_names=treatment_names)

    def _marginal_treatment_names(self) -> list[str]:
        """EconML-style names of the marginal effects' columns: one per non-baseline level."""
        est = self._est
        if est.treatment_kind_ == "discrete" and len(est.categories_) > 2:
            return [f"{est.treatment_name_}_{level}" for level in est.categories_[1:]]
        return [str(est.treatment_name_)]


class DoublyRobustInference(EnsembleInference):
    """:class:`EnsembleInference` with the doubly robust ATE of a binary treatment.

    For the contrast of the two levels (T0 and T1 the levels, in either order, as scalars or
    constant arrays) the ATE's results are the AIPW or hybrid AIPW estimate with its normal
    standard error: on the training rows without X, over X's rows with X (the scored outcome
    models' mean effect over X corrected by their error on the training rows), and the
    overlap-weighted ATE with ``estimand="overlap"``. Other contrasts and the per-row results
    are :class:`EnsembleInference`'s.
    """

    def fit(self, estimator, *args, **kwargs):
        """Keep the fitted ``estimator`` to read, and start with no mean effect over rows kept."""
        self._over_rows: tuple[bytes, AteResult] | None = None  # the last X's result, for ate(X) then its interval
        return super().fit(estimator, *args, **kwargs)

    def _contrast_sign(self, T0, T1) -> int:
        """+1 where (T0, T1) is the first level then the second, -1 for the reverse, 0 otherwise.
        Arrays holding one level throughout count as that level."""
        arms = []
        for value in (T0, T1):
            values = np.ravel(np.asarray(value, dtype=object))
            if len(values) == 0 or not (values == values[0]).all():
                return 0
            arms.append(values[0])
        levels = list(self._est.categories_[:2])
        if arms == levels:
            return 1
        return -1 if arms == levels[::-1] else 0

    def _doubly_robust_ate(self, X) -> AteResult:
        """The AIPW/H-AIPW result on the training rows (X None), or over X's rows. The last X's
        result is kept: ``ate(X)`` and ``ate_interval(X)`` come in pairs, and each costs a pass
        of the model over X."""
        est = self._est
        if X is None:
            return est.ate_result()
        X_new = est._check_X(X)
        key = content_key(X_new)
        if self._over_rows is None or self._over_rows[0] != key:
            self._over_rows = (key, self._ate_over(X_new))
        return self._over_rows[1]

    def _ate_over(self, X_new: np.ndarray) -> AteResult:
        """The scored outcome models' mean effect over the checked rows ``X_new``, corrected by
        their error on the training rows (:meth:`skcfm.doubly_robust.DoublyRobust.ate_over`); uncached."""
        est = self._est

        def cfm_effect() -> np.ndarray:
            summary = est._final_stage.summary_effects(X_new)  # where it stands for the members
            if summary is not None:
                return summary
            return est._member_effects(X_new, *est.categories_[:2], cfm_only=True).mean(axis=0)

        return est._doubly_robust.ate_over(est.X_[:, : est.n_features_in_], X_new, cfm_effect,
                                           controls=bool(est._n_controls))

    def _summary_row(self, alpha: float, arms: dict) -> dict:
        """The doubly robust ATE and its interval, the hybrid weights, the share of rows at the
        propensity clip bound, the CFM's plain mean effect and the overlap-weighted ATE."""
        est = self._est
        result = est.ate_result()
        lo, hi = self.ate_interval(alpha=alpha, **arms)
        row = {"ate": result.estimate, "stderr": result.stderr, f"ci_lower_{alpha}": lo, f"ci_upper_{alpha}": hi,
               "method": est.inference_}
        if result.weights is not None:
            row.update({"weight_standard_model": result.weights[0], "weight_cfm": result.weights[1]})
        mu0, mu1 = est._doubly_robust.cfm_
        row.update({"share_at_clip_bound": clipped_share(est._doubly_robust.propensity_),
                    "cfm_mean_effect": float(np.mean(mu1 - mu0))})
        overlap = est.overlap_result_
        half = norm.ppf(1 - alpha / 2) * overlap.stderr
        row.update({"overlap_ate": overlap.estimate, "overlap_stderr": overlap.stderr,
                    f"overlap_ci_lower_{alpha}": overlap.estimate - half,
                    f"overlap_ci_upper_{alpha}": overlap.estimate + half})
        return row
