"""The code follows the lint rules in pyproject.toml ([tool.ruff])."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    # ruff from the running interpreter's environment, so that a venv's python without the
    # venv activated (ruff not on PATH) still lints instead of skipping
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "skcfm", "benchmarks", "tests", "examples", "docs"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
