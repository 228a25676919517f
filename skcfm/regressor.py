"""``GraphConditionedCFMRegressor``: the interventional CFM as a scikit-learn regressor."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    MIN_CONTEXT_SIZE,
    check_frame,
    check_integer_parameters,
    check_magnitude,
    check_n_estimators,
    check_n_jobs,
    seed_from,
    validate_named,
)
from .arm_outcomes import add_arm_outcomes, use_arm_outcomes
from .contexts import MAX_DISCRETE_LEVELS, check_context_options
from .fitted_contexts import FittedContexts
from .inference_config import InferenceConfig
from .pam_alignment import align_pam, labelled_pam
from .pam_validation import check_outcome_row, warn_post_treatment
from .pretrained import load_model

OUTPUT_TYPES = ("mean", "median", "quantiles", "full")


class GraphConditionedCFMRegressor(RegressorMixin, BaseEstimator):
    """Predict y under do(T = t) with a pretrained causal foundation model.

    ``fit`` keeps the training rows as the model's context; ``predict(X)`` returns
    E[y | do(T = X[:, treatment]), rest of X, data] — the outcome if the treatment
    column were *set* to the given value, not merely observed at it.

    Parameters
    ----------
    treatment : int or str, default=0
        The column of X that is intervened on (index, or name for DataFrames).
    model : str, path or CausalFoundationModel, default=None
        Pretrained model; None uses the weights shipped with skcfm.
    n_estimators : int or "auto", default="auto"
        Ensemble members (context draws, covariate subsets and orders) per region; "auto"
        draws one per block of ``context_size`` rows times block of ``max_covariates``
        covariates, between 4 and 16.
    context_size : int, default=256
        Most training rows one member reads; larger data is covered by the ensemble,
        stratified by treatment level when the treatment is discrete. The default is
        measured in :class:`skcfm.CFMCateEstimator`.
    treatment_kind : {"auto", "discrete", "continuous"}, default="auto"
        "auto" treats a treatment column with at most 10 distinct values as discrete.
        A discrete treatment stratifies contexts and regions by level and allows the
        arm outcome columns and the clipping of :class:`skcfm.InferenceConfig`.
    fit_mode : {"auto", "low_memory", "fit_with_cache"}, default="auto"
        "fit_with_cache" encodes every member's context once in ``fit`` and keeps the
        model's states for it, so later predictions only run the query rows (TabPFN's
        option of the same name): faster repeated calls, at about 5 MB per member
        (``len(members_)`` members). "low_memory" encodes the contexts on every call.
        "auto" keeps them where they take at most 256 MB.
    device : str, default="cpu"
    n_jobs : int or None, default=None
        Jobs the arm outcome forests fit on (joblib; -1 uses every core); None: skcfm's
        ``n_threads`` setting (:func:`skcfm.set_config`, every core by default). The
        forests predict on one, so answers do not depend on it.
    inference_config : dict, InferenceConfig or None, default=None
        Expert options of how the members read the data and answer, the same as
        :class:`skcfm.CFMCateEstimator`'s (where they are measured): ``contexts``,
        ``arm_outcomes``, ``clip_to_observed``, ``outcome_transform`` and ``chunk_size``
        (:class:`skcfm.InferenceConfig`). A dict sets the fields it names; None keeps
        every default.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    model_ : CausalFoundationModel
    members_ : list of Member
        Every ensemble member (training rows and covariates it reads), region by region.
    neighbourhoods_ : Neighbourhoods or None
        The regions of local contexts; None when every member reads all rows.
    treatment_kind_ : {"discrete", "continuous"}
    treatment_levels_ : ndarray or None
        The treatment values seen in fit for a discrete treatment (``predict`` accepts only
        these); None for a continuous one.
    inference_config_ : InferenceConfig
        The expert options in use: ``inference_config`` resolved.
    arm_outcomes_ : ArmOutcomeCovariates or None
        The per-level outcome forests, or None where the ``arm_outcomes`` option left them
        out.
    outcome_transform_ : YeoJohnsonOutcome or None
        The fitted outcome transform, or None without one (or for fewer than 10 distinct
        outcomes).
    pam_ : DataFrame of shape (n_features_in_ + 1 + k, n_features_in_ + 1 + k)
        The partial ancestor matrix the model reads, labelled by variable, in its order
        [T, y, other columns..., the k arm outcome columns "E[y | T=level]"]
        (:func:`skcfm.pam_alignment.labelled_pam`).
    treatment_index_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names.

    See Also
    --------
    CFMCateEstimator : treatment effects with EconML's API.

    Notes
    -----
    ``ancestors`` may be a labelled DataFrame (X's column names and the outcome's name,
    ``"y"`` unless y is a named Series), a causal graph, or an array in the order X's
    columns then y. With metadata routing enabled, ``set_fit_request(ancestors=True)``
    routes it through Pipeline, cross_val_score and GridSearchCV; it describes
    variables, not rows, so it is passed whole to every fold. (scikit-learn slices a
    routed array whose length equals the number of rows, which happens only when
    n == n_features_in_ + 1; the sliced PAM is then rejected by its shape.)

    ``sklearn.utils.estimator_checks.check_estimator`` passes except for two checks,
    and only with an untrained model instance as the tests use:
    ``check_regressors_train`` (a randomly initialised model cannot reach the
    required R^2 > 0.5) and ``check_estimators_overwrite_params`` (joblib hashes a
    torch module differently from its deep copy although ``fit`` leaves the model
    unchanged; a model name or path passes). Predictions do not depend on the order
    or subset of query rows beyond float32 rounding: with the shipped weights a row's
    prediction can move by about 1e-7 with the batch it is computed in (matrix products
    of other shapes round differently), which ``check_methods_subset_invariance``'s
    tolerance does not allow.

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm import GraphConditionedCFMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = 2 * X[:, 0] + X[:, 1] + rng.normal(size=200)
    >>> reg = GraphConditionedCFMRegressor(treatment=0, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        *,
        treatment: int | str = 0,
        model=None,
        n_estimators: int | str = "auto",
        context_size: int = 256,
        treatment_kind: Literal["auto", "discrete", "continuous"] = "auto",
        fit_mode: Literal["auto", "low_memory", "fit_with_cache"] = "auto",
        device: str = "cpu",
        n_jobs: int | None = None,
        inference_config: dict | InferenceConfig | None = None,
        random_state=None,
    ) -> None:
        self.treatment = treatment
        self.model = model
        self.n_estimators = n_estimators
        self.context_size = context_size
        self.treatment_kind = treatment_kind
        self.fit_mode = fit_mode
        self.device = device
        self.n_jobs = n_jobs
        self.inference_config = inference_config
        self.random_state = random_state

    def _treatment_index(self, n_features: int) -> int:
        if isinstance(self.treatment, str):
            names = list(getattr(self, "feature_names_in_", []))
            if self.treatment not in names:
                raise ValueError(f"treatment={self.treatment!r} is not a column of X; columns are {names or 'unnamed'}")
            return names.index(self.treatment)
        if not isinstance(self.treatment, (int, np.integer)) or not -n_features <= self.treatment < n_features:
            raise ValueError(
                f"treatment={self.treatment!r}; expected a column index in [0, {n_features}) or a column name")
        return int(self.treatment) % n_features

    def fit(self, X, y, ancestors=None):
        """Keep (X, y) as context and align the partial ancestor matrix.

        Parameters
        ----------
        X : array-like of shape (n, d)
        y : array-like of shape (n,)
        ancestors : DataFrame, graph, ndarray of shape (d + 1, d + 1) or None

        Returns
        -------
        self
        """
        self._check_parameters()
        self.inference_config_ = config = InferenceConfig.resolve(self.inference_config)
        check_frame(X, "X")
        X_arr, y_arr = validate_named(self, X, y, y_numeric=True, dtype=np.float64)
        check_magnitude(X_arr, "X", X)
        check_magnitude(y_arr, "y")
        if len(X_arr) < 2:
            raise ValueError("X has 1 sample; fit needs at least two rows, with two treatment values")
        d = X_arr.shape[1]
        self.treatment_index_ = self._treatment_index(d)
        names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(d)]))
        outcome = getattr(y, "name", None) or "y"
        if isinstance(ancestors, np.ndarray):
            expected = (d + 1, d + 1)
            if ancestors.shape != expected:
                raise ValueError(
                    f"ancestors has shape {ancestors.shape}; expected {expected}: the {d} columns of X, then y "
                    "(a transformer that changes the columns before this step needs a PAM for its output)"
                )
            check_outcome_row(ancestors, names + [outcome], treatment=names[self.treatment_index_],
                              order="X's columns, then y")
            ancestors = pd.DataFrame(ancestors, index=names + [outcome], columns=names + [outcome])
        covariates = [n for i, n in enumerate(names) if i != self.treatment_index_]
        self._pam = align_pam(ancestors, covariates=covariates, treatment=names[self.treatment_index_],
                              outcome=outcome)  # the model's order [T, y, other columns...]
        warn_post_treatment(self._pam, covariates)
        self.model_ = load_model(self.model, device=self.device)
        self._covariate_index = np.array([i for i in range(d) if i != self.treatment_index_], dtype=int)
        self.X_, self.y_ = X_arr, y_arr
        treatment = X_arr[:, self.treatment_index_]
        levels = np.unique(treatment)
        self._treatment_name = names[self.treatment_index_]
        if len(levels) < 2:
            raise ValueError(f"the treatment column {self._treatment_name!r} has no variation (every row is "
                             f"{levels[0]:g}); an interventional prediction needs at least two treatment values")
        self.treatment_kind_ = self.treatment_kind
        if self.treatment_kind == "auto":
            self.treatment_kind_ = "discrete" if len(levels) <= MAX_DISCRETE_LEVELS else "continuous"
        discrete = self.treatment_kind_ == "discrete"
        self.treatment_levels_ = levels if discrete else None
        seed = seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        self._covariates = X_arr[:, self._covariate_index]
        self.arm_outcomes_ = None
        if use_arm_outcomes(config.arm_outcomes, discrete=discrete, kind=self.treatment_kind_,
                            n_covariates=self._covariates.shape[1]):
            self.arm_outcomes_, self._covariates, self._pam = add_arm_outcomes(
                self._covariates, treatment, y_arr, self._pam, seed, self.n_jobs)
        self.pam_ = labelled_pam(self._pam, self._treatment_name, outcome, covariates,
                                 None if self.arm_outcomes_ is None else levels)
        self._contexts = FittedContexts.fit(
            self.model_, self._covariates, treatment, y_arr, self._pam, config=config, discrete=discrete,
            n_estimators=self.n_estimators, context_size=self.context_size, fit_mode=self.fit_mode,
            device=self.device, rng=rng)
        self.members_ = self._contexts.plan.members
        self.neighbourhoods_ = self._contexts.plan.neighbourhoods
        self.outcome_transform_ = self._contexts.outcome_transform
        return self

    def _check_parameters(self) -> None:
        check_n_estimators(self.n_estimators)
        check_integer_parameters(self, {"context_size": MIN_CONTEXT_SIZE})
        check_context_options(self)
        check_n_jobs(self.n_jobs)

    def _query_covariates(self, X_arr: np.ndarray) -> np.ndarray:
        covariates = X_arr[:, self._covariate_index]
        return covariates if self.arm_outcomes_ is None else self.arm_outcomes_.extend(covariates)

    def _check_treatment_levels(self, values: np.ndarray) -> None:
        """A discrete treatment is predicted at the levels seen in fit only."""
        if self.treatment_levels_ is None:
            return
        unseen = ~np.isin(values, self.treatment_levels_)
        if unseen.any():
            raise ValueError(f"the treatment column {self._treatment_name!r} is {values[unseen][0]:g} in some rows, "
                             f"not one of the levels seen in fit {self.treatment_levels_.tolist()}; a continuous "
                             "treatment needs treatment_kind='continuous'")

    def predict(
        self,
        X,
        output_type: Literal["mean", "median", "quantiles", "full"] = "mean",
        quantiles=(0.1, 0.5, 0.9),
    ):
        """Predict y under do(T = X[:, treatment]).

        Parameters
        ----------
        X : array-like of shape (m, d)
        output_type : {"mean", "median", "quantiles", "full"}, default="mean"
            "quantiles" returns an array of shape (len(quantiles), m); "full" returns a
            dict with "mean", "median", "quantiles" (len(quantiles), m) in the order
            asked for, the per-member "logits" (E, m, K) and "borders" (E, m, K + 1) in
            y's units: each query row's E members (those of its region).
        quantiles : sequence of float, default=(0.1, 0.5, 0.9)

        Returns
        -------
        ndarray of shape (m,), ndarray of shape (len(quantiles), m) or dict
        """
        check_is_fitted(self, "model_")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type={output_type!r}; expected one of {OUTPUT_TYPES}")
        check_frame(X, "X")
        X_arr = validate_named(self, X, reset=False, dtype=np.float64)
        check_magnitude(X_arr, "X", X)
        requested = np.asarray(quantiles, dtype=float).ravel()
        qs = requested
        if output_type == "median":
            qs = np.array([0.5])
        elif output_type == "full":  # the median is always part of "full"
            qs = np.union1d(requested, [0.5])
        if output_type != "mean" and (qs.size == 0 or not ((qs > 0) & (qs < 1)).all()):  # NaN fails both
            raise ValueError(f"quantiles must be in (0, 1); got {quantiles!r}")
        t = self.treatment_index_
        self._check_treatment_levels(X_arr[:, t])
        predictions = self._contexts.means(self._query_covariates(X_arr), [X_arr[:, t]],
                                           quantiles=None if output_type == "mean" else qs,
                                           return_logits=output_type == "full")
        mean = predictions.means[:, 0].mean(axis=0)
        if output_type == "mean":
            return mean
        averaged = predictions.quantiles[:, 0].mean(axis=0).T  # (Q, m), quantile averaging
        if output_type == "median":
            return averaged[0]
        if output_type == "quantiles":
            return averaged
        return {
            "mean": mean,
            "median": averaged[np.searchsorted(qs, 0.5)],
            "quantiles": averaged[np.searchsorted(qs, requested)],  # in the order asked for
            "logits": predictions.logits[:, 0],
            "borders": predictions.borders,
        }
