"""The documentation builds with MkDocs in strict mode (every warning is an error)."""

import importlib.util
import os
import re
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


# Docs and docstrings say what and why, not when: no training step numbers, dates, commit
# hashes, session numbers or citations of files outside the repository. docs/decisions.md
# is the one place for history with its evidence.
HISTORY_WORDS = re.compile(
    r"(?<![-_\w])steps? ?-?\d{3,}\b"  # "step 31263", "step-14600" (not "--total-steps 24000")
    r"|\b20\d\d-\d\d-\d\d\b"  # ISO dates
    r"|\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December) 20\d\d\b"
    r"|\bcommit [0-9a-f]{7,40}\b"
    r"|\bDESIGN\.md\b|\bSTYLE rule\b"
    r"|\bsession \d+\b",
    re.IGNORECASE,
)
# docstrings that still carry history, to be rewritten; no new entries
KNOWN_HISTORY: set[tuple[str, str]] = set()  # (file, phrase) pairs allowed for now: none


def _history_words(folder: str, suffixes: tuple[str, ...]) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix not in suffixes or path.name == "decisions.md":
            continue
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [(name, number, match.group(0)) for match in HISTORY_WORDS.finditer(line)
                      if (name, match.group(0)) not in KNOWN_HISTORY]
    return found


def test_history_words_regex_catches_history_and_spares_options():
    for text in ("step 31263", "Step-14600", "steps 25296", "on 6 December 2026", "2026-11-30",
                 "before commit 6851075", "see DESIGN.md", "STYLE rule 9", "(session 22)"):
        assert HISTORY_WORDS.search(text), text
    for text in ("--total-steps 24000", "TOTAL_STEPS=36000", "500 steps at the final rate",
                 "a local Spark session", "sha256 1f3a9c0e5b7d", "--steps 10"):
        assert not HISTORY_WORDS.search(text), text


def test_docs_say_what_and_why_not_when():
    found = (_history_words("docs", (".md", ".py")) + _history_words("skcfm", (".py",))
             + _history_words("benchmarks", (".py",)))
    assert not found, "history words (move them to docs/decisions.md): " + "; ".join(
        f"{name}:{number}: {word!r}" for name, number, word in found)
