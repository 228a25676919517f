"""The example scripts run end to end (with the tiny test model and --quick) and print their results."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def run_example(script: str, *args, cwd: Path) -> str:
    """Run examples/<script> in a subprocess; return its stdout after checking the exit code."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"{script} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert not re.search(r"\bnan\b", result.stdout, flags=re.IGNORECASE), f"{script} printed NaN:\n{result.stdout}"
    return result.stdout


def assert_png(path: Path) -> None:
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"


def test_quickstart_prints_ate_interval_and_cates(tiny_model_path, tmp_path):
    out = run_example("quickstart.py", "--n-samples", 300, "--model", tiny_model_path, cwd=tmp_path)
    assert re.search(r"ATE \(hybrid AIPW\): -?\d+\.\d+\s+95% interval \[-?\d+\.\d+, -?\d+\.\d+\]", out)
    assert "population ATE:    1.000" in out and "mean effect over these rows:" in out
    assert "sqrt(PEHE) over all rows:" in out


def test_dose_response_prints_curve_and_saves_plot(tiny_model_path, tmp_path):
    png = tmp_path / "curve.png"
    out = run_example("dose_response.py", "--quick", "--model", tiny_model_path, "--out", png, cwd=tmp_path)
    assert "treatment kind: continuous" in out
    assert len(re.findall(r"^\s+t =\s+-?\d+\.\d+:\s+-?\d+\.\d+ \|\s+-?\d+\.\d+$", out, flags=re.MULTILINE)) == 7
    assert f"saved the dose-response plot to {png}" in out
    assert_png(png)


def test_pipeline_cv_routes_pam_through_cross_validation_and_grid_search(tiny_model_path, tmp_path):
    out = run_example("pipeline_cv.py", "--quick", "--model", tiny_model_path, cwd=tmp_path)
    assert "cross_val_score R^2 over 2 folds:" in out
    assert "GridSearchCV n_estimators=1: mean R^2" in out
    assert "GridSearchCV n_estimators=2: mean R^2" in out
    assert re.search(r"best n_estimators: [12]$", out, flags=re.MULTILINE)
    assert "ATE from do(t=1) - do(t=0) predictions:" in out


def test_cate_interpretation_prints_both_trees_and_saves_them(tiny_model_path, tmp_path):
    png = tmp_path / "trees.png"
    out = run_example("cate_interpretation.py", "--quick", "--model", tiny_model_path, "--out", png, cwd=tmp_path)
    assert "CATE tree (value = mean estimated effect in the leaf):" in out
    assert "policy tree (class 1 = treat, 0 = do not; treating costs 1.0):" in out
    assert re.search(r"policy treats \d+% of units", out)
    assert f"saved the trees to {png}" in out
    assert_png(png)


def test_dowhy_lalonde_runs_offline_on_the_shipped_nsw_data(tiny_model_path, tmp_path):
    out = run_example("dowhy_lalonde.py", "--model", tiny_model_path, "--simulations", 4, "--refuters",
                      "placebo_treatment_refuter", "random_common_cause", cwd=tmp_path)
    assert "NSW experimental sample: 445 men, 185 trained" in out
    assert re.search(r"skcfm doubly robust ATE:\s+-?\d+\s+95% interval \[-?\d+, -?\d+\]", out)
    assert "experimental benchmark:           1794" in out
    assert len(re.findall(r"^  p-value \d\.\d{3}: ", out, flags=re.MULTILINE)) == 2
    assert "(4 simulations," in out


def test_dowhy_lalonde_quick_prints_no_p_values(tiny_model_path, tmp_path):
    out = run_example("dowhy_lalonde.py", "--quick", "--model", tiny_model_path, cwd=tmp_path)
    assert "p-value not shown: 3 simulations are too few" in out
    assert not re.search(r"p-value \d", out)
