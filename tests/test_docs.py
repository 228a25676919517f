"""The documentation builds with MkDocs in strict mode (every warning is an error)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS_PACKAGES = {
    "mkdocs": "mkdocs", "material": "mkdocs-material", "mkdocstrings_handlers.python": "mkdocstrings[python]",
}


def _missing_docs_packages() -> list[str]:
    missing = []
    for module, package in DOCS_PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            found = False
        if not found:
            missing.append(package)
    return missing


@pytest.mark.slow
@pytest.mark.skipif(
    bool(_missing_docs_packages()),
    reason=f"docs tools not installed: pip install {' '.join(_missing_docs_packages())}",
)
def test_docs_build_strict_without_warnings(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("index.html", "getting-started/index.html", "pam/index.html", "api/estimators/index.html"):
        assert (site / page).is_file(), f"{page} missing from the built site"
    assert "CFMCateEstimator" in (site / "api/estimators/index.html").read_text()
