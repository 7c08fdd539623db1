"""Screenshots of printing and backups for the user guide (docs/img/print-*.png, backup-*.png).

    xvfb-run -a -s "-screen 0 1366x768x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python docs/img/print-screenshots.py /tmp/shots

Builds the demo vault (fictional residents only) in a throw-away folder, then: the backup
reminder over the list, the supervision packet dialog, its preview, "Imprimir…" (the system
print dialog, or the no-printer message on a machine without printers), a resident's "Imprimir o guardar" dialog, the backups dialog, and the recovery key screen
with "Imprimir hoja…" and its preview. Look at each PNG and copy the good ones here.
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("shots", HERE / "screenshots.py")
shots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shots)   # sets private config and data folders first

from PySide6.QtCore import QItemSelectionModel, Qt  # noqa: E402
from PySide6.QtGui import QCursor, QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from cpc_desktop.core import backups  # noqa: E402
from cpc_desktop.ui.app import configure  # noqa: E402
from cpc_desktop.ui.main_window import MainWindow  # noqa: E402
from cpc_desktop.ui.settings import Settings  # noqa: E402

pump, wait_for, shot, center = shots.pump, shots.wait_for, shots.shot, shots.center_dialogs


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication([sys.argv[0]])
    settings = Settings.load()
    configure(app, settings)
    window = MainWindow(settings, demo_residents=40)
    window.move(40, 30)
    window.resize(1180, 700)
    window.start()
    window.show()
    QCursor.setPos(1360, 760)
    window.open_demo()
    wait_for(lambda: window.current_page() == "residents"
             and window.residents_view.model.rowCount() > 0)
    banner = window.backups.banner
    wait_for(banner.isVisible, 20)
    view = window.residents_view
    model = view.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    for row in (0, 2, 3):
        model.select(view.model.index(row, 0), flags.Select | flags.Rows)
    view.table.setFocus()
    shot(out / "backup-banner.png")

    packet = window.printing.open_packet()
    center(window)
    shot(out / "print-packet.png")
    packet.preview_button.click()
    wait_for(lambda: getattr(packet, "preview_dialog", None) is not None, 120)
    preview = packet.preview_dialog
    preview.resize(900, 700)
    center(window)
    shot(out / "print-preview.png")
    preview.print_button.click()
    pump(1.0)
    center(window)
    shot(out / "print-no-printer.png")   # a real print dialog where printers exist
    for w in QApplication.topLevelWidgets():
        if w.objectName() in ("systemPrintDialog", "noPrinterBox") and w.isVisible():
            w.reject()
    preview.reject()
    pump(0.3)

    resident = view.model.resident_at(0).id
    from cpc_desktop.ui.resident_window import open_resident

    rwin = open_resident(window.session, resident, window)
    rwin.move(40, 30)
    rwin.resize(1180, 700)
    wait_for(lambda: rwin.is_loaded and rwin.intake_tab.editor is not None)
    pump(0.5)
    dialog = rwin.print_dialog("print")
    geo = dialog.frameGeometry()
    geo.moveCenter(rwin.frameGeometry().center())
    dialog.move(geo.topLeft())
    shot(out / "print-resident.png")
    dialog.reject()
    rwin._force_close = True
    rwin.close()
    pump(0.3)

    folder = Path(tempfile.mkdtemp(prefix="memoria-usb-"))
    vault = window.session.vault
    backups.set_settings(vault, folder=folder, keep=10, remind_days=7)
    backups.backup_now(vault)
    pump(1.1)   # two copies a second apart
    bdialog = window.backups.open_dialog()
    bdialog.backup_now()
    wait_for(lambda: bdialog.task.finished and bdialog.table.rowCount() == 2, 60)
    bdialog.table.selectRow(0)
    center(window)
    shot(out / "backup-dialog.png")
    bdialog.reject()

    from cpc_desktop.ui.start import RecoveryKeyDialog

    from cpc_desktop.core import crypto

    fictional_key = crypto.format_recovery_key(bytes(range(16)))   # opens nothing
    sheet = RecoveryKeyDialog(fictional_key, "LOR-01", "Casa de Acogida Ficticia", window)
    sheet.show()
    center(window)
    shot(out / "recovery-key-print.png")
    sheet.print_button.click()
    wait_for(lambda: getattr(sheet, "_recovery_preview", None) is not None, 30)
    center(window)
    shot(out / "recovery-sheet-preview.png")
    sheet._recovery_preview.reject()
    sheet.noted.setChecked(True)
    sheet.accept()
    window.session.lock()
    return 0


if __name__ == "__main__":
    sys.exit(main())
