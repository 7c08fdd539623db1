"""A new shelter coordinator's first steps in Quechua, pictured on the whole screen (so what
does not fit shows): start screen, language chosen, new vault, recovery key, Pendientes above
the list, an item opened at its record, the sync panel and its settings, the user guide.

    Xvfb :76 -screen 0 1280x720x24 &
    DISPLAY=:76 QT_QPA_PLATFORM=xcb .venv/bin/python docs/img/qu-walkthrough.py /tmp/qu 1280

Pictures: OUT/qu-WIDTH-NN-name.png (docs/img/qu-*.png are copies of the ones in the user
guide). No window manager runs under Xvfb: what has the keyboard is printed, to check that a
new window takes it by itself. Everyone shown is fictional.
"""
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

tmp = Path(tempfile.mkdtemp())
os.environ["CPC_CONFIG_DIR"] = str(tmp / "config")
os.environ["CPC_DATA_DIR"] = str(tmp / "data")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import cpc_desktop.ui  # noqa: E402,F401 — its PySide6 guard first
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

app = QApplication([])
from cpc_desktop.ui import qt_i18n  # noqa: E402
from cpc_desktop.ui.lang import set_language  # noqa: E402
from cpc_desktop.ui.main_window import MainWindow  # noqa: E402
from cpc_desktop.ui.resident_window import open_windows  # noqa: E402
from cpc_desktop.ui.settings import Settings  # noqa: E402

qt_i18n.install(app)
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
width = sys.argv[2] if len(sys.argv) > 2 else "1280"
shot = 0


def pump(n=40):
    for _ in range(n):
        app.processEvents()
        QTimer.singleShot(10, lambda: None)
        app.processEvents()


def until(predicate, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        pump(1)
        time.sleep(0.01)
    raise SystemExit("waited too long")


def grab(name):
    """The whole screen, as the person sees it."""
    global shot
    pump()
    shot += 1
    path = out / f"qu-{width}-{shot:02d}-{name}.png"
    app.primaryScreen().grabWindow(0).save(str(path))
    focus = QApplication.focusWidget()
    active = QApplication.activeWindow()
    print(f"{path.name}: active window {type(active).__name__ if active else None}, "
          f"keyboard in {type(focus).__name__ if focus else None} "
          f"{focus.objectName() if focus else ''}")


def d(days):
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


main = MainWindow(Settings.load(), kdf_seconds=0)
main.show()
main.raise_()
main.activateWindow()      # as cpc_desktop/ui/app.py does
pump(80)
grab("start-es")
set_language("qu")            # Idioma / Simi → Runasimi, as a person picks it
pump()
grab("start")

dialog = main.create_vault()
pump()
dialog.code.setText("CUS-01")
dialog.shelter.setText("Wasi Ficticia Cusco")
dialog.display_name.setText("Lic. Nayra Ficticia Mamani")
dialog._suggest_login(dialog.display_name.text())
dialog.pair.first.setText("rumi pata yaku 2026")
dialog.pair.second.setText("rumi pata yaku 2026")
grab("new-vault")
dialog.create()
until(lambda: getattr(main, "recovery_sheet", None) is not None)
grab("recovery-key")
sheet = main.recovery_sheet
sheet.noted.setChecked(True)
sheet.accept()
until(lambda: main.current_page() == "residents")
pump(80)
grab("empty-list")

# A resident with what is due, as the first weeks bring it (written through the vault, as the
# forms would).
vault = main.session.vault
me = vault.user.display_name
rid = vault.add("ficha_ingreso", {
    "internal_code": "CUS-2026-001", "name_first": "Sisa", "name_last": "Ficticia Quispe",
    "sex": "female", "date_of_birth": "2011-05-04", "admission_date": d(-40),
    "referral_source": "upe", "risk_level": "high", "completed_by": me})
vault.add("pti", {"period_start": d(-30), "review_date": d(-2), "completed_by": me,
                  "cp_case_plan": [{"objective": "Retomar la escuela", "deadline": d(5),
                                    "status": "pending"}]}, rid)
main.session.notify(residents={rid})
view = main.pending_view
until(lambda: view.model.rowCount() > 0)
pump(40)
grab("pendientes")

row = next(n for n, i in enumerate(view.model.items) if i.kind == "objective_deadline")
view.open_item(row)
until(lambda: any(w.is_loaded for w in open_windows()))
pump(120)
grab("pending-item-opened")
for w in open_windows():
    w._force_close = True
    w.close()
pump()

panel = main.sync_menu.open(0)
pump(80)
grab("sync-panel")
panel.close()
hub = main.sync_menu.edit_hub()
pump(40)
grab("hub-settings")
if hub is not None:
    hub.reject()
guide = main.show_guide()
pump(40)
grab("guide")
guide.close()
print("done:", shot, "pictures in", out)
