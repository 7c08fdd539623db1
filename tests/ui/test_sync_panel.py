"""The "Sincronizar" menu, panel and status line (pytest-qt, offscreen): two laptops of one
fictional shelter and a folder hub (a USB stick) in tmp_path.

Laptop A is the window's vault (the UI template: four fictional residents, three roles);
laptop B joined it with a real invitation and is driven headless, as another laptop would be.
"""
from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox

from cpc_desktop.core.errors import PermissionDenied
from cpc_desktop.core.i18n import _
from cpc_desktop.core.vault import Vault
from cpc_desktop.sync import FolderHub, SyncEngine, conflicts, devices, invitations, open_hub
from cpc_desktop.sync import resolve
from cpc_desktop.ui.main_window import MainWindow
from cpc_desktop.ui.settings import Settings
from cpc_desktop.ui.sync_dialogs import (HubSettingsDialog, InvitationCodeDialog, JoinDialog,
                                         hub_problem)
from cpc_desktop.ui.sync_panel import ID_ROLE, SyncPanel
from sync_support import approve

B_USER, B_PASS = "coord.b", "frase ficticia del equipo b"
CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


@dataclass
class Pair:
    a: Path
    b: Path
    hub: Path
    a_user: str
    a_pass: str


def _copy(src: Pair, dest: Path) -> Pair:
    out = Pair(dest / "a", dest / "b", dest / "usb", src.a_user, src.a_pass)
    for s, d in ((src.a, out.a), (src.b, out.b), (src.hub, out.hub)):
        shutil.copytree(s, d)
    return out


@pytest.fixture(scope="session")
def _pair_template(tmp_path_factory, _ui_vault_template) -> Pair:
    """A (the UI vault) invited B; nothing synced yet."""
    base = tmp_path_factory.mktemp("sync-pair")
    t = _ui_vault_template
    pair = Pair(base / "a", base / "b", base / "usb", t.user, t.passphrase)
    shutil.copytree(t.path, pair.a)
    pair.hub.mkdir()
    a = Vault.open(pair.a, t.user, t.passphrase)
    code = invitations.create_invitation(a, base / "inv.cpci")
    b, _key = invitations.join_new_vault(pair.b, invitations.read_invitation(base / "inv.cpci",
                                                                             code),
                                         user=B_USER, passphrase=B_PASS, kdf_seconds=0)
    approve(a, b, base)
    a.lock()
    b.lock()
    return pair


@pytest.fixture(scope="session")
def _synced_template(tmp_path_factory, _pair_template) -> Pair:
    """The same two laptops after A and B exchanged everything through the stick."""
    pair = _copy(_pair_template, tmp_path_factory.mktemp("sync-synced"))
    a = Vault.open(pair.a, pair.a_user, pair.a_pass)
    b = Vault.open(pair.b, B_USER, B_PASS)
    for v in (a, b, a):
        SyncEngine(v).sync(FolderHub(pair.hub))
    a.lock()
    b.lock()
    return pair


@pytest.fixture
def pair(tmp_path, _pair_template) -> Pair:
    return _copy(_pair_template, tmp_path)


@pytest.fixture
def synced(tmp_path, _synced_template) -> Pair:
    return _copy(_synced_template, tmp_path)


def open_b(p: Pair) -> Vault:
    return Vault.open(p.b, B_USER, B_PASS)


@pytest.fixture
def window_on(qtbot, unlock):
    """window_on(path, user, passphrase): the main window unlocked on that vault."""
    made = []

    def make(path: Path, user: str, passphrase: str) -> MainWindow:
        w = MainWindow(Settings.load(), kdf_seconds=0)
        qtbot.addWidget(w)
        w.start(path)
        w.show()
        qtbot.waitExposed(w)
        unlock(w, user, passphrase)
        made.append(w)
        return w

    yield make
    for w in made:
        if w.sync_controller.busy:
            w.sync_controller.cancel()
            qtbot.waitUntil(lambda w=w: not w.sync_controller.busy, timeout=10_000)
        w.session.lock()


