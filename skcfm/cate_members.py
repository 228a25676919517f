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
from sklearn.multioutput import MultiOutputRegressor
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ._threads import map_members
from ._validation import check_column_names, check_matrix
from .cate_inference import content_key
from .fitted_contexts import FittedContexts

DOSE_GRID_LEVELS = 11  # continuous T with controls W: quantiles of T whose effects are projected onto X


class ProjectedCurves:
    """Per-member E[Y | do(t), x, w] - E[Y | do(grid[0]), x, w] at the ``grid``'s levels,
    regressed on X: what ``effect`` reads when the estimator was fitted with controls W.

    The members condition on X and W; a regressor per member (one per level past the
    first, or one multi-output regressor for all of them) averages W out, given X. Effects
    between levels are linear interpolation along the grid, flat beyond its ends; for a
    discrete T the grid is its levels, so they are exact.
    """

    def __init__(self, grid: np.ndarray, models: list[list]):
        self.grid = grid
        self.models = models  # per member: the regressors, in the grid's order

    def curves(self, X: np.ndarray) -> np.ndarray:
        """Every member's curve at the grid for each row of X, shape (E, m, G), 0 at grid[0]."""
        curves = np.zeros((len(self.models), len(X), len(self.grid)))
        for e, regressors in enumerate(self.models):
            curves[e, :, 1:] = np.column_stack([r.predict(X).reshape(len(X), -1) for r in regressors])
        return curves

    def effects(self, X: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Per-member effects of ``t1`` against ``t0`` (one value per row each), shape (E, m)."""
        curves = self.curves(X)
        return self._at(curves, t1) - self._at(curves, t0)

    def _at(self, curves: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``curves`` (E, m, G) at row i's ``t[i]``, shape (E, m)."""
        left = np.clip(np.searchsorted(self.grid, t, side="right") - 1, 0, len(self.grid) - 2)
        width = self.grid[left + 1] - self.grid[left]
        share = np.clip((t - self.grid[left]) / width, 0.0, 1.0)
        rows = np.arange(curves.shape[1])
        return (1 - share) * curves[:, rows, left] + share * curves[:, rows, left + 1]


class MemberPredictionsMixin:
    """Per-member predictions of a fitted :class:`skcfm.CFMCateEstimator`.

    Reads what the estimator's ``fit`` sets: the expert options (``inference_config_``), the
    model and its fitted contexts (``model_``, ``_contexts``), the training
    rows (``X_``, ``T_``, ``Y_``, ``_pam``), the treatment encoding, the arm outcome columns
    and controls (``arm_outcomes_``, ``_n_controls``), the outcome transform, the final
    stage, and the cache it starts empty (``_last_means``).
    """

    def _draw_contexts(self, rows: np.ndarray, rng: np.random.Generator, X: np.ndarray | None = None, *,
                       fit_mode: str = "low_memory") -> FittedContexts:
        """Contexts drawn from the training ``rows`` of ``X`` (default ``X_``): one ensemble,
        or one per region of local contexts, with an outcome transform fitted on those rows."""
        return FittedContexts.fit(
            self.model_, self.X_ if X is None else X, self.T_, self.Y_, self._pam, config=self.inference_config_,
            discrete=self.treatment_kind_ == "discrete", n_estimators=self.n_estimators,
            context_size=self.context_size, fit_mode=fit_mode, device=self.device, rng=rng, rows=rows)

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

    def _member_means(self, X_query: np.ndarray, treatments: list[np.ndarray]) -> np.ndarray:
        """Per-member E[Y | do(t), x], shape (E, A, m), from the fitted contexts. Their last
        answer is kept (read-only), so effect(X), its interval and ate(X) on the same rows
        cost one pass."""
        key = content_key(X_query, *treatments)
        if self._last_means is not None and self._last_means[0] == key:
            return self._last_means[1]
        means = self._contexts.means(X_query, treatments).means
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
        """Per-member effects of ``t1`` against ``t0`` projected onto X, shape (E, m), from the
        curves :meth:`_fit_projections` fitted."""
        return self._projected.effects(X_arr, t0, t1)

    def _fit_projections(self) -> ProjectedCurves:
        """With controls W, the members' effects on the training rows (which condition on X
        and W) against the first level regressed on X, one clone of ``model_final`` per member
        and level of a discrete T; for a continuous T one multi-output clone per member over
        ``DOSE_GRID_LEVELS`` quantiles of T."""
        discrete = self.treatment_kind_ == "discrete"
        n = len(self.T_)
        grid = (np.arange(len(self.categories_), dtype=float) if discrete
                else np.unique(np.quantile(self.T_, np.linspace(0, 1, DOSE_GRID_LEVELS))))
        final = self._model_final
        if final is None:  # not `or`: an unfitted ensemble's len() raises
            final = RandomForestRegressor(n_estimators=100, min_samples_leaf=5, random_state=0)
        x_train = self.X_[:, : -self._n_controls]
        means = self._member_means(self.X_, [np.full(n, t) for t in grid])  # (E, G, n): every level in one pass
        effects = means[:, 1:] - means[:, :1]  # (E, G - 1, n)
        if discrete:  # one regressor per member and level
            fits = iter(map_members(lambda e: clone(final).fit(x_train, e), [e for member in effects for e in member]))
            return ProjectedCurves(grid, [[next(fits) for _ in member] for member in effects])
        if not get_tags(final).target_tags.multi_output:
            final = MultiOutputRegressor(final)
        targets = effects.transpose(0, 2, 1)  # (E, n, G - 1)
        fits = map_members(lambda y: clone(final).fit(x_train, y if y.shape[1] > 1 else y[:, 0]), targets)
        return ProjectedCurves(grid, [[fit] for fit in fits])

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
        means = self._contexts.out_of_context([0.0, 1.0])
        return None if means is None else (means[0], means[1])

    def _cfm_fold_outcomes(self, X_fold: np.ndarray, train_rows: np.ndarray, test_rows: np.ndarray,
                           rng: np.random.Generator) -> np.ndarray:
        """The CFM's outcomes under T = 0 and T = 1 for ``X_fold[test_rows]``, shape (2, m),
        from contexts drawn from ``train_rows`` only, with an outcome transform fitted on them."""
        arms = [np.zeros(len(test_rows)), np.ones(len(test_rows))]
        return self._draw_contexts(train_rows, rng, X_fold).means(X_fold[test_rows], arms).means.mean(axis=0)
