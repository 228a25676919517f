"""skcfm methods for the benchmark grid (registered when run.py imports this module).

- ``skcfm_cfm`` / ``skcfm_cfm_nopam``: the CFM alone, with the unconfoundedness PAM
  (Prop. A.1 of the CFM paper: every covariate causes T and Y, T causes Y) or none;
  ATE = mean CATE on the test rows; no interval.
- ``skcfm_haipw`` / ``skcfm_haipw_nopam``: same CATEs; ATE and its 95% interval over the
  test rows, ``ate(X_test)``: the CFM's mean effect on them corrected by its mean error on
  the training rows as the hybrid AIPW scores measure it (standard outcome model +
  cross-fitted CFM). The same estimand as the baselines' ``ate_interval(X_test)`` and the
  truth the metrics use.
- ``skcfm_dr``: CATEs from the DR-learner final stage over the CFM (with the PAM); ATE and
  interval as for ``skcfm_haipw``.
- ``skcfm_auto``: ``final_stage="auto"`` (with the PAM): the CATEs of whichever of the
  CFM, the causal forest over the CFM's residuals, the DR-learner and the blends (half
  CFM, half T-learner or DR-learner) has the lowest DR-loss on the training rows, or
  the CFM-T-learner blend where over half of those rows sit at the propensity clip bound
  (the row's ``final_stage`` says which); ATE and interval as for ``skcfm_haipw``.
- ``skcfm_cfm_noarms``: ``skcfm_cfm`` with ``arm_outcomes=False`` (no per-arm forest
  prediction of Y among the covariates); the default before the option became "auto".
- ``skcfm_regressor``: ``GraphConditionedCFMRegressor`` on [T, X] with the PAM; CATE =
  predict(T = 1) - predict(T = 0), the way a scikit-learn user would get effects.

Every method uses the estimator's defaults (local contexts, ``n_estimators="auto"``:
4 members per region on IHDP and PSID, 8 on CPS, 16 on ACIC). ``--quick`` uses 2 members.
Before commit 6282ca4 the hybrid and DR methods kept 4 members per region, for time (their
cross-fitted stage predicts every training row once per fold); on the ACIC-like selection
set the default lowered ``skcfm_auto``'s mean sqrt(PEHE) from 0.788 to 0.710
(``studies/final_stage_choice.py --members auto``), so they use it too; every row made with the
shipped step 31263 does.

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


def _hybrid(with_pam, final_stage="cfm", **options):
    def method(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
        est = _estimator(X_train, T_train, Y_train, random_state=random_state, quick=quick, with_pam=with_pam,
                         final_stage=final_stage, **options)
        lo, hi = est.ate_interval(X_test)
        return {"cate_test": est.effect(X_test), "ate": est.ate(X_test), "ate_lo": lo, "ate_hi": hi,
                "final_stage": est.final_stage_}

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
register("skcfm_cfm_noarms")(_cfm_alone(with_pam=True, arm_outcomes=False))
register("skcfm_haipw")(_hybrid(with_pam=True))
register("skcfm_haipw_nopam")(_hybrid(with_pam=False))
register("skcfm_dr")(_hybrid(with_pam=True, final_stage="dr"))
register("skcfm_auto")(_hybrid(with_pam=True, final_stage="auto"))
