"""EconML's ``DoWhyWrapper`` for :class:`skcfm.CFMCateEstimator`: ``est.dowhy``.

Builds DoWhy's ``CausalModel`` from arrays and estimates through the DoWhy method
:class:`skcfm.dowhy.CFMCateEstimator`, so that DoWhy's refuters apply to the CFM as to
EconML's estimators. Imported by ``skcfm.dowhy`` (``skcfm.dowhy.CFMDoWhyWrapper``) and by the
estimator's ``dowhy`` property. It names the DoWhy method rather than importing
``skcfm.dowhy``, which imports ``skcfm.cate``: the modules form no import cycle. Needs
DoWhy: ``pip install skcfm[dowhy]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._optional import import_optional

import_optional("dowhy", extra="dowhy", purpose="skcfm.dowhy_wrapper")

from dowhy import CausalModel  # noqa: E402  (after the check that names the extra)
from econml.dowhy import DoWhyWrapper  # noqa: E402
from econml.utilities import get_input_columns  # noqa: E402

from ._validation import is_numeric  # noqa: E402

# the method_name that selects skcfm.dowhy.CFMCateEstimator; skcfm.dowhy.dowhy_method_name
# derives the same string from that class
METHOD_NAME = "backdoor.skcfm.dowhy.CFMCateEstimator"


class CFMDoWhyWrapper(DoWhyWrapper):
    """EconML's ``DoWhyWrapper`` for :class:`skcfm.CFMCateEstimator`.

    EconML's wrapper builds the method name from the estimator's module
    (``skcfm.cate``), which DoWhy cannot use; this one estimates through
    :class:`skcfm.dowhy.CFMCateEstimator` with the estimator's parameters. Refuters and the
    fitted estimator are reached as with EconML's wrapper.

    Parameters
    ----------
    cate_estimator : skcfm.CFMCateEstimator
        Unfitted; its parameters are copied (``get_params``).
    """

    def __init__(self, cate_estimator) -> None:
        super().__init__(cate_estimator)

    def fit(self, Y, T, X=None, W=None, *, outcome_names=None, treatment_names=None, feature_names=None,
            confounder_names=None, graph=None, control_value=0, treatment_value=1, target_units="ate", **kwargs):
        """Build a ``CausalModel`` from the arrays (and ``graph``), identify and estimate.

        Parameters
        ----------
        Y, T : array-like of shape (n,)
        X : array-like of shape (n, d_x), optional
            Effect modifiers (also common causes).
        W : array-like of shape (n, d_w), optional
            Other common causes.
        outcome_names, treatment_names, feature_names, confounder_names : list, optional
            Column names; default to the inputs' names or Y, T, X0..., W0...
        graph : str, optional
            DOT graph over those names; default: X and W cause T and Y.
        control_value, treatment_value, target_units
            Passed to ``CausalModel.estimate_effect``.
        **kwargs
            ``fit_params`` for ``skcfm.CFMCateEstimator.fit``.

        Returns
        -------
        self
        """
        blocks = {"Y": (Y, outcome_names), "T": (T, treatment_names), "X": (X, feature_names),
                  "W": (W, confounder_names)}
        frames, names = [], {}
        for prefix, (values, given) in blocks.items():
            if values is None:
                names[prefix] = []
                continue
            labels = prefix == "T" and not is_numeric(values)  # labels stay labels, as DoWhy's categories
            values = np.asarray(values, dtype=object if labels else float)
            values = values.reshape(len(values), -1)
            names[prefix] = list(given) if given is not None else get_input_columns(blocks[prefix][0], prefix=prefix)
            frame = pd.DataFrame(values, columns=names[prefix])
            frames.append(frame.astype("category") if labels else frame)
        if len(names["Y"]) != 1 or len(names["T"]) != 1:
            raise ValueError(f"Y and T must be single columns; got {len(names['Y'])} and {len(names['T'])}")
        self.dowhy_ = CausalModel(
            data=pd.concat(frames, axis=1), treatment=names["T"], outcome=names["Y"], graph=graph,
            common_causes=(names["X"] + names["W"]) or None, effect_modifiers=names["X"] or None,
        )
        self.identified_estimand_ = self.dowhy_.identify_effect(proceed_when_unidentifiable=True)
        self.estimate_ = self.dowhy_.estimate_effect(
            self.identified_estimand_, method_name=METHOD_NAME, control_value=control_value,
            treatment_value=treatment_value, target_units=target_units,
            method_params={"graph": self.dowhy_, "init_params": self._cate_estimator.get_params(deep=False),
                           "fit_params": kwargs},
        )
        return self
