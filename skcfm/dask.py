"""Scale out on Dask: a fitted estimator is a small context plus a model, and queries are
independent, so predictions map over the partitions of a Dask DataFrame.

The fitted estimator is sent to each worker once (it pickles with its model); every
partition runs ``effect`` / ``predict`` on its rows (:func:`skcfm.partitions.predict_partition`).
With Spark, the same function works inside ``DataFrame.mapInPandas``: :func:`skcfm.spark.map_in_pandas`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .partitions import METHODS, check_columns, predict_partition


def map_partitions(
    estimator,
    frame,
    *,
    columns: list | None = None,
    method: Literal["effect", "predict"] = "effect",
    **kwargs,
):
    """Lazily apply a fitted estimator's ``effect`` or ``predict`` to every partition.

    Parameters
    ----------
    estimator : fitted CFMCateEstimator or GraphConditionedCFMRegressor
    frame : dask.dataframe.DataFrame
    columns : list, default=None
        Columns passed as X, in the order used at fit; default: the estimator's
        ``feature_names_in_``.
    method : {"effect", "predict"}, default="effect"
    **kwargs
        Passed to the method (e.g. ``T0=0, T1=1``).

    Returns
    -------
    dask.dataframe.Series
        One float per row, with the frame's index.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of {METHODS}")
    columns = check_columns(estimator, frame.columns, columns)
    meta = pd.Series([], dtype=np.float64, name=method)
    return frame.map_partitions(predict_partition, estimator, columns, method, kwargs, meta=meta)
