"""skcfm methods for the benchmark grid (registered when run.py imports this module).

- ``skcfm_cfm`` / ``skcfm_cfm_nopam``: the CFM alone, with the unconfoundedness PAM
  (Prop. A.1 of the CFM paper: every covariate causes T and Y, T causes Y) or none;
  ATE = mean CATE on the test rows; no interval.
- ``skcfm_haipw`` / ``skcfm_haipw_nopam``: same CATEs; ATE and its 95% interval over the
  test rows, ``ate(X_test)``: the CFM's mean effect on them corrected by its mean error on
  the training rows as the hybrid AIPW scores measure it (standard outcome model +
  cross-fitted CFM). The same estimand as the baselines' ``ate_interval(X_test)`` and the
  truth the metrics use.
- The hybrid methods (``skcfm_haipw``, ``skcfm_haipw_nopam``, ``skcfm_dr``, ``skcfm_auto``)
  also return the overlap-weighted ATE, ``ate(estimand="overlap")`` and its 95% interval,
  with the weights it is stated with: ``e (1 - e)`` of the estimator's cross-fitted,
  clipped propensity on the *training* rows (the estimand is defined there, not over
  X_test); run.py scores it against ``sum(w ite) / sum(w)`` over the training rows.
- ``skcfm_dr``: CATEs from the DR-learner final stage over the CFM (with the PAM); ATE and
  interval as for ``skcfm_haipw``.
- ``skcfm_auto``: ``final_stage="auto"`` (with the PAM): the CATEs of the convex
  combination of the CFM, the causal forest over the CFM's residuals and the DR-learner
  with the lowest DR-loss on the training rows ("stack"), or the CFM-T-learner blend
  where over half of those rows sit at the propensity clip bound (the row's
  ``final_stage`` says which); ATE and interval as for ``skcfm_haipw``.
- ``skcfm_cfm_noarms``: ``skcfm_cfm`` with ``inference_config={"arm_outcomes": False}``
  (no per-arm forest prediction of Y among the covariates); the default before the option
  became "auto".
- ``skcfm_regressor``: ``GraphConditionedCFMRegressor`` on [T, X] with the PAM; CATE =
  predict(T = 1) - predict(T = 0), the way a scikit-learn user would get effects.

Every method uses the estimator's defaults (local contexts, ``n_estimators="auto"``:
4 members per region on IHDP and PSID, 8 on CPS, 16 on ACIC). ``--quick`` uses 2 members.
The hybrid and DR methods use the default too, although their cross-fitted stage predicts
every training row once per fold: on the ACIC-like selection set it lowered ``skcfm_auto``'s
mean sqrt(PEHE) from 0.788 (4 members per region) to 0.710
(``studies/final_stage_choice.py --members auto``).

The model is ``SKCFM_BENCH_MODEL`` (a .safetensors path) when set, else the shipped one.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from _baselines import register

from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor, unconfoundedness_pam


def _estimator(X_train, T_train, Y_train, *, random_state, quick, with_pam, final_stage="cfm", **options):
    names = [f"x{i}" for i in range(X_train.shape[1])]
    pam = unconfoundedness_pam(names, treatment="T", outcome="Y") if with_pam else None
    est = CFMCateEstimator(
        model=os.environ.get("SKCFM_BENCH_MODEL"), n_estimators=2 if quick else "auto", final_stage=final_stage,
        random_state=random_state, **options,
    )
    return est.fit(X_train, T_train.astype(int), Y_train, ancestors=pam)


def _cfm_alone(with_pam, **options):
    def method(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
        est = _estimator(X_train, T_train, Y_train, random_state=random_state, quick=quick, with_pam=with_pam,
                         **options)
        cate = est.effect(X_test)
        return {"cate_test": cate, "ate": float(np.mean(cate)), "ate_lo": None, "ate_hi": None,
                "final_stage": est.final_stage_}

    return method


def overlap_weights(est) -> np.ndarray | None:
    """The weights of ``est``'s overlap-weighted ATE on its training rows, ``e (1 - e)`` with
    ``e`` its cross-fitted propensity before clipping (``skcfm.aipw.overlap_weighted_ate``),
    or None where the estimator has no doubly robust inference."""
    robust = getattr(est, "_doubly_robust", None)
    if getattr(est, "overlap_result_", None) is None or getattr(robust, "unclipped_propensity_", None) is None:
        return None
    e = np.asarray(robust.unclipped_propensity_, dtype=float)
    return e * (1.0 - e)


def _overlap(est) -> dict:
    """The overlap-weighted ATE, its 95% interval and weights, or nothing without one."""
    weights = overlap_weights(est)
    if weights is None:
        return {}
    lo, hi = est.ate_interval(estimand="overlap")
    return {"overlap": est.ate(estimand="overlap"), "overlap_lo": lo, "overlap_hi": hi, "overlap_weights": weights}


def _hybrid(with_pam, final_stage="cfm", **options):
    def method(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
        est = _estimator(X_train, T_train, Y_train, random_state=random_state, quick=quick, with_pam=with_pam,
                         final_stage=final_stage, **options)
        lo, hi = est.ate_interval(X_test)
        return {"cate_test": est.effect(X_test), "ate": est.ate(X_test), "ate_lo": lo, "ate_hi": hi,
                "final_stage": est.final_stage_, **_overlap(est)}

    return method


def _regressor_effects(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
    names = [f"x{i}" for i in range(X_train.shape[1])]
    pam = unconfoundedness_pam(names, treatment="T", outcome="y")

    def frame(T, X):
        return pd.DataFrame(np.column_stack([T, X]), columns=["T", *names])

    reg = GraphConditionedCFMRegressor(
        treatment="T", model=os.environ.get("SKCFM_BENCH_MODEL"), n_estimators=2 if quick else "auto",
        random_state=random_state,
    ).fit(frame(T_train, X_train), pd.Series(Y_train, name="y"), ancestors=pam)
    m = len(X_test)
    cate = reg.predict(frame(np.ones(m), X_test)) - reg.predict(frame(np.zeros(m), X_test))
    return {"cate_test": cate, "ate": float(np.mean(cate)), "ate_lo": None, "ate_hi": None}


register("skcfm_regressor")(_regressor_effects)
register("skcfm_cfm")(_cfm_alone(with_pam=True))
register("skcfm_cfm_nopam")(_cfm_alone(with_pam=False))
register("skcfm_cfm_noarms")(_cfm_alone(with_pam=True, inference_config={"arm_outcomes": False}))
register("skcfm_haipw")(_hybrid(with_pam=True))
register("skcfm_haipw_nopam")(_hybrid(with_pam=False))
register("skcfm_dr")(_hybrid(with_pam=True, final_stage="dr"))
register("skcfm_auto")(_hybrid(with_pam=True, final_stage="auto"))
