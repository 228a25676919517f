"""What :class:`skcfm.CFMCateEstimator` offers from its doubly robust nuisances.

For a binary treatment ``fit`` cross-fits a propensity model, a standard outcome model and
the CFM's outcomes and computes the doubly robust ATE (:class:`skcfm.doubly_robust.DoublyRobust`).
:class:`DoublyRobustMixin` gives them to users: the CFM's cross-fitted outcomes, the ATE
with its standard error, and EconML's ``score`` of the effects against doubly robust
pseudo-outcomes on new rows, for model selection.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._validation import check_matrix, check_vector
from .aipw import AteResult
from .doubly_robust import DOUBLY_ROBUST_METHODS, cross_fitted_outcomes


class DoublyRobustMixin:
    """``cross_fitted_outcomes``, ``ate_result`` and ``score`` of :class:`skcfm.CFMCateEstimator`.

    Reads the doubly robust nuisances fitted in ``fit`` (``_doubly_robust``, None without
    them) and the members' predictions (:class:`skcfm.cate_members.MemberPredictionsMixin`).
    """

    def cross_fitted_outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """CFM predictions of E[Y | do(T=0), x] and E[Y | do(T=1), x] for each training row,
        none from a context holding the row (binary T): from the fitted members whose
        context leaves it out where the members come in pairs over two halves of each
        region's rows (:func:`skcfm.contexts.predict_out_of_context`; the arm columns are
        then the forests' out-of-bag ones), else from contexts drawn from the other ``cv``
        folds, with the arm columns refitted per fold on its training rows. Fitted in
        ``fit`` where doubly robust inference or the final stage reads them; otherwise
        computed on each call.

        Returns
        -------
        mu0, mu1 : ndarrays of shape (n,)
        """
        check_is_fitted(self, "model_")
        if self.treatment_kind_ != "discrete" or len(self.categories_) != 2:
            raise ValueError("cross_fitted_outcomes needs a binary treatment")
        if self._doubly_robust is not None:
            return self._doubly_robust.cfm_
        out_of_context = self._out_of_context_outcomes()
        if out_of_context is not None:
            return out_of_context
        return cross_fitted_outcomes(self._user_covariates(), self.T_, self.Y_, self._cfm_fold_outcomes, cv=self.cv,
                                     random_state=self._seed, arm_columns=self.arm_outcomes_ is not None,
                                     groups=self._groups, n_jobs=self.n_jobs)

    def ate_result(self) -> AteResult:
        """The doubly robust ATE on the training rows (AIPW or hybrid AIPW), fitted in ``fit``.

        Returns
        -------
        AteResult
            estimate, stderr, lower, upper (95%), and the hybrid weights
            [standard outcome model, CFM] for "haipw".
        """
        check_is_fitted(self, "model_")
        if self.inference_ not in DOUBLY_ROBUST_METHODS:
            raise ValueError(f"the doubly robust ATE needs inference 'haipw' or 'aipw' at fit; got {self.inference_!r}")
        return self._doubly_robust.ate_

    def score(self, Y, T, X=None, W=None, sample_weight=None) -> float:
        """EconML's doubly robust score on new rows: the mean squared error of
        :meth:`effect` against the rows' doubly robust pseudo-outcomes (lower is better).

        The pseudo-outcome of a row is ``mu1 - mu0 + T (Y - mu1) / e - (1 - T) (Y - mu0) /
        (1 - e)``, with the CFM's E[Y | do(T = t), x] for the new rows read from the training
        rows in context and ``e`` from a propensity model fitted on every training row, as
        EconML's ``DRLearner.score`` does with its nuisance models. A binary treatment only.

        Parameters
        ----------
        Y, T : array-like of shape (m,)
            Outcome and treatment (levels as in ``fit``) of the new rows.
        X : array-like of shape (m, d_x)
        W : array-like of shape (m, d_w), optional
            Required exactly when the estimator was fitted with W.
        sample_weight : None
            Not supported (see :meth:`fit`).

        Returns
        -------
        float
        """
        check_is_fitted(self, "model_")
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported: the causal foundation model reads rows unweighted")
        if self._doubly_robust is None:
            raise ValueError("score needs the doubly robust nuisances: a binary treatment fitted with inference "
                             "'haipw' or 'aipw' (the default)")
        X_arr = self._check_X(X)
        m = X_arr.shape[0]
        n_w = self._n_controls - (self._n_arm_columns if self._n_controls else 0)
        W_arr = check_matrix(W, "W", n_rows=m, allow_none=not n_w)
        if (W_arr is None) != (n_w == 0) or (W_arr is not None and W_arr.shape[1] != n_w):
            raise ValueError(f"W must have {n_w} columns, as in fit; got {None if W_arr is None else W_arr.shape[1]}")
        y = check_vector(Y, "Y", n_rows=m)
        t = self._treatments.transform(check_vector(T, "T", n_rows=m, numeric=False), m, "T")
        covariates = X_arr if W_arr is None else np.hstack([X_arr, W_arr])
        model_rows = covariates if self.arm_outcomes_ is None else self.arm_outcomes_.extend(covariates)
        mu0, mu1 = self._member_means(model_rows, [np.zeros(m), np.ones(m)]).mean(axis=0)
        e = self._doubly_robust.propensity(covariates)
        pseudo = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
        levels = {"T0": self.categories_[0], "T1": self.categories_[1]}
        return float(np.mean((pseudo - self.effect(X_arr, **levels)) ** 2))
