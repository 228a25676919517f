"""EconML inference results built from the CFM's ensemble and its doubly robust ATE.

EconML's ``*_inference`` methods return result objects (``summary_frame()``, ``conf_int()``,
``pvalue()``, ``population_summary()``). :class:`skcfm.CFMCateEstimator` has two sources of
uncertainty, and three kinds of result, each mapped onto one of EconML's classes:

- the spread of the ensemble members' estimates (context draws, covariate orders) is an
  empirical distribution, like EconML's bootstrap: :class:`econml.inference.EmpiricalInferenceResults`,
  whose ``conf_int`` is the members' quantiles (so it equals ``effect_interval``). It is
  model uncertainty, not a sampling distribution: its z statistics and p-values are NaN
  (also in its population summary, :class:`EnsemblePopulationSummary`), and
  :class:`EnsembleSpreadWarning` says so;
- the causal forest final stage has per-row normal standard errors (the bootstrap of
  little bags, as in ``CausalForestDML``): :class:`econml.inference.NormalInferenceResults`;
- the doubly robust ATE has a normal standard error: a
  :class:`econml.inference.PopulationSummaryResults` whose mean is that estimate
  (:class:`DoublyRobustSummary`), not the plain mean of the per-row effects.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
from econml import _cate_estimator
from econml.inference import EmpiricalInferenceResults, NormalInferenceResults, PopulationSummaryResults

_DEFERRAL_FILE = _cate_estimator.__file__  # where EconML's _defer_to_inference wrappers run


class EnsembleSpreadWarning(UserWarning):
    """Intervals and standard errors from the CFM's ensemble are the spread of a few members:
    how much the model's answer moves with the context draw and covariate order, not a
    confidence interval. They leave the model's own error out, and per-row ones covered the
    true effects far less often than their nominal level (``benchmarks/studies/row_interval_coverage.py``);
    ``final_stage="causal_forest"`` gives per-row confidence intervals, and ``ate_interval()``
    a doubly robust ATE interval for a binary treatment."""


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside skcfm and
    EconML's deferral of the estimator's methods to its inference (``econml._cate_estimator``)."""
    package = str(Path(__file__).parent) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith(package)
                                 or frame.f_code.co_filename == _DEFERRAL_FILE):
        frame, level = frame.f_back, level + 1
    return level


def _names(outcome_name, treatment_names) -> dict:
    return {"output_names": [str(outcome_name)], "treatment_names": [str(t) for t in treatment_names]}


def _d_t(values: np.ndarray) -> int | None:
    """EconML's treatment dimension of per-row results: None for one effect per row."""
    return None if values.ndim == 1 else values.shape[1]


def member_spread(member_values: np.ndarray) -> np.ndarray:
    """The members' sample standard deviation along the first axis (ddof=1; 0 for one
    member). Ensembles are small (4-16 members), where ddof=0 would shrink the spread by
    sqrt((E - 1) / E), 0.87 at 4."""
    return member_values.std(axis=0, ddof=1 if len(member_values) > 1 else 0)


class EnsembleInferenceResults(EmpiricalInferenceResults):
    """EconML's empirical results over ensemble members, with ``stderr`` their sample
    standard deviation (:func:`member_spread`) as in the population summaries; EconML's
    bootstrap, with its hundreds of resamples, uses ddof=0."""

    @property
    def stderr(self):
        return member_spread(self.pred_dist)

    def zstat(self, value=0):
        """NaN: the members' spread is not a sampling distribution, so there is no test."""
        return np.full(np.shape(self.point_estimate), np.nan)

    def pvalue(self, value=0):
        """NaN, as :meth:`zstat`."""
        return np.full(np.shape(self.point_estimate), np.nan)

    def population_summary(self, alpha=0.05, value=0, decimals=3, tol=0.001, output_names=None,
                           treatment_names=None):
        """The summary over the rows, as the estimator's ``const_marginal_ate_inference``: the
        mean's standard error is the spread of the members' means (EconML's would treat the
        rows' spreads as independent)."""
        return EnsemblePopulationSummary.of_members(
            self.pred_dist, alpha=alpha, value=value, decimals=decimals, tol=tol,
            output_names=self.output_names if output_names is None else output_names,
            treatment_names=self.treatment_names if treatment_names is None else treatment_names)


_ATE_ALTERNATIVE = "For a binary treatment, ate_interval() and ate_inference() give the doubly robust ones."


def _warn_spread(what: str, n_members: int, alternative: str) -> None:
    warnings.warn(
        f"{what} from the CFM's ensemble are the spread of {n_members} members: they leave the model's own error out "
        f"and cover the truth far less often than their nominal level, so zstat and pvalue are NaN. {alternative}",
        EnsembleSpreadWarning, stacklevel=_user_stacklevel())


