"""One locked dependency set for every machine: uv.lock matches pyproject.toml, installs with
wheels on every platform we ship, is what this environment holds, and is what every script
installs; and the Qt in it cannot abort the program."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SHIPPED_PYTHONS = ("3.11", "3.12", "3.13")


def _check_lock():
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "packaging" / "check_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _project_entry() -> dict:
    return next(p for p in LOCK["package"] if p["name"] == "cpc-desktop")


def _norm(req: str | dict) -> tuple:
    if isinstance(req, dict):   # uv.lock's requires-dist entry
        return (canonicalize_name(req["name"]), str(req.get("specifier", "")),
                req.get("marker", ""))
    r = Requirement(req)
    return canonicalize_name(r.name), str(r.specifier), ""


def test_lock_records_exactly_what_pyproject_asks():
    """The lock is stale the moment pyproject.toml's dependencies change without `scripts/lock.sh`
    (uv sync --locked then refuses to install): caught here first, offline."""
    project = PYPROJECT["project"]
    wanted = {_norm(r) for r in project["dependencies"]}
    for extra, reqs in project["optional-dependencies"].items():
        wanted |= {(n, s, f"extra == '{extra}'") for n, s, _ in map(_norm, reqs)}
    locked = {_norm(r) for r in _project_entry()["metadata"]["requires-dist"]}
    assert locked == wanted, "run scripts/lock.sh: uv.lock does not match pyproject.toml"
    assert LOCK["requires-python"].replace(" ", "") == project["requires-python"].replace(" ", "")


@pytest.mark.parametrize("platform", ["linux_x86_64", "win_amd64"])
@pytest.mark.parametrize("python", SHIPPED_PYTHONS)
def test_lock_installs_with_wheels_on_every_shipped_platform(platform, python):
    """What `pip download --platform win_amd64 --only-binary=:all:` of the locked set would
    prove, read from uv.lock's file list: the program and PyInstaller need no compiler."""
    check = _check_lock()
    version = tuple(int(p) for p in python.split("."))
    assert check.problems(LOCK, platform, version, {"bundle"}) == []
    needed = check.closure(LOCK, platform, version, {"bundle"})
    assert {"pyside6-essentials", "sqlcipher3", "cryptography", "pyinstaller"} <= set(needed)
    if platform == "win_amd64":
        assert "pywin32-ctypes" in needed, "Windows-only dependencies are followed by marker"
    else:
        assert "pywin32-ctypes" not in needed


def test_lock_check_finds_a_missing_wheel():
    """The checker is not a rubber stamp: a lock whose Qt has no Windows wheel fails it."""
    check = _check_lock()
    broken = {"package": [dict(p) for p in LOCK["package"]]}
    for p in broken["package"]:
        if p["name"] == "pyside6-essentials":
            p["wheels"] = [w for w in p["wheels"] if "win_amd64" not in w["url"]]
    found = check.problems(broken, "win_amd64", (3, 12), set())
    assert len(found) == 1 and found[0].startswith("pyside6-essentials")
    assert check.problems(broken, "linux_x86_64", (3, 12), set()) == []


def test_every_locked_file_has_a_hash():
    files = [f for p in LOCK["package"] for f in p.get("wheels", []) + [p.get("sdist")] if f]
    assert files and all(f.get("hash", "").startswith("sha256:") for f in files)


def test_this_environment_is_the_locked_set():
    """./scripts/test.sh (and so .ci/run) installed exactly the lock: every package the lock
    gives this platform and Python is here at its locked version."""
    check = _check_lock()
    platform = "win_amd64" if sys.platform == "win32" else "linux_x86_64"
    needed = check.closure(LOCK, platform, sys.version_info[:2], {"test"})
    wrong = {}
    for name, entry in needed.items():
        try:
            got = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            got = None
        if got != entry["version"]:
            wrong[name] = (got, entry["version"])
    assert wrong == {}, f"installed (got, locked): {wrong}; run ./scripts/test.sh"


def _script(name: str) -> str:
    """The script with continued lines joined."""
    return re.sub(r"\\\n\s*", "", (ROOT / name).read_text(encoding="utf-8"))


