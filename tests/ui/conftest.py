"""Fixtures for window tests: offscreen Qt, private settings and data folders, a small vault
of fictional residents, and a main window pointed at it.

Everyone here is fictional ("Prueba", "Ficticia"); never put a real name in a test.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Without a display Qt aborts; these must be set before PySide6 is imported.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SAFE_DIR = Path(tempfile.mkdtemp(prefix="cpc-ui-tests-"))
os.environ.setdefault("CPC_CONFIG_DIR", str(_SAFE_DIR / "config"))
os.environ.setdefault("CPC_DATA_DIR", str(_SAFE_DIR / "data"))

import pytest  # noqa: E402
from PySide6.QtCore import QModelIndex  # noqa: E402

# cpc_desktop.ui first: its import guards against a PySide6 6.12.0 bug (see ui/__init__.py).
from cpc_desktop.ui import lang, qt_i18n  # noqa: E402
from cpc_desktop.core import i18n  # noqa: E402
from cpc_desktop.core.users import Role  # noqa: E402
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QApplication,  # noqa: E402
                               QComboBox, QLabel, QLineEdit, QMenu, QTextEdit)

SUPERVISOR = ("supervision.prueba", "frase ficticia del supervisor")
PROFESSIONAL = ("psico.prueba", "frase ficticia de la psicologa")

# name_first, name_last, sex, risk, discharged
RESIDENTS = (
    ("María", "Huamán Prueba", "female", "high", False),
    ("Rosa", "Ficticia Quispe", "female", "medium", False),
    ("Inti", "Prueba Mamani", "male", "low", False),
    ("Killa", "Ficticia Condori", "female", "medium", True),
)


@pytest.fixture(autouse=True)
def ui_dirs(tmp_path, monkeypatch):
    """Each test gets its own settings and data folders (nothing from the real profile)."""
    config, data = tmp_path / "config", tmp_path / "data"
    monkeypatch.setenv("CPC_CONFIG_DIR", str(config))
    monkeypatch.setenv("CPC_DATA_DIR", str(data))
    return config, data


@pytest.fixture(autouse=True)
def qt_setup(qapp):
    """Our Qt translator installed; Spanish again after each test."""
    qt_i18n.install(qapp)
    lang.language_bus()
    yield
    if i18n.current_language() != i18n.SOURCE_LANGUAGE:
        lang.set_language(i18n.SOURCE_LANGUAGE)


@dataclass
class UiVault:
    path: Path
    user: str
    passphrase: str
    recovery_key: str
    ids: dict[str, str]          # name_first → resident id
    supervisor: tuple[str, str] = SUPERVISOR        # (user, passphrase)
    professional: tuple[str, str] = PROFESSIONAL


@pytest.fixture(scope="session")
def _ui_vault_template(tmp_path_factory, vault_factory, intake_values, minimal_values) -> UiVault:
    """Built once per run (each key derivation costs time); tests get a copy."""
    created = vault_factory(tmp_path_factory.mktemp("ui-template") / "vault")
    vault = created.vault
    ids = {}
    for first, last, sex, risk, discharged in RESIDENTS:
        rid = vault.add("ficha_ingreso", intake_values(name_first=first, name_last=last, sex=sex,
                                                        risk_level=risk))
        ids[first] = rid
        if discharged:
            form = vault.forms.get("ficha_egreso")
            values = minimal_values(form)
            values["discharge_date"] = "2024-06-01"
            vault.add("ficha_egreso", values, rid)
    vault.add_user(SUPERVISOR[0], Role.SUPERVISOR, SUPERVISOR[1], "Supervisión Prueba")
    vault.add_user(PROFESSIONAL[0], Role.PROFESSIONAL, PROFESSIONAL[1], "Psicóloga Prueba")
    vault.lock()
    return UiVault(created.path, created.coordinator.user, created.coordinator.passphrase,
                   created.recovery_key, ids)


@pytest.fixture
def ui_vault(tmp_path, _ui_vault_template) -> UiVault:
    """A locked vault of its own with four fictional residents (one discharged) and three
    roles: coordinator (user, passphrase), `supervisor` and `professional`."""
    path = tmp_path / "vault"
    shutil.copytree(_ui_vault_template.path, path)
    return dataclasses.replace(_ui_vault_template, path=path)


@pytest.fixture
def main_window(qtbot, ui_vault):
    """The main window on the unlock screen of `ui_vault` (Argon2 at its floor)."""
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    window = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(window)
    window.start(ui_vault.path)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.session.lock()


@pytest.fixture
def unlock(qtbot):
    """unlock(window, user, passphrase): logs in on the unlock screen, waits for the list."""
    return lambda window, user, passphrase: _unlock(qtbot, window, user, passphrase)


@pytest.fixture
def screen_texts():
    """screen_texts(): every text a person could read on screen now (see visible_texts)."""
    return visible_texts


def _unlock(qtbot, window, user: str, passphrase: str) -> None:
    """Types the login on the unlock screen and waits for the resident list to load."""
    view = window.unlock_view
    assert window.current_page() == "unlock"
    view.user.setText(user)
    view.passphrase.setText(passphrase)
    with qtbot.waitSignal(window.residents_view.list_loaded, timeout=10_000):
        view.unlock_button.click()
    assert window.current_page() == "residents"


def visible_texts() -> list[str]:
    """Every text a person could read on screen now: labels, buttons, fields, menus,
    window titles, tooltips, and every cell and header of visible tables."""
    texts: list[str] = []
    for w in QApplication.allWidgets():
        if not w.isVisible():
            continue
        texts.append(w.windowTitle())
        texts.append(w.toolTip())
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            texts.append(w.text())
        elif isinstance(w, QTextEdit):
            texts.append(w.toPlainText())
        elif isinstance(w, QComboBox):
            texts += [w.itemText(i) for i in range(w.count())]
        elif isinstance(w, QMenu):
            texts += [a.text() for a in w.actions()]
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            m, root = w.model(), QModelIndex()
            try:
                columns = m.columnCount(root)
            except TypeError:  # a QAbstractListModel (QListWidget) hides it: one column
                columns = 1
            for r in range(m.rowCount(root)):
                for c in range(columns):
                    texts.append(str(m.data(m.index(r, c)) or ""))
    return [t for t in texts if t]




@pytest.fixture
def fresh_window(qtbot):
    """The window as on a computer with no vault yet."""
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    window = MainWindow(Settings.load(), kdf_seconds=0, demo_residents=3)
    qtbot.addWidget(window)
    window.start()
    window.show()
    yield window
    window.session.lock()
