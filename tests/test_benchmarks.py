"""Tests for the benchmark harness in benchmarks/: metrics, baselines, run.py, report.py.

The benchmark modules are loaded by file path, so the tests never depend on sys.path.
"""

import argparse
import csv
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from skcfm import CFMCateEstimator, unconfoundedness_pam

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _load(name: str, module_name: str | None = None):
    module_name = module_name or Path(name).name  # "studies/overlap_ate" loads as overlap_ate
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


metrics = _load("_metrics")  # report.py imports it under this name


# --- metrics, against hand-computed values ---------------------------------------------


def test_pehe_hand_computed():
    assert metrics.pehe([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]) == pytest.approx(math.sqrt(5 / 3))
    assert metrics.pehe([4.0, 4.0], [4.0, 4.0]) == 0.0


def test_pehe_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="tau_hat has shape"):
        metrics.pehe([1.0, 2.0], [1.0, 2.0, 3.0])


def test_ate_errors_absolute_and_relative():
    assert metrics.ate_errors([3.0, 3.0], [1.0, 3.0]) == pytest.approx((1.0, 0.5))
    # relative error divides by |ATE|, so a negative ATE gives a positive error
    assert metrics.ate_errors([0.0, 0.0], [-2.0, -2.0]) == pytest.approx((2.0, 1.0))


def test_ate_errors_uses_given_ate_estimate():
    assert metrics.ate_errors([9.0, 9.0], [2.0, 2.0], ate_hat=2.5) == pytest.approx((0.5, 0.25))


def test_ate_errors_zero_true_ate_gives_infinite_relative_error():
    assert metrics.ate_errors([1.0], [0.0]) == (1.0, math.inf)


def test_covers_is_inclusive_and_false_on_nan():
    assert metrics.covers(0.0, 1.0, 1.0) is True
    assert metrics.covers(0.0, 1.0, 1.5) is False
    assert metrics.covers(float("nan"), 1.0, 0.5) is False


def test_coverage_fraction():
    assert metrics.coverage([0, 0, 0], [1, 1, 1], [0.5, 2.0, -1.0]) == pytest.approx(1 / 3)


def test_sem_hand_computed():
    assert metrics.sem([1.0, 2.0, 3.0]) == pytest.approx(1 / math.sqrt(3))
    assert metrics.sem([1.0, np.nan, 3.0]) == pytest.approx(1.0)
    assert math.isnan(metrics.sem([5.0]))


# --- baselines ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baselines():
    return _load("_baselines")


def _toy(n=300, effect=2.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0])))
    Y = X[:, 0] + X[:, 1] + effect * T + rng.normal(scale=0.5, size=n)
    return X[:250], T[:250], Y[:250], X[250:]


def test_register_adds_and_rejects_duplicates(baselines):
    @baselines.register("_test_only")
    def fn(X_train, T_train, Y_train, X_test, *, random_state, quick=False):
        return {}

    try:
        assert baselines.METHODS["_test_only"] is fn
        with pytest.raises(ValueError, match="already registered"):
            baselines.register("_test_only")(fn)
    finally:
        del baselines.METHODS["_test_only"]


def test_baselines_are_registered(baselines):
    assert {"diff_in_means", "linear_dml", "causal_forest_dml", "x_learner", "t_learner",
            "dr_learner"} <= set(baselines.METHODS)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["diff_in_means", "linear_dml", "causal_forest_dml", "x_learner", "t_learner",
             "dr_learner"],
)
def test_baseline_follows_contract_and_recovers_constant_effect(baselines, name):
    X_tr, T_tr, Y_tr, X_te = _toy()
    out = baselines.METHODS[name](X_tr, T_tr, Y_tr, X_te, random_state=0, quick=True)
    assert out["cate_test"].shape == (len(X_te),)
    assert out["ate"] == pytest.approx(float(np.mean(out["cate_test"])))
    assert (out["ate_lo"] is None) == (out["ate_hi"] is None)
    if out["ate_lo"] is not None:
        assert out["ate_lo"] <= out["ate"] <= out["ate_hi"]
    if name != "diff_in_means":  # confounded by X[:, 0]: the floor is biased
        assert out["ate"] == pytest.approx(2.0, abs=0.5)


def test_baseline_effects_are_in_outcome_units(baselines):
    # Y is standardised inside the fit; effects must come back in Y's units.
    X_tr, T_tr, Y_tr, X_te = _toy(effect=2.0)
    small = baselines.METHODS["t_learner"](X_tr, T_tr, Y_tr, X_te, random_state=0)
    big = baselines.METHODS["t_learner"](X_tr, T_tr, 1000 * Y_tr, X_te, random_state=0)
    # (not bitwise: the standardised Y differ in the last bits, which can flip near-tied
    # forest splits)
    assert big["ate"] == pytest.approx(1000 * small["ate"], rel=0.02)
    assert big["ate"] == pytest.approx(2000, rel=0.25)


def test_baseline_is_seeded(baselines):
    X_tr, T_tr, Y_tr, X_te = _toy()
    a = baselines.METHODS["x_learner"](X_tr, T_tr, Y_tr, X_te, random_state=3)
    b = baselines.METHODS["x_learner"](X_tr, T_tr, Y_tr, X_te, random_state=3)
    np.testing.assert_array_equal(a["cate_test"], b["cate_test"])


