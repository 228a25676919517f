"""Predictions over the partitions of a distributed data frame, shared by the Dask and Spark helpers.

A fitted estimator's queries are independent row by row, so ``effect`` / ``predict`` run
on each partition (a Dask partition, a pandas batch of Spark's ``mapInPandas``) alone:
:func:`predict_partition` is that per-partition step, :func:`check_columns` resolves the
columns passed as X once, before any partition runs. Each partition runs on one thread
(``n_threads=1``): the cluster's workers and their threads are the parallelism the user
chose, and a task that took every core of its machine would compete with its neighbours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._config import config_context

__all__ = ["METHODS", "check_columns", "predict_partition"]


def predict_partition(frame: pd.DataFrame, estimator, columns: list, method: str, kwargs: dict) -> pd.Series:
    """The estimator's ``method`` (``"effect"`` or ``"predict"``, with ``kwargs``) on the
    ``columns`` of one partition, as a float Series with the partition's index, on one
    thread; an empty partition gives an empty Series without calling the estimator."""
    if len(frame) == 0:
        return pd.Series([], dtype=np.float64, index=frame.index, name=method)
    with config_context(n_threads=1):
        values = getattr(estimator, method)(frame[columns].to_numpy(dtype=np.float64), **kwargs)
    return pd.Series(np.asarray(values, dtype=np.float64), index=frame.index, name=method)


METHODS = ("effect", "predict")


def check_columns(estimator, frame_columns, columns: list | None) -> list:
    """The columns to pass as X: given, or the estimator's ``feature_names_in_``; all in the frame."""
    if columns is None:
        columns = list(getattr(estimator, "feature_names_in_", []))
    if not columns:
        raise ValueError("the estimator has no feature_names_in_ (it was fitted on an array, not a DataFrame with "
                         "string column names); pass columns= explicitly")
    missing = [c for c in columns if c not in list(frame_columns)]
    if missing:
        raise ValueError(f"columns {missing!r} are not all columns of frame; pass columns= explicitly")
    return list(columns)
