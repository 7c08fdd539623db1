"""Backups in the window: the reminder banner, "Hacer copia ahora", the "Copias de
seguridad…" dialog, and who may press what."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from cpc_desktop.core import backups as core
from cpc_desktop.core.vault import Vault


@pytest.fixture
def usb(tmp_path, monkeypatch):
    """A folder standing for a USB stick; the folder dialog answers it."""
    class Stick(type(tmp_path)):
        asked: list

    folder = Stick(tmp_path / "usb")
    folder.mkdir()
    asked = []

    def answer(*_a, **_k):
        asked.append(folder)
        return str(folder)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(answer))
    folder.asked = asked
    return folder


def _backups_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(core.SUFFIX))


def test_banner_reminds_until_a_backup_is_made(main_window, ui_vault, unlock, qtbot, usb):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    banner = main_window.backups.banner
    qtbot.waitUntil(banner.isVisible, timeout=10_000)
    assert "ninguna copia" in banner.message.text(), "the reminder does not say why"
    assert banner.now_button.isEnabled()

    banner.now_button.click()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=60_000)
    assert usb.asked == [usb], "the first backup did not ask where to put it"
    made = _backups_in(usb)
    assert len(made) == 1, f"expected one backup on the stick, found {made}"
    vault = main_window.session.vault
    assert core.get_settings(vault).folder == usb, "the chosen folder was not remembered"
    assert core.backup_due(vault) is False
    core.verify_backup(made[0], vault=vault)
    box = banner.done_box
    assert box is not None and box.isVisible(), "a backup made from the banner says nothing"
    assert "Copia guardada y verificada" in box.text() and str(usb) in box.text()
    box.accept()

    # The next one goes to the same place without asking again.
    main_window.backups.banner.backup_now()
    qtbot.waitUntil(lambda: len(_backups_in(usb)) == 2, timeout=60_000)
    assert usb.asked == [usb], "the remembered folder was asked for again"


def test_backup_dialog_lists_backups_and_verifies_one(main_window, ui_vault, unlock, qtbot,
                                                      tmp_path):
    folder = tmp_path / "copias"
    folder.mkdir()
    with Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase) as vault:
        core.set_settings(vault, folder=folder, keep=5)
        first = core.backup_now(vault).path
        second = core.backup_now(vault).path
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    dialog = main_window.backups.open_dialog()
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        pass
    assert dialog.table.rowCount() == 2, "the dialog does not list the backups in the folder"
    names = {dialog.table.item(r, 2).text() for r in range(2)}
    assert names == {first.name, second.name}
    assert all(dialog.table.item(r, 1).text().endswith(("KB", "MB")) for r in range(2)), \
        "sizes are missing"
    assert dialog.folder_value.text() == str(folder)
    assert dialog.keep.value() == 5
    assert second.name in dialog.last.text(), "the last backup is not shown"

    dialog.table.selectRow(0)
    task = dialog.verify()
    qtbot.waitUntil(lambda: task.finished, timeout=60_000)
    assert "está bien" in dialog.status.text(), "a good backup was not reported as good"

    dialog.remind.setValue(3)
    assert dialog.apply_button.isEnabled()
    task = dialog.apply_settings()
    qtbot.waitUntil(lambda: task.finished, timeout=10_000)
    assert core.get_settings(main_window.session.vault).remind_days == 3


def test_supervisor_cannot_back_up(main_window, ui_vault, unlock, qtbot):
    unlock(main_window, *ui_vault.supervisor)
    banner = main_window.backups.banner
    qtbot.waitUntil(lambda: banner.last_check is not None, timeout=10_000)
    assert not banner.isVisible(), "a reminder was shown to someone who cannot back up"
    dialog = main_window.backups.open_dialog()
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        pass
    for button in (dialog.now_button, dialog.verify_button, dialog.folder_button):
        assert not button.isEnabled(), f"{button.objectName()} is enabled for a supervisor"
    assert dialog.permission.isVisible()
    assert dialog.backup_now() is None


def test_professional_may_back_up(main_window, ui_vault, unlock, qtbot):
    unlock(main_window, *ui_vault.professional)
    banner = main_window.backups.banner
    qtbot.waitUntil(banner.isVisible, timeout=10_000)
    dialog = main_window.backups.open_dialog()
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        pass
    assert dialog.now_button.isEnabled() and dialog.verify_button.isEnabled()
    assert not dialog.permission.isVisible()


def test_another_vaults_backup_is_restored_as_a_new_vault(main_window, ui_vault, unlock, qtbot,
                                                          tmp_path, monkeypatch):
    """"Restaurar como bóveda nueva": a backup of another vault (a fictional second laptop)
    goes into an empty folder through the dialogs; the open vault is not touched."""
    from PySide6.QtWidgets import QInputDialog

    other, _key = Vault.create(tmp_path / "otra", shelter_code="CUS-02",
                               shelter_name="Otra Casa Ficticia", user=ui_vault.user,
                               passphrase=ui_vault.passphrase, kdf_seconds=0)
    theirs = core.backup_to_file(other, tmp_path / "otra.cpcbackup")
    other.lock()
    target = tmp_path / "restaurada"
    target.mkdir()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *_a, **_k: (str(theirs), "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *_a, **_k: str(target)))
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *_a, **_k: (ui_vault.passphrase, True)))
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    dialog = main_window.backups.open_dialog()
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        pass
    assert dialog.restore_new_button.isEnabled()
    dialog.table.clearSelection()
    dialog.restore_new_button.click()
    qtbot.waitUntil(lambda: dialog.task is not None and dialog.task.finished, timeout=60_000)
    assert "bóveda nueva" in dialog.status.text(), dialog.status.text()
    with Vault.open(target, ui_vault.user, ui_vault.passphrase) as restored:
        assert restored.shelter_code == "CUS-02" and restored.check().ok
    assert main_window.session.vault.path == ui_vault.path