# --- run.py: quick smoke run --------------------------------------------------------------


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared benchmark data not found at {DATA}")
def test_quick_run_writes_rows_and_resumes(tmp_path):
    cmd = [
        sys.executable, str(BENCH / "run.py"), "--datasets", "ihdp", "psid_balanced",
        "--methods", "diff_in_means", "t_learner", "--quick", "--out", str(tmp_path),
        "--data-home", str(DATA),
    ]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]

    ihdp = _rows(tmp_path / "ihdp.csv")
    assert [(r["realization"], r["method"]) for r in ihdp] == [
        ("0", "diff_in_means"), ("0", "t_learner"), ("1", "diff_in_means"), ("1", "t_learner"),
    ]
    for r in ihdp:
        assert (r["n_train"], r["n_test"], r["quick"]) == ("672", "75", "1")
        assert float(r["sqrt_pehe"]) > 0
        assert float(r["ate_rel_err"]) == pytest.approx(
            float(r["ate_abs_err"]) / abs(float(r["ate_true"])))
    dim = [r for r in ihdp if r["method"] == "diff_in_means"]
    assert all(r["ate_covered"] in ("0", "1") for r in dim)
    assert all(r["ate_covered"] == "" for r in ihdp if r["method"] == "t_learner")

    # PSID balanced: all treated rows + 500 controls, split 90/10
    from skcfm.datasets import load_lalonde

    treated = int(load_lalonde(0, group="psid", data_home=DATA).treatment.sum())
    bal = _rows(tmp_path / "psid_balanced.csv")
    assert int(bal[0]["n_train"]) + int(bal[0]["n_test"]) == treated + 500
    assert int(bal[0]["n_train"]) == int(0.9 * (treated + 500))

    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    assert _rows(tmp_path / "ihdp.csv") == ihdp  # nothing recomputed, nothing added


@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared benchmark data not found at {DATA}")
def test_skcfm_rows_name_the_weights_they_loaded(tmp_path, tiny_model_path):
    cmd = [sys.executable, str(BENCH / "run.py"), "--datasets", "ihdp", "--methods", "t_learner", "skcfm_cfm",
           "--quick", "--realizations", "1", "--out", str(tmp_path), "--data-home", str(DATA)]
    env = {**os.environ, "SKCFM_BENCH_MODEL": str(tiny_model_path)}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    rows = {r["method"]: r for r in _rows(tmp_path / "ihdp.csv")}
    assert (rows["skcfm_cfm"]["model_step"], rows["skcfm_cfm"]["model_sha256"]) == (str(card["steps"]),
                                                                                    card["sha256"][:12])
    assert rows["t_learner"]["model_step"] == rows["t_learner"]["model_sha256"] == ""

    # the same folder, other weights: refused before any fit, naming the rows
    card["sha256"] = "0" * 64
    other = tmp_path / "other.safetensors"
    other.write_bytes(tiny_model_path.read_bytes())
    other.with_suffix(".json").write_text(json.dumps(card))
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**env, "SKCFM_BENCH_MODEL": str(other)})
    assert again.returncode != 0
    assert "other weights" in again.stderr and "skcfm_cfm (step" in again.stderr
    assert len(_rows(tmp_path / "ihdp.csv")) == 2


