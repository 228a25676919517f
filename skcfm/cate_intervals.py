"""The ``*_interval`` and ``*_inference`` methods and ``summary`` of :class:`skcfm.CFMCateEstimator`.

As in EconML's estimators, each of these methods defers to the
:class:`~econml.inference.Inference` that ``fit`` chose with its ``inference`` argument
(:mod:`skcfm.cate_inference`): the method states the signature and defaults, EconML's
``BaseCateEstimator._defer_to_inference`` binds the call to them and the inference answers.
EconML's ``BaseCateEstimator`` declares the effect and marginal ones with the same
signatures; they are restated so that their docstrings say what an interval means here
(the ensemble's spread, or a confidence interval). The ATE ones add ``T0=0, T1=1`` and
``estimand``; the ``const_marginal`` ones are EconML's ``LinearCateEstimator``'s, whose
effects linear in T the CFM does not assume.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from econml._cate_estimator import BaseCateEstimator
from econml.inference import EmpiricalInferenceResults, NormalInferenceResults, PopulationSummaryResults
from sklearn.utils.validation import check_is_fitted

from .cate_inference import DoublyRobustInference, EnsembleInference


class CateIntervalsMixin:
    """The deferred interval, inference and summary methods of :class:`skcfm.CFMCateEstimator`.

    Reads ``_inference``, the :class:`~econml.inference.Inference` fitted in ``fit``.
    """

    def _get_inference_options(self) -> dict:
        """EconML hook: the :class:`~econml.inference.Inference` of each ``inference_``."""
        return {"ensemble": EnsembleInference, "haipw": DoublyRobustInference, "aipw": DoublyRobustInference}

    def _use_inference_method(self, name: str, *args, **kwargs):
        """EconML hook behind every deferred method: ``name`` of the inference fitted in ``fit``."""
        check_is_fitted(self, "model_")
        return getattr(self._inference, name)(*args, **kwargs)

    @BaseCateEstimator._defer_to_inference
    def ate_interval(self, X=None, *, T0=0, T1=1, alpha: float = 0.05, estimand: str = "ate") -> tuple[float, float]:
        """Interval for the ATE.

        With doubly robust inference, normal intervals. Without X for the population ATE,
        valid whatever the CFM's quality when the propensity model is right. With X for the
        average of the conditional effect over X's rows (see :meth:`ate`), which also
        needs the CFM's row-by-row error to average out over X's rows as over the training
        rows: it leaves that spread out, so coverage falls with a CFM that is wrong row by
        row and few rows in X. Otherwise the ensemble spread of the mean effect (quantiles of the
        members' means), with an :class:`~skcfm.econml_results.EnsembleSpreadWarning`.
        ``estimand="overlap"``: the interval of the overlap-weighted ATE (see :meth:`ate`).
        """

    @BaseCateEstimator._defer_to_inference
    def ate_inference(self, X=None, *, T0=0, T1=1, estimand: str = "ate") -> PopulationSummaryResults:
        """EconML's population summary of the effects over X (default: the training rows).

        With doubly robust inference (binary T, its two levels as T0 and T1) its mean, standard error,
        z statistic, p-value and ``conf_int_mean`` are those of :meth:`ate` and
        :meth:`ate_interval`; otherwise the mean effect with the spread of the members'
        means as its standard error (a normal interval, where :meth:`ate_interval` takes
        the members' quantiles; the z statistic and p-value are NaN, see
        :class:`~skcfm.econml_results.EnsemblePopulationSummary`). The distribution of the
        point estimates is the per-row effects with their ensemble spread (none for a single
        final-stage model). ``estimand="overlap"``: the overlap-weighted ATE's (see :meth:`ate`).
        """

    @BaseCateEstimator._defer_to_inference
    def effect_interval(self, X=None, *, T0=0, T1=1, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Interval of each row's effect: with ``final_stage="causal_forest"`` the forest's
        normal confidence interval, with ``"cfm"`` the ensemble spread (see
        :meth:`effect_inference`).

        Returns
        -------
        lower, upper : ndarrays of shape (m,)
        """

    @BaseCateEstimator._defer_to_inference
    def effect_inference(self, X=None, *, T0=0, T1=1) -> EmpiricalInferenceResults | NormalInferenceResults:
        """EconML's per-row inference for :meth:`effect`.

        With ``final_stage="causal_forest"`` the forest's normal inference (standard errors
        from the bootstrap of little bags, as EconML's ``CausalForestDML``): confidence
        intervals, z statistics and p-values. With ``"cfm"`` the ensemble members' effects as
        an empirical distribution, like EconML's bootstrap (``conf_int`` gives the members'
        quantiles, ``stderr`` their spread): how much the model's answer moves with the
        context draw, not a confidence interval, so ``zstat`` and ``pvalue`` are NaN and an
        :class:`~skcfm.econml_results.EnsembleSpreadWarning` is raised. Other final stages
        raise a ``ValueError``.
        """

    @BaseCateEstimator._defer_to_inference
    def marginal_effect_inference(self, T, X=None) -> EmpiricalInferenceResults | NormalInferenceResults:
        """:meth:`effect_inference` for :meth:`marginal_effect`."""

    @BaseCateEstimator._defer_to_inference
    def marginal_effect_interval(self, T, X=None, *, alpha: float = 0.05):
        """Interval of :meth:`marginal_effect`, as :meth:`effect_interval`."""

    @BaseCateEstimator._defer_to_inference
    def marginal_ate_inference(self, T, X=None) -> PopulationSummaryResults:
        """EconML's population summary of :meth:`marginal_effect` over X; the mean's standard
        error is the spread of the members' means (as :meth:`const_marginal_ate_inference`)."""

    @BaseCateEstimator._defer_to_inference
    def marginal_ate_interval(self, T, X=None, *, alpha: float = 0.05):
        """Ensemble-spread interval of :meth:`marginal_ate` (quantiles of the members' means;
        an :class:`~skcfm.econml_results.EnsembleSpreadWarning` says so)."""

    @BaseCateEstimator._defer_to_inference
    def const_marginal_effect_inference(self, X=None) -> EmpiricalInferenceResults | NormalInferenceResults:
        """:meth:`effect_inference` for :meth:`const_marginal_effect` (discrete T)."""

    @BaseCateEstimator._defer_to_inference
    def const_marginal_effect_interval(self, X=None, *, alpha: float = 0.05):
        """Interval of :meth:`const_marginal_effect` (discrete T), as :meth:`effect_interval`."""

    @BaseCateEstimator._defer_to_inference
    def const_marginal_ate_inference(self, X=None) -> PopulationSummaryResults:
        """EconML's population summary of :meth:`const_marginal_effect` over X (discrete T).

        The standard errors are the spread of the ensemble members (the same posterior
        spread as :meth:`effect_interval`), not a frequentist standard error; for a
        calibrated ATE interval use :meth:`ate_interval` without X. EconML's
        interpreters call this with ``include_model_uncertainty=True``.
        """

    @BaseCateEstimator._defer_to_inference
    def const_marginal_ate_interval(self, X=None, *, alpha: float = 0.05):
        """Ensemble-spread interval of :meth:`const_marginal_ate` (discrete T)."""

    @BaseCateEstimator._defer_to_inference
    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """One-row table: ATE, its standard error and interval, how they were computed.

        With doubly robust inference also the hybrid weights, the share of training rows
        whose propensity sits at the clip bound, and the CFM's plain mean effect over the
        training rows (its cross-fitted outcomes, no correction). Where over half the rows
        sit at the bound, the CFM's plain mean effect over test rows was the better ATE on
        LaLonde PSID and CPS (``benchmarks/studies/overlap_ate.py``) and the intervals undercovered.
        For a discrete T, columns ``T0`` and ``T1`` name the levels compared (the first two
        of ``categories_``: T1 against the baseline T0). The ``overlap_*`` columns are the
        overlap-weighted ATE (``ate(estimand="overlap")``), the estimand to report where
        many rows sit at the clip bound.
        """
