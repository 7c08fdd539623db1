"""The window re-keys with a progress bar (coordinators), disabling a user re-keys, and sleep
or a screen lock locks the vault (signals sent on a private D-Bus, as logind and the
screensaver send them)."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from PySide6.QtWidgets import QApplication

from cpc_desktop.core.errors import WrongPassphrase
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui import system_lock
from cpc_desktop.ui.rekey_ui import RekeyDialog
from cpc_desktop.ui.start import RecoveryKeyDialog
from cpc_desktop.ui.users import UsersDialog


def _wait(qtbot, predicate, timeout=30_000):
    qtbot.waitUntil(predicate, timeout=timeout)


def test_coordinator_rekeys_from_the_menu_with_progress(main_window, qtbot, ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    assert main_window.act_rekey.isEnabled()
    dialog = main_window.rekey()
    assert isinstance(dialog, RekeyDialog)
    assert "copias de seguridad" in dialog.notice.text()
    dialog.compromised.setChecked(True)
    seen = []
    real = main_window.session.vault.rekey

    def spy(reason, progress=None):
        return real(reason, progress=lambda d, t: (seen.append((d, t)), progress(d, t)))

    main_window.session.vault.rekey = spy
    dialog.ok.click()
    _wait(qtbot, lambda: main_window.findChild(RecoveryKeyDialog, "rekeyResult") is not None)
    result = main_window.findChild(RecoveryKeyDialog, "rekeyResult")
    assert seen and seen[-1][0] == seen[-1][1], "no progress was reported"
    assert "copias de seguridad" in result.notice.text()
    new_key = result.key_label.text()
    assert new_key != ui_vault.recovery_key
    main_window.session.lock()
    Vault.check_recovery_key(ui_vault.path, new_key)
    audit = Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase)
    try:
        assert any(e.action == "vault.rekey" and e.detail.get("reason") == "compromised"
                   for e in audit.audit_log())
    finally:
        audit.lock()


def test_a_professional_is_not_offered_a_rekey(main_window, ui_vault, unlock):
    unlock(main_window, *ui_vault.professional)
    assert not main_window.act_rekey.isEnabled()
    assert main_window.rekey() is None


def test_disabling_a_user_in_the_window_re_keys(main_window, qtbot, ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    dialog = UsersDialog(main_window.session, main_window)
    dialog.open()
    target = ui_vault.professional[0]
    for i in range(dialog.tree.topLevelItemCount()):
        item = dialog.tree.topLevelItem(i)
        if item.text(0) == target:
            dialog.tree.setCurrentItem(item)
    assert dialog.selected_user() is not None and dialog.selected_user().name == target
    box = dialog.toggle_active()
    assert "llave" in box.text()
    box.button(box.StandardButton.Yes).click()
    _wait(qtbot, lambda: getattr(dialog, "rekey_task", None) is not None
          and dialog.rekey_task.finished)
    main_window.session.lock()
    with pytest.raises(WrongPassphrase):
        Vault.open(ui_vault.path, *ui_vault.professional)
    Vault.open(ui_vault.path, *ui_vault.supervisor).lock()


# ---------------------------------------------------------------- sleep and screen lock

@pytest.fixture
def private_bus():
    """A D-Bus daemon of our own (never the machine's buses)."""
    if shutil.which("dbus-daemon") is None:
        pytest.fail("dbus-daemon is needed for this test (apt-get install dbus)")
    proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                             "--print-address=1"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    yield address
    proc.terminate()
    proc.wait(timeout=30)


class Emitter:
    """Sends signals as the named service would (owns its name on the private bus)."""

    def __init__(self, address: str, name: str, service: str, path: str, interface: str,
                 member: str):
        from PySide6.QtDBus import QDBusConnection

        self.bus = QDBusConnection.connectToBus(address, name)
        assert self.bus.isConnected() and self.bus.registerService(service)
        self.where = (path, interface, member)

    def send(self, value: bool) -> None:
        from PySide6.QtDBus import QDBusMessage

        msg = QDBusMessage.createSignal(*self.where)
        msg.setArguments([value])
        assert self.bus.send(msg)


@pytest.mark.parametrize("signal", [system_lock.LOGIND, system_lock.SCREENSAVERS[0],
                                    system_lock.SCREENSAVERS[2]],
                         ids=["logind-sleep", "freedesktop-screensaver", "gnome-screensaver"])
def test_sleep_or_screen_lock_locks_the_vault_and_clears_the_list(main_window, qtbot, ui_vault,
                                                                  unlock, private_bus, signal):
    from PySide6.QtDBus import QDBusConnection

    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    session = main_window.session
    vault = session.vault
    assert main_window.residents_view.model.rowCount() > 0
    listen = QDBusConnection.connectToBus(private_bus, f"listen-{signal[4]}-{signal[3]}")
    watcher = system_lock.SystemLockWatcher(session, system_bus=listen, session_bus=listen)
    watcher.lock_requested.connect(session._system_lock)
    assert f"{signal[3]}.{signal[4]}" in watcher.connected
    # Waking up (False) or the screensaver ending does not unlock or lock anything.
    emitter = Emitter(private_bus, f"emit-{signal[3]}", *signal[1:])
    emitter.send(False)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        QApplication.processEvents()
    assert session.is_unlocked
    with qtbot.waitSignal(session.locked, timeout=10_000):
        emitter.send(True)
    assert not vault.is_open and vault._raw_key is None, "the key stayed in memory"
    assert main_window.current_page() == "unlock"
    assert main_window.residents_view.model.rowCount() == 0, "decrypted names stay on screen"


def test_windows_suspend_and_screen_lock_messages_lock():
    assert system_lock.windows_message_locks(system_lock.WM_POWERBROADCAST,
                                             system_lock.PBT_APMSUSPEND) == "sleep"
    assert system_lock.windows_message_locks(system_lock.WM_WTSSESSION_CHANGE,
                                             system_lock.WTS_SESSION_LOCK) == "screen"
    assert system_lock.windows_message_locks(system_lock.WM_POWERBROADCAST, 0x12) is None
    assert system_lock.windows_message_locks(system_lock.WM_WTSSESSION_CHANGE, 0x8) is None
