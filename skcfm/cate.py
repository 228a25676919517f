"""``CFMCateEstimator``: conditional average treatment effects from a causal foundation model."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from econml._cate_estimator import BaseCateEstimator
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._fit_arguments import resolve_fit_arguments
from ._validation import (
    MIN_CONTEXT_SIZE,
    check_integer_parameters,
    check_learner,
    check_n_estimators,
    check_n_jobs,
    seed_from,
)
from .arm_outcomes import add_arm_outcomes, use_arm_outcomes
from .cate_dose_response import DoseResponseMixin, ExtrapolationWarning
from .cate_doubly_robust import DoublyRobustMixin
from .cate_inputs import FitData, check_fit_data, frame_feature_names, refuse_weights, variable_names
from .cate_intervals import CateIntervalsMixin
from .cate_members import MemberPredictionsMixin
from .contexts import check_context_options
from .doubly_robust import DOUBLY_ROBUST_METHODS, DoublyRobust
from .final_stage_models import FinalStage
from .inference_config import InferenceConfig
from .pam_alignment import align_pam, labelled_pam
from .pam_validation import warn_post_treatment
from .pretrained import load_model
from .treatments import TreatmentEncoding

__all__ = ["CFMCateEstimator", "ExtrapolationWarning"]

INFERENCE_OPTIONS = ("auto", "haipw", "aipw", "ensemble")
FINAL_STAGES = ("cfm", "cfm_summary", "dr", "causal_forest", "blend_dr", "blend_tl", "stack", "auto")


class CFMCateEstimator(MemberPredictionsMixin, DoublyRobustMixin, DoseResponseMixin, CateIntervalsMixin,
                       BaseCateEstimator, BaseEstimator):
    """CATE estimator backed by a pretrained graph-conditioned causal foundation model.

    The model reads the training data in context and predicts E[Y | do(T = t), x] for
    new rows; no model is trained on the user's data. Partial causal knowledge enters
    through ``ancestors`` (a partial ancestor matrix or a causal graph). What each option
    does, when to change it and the measurements behind the defaults are in the user
    guide's CFMCateEstimator page.

    Parameters
    ----------
    model : str, path or CausalFoundationModel, default=None
        Pretrained model; None uses the weights shipped with skcfm.
    n_estimators : int or "auto", default="auto"
        Ensemble members (context draws, covariate subsets and orders), averaged. "auto"
        draws one member per block of ``context_size`` rows times block of the model's
        ``max_covariates`` covariates in each region, between 4 and 16.
    context_size : int, default=256
        Most training rows one member reads; larger data is covered by the ensemble,
        stratified by treatment so that rare arms are represented.
    treatment_kind : {"auto", "discrete", "continuous"}, default="auto"
        "auto" treats T with at most 10 distinct values as discrete.
    categories : "auto" or list, default="auto"
        The levels of a discrete treatment, in order: the first is the baseline (control)
        that ``const_marginal_effect``, ``summary`` and the doubly robust ATE compare the
        others with, as in EconML. "auto": the sorted distinct values of T.
    cv : int, default=5
        Folds for the cross-fitted propensity and outcome models of the doubly robust ATE
        and the final stages. The CFM's own cross-fitted outcomes need no folds where each
        region holds two contexts' worth of rows: its members come in pairs over the two
        halves and answer each row from the member that leaves it out. On smaller data, or
        with ``groups``, they are cross-fitted on these folds too.
    model_propensity : classifier or None, default=None
        Unfitted sklearn classifier with ``predict_proba`` for the cross-fitted propensity
        P(T = 1 | X) of the doubly robust ATE, its interval and the DR final stage; cloned
        per fold. None: a logistic regression (see
        :func:`skcfm.nuisances.crossfit_propensity`).
    model_final : regressor or None, default=None
        With controls W, ``effect(X)`` regresses the per-row effects (which condition
        on X and W) on X with a clone of this model (default: random forest); with
        ``final_stage="dr"`` it is the DR-learner's final regressor (EconML's name).
    final_stage : {"auto", "cfm", "cfm_summary", "dr", "causal_forest", "blend_dr", "blend_tl", "stack"}, default="auto"
        What answers ``effect``. "cfm": the model's predictions; per-row intervals are the
        ensemble's spread, not confidence intervals. "cfm_summary": a histogram gradient
        boosting regressor of the CFM's cross-fitted effects on X. "dr": a DR-learner on
        the CFM's cross-fitted nuisances. "causal_forest": the R-learner as a generalised
        random forest (``CausalForestDML``'s), the only one besides "cfm" with per-row
        intervals (confidence intervals). "blend_dr" / "blend_tl": the mean of the CFM's
        effects and the DR-learner's / a T-learner's. "stack": a convex combination of
        the CFM's, the causal forest's and the DR-learner's effects, weighted to minimise
        the out-of-sample DR-loss on the training rows. "auto": for a binary T
        "stack", or "blend_tl" where more than half of the rows have a propensity at the
        clip bound (:mod:`skcfm.final_stages`); for other treatments "cfm". All but "cfm"
        need a binary T.
    fit_mode : {"auto", "low_memory", "fit_with_cache"}, default="auto"
        "fit_with_cache" encodes every member's context once in ``fit`` and keeps the
        model's states for it, so later predictions only run the query rows (TabPFN's
        option of the same name), at about 5 MB per member. "low_memory" encodes the
        contexts on every call. "auto" keeps them where they take at most 256 MB (up to
        about 50 members: data of a few thousand rows).
    device : str, default="cpu"
    n_jobs : int or None, default=None
        Jobs the forests skcfm fits (arm outcomes, final stages) fit on (joblib; -1 uses
        every core); None: skcfm's ``n_threads`` setting (:func:`skcfm.set_config`, every
        core by default). They predict on one, so answers do not depend on it.
    inference_config : dict, InferenceConfig or None, default=None
        Expert options of how the members read the data and answer
        (:class:`skcfm.InferenceConfig`): ``contexts`` (local regions or draws from all
        rows), ``arm_outcomes`` (per-arm forest predictions among the covariates),
        ``clip_to_observed`` (each arm kept within its data), ``outcome_transform`` (for
        skewed outcomes) and ``chunk_size`` (query rows per forward pass). A dict sets the
        fields it names; None keeps every default.
    random_state : int, RandomState instance or None, default=None
    final_model : regressor, optional
        The former name of ``model_final``; still read, with a ``FutureWarning``.

    Attributes
    ----------
    model_ : CausalFoundationModel
    pam_ : DataFrame of shape (d + 2 + k, d + 2 + k)
        The partial ancestor matrix the model reads, labelled by variable, in its order
        [T, Y, X..., W..., the k arm outcome columns "E[Y | T=level]"] (k = 0 without
        arm outcome columns; the number of levels with them; :func:`skcfm.pam_alignment.labelled_pam`).
    inference_config_ : InferenceConfig
        The expert options in use: ``inference_config`` resolved.
    arm_outcomes_ : ArmOutcomeCovariates or None
        The per-arm outcome forests, or None where the ``arm_outcomes`` option left them
        out.
    outcome_transform_ : YeoJohnsonOutcome or None
        The fitted outcome transform, or None without one (or for fewer than 10 distinct
        outcomes).
    categories_ : ndarray or None
        Treatment levels for a discrete treatment (the first is the baseline).
    treatment_kind_ : {"discrete", "continuous"}
    inference_ : {"haipw", "aipw", "ensemble"}
    final_stage_ : {"cfm", "cfm_summary", "dr", "causal_forest", "blend_dr", "blend_tl", "stack"}
        The final stage in use: ``final_stage``, or the one "auto" chose.
    final_stage_choice_ : FinalStageChoice or None
        With ``final_stage="auto"`` or ``"stack"``: the stack's weights, every candidate's
        DR-loss, each one's paired z statistic against the CFM and the share of rows at
        the propensity clip bound.
    neighbourhoods_ : Neighbourhoods or None
        The regions of local contexts (None for global contexts or small data).
    members_ : list of Member
        Every ensemble member (of every region), for inspection.
    n_features_in_ : int
    feature_names_in_ : list
        X's column names, only when X is a DataFrame with string column names.

    See Also
    --------
    GraphConditionedCFMRegressor : the same model as a scikit-learn regressor.

    Notes
    -----
    For a binary treatment ``ate_interval()`` is doubly robust (the hybrid AIPW by
    default, or AIPW with the CFM as outcome model), valid when the propensity model is
    right even if the CFM is wrong. ``effect_interval`` under the "cfm" final stage and,
    with ``inference="ensemble"``, ``ate_interval`` are ensemble-spread intervals
    (quantiles of the members' estimates): a description of the model's uncertainty, not
    frequentist confidence intervals. The user guide's Intervals section says which
    interval answers which question.

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm import CFMCateEstimator, unconfoundedness_pam
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> T = (rng.random(300) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    >>> Y = X[:, 0] + 2 * T + rng.normal(size=300)
    >>> pam = unconfoundedness_pam(["x0", "x1", "x2"], treatment="T", outcome="Y")
    >>> est = CFMCateEstimator(random_state=0).fit(X, T, Y, ancestors=pam)
    >>> est.effect(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        *,
        model=None,
        n_estimators: int | str = "auto",
        context_size: int = 256,
        treatment_kind: Literal["auto", "discrete", "continuous"] = "auto",
        categories: str | list = "auto",
        cv: int = 5,
        model_propensity=None,
        model_final=None,
        final_stage: Literal["auto", "cfm", "cfm_summary", "dr", "causal_forest", "blend_dr", "blend_tl",
                             "stack"] = "auto",
        fit_mode: Literal["auto", "low_memory", "fit_with_cache"] = "auto",
        device: str = "cpu",
        n_jobs: int | None = None,
        inference_config: dict | InferenceConfig | None = None,
        random_state=None,
        final_model="deprecated",
    ) -> None:
        self.model = model
        self.n_estimators = n_estimators
        self.context_size = context_size
        self.treatment_kind = treatment_kind
        self.categories = categories
        self.cv = cv
        self.model_propensity = model_propensity
        self.model_final = model_final
        self.final_stage = final_stage
        self.fit_mode = fit_mode
        self.device = device
        self.n_jobs = n_jobs
        self.inference_config = inference_config
        self.random_state = random_state
        self.final_model = final_model

    # -- fitting ---------------------------------------------------------------------
    def _check_parameters(self):
        """Raise for an invalid parameter; return the final regressor to use: ``model_final``,
        or the deprecated ``final_model`` where it is set (with a ``FutureWarning``)."""
        check_n_estimators(self.n_estimators)
        check_integer_parameters(self, {"context_size": MIN_CONTEXT_SIZE, "cv": 2})
        check_context_options(self)
        if self.final_stage not in FINAL_STAGES:
            raise ValueError(f"final_stage={self.final_stage!r}; expected one of {FINAL_STAGES}")
        check_n_jobs(self.n_jobs)
        model_final = self.model_final
        if not (isinstance(self.final_model, str) and self.final_model == "deprecated"):
            warnings.warn("final_model was renamed model_final, EconML's name for it; final_model will be removed",
                          FutureWarning, stacklevel=3)
            model_final = self.final_model
        name = "model_final" if model_final is self.model_final else "final_model"
        check_learner(model_final, name, kind="regressor", method="predict")
        check_learner(self.model_propensity, "model_propensity", kind="classifier", method="predict_proba")
        return model_final

    def fit(self, *args, X=None, T=None, Y=None, W=None, ancestors=None, inference: str | None = "auto",
            groups=None, sample_weight=None, freq_weight=None, sample_var=None):
        """Keep the data as the model's context, align the PAM and fit what predictions read.

        Trains no network. For a binary treatment with doubly robust inference it also
        fits the cross-fitted nuisances (propensity, outcome models and the CFM's
        out-of-fold predictions), the doubly robust ATE and the final stage, so that
        ``effect``, ``ate`` and their intervals only predict.

        Both the model card's call ``fit(X, T, Y, ancestors=pam)`` and EconML's
        ``fit(Y, T, X=X, W=W)`` work: with X by keyword the positional arguments are
        EconML's (Y, T); three positional arguments are told apart by shape (the 2-d one
        is X), so ``fit(Y, T, X)`` works too.

        Parameters
        ----------
        *args : array-likes
            X, T, Y in this order, or EconML's Y, T (, X); see above.
        X : array-like of shape (n, d_x)
            Covariates (effect modifiers).
        T : array-like of shape (n,)
            Treatment: binary, multi-valued or continuous.
        Y : array-like of shape (n,)
            Outcome.
        W : array-like of shape (n, d_w), optional
            Controls: conditioned on by the model, not effect modifiers.
        ancestors : DataFrame, graph, ndarray or None, default=None
            Partial ancestor matrix (1 known ancestor, -1 known non-ancestor, 0 unknown):
            a DataFrame labelled by variable names (X's and W's columns, T's and Y's
            names — "T" and "Y" for unnamed arrays), a causal graph accepted by
            :func:`skcfm.ancestor_matrix`, or an array in the order X's columns, W's
            columns, T, Y. None: nothing known.
        inference : {"auto", "haipw", "aipw", "ensemble"} or None, default="auto"
            How ``ate_interval()`` is computed; "auto" is "haipw" for a binary
            treatment and "ensemble" otherwise. The ``*_interval`` and ``*_inference``
            methods defer to EconML's :class:`~econml.inference.Inference` for it, as
            EconML's estimators do (:mod:`skcfm.cate_inference`).
        groups : array-like of shape (n,), optional
            Group labels (e.g. repeated measures of one unit): cross-fitting keeps each
            group within one fold (``StratifiedGroupKFold``), as EconML's ``groups``.
        sample_weight, freq_weight, sample_var : None
            Not supported: the model reads the rows in context as they are and has no
            notion of a row's weight. Refused with an error rather than ignored.

        Returns
        -------
        self
        """
        refuse_weights(sample_weight=sample_weight, freq_weight=freq_weight, sample_var=sample_var)
        X, T, Y = resolve_fit_arguments(args, X, T, Y)
        self._model_final = self._check_parameters()
        self.inference_config_ = InferenceConfig.resolve(self.inference_config)
        inference = "auto" if inference is None else inference
        if inference not in INFERENCE_OPTIONS:
            raise ValueError(f"inference={inference!r}; expected one of {INFERENCE_OPTIONS}")
        data = check_fit_data(X, T, Y, W, groups)
        self._groups = data.groups
        T_arr, stage = self._fit_treatment(data.T, inference)
        n_covariates = data.X.shape[1] + (0 if data.W is None else data.W.shape[1])
        arms = use_arm_outcomes(self.inference_config_.arm_outcomes, discrete=self.treatment_kind_ == "discrete",
                                kind=self.treatment_kind_, n_covariates=n_covariates)
        self._set_names(X, T, Y, data)
        self._pam = align_pam(  # the model's order [T, Y, X..., W...]
            ancestors, covariates=data.covariates, treatment=self.treatment_name_, outcome=self.outcome_name_
        )
        warn_post_treatment(self._pam, data.covariates)
        self.model_ = load_model(self.model, device=self.device)
        self._seed = seed_from(self.random_state)
        self._fit_contexts(data, T_arr, arms)
        self._fit_what_predictions_read(stage)
        self._inference = self._get_inference(self.inference_)  # what the *_interval, *_inference methods defer to
        self._inference.fit(self)
        return self

    def _fit_treatment(self, T_raw: np.ndarray, inference: str) -> tuple[np.ndarray, str]:
        """Encode T (``treatment_kind_``, ``categories_``) and settle ``inference_``; return the
        encoded T and the final stage to fit. Doubly robust inference and every final stage
        but the CFM need a binary T; "auto" weighs alternatives for a binary T only."""
        self._treatments = TreatmentEncoding(self.treatment_kind, self.categories)
        T_arr = self._treatments.fit_transform(T_raw)
        self.treatment_kind_, self.categories_ = self._treatments.kind_, self._treatments.categories_
        binary = self._treatments.binary
        kind = "is continuous" if self.categories_ is None else f"has {len(self.categories_)} levels"
        if inference in ("haipw", "aipw") and not binary:
            raise ValueError(f"inference={inference!r} needs a binary treatment; T {kind}")
        if inference == "auto":
            inference = "haipw" if binary else "ensemble"
        self.inference_ = inference
        if self.final_stage not in ("cfm", "auto") and not binary:
            raise ValueError(f"final_stage={self.final_stage!r} needs a binary treatment; T {kind}")
        return T_arr, self.final_stage if binary else "cfm"

    def _set_names(self, X, T, Y, data: FitData) -> None:
        """The names the inputs are known by: EconML's input names, scikit-learn's
        ``feature_names_in_`` (string column names of a DataFrame only; a refit on an array
        forgets the last frame's) and ``n_features_in_``, the columns later frames are
        checked against, and the names of T and Y in the PAM."""
        self._set_input_names(Y, T, X)
        self._d_t, self._d_y = (), ()
        self._frame_columns = data.x_names if isinstance(X, pd.DataFrame) else None
        names = frame_feature_names(X, data.x_names)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = data.X.shape[1]
        self.treatment_name_, self.outcome_name_ = variable_names(T, Y, data.covariates)

    def _fit_contexts(self, data: FitData, T_arr: np.ndarray, arms: bool) -> None:
        """The rows the members read and their contexts: X and W (with the arm outcome columns
        where ``arms``) and the fitted contexts (``_contexts``: the plan, the outcome
        transform and, as ``fit_mode`` says, the encoded contexts)."""
        rng = np.random.default_rng(self._seed)
        self.X_ = data.X if data.W is None else np.hstack([data.X, data.W])
        self._n_controls = 0 if data.W is None else data.W.shape[1]
        self.arm_outcomes_ = None
        if arms:
            self.arm_outcomes_, self.X_, self._pam = add_arm_outcomes(self.X_, T_arr, data.Y, self._pam, self._seed,
                                                                     self.n_jobs)
            if self._n_controls:  # with W the added columns are controls too: effects are projected onto X
                self._n_controls += self._n_arm_columns
        self.T_, self.Y_ = T_arr, data.Y
        self.pam_ = labelled_pam(self._pam, self.treatment_name_, self.outcome_name_, data.covariates,
                                 None if self.arm_outcomes_ is None else self.categories_)
        self._contexts = self._draw_contexts(np.arange(len(T_arr)), rng, fit_mode=self.fit_mode)
        self.outcome_transform_ = self._contexts.outcome_transform
        self.neighbourhoods_ = self._contexts.plan.neighbourhoods
        self.members_ = self._contexts.plan.members
        self._last_means: tuple[bytes, np.ndarray] | None = None  # the fitted plan's last answer

    def _fit_what_predictions_read(self, stage: str) -> None:
        """Fit now everything ``effect``, ``ate`` and their intervals read, so that they
        only predict: with doubly robust inference or a final stage other than the CFM the
        cross-fitted nuisances and the doubly robust ATE (:class:`DoublyRobust`); the
        final stage (:class:`FinalStage`); with controls W, the projections of the members'
        effects onto X (:meth:`_fit_projections`). ``stage`` is the final stage to fit
        ("auto" only for a binary treatment)."""
        robust = self.inference_ in DOUBLY_ROBUST_METHODS
        self._doubly_robust = None
        if robust or stage != "cfm":
            self._doubly_robust = DoublyRobust(self.inference_ if robust else None, cv=self.cv,
                                               model_propensity=self.model_propensity, random_state=self._seed)
            self._doubly_robust.fit(self._user_covariates(), self.T_, self.Y_, self._cfm_fold_outcomes,
                                    cfm_outcomes=self._out_of_context_outcomes(),
                                    arm_columns=self.arm_outcomes_ is not None, groups=self._groups,
                                    n_jobs=self.n_jobs)
        self.overlap_result_ = self._doubly_robust.overlap_ if robust else None
        summarise = self.inference_config_.summarises_cfm(self._contexts.beyond_cache)
        self._final_stage = FinalStage(stage, final_model=self._model_final, random_state=self._seed,
                                       n_jobs=self.n_jobs, summarise_cfm=summarise)
        self._final_stage.fit(self.X_[:, : self.n_features_in_], self.T_, self.Y_, self._doubly_robust,
                              groups=self._groups)
        self.final_stage_, self.final_stage_choice_ = self._final_stage.name_, self._final_stage.choice_
        self._projected = self._fit_projections() if self._n_controls else None

    def _gen_allowed_missing_vars(self) -> list[str]:
        """EconML hook naming the inputs that may hold NaN: none (the model needs finite values)."""
        return []

    # -- prediction ------------------------------------------------------------------
    def effect(self, X=None, *, T0=0, T1=1) -> np.ndarray:
        """Heterogeneous effect E[Y | do(T1), x] - E[Y | do(T0), x] per row.

        Parameters
        ----------
        X : array-like of shape (m, d_x), optional
            Rows to evaluate; None uses the training rows.
        T0, T1 : scalar or array-like of shape (m,), default=0 and 1
            Treatment values (levels for a discrete treatment). For a continuous
            treatment the effect is non-linear in T: any pair of values is allowed.

        Returns
        -------
        ndarray of shape (m,)
        """
        return self._member_effects(X, T0, T1).mean(axis=0)

    def const_marginal_effect(self, X=None) -> np.ndarray:
        """Effect of each non-baseline level versus the baseline (discrete T only).

        Returns
        -------
        ndarray of shape (m,) for a binary treatment, (m, n_levels - 1) otherwise.
        """
        check_is_fitted(self, "model_")
        if self.treatment_kind_ != "discrete":
            raise ValueError(
                "const_marginal_effect needs a discrete treatment; use effect(X, T0=, T1=) or marginal_effect")
        return self._member_marginal_effects(None, X).mean(axis=0)

    def const_marginal_ate(self, X=None):
        """Mean of :meth:`const_marginal_effect` over the rows of X (discrete T)."""
        return self.const_marginal_effect(X).mean(axis=0)

    def shap_values(self, X, *, feature_names=None, treatment_names=None, output_names=None,
                    background_samples: int | None = 100):
        """SHAP values of :meth:`const_marginal_effect`, as EconML's estimators give them.

        Model-agnostic (EconML's ``_shap_explain_cme``): the explainer evaluates the
        effects on many perturbed rows, each a pass of the model's members, so it is slow
        with ``final_stage="cfm"`` on more than a few rows; ``final_stage="cfm_summary"``
        answers in microseconds per row. Needs ``shap`` (an EconML dependency).

        Returns
        -------
        dict
            Nested by outcome and treatment name, of ``shap.Explanation`` objects.
        """
        from econml._shap import _shap_explain_cme

        self._require_discrete("shap_values")
        return _shap_explain_cme(self.const_marginal_effect, self._check_X(X), self._d_t, self._d_y,
                                 feature_names=feature_names, treatment_names=treatment_names,
                                 output_names=output_names, input_names=self._input_names,
                                 background_samples=background_samples)

    def marginal_effect(self, T, X=None) -> np.ndarray:
        """dE[Y | do(t), x]/dt at t = T (central difference); discrete T: the level effects."""
        return self._member_marginal_effects(T, X).mean(axis=0)

    # -- ATE ------------------------------------------------------------------------
    def ate(self, X=None, *, T0=0, T1=1, estimand: str = "ate") -> float:
        """Average effect.

        With doubly robust inference ("haipw"/"aipw", binary T; T0 and T1 its two levels,
        in either order, as scalars or constant arrays): without X the AIPW/H-AIPW
        estimate on the training rows; with X the mean effect over X of
        the outcome models the scores weigh (the CFM for "aipw"; for "haipw" the standard
        model and the CFM with the hybrid weights, the CFM alone when there are controls W),
        corrected by their error on the training rows as the scores measure it (a linear
        regression of the residual scores on X, at X's mean; a constant with fewer than 10
        training rows per covariate), negated for the levels in reverse. Otherwise the mean
        of ``effect(X)``.

        ``estimand="overlap"`` (doubly robust inference, without X) is the overlap-weighted
        ATE over the training rows (:func:`~skcfm.aipw.overlap_weighted_ate`): the
        average effect among units that could have been in either arm, identified and with
        a valid interval even where most propensities sit at the clip bound, when the
        whole-population ATE rests on extrapolation.
        """
        check_is_fitted(self, "model_")
        sign, result = self._inference.doubly_robust_result(X, T0, T1, estimand)
        if sign:
            return sign * result.estimate
        return float(self.effect(X, T0=T0, T1=T1).mean())

    def _require_discrete(self, method: str) -> None:
        check_is_fitted(self, "model_")
        if self.treatment_kind_ != "discrete":
            raise ValueError(f"{method} needs a discrete treatment; use the marginal_effect methods for a "
                             "continuous one")

    @property
    def dowhy(self):
        """A :class:`skcfm.dowhy.CFMDoWhyWrapper` for DoWhy's graph and refuters.

        EconML's wrapper would name the method after this module, which DoWhy cannot load.
        """
        from .dowhy_wrapper import CFMDoWhyWrapper  # DoWhy is imported only when asked for

        return CFMDoWhyWrapper(self)
