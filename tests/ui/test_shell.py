"""The application shell: start screen, vault creation, unlock and lock, users, language,
comfort settings and fault dialogs (pytest-qt, offscreen)."""
from __future__ import annotations

import gettext
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QLineEdit, QMessageBox

from cpc_desktop import __version__
from cpc_desktop import demo
from cpc_desktop.core import i18n
from cpc_desktop.core.errors import PermissionDenied, VaultBusy
from cpc_desktop.core.users import Role
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui import app as ui_app
from cpc_desktop.ui.main_window import MainWindow, apply_font_scale
from cpc_desktop.ui.settings import Settings, config_dir, demo_vault_dir
from cpc_desktop.ui.start import CreateVaultDialog, RecoveryKeyDialog
from cpc_desktop.ui.unlock import backoff_seconds, vault_problem_text
from cpc_desktop.ui.users import (AddUserDialog, ChangePassphraseDialog, ResetPassphraseDialog,
                                  RoleDialog, UsersDialog)

RECOVERY_KEY = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){5}$")


def _dialog(cls):
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, cls) and w.isVisible()]
    return found[-1] if found else None


def _wait_dialog(qtbot, cls, timeout=10_000):
    qtbot.waitUntil(lambda: _dialog(cls) is not None, timeout=timeout)
    return _dialog(cls)


def _message_box(name: str):
    for w in QApplication.topLevelWidgets():
        if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible():
            return w
    return None


# ====================================================================== start and create

def test_without_a_vault_the_start_screen_offers_create_demo_and_other(fresh_window):
    assert fresh_window.current_page() == "start", "a first start must not ask for a passphrase"
    view = fresh_window.start_view
    assert view.create_button.text() == "Crear la bóveda del centro"
    assert view.demo_button.text() == "Abrir la demostración"
    assert view.other_button.text() == "Abrir otra bóveda…"


def test_creating_a_vault_shows_the_recovery_key_once_and_needs_it_noted(fresh_window, qtbot,
                                                                          ui_dirs):
    fresh_window.start_view.create_button.click()
    dialog = _wait_dialog(qtbot, CreateVaultDialog)
    dialog.code.setText("lor-07")
    dialog.shelter.setText("Casa de Acogida Ficticia")
    qtbot.keyClicks(dialog.display_name, "Rosa Ficticia Quispe")
    assert dialog.login.text() == "rosa.ficticia", "the login should be suggested from the name"
    dialog.pair.first.setText("una frase ficticia larga")
    dialog.pair.second.setText("una frase ficticia larga")
    dialog.ok.click()
    sheet = _wait_dialog(qtbot, RecoveryKeyDialog)
    key = sheet.key_label.text()
    assert RECOVERY_KEY.match(key), f"the recovery key is not shown as six groups: {key!r}"
    assert not sheet.continue_button.isEnabled(), "one could skip the only sight of the key"
    sheet.reject()          # Esc / window close
    assert sheet.isVisible(), "Esc closed the recovery key before it was noted"
    assert sheet.print_button.isVisible(), "the recovery key sheet cannot be printed"
    sheet.noted.setChecked(True)
    assert sheet.continue_button.isEnabled()
    with qtbot.waitSignal(fresh_window.residents_view.list_loaded, timeout=10_000):
        sheet.continue_button.click()
    assert fresh_window.current_page() == "residents"
    vault = fresh_window.session.vault
    assert vault.shelter_code == "LOR-07" and vault.user.role is Role.COORDINATOR
    assert Settings.load().last_vault == str(vault.path)
    # The key shown really opens the vault.
    fresh_window.session.lock()
    Vault.open_with_recovery(vault.path, key, "rosa.ficticia", "otra frase ficticia larga").lock()


