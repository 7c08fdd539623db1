"""Lint, import order and types of the packages without Qt (core, sync, printing, reports),
as configured in pyproject.toml: `.ci/run` runs them with the rest of the suite."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["cpc_desktop/core", "cpc_desktop/sync", "cpc_desktop/printing", "cpc_desktop/reports"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_finds_nothing():
    done = _run("ruff", "check", "--no-cache", *CHECKED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    done = _run("mypy", "--cache-dir", str(ROOT / ".mypy_cache"), *CHECKED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_sees_an_unsorted_import_and_a_stale_noqa(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\nx = os.sep + sys.platform  # noqa: E501\n",
                   encoding="utf-8")
    done = _run("ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                str(bad))
    assert done.returncode == 1 and "I001" in done.stdout and "RUF100" in done.stdout, \
        done.stdout
