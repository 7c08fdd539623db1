"""Takes the user guide's screenshots from the real application under a real X server.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/img/screenshots.py [OUT]

Builds the demo vault in a throw-away data folder, drives the window as a person would
(start screen → demo → lock → unlock → list → users → Quechua) and grabs the screen.
OUT defaults to docs/img; extra shots for checking by eye (dialogs, menus) go to
$TMPDIR/cpc-shots-check/ (not kept in the repository).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
_tmp = Path(tempfile.mkdtemp(prefix="cpc-shots-"))
os.environ["CPC_CONFIG_DIR"] = str(_tmp / "config")
os.environ["CPC_DATA_DIR"] = str(_tmp / "data")

import cpc_desktop.ui  # noqa: E402,F401  (first: guards a PySide6 6.12.0 bug)
from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QCursor, QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from cpc_desktop import demo  # noqa: E402
from cpc_desktop.ui.app import configure  # noqa: E402
from cpc_desktop.ui.main_window import MainWindow  # noqa: E402
from cpc_desktop.ui.settings import Settings  # noqa: E402


def pump(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait_for(predicate, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        pump(0.05)


def shot(path: Path) -> None:
    """The screen area covered by visible top-level windows (main window plus dialogs)."""
    pump(0.4)
    area = QRect()
    for w in QApplication.topLevelWidgets():
        if w.isVisible() and w.isWindow() and w.width() > 50:
            area = area.united(w.frameGeometry())
    screen = QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(0, area.x(), area.y(), area.width(), area.height())
    path.parent.mkdir(parents=True, exist_ok=True)
    pixmap.save(str(path))
    print(path)


def center_dialogs(window) -> None:
    """Without a window manager dialogs open at (0, 0): put them over the main window."""
    for w in QApplication.topLevelWidgets():
        if w is not window and w.isVisible() and w.isWindow():
            geo = w.frameGeometry()
            geo.moveCenter(window.frameGeometry().center())
            w.move(geo.topLeft())


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    check = Path(tempfile.gettempdir()) / "cpc-shots-check"
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication([sys.argv[0]])
    settings = Settings.load()
    configure(app, settings)
    window = MainWindow(settings, demo_residents=60)
    window.move(40, 30)
    window.resize(1180, 700)
    window.start()
    window.show()
    QCursor.setPos(1360, 760)   # the pointer off the window: no hover highlight in shots
    pump(1)
    shot(out / "start.png")

    dialog = window.create_vault()
    center_dialogs(window)
    shot(check / "create-vault.png")
    dialog.reject()

    window.open_demo()
    pump(0.6)
    center_dialogs(window)
    shot(check / "demo-progress.png")
    wait_for(lambda: window.current_page() == "residents"
             and window.residents_view.model.rowCount() > 0)
    window.lock()
    pump(0.5)
    shot(out / "unlock.png")

    view = window.unlock_view
    view.user.setText(demo.DEMO_USER)
    view.passphrase.setText("no es la frase")
    view.try_unlock()
    wait_for(lambda: view.message.isVisible())
    shot(check / "unlock-wrong.png")
    wait_for(lambda: view.unlock_button.isEnabled(), 10)
    view.passphrase.setText(demo.DEMO_PASSPHRASE)
    view.try_unlock()
    wait_for(lambda: window.current_page() == "residents"
             and window.residents_view.model.rowCount() > 0)
    table = window.residents_view.table
    table.selectRow(2)
    shot(out / "residents.png")

    window.residents_view.search.setText("maria")
    wait_for(lambda: window.residents_view.model.rowCount() < 60, 10)
    shot(check / "residents-search.png")
    window.residents_view.search.clear()
    pump(0.4)

    users = window.show_users()
    center_dialogs(window)
    users.tree.setCurrentItem(users.tree.topLevelItem(1))
    shot(out / "users.png")
    add = users.add_user()
    center_dialogs(window)
    shot(check / "add-user.png")
    add.reject()
    users.reject()

    prefs = window.show_preferences()
    center_dialogs(window)
    shot(check / "preferences.png")
    prefs.reject()
    about = window.show_about()
    center_dialogs(window)
    shot(check / "about.png")
    about.reject()
    passwd = window.change_passphrase()
    center_dialogs(window)
    shot(check / "change-passphrase.png")
    passwd.reject()

    window.set_language("qu")
    pump(0.6)
    shot(out / "residents-qu.png")
    window.menu_file.popup(window.mapToGlobal(window.menuBar().geometry().bottomLeft()))
    shot(check / "menu-file-qu.png")
    window.menu_file.hide()
    window.set_language("es")
    window.menu_file.popup(window.mapToGlobal(window.menuBar().geometry().bottomLeft()))
    shot(check / "menu-file.png")
    window.menu_file.hide()

    from cpc_desktop.ui.start import RecoveryKeyDialog

    sheet = RecoveryKeyDialog("ABCDE-FGHJK-MNPQR-STVWX-YZ234-56789", "LOR-01",
                              "Casa de Acogida Ficticia", window)
    sheet.show()
    center_dialogs(window)
    shot(check / "recovery-key.png")
    sheet.noted.setChecked(True)
    sheet.accept()

    guide = window.show_guide()
    center_dialogs(window)
    shot(check / "guide.png")
    guide.close()
    window.session.lock()
    return 0


if __name__ == "__main__":
    sys.exit(main())