def test_every_script_installs_from_the_lock_only():
    setup = _script("scripts/_setup.sh")
    assert "sync --locked" in setup
    assert "--require-hashes -r scripts/uv-requirements.txt" in setup
    assert re.search(r"^uv==[\d.]+ +--hash=sha256:", _script("scripts/uv-requirements.txt"), re.M)
    for name in ("scripts/start.sh", "scripts/test.sh", "packaging/build.sh"):
        text = _script(name)
        assert "_setup.sh" in text and "ensure_venv" in text, name
    for name in ("scripts/_setup.sh", "scripts/start.sh", "scripts/test.sh",
                 "packaging/build.sh", ".ci/run", ".github/workflows/windows-build.yml"):
        text = _script(name)
        assert not re.search(r"pip install (-q )?(-e|--editable|\.|\"pyinstaller)", text), \
            f"{name} installs something outside the lock"
    assert "./scripts/test.sh" in _script(".ci/run")
    assert '"$UV" lock' in _script("scripts/lock.sh")
    newest = _script("scripts/test-newest.sh")
    assert "--resolution highest" in newest and "pytest" in newest
    assert "test-newest" not in _script(".ci/run")


def _fake_python(bin_dir: Path, name: str, version: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _find_python(bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """find_python with only the fake Pythons and the few tools it uses on PATH."""
    tools = bin_dir.parent / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("sort", "paste", "dirname"):
        if not (tools / tool).exists():
            (tools / tool).symlink_to(shutil.which(tool))
    env = {"PATH": f"{bin_dir}:{tools}", "HOME": os.environ.get("HOME", "/tmp")}
    cmd = f'source scripts/_setup.sh >/dev/null; find_python {" ".join(args)}'
    return subprocess.run(["/bin/bash", "-c", cmd], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=30)


def test_scripts_refuse_an_unsupported_python_in_one_line(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_python(bin_dir, "python3", "3.10")
    _fake_python(bin_dir, "python3.14", "3.14")
    r = _find_python(bin_dir)
    assert r.returncode != 0 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "3.13 3.12 3.11" in lines[0] and "3.10" in lines[0]


def test_scripts_take_the_newest_supported_python(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_python(bin_dir, "python3", "3.11")
    _fake_python(bin_dir, "python3.12", "3.12")
    _fake_python(bin_dir, "python3.14", "3.14")
    r = _find_python(bin_dir)
    assert (r.returncode, r.stdout.strip()) == (0, "python3.12"), r.stderr
    r = _find_python(bin_dir, "3.11")
    assert (r.returncode, r.stdout.strip()) == (0, "python3"), r.stderr


def test_bundles_are_built_on_one_python_that_makes_none_immortal():
    version = (ROOT / "packaging" / "bundle-python-version").read_text().strip()
    assert version in SHIPPED_PYTHONS and tuple(map(int, version.split("."))) >= (3, 12)
    assert "packaging/bundle-python-version" in _script("packaging/build.sh")
    assert "python-version-file: packaging/bundle-python-version" in \
        _script(".github/workflows/windows-build.yml")


# ---------------------------------------------------------------- Qt that never aborts

STRESS = """
import sys
{prelude}
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
class E(QObject):
    fired = Signal(bool)
e, label, got = E(), QLabel(), []
e.fired.connect(got.append)
for i in range(50_000):
    e.fired.emit(True)
    label.setText("x")
    label.setVisible(False)
print("survived", len(got))
"""


def _stress(prelude: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", STRESS.format(prelude=prelude)], env=env,
                          capture_output=True, text=True, timeout=300)


def _bug_expected() -> bool:
    import shiboken6

    from cpc_desktop.ui import affected_version

    return sys.version_info < (3, 12) and affected_version(shiboken6.__version_info__)


def test_plain_pyside6_aborts_exactly_where_the_guard_is_needed():
    """The attack: 50,000 emits and void calls without our guard. On Python 3.11 with the
    locked PySide6 6.12.0 this aborts (none_dealloc/bool_dealloc, SIGABRT); where it does not
    abort, the guard must not be needed either."""
    r = _stress("")
    if _bug_expected():
        assert r.returncode != 0 and "dealloc" in r.stderr, (r.returncode, r.stderr[-300:])
    else:
        assert r.returncode == 0, r.stderr[-500:]


def test_the_programs_qt_survives_the_stress():
    r = _stress("import cpc_desktop.ui")
    assert r.returncode == 0, r.stderr[-500:]
    assert "survived 50000" in r.stdout


def test_the_guard_needs_no_distribution_metadata():
    """A PyInstaller bundle carries no dist-info unless told to: the guard reads the loaded
    shiboken6 module, so it still acts when importlib.metadata knows nothing."""
    prelude = ("import importlib.metadata as m\n"
               "def _none(name): raise m.PackageNotFoundError(name)\n"
               "m.version = _none; m.distribution = _none\n"
               "import cpc_desktop.ui as ui\n"
               "print('guard', ui.guard_active())")
    r = _stress(prelude)
    assert r.returncode == 0, r.stderr[-500:]
    assert f"guard {_bug_expected()}" in r.stdout