def test_create_dialog_says_what_is_wrong_and_keeps_the_input(fresh_window, qtbot):
    dialog = fresh_window.create_vault()
    dialog.code.setText("LOR-01")
    dialog.shelter.setText("Casa Ficticia")
    dialog.display_name.setText("Rosa Ficticia")
    dialog.login.setText("rosa")
    dialog.pair.first.setText("una frase ficticia larga")
    dialog.pair.second.setText("una frase ficticia distinta")
    dialog.ok.click()
    assert dialog.isVisible()
    assert "no coinciden" in dialog.message.text()
    assert dialog.shelter.text() == "Casa Ficticia", "a refused form lost what was typed"
    assert not (dialog.folder / "keyslots.json").exists()
    dialog.pair.first.setText("corta")
    assert "Muy débil" in dialog.pair.hint.text(), "no strength hint for a short passphrase"


def test_demo_is_built_with_progress_and_its_unlock_screen_shows_the_demo_login(fresh_window,
                                                                                 qtbot):
    with qtbot.waitSignal(fresh_window.residents_view.list_loaded, timeout=60_000):
        fresh_window.start_view.demo_button.click()
    assert fresh_window.residents_view.model.rowCount() == 3
    assert fresh_window.session.path == demo_vault_dir()
    fresh_window.lock()
    hint = fresh_window.unlock_view.demo_hint
    assert hint.isVisible() and demo.DEMO_PASSPHRASE in hint.text() and "demo" in hint.text()
    assert fresh_window.unlock_view.user.text() == demo.DEMO_USER


def test_a_folder_without_a_vault_is_refused_with_a_clear_message(fresh_window, tmp_path):
    fresh_window.choose_other_vault(str(tmp_path))
    box = _message_box("notAVaultBox")
    assert box is not None and "keyslots.json" in box.text()
    assert fresh_window.current_page() == "start"


# ====================================================================== unlock

