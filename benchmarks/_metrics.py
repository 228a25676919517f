"""Benchmark metrics: pure functions from arrays to numbers, shared by every method."""

from __future__ import annotations

import numpy as np


def pehe(tau_hat, tau) -> float:
    """Root precision in estimating heterogeneous effects, sqrt(mean((tau_hat - tau)^2)).

    Parameters
    ----------
    tau_hat : array-like of shape (n,)
        Estimated individual (conditional average) effects.
    tau : array-like of shape (n,)
        True individual effects on the same rows.

    Returns
    -------
    sqrt_pehe : float
    """
    tau_hat, tau = _pair(tau_hat, tau)
    return float(np.sqrt(np.mean((tau_hat - tau) ** 2)))


def ate_errors(tau_hat, tau, ate_hat: float | None = None) -> tuple[float, float]:
    """Absolute and relative error of the average effect over the same rows.

    Parameters
    ----------
    tau_hat : array-like of shape (n,)
        Estimated individual effects.
    tau : array-like of shape (n,)
        True individual effects.
    ate_hat : float, default=None
        An ATE estimate to use instead of ``mean(tau_hat)``.

    Returns
    -------
    absolute : float
        ``|ate_hat - mean(tau)|``.
    relative : float
        ``absolute / |mean(tau)|`` (inf if the true ATE is 0), the seed paper's
        epsilon_ATE.
    """
    tau_hat, tau = _pair(tau_hat, tau)
    ate = float(np.mean(tau))
    est = float(np.mean(tau_hat)) if ate_hat is None else float(ate_hat)
    absolute = abs(est - ate)
    relative = absolute / abs(ate) if ate != 0 else float("inf")
    return absolute, relative


def covers(lo, hi, value) -> np.ndarray | bool:
    """Whether ``lo <= value <= hi``, elementwise; False where a bound is NaN."""
    lo, hi, value = (np.asarray(a, dtype=float) for a in (lo, hi, value))
    out = (lo <= value) & (value <= hi)
    return bool(out) if out.ndim == 0 else out


def coverage(lo, hi, value) -> float:
    """Fraction of intervals ``[lo, hi]`` that contain ``value`` (broadcast)."""
    return float(np.mean(covers(lo, hi, value)))


def sem(values) -> float:
    """Standard error of the mean, std(ddof=1) / sqrt(n), ignoring NaN; NaN if n < 2."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return float("nan")
    return float(np.std(v, ddof=1) / np.sqrt(len(v)))


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"tau_hat has shape {a.shape}; expected {b.shape} like tau")
    return a, b