@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared benchmark data not found at {DATA}")
def test_shard_takes_every_nth_realization(tmp_path):
    cmd = [sys.executable, str(BENCH / "run.py"), "--datasets", "ihdp", "--methods", "diff_in_means",
           "--realizations", "5", "--data-home", str(DATA)]
    for k in (0, 1):
        done = subprocess.run(cmd + ["--shard", f"{k}/2", "--out", str(tmp_path / str(k))],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    assert [r["realization"] for r in _rows(tmp_path / "0" / "ihdp.csv")] == ["0", "2", "4"]
    assert [r["realization"] for r in _rows(tmp_path / "1" / "ihdp.csv")] == ["1", "3"]


@pytest.mark.parametrize("value", ["2/2", "1", "a/b", "-1/2"])
def test_shard_rejects_bad_values(value, capsys):
    run = _load("run")
    with pytest.raises(SystemExit):
        run.parse_args(["--shard", value])
    assert "--shard" in capsys.readouterr().err


def test_overlap_columns_score_the_estimate_against_its_own_weights_on_the_training_rows():
    run = _load("run")
    out = {"overlap": 1.5, "overlap_lo": 1.0, "overlap_hi": 2.0, "overlap_weights": np.array([0.25, 0.0, 0.25])}
    cols = run.overlap_columns(out, np.array([1.0, 100.0, 3.0]))
    assert cols == {"overlap_true": 2.0, "overlap_hat": 1.5, "overlap_lo": 1.0, "overlap_hi": 2.0,
                    "overlap_covered": 1}
    assert run.overlap_columns({"ate": 1.0}, np.ones(3)) == dict.fromkeys(run.OVERLAP_COLUMNS, "")
    with pytest.raises(ValueError, match="one per training row"):
        run.overlap_columns(out, np.ones(4))


def test_hybrid_method_returns_the_overlap_weighted_ate_with_its_training_row_weights(tiny_model_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("SKCFM_BENCH_MODEL", str(tiny_model_path))
    run = _load("run")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    T = (rng.random(120) < 0.5).astype(int)
    Y = X[:, 0] + T + rng.normal(size=120)
    out = run.METHODS["skcfm_haipw"](X, T, Y, X[:10], random_state=0, quick=True)
    assert out["overlap_weights"].shape == (120,) and (out["overlap_weights"] > 0).all()
    assert out["overlap_lo"] < out["overlap"] < out["overlap_hi"]
    cols = run.evaluate(run.METHODS["skcfm_haipw"], X, T, Y, X[:10], np.ones(10), np.ones(120), random_state=0,
                        quick=True)
    assert cols["overlap_true"] == pytest.approx(1.0) and cols["overlap_covered"] in (0, 1)
    assert "overlap" not in run.METHODS["skcfm_cfm"](X, T, Y, X[:10], random_state=0, quick=True)


def test_rows_written_before_the_overlap_columns_stay_and_gain_them_empty(tmp_path):
    run = _load("run")
    old_fields = [f for f in run.FIELDS if f not in run.OVERLAP_COLUMNS]
    path = tmp_path / "ihdp.csv"
    pd.DataFrame([{**dict.fromkeys(old_fields, ""), "realization": "0", "method": "t_learner", "quick": "0"}],
                 columns=old_fields).to_csv(path, index=False)
    assert run._done(path, ["t_learner"], {}) == {("0", "t_learner", "0")}
    rows = _rows(path)
    assert list(rows[0]) == run.FIELDS and rows[0]["overlap_covered"] == "" and rows[0]["method"] == "t_learner"
    (tmp_path / "bad.csv").write_text("dataset,unknown\nihdp,1\n")
    with pytest.raises(SystemExit, match="expected"):
        run._done(tmp_path / "bad.csv", ["t_learner"], {})


# --- merge_results.py ------------------------------------------------------------------------


def _acic_rows(method: str, realizations, sqrt_pehe: str, quick: str = "0") -> list[dict]:
    run = _load("run")
    return [{**dict.fromkeys(run.FIELDS, ""), "dataset": "acic", "realization": str(i), "method": method,
             "quick": quick, "sqrt_pehe": sqrt_pehe} for i in realizations]


def _write(path: Path, rows: list[dict]) -> None:
    pd.DataFrame(rows, columns=_load("run").FIELDS).to_csv(path, index=False)


def test_merge_replaces_only_complete_reruns(tmp_path):
    merge_results = _load("merge_results")
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    old = _acic_rows("t_learner", range(1, 11), "2.0") + _acic_rows("skcfm_cfm", range(1, 11), "2.1")
    old += _acic_rows("skcfm_cfm", range(1, 3), "9.9", quick="1")
    _write(tmp_path / "dst" / "acic.csv", old)
    _write(tmp_path / "src" / "acic.csv",
           _acic_rows("skcfm_cfm", range(1, 11), "1.5") + _acic_rows("t_learner", range(1, 10), "0.1"))

    replaced, skipped = merge_results.merge(tmp_path / "src", tmp_path / "dst")

    assert replaced == [("acic", "skcfm_cfm")]
    assert skipped == [("acic", "t_learner", 9)]
    merged = pd.read_csv(tmp_path / "dst" / "acic.csv", dtype=str, keep_default_na=False)
    by_kind = merged.groupby(["method", "quick"])["sqrt_pehe"].agg(lambda values: sorted(set(values)))
    assert by_kind.to_dict() == {("skcfm_cfm", "0"): ["1.5"], ("skcfm_cfm", "1"): ["9.9"], ("t_learner", "0"): ["2.0"]}
    assert len(merged) == 22


def test_merge_completes_a_rerun_from_its_shard_folders(tmp_path):
    merge_results = _load("merge_results")
    for folder in ("a", "b", "dst"):
        (tmp_path / folder).mkdir()
    _write(tmp_path / "dst" / "acic.csv", _acic_rows("skcfm_dr", range(1, 11), "2.0"))
    _write(tmp_path / "a" / "acic.csv", _acic_rows("skcfm_dr", range(1, 11, 2), "1.0"))
    _write(tmp_path / "b" / "acic.csv", _acic_rows("skcfm_dr", [1, *range(2, 11, 2)], "3.0"))  # 1 twice

    assert merge_results.merge([tmp_path / "a"], tmp_path / "dst") == ([], [("acic", "skcfm_dr", 5)])
    assert merge_results.merge([tmp_path / "a", tmp_path / "b"], tmp_path / "dst") == ([("acic", "skcfm_dr")], [])
    merged = pd.read_csv(tmp_path / "dst" / "acic.csv", dtype=str)
    assert len(merged) == 10 and dict(zip(merged["realization"], merged["sqrt_pehe"], strict=True)) == {
        str(i): "1.0" if i % 2 else "3.0" for i in range(1, 11)}  # the first folder's row for realization 1


# --- report.py ------------------------------------------------------------------------------


@pytest.fixture
def report():
    return _load("report", "skcfm_benchmarks_report")


def _tiny_results(folder: Path) -> None:
    rows = []
    for method, pehes in {"t_learner": [1.0, 2.0, 3.0], "diff_in_means": [4.0, 4.0, 5.0]}.items():
        for i, p in enumerate(pehes):
            rows.append({
                "dataset": "ihdp", "realization": i, "method": method, "quick": 0,
                "sqrt_pehe": p, "ate_rel_err": 0.1 * (i + 1), "ate_abs_err": 0.4 * (i + 1),
                "ate_covered": (1 if i else 0) if method == "diff_in_means" else np.nan,
                "time_s": 0.5, "git_commit": "abc1234", "machine": "test machine",
            })
    rows.append({**rows[0], "realization": 0, "quick": 1, "sqrt_pehe": 99.0})
    pd.DataFrame(rows).to_csv(folder / "ihdp.csv", index=False)
    pd.DataFrame({"n": [1], "coverage": [0.9]}).to_csv(folder / "coverage.csv", index=False)


def test_report_tables_from_tiny_csv(tmp_path, report):
    _tiny_results(tmp_path)
    readme = report.write_report(tmp_path).read_text()
    # t_learner: sqrt(PEHE) 1, 2, 3 -> mean 2, SEM 1/sqrt(3); quick row left out
    assert "| t_learner | 3 | 2.00 ± 0.58 | 0.200 ± 0.058 |" in readme
    # diff_in_means covers in 2 of 3 realizations
    assert "| 0.67 (3) |" in readme
    assert "| *T-learner (no tuning)* | | 2.94 | 0.22 |" in readme
    assert "test machine" in readme
    assert "abc1234" not in readme and "Generated:" not in readme  # no commit hashes or dates in the report
    assert "| seed CFM, with ancestral info (Table 1) | 5.49 / 0.49 |" in readme
    assert (tmp_path / "pehe_ihdp.png").stat().st_size > 0
    assert (tmp_path / "time_vs_accuracy.png").stat().st_size > 0


def test_report_shows_overlap_coverage_beside_ate_coverage(tmp_path, report):
    _tiny_results(tmp_path)  # rows without the overlap columns, as written before run.py recorded them
    old = report.write_report(tmp_path).read_text()
    assert "| overlap ATE coverage (95%) |" in old and "| 0.67 (3) | — |" in old
    rows = pd.read_csv(tmp_path / "ihdp.csv")
    hybrid = rows[rows["method"] == "diff_in_means"].assign(method="skcfm_haipw", overlap_covered=[1, 0, 1])
    pd.concat([rows, hybrid]).to_csv(tmp_path / "ihdp.csv", index=False)
    readme = report.write_report(tmp_path).read_text()
    assert "| skcfm_haipw | 3 |" in readme and "| 0.67 (3) | 0.67 (3) |" in readme
    assert "| 0.67 (3) | — |" in readme  # diff_in_means has no overlap-weighted ATE


def test_report_names_the_weights_of_the_skcfm_rows(tmp_path, report):
    _tiny_results(tmp_path)
    rows = pd.read_csv(tmp_path / "ihdp.csv")
    cfm = rows[rows["method"] == "t_learner"].assign(method="skcfm_cfm", model_step=31263, model_sha256="5e43be3ea9c5")
    pd.concat([rows, cfm]).to_csv(tmp_path / "ihdp.csv", index=False)
    readme = report.write_report(tmp_path).read_text()
    assert "- Weights of the skcfm rows: sha256 5e43be3ea9c5…\n" in readme
    rows.to_csv(tmp_path / "ihdp.csv", index=False)
    assert "- Weights of the skcfm rows: not recorded\n" in report.write_report(tmp_path).read_text()


def test_time_vs_accuracy_plot_with_more_data_sets_than_a_row_holds(tmp_path, report):
    datasets = ["ihdp", "acic", "cps", "psid"]  # 2 rows x 3 panels, two of them spare
    summary = pd.DataFrame({"dataset": datasets, "method": "t_learner", "time_s": 1.0,
                            "sqrt_pehe": [1.0, 2.0, 3.0, 4.0], "sqrt_pehe_sem": 0.1})
    report.plot_time_vs_accuracy(summary, datasets, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_report_can_include_quick_rows(tmp_path, report):
    _tiny_results(tmp_path)
    readme = report.write_report(tmp_path, include_quick=True).read_text()
    assert "| t_learner | 4 |" in readme


def test_report_shows_the_validation_curve_when_a_training_log_is_there(tmp_path, report):
    (tmp_path / "training").mkdir()
    pd.DataFrame({"step": [250, 500, 500, 750], "datasets_seen": [4000, 8000, 8000, 12000],
                  "elapsed_s": [1.0, 2.0, 2.0, 3.0], "nll": [1.5, 1.2, 1.1, 1.3],
                  "nll_no_pam": [1.6, 1.3, 1.2, 1.4], "cate_mse": 0.4, "cate_mse_no_pam": 0.5}
                 ).to_csv(tmp_path / "training" / "validation_log.csv", index=False)
    readme = report.write_report(tmp_path).read_text()
    assert "## Pretraining: validation curve" in readme
    assert "| 750 | 12,000 | 1.300 | 1.400 |" in readme
    assert (tmp_path / "training" / "validation_curve.png").stat().st_size > 0
    # a step logged twice (a resumed run re-validates) keeps its last row
    text = "\n".join(report.training_section(tmp_path, card={"steps": 750}))
    assert "Lowest NLL: 1.100 at step 500 (no PAM 1.200)" in text
    assert "The shipped weights are step 750" in text and "prior" not in text.split("|")[0]
    text = "\n".join(report.training_section(tmp_path, card={"steps": 900}))
    assert "The shipped weights are step 900, beyond the log's last evaluation" in text


def test_validation_curve_counts_the_best_nll_only_since_the_last_prior_change(tmp_path, report):
    (tmp_path / "training").mkdir()
    pd.DataFrame({"step": [250, 500, 750, 1000], "datasets_seen": [4000, 8000, 12000, 16000],
                  "elapsed_s": 1.0, "nll": [1.5, 1.0, 1.3, 1.2], "nll_no_pam": [1.6, 1.1, 1.4, 1.3],
                  "cate_mse": 0.4, "cate_mse_no_pam": 0.5}).to_csv(tmp_path / "training" / "validation_log.csv")
    card = {"steps": 1000, "prior_history": [{"from_step": 0}, {"from_step": 600}, {"from_step": 5000}]}
    text = "\n".join(report.training_section(tmp_path, card=card))
    assert "changes at steps 600: NLLs compare only between those steps" in text
    assert "Lowest NLL under the final prior (steps after 600): 1.200 at step 1000 (no PAM 1.300)" in text


def test_report_puts_the_noise_floor_beside_the_methods(tmp_path, report):
    _tiny_results(tmp_path)
    # floor 0.6 and 1.0 where t_learner has sqrt(PEHE) 1 and 2 (realization 2 has no floor)
    pd.DataFrame({"dataset": "ihdp", "realization": [0, 1], "n_test": 75, "sqrt_pehe": [0.6, 1.0]}
                 ).to_csv(tmp_path / "noise_floor.csv", index=False)
    excess = math.sqrt(((1.0 - 0.36) + (4.0 - 1.0)) / 2)
    assert report.beyond_floor(report.load_results(tmp_path), pd.read_csv(tmp_path / "noise_floor.csv")
                               )["t_learner"] == pytest.approx(excess)
    readme = report.write_report(tmp_path).read_text()
    assert f"| 0.500 ± 0.000 | {excess:.2f} |" in readme  # t_learner's time, then its excess
    assert "| *noise floor: the true CATE (`noise_floor.py`)* | 2 | 0.800 ± 0.200 |" in readme


def test_report_with_no_results(tmp_path, report):
    readme = report.write_report(tmp_path).read_text()
    assert "Published anchors" in readme


# --- noise_floor.py -------------------------------------------------------------------------


def test_oracle_leaves_out_the_scored_sample_and_its_own_sampling_error():
    noise_floor = _load("noise_floor")
    ite = np.array([[1.0, 5.0], [3.0, 1.0], [2.0, 3.0]])
    # sample 0 against the mean of samples 1 and 2 ([2.5, 2.0]); MSE (2.25 + 9) / 2, over 1 + 1/2
    expected = math.sqrt((2.25 + 9.0) / 2 / 1.5)
    assert noise_floor.oracle_sqrt_pehe(ite, 0, np.array([0, 1])) == pytest.approx(expected)
    assert noise_floor.oracle_sqrt_pehe(ite, 0, np.array([1])) == pytest.approx(math.sqrt(9.0 / 1.5))
    with pytest.raises(ValueError, match="at least 2 samples"):
        noise_floor.oracle_sqrt_pehe(ite[:1], 0, np.array([0]))


def test_rmse_vs_true_cate_takes_off_the_true_cates_sampling_variance():
    noise_floor = _load("noise_floor")
    estimate, truth = np.array([1.0, 3.0]), np.array([0.0, 0.0])
    assert noise_floor.rmse_vs_true_cate(estimate, truth, np.array([1.0, 1.0])) == pytest.approx(2.0)  # sqrt(5 - 1)
    assert noise_floor.rmse_vs_true_cate(estimate, truth, np.array([9.0, 9.0])) == 0.0


def test_oracle_recovers_the_noise_level():
    noise_floor = _load("noise_floor")
    rng = np.random.default_rng(0)
    cate = rng.normal(scale=5.0, size=300)
    ite = cate + rng.normal(scale=2.0, size=(40, 300))
    floors = [noise_floor.oracle_sqrt_pehe(ite, i, np.arange(300)) for i in range(40)]
    assert np.mean(floors) == pytest.approx(2.0, rel=0.03)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared benchmark data not found at {DATA}")
@pytest.mark.parametrize("dataset", ["psid", "psid_balanced"])
def test_noise_floor_scores_the_rows_the_benchmark_scores(dataset):
    noise_floor, run = _load("noise_floor"), _load("run")
    from skcfm.datasets import load_lalonde

    sample = load_lalonde(3, group="psid", data_home=DATA)
    tau_test = run.DATASETS[dataset][1](3, DATA)[4]
    np.testing.assert_array_equal(sample.truth.ite[noise_floor.test_rows(dataset, 3, sample.treatment)], tau_test)


# --- training throughput ------------------------------------------------------------------


def test_training_throughput_data_parallel_mode_counts_every_process(tmp_path):
    out = tmp_path / "throughput.csv"
    command = [sys.executable, str(BENCH / "training" / "training_throughput.py"), "--configs", "tiny", "--steps", "1",
               "--warmup", "0", "--out", str(out)]
    for extra in (["--threads", "1"], ["--processes", "2"]):
        subprocess.run([*command, *extra], check=True, capture_output=True, timeout=120)
    rows = pd.read_csv(out).set_index("processes")
    assert sorted(rows.index) == [1, 2]  # the second run adds its row, keeping the first
    for processes, row in rows.iterrows():
        expected = processes * row["batch_size"] / (row["prior_s_per_step"] + row["model_s_per_step"])
        assert row["datasets_per_s"] == pytest.approx(expected, rel=0.01)


# --- graph evidence -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph_evidence():
    return _load("studies/graph_evidence")


def test_graph_evidence_rows_label_structure_from_the_true_pam(graph_evidence):
    import torch

    from skcfm.model import CausalFoundationModel
    from skcfm.training import CONFIGS

    config = CONFIGS["tiny"]
    torch.manual_seed(0)
    model = CausalFoundationModel(config.model).eval()
    rows = graph_evidence.prior_rows(model, config, n_batches=1, linear_gaussian=False)
    assert set(rows.pam) == {"full PAM", "partial PAM (50% hidden)", "T–Y entry only", "no PAM"}
    assert len(rows) == 4 * config.batch_size
    # the structure comes from the batch the evidence seed draws, the same for every PAM
    from skcfm.training.prior import sample_batch
    from skcfm.training.train import step_generator

    batch = sample_batch(config.batch_size, step_generator(graph_evidence.EVIDENCE_SEED, 0), config.prior)
    expected = np.where(batch.true_pam[:, 0, 1].numpy() == 1, "T causes Y", "T does not cause Y")
    for _, group in rows.groupby("pam"):
        assert list(group.sort_values("dataset").structure) == list(expected)


def test_graph_evidence_direction_only_keeps_the_t_y_block(graph_evidence):
    import torch

    pam = torch.tensor([[[0, 1, -1], [-1, 0, 1], [1, -1, 0]]], dtype=torch.int8)
    out = graph_evidence._direction_only(pam)
    assert out.tolist() == [[[0, 1, 0], [-1, 0, 0], [0, 0, 0]]]


def test_graph_evidence_summary_pairs_each_structure_with_its_own_baseline(graph_evidence):
    frame = pd.DataFrame({
        "prior": "general", "dataset": [0, 1, 0, 1], "pam": ["full PAM", "full PAM", "no PAM", "no PAM"],
        "structure": ["T causes Y", "T does not cause Y"] * 2, "nll": [1.0, 0.5, 1.5, 2.5],
    })
    table = graph_evidence.summarise(frame).set_index(["structure", "pam"])
    assert table.loc[("all", "full PAM"), "nll vs no PAM"].startswith("-1.250")  # mean of -0.5 and -2.0
    assert table.loc[("T does not cause Y", "full PAM"), "nll vs no PAM"].startswith("-2.000")
    assert table.loc[("T causes Y", "full PAM"), "n"] == 1


def test_graph_evidence_summary_counts_where_the_pam_wins(graph_evidence):
    frame = pd.DataFrame({
        "prior": "IHDP", "dataset": [0, 1, 2] * 2, "pam": ["unconfoundedness PAM"] * 3 + ["no PAM"] * 3,
        "sqrt_pehe": [1.0, 1.0, 9.0, 2.0, 2.0, 1.0],
    })
    row = graph_evidence.summarise(frame).set_index("pam").loc["unconfoundedness PAM"]
    assert row["sqrt_pehe: PAM better in"] == "2/3"  # although the mean difference favours no PAM
    assert row["sqrt_pehe vs no PAM"].startswith("+2.000")


# --- model selection ----------------------------------------------------------------------


@pytest.mark.skipif(not (DATA / "ihdp").is_dir(), reason="needs ../shared/data/ihdp beside the checkout")
def test_model_selection_keeps_off_the_first_ten_realizations(tmp_path, monkeypatch):
    selection = _load("model_selection")
    reported = set(range(10))  # 0-9 of every data set stay clean of any choice
    real = {name: reals for name, reals in selection.SELECTION.items() if name in {"ihdp", "psid", "cps"}}
    assert len(real) == 3 and all(reported.isdisjoint(reals) for reals in real.values())
    monkeypatch.setattr(selection, "SELECTION", {"ihdp": range(10, 11), "psid": range(10, 11)})
    monkeypatch.setenv("SKCFM_BENCH_MODEL", "")  # main() sets it; this restores it afterwards
    from skcfm.pretrained import WEIGHTS_DIR

    weights = str(WEIGHTS_DIR / "cfm-small.safetensors")
    frame = selection.main([weights, weights, "--label", "a", "b", "--datasets", "ihdp",
                            "--out", str(tmp_path / "sel.csv")])
    assert list(frame.model) == ["a", "b"] and frame.sqrt_pehe.notna().all()
    assert set(frame.dataset) == {"ihdp"}  # --datasets leaves psid out
    assert frame.sqrt_pehe.iloc[0] == pytest.approx(frame.sqrt_pehe.iloc[1])  # seeded: same weights, same number
    assert (frame.rmse_true_cate == frame.sqrt_pehe).all()  # IHDP's truth is noiseless
    with pytest.raises(SystemExit):
        selection.main([weights, "--label", "a", "b"])
    # the regressor's effects, predict(T=1) - predict(T=0), read the same plan and arm columns as the estimator's
    estimator, regressor = (selection.main([weights, "--method", method, "--datasets", "ihdp",
                                            "--out", str(tmp_path / f"{method}.csv")])
                            for method in ("skcfm_cfm", "skcfm_regressor"))
    assert regressor.sqrt_pehe.iloc[0] == pytest.approx(estimator.sqrt_pehe.iloc[0], rel=1e-4)
    # the selection default, skcfm_cfm_noarms, leaves the arm columns out
    assert estimator.sqrt_pehe.iloc[0] != pytest.approx(frame.sqrt_pehe.iloc[0])


def test_model_selection_adds_rows_and_replaces_a_rerun_label(tmp_path):
    selection = _load("model_selection")
    path = tmp_path / "sel.csv"
    pd.DataFrame({"model": ["a", "a", "b"], "dataset": "ihdp", "realization": [10, 11, 10],
                  "sqrt_pehe": [1.0, 2.0, 3.0]}).to_csv(path, index=False)
    rerun = pd.DataFrame({"model": ["a"], "dataset": "ihdp", "realization": [10], "sqrt_pehe": [9.0],
                          "rmse_true_cate": [9.0]})
    merged = selection.add_rows(path, rerun).set_index(["model", "realization"])
    assert merged["sqrt_pehe"].to_dict() == {("a", 11): 2.0, ("b", 10): 3.0, ("a", 10): 9.0}
    assert merged["rmse_true_cate"].isna().sum() == 2  # older rows have no such column
    assert selection.add_rows(tmp_path / "new.csv", rerun) is rerun


@pytest.mark.skipif(not (DATA / "acic2016").is_dir(), reason="needs ../shared/data/acic2016 beside the checkout")
def test_acic_like_set_has_acic_shape_and_is_seeded():
    semi = _load("_semisynthetic")
    X_train, T_train, Y_train, X_test, tau = semi.acic_like(3, DATA)
    assert X_train.shape == (4321, 82) and X_test.shape == (481, 82) and tau.shape == (481,)
    assert set(np.unique(T_train)) == {0, 1} and 0.1 < T_train.mean() < 0.45
    again = semi.acic_like(3, DATA)
    np.testing.assert_array_equal(Y_train, again[2])
    assert not np.allclose(Y_train, semi.acic_like(4, DATA)[2])
    effects = [semi.acic_like(i, DATA)[4] for i in range(10)]
    assert any(np.ptp(e) < 1e-9 for e in effects) and any(e.std() > 1 for e in effects)  # constant and varying


# --- overlap diagnostics -------------------------------------------------------------------


@pytest.fixture(scope="module")
def overlap():
    return _load("studies/overlap_diagnostics")


def _overlap_rows():
    # two realizations, two methods; "a" is exact, "b" is 1 too high where propensity < 0.01;
    # the true CATE is 1 below tau, with a sampling variance of 0.75
    tau = np.array([1.0, 2.0, 3.0, 4.0])
    propensity = np.array([0.001, 0.005, 0.5, 0.9])
    frames = []
    for i in (0, 1):
        for method, tau_hat in (("a", tau), ("b", tau + (propensity < 0.01))):
            frames.append(pd.DataFrame({"realization": i, "method": method, "propensity": propensity, "tau": tau,
                                        "tau_hat": tau_hat, "true_cate": tau - 1.0, "true_cate_var": 0.75}))
    return pd.concat(frames, ignore_index=True)


def test_overlap_groups_rows_by_propensity(overlap):
    groups = overlap.by_propensity(_overlap_rows()).set_index(["group", "method"])
    low = groups.xs("b", level="method").iloc[0]
    assert low["rows"] == 4 and low["true_effect"] == pytest.approx(1.5)
    assert low["bias"] == pytest.approx(1.0) and low["rmse"] == pytest.approx(1.0)
    assert groups.xs("a", level="method")["rmse"].max() == 0
    assert groups.xs("b", level="method").iloc[-1]["bias"] == 0  # the well-covered rows are exact
    # against the true CATE, less its sampling variance: sqrt(1 - 0.75) for "a", sqrt(4 - 0.75) for "b"
    assert groups.xs("a", level="method")["rmse_vs_true_cate"].to_numpy() == pytest.approx(0.5)
    assert low["true_cate"] == pytest.approx(0.5) and low["rmse_vs_true_cate"] == pytest.approx(np.sqrt(3.25))


def test_overlap_paired_summary_against_the_first_method(overlap):
    summary = overlap.paired_summary(overlap.by_realization(_overlap_rows()), ["a", "b"]).set_index("method")
    assert summary.loc["b", "sqrt_pehe"] == pytest.approx(np.sqrt(0.5))  # two of four rows off by 1
    assert summary.loc["b", "ate_bias"] == pytest.approx(0.5)
    assert summary.loc["b", "minus_a"] == pytest.approx(np.sqrt(0.5))
    assert summary.loc["b", "better_than_a"] == "0/2"


# --- bar_tails.py ----------------------------------------------------------------------


def test_bar_tails_reports_what_the_outer_bars_hold_and_the_centre_mean_uses():
    import torch

    from skcfm.model import bar_distribution

    bar_tails = _load("training/bar_tails")
    borders = torch.tensor([-20.0, -2.0, 0.0, 2.0, 40.0])
    targets = torch.tensor([-3.0, -5.0, -1.0, 0.5, 1.0, 3.0, 4.0, 5.0])
    table = bar_tails.outer_bars(targets, borders).set_index("bar")
    assert table.loc["left", "share_of_targets"] == pytest.approx(2 / 8)
    assert table.loc["left", "prior_mean"] == pytest.approx(-4.0)
    assert table.loc["right", "prior_mean"] == pytest.approx(4.0)
    assert table.loc["right", "prior_median"] == pytest.approx(4.0)
    # the centre is what bar_distribution.mean returns with all mass in that bar
    for side, bar in (("left", 0), ("right", 3)):
        logits = torch.full((4,), -1e4)
        logits[bar] = 0.0
        assert table.loc[side, "model_centre"] == pytest.approx(float(bar_distribution.mean(logits, borders)), rel=1e-5)
    assert table.loc["right", "model_centre"] > table.loc["right", "outer_border"]  # far beyond its targets


def test_report_replaces_the_summary_table_of_a_readme(tmp_path, report):
    _tiny_results(tmp_path)
    top = tmp_path / "TOP.md"
    top.write_text("# x\n\n## Benchmark summary (old)\n\nintro\n\n| method | old |\n|---|---|\n| a | 1 |\n\nafter\n")
    report.write_report(tmp_path, readme_summary=top)
    text = top.read_text()
    assert "| a | 1 |" not in text and text.startswith("# x\n\n## Benchmark summary (old)\n\nintro\n\n| method |")
    assert "| t_learner | 2.00 / 0.200 |" in text and text.endswith("|\n\nafter\n")
    (tmp_path / "NONE.md").write_text("# no summary\n")
    with pytest.raises(ValueError, match="no '## Benchmark summary' heading"):
        report.replace_summary_table(tmp_path / "NONE.md", ["| x |"])


# --- final_stage_choice.py --------------------------------------------------------------------


def test_bar_sensitivity_recomputes_the_choice_from_the_recorded_evidence():
    choice = _load("studies/final_stage_choice")
    frame = pd.DataFrame({
        "dataset": ["a", "a"], "members": ["4", "4"],
        "sqrt_pehe_cfm": [1.0, 2.0], "sqrt_pehe_causal_forest": [0.5, 3.0], "sqrt_pehe_dr": [0.8, 1.0],
        "dr_loss_cfm": [10.0, 10.0], "dr_loss_causal_forest": [9.0, 12.0], "dr_loss_dr": [9.5, 9.9],
        "dr_loss_z": [-2.0, 3.0], "dr_loss_z_dr": [-1.0, -0.2],
    })
    assert [choice.choice_at(row, -1.645) for _, row in frame.iterrows()] == ["causal_forest", "cfm"]
    assert [choice.choice_at(row, 0.0) for _, row in frame.iterrows()] == ["causal_forest", "dr"]
    table = choice.bar_sensitivity(frame, bars=(-1.645, 0.0))
    assert table.loc[("a", "4", True)].tolist() == [pytest.approx(1.25), pytest.approx(0.75)]


def test_bar_sensitivity_takes_extra_candidates_on_the_rows_that_record_them():
    choice = _load("studies/final_stage_choice")
    frame = pd.DataFrame({
        "dataset": ["a", "a"], "members": ["4", "4"],
        "sqrt_pehe_cfm": [1.0, 2.0], "sqrt_pehe_causal_forest": [0.5, 3.0], "sqrt_pehe_dr": [0.8, 1.0],
        "sqrt_pehe_tl": [0.1, np.nan],
        "dr_loss_cfm": [10.0, 10.0], "dr_loss_causal_forest": [9.0, 12.0], "dr_loss_dr": [9.5, 9.9],
        "dr_loss_tl": [8.0, np.nan],
        "dr_loss_z": [-2.0, 3.0], "dr_loss_z_dr": [-1.0, -0.2], "dr_loss_z_tl": [-3.0, np.nan],
    })
    table = choice.bar_sensitivity(frame, bars=(0.0,), candidates=("causal_forest", "dr", "tl"))
    assert table.loc[("a", "4", True)].tolist() == [pytest.approx(0.1)]  # the second row records no tl


def test_bar_sensitivity_reports_selection_and_held_out_rows_apart():
    choice = _load("studies/final_stage_choice")
    frame = pd.DataFrame({
        "dataset": ["a", "a"], "members": ["4", "4"], "selection": [True, False],
        "sqrt_pehe_cfm": [1.0, 2.0], "sqrt_pehe_causal_forest": [0.5, 3.0], "sqrt_pehe_dr": [0.8, 1.0],
        "dr_loss_cfm": [10.0, 10.0], "dr_loss_causal_forest": [9.0, 12.0], "dr_loss_dr": [9.5, 9.9],
        "dr_loss_z": [-2.0, 3.0], "dr_loss_z_dr": [-1.0, -0.2],
    })
    table = choice.bar_sensitivity(frame, bars=(0.0,))
    assert table.loc[("a", "4", True)].tolist() == [pytest.approx(0.5)]
    assert table.loc[("a", "4", False)].tolist() == [pytest.approx(1.0)]


def test_parse_realizations_takes_numbers_and_ranges():
    selection = _load("model_selection")
    assert selection.parse_realizations(["0-2", "7", "9-10"]) == [0, 1, 2, 7, 9, 10]
    with pytest.raises(argparse.ArgumentTypeError, match="--realizations"):
        selection.parse_realizations(["3-x"])


# --- final_stage_rules.py ---------------------------------------------------------------------


def _evidence(tmp_path, name="ihdp_40"):
    """A realization whose DR-learner is right and whose CFM is off by 1 everywhere."""
    rng = np.random.default_rng(0)
    n, m = 400, 50
    T = (rng.random(n) < 0.5).astype(float)
    tau_train, tau = rng.normal(size=n), rng.normal(size=m)
    mu0 = rng.normal(size=n)
    Y = mu0 + T * tau_train + 0.1 * rng.normal(size=n)
    arrays = dict(T=T, Y=Y, e=np.full(n, 0.5), mu0=mu0, mu1=mu0 + tau_train + 1.0, tau=tau, cfm_test=tau + 1.0,
                  dr_train=tau_train, dr_test=tau, causal_forest_train=tau_train + 3.0, causal_forest_test=tau + 3.0)
    np.savez(tmp_path / f"{name}.npz", **arrays)
    return tmp_path


def test_rules_pick_the_candidate_with_the_lowest_dr_loss_and_stack_onto_it(tmp_path):
    rules = _load("studies/final_stage_rules")
    scores = rules.score_rules(_evidence(tmp_path), rules=("lowest(cfm, causal_forest, dr)",
                                                           "stack(cfm, causal_forest, dr)"))
    lowest, stack = scores.set_index("rule").loc[["lowest(cfm, causal_forest, dr)", "stack(cfm, causal_forest, dr)"]]\
        .itertuples()
    assert lowest.chosen == "dr" and lowest.sqrt_pehe == pytest.approx(0.0)
    # the pseudo-outcomes are noisy (the CFM's mu_1 is off), so the weights only nearly settle on dr
    assert float(stack.chosen.split()[2]) > 0.9 and stack.sqrt_pehe < 0.2
    assert not scores["selection"].any()  # IHDP 40 is outside the selection realizations


def test_rules_summary_pairs_each_rule_with_the_baseline(tmp_path):
    rules = _load("studies/final_stage_rules")
    _evidence(_evidence(tmp_path, "ihdp_40"), "ihdp_41")
    table = rules.summarise(rules.score_rules(tmp_path, rules=("lowest(cfm)", "lowest(cfm, dr)")), "lowest(cfm)")
    row = table.loc[("ihdp", False, "lowest(cfm, dr)")]
    assert row["n"] == 2 and row["diff"] == pytest.approx(-1.0) and row["better"] == 2
    with pytest.raises(ValueError, match="rule"):
        rules.apply_rule("best(cfm)", {})


def test_overlap_aware_rules_read_the_rows_at_the_propensity_clip_bound(tmp_path):
    rules = _load("studies/final_stage_rules")
    with np.load(_evidence(tmp_path) / "ihdp_40.npz") as saved:
        evidence = dict(saved)
    gate = "if_clipped(0.5, cfm, lowest(cfm, dr))"
    assert rules.apply_rule(gate, evidence)[1] == "dr"  # propensity 0.5 everywhere: no row at the bound
    evidence["e"] = np.where(np.arange(len(evidence["T"])) < 300, 0.01, 0.5)
    assert rules.apply_rule(gate, evidence)[1] == "cfm"  # 75 % at the bound
    assert rules.apply_rule("if_clipped(0.8, cfm, lowest(cfm, dr))", evidence)[1] == "dr"
    # the trimmed loss reads only the 100 rows inside the bounds, where the DR-learner is made off by 2
    at_bound, tau = np.arange(len(evidence["T"])) < 300, evidence["dr_train"]
    evidence["dr_train"] = np.where(at_bound, tau, tau + 2.0)
    evidence["causal_forest_train"] = np.where(at_bound, tau + 50.0, tau)
    assert rules.apply_rule("lowest(causal_forest, dr)", evidence)[1] == "dr"
    assert rules.apply_rule("trimmed(causal_forest, dr)", evidence)[1] == "causal_forest"
    assert rules.split_arguments("0.5, a, lowest(b, c)") == ["0.5", "a", "lowest(b, c)"]


def test_rules_summary_regenerates_from_the_recorded_scores(tmp_path, capsys):
    rules = _load("studies/final_stage_rules")
    _evidence(tmp_path)
    out = tmp_path / "scores.csv"
    table = rules.main([str(tmp_path), "--rules", "lowest(cfm, dr)", "--out", str(out)])
    again = rules.main(["--scores", str(out)])
    pd.testing.assert_frame_equal(table, again)
    with pytest.raises(SystemExit):
        rules.main([])  # neither evidence nor scores


# --- checkpoint_mixture.py --------------------------------------------------------------------


def test_checkpoint_mixture_averages_half_the_members_from_each_model(tiny_model):
    import copy

    mixture = _load("studies/checkpoint_mixture")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    T = (rng.random(120) < 0.5).astype(int)
    Y = X[:, 0] + T + rng.normal(size=120)
    other = copy.deepcopy(tiny_model)
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    same = mixture.mixture_effects(tiny_model, tiny_model, X, T, Y, X[:7], random_state=3)
    mixed = mixture.mixture_effects(tiny_model, other, X, T, Y, X[:7], random_state=3)
    assert same.shape == mixed.shape == (7,)
    assert not np.allclose(same, mixed)  # the second model's members count
    # the first half is the first model's: 2 of the 4 members "auto" draws on 120 rows
    first = CFMCateEstimator(model=tiny_model, n_estimators=2, final_stage="cfm", random_state=3).fit(
        X, T, Y, ancestors=unconfoundedness_pam(["x0", "x1", "x2"], treatment="T", outcome="Y"))
    second = CFMCateEstimator(model=other, n_estimators=2, final_stage="cfm",
                              random_state=3 + mixture.SECOND_SEED_OFFSET).fit(
        X, T, Y, ancestors=unconfoundedness_pam(["x0", "x1", "x2"], treatment="T", outcome="Y"))
    want = (first.effect(X[:7]) + second.effect(X[:7])) / 2  # float32 model: compare at its precision
    np.testing.assert_allclose(mixed, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


def test_row_interval_coverage_scores_each_row(monkeypatch):
    coverage = _load("studies/row_interval_coverage")
    tau = np.array([0.0, 1.0, 2.0, 3.0])
    effects, lower, upper = tau + [0, 0.5, -1, 2], tau - 1, tau + [1, 1, 1, -0.5]  # the last misses its truth
    monkeypatch.setattr(coverage, "intervals", lambda *args: (effects, lower, upper))
    row = coverage.row("simulated", 3, "skcfm_cfm", (None, None, None, None, tau))
    assert row["coverage"] == 0.75 and row["mean_width"] == 1.625 and row["n_test"] == 4
    assert math.isclose(row["sqrt_pehe"], math.sqrt((0 + 0.25 + 1 + 4) / 4))
    first, again = coverage.simulated(0), coverage.simulated(0)  # seeded, 1,000 training and 200 test rows
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert first[0].shape == (1000, 5) and first[3].shape == (200, 5) and set(first[1]) == {0, 1}
