"""Screenshots of the "Sincronizar" panel (docs/img/sync-*.png) from the real window under a
real X server: two laptops of the fictional demo shelter and a USB stick folder.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/img/sync-screenshots.py [OUT]

OUT defaults to a temporary folder: look at each PNG, then copy the good ones to docs/img.
Everyone shown is fictional (demo data, fixed seed).
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
_tmp = Path(tempfile.mkdtemp(prefix="cpc-sync-shots-"))
os.environ["CPC_CONFIG_DIR"] = str(_tmp / "config")
os.environ["CPC_DATA_DIR"] = str(_tmp / "data")

import cpc_desktop.ui  # noqa: E402,F401  (first: guards a PySide6 6.12.0 bug)
from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog  # noqa: E402

from cpc_desktop import demo  # noqa: E402
from cpc_desktop.core.vault import Vault  # noqa: E402
from cpc_desktop.sync import FolderHub, SyncEngine, invitations, open_hub  # noqa: E402
from cpc_desktop.ui.app import configure  # noqa: E402
from cpc_desktop.ui.main_window import MainWindow  # noqa: E402
from cpc_desktop.ui.settings import Settings  # noqa: E402

B_USER, B_PASS = "enfermeria.b", "frase ficticia del equipo b"


def pump(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait_for(predicate, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        pump(0.05)


def shot(path: Path, *widgets, bottom: int = 0) -> None:
    """The screen area covered by the given windows (all visible top-levels by default);
    with `bottom`, only that many pixels at the bottom of it."""
    pump(0.5)
    area = QRect()
    for w in widgets or [w for w in QApplication.topLevelWidgets()
                         if w.isVisible() and w.isWindow() and w.width() > 50]:
        area = area.united(w.frameGeometry())
    if bottom:
        area.setTop(area.bottom() - bottom)
    pixmap = QGuiApplication.primaryScreen().grabWindow(0, area.x(), area.y(), area.width(),
                                                        area.height())
    path.parent.mkdir(parents=True, exist_ok=True)
    pixmap.save(str(path))
    print(path)


class StallingHub(FolderHub):
    """Slows every batch down so the progress can be photographed mid-way."""

    def _get(self, path: str) -> bytes:
        if path.endswith(".cpcb"):
            time.sleep(1.5)
        return super()._get(path)

    def _put(self, path: str, data: bytes, *, overwrite: bool) -> bool:
        if path.endswith(".cpcb"):
            time.sleep(1.5)
        return super()._put(path, data, overwrite=overwrite)


def build(base: Path) -> tuple[Path, Path, Path]:
    """Laptop A (the demo shelter), laptop B (joined with an invitation), the stick."""
    a_path, b_path, usb = base / "a", base / "b", base / "usb"
    usb.mkdir(parents=True)
    a, _key = demo.create_demo_vault(a_path, residents=40, seed=7, kdf_seconds=0)
    code = invitations.create_invitation(a, base / "inv.cpci")
    SyncEngine(a, max_batch_bytes=8 * 1024).sync(FolderHub(usb))
    b, _key = invitations.join_new_vault(
        b_path, invitations.read_invitation(base / "inv.cpci", code), user=B_USER,
        passphrase=B_PASS, display_name="Enfermería Ficticia (equipo B)", kdf_seconds=0)
    SyncEngine(b).sync(FolderHub(usb))
    # Two people change the same nickname on two laptops before syncing: a conflict.
    target = b.residents()[2]
    # The same girl registered again on B: flagged as a possible duplicate, never joined.
    same = next(v for v in (a.get(r.id).values for r in a.residents()[4:])
                if v.get("date_of_birth"))
    b.add("ficha_ingreso", {k: same[k] for k in ("admission_date", "name_first", "name_last",
                                                  "sex", "date_of_birth", "referral_source",
                                                  "risk_level") if k in same})
    b.update(target.id, {"name_nickname": "Lucecita"})
    SyncEngine(b).sync(FolderHub(usb))
    a.update(target.id, {"name_nickname": "Florcita"})
    # A day of services on A waits for the next sync (several batches, for the progress).
    for r in [r for r in a.residents() if r.status == "in_care"][:30]:
        a.add("registro_atenciones", {
            "service_date": "2026-11-20", "service_area": "mental_health",
            "professional": "Psicóloga Ficticia", "duration_minutes": 45,
            "note": "Sesión individual de seguimiento; sin novedades que reportar. " * 3},
            r.id)
    SyncEngine(a).save_hub(str(usb))        # the shared folder as the saved hub
    a.lock()
    b.lock()
    return a_path, b_path, usb


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="shots-"))
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication([sys.argv[0]])
    settings = Settings.load()
    configure(app, settings)
    a_path, b_path, usb = build(_tmp / "laptops")

    window = MainWindow(settings, kdf_seconds=0)
    window.move(0, 0)
    window.resize(1366, 740)
    window.start(a_path)
    window.show()
    pump(0.5)
    window.unlock_view.user.setText(demo.DEMO_USER)
    window.unlock_view.passphrase.setText(demo.DEMO_PASSPHRASE)
    window.unlock_view.unlock_button.click()
    wait_for(lambda: window.current_page() == "residents" and window.residents_view.model.rows)
    ctl = window.sync_controller
    ctl.timer.stop()            # no background try in the middle of the pictures
    wait_for(lambda: ctl.status is not None)
    pump(0.5)
    shot(out / "sync-statusbar.png", window, bottom=60)

    panel = window.sync_menu.open(0)
    panel.move(200, 60)
    wait_for(lambda: panel.data is not None)
    shot(out / "sync-idle.png", panel)

    # Mid-sync: progress with batches, bytes and Cancel.
    ctl.engine_factory = lambda v: SyncEngine(v, max_batch_bytes=4 * 1024)
    ctl.hub_opener = lambda location, *a: StallingHub(location)
    panel.sync_now()
    wait_for(lambda: ctl.last_progress is not None and ctl.last_progress.phase != "done"
             and ctl.last_progress.batches_done >= 1)
    shot(out / "sync-progress.png", panel)
    wait_for(lambda: not ctl.busy, timeout=120)
    ctl.hub_opener = open_hub
    wait_for(lambda: panel.data is not None and panel.data.conflicts)
    pump(0.5)
    shot(out / "sync-done.png", panel)

    panel.tabs.setCurrentIndex(1)
    shot(out / "sync-conflicts.png", panel)
    panel.tabs.setCurrentIndex(2)
    from cpc_desktop.sync import duplicate_residents
    shot(out / "sync-duplicates.png", panel)

    panel.tabs.setCurrentIndex(3)
    QFileDialog.getSaveFileName = staticmethod(
        lambda *a, **k: (str(_tmp / "invitacion-nueva.cpci"), ""))
    panel.invite()
    wait_for(lambda: getattr(panel, "invitation_dialog", None) is not None)
    dialog = panel.invitation_dialog
    pump(0.3)
    geo = dialog.frameGeometry()
    geo.moveCenter(panel.frameGeometry().center())
    dialog.move(geo.topLeft())
    shot(out / "sync-invitation.png", panel, dialog)
    dialog.accept()

    hub = window.sync_menu.edit_hub()
    hub.url.setText("https://nube.ejemplo.org/remote.php/dav/files/centro/")
    hub.user.setText("centro")
    pump(0.3)
    geo = hub.frameGeometry()
    geo.moveCenter(panel.frameGeometry().center())
    hub.move(geo.topLeft())
    shot(out / "sync-hub.png", panel, hub)
    hub.reject()

    # The stick not plugged in: a background try fails quietly, in the status line only.
    SyncEngine(window.session.vault).save_hub(str(_tmp / "memoria-no-conectada"))
    ctl.hub_saved()
    panel.close()
    ctl.tick()
    wait_for(lambda: not ctl.busy)
    shot(out / "sync-statusbar-failed.png", window, bottom=60)

    window.session.lock()
    window.hide()
    pump(0.3)
    window.start_view.show()
    window.switch_vault(_tmp / "nothing-here")
    window.show()
    pump(0.3)
    shot(out / "sync-start.png", window)
    window.join_with = window.sync_menu.join_with_invitation()
    pump(0.3)
    geo = window.join_with.frameGeometry()
    geo.moveCenter(window.frameGeometry().center())
    window.join_with.move(geo.topLeft())
    shot(out / "sync-join.png", window, window.join_with)
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
