"""skcfm.dask: effects over Dask partitions on a process-based LocalCluster."""

import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe", reason="the [dask] extra is not installed")
distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed")

from skcfm.dask import map_partitions  # noqa: E402


@pytest.fixture
def fitted(fitted_on_frame):
    return fitted_on_frame


@pytest.mark.slow
def test_map_partitions_on_process_cluster_equals_in_memory_effect(fitted):
    est, X = fitted
    frame = dd.from_pandas(X, npartitions=3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            effects = map_partitions(est, frame).compute()
    np.testing.assert_allclose(effects.sort_index().to_numpy(), est.effect(X), rtol=1e-5, atol=1e-6)


def test_map_partitions_rejects_unknown_columns(fitted):
    est, X = fitted
    with pytest.raises(ValueError, match="columns"):
        map_partitions(est, dd.from_pandas(X, npartitions=2), columns=["a", "zzz"])


def test_map_partitions_rejects_unknown_method(fitted):
    est, X = fitted
    with pytest.raises(ValueError, match="method"):
        map_partitions(est, dd.from_pandas(X, npartitions=2), method="fit")


def test_map_partitions_asks_for_columns_when_fitted_on_an_array(tiny_model, fitted):
    from skcfm import CFMCateEstimator

    _, X = fitted
    rng = np.random.default_rng(0)
    est = CFMCateEstimator(model=tiny_model, n_estimators=1).fit(X.to_numpy(), rng.integers(0, 2, len(X)),
                                                                   rng.normal(size=len(X)))
    with pytest.raises(ValueError, match="no feature_names_in_ .* pass columns= explicitly"):
        map_partitions(est, dd.from_pandas(X, npartitions=2))
    assert len(map_partitions(est, dd.from_pandas(X, npartitions=2), columns=list(X.columns)).compute()) == len(X)


def test_each_partition_runs_on_one_thread(fitted):
    import skcfm
    from skcfm._threads import n_model_threads
    from skcfm.partitions import predict_partition

    est, X = fitted
    seen = []

    class Recorder:
        def effect(self, X_part):
            seen.append(n_model_threads())
            return est.effect(X_part)

    with skcfm.config_context(n_threads=3):
        out = predict_partition(X, Recorder(), list(X.columns), "effect", {})
        assert n_model_threads() == 3
    assert seen == [1]
    np.testing.assert_array_equal(out.to_numpy(), est.effect(X))
