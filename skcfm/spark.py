"""Scale out on Spark: a fitted estimator's effects or predictions over a Spark DataFrame.

The estimator is broadcast once (it pickles with its model); each executor then runs
``effect`` / ``predict`` on pandas batches through ``DataFrame.mapInPandas``. skcfm and
torch must be installed on the executors; ``spark.sql.execution.arrow.maxRecordsPerBatch``
bounds the rows of one batch.
"""

from __future__ import annotations

from typing import Literal

from .partitions import METHODS, check_columns, predict_partition


def map_in_pandas(
    estimator,
    frame,
    *,
    columns: list | None = None,
    method: Literal["effect", "predict"] = "effect",
    output_col: str | None = None,
    **kwargs,
):
    """Lazily add a column with a fitted estimator's ``effect`` or ``predict`` to ``frame``.

    Parameters
    ----------
    estimator : fitted CFMCateEstimator or GraphConditionedCFMRegressor
    frame : pyspark.sql.DataFrame
    columns : list, default=None
        Columns passed as X, in the order used at fit; default: the estimator's
        ``feature_names_in_``.
    method : {"effect", "predict"}, default="effect"
    output_col : str, default=None
        Name of the new double column; default: ``method``.
    **kwargs
        Passed to the method (e.g. ``T0=0, T1=1``).

    Returns
    -------
    pyspark.sql.DataFrame
        ``frame``'s columns plus ``output_col``.
    """
    from pyspark.sql.types import DoubleType, StructField, StructType

    if method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of {METHODS}")
    columns = check_columns(estimator, frame.columns, columns)
    output_col = method if output_col is None else output_col
    if output_col in frame.columns:
        raise ValueError(f"output_col={output_col!r} is already a column of frame; pass another name")
    broadcast = frame.sparkSession.sparkContext.broadcast(estimator)

    def add_column(batches):
        fitted = broadcast.value
        for batch in batches:
            yield batch.assign(**{output_col: predict_partition(batch, fitted, columns, method, kwargs).to_numpy()})

    schema = StructType(frame.schema.fields + [StructField(output_col, DoubleType())])
    return frame.mapInPandas(add_column, schema=schema)
