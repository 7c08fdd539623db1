"""What a shelter's laptop installs: one version everywhere, a self-test that proves an
installed copy works, and build inputs (spec, installer, desktop file, icon) that ship what the
program needs. The bundle itself is built by packaging/build.sh, not here (too slow for CI)."""
from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

import cpc_desktop
from cpc_desktop import app, selftest
from cpc_desktop.core.errors import VaultDamaged

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = (PACKAGING / "cpc-desktop.spec").read_text(encoding="utf-8")
ISS = (PACKAGING / "windows" / "cpc-desktop.iss").read_text(encoding="utf-8-sig")


# ---------------------------------------------------------------- one version

def test_the_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"], "a second version would drift from About/PDFs"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "cpc_desktop.__version__"}
    assert importlib.metadata.version("cpc-desktop") == cpc_desktop.__version__, \
        "the installed metadata must report the version the program shows"


def test_both_programs_print_the_version(capsys):
    assert app.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"CPC Desktop {cpc_desktop.__version__}"
    r = subprocess.run([sys.executable, "-m", "cpc_desktop.cli", "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == f"cpc {cpc_desktop.__version__}"


# ---------------------------------------------------------------- self-test

def test_self_test_passes_from_source_and_leaves_nothing(tmp_path):
    """What build.sh and the Windows CI run inside the bundle, here from the source tree."""
    temp = tmp_path / "temp"
    temp.mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=str(temp), CPC_LANG="es")
    r = subprocess.run([sys.executable, "-m", "cpc_desktop", "--self-test"],
                       capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "Autoprueba superada" in r.stdout
    for step in ("crear una bóveda cifrada", "buscar por nombre", "comprobar la bóveda",
                 "copia de seguridad", "imprimir un PDF", "interfaz gráfica"):
        assert step in r.stdout, f"the self-test must cover: {step}"
    # The refcount stress (PySide6 6.12.0 on Python 3.11 would abort inside it).
    assert "50 000 señales y llamadas sin fallo" in r.stdout
    assert list(temp.iterdir()) == [], "the self-test must remove its temporary vault"


def test_self_test_failure_is_one_line_and_exit_code_one(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def damaged(state):
        raise VaultDamaged("archivo dañado (prueba)")

    monkeypatch.setattr(selftest, "_check", damaged)
    assert selftest.run(qt=False) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Autoprueba fallida en «comprobar la bóveda»: archivo dañado (prueba)"]
    assert list(tmp_path.iterdir()) == [], "a failed self-test must still remove its folder"


def test_self_test_fails_on_a_bad_pdf(monkeypatch, tmp_path):
    """The PDF step checks what printing made; a broken printer module fails the self-test."""
    from cpc_desktop import printing

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = []

    def render_form(vault, form_id, *, record_id):
        made.append((form_id, record_id))
        return b"not a pdf"

    monkeypatch.setattr(printing, "render_form", render_form)
    assert selftest.run(qt=False, out=lambda line: None) == 1
    assert made and made[0][0] == "ficha_ingreso"


# ---------------------------------------------------------------- the PyInstaller spec

def test_spec_ships_resources_and_compiled_catalogs():
    assert 'ROOT / "resources"), "resources"' in SPEC, "forms, catalogs, fonts, icons"
    assert 'glob("*/LC_MESSAGES/*.mo")' in SPEC and "i18n compile" in SPEC, \
        "the bundle needs the compiled catalogs, and says how to make them"
    assert '"sqlcipher3._sqlite3"' in SPEC, "without SQLCipher no vault opens"
    assert 'collect_submodules("cpc_desktop")' in SPEC, \
        "printing, sync and reports must enter the bundle as soon as they exist"


def test_spec_builds_a_windowed_app_and_a_console_cli_in_one_folder():
    assert re.search(r'name="cpc-desktop",\s*console=False', SPEC)
    assert re.search(r'name="cpc",\s*console=True', SPEC)
    assert SPEC.count("COLLECT(") == 1


def test_spec_keeps_the_bundle_lean():
    for heavy in ("QtWebEngineCore", "Qt3DCore", "QtQuick", "QtQml", "QtMultimedia"):
        assert f'"PySide6.{heavy}"' in SPEC, f"{heavy} would bloat the bundle"


def test_resources_the_spec_ships_exist():
    for sub in ("forms", "catalogs", "icons"):
        assert any((ROOT / "resources" / sub).iterdir())
    assert (ROOT / "resources" / "icons" / "cpc-desktop.svg").is_file()


# ---------------------------------------------------------------- Linux

def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_linux_icons_come_in_every_size_and_match_the_source():
    hicolor = PACKAGING / "linux" / "icons" / "hicolor"
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = hicolor / f"{size}x{size}" / "apps" / "cpc-desktop.png"
        assert _png_size(png) == (size, size)
    assert (hicolor / "scalable" / "apps" / "cpc-desktop.svg").read_bytes() == \
        (ROOT / "resources" / "icons" / "cpc-desktop.svg").read_bytes(), \
        "run packaging/make_icons.py after changing the icon"


def test_desktop_file_is_valid_and_starts_the_window():
    desktop = PACKAGING / "linux" / "cpc-desktop.desktop"
    text = desktop.read_text()
    assert "Exec=cpc-desktop" in text and "Icon=cpc-desktop" in text
    assert "Terminal=false" in text
    validator = shutil.which("desktop-file-validate")
    assert validator, "desktop-file-utils is installed by scripts/test.sh"
    r = subprocess.run([validator, str(desktop)], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout


def test_build_script_self_tests_and_tars_the_bundle():
    build = PACKAGING / "build.sh"
    text = build.read_text()
    assert os.access(build, os.X_OK)
    assert "i18n compile" in text and "--self-test" in text
    assert "linux-$(uname -m)" in text and "tar -C" in text
    assert os.access(PACKAGING / "linux" / "install.sh", os.X_OK)


# ---------------------------------------------------------------- Windows

def test_windows_icon_holds_the_sizes_windows_uses():
    data = (PACKAGING / "windows" / "cpc-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = {(data[6 + 16 * i] or 256) for i in range(count)}
    assert sizes >= {16, 32, 48, 256}


def test_installer_is_per_user_shows_the_licence_and_takes_the_built_folder():
    assert re.search(r"^PrivilegesRequired=lowest\s*$", ISS, re.M)
    assert re.search(r"^DefaultDirName=\{localappdata\}\\Programs\\", ISS, re.M)
    assert re.search(r"^LicenseFile=.*LICENSE\s*$", ISS, re.M)
    assert (ROOT / "LICENSE").read_text().startswith(" " * 20 + "GNU GENERAL PUBLIC LICENSE")
    assert "AppVersion={#AppVersion}" in ISS and "#error" in ISS, \
        "the version must come from the build, never be typed into the script"
    assert re.search(r'^Source: "\{#Root\}\\dist\\cpc-desktop\\\*"', ISS, re.M)
    assert re.search(r'^Name: "\{group\}\\', ISS, re.M), "a Start-menu entry"


def test_uninstall_never_deletes_vaults(monkeypatch):
    assert not re.search(r"^\[UninstallDelete\]", ISS, re.M), \
        "the uninstaller must delete only what it installed"
    deletes = re.findall(r"^Type: .*Name: \"([^\"]+)\"", ISS, re.M)
    assert deletes == ["{app}\\_internal"], deletes
    # Where the program keeps vaults on Windows (default_vault_path as Windows computes it):
    # outside the install folder.
    import platformdirs
    from platformdirs import windows

    from cpc_desktop.core.vault import default_vault_path

    local = "C:\\Users\\ana\\AppData\\Local"
    monkeypatch.setattr(windows, "get_win_folder", lambda csidl: local)
    monkeypatch.setattr(platformdirs, "user_data_path",
                        lambda *a, **k: Path(windows.Windows(*a, **k).user_data_dir))
    vaults = str(default_vault_path()).replace("/", "\\")
    assert vaults == local + "\\cpc-desktop\\vault"
    install = local + "\\Programs\\CPC Desktop"
    assert not vaults.startswith(install + "\\") and not install.startswith(vaults)
    assert "{localappdata}\\cpc-desktop" in ISS, "the uninstaller says where vaults stay"


def test_windows_ci_workflow_builds_self_tests_and_uploads_the_installer():
    text = (ROOT / ".github" / "workflows" / "windows-build.yml").read_text()
    for needed in ("runs-on: windows-latest",
                   "python-version-file: packaging/bundle-python-version",
                   "--require-hashes -r scripts/uv-requirements.txt",
                   "uv sync --locked --extra bundle",
                   "check_lock.py --platform win_amd64", "cpc i18n compile",
                   "packaging\\cpc-desktop.spec", "self-test", "choco install innosetup",
                   "/DAppVersion=", "packaging\\windows\\cpc-desktop.iss",
                   "actions/upload-artifact"):
        assert needed in text, f"windows-build.yml lacks: {needed}"


@pytest.mark.parametrize("name", ["build.sh", "linux/install.sh"])
def test_shell_scripts_parse(name):
    r = subprocess.run(["sh" if name.endswith("install.sh") else "bash", "-n",
                        str(PACKAGING / name)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
