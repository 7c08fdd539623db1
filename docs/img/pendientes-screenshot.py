"""The Pendientes dock after unlock, "Todo el centro", at 1280×720 (docs/img/pendientes.png).

    xvfb-run -a -s "-screen 0 1280x720x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python docs/img/pendientes-screenshot.py /tmp/shots

Then look at the PNG and copy it here. Everyone shown is fictional (demo data).
"""
import os
import sys
import tempfile
from pathlib import Path

tmp = Path(tempfile.mkdtemp())
os.environ["CPC_CONFIG_DIR"] = str(tmp / "config")
os.environ["CPC_DATA_DIR"] = str(tmp / "data")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import cpc_desktop.ui  # noqa: E402,F401 — its PySide6 guard first
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

app = QApplication([])
from cpc_desktop import demo  # noqa: E402
from cpc_desktop.ui import qt_i18n  # noqa: E402
from cpc_desktop.ui.main_window import MainWindow  # noqa: E402
from cpc_desktop.ui.settings import Settings  # noqa: E402

qt_i18n.install(app)
out = Path(sys.argv[1])
out.mkdir(exist_ok=True)
vault_dir = tmp / "data" / "vault"
vault, _ = demo.create_demo_vault(vault_dir, residents=40, kdf_seconds=0)
vault.lock()


def pump(n=40):
    for _ in range(n):
        app.processEvents()
        QTimer.singleShot(10, lambda: None)
        app.processEvents()


main = MainWindow(Settings.load(), kdf_seconds=0)
main.start(vault_dir)
main.showMaximized()
pump()
main.unlock_view.user.setText(demo.DEMO_USER)
main.unlock_view.passphrase.setText(demo.DEMO_PASSPHRASE)
main.unlock_view.try_unlock()
while main.current_page() != "residents" or main.pending_view.model.result is None:
    app.processEvents()
main.pending_view.all_button.click()
pump(80)
print("items", len(main.pending_view.model.result.items))
QGuiApplication.primaryScreen().grabWindow(0).save(str(out / "pendientes.png"))
print("saved")
