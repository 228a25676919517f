"""The :class:`sklearn.utils.Bunch` that every loader and simulator of :mod:`skcfm.datasets` returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch


def make_bunch(
    data, feature_names, treatment, treatment_name, outcome, outcome_name, truth,
    *, as_frame, **info,
) -> Bunch:
    """Assemble the returned Bunch; with ``as_frame`` wrap arrays in pandas objects."""
    treatment = np.asarray(treatment)
    outcome = np.asarray(outcome, dtype=float)
    frame = None
    if as_frame:
        if not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data, columns=feature_names)
        data = data.reset_index(drop=True)
        treatment = pd.Series(treatment, name=treatment_name)
        outcome = pd.Series(outcome, name=outcome_name)
        truth = {k: pd.Series(v, name=k) for k, v in truth.items()}
        frame = pd.concat([data, treatment, outcome], axis=1)
    return Bunch(
        data=data,
        treatment=treatment,
        outcome=outcome,
        truth=Bunch(**truth),
        frame=frame,
        feature_names=list(feature_names),
        **info,
    )
