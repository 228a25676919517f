"""Cross-fitted nuisances of a binary treatment: the propensity and the outcome of each arm.

Every row's nuisance comes from models fitted on the other folds, so that the doubly
robust estimates of :mod:`skcfm.aipw` built on them keep their intervals. The folds are
stratified by the treatment (and by group, where groups are given) and shared by every
nuisance of one estimator. Propensities are clipped, and an :class:`OverlapWarning` says
when many rows reach the clip bound.

All functions handle a binary treatment ``T`` in {0, 1} and a one-dimensional outcome ``Y``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils.validation import check_array

from ._array_checks import check_binary_treatment, check_float_vector, check_new_rows
from .default_models import default_outcome_model, default_propensity_model

__all__ = [
    "OverlapWarning",
    "clipped_share",
    "crossfit_folds",
    "crossfit_outcome",
    "crossfit_propensity",
    "outcome_effect",
]


MAX_CLIPPED_SHARE = 0.1  # more rows than this at the propensity clip bound raise an OverlapWarning
PROPENSITY_CLIP = 0.01  # crossfit_propensity's default bound


class OverlapWarning(UserWarning):
    """Many rows have an estimated propensity at the clip bound: the treatment arms barely
    overlap there, so doubly robust estimates rest on the outcome model for those rows and
    their intervals can be far too narrow."""


def crossfit_folds(T: np.ndarray, cv: int, random_state, groups=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) row indices of cross-fitting: ``StratifiedKFold(cv, shuffle=True,
    random_state=random_state)`` on ``T``, or with ``groups`` ``StratifiedGroupKFold``, so
    that no group has rows on both sides of a split. Every cross-fitted nuisance of one
    estimator uses the same folds."""
    X = np.zeros((len(T), 1))
    if groups is None:
        return list(StratifiedKFold(cv, shuffle=True, random_state=random_state).split(X, T))
    n_groups = len(np.unique(groups))
    if n_groups < cv:
        raise ValueError(f"groups has {n_groups} distinct groups; cross-fitting with cv={cv} needs at least cv groups")
    return list(StratifiedGroupKFold(cv, shuffle=True, random_state=random_state).split(X, T, groups))


