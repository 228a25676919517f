"""Simulated observational data with confounding and a known effect, needing no files."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.utils import Bunch

from .data_bunch import make_bunch


def make_confounded_treatment(
    n_samples: int = 1000,
    n_features: int = 5,
    *,
    treatment: Literal["binary", "continuous"] = "binary",
    random_state: int | None = None,
    as_frame: bool = False,
) -> Bunch:
    """Simulate an observational study with confounding and a known effect.

    Covariates ``x`` are standard normal. The treatment depends on ``x0`` and ``x1``
    (logistic for a binary treatment, linear plus noise for a continuous one); the
    outcome is ``sin(x0) + x1 + tau(x, t) + noise`` with a heterogeneous effect:
    binary ``tau = t * (1 + 0.5 * x2)``; continuous ``tau = (1 + 0.5 * x2) * 2 sin(t / 2)``.
    The naive difference in means is biased because ``x0`` and ``x1`` drive both.

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : int, default=5
        At least 3.
    treatment : {"binary", "continuous"}, default="binary"
    random_state : int or None, default=None
    as_frame : bool, default=False

    Returns
    -------
    Bunch
        ``data`` (n_samples, n_features), ``treatment``, ``outcome``, ``feature_names``
        and ``truth``: ``mu0``, ``mu1``, ``ite`` and the population ATE ``ate`` (1:
        the effect 1 + x2 / 2 averaged over x2 ~ N(0, 1), the estimand of a population
        ATE interval; ``ite.mean()`` is the sample's, which differs by its spread over
        the rows) for a binary treatment, and the callable ``response(X, t)`` =
        E[y | do(T = t), x] for either kind.

    Examples
    --------
    >>> from skcfm.datasets import make_confounded_treatment
    >>> data = make_confounded_treatment(500, random_state=0)
    >>> data.data.shape, round(float(data.truth.ite.mean()), 2)
    ((500, 5), 1.02)
    """
    if n_features < 3:
        raise ValueError(f"n_features must be at least 3; got {n_features}")
    if treatment not in ("binary", "continuous"):
        raise ValueError(f"treatment={treatment!r}; expected 'binary' or 'continuous'")
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n_samples, n_features))
    drive = X[:, 0] + 0.5 * X[:, 1]
    if treatment == "binary":
        t = (rng.random(n_samples) < 1 / (1 + np.exp(-1.5 * drive))).astype(int)
    else:
        t = drive + rng.normal(size=n_samples)

    def response(x, dose):
        x = np.asarray(x, dtype=float)
        dose = np.asarray(dose, dtype=float)
        modifier = 1 + 0.5 * x[:, 2]
        effect = dose * modifier if treatment == "binary" else modifier * 2 * np.sin(dose / 2)
        return np.sin(x[:, 0]) + x[:, 1] + effect

    y = response(X, t) + 0.5 * rng.normal(size=n_samples)
    truth = {}
    if treatment == "binary":
        mu0, mu1 = response(X, np.zeros(n_samples)), response(X, np.ones(n_samples))
        truth = {"mu0": mu0, "mu1": mu1, "ite": mu1 - mu0}
    names = [f"x{i}" for i in range(n_features)]
    bunch = make_bunch(X, names, t, "t", y, "y", truth, as_frame=as_frame, DESCR=make_confounded_treatment.__doc__)
    bunch.truth["response"] = response
    if treatment == "binary":
        bunch.truth["ate"] = 1.0
    return bunch
