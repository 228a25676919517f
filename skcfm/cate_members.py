"""The ensemble members' predictions that :class:`skcfm.CFMCateEstimator` builds on.

Every answer of the estimator (effects, their intervals, the cross-fitted outcomes of the
doubly robust ATE) starts from the members' E[Y | do(T = t), x]: each member reads its
context of training rows and the query rows in one forward pass of the model
(:func:`skcfm.contexts.predict_with_plan`). :class:`MemberPredictionsMixin` holds that layer:
checking query rows, the members' means and effects, with controls W their projections
onto X, and the marginal effects; the estimator keeps its public methods and the
inference (:mod:`skcfm.cate_inference`) reads these.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.utils.validation import check_is_fitted

from ._validation import check_column_names, check_matrix
from .cate_inference import content_key
from .contexts import ContextPlan, plan_contexts, predict_out_of_context, predict_with_plan
from .outcome_transform import fit_outcome_transform


class MemberProjections(list):
    """One fitted regressor per ensemble member; ``predict`` stacks theirs, shape (E, m)."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Every member's regressor's predictions for X, shape (E, m)."""
        return np.stack([regressor.predict(X) for regressor in self])


class MemberPredictionsMixin:
    """Per-member predictions of a fitted :class:`skcfm.CFMCateEstimator`.

    Reads what the estimator's ``fit`` sets: the expert options (``inference_config_``), the
    model and its context plan (``model_``, ``_context_plan``, ``_encodings``), the training
    rows (``X_``, ``T_``, ``Y_``, ``_pam``), the treatment encoding, the arm outcome columns
    and controls (``arm_outcomes_``, ``_n_controls``), the outcome transform, the final
    stage, and the caches it starts empty (``_projections``, ``_last_means``).
    """

    def _plan(self, rows: np.ndarray, rng: np.random.Generator, X: np.ndarray | None = None) -> ContextPlan:
        """Ensembles reading the training ``rows`` of ``X`` (default ``X_``): one, or one per
        region of local contexts."""
        return plan_contexts(
            self.X_ if X is None else X, self.T_, self.Y_, self._pam, rows=rows,
            discrete=self.treatment_kind_ == "discrete", contexts=self.inference_config_.contexts,
            n_estimators=self.n_estimators, context_size=self.context_size,
            max_covariates=self.model_.config.max_covariates, rng=rng,
        )

    def _check_X(self, X) -> np.ndarray:
        """X as a checked array with the columns ``fit`` saw; None: the training rows' X."""
        check_is_fitted(self, "model_")
        if X is None:
            return self.X_[:, : self.n_features_in_]
        check_column_names(X, getattr(self, "_frame_columns", None), "X")
        X_arr = check_matrix(X, "X")
        if X_arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X_arr.shape[1]} columns; the estimator was fitted with {self.n_features_in_}")
        return X_arr

    def _model_X(self, X_arr: np.ndarray) -> np.ndarray:
        """Checked query rows as the model reads them: with ``arm_outcomes``, plus the arm
        forests' predictions (training rows in the context hold out-of-bag ones instead)."""
        if self.arm_outcomes_ is None or self._n_controls:  # with W, queries only reach the projections
            return X_arr
        return self.arm_outcomes_.extend(X_arr)

    def _member_means(
        self, X_query: np.ndarray, treatments: list[np.ndarray], plan: ContextPlan | None = None,
        rows: np.ndarray | None = None, X: np.ndarray | None = None, outcome_transform=False,
    ) -> np.ndarray:
        """Per-member E[Y | do(t), x], shape (E, A, m), from a ``plan`` drawn from training
        ``rows`` of ``X`` (default: the fitted plan, all rows of ``X_``). With local contexts
        each query is answered by its region's ensemble. The ``clip_to_observed`` option
        clips to the per-arm outcome ranges of those rows, or of the region's rows.
        ``outcome_transform`` overrides the fitted one (False: keep it). The fitted plan's
        last answer is kept (read-only), so effect(X), its interval and ate(X) on the same
        rows cost one pass."""
        config = self.inference_config_
        fitted_plan = plan is None and rows is None and X is None and outcome_transform is False
        key = None
        if fitted_plan:
            key = content_key(X_query, *treatments) + bytes([bool(config.clip_to_observed)])
            if self._last_means is not None and self._last_means[0] == key:
                return self._last_means[1]
        means = predict_with_plan(
            self.model_, self.X_ if X is None else X, self.T_, self.Y_, self._pam,
            self._context_plan if plan is None else plan, X_query, treatments, rows=rows,
            clip=config.clip_to_observed and self.treatment_kind_ == "discrete", chunk_size=config.chunk_size,
            device=self.device, encodings=self._encodings if plan is None else None,
            outcome_transform=self.outcome_transform_ if outcome_transform is False else outcome_transform,
        ).means
        if fitted_plan:
            means.flags.writeable = False
            self._last_means = (key, means)
        return means

    def _member_effects(self, X, T0, T1, *, cfm_only: bool = False) -> np.ndarray:
        """Per-member effects, shape (E, m); with controls, projected onto X. ``cfm_only``
        skips the DR-learner final stage."""
        X_arr = self._check_X(X)
        m = X_arr.shape[0]
        t0, t1 = self._treatments.transform(T0, m, "T0"), self._treatments.transform(T1, m, "T1")
        if self.final_stage_ != "cfm" and not cfm_only:
            effects = np.sign(t1 - t0) * self._final_stage.effects(X_arr)  # level 1 against 0, or reversed, or none
            weight = self._final_stage.cfm_weight_
            if weight == 0:
                return effects[None]
            return weight * self._member_effects(X, T0, T1, cfm_only=True) + effects
        if self._n_controls:
            return self._projected_effects(X_arr, t0, t1)
        means = self._member_means(self._model_X(X_arr), [t0, t1])
        return means[:, 1] - means[:, 0]

    @property
    def _n_arm_columns(self) -> int:
        return 0 if self.arm_outcomes_ is None else len(self.arm_outcomes_.levels_)

    def _user_covariates(self) -> np.ndarray:
        """The training rows' X and W without the arm outcome columns. The propensity and the
        standard outcome model read these: the arm columns are for the CFM's members, and
        in a cross-fitted nuisance they would carry held-out rows' outcomes into the fit."""
        return self.X_[:, : self.X_.shape[1] - self._n_arm_columns]

    def _nuisances(self, with_standard: bool):
        """The cross-fitted propensity, standard outcome model (None without the hybrid or
        unless ``with_standard``) and CFM outcomes, fitted in ``fit``."""
        robust = self._doubly_robust
        return robust.propensity_, robust.standard_ if with_standard else None, robust.cfm_

    def _projected_effects(self, X_arr: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Per-member effects of ``t1`` against ``t0`` projected onto X, shape (E, m). For a
        discrete T the projections of each level against the baseline are fitted in ``fit``:
        the reverse pair is their negation (a forest on negated targets), and a pair of two
        other levels the difference of theirs."""
        if np.ptp(t0) > 0 or np.ptp(t1) > 0:
            raise ValueError("with controls W, T0 and T1 must be scalars: effects are projected onto X per pair")
        a, b = float(t0[0]), float(t1[0])
        if self.treatment_kind_ != "discrete":
            return self._projection(a, b).predict(X_arr)
        effects = np.zeros((len(self._context_plan.ensembles[0]), len(X_arr)))
        if b != a:
            if b != 0:
                effects += self._projection(0.0, b).predict(X_arr)
            if a != 0:
                effects -= self._projection(0.0, a).predict(X_arr)
        return effects

    def _projection(self, t0: float, t1: float):
        """The members' effects of ``t1`` against ``t0`` on the training rows (which condition
        on X and W) regressed on X, one clone of ``model_final`` per member, cached."""
        key = (t0, t1)
        if key not in self._projections:
            n = len(self.T_)
            means = self._member_means(self.X_, [np.full(n, key[0]), np.full(n, key[1])])
            effects = means[:, 1] - means[:, 0]  # (E, n), conditioned on X and W
            x_train = self.X_[:, : -self._n_controls]
            final = self._model_final
            if final is None:  # not `or`: an unfitted ensemble's len() raises
                final = RandomForestRegressor(n_estimators=100, min_samples_leaf=5, random_state=0)
            self._projections[key] = MemberProjections([clone(final).fit(x_train, e) for e in effects])
        return self._projections[key]

    def _member_marginal_effects(self, T, X) -> np.ndarray:
        """Per-member :meth:`marginal_effect`, shape (E, m), or (E, m, n_levels - 1) for a
        multi-valued treatment (T is ignored for a discrete one)."""
        check_is_fitted(self, "model_")
        if self.treatment_kind_ == "discrete":
            base = self.categories_[0]
            effects = np.stack([self._member_effects(X, base, level) for level in self.categories_[1:]], axis=-1)
            return effects[..., 0] if effects.shape[-1] == 1 else effects
        X_arr = self._check_X(X)
        t = self._treatments.transform(T, X_arr.shape[0], "T")
        step = 0.05 * float(np.std(self.T_))
        return self._member_effects(X_arr, t - step, t + step) / (2 * step)

    def _out_of_context_outcomes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The CFM's cross-fitted outcomes under T = 0 and T = 1 for each training row from the
        fitted plan's members that leave the row out of their context
        (:func:`~skcfm.contexts.predict_out_of_context`); None where the plan cannot (fewer
        than two contexts' worth of rows per region, one member) or with ``groups``, which
        cross-fitting keeps within one fold."""
        if self._groups is not None:
            return None
        means = predict_out_of_context(
            self.model_, self.X_, self.T_, self.Y_, self._pam, self._context_plan, [0.0, 1.0],
            clip=self.inference_config_.clip_to_observed, chunk_size=self.inference_config_.chunk_size,
            device=self.device, encodings=self._encodings, outcome_transform=self.outcome_transform_)
        return None if means is None else (means[0], means[1])

    def _cfm_fold_outcomes(self, X_fold: np.ndarray, train_rows: np.ndarray, test_rows: np.ndarray,
                           rng: np.random.Generator) -> np.ndarray:
        """The CFM's outcomes under T = 0 and T = 1 for ``X_fold[test_rows]``, shape (2, m),
        from contexts drawn from ``train_rows`` only, with an outcome transform fitted on them."""
        plan = self._plan(train_rows, rng, X_fold)
        arms = [np.zeros(len(test_rows)), np.ones(len(test_rows))]
        transform = fit_outcome_transform(self.inference_config_.outcome_transform, self.Y_[train_rows])
        return self._member_means(X_fold[test_rows], arms, plan, train_rows, X_fold, transform).mean(axis=0)
