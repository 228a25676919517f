"""Dose-response curves of a fitted :class:`skcfm.CFMCateEstimator`: E[Y | do(T = t), x] over a grid of t.

The model answers any treatment value, so for a continuous treatment (or the levels of a
discrete one) the curve is read straight from the ensemble members' means; a dose beyond
the observed range is answered by extrapolation, with an :class:`ExtrapolationWarning`.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._optional import import_optional
from ._validation import check_vector
from .cate_inference import check_alpha


class ExtrapolationWarning(UserWarning):
    """A query beyond what the training rows cover (e.g. a dose outside the observed range)."""


class DoseResponseMixin:
    """``dose_response`` and ``plot_dose_response`` of :class:`skcfm.CFMCateEstimator`.

    Reads the members' means (:class:`skcfm.cate_members.MemberPredictionsMixin`), the
    treatment encoding and the training treatments ``T_`` set in ``fit``.
    """

    def dose_response(self, X, t_grid) -> np.ndarray:
        """E[Y | do(T = t), x] for every row of X and every t in ``t_grid``.

        Returns
        -------
        ndarray of shape (m, len(t_grid))
        """
        return self._dose_means(X, t_grid)[1].mean(axis=0).T

    def _dose_means(self, X, t_grid) -> tuple[np.ndarray, np.ndarray]:
        """The checked grid and per-member E[Y | do(T = t), x], shape (E, len(grid), m)."""
        X_arr = self._check_X(X)
        grid = check_vector(t_grid, "t_grid")
        if self._n_controls:
            raise ValueError("dose_response conditions on X only; fit without W to use it")
        if self.treatment_kind_ == "continuous":
            low, high = self.T_.min(), self.T_.max()
            beyond = grid[(grid < low) | (grid > high)]
            if beyond.size:
                warnings.warn(f"t_grid holds {beyond.size} dose(s) outside the observed range [{low:g}, {high:g}] "
                              f"(e.g. {beyond[0]:g}): the model extrapolates there, with no data to check it",
                              ExtrapolationWarning, stacklevel=3)
        treatments = [self._treatments.transform(t, X_arr.shape[0], "t_grid") for t in grid]
        return grid, self._member_means(self._model_X(X_arr), treatments)

    def plot_dose_response(self, X, t_grid, *, ax=None, alpha: float = 0.1):
        """Plot the average dose-response curve over the rows of X with an ensemble band.

        Returns
        -------
        matplotlib Axes
        """
        plt = import_optional("matplotlib.pyplot", extra="plot", purpose="CFMCateEstimator.plot_dose_response")

        check_alpha(alpha)
        grid, means = self._dose_means(X, t_grid)
        curves = means.mean(axis=2)  # (E, len(grid))
        ax = ax if ax is not None else plt.subplots(figsize=(5, 3.5))[1]
        ax.plot(grid, curves.mean(0), color="C0", label="average E[Y | do(T = t)]")
        if len(curves) > 1:
            lo, hi = np.quantile(curves, [alpha / 2, 1 - alpha / 2], axis=0)
            ax.fill_between(grid, lo, hi, color="C0", alpha=0.25, label=f"ensemble {1 - alpha:.0%} band")
        ax.set_xlabel(str(self.treatment_name_))
        ax.set_ylabel(f"E[{self.outcome_name_} | do({self.treatment_name_})]")
        ax.legend()
        return ax
