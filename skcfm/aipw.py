"""AIPW, hybrid AIPW and overlap-weighted estimates of the average treatment effect.

Pure functions from arrays to arrays: per-row AIPW influence values, the AIPW estimate
with its normal interval, the hybrid AIPW of De Bartolomeis et al. that combines several
outcome models (a standard one and foundation-model predictions) with
variance-minimising weights, and the augmented overlap-weighted ATE, identified however
poor the overlap. The nuisances they take are cross-fitted by :mod:`skcfm.nuisances`.

All functions handle a binary treatment ``T`` in {0, 1} and a one-dimensional outcome ``Y``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from ._array_checks import check_binary_treatment, check_float_vector

__all__ = ["AteResult", "aipw_ate", "aipw_scores", "hybrid_aipw_ate", "hybrid_aipw_scores", "overlap_weighted_ate"]


@dataclass(frozen=True, eq=False)
class AteResult:
    """Estimate of the average treatment effect with a normal interval.

    Parameters
    ----------
    estimate : float
        Point estimate of the ATE.
    stderr : float
        Standard error, ``std(influence) / sqrt(n)``.
    lower : float
        Lower end of the two-sided ``1 - alpha`` normal interval.
    upper : float
        Upper end of the interval.
    weights : ndarray of shape (k,) or None, default=None
        Hybrid AIPW only: the weight of each outcome model, in the order given;
        they sum to 1. ``None`` for a single-model AIPW estimate.
    """

    estimate: float
    stderr: float
    lower: float
    upper: float
    weights: np.ndarray | None = None


def aipw_scores(Y, T, mu0, mu1, propensity) -> np.ndarray:
    """Per-row AIPW influence values for the ATE.

    ``psi_i = T_i / e_i * (Y_i - mu1_i) + mu1_i
    - (1 - T_i) / (1 - e_i) * (Y_i - mu0_i) - mu0_i``, with ``e`` the propensity.
    Their mean is the AIPW estimate of the ATE.

    Parameters
    ----------
    Y : array-like of shape (n_samples,)
        Outcome.
    T : array-like of shape (n_samples,)
        Binary treatment, values in {0, 1}.
    mu0 : array-like of shape (n_samples,)
        Outcome model prediction under control, ideally cross-fitted.
    mu1 : array-like of shape (n_samples,)
        Outcome model prediction under treatment, ideally cross-fitted.
    propensity : array-like of shape (n_samples,)
        ``P(T = 1 | X)``, strictly between 0 and 1.

    Returns
    -------
    psi : ndarray of shape (n_samples,)
        Influence value of each row.

    Examples
    --------
    >>> from skcfm.aipw import aipw_scores
    >>> aipw_scores([3.0, 1.0], [1, 0], [0.0, 0.0], [2.0, 2.0], [0.5, 0.5])
    array([4., 0.])
    """
    Y, T, mu0, mu1, propensity = _check_aipw_inputs(Y, T, mu0, mu1, propensity)
    return (
        T / propensity * (Y - mu1)
        + mu1
        - (1.0 - T) / (1.0 - propensity) * (Y - mu0)
        - mu0
    )


def aipw_ate(Y, T, mu0, mu1, propensity, *, alpha: float = 0.05) -> AteResult:
    """AIPW estimate of the ATE with a normal ``1 - alpha`` interval.

    The estimate is the mean of :func:`aipw_scores`; the standard error is
    their sample standard deviation over ``sqrt(n)``. The interval is valid
    when the nuisances are cross-fitted and the propensity is consistent,
    whatever the outcome model's quality.

    Parameters
    ----------
    Y : array-like of shape (n_samples,)
        Outcome.
    T : array-like of shape (n_samples,)
        Binary treatment, values in {0, 1}.
    mu0 : array-like of shape (n_samples,)
        Cross-fitted outcome prediction under control.
    mu1 : array-like of shape (n_samples,)
        Cross-fitted outcome prediction under treatment.
    propensity : array-like of shape (n_samples,)
        Cross-fitted ``P(T = 1 | X)``, strictly between 0 and 1.
    alpha : float, default=0.05
        One minus the interval's coverage, in (0, 1).

    Returns
    -------
    result : AteResult
        ``estimate``, ``stderr``, ``lower``, ``upper``; ``weights`` is None.

    Examples
    --------
    >>> from skcfm.aipw import aipw_ate
    >>> Y, T = [3.0, 1.0, 2.0, 0.0], [1, 0, 1, 0]
    >>> r = aipw_ate(Y, T, [0.0] * 4, [2.0] * 4, [0.5] * 4)
    >>> r.estimate, round(r.stderr, 3)
    (2.0, 0.816)
    """
    psi = aipw_scores(Y, T, mu0, mu1, propensity)
    return _normal_result(psi, alpha, weights=None)


def overlap_weighted_ate(Y, T, mu0, mu1, propensity, *, alpha: float = 0.05) -> AteResult:
    """Augmented overlap-weighted ATE (Li, Morgan and Zaslavsky, 2018) with a normal interval.

    The average effect over the population weighted by ``h(x) = e(x) (1 - e(x))``: the
    units that could have been in either arm. Unlike the whole-population ATE it is
    identified however poor the overlap, and its estimator never divides by a propensity,
    so its interval holds where AIPW's cannot. Pass the propensity unclipped: a clip bound
    would give the rows with no overlap (true e near 0 or 1) a weight of about the bound
    each, and with many such rows (LaLonde CPS: 90 %) a large share of the estimand would
    rest on the outcome model's extrapolation. Per row ``psi_i = h_i (mu1_i - mu0_i) +
    T_i (1 - e_i) (Y_i - mu1_i) - (1 - T_i) e_i (Y_i - mu0_i)``; the estimate is
    ``sum(psi) / sum(h)`` and its standard error that of the influence values
    ``(psi_i - estimate h_i) / mean(h)``. Consistent when either the outcome model or the
    propensity is right.

    Parameters
    ----------
    Y, T, mu0, mu1 : array-like of shape (n_samples,)
        As for :func:`aipw_ate`.
    propensity : array-like of shape (n_samples,)
        Cross-fitted ``P(T = 1 | X)`` in [0, 1], best unclipped
        (``crossfit_propensity(..., return_unclipped=True)``); 0 and 1 give a row no
        weight. At least one row needs a propensity strictly between 0 and 1.
    alpha : float, default=0.05
        One minus the interval's coverage, in (0, 1).

    Returns
    -------
    AteResult
        ``estimate``, ``stderr``, ``lower``, ``upper``; ``weights`` is None.

    Examples
    --------
    >>> from skcfm.aipw import overlap_weighted_ate
    >>> r = overlap_weighted_ate([3.0, 1.0, 2.0, 0.0], [1, 0, 1, 0], [0.0] * 4, [2.0] * 4, [0.5] * 4)
    >>> r.estimate
    2.0
    """
    Y, T, mu0, mu1, propensity = _check_aipw_inputs(Y, T, mu0, mu1, propensity, closed=True)
    h = propensity * (1.0 - propensity)
    if not h.sum() > 0:
        raise ValueError("every propensity is 0 or 1: no row could have been in either arm, so the "
                         "overlap-weighted ATE has no population")
    psi = h * (mu1 - mu0) + T * (1.0 - propensity) * (Y - mu1) - (1 - T) * propensity * (Y - mu0)
    estimate = float(psi.sum() / h.sum())
    result = _normal_result((psi - estimate * h) / h.mean(), alpha, weights=None)
    return AteResult(estimate, result.stderr, estimate + result.lower, estimate + result.upper)


def hybrid_aipw_ate(
    Y,
    T,
    outcome_models: Sequence[tuple[np.ndarray, np.ndarray]],
    propensity,
    *,
    alpha: float = 0.05,
) -> AteResult:
    """Hybrid AIPW: variance-minimising combination of several AIPW estimates.

    For each outcome model ``j`` the AIPW scores ``psi_j`` give
    ``theta_j = mean(psi_j)``. With ``Sigma`` the sample covariance of the
    influence functions ``psi_j - theta_j``, the weights ``lambda`` minimise
    ``lambda' Sigma lambda`` among non-negative weights summing to 1 (this is
    ``Sigma^-1 1 / (1' Sigma^-1 1)`` when that has no negative entry), the
    estimate is ``lambda' theta`` and the standard error is the standard
    deviation of the combined influence function ``lambda' psi`` over
    ``sqrt(n)``. Asymptotically the combination is at least as precise as the
    best single model, and a poor or biased model gets little weight, so the
    interval keeps its coverage when a foundation model is wrong.

    Unlike the H-AIPW paper (randomised trials, known propensity, where every
    model's estimate is unbiased) the weights are kept non-negative: with an
    estimated propensity each model's estimate carries its own bias, and a
    negative weight on one model extrapolates past the other and amplifies its
    bias. On the model-selection realizations (LaLonde PSID
    10-19 and CPS 10-13, IHDP 10-29) the unconstrained weights left [0, 1] in 4
    of 34 fits; bounding them lowered the mean absolute ATE error over the test
    rows there (PSID 2,212 -> 1,915, CPS 781 -> 708) and was the same elsewhere.

    Parameters
    ----------
    Y : array-like of shape (n_samples,)
        Outcome.
    T : array-like of shape (n_samples,)
        Binary treatment, values in {0, 1}.
    outcome_models : sequence of (mu0, mu1) pairs
        One pair of arrays of shape (n_samples,) per outcome model; by
        convention the first is the standard cross-fitted model (from
        :func:`~skcfm.nuisances.crossfit_outcome`) and the others are foundation-model
        predictions. Every model must be cross-fitted by the caller: no row's
        prediction may depend on that row's outcome.
    propensity : array-like of shape (n_samples,)
        Cross-fitted ``P(T = 1 | X)``, strictly between 0 and 1.
    alpha : float, default=0.05
        One minus the interval's coverage, in (0, 1).

    Returns
    -------
    result : AteResult
        ``estimate``, ``stderr``, ``lower``, ``upper`` and ``weights`` of shape
        (len(outcome_models),), non-negative and summing to 1.

    See Also
    --------
    aipw_ate : The single-model estimate.

    Notes
    -----
    ``Sigma`` is solved with a ridge of ``1e-8`` times its mean diagonal
    added, so a singular ``Sigma`` (two identical or perfectly correlated
    models) yields finite weights, shared between the collinear models,
    instead of an error. If every influence function is constant the weights
    are uniform.

    References
    ----------
    De Bartolomeis, P., et al. "Efficient randomized experiments using
    foundation models." (H-AIPW.)

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm.aipw import hybrid_aipw_ate
    >>> rng = np.random.default_rng(0)
    >>> n = 500
    >>> X = rng.normal(size=n)
    >>> T = rng.integers(0, 2, size=n)
    >>> Y = X + T + rng.normal(scale=0.5, size=n)
    >>> good = (X, X + 1.0)
    >>> noise = (rng.normal(size=n), rng.normal(size=n))
    >>> r = hybrid_aipw_ate(Y, T, [good, noise], np.full(n, 0.5))
    >>> bool(r.lower < 1.0 < r.upper), np.round(r.weights, 2)
    (True, array([0.98, 0.02]))
    """
    scores, weights = hybrid_aipw_scores(Y, T, outcome_models, propensity)
    return _normal_result(scores, alpha, weights=weights)


def hybrid_aipw_scores(
    Y, T, outcome_models: Sequence[tuple[np.ndarray, np.ndarray]], propensity, *, weight_rows=None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row scores of the hybrid AIPW and the weights that combine them.

    The AIPW scores of each outcome model (:func:`aipw_scores`), combined with
    the variance-minimising weights of :func:`hybrid_aipw_ate`, whose estimate
    is their mean. Use them where AIPW scores are expected, e.g. as
    pseudo-outcomes or in :func:`~skcfm.debiased_effect.debiased_mean_effect`.

    Parameters
    ----------
    Y, T, outcome_models, propensity
        As for :func:`hybrid_aipw_ate`.
    weight_rows : array-like of bool of shape (n_samples,), default=None
        The rows whose scores' covariance chooses the weights (default: all);
        e.g. the rows whose propensity is inside the clip bounds.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        ``weights @ [aipw_scores of each model]``.
    weights : ndarray of shape (len(outcome_models),)
        The weight of each outcome model, summing to 1.

    Examples
    --------
    >>> from skcfm.aipw import hybrid_aipw_scores
    >>> Y, T, e = [3.0, 1.0, 2.0, 0.0], [1, 0, 1, 0], [0.5] * 4
    >>> scores, weights = hybrid_aipw_scores(Y, T, [([0.0] * 4, [2.0] * 4)], e)
    >>> scores, weights
    (array([4., 0., 2., 2.]), array([1.]))
    """
    if len(outcome_models) == 0:
        raise ValueError("outcome_models is empty; pass at least one (mu0, mu1) pair.")
    scores = []
    for j, model in enumerate(outcome_models):
        if len(model) != 2:
            raise ValueError(
                f"outcome_models[{j}] has {len(model)} entries; expected a "
                "(mu0, mu1) pair."
            )
        try:
            scores.append(aipw_scores(Y, T, model[0], model[1], propensity))
        except ValueError as err:
            raise ValueError(f"outcome_models[{j}]: {err}") from err
    psi = np.vstack(scores)  # (k, n_samples)
    if weight_rows is None:
        chosen = psi
    else:
        mask = np.asarray(weight_rows)
        if mask.dtype != bool or mask.shape != psi.shape[1:]:
            raise ValueError(f"weight_rows must be a boolean array of shape ({psi.shape[1]},); "
                             f"got dtype {mask.dtype} and shape {mask.shape}")
        if mask.sum() < 2:
            raise ValueError(f"weight_rows selects {int(mask.sum())} row(s); the weights need at least 2")
        chosen = psi[:, mask]
    weights = _min_variance_weights(np.atleast_2d(np.cov(chosen)))
    return weights @ psi, weights


def _min_variance_weights(sigma: np.ndarray) -> np.ndarray:
    """The non-negative weights summing to 1 that minimise ``w' Sigma w``.

    Solved exactly over the models' subsets: on each, ``Sigma^-1 1 / (1' Sigma^-1 1)``
    (with a small relative ridge), kept when no weight is negative; the subset with
    the least variance wins. Outcome models number a handful, so the subsets are few.
    """
    k = len(sigma)
    scale = np.trace(sigma) / k
    if scale <= 0.0:
        return np.full(k, 1.0 / k)
    best, best_variance = np.zeros(k), np.inf
    for size in range(k, 0, -1):  # larger subsets first: collinear models share weight
        for subset in itertools.combinations(range(k), size):
            block = sigma[np.ix_(subset, subset)]
            # relative ridge: keeps a singular Sigma (identical models) solvable
            direction = np.linalg.solve(block + 1e-8 * scale * np.eye(size), np.ones(size))
            weights = direction / direction.sum()
            variance = float(weights @ block @ weights)
            if np.all(weights >= 0.0) and variance < best_variance * (1 - 1e-12):
                best_variance = variance
                best = np.zeros(k)
                best[list(subset)] = weights
    return best


def _normal_result(psi: np.ndarray, alpha: float, weights) -> AteResult:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}.")
    if len(psi) < 2:
        raise ValueError(f"Y has {len(psi)} rows; a standard error needs at least 2.")
    estimate = float(np.mean(psi))
    stderr = float(np.std(psi, ddof=1) / np.sqrt(len(psi)))
    half = float(norm.ppf(1.0 - alpha / 2.0)) * stderr
    return AteResult(estimate, stderr, estimate - half, estimate + half, weights)


def _check_aipw_inputs(Y, T, mu0, mu1, propensity, *, closed: bool = False):
    """Checked inputs; ``closed`` allows propensities of exactly 0 and 1."""
    Y = check_float_vector(Y, "Y", None)
    n = len(Y)
    T = check_binary_treatment(T, n)
    mu0 = check_float_vector(mu0, "mu0", n)
    mu1 = check_float_vector(mu1, "mu1", n)
    propensity = check_float_vector(propensity, "propensity", n)
    if closed and (np.any(propensity < 0.0) or np.any(propensity > 1.0)):
        raise ValueError(f"propensity must lie in [0, 1]; got values in [{propensity.min():g}, {propensity.max():g}]")
    if not closed and (np.any(propensity <= 0.0) or np.any(propensity >= 1.0)):
        raise ValueError(
            "propensity must lie strictly between 0 and 1; got values in "
            f"[{propensity.min():g}, {propensity.max():g}]. Clip it, e.g. with "
            "crossfit_propensity(..., clip=0.01)."
        )
    return Y, T, mu0, mu1, propensity