class EnsemblePopulationSummary(PopulationSummaryResults):
    """EconML's population summary of the members' estimates; its z statistic and p-value are
    NaN, as :class:`EnsembleInferenceResults`' (the spread of the members' means is no
    sampling distribution)."""

    @classmethod
    def of_members(cls, member_values: np.ndarray, **options) -> EnsemblePopulationSummary:
        """The summary of the members' estimates (E, m) or (E, m, d_t) over the rows: their
        mean per row, its spread, and the spread of the members' means as the mean's
        standard error; ``options`` go to :class:`~econml.inference.PopulationSummaryResults`."""
        return cls(pred=member_values.mean(axis=0), pred_stderr=member_spread(member_values),
                   mean_pred_stderr=member_spread(member_values.mean(axis=1)), d_t=_d_t(member_values[0]), d_y=1,
                   **options)

    def zstat(self, value=0):
        """NaN: the spread of the members' means is not a standard error, so there is no test."""
        return np.full(np.shape(self.mean_point), np.nan)

    def pvalue(self, value=0):
        """NaN, as :meth:`zstat`."""
        return np.full(np.shape(self.mean_point), np.nan)


def ensemble_inference(member_values: np.ndarray, *, outcome_name, treatment_names,
                       feature_names=None) -> EmpiricalInferenceResults:
    """Per-row results from the members' estimates, shape (E, m) or (E, m, d_t): the point
    is their mean, the interval their quantiles, the stderr their spread; warns with
    :class:`EnsembleSpreadWarning`."""
    _warn_spread("per-row intervals", len(member_values),
                 "For per-row confidence intervals use final_stage='causal_forest'; for the ATE, ate_interval().")
    return EnsembleInferenceResults(
        d_t=_d_t(member_values[0]), d_y=1, pred=member_values.mean(axis=0), pred_dist=member_values,
        inf_type="effect", feature_names=feature_names, **_names(outcome_name, treatment_names),
    )


def normal_inference(point: np.ndarray, stderr: np.ndarray, *, outcome_name, treatment_names,
                     feature_names=None) -> NormalInferenceResults:
    """Per-row normal results, shape (m,): a point and a standard error for each row."""
    return NormalInferenceResults(d_t=None, d_y=1, pred=point, pred_stderr=stderr, mean_pred_stderr=None,
                                  inf_type="effect", feature_names=feature_names,
                                  **_names(outcome_name, treatment_names))


def ensemble_population_summary(member_values: np.ndarray, *, outcome_name,
                                treatment_names) -> EnsemblePopulationSummary:
    """Summary over the rows of the members' estimates (E, m) or (E, m, d_t): the mean's
    standard error is the spread of the members' means (model uncertainty, not a
    frequentist standard error: no z statistic or p-value); warns with
    :class:`EnsembleSpreadWarning`."""
    _warn_spread("ATE intervals", len(member_values), _ATE_ALTERNATIVE)
    return EnsemblePopulationSummary.of_members(member_values, **_names(outcome_name, treatment_names))


def ensemble_mean_interval(member_values: np.ndarray, alpha: float) -> tuple:
    """Quantiles of the members' means over the rows, from their estimates (E, m) or
    (E, m, d_t); warns with :class:`EnsembleSpreadWarning`, as the population summary."""
    _warn_spread("ATE intervals", len(member_values), _ATE_ALTERNATIVE)
    lo, hi = np.quantile(member_values.mean(axis=1), [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi


class DoublyRobustSummary(PopulationSummaryResults):
    """A population summary whose mean is a doubly robust estimate with its standard error.

    ``pred`` (the per-row effects) and ``pred_stderr`` (their ensemble spread) describe the
    distribution of the point estimates, as in EconML; ``mean_point``, ``stderr_mean``,
    ``zstat``, ``pvalue`` and ``conf_int_mean`` are the (hybrid) AIPW estimate's.
    """

    def __init__(self, estimate: float, stderr: float, pred: np.ndarray, pred_stderr: np.ndarray, *,
                 outcome_name, treatment_names, alpha: float = 0.05) -> None:
        super().__init__(pred=pred, pred_stderr=pred_stderr, mean_pred_stderr=stderr, d_t=None, d_y=1, alpha=alpha,
                         **_names(outcome_name, treatment_names))
        self.estimate = estimate

    @property
    def mean_point(self) -> float:
        """The doubly robust ATE (not the mean of ``pred``)."""
        return self.estimate
