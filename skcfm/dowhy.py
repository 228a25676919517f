"""DoWhy estimation method: the causal foundation model behind ``CausalModel.estimate_effect``.

DoWhy resolves ``method_name="backdoor.skcfm.dowhy.CFMCateEstimator"`` by importing
``skcfm.dowhy`` and taking ``CFMCateEstimator``, which must be a DoWhy ``CausalEstimator``;
:func:`dowhy_method_name` returns that string. The class here subclasses DoWhy's EconML
wrapper, so effect modifiers and refuters work as for EconML's estimators, and wraps
:class:`skcfm.CFMCateEstimator` built from ``method_params["init_params"]``. The estimate's
``value`` is the wrapped estimator's ``ate()`` (doubly robust for a binary treatment), its
confidence interval ``ate_interval()``, and ``cate_estimates`` the per-row effects.

This module needs DoWhy: ``pip install skcfm[dowhy]``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._optional import import_optional

import_optional("dowhy", extra="dowhy", purpose="skcfm.dowhy")

from dowhy.causal_estimator import CausalEstimate  # noqa: E402
from dowhy.causal_estimators.econml import Econml  # noqa: E402
from dowhy.utils.api import parse_state  # noqa: E402

from .dowhy_pam import estimand_pam, graph_pam, source_columns  # noqa: E402
from .dowhy_wrapper import CFMDoWhyWrapper  # noqa: E402
from .graphs import as_digraph  # noqa: E402

__all__ = ["CFMCateEstimator", "CFMDoWhyWrapper", "dowhy_method_name"]

# keyword arguments of skcfm.CFMCateEstimator.fit that fit_params may set; the data and
# ``ancestors`` come from DoWhy and the graph
_FIT_PARAMS = ("inference",)
# what DoWhy passes besides the estimand: CausalEstimator's options, the method's
# fit_params (they reach ``fit``) and the "<package>_estimator" entry it adds itself
_DOWHY_KWARGS = frozenset(
    name for name in inspect.signature(Econml.__init__).parameters
    if name not in ("self", "identified_estimand", "econml_estimator", "kwargs")
) | {"fit_params", "skcfm_estimator"}


def dowhy_method_name() -> str:
    """The ``method_name`` that selects skcfm in ``CausalModel.estimate_effect``.

    Returns
    -------
    str

    Examples
    --------
    >>> from skcfm.dowhy import dowhy_method_name
    >>> dowhy_method_name()
    'backdoor.skcfm.dowhy.CFMCateEstimator'
    """
    return f"backdoor.{CFMCateEstimator.__module__}.{CFMCateEstimator.__qualname__}"


class CFMCateEstimator(Econml):
    """DoWhy estimator that fits :class:`skcfm.CFMCateEstimator` with the graph's PAM.

    DoWhy builds it from ``method_name=dowhy_method_name()``; ``method_params`` holds
    ``graph`` (the causal graph, usually the ``CausalModel`` itself), ``init_params``
    (parameters of :class:`skcfm.CFMCateEstimator`) and ``fit_params`` (keywords of its
    ``fit`` other than the data and ``ancestors``). Each ``fit`` builds the partial
    ancestor matrix (PAM) from the graph by column name, so a refuter that adds a column or
    swaps the treatment gets a matching PAM.

    DoWhy hands an estimator the identified estimand and the data, not the graph, so the
    graph comes in ``method_params``. Without it the PAM holds only what the identified
    estimand implies (see Notes), and a ``UserWarning`` says so.

    Parameters
    ----------
    identified_estimand : dowhy.causal_identifier.IdentifiedEstimand
        A backdoor (or general adjustment) estimand with one treatment and one outcome.
    init_params : dict, default=None
        Parameters of :class:`skcfm.CFMCateEstimator` (e.g. ``model``, ``n_estimators``,
        ``random_state``).
    graph : dowhy.CausalModel, networkx.DiGraph, DOT or GML string, default=None
        The causal graph the PAM is read from. None: only the estimand's implications.
    **kwargs
        DoWhy's ``CausalEstimator`` options (``confidence_intervals``,
        ``confidence_level``, ...), and ``fit_params``, which DoWhy passes to ``fit``.

    Attributes
    ----------
    graph : networkx.DiGraph or None
        The causal graph the PAM is read from at every fit.
    estimator : skcfm.CFMCateEstimator
        The wrapped estimator; after ``fit`` its ``pam_`` is the graph's PAM in the
        model's order.

    Notes
    -----
    With a graph, the PAM is ``ancestor_matrix(graph, unknown="covariates")`` over the
    columns the estimator gets: known paths are 1, absent paths to or from the treatment
    or the outcome are -1, and covariate pairs without a path are 0. A covariate that is
    not in the graph (a refuter's random common cause) is unknown, and so is a treatment
    or outcome that is not in it (the placebo treatment, a dummy outcome): the model is
    not told the answer to a refutation. One-hot columns DoWhy makes from a categorical
    variable inherit its relations.

    Without a graph, the PAM holds what identification established for the identified
    treatment and outcome: a directed path from treatment to outcome (1, and -1 back) and,
    for a backdoor estimand, that no variable of the identified adjustment set descends from
    the treatment or the outcome (-1). Everything else is unknown.

    Without effect modifiers the common causes are the model's covariates ``X``. With
    effect modifiers they are ``X`` and the other common causes are controls ``W``.

    The estimate's ``value`` is the wrapped estimator's :meth:`~skcfm.CFMCateEstimator.ate`
    with ``T0=control_value`` and ``T1=treatment_value``: the doubly robust (hybrid) AIPW
    estimate for a binary treatment, the mean of the per-row effects otherwise. With
    ``target_units="att"``, ``"atc"``, a row filter or new rows it is ``ate(X)`` over
    those rows. ``get_confidence_intervals()`` is :meth:`~skcfm.CFMCateEstimator.ate_interval`
    at DoWhy's confidence level, ``get_standard_error()`` and ``test_stat_significance()``
    come from :meth:`~skcfm.CFMCateEstimator.ate_inference` where it gives them (doubly
    robust inference; otherwise DoWhy's bootstrap), and ``cate_estimates`` holds the
    per-row effects, one column per treatment value.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dowhy import CausalModel
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300)
    >>> t = (rng.random(300) < 1 / (1 + np.exp(-x))).astype(int)
    >>> df = pd.DataFrame({"x": x, "t": t, "y": x + 2 * t + rng.normal(size=300)})
    >>> model = CausalModel(df, treatment="t", outcome="y",
    ...                     graph="digraph {x -> t; x -> y; t -> y}")
    >>> estimand = model.identify_effect()
    >>> estimate = model.estimate_effect(  # doctest: +SKIP
    ...     estimand, method_name="backdoor.skcfm.dowhy.CFMCateEstimator",
    ...     method_params={"graph": model, "init_params": {"random_state": 0}})
    >>> estimate.value == estimate.estimator.estimator.ate()  # doctest: +SKIP
    True
    >>> lower, upper = estimate.get_confidence_intervals()  # doctest: +SKIP
    >>> refutation = model.refute_estimate(  # doctest: +SKIP
    ...     estimand, estimate, method_name="placebo_treatment_refuter", num_simulations=20)
    """

    def __init__(self, identified_estimand, *, init_params: Mapping | None = None, graph: Any = None,
                 **kwargs) -> None:
        unknown = sorted(set(kwargs) - _DOWHY_KWARGS)
        if unknown:
            raise ValueError(
                f"method_params has unknown keys {unknown}; expected 'init_params', 'fit_params', 'graph' "
                f"or DoWhy's estimator options {sorted(_DOWHY_KWARGS - {'fit_params', 'skcfm_estimator'})}"
            )
        if graph is None:
            warnings.warn(
                "no causal graph in method_params: the model knows only what the identified estimand implies; "
                "pass method_params={'graph': model} (the CausalModel, a networkx DiGraph, DOT or GML) "
                "to give it the graph's edges",
                UserWarning, stacklevel=3,
            )
        self.graph = None if graph is None else as_digraph(graph)
        # what identification established, for the variables it was established for: refuters
        # refit deep copies with a changed estimand, whose new variables stay unknown
        self._identified = _identified_relations(identified_estimand)
        super().__init__(identified_estimand, econml_estimator=_make_estimator(init_params), **kwargs)

    def fit(self, data: pd.DataFrame, effect_modifier_names: list | None = None, **kwargs):
        """Fit the wrapped estimator on ``data`` with the PAM built from the graph.

        Parameters
        ----------
        data : pandas.DataFrame
            Holds the treatment, the outcome, the adjustment set and the effect modifiers.
        effect_modifier_names : list of str, default=None
        **kwargs
            ``method_params["fit_params"]``: keywords of ``skcfm.CFMCateEstimator.fit``
            (``inference``).

        Returns
        -------
        self
        """
        estimand = self._target_estimand
        method = estimand.identifier_method or ""
        if not (method.startswith("backdoor") or method == "general_adjustment"):
            raise ValueError(
                f"skcfm estimates effects identified by adjustment; got the {method!r} estimand: "
                f"use method_name={dowhy_method_name()!r}"
            )
        if len(estimand.treatment_variable) != 1 or len(estimand.outcome_variable) != 1:
            raise ValueError(
                f"skcfm estimates the effect of one treatment on one outcome; got treatments "
                f"{estimand.treatment_variable} and outcomes {estimand.outcome_variable}"
            )
        unknown = sorted(set(kwargs) - set(_FIT_PARAMS))
        if unknown:
            raise ValueError(
                f"method_params['fit_params'] has unknown keys {unknown}; expected some of {list(_FIT_PARAMS)} "
                "(the data come from DoWhy and ancestors from the graph)"
            )
        # DoWhy's variable lists come from sets; the data's column order makes fits reproducible
        if effect_modifier_names is not None:
            effect_modifier_names = _in_data_order(effect_modifier_names, data.columns)
        self.reset_encoders()
        self._set_effect_modifiers(data, effect_modifier_names)
        self._fit_params = self._econml_fit_params = kwargs  # refuters refit with _fit_params
        self._observed_common_causes_names = _in_data_order(estimand.get_adjustment_set() or [], data.columns)
        self._observed_common_causes = (
            self._encode(data[self._observed_common_causes_names], "observed_common_causes")
            if self._observed_common_causes_names else None
        )
        self.symbolic_estimator = self.construct_symbolic_estimator(estimand)

        X = self._effect_modifiers if self._effect_modifier_names else None
        W = self._observed_common_causes
        if X is not None and W is not None:
            W = W.drop(columns=[c for c in W.columns if c in X.columns])
            W = W if W.shape[1] else None
        if X is None:  # no effect modifiers: condition on the common causes, average over rows
            X, W = W, None
        if X is None:
            raise ValueError(
                "skcfm needs at least one covariate; the estimand has no adjustment set and no effect modifiers"
            )
        treatment, outcome = estimand.treatment_variable[0], estimand.outcome_variable[0]
        covariates = list(X.columns) + ([] if W is None else list(W.columns))
        sources = source_columns(covariates, data.columns)
        if self.graph is None:
            pam = estimand_pam(self._identified, treatment=treatment, outcome=outcome, covariates=covariates,
                                sources=sources)
        else:
            pam = graph_pam(self.graph, treatment=treatment, outcome=outcome, covariates=covariates,
                             sources=sources)
        self._X = X  # the rows "att", "atc" and row filters select from
        # keywords: the wrapped fit tells EconML's order (Y, T, X) from the model card's (X, T, Y) by name;
        # T and Y as Series named like the PAM's labels, which fit aligns by name
        self.estimator.fit(X=X, T=data[treatment], Y=data[outcome], W=W, ancestors=pam, **kwargs)
        return self

    def estimate_effect(self, data: pd.DataFrame, treatment_value: Any = 1, control_value: Any = 0,
                        target_units=None, **_) -> CausalEstimate:
        """Estimate the average effect with the wrapped estimator's ``ate()``.

        Parameters
        ----------
        data : pandas.DataFrame
            The data the estimator was fitted on (DoWhy passes them again).
        treatment_value : scalar or list, default=1
            Treatment level(s) compared with ``control_value``; one estimate per level.
        control_value : scalar, default=0
        target_units : {"ate", "att", "atc"}, callable, DataFrame or None, default=None
            The rows to average over: all fitted rows ("ate", None), the treated or the
            controls, the rows a filter on ``data`` keeps, or new rows holding the
            covariates' columns.

        Returns
        -------
        dowhy.causal_estimator.CausalEstimate
            ``value``: ``ate(X, T0=control_value, T1=treatment_value)`` (X None for all
            fitted rows, so it is the doubly robust ATE of a binary treatment);
            ``cate_estimates``: the per-row effects, of shape (n_rows, n_treatment_values),
            computed when first read.
        """
        self._target_units = target_units
        self._control_value = control_value
        self._treatment_value = parse_state(treatment_value)
        self._ate_rows = self._target_rows(data, target_units)
        est = self.estimator
        value = np.array([est.ate(self._ate_rows, T0=control_value, T1=level) for level in self._treatment_value])
        self.effect_intervals = None  # the estimate's interval is the ATE's (get_confidence_intervals)
        estimate = _CFMCausalEstimate(
            data=data,
            treatment_name=self._target_estimand.treatment_variable,
            outcome_name=self._target_estimand.outcome_variable,
            estimate=value[0] if len(value) == 1 else value,
            control_value=control_value,
            treatment_value=treatment_value,
            target_estimand=self._target_estimand,
            realized_estimand_expr=self.symbolic_estimator,
            effect_intervals=None,
            _estimator_object=est,
        )
        estimate._per_row = (est, self._ate_rows, control_value, self._treatment_value)
        estimate.add_estimator(self)
        return estimate

    def _target_rows(self, data: pd.DataFrame, target_units):
        """The wrapped estimator's covariate rows to average over; None for all fitted rows."""
        if target_units is None or (isinstance(target_units, str) and target_units == "ate"):
            return None
        if isinstance(target_units, pd.DataFrame):
            if self._effect_modifier_names:
                rows = self._encode(target_units[self._effect_modifier_names], "effect_modifiers")
            else:
                rows = self._encode(target_units[self._observed_common_causes_names], "observed_common_causes")
            return rows[list(self._X.columns)]
        treatment = data[self._target_estimand.treatment_variable[0]]
        if isinstance(target_units, str) and target_units in ("att", "atc"):
            keep = (treatment != self._control_value) if target_units == "att" else (treatment == self._control_value)
        elif callable(target_units):
            keep = data.where(target_units).notnull().iloc[:, 0]  # DoWhy's reading of a row filter
        else:
            raise ValueError(
                f"target_units must be 'ate', 'att', 'atc', a callable or a DataFrame; got {target_units!r}"
            )
        return self._X[np.asarray(keep, dtype=bool)]

    def _estimate_confidence_intervals(self, confidence_level=None, method=None, **kwargs):
        """``ate_interval`` at ``confidence_level``: shape (2,), or (n_treatment_values, 2)."""
        level = self.confidence_level if confidence_level is None else confidence_level
        intervals = np.array([
            self.estimator.ate_interval(self._ate_rows, T0=self._control_value, T1=value, alpha=1 - level)
            for value in self._treatment_value
        ])
        return intervals[0] if len(intervals) == 1 else intervals

    def _ate_inference(self, what: str) -> np.ndarray:
        """Standard errors or p-values of the ATE per treatment value, from ``ate_inference``;
        DoWhy's bootstrap takes over where they are not defined (NaN: ensemble inference)."""
        values = []
        for value in self._treatment_value:
            summary = self.estimator.ate_inference(self._ate_rows, T0=self._control_value, T1=value)
            values.append(float(np.ravel(summary.stderr_mean if what == "stderr" else summary.pvalue())[0]))
        values = np.array(values)
        if not np.isfinite(values).all():
            raise NotImplementedError("the ATE has no analytic inference here; DoWhy's bootstrap is used")
        return values

    def _estimate_std_error(self, method=None, **kwargs):
        """Standard error of ``value`` from ``ate_inference``."""
        stderr = self._ate_inference("stderr")
        return stderr[0] if len(stderr) == 1 else stderr

    def _test_significance(self, estimate_value, method=None, **kwargs):
        """p-value of ``value`` against no effect, from ``ate_inference``."""
        pvalue = self._ate_inference("pvalue")
        return {"p_value": pvalue[0] if len(pvalue) == 1 else pvalue}


class _CFMCausalEstimate(CausalEstimate):
    """DoWhy's estimate whose ``cate_estimates`` (the per-row effects) are computed when first
    read: a pass of the model over the rows that refuters, which read only ``value``, skip."""

    _per_row = None

    @property
    def cate_estimates(self) -> np.ndarray:
        """Per-row effects, of shape (n_rows, n_treatment_values)."""
        if "_cate_estimates" not in self.__dict__:
            est, rows, control, levels = self._per_row
            self._cate_estimates = np.stack([est.effect(rows, T0=control, T1=level) for level in levels], axis=1)
        return self._cate_estimates

    @cate_estimates.setter
    def cate_estimates(self, value) -> None:
        self._cate_estimates = value


def _make_estimator(init_params: Mapping | None):
    """The unfitted ``skcfm.CFMCateEstimator`` with ``init_params``, after checking their names."""
    # imported here: DoWhy's CausalModel imports this module by name, and skcfm.cate needs none of it
    from .cate import CFMCateEstimator as CateEstimator

    init_params = {} if init_params is None else init_params
    if not isinstance(init_params, Mapping):
        raise TypeError(
            f"method_params['init_params'] must be a dict of skcfm.CFMCateEstimator parameters; "
            f"got {type(init_params).__name__}"
        )
    valid = CateEstimator().get_params(deep=False)
    unknown = sorted(set(init_params) - set(valid))
    if unknown:
        raise ValueError(
            f"method_params['init_params'] has unknown keys {unknown}; skcfm.CFMCateEstimator takes {sorted(valid)}"
        )
    return CateEstimator(**init_params)


def _identified_relations(estimand) -> dict:
    """Treatment, outcome and the adjustment set the estimand was identified for, and
    whether identification found a directed path and a backdoor set."""
    treatment, outcome = parse_state(estimand.treatment_variable), parse_state(estimand.outcome_variable)
    backdoor = (estimand.identifier_method or "backdoor").startswith("backdoor")
    return {
        "treatment": treatment[0] if len(treatment) == 1 else None,
        "outcome": outcome[0] if len(outcome) == 1 else None,
        "path": not estimand.no_directed_path,
        "not_descendants": frozenset(estimand.get_backdoor_variables() or []) if backdoor else frozenset(),
    }


def _in_data_order(names: list, columns) -> list:
    position = {name: i for i, name in enumerate(columns)}
    return sorted(names, key=lambda name: position.get(name, len(position)))
