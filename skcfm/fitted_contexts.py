"""``FittedContexts``: what a fitted estimator's members read, and how they answer.

Both estimators compose one: the training rows in the model's terms (covariates, T, Y and
the PAM in model order), the plan of ensembles drawn from them, the encoded contexts where
they are kept, the outcome transform and the prediction options. Its :meth:`~FittedContexts.means`
answers E[Y | do(T = t), x] for query rows through every member that answers them, so no
argument list of the data travels through the estimators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contexts import (
    ContextPlan,
    beyond_cache,
    encode_plan,
    plan_contexts,
    predict_out_of_context,
    predict_with_plan,
)
from .inference import EncodedContext, Predictions
from .inference_config import InferenceConfig
from .model import CausalFoundationModel
from .outcome_transform import YeoJohnsonOutcome, fit_outcome_transform


@dataclass(frozen=True)
class FittedContexts:
    """The members' data and plan, fitted once; :meth:`means` predicts from them.

    Attributes
    ----------
    model : CausalFoundationModel
    X : ndarray of shape (n, d)
        The covariates the model reads (with arm outcome columns where the estimator adds them).
    T, Y : ndarrays of shape (n,)
        Treatment codes and outcomes.
    pam : ndarray of shape (d + 2, d + 2)
        The PAM in the model's order [T, Y, X...].
    rows : ndarray
        The rows of X the contexts draw from (all of them but for a cross-fitting fold).
    plan : ContextPlan
        The ensembles: one, or one per region of local contexts.
    encodings : list of lists of EncodedContext, or None
        Every member's encoded context, where they are kept (see :func:`skcfm.contexts.encode_plan`).
    outcome_transform : YeoJohnsonOutcome or None
        The transform the model reads Y through, fitted on ``Y[rows]``.
    clip : bool
        Whether answers stay within what each arm shows (``clip_to_observed`` with a discrete T).
    chunk_size : int
        Query rows per forward pass.
    device : str
    """

    model: CausalFoundationModel
    X: np.ndarray
    T: np.ndarray
    Y: np.ndarray
    pam: np.ndarray
    rows: np.ndarray
    plan: ContextPlan
    encodings: list[list[EncodedContext]] | None
    outcome_transform: YeoJohnsonOutcome | None
    clip: bool
    chunk_size: int
    device: str

    @classmethod
    def fit(cls, model: CausalFoundationModel, X: np.ndarray, T: np.ndarray, Y: np.ndarray, pam: np.ndarray, *,
            config: InferenceConfig, discrete: bool, n_estimators: int | str, context_size: int, fit_mode: str,
            device: str, rng: np.random.Generator, rows: np.ndarray | None = None) -> FittedContexts:
        """Draw the plan from ``rows`` of X (default all), fit the outcome transform on their
        outcomes and, as ``fit_mode`` says, encode every member's context."""
        rows = np.arange(len(T)) if rows is None else rows
        transform = fit_outcome_transform(config.outcome_transform, Y[rows])
        plan = plan_contexts(X, T, Y, pam, rows=rows, discrete=discrete, contexts=config.contexts,
                             n_estimators=n_estimators, context_size=context_size,
                             max_covariates=model.config.max_covariates, rng=rng)
        encodings = encode_plan(model, X, T, Y, pam, plan, fit_mode=fit_mode, device=device,
                                outcome_transform=transform)
        return cls(model, X, T, Y, pam, rows, plan, encodings, transform, config.clip_to_observed and discrete,
                   config.chunk_size, device)

    @property
    def beyond_cache(self) -> bool:
        """Whether the plan's encoded contexts outgrow the encoding cache."""
        return beyond_cache(self.model, self.plan)

    def means(self, X_query: np.ndarray, treatments: list[np.ndarray], *, quantiles: np.ndarray | None = None,
              return_logits: bool = False) -> Predictions:
        """Every answering member's E[Y | do(T = t), x] (and quantiles, logits) for each query
        row and each array of ``treatments`` (:func:`skcfm.contexts.predict_with_plan`)."""
        return predict_with_plan(
            self.model, self.X, self.T, self.Y, self.pam, self.plan, X_query, treatments, rows=self.rows,
            clip=self.clip, quantiles=quantiles, return_logits=return_logits, chunk_size=self.chunk_size,
            device=self.device, encodings=self.encodings, outcome_transform=self.outcome_transform)

    def out_of_context(self, levels: list[float]) -> np.ndarray | None:
        """Each row's E[Y | do(T = t), x] for t in ``levels`` from the members that leave it
        out of their context, or None (:func:`skcfm.contexts.predict_out_of_context`)."""
        return predict_out_of_context(
            self.model, self.X, self.T, self.Y, self.pam, self.plan, levels, clip=self.clip,
            chunk_size=self.chunk_size, device=self.device, encodings=self.encodings,
            outcome_transform=self.outcome_transform)