def panel_of(window, tab: int = 0) -> SyncPanel:
    window.sync_menu.open(tab)
    return window.sync_controller.panel


def wait_loaded(qtbot, panel: SyncPanel) -> None:
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.reload()


def usb_sync(qtbot, monkeypatch, window, hub: Path):
    """Clicks "Sincronizar con memoria USB…" choosing `hub`; returns the SyncOutcome."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(hub)))
    panel = panel_of(window)
    with qtbot.waitSignal(window.sync_controller.finished, timeout=20_000) as blocker:
        panel.usb_button.click()
    return blocker.args[0]


def wait_status(qtbot, window, predicate, failure: str) -> str:
    line = window.sync_menu.status_line
    eventually(qtbot, lambda: predicate(line.text()), f"{failure}: {line.text()!r}")
    return line.text()


def names_in_list(window) -> set[str]:
    return {r.name_first for r in window.residents_view.model.rows}


def eventually(qtbot, condition, failure: str, timeout: int = 10_000) -> None:
    """Waits for `condition`; a timeout fails with what a person would have suffered."""
    try:
        qtbot.waitUntil(condition, timeout=timeout)
    except Exception:  # noqa: BLE001 - pytest-qt's TimeoutError, reworded
        pytest.fail(failure)


def visible_popups() -> list:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, (QMessageBox, QDialog)) and w.isVisible()]


# ====================================================================== tests

def test_usb_sync_moves_a_resident_between_laptops_and_refreshes_the_list(
        qtbot, monkeypatch, pair, window_on, intake_values):
    b = open_b(pair)
    b.add("ficha_ingreso", intake_values(name_first="Nayra", name_last="Ficticia Prueba"))
    SyncEngine(b).sync(FolderHub(pair.hub))
    b.lock()

    w = window_on(pair.a, pair.a_user, pair.a_pass)
    assert "Nayra" not in names_in_list(w)
    before = wait_status(qtbot, w, lambda t: "en espera" in t and "sin cambios" not in t,
                         "the status line hides that this laptop's work has not left it")
    assert re.search(r"\d+ cambios en espera", before), (
        f"the status line hides that this laptop's work has not left it yet: {before!r}")
    assert "Aún no se ha sincronizado" in before

    progress = []
    w.sync_controller.progressed.connect(progress.append)
    outcome = usb_sync(qtbot, monkeypatch, w, pair.hub)
    assert outcome.ok and outcome.error is None, outcome.error
    assert outcome.report.received_batches >= 1 and outcome.report.sent_batches >= 1
    eventually(qtbot, lambda: "Nayra" in names_in_list(w),
               "the resident list did not show the resident the sync brought")

    # Progress reached the end, with bytes and batches.
    last = progress[-1]
    assert last.phase == "done" and last.batches_done == last.batches_total > 0
    assert last.bytes_done > 0
    panel = w.sync_controller.panel
    assert "Sincronizado con" in panel.result_label.text()
    assert not panel.progress_box.isVisible()

    after = wait_status(qtbot, w, lambda t: "Última sincronización" in t,
                        "the status line does not say when the last sync was")
    assert "sin cambios en espera" in after, f"the status line still shows waiting: {after!r}"
    assert "⚠" not in after

    # Both laptops of one shelter numbered a resident 0001: flagged, never joined.
    wait_loaded(qtbot, panel)
    assert panel.duplicate_tree.topLevelItemCount() == 1
    assert panel.duplicate_tree.topLevelItem(0).text(0) == "mismo código interno"
    assert "Nayra" in panel.duplicate_tree.topLevelItem(0).text(1)
    assert "Unir…" in panel.duplicates_intro.text()

    b = open_b(pair)
    try:
        SyncEngine(b).sync(FolderHub(pair.hub))
        assert {r.name_first for r in b.residents()} >= {"María", "Rosa", "Nayra"}, \
            "laptop B did not receive laptop A's residents through the stick"
    finally:
        b.lock()


class _StallingHub(FolderHub):
    """A stick that stalls on the first batch it reads, until the sync is cancelled."""

    def __init__(self, root, stalled: threading.Event):
        super().__init__(root)
        self.stalled = stalled

    def _get(self, path: str) -> bytes:
        if path.endswith(".cpcb") and not self.stalled.is_set():
            self.stalled.set()
            deadline = time.monotonic() + 15
            while not self.cancel.cancelled and time.monotonic() < deadline:
                time.sleep(0.01)
        return super()._get(path)


def test_cancel_mid_sync_keeps_both_vaults_sound_and_a_later_sync_completes(
        qtbot, monkeypatch, pair, window_on, intake_values):
    b = open_b(pair)
    b.add("ficha_ingreso", intake_values(name_first="Nayra", name_last="Ficticia Prueba"))
    SyncEngine(b).sync(FolderHub(pair.hub))
    b.lock()
    w = window_on(pair.a, pair.a_user, pair.a_pass)
    stalled = threading.Event()
    w.sync_controller.hub_opener = lambda location, *a: _StallingHub(location, stalled)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(pair.hub)))
    panel = panel_of(w)
    panel.usb_button.click()
    qtbot.waitUntil(stalled.is_set, timeout=10_000)
    qtbot.waitUntil(lambda: "paquetes de cambios" in panel.progress_label.text(), timeout=5_000)
    assert panel.progress_box.isVisible() and panel.cancel_button.isEnabled()
    assert not panel.usb_button.isEnabled(), "a second sync could start during the first"
    with qtbot.waitSignal(w.sync_controller.finished, timeout=10_000) as blocker:
        panel.cancel_button.click()
    outcome = blocker.args[0]
    assert outcome.cancelled, outcome.error
    assert "cancelada" in panel.result_label.text()
    assert not visible_popups(), "a cancelled sync must not pop up an error"
    assert w.session.vault.check().ok, "cancelling mid-sync damaged the window's vault"
    assert "Nayra" not in names_in_list(w)

    w.sync_controller.hub_opener = open_hub
    outcome = usb_sync(qtbot, monkeypatch, w, pair.hub)
    assert outcome.ok, outcome.error
    eventually(qtbot, lambda: "Nayra" in names_in_list(w),
               "the sync after a cancel did not bring what the cancelled one had not")
    b = open_b(pair)
    try:
        SyncEngine(b).sync(FolderHub(pair.hub))
        assert b.check().ok
        assert "María" in {r.name_first for r in b.residents()}
    finally:
        b.lock()


def test_a_conflict_is_listed_with_label_values_and_author_and_resolving_syncs(
        qtbot, monkeypatch, synced, window_on):
    b = open_b(synced)
    rosa = next(r for r in b.residents() if r.name_first == "Rosa")
    b.update(rosa.id, {"name_nickname": "Luz"})
    SyncEngine(b).sync(FolderHub(synced.hub))
    b.lock()

    w = window_on(synced.a, synced.a_user, synced.a_pass)
    w.session.vault.update(rosa.id, {"name_nickname": "Flor"})
    outcome = usb_sync(qtbot, monkeypatch, w, synced.hub)
    assert outcome.ok and outcome.report.new_conflicts == 1
    panel = panel_of(w, 1)
    qtbot.waitUntil(lambda: panel.data is not None and len(panel.data.conflicts) == 1,
                    timeout=10_000)
    item = panel.conflict_tree.topLevelItem(0)
    label = _(w.session.vault.forms.get("ficha_ingreso").field("name_nickname").label)
    assert label in item.text(1), "the conflict does not name the field as the form does"
    assert {item.text(2), item.text(3)} == {"Flor", "Luz"}
    assert "Rosa" in item.text(0)
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", item.text(4))
    assert panel.tabs.tabText(1) == "Conflictos (1)"
    wait_status(qtbot, w, lambda t: "1 conflicto por revisar" in t,
                "the status line does not say a conflict waits for review")

    other = item.text(3)
    assert panel.take_button.isEnabled()
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.take_button.click()
    assert panel.data.conflicts == [], "a resolved conflict stayed in the list"
    assert w.session.vault.get(rosa.id).values["name_nickname"] == other
    assert w.sync_controller.scheduler._requested, "the decision would wait for a manual sync"
    wait_status(qtbot, w, lambda t: "conflicto" not in t,
                "the status line still counts a resolved conflict")

    assert usb_sync(qtbot, monkeypatch, w, synced.hub).ok
    w.session.lock()
    assert not panel.isVisible() and panel.data is None, \
        "conflict values stayed on screen after the vault locked"
    b = open_b(synced)
    try:
        SyncEngine(b).sync(FolderHub(synced.hub))
        assert conflicts(b) == [], "the decision did not close the conflict on the other laptop"
        assert b.get(rosa.id).values["name_nickname"] == other
    finally:
        b.lock()


def test_a_tampered_batch_is_refused_with_its_reason_and_nothing_of_it_applied(
        qtbot, monkeypatch, synced, window_on, intake_values):
    b = open_b(synced)
    b.add("ficha_ingreso", intake_values(name_first="Nayra", name_last="Ficticia Prueba"))
    SyncEngine(b).sync(FolderHub(synced.hub))
    device_b = b.device_id
    b.lock()
    newest = max((synced.hub / "cpc" / "LOR-01" / device_b).glob("*.cpcb"))
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF            # someone changed the batch on the stick
    newest.write_bytes(bytes(data))

    w = window_on(synced.a, synced.a_user, synced.a_pass)
    outcome = usb_sync(qtbot, monkeypatch, w, synced.hub)
    assert outcome.report is not None and len(outcome.report.refused) == 1
    panel = w.sync_controller.panel
    shown = [panel.messages.item(i).text() for i in range(panel.messages.count())]
    assert panel.messages.isVisible() and shown == [
        f"Rechazado: {outcome.report.refused[0]}"], "the refusal's reason is not shown"
    assert "rechazado" in panel.result_label.text()
    text = wait_status(qtbot, w, lambda t: "⚠" in t, "a refused batch left no mark")
    assert "1 paquete de cambios rechazado" in text
    assert "Nayra" not in names_in_list(w), "part of a refused batch was applied"
    assert w.session.vault.check().ok


def test_a_laptop_with_a_wrong_clock_is_flagged_in_the_panel_and_the_status_line(
        qtbot, monkeypatch, synced, window_on, intake_values):
    b = open_b(synced)
    real = b.clock._wall
    b.clock._wall = lambda: real() + 20 * 3600 * 1000
    b.add("ficha_ingreso", intake_values(name_first="Horaria", name_last="Ficticia Prueba"))
    SyncEngine(b).sync(FolderHub(synced.hub))
    device_b = b.device_id
    b.lock()

    w = window_on(synced.a, synced.a_user, synced.a_pass)
    outcome = usb_sync(qtbot, monkeypatch, w, synced.hub)
    assert outcome.report is not None and outcome.report.ok
    panel = w.sync_controller.panel
    shown = [panel.messages.item(i).text() for i in range(panel.messages.count())]
    assert panel.messages.isVisible() and shown and shown[0].startswith("⚠ Aviso:"), shown
    assert device_b[-8:] in shown[0] and "20 horas" in shown[0]
    assert "Horaria" not in shown[0], "a notice must carry no personal data"
    assert "⚠" in panel.result_label.text()
    text = wait_status(qtbot, w, lambda t: "aviso" in t, "the wrong clock left no mark")
    assert "1 aviso de la última sincronización" in text
    assert "20 horas" in w.sync_menu.status_line.toolTip()


def test_a_supervisor_can_sync_but_not_change_the_hub_revoke_invite_or_resolve(
        qtbot, synced, window_on, ui_vault):
    user, passphrase = ui_vault.supervisor
    w = window_on(synced.a, user, passphrase)
    panel = panel_of(w, 3)
    wait_loaded(qtbot, panel)
    assert panel.device_tree.topLevelItemCount() == 2
    other = next(i for i in range(2) if "este equipo" not in panel.device_tree.topLevelItem(i)
                 .text(1))
    panel.device_tree.topLevelItem(other).setSelected(True)
    assert not panel.hub_button.isEnabled() and not w.sync_menu.act_hub.isEnabled()
    assert not panel.revoke_button.isEnabled()
    assert not panel.invite_button.isEnabled() and not panel.join_button.isEnabled()
    assert not panel.keep_button.isEnabled() and not panel.take_button.isEnabled()
    assert panel.usb_button.isEnabled(), "syncing is not refused to a supervisor by the core"
    assert "coordinación" in panel.devices_hint.text()

    vault = w.session.vault
    device_b = panel.device_tree.topLevelItem(other).data(0, ID_ROLE)
    with pytest.raises(PermissionDenied, match="punto de intercambio"):
        SyncEngine(vault).save_hub(str(synced.hub))
    with pytest.raises(PermissionDenied):
        devices.revoke(vault, device_b)
    with pytest.raises(PermissionDenied):
        invitations.create_invitation(vault, synced.hub.parent / "x.cpci")
    with pytest.raises(PermissionDenied):
        resolve(vault, 1)
    assert SyncEngine(vault).hub_settings() is None


def test_background_tries_the_saved_hub_and_stays_quiet_when_it_does_not_answer(
        qtbot, synced, window_on):
    w = window_on(synced.a, synced.a_user, synced.a_pass)
    c = w.sync_controller
    assert c.timer.isActive() and c.timer.interval() <= 60_000
    assert not c.tick(), "it tried a hub that is not configured"

    dialog = w.sync_menu.edit_hub()
    assert isinstance(dialog, HubSettingsDialog)
    dialog.url.setText(str(synced.hub))
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert not dialog.isVisible()
    assert c.hub_configured()
    with qtbot.waitSignal(c.finished, timeout=20_000) as blocker:
        assert c.tick()
    assert blocker.args[0].background and blocker.args[0].ok
    assert not c.tick(), "it tried again at once although the hub answered"

    missing = synced.hub.parent / "memoria-no-conectada"
    dialog = w.sync_menu.edit_hub()
    dialog.url.setText(str(missing))
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    w.sync_controller.panel.close()
    with qtbot.waitSignal(c.finished, timeout=20_000) as blocker:
        assert c.tick()
    outcome = blocker.args[0]
    assert outcome.hub_failed and \
        "No se encuentra la carpeta del punto de intercambio" in outcome.error
    assert not visible_popups(), "an absent hub popped up a message in someone's work"
    text = wait_status(qtbot, w, lambda t: "⚠" in t,
                       "nothing in the status line says the hub did not answer")
    assert "no respondió" in text and "Última sincronización" in text
    assert "No se encuentra" in w.sync_menu.status_line.toolTip()
    assert not c.tick(), "it hammered an absent hub instead of backing off"
    assert c.scheduler.failures == 1


def test_hub_password_is_kept_in_the_vault_and_never_shown_back(qtbot, synced, window_on):
    w = window_on(synced.a, synced.a_user, synced.a_pass)
    dialog = w.sync_menu.edit_hub()
    dialog.url.setText("https://nube.invalid/remote.php/dav/files/centro/")
    dialog.user.setText("centro")
    dialog.save()
    assert "contraseña" in dialog.message.text() and dialog.isVisible()
    dialog.password.setText("clave-ficticia-del-hub")
    dialog.save()
    assert not dialog.isVisible()
    engine = SyncEngine(w.session.vault)
    assert engine.hub_settings()["password"] == "clave-ficticia-del-hub"

    again = w.sync_menu.edit_hub()
    assert again.password.text() == "" and "guardada" in again.password.placeholderText()
    texts = [x.text() for x in again.findChildren(type(again.url))]
    assert "clave-ficticia-del-hub" not in texts
    again.save()        # unchanged address, empty box: the saved password stays
    assert engine.hub_settings()["password"] == "clave-ficticia-del-hub"


def test_hub_settings_refuse_a_password_in_the_address_or_sent_in_clear():
    assert "dentro de la dirección" in hub_problem("https://centro:clave@nube.invalid/dav/",
                                                   "", "", False)
    assert "https://" in hub_problem("http://nube.invalid/dav/", "centro", "x", False)
    assert hub_problem("http://127.0.0.1:8080/", "centro", "x", False) is None
    assert "usuario" in hub_problem("https://nube.invalid/dav/", "", "", False)
    assert hub_problem("https://nube.invalid/dav/", "centro", "", True) is None
    assert hub_problem("/media/usb", "", "", False) is None
    assert hub_problem("", "", "", False)


def test_coordinator_invites_a_device_with_a_large_one_time_code_and_revokes_one(
        qtbot, monkeypatch, synced, window_on):
    w = window_on(synced.a, synced.a_user, synced.a_pass)
    panel = panel_of(w, 3)
    wait_loaded(qtbot, panel)
    out = synced.hub.parent / "invitacion-nueva.cpci"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    panel.invite_button.click()
    qtbot.waitUntil(lambda: isinstance(getattr(panel, "invitation_dialog", None),
                                       InvitationCodeDialog), timeout=10_000)
    code_dialog = panel.invitation_dialog
    code = code_dialog.code_label.text()
    assert CODE.match(code), f"the one-time code is not shown as three groups: {code!r}"
    assert code_dialog.code_label.font().pointSizeF() > panel.font().pointSizeF() * 2
    assert invitations.read_invitation(out, code)["offer"]["shelter"] == "LOR-01"
    code_dialog.accept()

    rows = [panel.device_tree.topLevelItem(i) for i in range(panel.device_tree.topLevelItemCount())]
    other = next(r for r in rows if "este equipo" not in r.text(1))
    other.setSelected(True)
    assert panel.revoke_button.isEnabled()
    panel.revoke_button.click()
    box = next(b for b in QApplication.topLevelWidgets()
               if isinstance(b, QMessageBox) and b.objectName() == "confirmBox" and b.isVisible())
    assert "época de llaves" in box.text()
    yes = next(b for b in box.buttons() if b.text() == "Revocar el equipo")
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        yes.click()
    revoked = [d for d in panel.data.devices if d.revoked]
    assert len(revoked) == 1 and not revoked[0].this_device
    assert "Nueva época de llaves" in panel.result_label.text()


def test_start_screen_joins_a_shelter_with_an_invitation(qtbot, pair, tmp_path):
    a = Vault.open(pair.a, pair.a_user, pair.a_pass)
    code = invitations.create_invitation(a, tmp_path / "inv.cpci")
    founder = a.device_id
    a.lock()
    w = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(w)
    w.start()
    w.show()
    assert w.start_view.join_button.text() == "Unirse con una invitación…"
    w.start_view.join_button.click()
    dialog = w.sync_menu.join_dialog
    assert isinstance(dialog, JoinDialog) and dialog.isVisible()
    dialog.folder = tmp_path / "nueva"
    dialog.invitation.file.setText(str(tmp_path / "inv.cpci"))
    dialog.invitation.code.setText("0000-0000-0000")
    dialog.display_name.setText("Killa Ficticia")
    dialog.login.setText("killa")
    dialog.pair.first.setText("una frase ficticia larga")
    dialog.pair.second.setText("una frase ficticia larga")
    dialog.ok.click()
    assert "error de escritura" in dialog.message.text() or "código" in dialog.message.text()
    dialog.invitation.code.setText(code.lower())
    dialog.ok.click()
    qtbot.waitUntil(lambda: getattr(w, "recovery_sheet", None) is not None, timeout=15_000)
    sheet = w.recovery_sheet
    sheet.noted.setChecked(True)
    with qtbot.waitSignal(w.residents_view.list_loaded, timeout=10_000):
        sheet.continue_button.click()
    vault = w.session.vault
    assert vault.shelter_code == "LOR-01" and vault.user.name == "killa"
    assert vault.device_id != founder
    w.session.lock()


def test_coordinator_approves_a_join_request_only_with_its_fingerprint(
        qtbot, monkeypatch, synced, window_on, tmp_path):
    """A new laptop asks to join through the USB stick; the coordinator's window lists the
    request, refuses a wrong fingerprint, approves with the right one, and the new laptop
    (shown its fingerprint while it waits) receives the shelter's data."""
    a = Vault.open(synced.a, synced.a_user, synced.a_pass)
    code = invitations.create_invitation(a, tmp_path / "inv.cpci", hours=4)
    a.lock()
    new, _key = invitations.join_new_vault(
        tmp_path / "nueva", invitations.read_invitation(tmp_path / "inv.cpci", code),
        user="killa", passphrase=B_PASS, kdf_seconds=0)
    fingerprint = invitations.pending_joins(new)[0].fingerprint
    SyncEngine(new).sync(FolderHub(synced.hub))          # the request goes onto the stick
    w = window_on(synced.a, synced.a_user, synced.a_pass)
    outcome = usb_sync(qtbot, monkeypatch, w, synced.hub)
    assert any("pide unirse" in str(n) for n in outcome.report.notices)
    panel = panel_of(w, 3)
    wait_loaded(qtbot, panel)
    rows = [panel.request_tree.topLevelItem(i)
            for i in range(panel.request_tree.topLevelItemCount())]
    request_row = next(r for r in rows if r.text(0).startswith("Solicitud"))
    assert request_row.text(2) == "por aprobar"
    assert any(r.text(2) == "usada" or r.text(2) == "abierta" for r in rows)
    request_row.setSelected(True)
    assert panel.approve_button.isEnabled() and panel.refuse_button.isEnabled()
    dialog = panel.approve_selected()
    assert dialog.isVisible()
    wrong = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
    dialog.fingerprint.setText(wrong)
    dialog.ok.click()
    assert "no coincide" in dialog.message.text() and dialog.isVisible()
    dialog.fingerprint.setText(fingerprint.lower())
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        dialog.ok.click()
    assert "aprobado" in panel.result_label.text()
    assert not any(panel.request_tree.topLevelItem(i).text(0).startswith("Solicitud")
                   for i in range(panel.request_tree.topLevelItemCount()))
    usb_sync(qtbot, monkeypatch, w, synced.hub)          # the approval goes onto the stick
    report = SyncEngine(new).sync(FolderHub(synced.hub))
    assert any("aprobó" in str(n) for n in report.notices)
    assert not invitations.pending_joins(new)
    assert new.residents(), "the approved laptop did not receive the shelter's residents"
    new.lock()


