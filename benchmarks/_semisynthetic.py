"""ACIC-like semi-synthetic realizations: the real ACIC 2016 covariates, simulated T and Y.

Only 10 ACIC realizations exist and the benchmark reports all of them, so nothing may be
chosen on them. This set gives wide, long data of the same shape (4,802 rows, 82
covariates, 90/10 split) to choose on instead. Its generator follows the knobs of the
ACIC 2016 design (Dorie et al. 2019, Sec. 3): each realization draws the share treated,
the covariates that drive assignment and response and how many they share (confounding),
the nonlinearity (linear, squares, steps, products) and whether the effect is constant or
heterogeneous. Scales match the shipped realizations (sd(Y) ~ 5, mean effect ~ 2-5).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from skcfm.datasets import load_acic2016, train_test_split_protocol


def _surface(X: np.ndarray, columns: np.ndarray, rng: np.random.Generator, nonlinear: bool) -> np.ndarray:
    """A standardised random function of ``X[:, columns]``."""
    Z = X[:, columns]
    value = Z @ rng.normal(size=len(columns))
    if nonlinear:
        k = len(columns)
        for j in rng.choice(k, size=max(1, k // 3), replace=False):
            value += rng.normal() * Z[:, j] ** 2
        for j in rng.choice(k, size=max(1, k // 3), replace=False):
            value += 2 * rng.normal() * (Z[:, j] > np.quantile(Z[:, j], rng.uniform(0.2, 0.8)))
        for _ in range(k // 4 if k >= 2 else 0):
            a, b = rng.choice(k, size=2, replace=False)
            value += rng.normal() * Z[:, a] * Z[:, b]
    sd = value.std()
    return (value - value.mean()) / (sd if sd > 0 else 1.0)


def acic_like(i: int, data_home=None):
    """Realization ``i``: X_train, T_train, Y_train, X_test, tau_test (90/10 split, seed 42 + i)."""
    raw = load_acic2016(1, data_home=data_home).data  # covariates are the same in every file
    X = (raw - raw.mean(axis=0)) / np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
    rng = np.random.default_rng(10_000 + i)
    d = X.shape[1]
    nonlinear = rng.random() < 0.7
    assignment = rng.choice(d, size=rng.integers(5, 20), replace=False)
    shared = assignment[: rng.integers(1, len(assignment) + 1)]  # confounders
    others = rng.choice(np.setdiff1d(np.arange(d), shared), size=rng.integers(3, 15), replace=False)
    response = np.concatenate([shared, others])

    score = rng.uniform(0.5, 2.0) * _surface(X, assignment, rng, nonlinear)
    share_treated = rng.uniform(0.15, 0.4)
    offset = brentq(lambda c: expit(score + c).mean() - share_treated, -20, 20)
    T = (rng.random(len(X)) < expit(score + offset)).astype(int)

    mu0 = rng.uniform(2.0, 5.0) * _surface(X, response, rng, nonlinear)
    heterogeneous = rng.random() < 0.75
    tau = np.full(len(X), rng.uniform(1.5, 5.0))
    if heterogeneous:
        modifiers = rng.choice(response, size=min(len(response), rng.integers(1, 6)), replace=False)
        tau = tau + rng.uniform(1.0, 5.0) * _surface(X, modifiers, rng, nonlinear)
    Y = mu0 + T * tau + rng.normal(size=len(X))

    train, test = train_test_split_protocol(len(X), i)
    return raw[train], T[train], Y[train], raw[test], tau[test]
