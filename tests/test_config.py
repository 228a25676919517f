"""The global configuration (skcfm.set_config) and the progress bars it governs."""

import subprocess
import sys
import threading

import pytest

import skcfm
from skcfm._config import _env_flag, progress_bar

tqdm_auto = pytest.importorskip("tqdm.auto", reason="the [train] extra (tqdm) is not installed")


def test_get_config_is_a_copy():
    config = skcfm.get_config()
    config["progress"] = "changed"
    assert skcfm.get_config()["progress"] in (True, False)


def test_set_config_and_context():
    before = skcfm.get_config()["progress"]
    try:
        skcfm.set_config(progress=True)
        assert skcfm.get_config()["progress"] is True
        with skcfm.config_context(progress=False):
            assert skcfm.get_config()["progress"] is False
            with skcfm.config_context(progress=True):
                assert skcfm.get_config()["progress"] is True
            assert skcfm.get_config()["progress"] is False
        assert skcfm.get_config()["progress"] is True
        skcfm.set_config(progress=None)  # None leaves the value alone, as in scikit-learn
        assert skcfm.get_config()["progress"] is True
        skcfm.set_config(progress=False)
        assert skcfm.get_config()["progress"] is False
    finally:
        skcfm.set_config(progress=before)


def test_context_restores_on_exception():
    before = skcfm.get_config()
    with pytest.raises(RuntimeError):
        with skcfm.config_context(progress=not before["progress"]):
            raise RuntimeError
    assert skcfm.get_config() == before


def test_context_is_per_thread():
    seen = {}
    with skcfm.config_context(progress=True):
        with skcfm.config_context(progress=False):
            thread = threading.Thread(target=lambda: seen.update(skcfm.get_config()))
            thread.start()
            thread.join()
    # a new thread starts from the process-wide value that set_config sets, not the context's
    assert seen["progress"] == skcfm.get_config()["progress"]


def test_progress_bar_off_returns_the_iterable_or_a_silent_bar():
    items = [1, 2, 3]
    with skcfm.config_context(progress=False):
        assert progress_bar(items, desc="x") is items
        with progress_bar(total=5, desc="manual", initial=1) as bar:
            bar.update(2)
            bar.set_postfix(loss="0.1")
            bar.set_description("y")
    assert not isinstance(bar, tqdm_auto.tqdm)


def test_silent_bar_still_writes_messages(capsys):
    with skcfm.config_context(progress=False):
        bar = progress_bar(total=2)
    bar.write("FAILED fold 1")
    assert capsys.readouterr().out == "FAILED fold 1\n"


def test_progress_bar_on_is_tqdm(capsys):
    with skcfm.config_context(progress=True):
        bar = progress_bar(range(4), desc="rows", file=sys.stderr)
        assert isinstance(bar, tqdm_auto.tqdm)
        assert list(bar) == [0, 1, 2, 3]
        assert progress_bar(range(4), disable=True) == range(4)
    assert "rows" in capsys.readouterr().err


def test_progress_bar_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm...` raise ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with skcfm.config_context(progress=True):
        assert progress_bar([1], desc="x") == [1]
        progress_bar(total=3).update(1)


@pytest.mark.parametrize("value, expected", [("0", False), ("off", False), ("False", False), ("1", True), ("", True)])
def test_environment_flag(monkeypatch, value, expected):
    monkeypatch.setenv("SKCFM_PROGRESS", value)
    assert _env_flag("SKCFM_PROGRESS", True) is expected


def test_environment_variable_sets_the_default():
    code = "import skcfm; print(skcfm.get_config()['progress'])"
    env = {"SKCFM_PROGRESS": "0", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_n_threads_runs_members_side_by_side_on_one_torch_thread_each():
    import threading

    import torch

    from skcfm._threads import map_members, model_threads, n_jobs_or_threads, n_model_threads

    assert skcfm.get_config()["n_threads"] == "auto"
    assert 1 <= n_model_threads() <= 8
    before = torch.get_num_threads()
    with skcfm.config_context(n_threads=3):
        assert n_model_threads() == 3 and n_jobs_or_threads(None) == 3 and n_jobs_or_threads(-1) == -1
        assert n_jobs_or_threads(None, n_rows=499) == 1 and n_jobs_or_threads(None, n_rows=500) == 3
        with model_threads():
            assert torch.get_num_threads() == 1
        barrier = threading.Barrier(3, timeout=10)  # passes only if three items run at once
        names = map_members(lambda k: (barrier.wait(), threading.current_thread().name)[1], range(3))
        assert len(set(names)) == 3 and all(name.startswith("skcfm") for name in names)
        assert map_members(lambda k: map_members(lambda j: j * k, range(3)), range(3)) == [[0, 0, 0], [0, 1, 2],
                                                                                          [0, 2, 4]]
    with skcfm.config_context(n_threads=1):
        assert {threading.current_thread().name} == set(map_members(lambda k: threading.current_thread().name,
                                                                    range(4)))
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads=0; expected a positive integer or 'auto'"):
        skcfm.set_config(n_threads=0)


def test_answers_do_not_depend_on_the_number_of_threads(tiny_model):
    import numpy as np

    from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    T = (rng.random(300) < 0.5).astype(int)
    Y = X[:, 0] + T + rng.normal(size=300)
    answers = []
    for n_threads in (1, 3):
        with skcfm.config_context(n_threads=n_threads):
            # 16-row contexts: several regions, members in pairs (cross-fitted through the fitted contexts)
            est = CFMCateEstimator(model=tiny_model, context_size=16, n_estimators=4, random_state=0).fit(X, T, Y)
            cfm = CFMCateEstimator(model=tiny_model, final_stage="cfm", context_size=16, fit_mode="low_memory",
                                   random_state=0).fit(X, T, Y)
            reg = GraphConditionedCFMRegressor(model=tiny_model, treatment=0, n_estimators=3,
                                               random_state=0).fit(np.column_stack([T, X]), Y)
            answers.append([est.effect(X), est.ate_interval(), cfm.effect(X[:50]), cfm.effect_interval(X[:50]),
                            reg.predict(np.column_stack([T, X])[:40])])
    assert len(est.neighbourhoods_.centres) > 1
    for one, three in zip(*answers, strict=True):
        np.testing.assert_array_equal(one, three)