def test_refusing_a_request_and_cancelling_an_invitation_from_the_window(
        qtbot, monkeypatch, synced, window_on, tmp_path):
    a = Vault.open(synced.a, synced.a_user, synced.a_pass)
    code = invitations.create_invitation(a, tmp_path / "inv.cpci")
    invitations.create_invitation(a, tmp_path / "otra.cpci")
    a.lock()
    new, _key = invitations.join_new_vault(
        tmp_path / "nueva", invitations.read_invitation(tmp_path / "inv.cpci", code),
        user="killa", passphrase=B_PASS, kdf_seconds=0)
    SyncEngine(new).sync(FolderHub(synced.hub))
    w = window_on(synced.a, synced.a_user, synced.a_pass)
    usb_sync(qtbot, monkeypatch, w, synced.hub)
    panel = panel_of(w, 3)
    wait_loaded(qtbot, panel)

    def row(prefix: str):
        return next(panel.request_tree.topLevelItem(i)
                    for i in range(panel.request_tree.topLevelItemCount())
                    if panel.request_tree.topLevelItem(i).text(0).startswith(prefix)
                    and panel.request_tree.topLevelItem(i).text(2) in ("por aprobar",
                                                                       "abierta"))

    row("Solicitud").setSelected(True)
    panel.refuse_selected()
    box = next(b for b in QApplication.topLevelWidgets()
               if isinstance(b, QMessageBox) and b.objectName() == "confirmBox" and b.isVisible())
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        next(b for b in box.buttons() if b.text() == "Rechazar").click()
    assert "rechazada" in panel.result_label.text()
    panel.request_tree.clearSelection()
    row("Invitación").setSelected(True)
    assert panel.cancel_invite_button.isEnabled()
    panel.cancel_invite_button.click()
    box = next(b for b in QApplication.topLevelWidgets()
               if isinstance(b, QMessageBox) and b.objectName() == "confirmBox" and b.isVisible())
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        next(b for b in box.buttons() if b.text() == "Cancelar la invitación").click()
    assert "cancelada" in panel.result_label.text()
    a = w.session.vault
    assert sorted(i.state for i in invitations.list_invitations(a)).count("cancelled") == 1
    usb_sync(qtbot, monkeypatch, w, synced.hub)
    report = SyncEngine(new).sync(FolderHub(synced.hub))
    assert any("rechazó" in str(n) for n in report.notices)
    new.lock()


