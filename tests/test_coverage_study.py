"""Tests for benchmarks/coverage_study.py: the design it simulates, its truths and its rows."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load():
    if "coverage_study" in sys.modules:
        return sys.modules["coverage_study"]
    spec = importlib.util.spec_from_file_location("coverage_study", BENCH / "coverage_study.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_study"] = module
    spec.loader.exec_module(module)
    return module


study = _load()


@pytest.mark.parametrize(("overlap", "share"), [("good", 0.0), ("moderate", 0.05), ("poor", 0.25)])
def test_overlap_regimes_put_the_stated_share_of_rows_outside_0_05_0_95(overlap, share):
    shares = [study.simulate(4000, 6, overlap, "linear", "gaussian", seed)["share_extreme"] for seed in range(5)]
    assert np.mean(shares) == pytest.approx(share, abs=0.01)


def test_truths_are_the_mean_effect_and_the_overlap_weighted_mean_of_the_true_effects():
    data = study.simulate(500, 7, "moderate", "sharp", "t3", random_state=3)
    assert data["X"].shape == (500, 7) and set(np.unique(data["X"][:, 5:])) <= {0.0, 1.0}
    assert data["ate"] == pytest.approx(data["tau"].mean())
    w = data["propensity"] * (1 - data["propensity"])
    assert data["overlap_ate"] == pytest.approx(np.sum(w * data["tau"]) / np.sum(w))
    assert study.overlap_truth(np.array([1.0, 3.0]), np.array([0.5, 0.1])) == pytest.approx(
        (0.25 * 1 + 0.09 * 3) / 0.34)


def test_outcome_is_control_surface_plus_the_effect_of_the_treated():
    data = study.simulate(2000, 6, "good", "smooth", "gaussian", random_state=1)
    mu0, tau = study.surfaces(data["X"], "smooth")
    np.testing.assert_array_equal(tau, data["tau"])
    noise = data["Y"] - mu0 - data["T"] * tau
    assert abs(noise.mean()) < 0.1 and noise.std() == pytest.approx(1.0, abs=0.1)
    assert data["tau"].std() > 0.3  # heterogeneous


def test_simulation_is_seeded():
    a, b = (study.simulate(100, 6, "poor", "linear", "t3", random_state=7) for _ in range(2))
    np.testing.assert_array_equal(a["Y"], b["Y"])


def test_eighteen_consecutive_data_sets_hold_every_design_cell():
    cells = {tuple(study.design(i)[k] for k in ("overlap", "surface", "noise")) for i in range(5, 23)}
    assert len(cells) == 18
    assert study.design(4, seed=10)["seed"] == 14


def test_score_counts_coverage_width_and_error_per_estimand():
    data = {"ate": 1.0, "overlap_ate": 2.0, "tau": np.array([0.0, 1.0, 2.0, 3.0])}
    rows = study.score(data, {
        "ate": (1.2, 0.9, 1.5, None, 1, "normal"),
        "overlap": (1.2, 0.9, 1.5, None, 0, "normal"),
        "overlap_fitted": (1.2, 0.9, 1.5, 1.4, 1, "normal"),
        "cate_rows": (np.array([0.5, 1.0, 2.0, 2.0]), np.array([-1.0, 0.0, 2.5, 1.0]),
                      np.array([1.0, 2.0, 3.0, 4.0]), None, 0, "ensemble spread"),
    })
    by = {r["estimand"]: r for r in rows}
    assert by["ate"]["covered"] == 1.0 and by["ate"]["width"] == pytest.approx(0.6)
    assert by["ate"]["abs_error"] == pytest.approx(0.2)
    assert by["overlap"]["covered"] == 0.0 and by["overlap"]["truth"] == 2.0
    assert by["overlap_fitted"]["covered"] == 1.0 and by["overlap_fitted"]["truth"] == 1.4
    assert by["cate_rows"]["covered"] == 0.75  # row 2's interval [2.5, 3] misses 2
    assert by["cate_rows"]["abs_error"] == pytest.approx(0.375)
    assert by["cate_rows"]["stated"] == 0


def test_summary_gives_binomial_standard_errors():
    df = pd.DataFrame({"overlap": "good", "method": "m", "estimand": "ate", "covered": [1.0, 1.0, 0.0, 1.0],
                       "width": 1.0, "abs_error": 0.5, "stated": 1, "share_extreme": 0.0})
    row = study.summarize(df).iloc[0]
    assert row["coverage"] == 0.75 and row["coverage_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))


def test_run_writes_rows_resumes_and_summarises(tmp_path, tiny_model_path, monkeypatch, capsys):
    monkeypatch.setenv("SKCFM_BENCH_MODEL", str(tiny_model_path))
    out = tmp_path / "coverage.csv"
    args = ["--datasets", "2", "--n-rows", "200", "--methods", "skcfm", "linear_dml", "--out", str(out)]
    assert study.main(args) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == study.FIELDS
    skcfm = df[df["method"] == "skcfm"]
    assert set(skcfm["estimand"]) == {"ate", "overlap", "overlap_fitted", "cate_rows"}
    assert set(df.loc[df["method"] == "linear_dml", "estimand"]) == {"ate", "cate_rows"}
    assert skcfm.loc[skcfm["estimand"] == "cate_rows", "interval_kind"].eq("ensemble spread").all()
    assert (df["width"] > 0).all() and df["covered"].between(0, 1).all()
    assert list(df["dataset"].unique()) == [0, 1] and set(df["overlap"]) == {"good", "moderate"}
    assert study.main(args) == 0  # a rerun fits nothing and adds nothing
    assert len(pd.read_csv(out)) == len(df)
    assert "By overlap regime" in capsys.readouterr().out
