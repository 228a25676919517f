"""The README stays short, its install and test commands stay true, and its code runs as printed."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TEST_COMMAND = (
    'python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e ".[test]" '
    "&& python -m pytest"
)


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "snippets.py"
    script.write_text(code)
    # one torch thread: on a shared, busy CPU more threads stall rather than help
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SKCFM_PROGRESS": "0"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_readme_is_short():
    lines = README.splitlines()
    assert len(lines) <= 100, f"README.md has {len(lines)} lines"


def test_readme_test_command_is_what_ci_runs():
    assert TEST_COMMAND in README
    ci = (ROOT / ".ci" / "run").read_text()
    for step in ("python3 -m venv", "pip install --quiet torch==2.13.0", 'pip install --quiet -e ".[test]"',
                 "python -m pytest"):
        assert step in ci, f".ci/run no longer runs {step!r}"


def test_readme_tells_no_history():
    # the README says what the package is, not how it got there
    prose = re.sub(r"```bibtex.*?```", "", README, flags=re.DOTALL)
    months = "January|February|March|April|May|June|July|August|September|October|November|December"
    history = rf"\bsteps? \d|\b({months}) 20\d\d|\b20\d\d-\d\d-\d\d|\bbranch|\bcommit|\bsession"
    assert not re.search(history, prose, flags=re.IGNORECASE)
    assert 'final_stage="auto"` is the default' not in README


def test_readme_links_the_benchmark_results():
    assert "](benchmarks/results/README.md)" in README
    assert (ROOT / "benchmarks" / "results" / "README.md").is_file()


@pytest.mark.slow
def test_readme_code_runs(tmp_path):
    pytest.importorskip("dowhy", reason="the README's DoWhy snippet needs the [dowhy] extra")
    blocks = python_blocks(README)
    assert len(blocks) >= 3  # the quickstart, the DoWhy and the scikit-learn snippets
    assert "CFMCateEstimator" in blocks[0] and "unconfoundedness_pam" in blocks[0]
    result = _run("\n".join(blocks), tmp_path)
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d+", result.stdout)]
    assert len(numbers) >= 5 + 3 + 3 + 3  # effects, ATE and interval, DoWhy value and interval, CV scores


@pytest.mark.slow
def test_column_transformer_recipe_runs(tmp_path):
    guide = (ROOT / "docs" / "guide" / "regressor.md").read_text()
    section = guide.split("## With a ColumnTransformer", 1)[1].split("\n## ", 1)[0]
    (code,) = python_blocks(section)
    assert "verbose_feature_names_out=False" in code and "get_feature_names_out()" in code
    _run(code + "\nassert 1 < effect.mean() < 3, effect.mean()\n", tmp_path)