def test_a_laptop_waiting_for_approval_shows_its_fingerprint(qtbot, synced, window_on, tmp_path):
    a = Vault.open(synced.a, synced.a_user, synced.a_pass)
    code = invitations.create_invitation(a, tmp_path / "inv.cpci")
    a.lock()
    new, _key = invitations.join_new_vault(
        tmp_path / "nueva", invitations.read_invitation(tmp_path / "inv.cpci", code),
        user="killa", passphrase=B_PASS, kdf_seconds=0)
    fingerprint = invitations.pending_joins(new)[0].fingerprint
    new.lock()
    w = window_on(tmp_path / "nueva", "killa", B_PASS)
    panel = panel_of(w, 3)
    wait_loaded(qtbot, panel)
    assert panel.waiting_label.isVisible() or not panel.isVisible()
    assert fingerprint in panel.waiting_label.text()


def test_a_revoked_laptop_is_told_so_in_the_panel(qtbot, monkeypatch, synced, window_on):
    a = Vault.open(synced.a, synced.a_user, synced.a_pass)
    b = open_b(synced)
    devices.revoke(a, b.device_id)
    SyncEngine(a).sync(FolderHub(synced.hub))
    a.lock()
    b.lock()
    w = window_on(synced.b, B_USER, B_PASS)
    outcome = usb_sync(qtbot, monkeypatch, w, synced.hub)
    assert outcome.report is not None and not outcome.report.ok
    panel = w.sync_controller.panel
    shown = [panel.messages.item(i).text() for i in range(panel.messages.count())]
    revoked = [t for t in shown if "revocó este equipo" in t]
    assert len(revoked) == 1 and not any("llave que este equipo no tiene" in t for t in shown), \
        shown


def test_the_waiting_changes_count_gives_its_memory_back(qtbot, pair, window_on, monkeypatch):
    """Counting the waiting changes reads every change: its pages must not stay in the 64 MB
    cache, nor its freed heap in the process (issue 16: 172 MB listed grew to 238 MB)."""
    from cpc_desktop.ui import memory

    calls: list[str] = []
    window = window_on(pair.a, pair.a_user, pair.a_pass)
    vault = window.session.vault
    real_release = vault.release_memory
    monkeypatch.setattr(vault, "release_memory", lambda: calls.append("cache") or real_release())
    monkeypatch.setattr(memory, "trim", lambda: calls.append("heap") or True)
    with qtbot.waitSignal(window.sync_controller.status_changed, timeout=10_000):
        window.sync_controller.refresh_status()
    assert calls[-2:] == ["cache", "heap"], calls
