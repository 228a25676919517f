"""The doubly robust ATE of a binary treatment from the CFM's cross-fitted nuisances.

:class:`DoublyRobust` cross-fits the nuisances (a propensity, for the hybrid AIPW a
standard outcome model, and the CFM's outcomes, no row predicted from a context holding
it) and computes from them, once, the AIPW or hybrid AIPW estimate, the overlap-weighted
ATE and the per-row scores that the DR-learner and the ``ate(X)`` correction read. The
estimator supplies the CFM's out-of-context outcomes where its fitted contexts give them,
and its fold predictions as a callable for the folds otherwise, so this module knows
nothing of contexts or plans.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import clone

from ._config import progress_bar
from ._threads import native_threads_limited
from .aipw import AteResult, aipw_ate, aipw_scores, hybrid_aipw_ate, hybrid_aipw_scores, overlap_weighted_ate
from .arm_outcomes import ArmOutcomeCovariates
from .debiased_effect import debiased_mean_effect
from .default_models import default_outcome_model, default_propensity_model
from .nuisances import PROPENSITY_CLIP, crossfit_folds, crossfit_outcome, crossfit_propensity

DOUBLY_ROBUST_METHODS = ("haipw", "aipw")
ROWS_PER_CORRECTION_TERM = 10  # ate(X): the CFM's error is corrected linearly in X from this many rows per term

FoldOutcomes = Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


class DoublyRobust:
    """Cross-fitted nuisances of a binary treatment and the doubly robust ATE built on them.

    Parameters
    ----------
    method : {"haipw", "aipw"} or None, default="haipw"
        "haipw": the hybrid AIPW, which also cross-fits a standard outcome model (a ridge
        regression per arm) and weighs its scores and the CFM's to minimise the variance;
        "aipw": the CFM as the only outcome model; None: the nuisances and the AIPW
        scores only (for a final stage), no ATE.
    cv : int, default=5
        Cross-fitting folds, shared by every nuisance.
    model_propensity : classifier or None, default=None
        Unfitted classifier for the propensity, cloned per fold; None: a logistic regression.
    random_state : int, default=0
        Seeds the folds and the nuisance models; the CFM's contexts draw from
        ``random_state + 1``.

    Attributes
    ----------
    propensity_ : ndarray of shape (n,)
        Cross-fitted P(T = 1 | covariates), clipped.
    unclipped_propensity_ : ndarray of shape (n,)
        The same before clipping: the overlap-weighted ATE's weights are
        ``e (1 - e)`` of these.
    standard_ : tuple of two ndarrays of shape (n,) or None
        Cross-fitted standard outcome model under T = 0 and T = 1 ("haipw" only).
    cfm_ : tuple of two ndarrays of shape (n,)
        The CFM's cross-fitted E[Y | do(T = 0), x] and E[Y | do(T = 1), x].
    scores_ : ndarray of shape (n,)
        Each row's AIPW score; for "haipw" the standard model's and the CFM's combined
        with the hybrid weights.
    ate_ : AteResult or None
        The doubly robust ATE on the training rows (None for ``method=None``).
    overlap_ : AteResult or None
        The overlap-weighted ATE on the training rows, with the outcome model the scores
        weigh (None for ``method=None``).
    propensity_model_ : classifier
        The propensity model fitted on every training row, for new rows
        (:meth:`propensity`, the estimator's ``score``).
    standard_models_ : list of two fitted default outcome models or None
        Ridge regressions per arm on all training rows, for the hybrid's effect on new
        rows in :meth:`ate_over` ("haipw" only).
    """

    def __init__(self, method: str | None = "haipw", *, cv: int = 5, model_propensity=None,
                 random_state: int = 0) -> None:
        self.method = method
        self.cv = cv
        self.model_propensity = model_propensity
        self.random_state = random_state

    def fit(self, covariates: np.ndarray, T: np.ndarray, Y: np.ndarray, cfm_fold_outcomes: FoldOutcomes, *,
            cfm_outcomes: tuple[np.ndarray, np.ndarray] | None = None, arm_columns: bool = False, groups=None,
            n_jobs=None) -> DoublyRobust:
        """Cross-fit the nuisances and compute the ATE, the overlap-weighted ATE and the scores.

        Parameters
        ----------
        covariates : ndarray of shape (n, d)
            The training rows' X and W, which the propensity and the standard outcome
            model read.
        T : ndarray of shape (n,)
            Binary treatment codes in {0, 1}.
        Y : ndarray of shape (n,)
            Outcome.
        cfm_fold_outcomes : callable
            ``cfm_fold_outcomes(X_fold, train_rows, test_rows, rng)``: the CFM's
            E[Y | do(T = 0), x] and E[Y | do(T = 1), x] for ``X_fold[test_rows]`` from
            contexts drawn from ``train_rows`` only, shape (2, len(test_rows)).
        cfm_outcomes : tuple of two ndarrays of shape (n,), optional
            The CFM's cross-fitted outcomes where the fitted contexts already give them
            (out of context, :func:`skcfm.contexts.predict_out_of_context`): then
            ``cfm_fold_outcomes`` is not called.
        arm_columns : bool, default=False
            Whether the CFM reads per-arm outcome columns: they are refitted per fold on
            its training rows (:func:`fold_covariates`), so that no held-out outcome
            reaches the contexts.
        groups : ndarray of shape (n,) or None, default=None
            Group labels kept within one fold.
        n_jobs : int or None, default=None
            Parallel jobs of the per-fold arm outcome forests.

        Returns
        -------
        self
        """
        seed = self.random_state
        with native_threads_limited():
            self.propensity_, self.unclipped_propensity_ = crossfit_propensity(
                covariates, T, classifier=self.model_propensity, cv=self.cv, random_state=seed, groups=groups,
                return_unclipped=True)
            self.standard_ = None
            if self.method == "haipw":
                self.standard_ = crossfit_outcome(covariates, T, Y, cv=self.cv, random_state=seed, groups=groups)
        self.cfm_ = cfm_outcomes
        if cfm_outcomes is None:
            self.cfm_ = cross_fitted_outcomes(covariates, T, Y, cfm_fold_outcomes, cv=self.cv, random_state=seed,
                                              arm_columns=arm_columns, groups=groups, n_jobs=n_jobs)
        if self.standard_ is None:
            self.scores_ = aipw_scores(Y, T, *self.cfm_, self.propensity_)
        else:
            self.scores_ = hybrid_aipw_scores(Y, T, [self.standard_, self.cfm_], self.propensity_)[0]
        self.ate_ = self.overlap_ = self.standard_models_ = None
        with native_threads_limited():
            if self.method in DOUBLY_ROBUST_METHODS:
                self._fit_ate(covariates, T, Y)
            classifier = default_propensity_model() if self.model_propensity is None else self.model_propensity
            self.propensity_model_ = clone(classifier).fit(covariates, T)
        return self

    def propensity(self, covariates: np.ndarray) -> np.ndarray:
        """P(T = 1 | covariates) of new rows from the propensity model fitted on every
        training row, clipped as the cross-fitted one."""
        model = self.propensity_model_
        proba = model.predict_proba(covariates)[:, list(model.classes_).index(1)]
        return np.clip(proba, PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)

    def _fit_ate(self, covariates: np.ndarray, T: np.ndarray, Y: np.ndarray) -> None:
        """The ATE, the overlap-weighted ATE with the outcome model the scores weigh, and
        for the hybrid the standard models that :meth:`ate_over` reads."""
        mu0, mu1 = self.cfm_
        if self.standard_ is None:
            self.ate_ = aipw_ate(Y, T, mu0, mu1, self.propensity_)
        else:
            self.ate_ = hybrid_aipw_ate(Y, T, [self.standard_, self.cfm_], self.propensity_)
            weights = self.ate_.weights
            mu0 = weights[0] * self.standard_[0] + weights[1] * mu0
            mu1 = weights[0] * self.standard_[1] + weights[1] * mu1
        self.overlap_ = overlap_weighted_ate(Y, T, mu0, mu1, self.unclipped_propensity_)
        if self.method == "haipw":
            self.standard_models_ = [default_outcome_model().fit(covariates[T == arm], Y[T == arm]) for arm in (0, 1)]

    def ate_over(self, X_train: np.ndarray, X_new: np.ndarray, cfm_effect_new: Callable[[], np.ndarray], *,
                 controls: bool = False) -> AteResult:
        """The mean effect over new rows of the outcome models the scores weigh, corrected by
        their error on the training rows (:func:`~skcfm.debiased_effect.debiased_mean_effect`).
        Over the training rows themselves the effects are the cross-fitted ones the scores
        weigh (no pass of the model), so the estimate is the doubly robust ATE's.

        The correction is linear in X where there are at least
        ``ROWS_PER_CORRECTION_TERM`` training rows per term, else a constant.

        Parameters
        ----------
        X_train : ndarray of shape (n, d_x)
            The training rows' X (the effect modifiers).
        X_new : ndarray of shape (m, d_x)
            The rows to average over.
        cfm_effect_new : callable
            Returns the CFM's effect on ``X_new``, shape (m,): a pass of the model over
            ``X_new``, called only where the scores weigh the CFM (a hybrid weight of 0
            needs none).
        controls : bool, default=False
            Whether the covariates held controls W: the standard models read X and W, so
            only the CFM's effect (projected onto X) is corrected.

        Returns
        -------
        AteResult
        """
        mu0, mu1 = self.cfm_
        effect_train = mu1 - mu0
        if self.method == "haipw" and not controls:
            weights = self.ate_.weights
            effect_train = weights[0] * (self.standard_[1] - self.standard_[0]) + weights[1] * effect_train
        if not controls and X_new.shape == X_train.shape and np.array_equal(X_new, X_train):
            effect_new = effect_train  # the training rows: the cross-fitted effects the scores weigh
        elif self.method == "haipw" and not controls:  # the hybrid's effect: what the scores weigh is what they correct
            standard_new = self.standard_models_[1].predict(X_new) - self.standard_models_[0].predict(X_new)
            effect_new = weights[0] * standard_new
            if weights[1] != 0:
                effect_new = effect_new + weights[1] * cfm_effect_new()
        else:
            effect_new = cfm_effect_new()
        if len(X_train) < ROWS_PER_CORRECTION_TERM * (X_train.shape[1] + 1):  # too few rows: a constant correction
            X_train = X_new = None
        return debiased_mean_effect(self.scores_, effect_train, effect_new, X=X_train, X_new=X_new)


def cross_fitted_outcomes(covariates: np.ndarray, T: np.ndarray, Y: np.ndarray, cfm_fold_outcomes: FoldOutcomes, *,
                          cv: int, random_state: int, arm_columns: bool = False, groups=None,
                          n_jobs=None) -> tuple[np.ndarray, np.ndarray]:
    """The CFM's E[Y | do(T = 0), x] and E[Y | do(T = 1), x] for each training row, each
    from contexts drawn from the other ``cv`` folds (:func:`~skcfm.nuisances.crossfit_folds`;
    the arguments as for :meth:`DoublyRobust.fit`). The contexts draw from
    ``random_state + 1``, one generator across the folds."""
    mu = np.empty((2, len(T)))
    rng = np.random.default_rng(random_state + 1)
    folds = crossfit_folds(T, cv, random_state, groups)
    for train_rows, test_rows in progress_bar(folds, desc="skcfm: cross-fitting", unit="fold", delay=2, leave=False):
        X_fold = (fold_covariates(covariates, T, Y, train_rows, test_rows, cv=cv, random_state=random_state,
                                  n_jobs=n_jobs) if arm_columns else covariates)
        mu[:, test_rows] = cfm_fold_outcomes(X_fold, train_rows, test_rows, rng)
    return mu[0], mu[1]


def fold_covariates(covariates: np.ndarray, T: np.ndarray, Y: np.ndarray, train_rows: np.ndarray,
                    test_rows: np.ndarray, *, cv: int, random_state: int, n_jobs=None) -> np.ndarray:
    """The covariates plus per-arm outcome columns for one cross-fitting fold: forests
    fitted on the fold's ``train_rows`` only, out of bag there and predicted for
    ``test_rows`` (:class:`~skcfm.arm_outcomes.ArmOutcomeCovariates`)."""
    n_arms = len(np.unique(T))
    if len(np.unique(T[train_rows])) != n_arms:
        raise ValueError(f"cross-fitting with cv={cv} left a fold without one treatment arm; "
                         "each arm needs at least cv rows")
    forests = ArmOutcomeCovariates(random_state=random_state, n_jobs=n_jobs)
    columns = np.empty((len(covariates), n_arms))
    columns[train_rows] = forests.fit_transform(covariates[train_rows], T[train_rows], Y[train_rows])
    columns[test_rows] = forests.transform(covariates[test_rows])
    return np.hstack([covariates, columns])