def test_unlock_shows_the_list_and_remembers_vault_and_user(main_window, ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    assert main_window.residents_view.model.rowCount() == 4
    saved = Settings.load()
    assert saved.last_vault == str(ui_vault.path) and saved.last_user == ui_vault.user
    assert (config_dir() / "settings.json").is_file()


def test_unlock_screen_tab_order_goes_user_passphrase_unlock(main_window):
    view = main_window.unlock_view
    chain, w = [], view.user
    for _ in range(3):
        chain.append(w.objectName())
        w = w.nextInFocusChain()
        while not w.focusPolicy() & Qt.FocusPolicy.TabFocus:
            w = w.nextInFocusChain()
    assert chain == ["unlockUser", "unlockPassphrase", "unlockButton"]


def test_wrong_passphrase_says_so_waits_longer_each_time_and_changes_nothing(main_window, qtbot,
                                                                              ui_vault):
    files = {p.name: p.read_bytes() for p in ui_vault.path.iterdir() if p.is_file()}
    view = main_window.unlock_view
    view.user.setText(ui_vault.user)
    view.passphrase.setText("no es la frase correcta")
    view.unlock_button.click()
    qtbot.waitUntil(lambda: view.message.isVisible(), timeout=10_000)
    assert "incorrect" in view.message.text()
    assert not view.unlock_button.isEnabled(), "a failed try must make the next one wait"
    assert view.passphrase.text() == ""
    assert main_window.current_page() == "unlock" and not main_window.session.is_unlocked
    qtbot.waitUntil(lambda: view.unlock_button.isEnabled(), timeout=3_000)
    view.passphrase.setText("tampoco es la frase")
    view.unlock_button.click()
    qtbot.waitUntil(lambda: main_window.session.failed_unlocks == 2, timeout=10_000)
    assert "2 s" in view.message.text(), "the second failure should wait longer"
    assert [backoff_seconds(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    after = {p.name: p.read_bytes() for p in ui_vault.path.iterdir() if p.is_file()}
    assert after == files, "a wrong passphrase changed the vault's files"


def test_forgotten_passphrase_is_replaced_with_the_recovery_key(main_window, qtbot, ui_vault,
                                                                 unlock):
    dialog = main_window.unlock_view.open_recovery()
    dialog.user.setText(ui_vault.user)
    dialog.key.setText(ui_vault.recovery_key.lower())
    dialog.pair.first.setText("nueva frase ficticia segura")
    dialog.pair.second.setText("nueva frase ficticia segura")
    with qtbot.waitSignal(main_window.residents_view.list_loaded, timeout=10_000):
        dialog.ok.click()
    assert main_window.session.is_unlocked
    main_window.lock()
    unlock(main_window, ui_vault.user, "nueva frase ficticia segura")


def test_a_damaged_vault_gets_a_dialog_that_says_what_to_do(main_window, qtbot, ui_vault):
    db = ui_vault.path / "vault.db"
    db.write_bytes(b"\0" * 4096 * 4)
    for extra in ("vault.db-wal", "vault.db-shm"):
        (ui_vault.path / extra).unlink(missing_ok=True)
    view = main_window.unlock_view
    view.user.setText(ui_vault.user)
    view.passphrase.setText(ui_vault.passphrase)
    view.unlock_button.click()
    qtbot.waitUntil(lambda: _message_box("vaultProblemBox") is not None, timeout=10_000)
    text = _message_box("vaultProblemBox").text()
    assert "copia de seguridad" in text and "Traceback" not in text
    assert not main_window.session.is_unlocked


def test_busy_vault_message_says_to_close_other_windows():
    text = vault_problem_text(VaultBusy("La bóveda está siendo usada por otro programa."))
    assert "Cierre las otras ventanas" in text


# ====================================================================== lock

def test_ctrl_l_clears_every_resident_name_from_the_screen_and_unlock_restores_them(
        main_window, qtbot, ui_vault, unlock, screen_texts):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    qtbot.keyClicks(main_window.residents_view.search, "maria")
    qtbot.waitSignal(main_window.residents_view.search_applied, timeout=5_000)
    names = ["María", "Huamán", "Rosa", "Inti", "Killa", "Quispe", "Condori", "Mamani"]
    assert any("Huamán" in t for t in screen_texts())
    qtbot.keyClick(main_window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not main_window.session.is_unlocked
    assert main_window.current_page() == "unlock"
    assert main_window.residents_view.model.rows == [], "decrypted rows kept after locking"
    leaked = [t for t in screen_texts() for n in names if n in t]
    assert not leaked, f"resident names still readable on a locked screen: {leaked}"
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    assert any("Huamán" in t for t in screen_texts())


def test_idle_time_locks_the_vault_and_editors_can_save_drafts_first(main_window, qtbot,
                                                                      ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    session = main_window.session
    saved = []

    def save_draft() -> None:   # what an open editor does on `locking`
        session.vault.save_draft("prueba", {"nota": "borrador ficticio"})
        saved.append(True)

    session.locking.connect(save_draft)
    session.set_idle_interval_ms(150)
    with qtbot.waitSignal(session.locked, timeout=5_000):
        pass
    assert saved == [True], "editors had no chance to save a draft before the lock"
    assert main_window.current_page() == "unlock"
    assert main_window.residents_view.model.rowCount() == 0
    session.locking.disconnect(save_draft)
    with Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase) as v:
        assert v.drafts() == {"prueba": {"nota": "borrador ficticio"}}


# ====================================================================== users

def test_supervisor_sees_user_management_and_new_resident_disabled(main_window, qtbot, ui_vault,
                                                                   unlock):
    unlock(main_window, *ui_vault.supervisor)
    assert not main_window.act_users.isEnabled(), "a supervisor can open user management"
    assert not main_window.act_new.isEnabled()
    assert not main_window.residents_view.new_button.isEnabled()
    assert main_window.act_passwd.isEnabled(), "everyone may change their own passphrase"
    dialog = UsersDialog(main_window.session, main_window)
    qtbot.addWidget(dialog)
    dialog.tree.setCurrentItem(dialog.tree.topLevelItem(0))
    for button in (dialog.add_button, dialog.role_button, dialog.active_button,
                   dialog.reset_button):
        assert not button.isEnabled(), f"{button.text()!r} is enabled for a supervisor"
    assert dialog.tree.topLevelItemCount() == 3, "the supervisor should still see the list"
    with pytest.raises(PermissionDenied):
        main_window.session.vault.add_user("otra.prueba", "professional", "frase ficticia larga")


def _select_user(dialog, name):
    for i in range(dialog.tree.topLevelItemCount()):
        item = dialog.tree.topLevelItem(i)
        if item.text(0) == name:
            dialog.tree.setCurrentItem(item)
            return
    raise AssertionError(f"user {name} not listed")


def test_coordinator_adds_a_user_changes_a_role_resets_and_disables(main_window, qtbot,
                                                                     ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    assert main_window.act_users.isEnabled()
    users = main_window.show_users()
    add = users.add_user()
    add.login.setText("trabajadora.prueba")
    add.display.setText("Trabajadora Social Prueba")
    add.pair.first.setText("frase ficticia nueva uno")
    add.pair.second.setText("frase ficticia nueva uno")
    add.ok.click()
    qtbot.waitUntil(lambda: users.tree.topLevelItemCount() == 4, timeout=10_000)

    _select_user(users, "trabajadora.prueba")
    role = users.change_role()
    assert isinstance(role, RoleDialog)
    role.role.setCurrentIndex(role.role.findData(Role.SUPERVISOR.value))
    role.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    vault = main_window.session.vault
    qtbot.waitUntil(lambda: {u.name: u.role for u in vault.users()}["trabajadora.prueba"]
                    is Role.SUPERVISOR, timeout=5_000)

    _select_user(users, ui_vault.professional[0])
    reset = users.reset_passphrase()
    assert isinstance(reset, ResetPassphraseDialog)
    reset.pair.first.setText("frase ficticia restablecida")
    reset.pair.second.setText("frase ficticia restablecida")
    reset.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not reset.isVisible(), timeout=10_000)
    Vault.open(ui_vault.path, ui_vault.professional[0], "frase ficticia restablecida").lock()

    _select_user(users, "trabajadora.prueba")
    box = users.toggle_active()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not {u.name: u.active for u in vault.users()}["trabajadora.prueba"],
                    timeout=5_000)
    assert isinstance(add, AddUserDialog)


def test_anyone_changes_their_own_passphrase(main_window, qtbot, ui_vault, unlock):
    unlock(main_window, *ui_vault.professional)
    dialog = main_window.change_passphrase()
    assert isinstance(dialog, ChangePassphraseDialog)
    dialog.current.setText("no es la actual")
    dialog.pair.first.setText("frase ficticia cambiada")
    dialog.pair.second.setText("frase ficticia cambiada")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=10_000)
    assert dialog.isVisible(), "a wrong current passphrase must not close the dialog"
    dialog.current.setText(ui_vault.professional[1])
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    Vault.open(ui_vault.path, ui_vault.professional[0], "frase ficticia cambiada").lock()


def test_dialogs_showing_vault_data_close_when_the_vault_locks(main_window, ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    users = main_window.show_users()
    assert users.isVisible()
    main_window.lock()
    assert not users.isVisible(), "the users list stayed on screen after locking"


# ====================================================================== language

class _MarkedCatalog(gettext.NullTranslations):
    """A stand-in Quechua catalog that marks every text, to see which ones switch."""

    def gettext(self, message):
        return "⟪qu⟫" + message


def test_language_switch_changes_menus_and_qt_buttons_at_run_time(main_window, qtbot,
                                                                  monkeypatch):
    monkeypatch.setitem(i18n._cache, "qu", _MarkedCatalog())
    box = QMessageBox(QMessageBox.Icon.Question, "t", "x",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                      main_window)
    box.show()
    edit = QLineEdit("x")
    assert main_window.menu_file.title() == "&Archivo"
    assert box.button(QMessageBox.StandardButton.Cancel).text() == "Cancelar"
    main_window.language_actions["qu"].trigger()
    qtbot.waitUntil(lambda: box.button(QMessageBox.StandardButton.Cancel).text()
                    == "⟪qu⟫Cancelar", timeout=2_000)
    assert main_window.menu_file.title() == "⟪qu⟫&Archivo"
    assert main_window.unlock_view.unlock_button.text() == "⟪qu⟫&Desbloquear"
    assert box.button(QMessageBox.StandardButton.Yes).text() == "&⟪qu⟫Sí"
    menu = edit.createStandardContextMenu()
    assert any(a.text().startswith("&⟪qu⟫Copiar") for a in menu.actions()), \
        "the edit context menu did not follow the language"
    assert Settings.load().language == "qu", "the language choice was not remembered"
    main_window.language_actions["es"].trigger()
    qtbot.waitUntil(lambda: box.button(QMessageBox.StandardButton.Cancel).text() == "Cancelar",
                    timeout=2_000)
    assert main_window.menu_file.title() == "&Archivo"


def test_real_quechua_catalog_reaches_qt_yes_no_buttons(qtbot, main_window):
    box = QMessageBox(QMessageBox.Icon.Question, "t", "x",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    qtbot.addWidget(box)
    main_window.set_language("qu")
    qu = i18n.gettext_for("qu")
    qtbot.waitUntil(lambda: box.button(QMessageBox.StandardButton.Yes).text() == "&" + qu("Sí"),
                    timeout=2_000)
    assert box.button(QMessageBox.StandardButton.No).text() == "&" + qu("No")


# ====================================================================== comfort and faults

def test_ctrl_plus_and_minus_scale_the_font_and_it_is_remembered(main_window, qtbot):
    base = QApplication.font().pointSizeF()
    try:
        qtbot.keyClick(main_window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
        assert Settings.load().font_scale == pytest.approx(1.1)
        assert QApplication.font().pointSizeF() == pytest.approx(base * 1.1, rel=0.02)
        qtbot.keyClick(main_window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(main_window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
        assert Settings.load().font_scale == pytest.approx(0.9)
        assert "Ctrl" in main_window.act_lock.shortcut().toString()
    finally:
        apply_font_scale(1.0)


def test_window_geometry_is_remembered(qtbot, main_window):
    main_window.resize(760, 520)
    main_window.close()
    again = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (760, 520)


def test_unexpected_error_shows_its_type_but_no_data(qtbot, main_window):
    try:
        raise ValueError("María Huamán Prueba")
    except ValueError as exc:
        ui_app.excepthook(type(exc), exc, exc.__traceback__)
    box = _message_box("unexpectedErrorBox")
    assert box is not None, "an unexpected error passed silently"
    assert "ValueError" in box.text() and "María" not in box.text()
    box.close()


def test_about_shows_version_and_licence_and_help_opens_the_guide(main_window):
    about = main_window.show_about()
    text = about.findChild(QLabel, "aboutText")
    assert __version__ in text.text() and "GPL-3.0-or-later" in text.text()
    guide = main_window.show_guide()
    content = guide.browser.toPlainText()
    assert "Guía de uso" in content and "desbloquear" in content.lower()


def test_settings_survive_a_broken_file_and_live_in_the_config_override(ui_dirs):
    config, _data = ui_dirs
    config.mkdir(parents=True)
    (config / "settings.json").write_text("{not json", encoding="utf-8")
    settings = Settings.load()
    assert settings.idle_minutes == 5 and settings.language == "es"
    settings.update(idle_minutes=500)
    assert Settings.load().idle_minutes == 120, "idle minutes are capped"