def crossfit_propensity(
    X,
    T,
    *,
    classifier=None,
    cv: int = 5,
    clip: float = PROPENSITY_CLIP,
    random_state=None,
    groups=None,
    return_unclipped: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Cross-fitted propensity scores ``P(T = 1 | X)``, clipped.

    Each row's score comes from a classifier fitted on the other folds. Folds
    are ``StratifiedKFold(cv, shuffle=True, random_state=random_state)`` on
    ``T``, the same folds :func:`crossfit_outcome` uses for the same ``T``,
    ``cv`` and integer ``random_state``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    T : array-like of shape (n_samples,)
        Binary treatment, values in {0, 1}.
    classifier : classifier, default=None
        Unfitted sklearn classifier with ``predict_proba``; cloned for each
        fold. ``None`` uses :func:`~skcfm.default_models.default_propensity_model`. Pass a flexible
        classifier when the assignment is known to be non-linear in ``X``.
    cv : int, default=5
        Number of folds, at least 2; each arm needs at least ``cv`` rows.
    clip : float, default=0.01
        Scores are clipped to ``[clip, 1 - clip]``; must lie in [0, 0.5). When
        more than a tenth of the rows end at a bound, an :class:`OverlapWarning`
        says so (LaLonde CPS: 91 % of the rows, where the hybrid ATE intervals
        covered the truth in 7 of 50 samples).
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds. A given ``classifier`` keeps its own
        ``random_state``.
    groups : array-like of shape (n_samples,), default=None
        Group labels; no group is split across folds (see :func:`crossfit_folds`).
    return_unclipped : bool, default=False
        Also return the scores before clipping, in [0, 1]: the overlap-weighted ATE reads
        those (:func:`~skcfm.aipw.overlap_weighted_ate`), since it never divides by them.

    Returns
    -------
    propensity : ndarray of shape (n_samples,)
        Out-of-fold ``P(T = 1 | X)`` for each row.
    unclipped : ndarray of shape (n_samples,)
        The same before clipping; only with ``return_unclipped=True``.

    See Also
    --------
    crossfit_outcome : Cross-fitted outcome model on the same folds.

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm.nuisances import crossfit_propensity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> T = (rng.random(200) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    >>> e = crossfit_propensity(X, T, random_state=0)
    >>> e.shape, bool(e.min() >= 0.01), bool(e.max() <= 0.99)
    ((200,), True, True)
    """
    X = check_array(X, input_name="X")
    T = check_binary_treatment(T, len(X))
    _check_cv(cv, T)
    if not 0.0 <= clip < 0.5:
        raise ValueError(f"clip must lie in [0, 0.5); got {clip!r}.")
    if classifier is None:
        classifier = default_propensity_model()
    propensity = np.empty(len(T))
    for train, test in crossfit_folds(T, cv, random_state, groups):
        model = clone(classifier).fit(X[train], T[train])
        proba = model.predict_proba(X[test])
        propensity[test] = proba[:, list(model.classes_).index(1)]
    unclipped = propensity
    propensity = np.clip(unclipped, clip, 1.0 - clip)
    clipped = clipped_share(propensity, clip)
    if clipped > MAX_CLIPPED_SHARE:
        warnings.warn(
            f"{clipped:.0%} of the rows have a cross-fitted propensity at the clip bound ({clip:g} or "
            f"{1 - clip:g}): the arms barely overlap there, AIPW weights are capped, and doubly robust "
            "estimates rest on the outcome model for those rows; their intervals can be far too narrow. "
            "The overlap-weighted ATE is identified there and its interval holds: "
            "CFMCateEstimator.ate_interval(estimand='overlap').",
            OverlapWarning, stacklevel=2)
    return (propensity, unclipped) if return_unclipped else propensity


def clipped_share(propensity: np.ndarray, clip: float = PROPENSITY_CLIP) -> float:
    """Share of the rows whose propensity lies at or beyond the clip bound ``clip`` or ``1 - clip``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm.nuisances import clipped_share
    >>> clipped_share(np.array([0.01, 0.2, 0.5, 0.99]))
    0.5
    """
    return float(np.mean((propensity <= clip) | (propensity >= 1.0 - clip)))


def crossfit_outcome(
    X,
    T,
    Y,
    *,
    regressor=None,
    cv: int = 5,
    random_state=None,
    groups=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted outcome predictions ``mu0(X)``, ``mu1(X)`` by a T-learner.

    For each fold, one regressor is fitted on the other folds' control rows and
    one on their treated rows; both predict the fold's rows, so no row is
    predicted by a model that saw it. Folds are stratified by ``T`` (as in
    :func:`crossfit_propensity`), so every training set holds both arms.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    T : array-like of shape (n_samples,)
        Binary treatment, values in {0, 1}.
    Y : array-like of shape (n_samples,)
        Outcome.
    regressor : regressor, default=None
        Unfitted sklearn regressor, cloned per arm and fold. ``None`` uses
        :func:`~skcfm.default_models.default_outcome_model`, the linear outcome model of the "standard"
        AIPW estimator. The AIPW interval
        stays valid when it is misspecified, provided the propensity is right;
        a better model only narrows the interval.
    cv : int, default=5
        Number of folds, at least 2; each arm needs at least ``cv`` rows.
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds. A given ``regressor`` keeps its own
        ``random_state``.
    groups : array-like of shape (n_samples,), default=None
        Group labels; no group is split across folds (see :func:`crossfit_folds`).

    Returns
    -------
    mu0 : ndarray of shape (n_samples,)
        Out-of-fold prediction of ``E[Y | X, T = 0]``.
    mu1 : ndarray of shape (n_samples,)
        Out-of-fold prediction of ``E[Y | X, T = 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm.nuisances import crossfit_outcome
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> T = rng.integers(0, 2, size=200)
    >>> Y = X[:, 0] + 2.0 * T + rng.normal(scale=0.1, size=200)
    >>> mu0, mu1 = crossfit_outcome(X, T, Y, random_state=0)
    >>> round(float(np.mean(mu1 - mu0)), 1)
    2.0
    """
    X = check_array(X, input_name="X")
    T = check_binary_treatment(T, len(X))
    Y = check_float_vector(Y, "Y", len(X))
    _check_cv(cv, T)
    if regressor is None:
        regressor = default_outcome_model()
    mu0 = np.empty(len(T))
    mu1 = np.empty(len(T))
    for train, test in crossfit_folds(T, cv, random_state, groups):
        for arm, mu in ((0, mu0), (1, mu1)):
            rows = train[T[train] == arm]
            mu[test] = clone(regressor).fit(X[rows], Y[rows]).predict(X[test])
    return mu0, mu1


def outcome_effect(X, T, Y, X_new, *, regressor=None) -> np.ndarray:
    """The T-learner effect ``mu1(X_new) - mu0(X_new)``, fitted on all rows.

    The full-data counterpart of :func:`crossfit_outcome`: one regressor per
    arm, fitted on every row of that arm, predicts the new rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    T : array-like of shape (n_samples,)
        Binary treatment, values in {0, 1}.
    Y : array-like of shape (n_samples,)
        Outcome.
    X_new : array-like of shape (n_queries, n_features)
        Rows at which to predict the effect.
    regressor : regressor, default=None
        Unfitted sklearn regressor, cloned per arm; ``None`` uses
        :func:`~skcfm.default_models.default_outcome_model` as :func:`crossfit_outcome` does.

    Returns
    -------
    effect : ndarray of shape (n_queries,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm.nuisances import outcome_effect
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> T = rng.integers(0, 2, size=200)
    >>> Y = X[:, 0] + T * (1.0 + X[:, 1])
    >>> np.round(outcome_effect(X, T, Y, [[0.0, 0.0], [0.0, 1.0]]), 1)
    array([1., 2.])
    """
    X = check_array(X, input_name="X")
    T = check_binary_treatment(T, len(X))
    Y = check_float_vector(Y, "Y", len(X))
    X_new = check_new_rows(X_new, X)
    regressor = default_outcome_model() if regressor is None else regressor
    mu0, mu1 = (clone(regressor).fit(X[T == arm], Y[T == arm]).predict(X_new) for arm in (0, 1))
    return mu1 - mu0


def _check_cv(cv, T: np.ndarray) -> None:
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2; got {cv!r}.")
    smallest = int(min(np.sum(T == 0), np.sum(T == 1)))
    if smallest < cv:
        raise ValueError(
            f"T has {smallest} rows in its smaller arm; cross-fitting with "
            f"cv={cv} needs at least {cv} rows in each arm."
        )
