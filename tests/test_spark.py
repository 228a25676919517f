"""skcfm.spark: effects over a Spark DataFrame through mapInPandas, on a local Spark session."""

import shutil

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark; it also needs Java)")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime on PATH", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402

from skcfm.spark import map_in_pandas  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    session = (
        SparkSession.builder.master("local[2]").appName("skcfm-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.execution.arrow.maxRecordsPerBatch", "25")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture
def fitted(fitted_on_frame):
    return fitted_on_frame


@pytest.mark.slow
def test_map_in_pandas_equals_in_memory_effect(spark, fitted):
    est, X = fitted
    frame = spark.createDataFrame(X.assign(row=np.arange(len(X))))
    result = map_in_pandas(est, frame, output_col="cate").toPandas().sort_values("row")
    assert list(result.columns) == ["a", "b", "c", "row", "cate"]
    np.testing.assert_allclose(result.cate.to_numpy(), est.effect(X), rtol=1e-5, atol=1e-6)


def test_map_in_pandas_rejects_bad_arguments(spark, fitted):
    est, X = fitted
    frame = spark.createDataFrame(X)
    with pytest.raises(ValueError, match="columns"):
        map_in_pandas(est, frame, columns=["a", "zzz"])
    with pytest.raises(ValueError, match="method"):
        map_in_pandas(est, frame, method="fit")
    with pytest.raises(ValueError, match="output_col"):
        map_in_pandas(est, frame, output_col="a")
