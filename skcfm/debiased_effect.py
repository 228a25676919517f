"""The doubly robust average effect over given rows, from a CATE model and AIPW scores.

The model's mean effect over the rows, corrected by its error on the training rows as
the AIPW scores of :mod:`skcfm.aipw` measure it, with a normal interval: what
``CFMCateEstimator.ate(X)`` and its interval report.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import norm
from sklearn.utils.validation import check_array

from ._array_checks import check_float_vector, check_new_rows
from ._threads import native_threads_limited
from .aipw import AteResult

__all__ = ["debiased_mean_effect"]


def debiased_mean_effect(
    scores, effect_train, effect_new, *, X=None, X_new=None, alpha: float = 0.05
) -> AteResult:
    """Doubly robust average effect over new rows, from a CATE model and AIPW scores.

    The model's mean effect over the new rows, corrected by its error on the
    training rows as the AIPW scores measure it. The residual scores
    ``scores - effect_train`` are regressed by OLS on an intercept, or on an
    intercept and the covariates ``X``; the correction is that regression at
    the new rows' covariate mean, and the standard error its heteroscedasticity-
    robust (HC1) standard error there. This is EconML's ``LinearDRLearner``
    average effect over given rows, fitted to what the model leaves over. The
    target is the average of the conditional effect over the new rows, not the
    population ATE: the spread of the true effects across rows is conditioned
    on, so the interval is narrower than the AIPW interval by as much as the
    model explains of the effect's heterogeneity.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        AIPW scores of the training rows (:func:`~skcfm.aipw.aipw_scores`, or
        :func:`~skcfm.aipw.hybrid_aipw_scores`), from cross-fitted nuisances.
    effect_train : array-like of shape (n_samples,)
        The model's effect on each training row, cross-fitted like the scores.
    effect_new : array-like of shape (n_queries,)
        The model's effect on each row to average over.
    X : array-like of shape (n_samples, n_features), default=None
        Covariates of the training rows; with ``X_new``, the correction may
        vary linearly with them. ``None``: a constant correction, the model's
        mean error on the training rows.
    X_new : array-like of shape (n_queries, n_features), default=None
        Covariates of the rows to average over; given exactly when ``X`` is.
    alpha : float, default=0.05
        One minus the interval's coverage, in (0, 1).

    Returns
    -------
    result : AteResult
        ``estimate``, ``stderr``, ``lower``, ``upper``; ``weights`` is None.

    Notes
    -----
    The interval holds when the model's error is, on average over the new
    rows, what the regression predicts for their covariate mean. It leaves out
    the spread of the rest of the model's error over the new rows, small when
    the model is accurate or the new rows are many, but not small for a model
    that is wrong row by row: then the AIPW interval for the population ATE
    (:func:`~skcfm.aipw.aipw_ate`, :func:`~skcfm.aipw.hybrid_aipw_ate`) is the one that holds.

    Examples
    --------
    >>> from skcfm.debiased_effect import debiased_mean_effect
    >>> r = debiased_mean_effect([3.0, 1.0, 2.5, 1.5], [1.0, 1.0, 2.0, 2.0], [1.0, 2.0])
    >>> round(r.estimate, 6), round(r.stderr, 3)
    (2.0, 0.54)
    """
    from statsmodels.regression.linear_model import OLS  # imported here: only this function needs it

    scores = check_float_vector(scores, "scores", None)
    n = len(scores)
    residual = scores - check_float_vector(effect_train, "effect_train", n)
    effect_new = check_float_vector(effect_new, "effect_new", None)
    if len(effect_new) == 0:
        raise ValueError("effect_new is empty; pass the effect of at least one row.")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}.")
    if n < 2:
        raise ValueError(f"scores has {n} rows; a standard error needs at least 2.")
    if (X is None) != (X_new is None):
        raise ValueError("pass X and X_new together (or neither).")
    design, at = np.ones((n, 1)), np.ones((1, 1))
    if X is not None:
        X = check_array(X, input_name="X")
        X_new = check_new_rows(X_new, X)
        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows; expected {n}, as scores.")
        design = np.column_stack([design, X])
        at = np.column_stack([at, X_new.mean(axis=0, keepdims=True)])
    with native_threads_limited():  # small matrices: BLAS threads would only wait on each other
        design, at = _full_rank(design, at)
        prediction = OLS(residual, design).fit(cov_type="HC1").get_prediction(at)
    estimate = float(np.mean(effect_new) + prediction.predicted_mean[0])
    stderr = float(prediction.se_mean[0])
    half = float(norm.ppf(1.0 - alpha / 2.0)) * stderr
    return AteResult(estimate, stderr, estimate - half, estimate + half)


def _full_rank(design: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``design`` (n, p) and ``at`` (1, p) in coordinates of the design's row space.

    Linearly dependent columns (one-hot groups beside the intercept, constant columns)
    leave OLS coefficients undetermined but not its prediction at a point that obeys the
    same dependence; the prediction is the same in these coordinates, without the
    rank-deficiency warning OLS would give. A point that departs from the dependence is
    predicted at its projection onto the row space, with a warning.
    """
    _, singular, vt = np.linalg.svd(design, full_matrices=False)
    basis = vt[singular > singular[0] * max(design.shape) * np.finfo(float).eps]
    if len(basis) == design.shape[1]:
        return design, at
    projected = at @ basis.T
    if np.linalg.norm(at - projected @ basis) > 1e-6 * max(np.linalg.norm(at), 1.0):
        warnings.warn(
            "X's columns are linearly dependent on the training rows (e.g. a constant column or one-hot groups), "
            "and the new rows' mean departs from that dependence; the correction ignores the departure.",
            UserWarning, stacklevel=3)
    return design @ basis.T, projected
