"""The final stages other than the CFM as one object fitted in ``fit``.

:class:`FinalStage` fits the stage ``final_stage`` names on the user's X and the
cross-fitted nuisances of :class:`~skcfm.doubly_robust.DoublyRobust` (for "auto" it
and "stack" it first scores the candidates out of sample and weighs them,
:func:`~skcfm.final_stages.choose_final_stage`),
so that the estimator's predictions only read the fitted models.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from ._threads import fit_on_threads, native_threads_limited
from .arm_outcomes import ArmOutcomeCovariates, exact_sum_grid
from .default_models import averaging_forest
from .doubly_robust import DoublyRobust
from .final_stages import BLENDS, STACKED, auto_candidates, causal_forest_stage, choose_final_stage


class FinalStage:
    """A final stage over the CFM's cross-fitted nuisances, chosen and fitted in ``fit``.

    Parameters
    ----------
    name : {"cfm", "cfm_summary", "dr", "causal_forest", "blend_dr", "blend_tl", "stack", "auto"}
        The estimator's ``final_stage``.
    final_model : regressor or None, default=None
        The DR-learner's final regressor (cloned); None: an averaging random forest with
        out-of-bag predictions.
    random_state : int, default=0
    n_jobs : int or None, default=None
        Jobs the forests fit on; None: skcfm's ``n_threads`` (:func:`skcfm._threads.fit_on_threads`).
    summarise_cfm : bool, default=False
        In the stack, let the "cfm_summary" model (a regressor of the CFM's cross-fitted
        effects) stand for the CFM on the rows asked about, with the CFM's weight, and in the
        doubly robust ATE over new rows, so that new rows never run the ensemble.

    Attributes
    ----------
    name_ : str
        The stage in use: ``name``, or the one "auto" chose.
    choice_ : FinalStageChoice or None
        The evidence of "auto"'s or "stack"'s weighing.
    weights_ : dict of str to float
        What the reported effects weigh, by model ("cfm" for the CFM's own effects): one
        model with weight 1, a blend's two halves with 0.5 each, or the stack's weights
        (with ``summarise_cfm``, the CFM's under "cfm_summary").
    models_ : dict
        The fitted models by stage ("tl", "dr", "causal_forest", "cfm_summary"): those in
        use, and with "auto" or "stack" every candidate scored.
    x_scaler_ : StandardScaler
        Standardises X for the built-in forests and boosting (see :meth:`_inputs`).
    y_scale_ : float
        The spread of Y, the unit of the outcomes those models read (see :meth:`_unit`).
    """

    def __init__(self, name: str, *, final_model=None, random_state: int = 0, n_jobs=None,
                 summarise_cfm: bool = False) -> None:
        self.name = name
        self.final_model = final_model
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.summarise_cfm = summarise_cfm

    def fit(self, X: np.ndarray, T: np.ndarray, Y: np.ndarray, nuisances: DoublyRobust | None, *,
            groups=None) -> FinalStage:
        """Choose the stage (for "auto") and fit its model.

        Parameters
        ----------
        X : ndarray of shape (n, d_x)
            The training rows' X (the effect modifiers).
        T, Y : ndarrays of shape (n,)
            Binary treatment codes and outcome.
        nuisances : DoublyRobust or None
            The fitted cross-fitted nuisances; None only for the CFM itself.
        groups : ndarray of shape (n,) or None, default=None
            Group labels, kept within one fold where out-of-sample effects are cross-fitted.

        Returns
        -------
        self
        """
        self.models_: dict = {}
        self._tl_out_of_sample = None
        self.x_scaler_ = StandardScaler().fit(X)
        spread = float(np.std(Y))
        self.y_scale_ = spread if np.isfinite(spread) and spread > 0 else 1.0
        self.name_, self.choice_ = self.name, None
        if self.name in ("auto", "stack"):
            mu0, mu1 = nuisances.cfm_
            candidates = auto_candidates(nuisances.propensity_) if self.name == "auto" else STACKED[1:]
            alternatives = {}
            for name in candidates:
                effects = self.out_of_sample_effects(name.removeprefix("blend_"), X, T, Y, nuisances, groups=groups)
                alternatives[name] = (mu1 - mu0 + effects) / 2 if name in BLENDS else effects
            self.choice_ = choose_final_stage(T, Y, nuisances.propensity_, mu0, mu1, alternatives)
            self.name_ = self.choice_.chosen
        self.weights_ = self._weights()
        for stage in self.weights_:
            if stage != "cfm":
                self._fit_model(stage, X, T, Y, nuisances)
        if self._summarised():  # whatever the CFM's weight: the doubly robust ATE over new rows reads it
            self._fit_model("cfm_summary", X, T, Y, nuisances)
        return self

    def _summarised(self) -> bool:
        return self.summarise_cfm and self.name_ == "stack"

    def summary_effects(self, X: np.ndarray) -> np.ndarray | None:
        """The effects of T = 1 against T = 0 on the rows of ``X`` of the summary that stands for
        the CFM (``summarise_cfm`` with the stack), or None where the CFM's members answer."""
        return self.stage_effects("cfm_summary", X) if self._summarised() else None

    def _weights(self) -> dict[str, float]:
        """``weights_`` of the stage in use, ``name_``."""
        if self.name_ == "stack":
            summarised = {"cfm": "cfm_summary"} if self.summarise_cfm else {}
            return {summarised.get(stage, stage): weight for stage, weight in self.choice_.weights.items()
                    if weight > 0}
        if self.name_ in BLENDS:
            return {"cfm": 0.5, self.name_.removeprefix("blend_"): 0.5}
        return {self.name_: 1.0}

    @property
    def cfm_weight_(self) -> float:
        """The weight of the CFM's own effects in the reported ones (0 where none)."""
        return self.weights_.get("cfm", 0.0)

    def _fit_model(self, stage: str, X: np.ndarray, T: np.ndarray, Y: np.ndarray, nuisances: DoublyRobust):
        """The model of ``stage``, fitted once: "tl" a forest per arm (leaves of 1 % of all
        rows, the benchmarks' T-learner), "dr" the DR-learner on the scores, "causal_forest"
        the R-learner forest on the residuals, "cfm_summary" a gradient boosting regressor
        of the CFM's cross-fitted effects."""
        if stage in self.models_:
            return self.models_[stage]
        seed = self.random_state
        X, unit = self._inputs(stage, X), self._unit(stage)
        if stage == "tl":
            model = ArmOutcomeCovariates(random_state=seed, n_jobs=self.n_jobs, leaf_rows=len(T))
            arms = model.fit_transform(X, T, Y)
            self._tl_out_of_sample = arms[:, 1] - arms[:, 0]
        elif stage == "dr":
            if self.final_model is not None:
                model = clone(self.final_model).fit(X, nuisances.scores_)
            else:  # out-of-bag effects for final_stage="auto"; the trees are the same
                # on exact_sum_grid a change of units that moves the scores in their last
                # digits leaves them equal, and so the trees (see skcfm.arm_outcomes)
                model = fit_on_threads(averaging_forest(len(T), seed).set_params(oob_score=True), X,
                                       exact_sum_grid(nuisances.scores_ / unit), n_jobs=self.n_jobs)
        elif stage == "causal_forest":
            mu0, mu1 = nuisances.cfm_
            model = causal_forest_stage(X, T, Y / unit, nuisances.propensity_, mu0 / unit, mu1 / unit, seed,
                                        n_jobs=self.n_jobs)
        else:
            mu0, mu1 = nuisances.cfm_
            with native_threads_limited():
                model = HistGradientBoostingRegressor(random_state=seed).fit(X, (mu1 - mu0) / unit)
        self.models_[stage] = model
        return model

    def out_of_sample_effects(self, stage: str, X: np.ndarray, T: np.ndarray, Y: np.ndarray,
                              nuisances: DoublyRobust, *, groups=None) -> np.ndarray:
        """Each training row's effect from a fit of ``stage`` without that row: the forests'
        out of bag (the T-learner's out of bag for the row's own arm), a ``final_model``
        without them 5-fold cross-fitted. Fits the stage's model where not yet fitted."""
        model = self._fit_model(stage, X, T, Y, nuisances)
        X, unit = self._inputs(stage, X), self._unit(stage)
        if stage == "tl":
            return self._tl_out_of_sample
        if stage == "causal_forest":
            return model.oob_predict(X).ravel() * unit
        if getattr(model, "oob_prediction_", None) is not None:
            return np.asarray(model.oob_prediction_).ravel() * unit
        folds = KFold(5, shuffle=True, random_state=self.random_state) if groups is None else GroupKFold(5)
        return cross_val_predict(clone(model), X, nuisances.scores_, cv=folds, groups=groups).ravel()

    def effects(self, X: np.ndarray) -> np.ndarray:
        """Effects of T = 1 against T = 0 on the rows of ``X`` of the models in use, weighted
        by ``weights_``, shape (m,): the reported effects less ``cfm_weight_`` times the
        CFM's, which the estimator adds."""
        total = np.zeros(len(X))
        for stage, weight in self.weights_.items():
            if stage != "cfm":
                total += weight * self.stage_effects(stage, X)
        return total

    def stage_effects(self, stage: str, X: np.ndarray) -> np.ndarray:
        """Effects on the rows of ``X`` of a fitted model in ``models_`` ("tl", "dr",
        "causal_forest", "cfm_summary"), shape (m,): with "auto", of any candidate it scored."""
        model = self.models_[stage]
        X = self._inputs(stage, X)
        if stage == "tl":
            return np.diff(model.transform(X), axis=1).ravel()
        with native_threads_limited():
            return np.asarray(model.predict(X)).ravel() * self._unit(stage)

    def predict_and_var(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The causal forest's effects and their variances (bootstrap of little bags)."""
        point, variance = self.models_["causal_forest"].predict_and_var(self._inputs("causal_forest", X))
        unit = self._unit("causal_forest")
        return point * unit, variance * unit**2

    def _inputs(self, stage: str, X: np.ndarray) -> np.ndarray:
        """X as ``stage``'s model reads it: standardised in float64 for the built-in forests
        and boosting, which cast X to float32 (an offset of 1e8 would leave no digits to
        split on); as given to a user's ``final_model`` and to the T-learner, whose forests
        standardise their own inputs."""
        if self._user_model(stage):
            return X
        return self.x_scaler_.transform(X)

    def _unit(self, stage: str) -> float:
        """What ``stage``'s model reads as one unit of the outcome: Y's spread for the
        built-in forests and boosting (a tree stops splitting a node whose squared error is
        below 2e-16, so outcomes of order 1e-8 would grow no tree), 1 for a user's
        ``final_model`` and for the T-learner, whose forests standardise their own outcomes."""
        return 1.0 if self._user_model(stage) else self.y_scale_

    def _user_model(self, stage: str) -> bool:
        """Whether ``stage`` reads the data as given: the T-learner and a user's ``final_model``."""
        return stage == "tl" or (stage == "dr" and self.final_model is not None)
