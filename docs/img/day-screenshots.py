"""Screenshots of issue 16's changes at 1280×720 (docs/img/day-*.png): a record opened for
reading with its alerts, the changes asked before saving, the accesses, the error list, the
services register, the lock screen and the vault chooser.

    xvfb-run -a -s "-screen 0 1280x720x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python docs/img/day-screenshots.py /tmp/shots [qu]

Then look at each PNG and copy the good ones here. Everyone shown is fictional (demo data).
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
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

app = QApplication([])
from cpc_desktop import demo  # noqa: E402
from cpc_desktop.core import case_alerts, disclosure, forms  # noqa: E402
from cpc_desktop.ui import qt_i18n  # noqa: E402
from cpc_desktop.ui.main_window import MainWindow  # noqa: E402
from cpc_desktop.ui.resident_window import open_resident  # noqa: E402
from cpc_desktop.ui.settings import Settings  # noqa: E402

qt_i18n.install(app)
QU = sys.argv[2:] == ["qu"]
if QU:
    from cpc_desktop.ui.lang import set_language

    set_language("qu")
out = Path(sys.argv[1])
out.mkdir(exist_ok=True)
vault_dir = tmp / "data" / "vault"
vault, _ = demo.create_demo_vault(vault_dir, residents=12, kdf_seconds=0)
rid = vault.residents()[2].id
vault.update(rid, {case_alerts.FIELD: "No contactar a su tío materno\nRiesgo de fuga\n"
                                      "Audiencia el 12/03/2027"})
vault.lock()


def pump(n=40):
    for _ in range(n):
        app.processEvents()
        QTimer.singleShot(10, lambda: None)
        app.processEvents()


def grab(widget, name):
    pump()
    widget.grab().save(str(out / f"day-{name}{'-qu' if QU else ''}.png"))
    print("saved", name)


main = MainWindow(Settings.load(), kdf_seconds=0)
main.resize(1264, 660)
main.start(vault_dir)
main.show()
pump()
main.unlock_view.user.setText(demo.DEMO_USER)
main.unlock_view.passphrase.setText(demo.DEMO_PASSPHRASE)
main.unlock_view.try_unlock()
while main.current_page() != "residents":
    app.processEvents()
pump(80)
grab(main, "residents-alerts")

w = open_resident(main.session, rid, main)
w.move(0, 0)
while not w.is_loaded:
    app.processEvents()
pump(80)
grab(w, "resident-reading")

editor = w.intake_tab.editor
editor.start_editing()
editor.view.editor("name_nickname").set_value("Apodo Ficticio")
editor.view.editor(case_alerts.FIELD).set_value("Riesgo de fuga\nAudiencia el 12/03/2027")
editor.view.refresh()
editor.save()
pump()
box = editor.confirm_box
grab(box, "confirm-changes")
box.buttons()[0].click()          # "Guardar", the accept button
while editor.saving or editor.dirty:
    app.processEvents()
pump()

# Accesses: this opening plus a printed form and a packet.
v = main.session.vault
disclosure.record(v, disclosure.PRINT, [rid], form="ficha_ingreso", lang="es")
disclosure.record(v, disclosure.PACKET, [rid], forms=["ficha_ingreso", "pti"], to="pdf",
                  lang="es+qu", reason="visita de supervisión de la UPE")
log = w.show_access_log()
while not log.rows:
    app.processEvents()
grab(log, "access-log")
log.reject()

# The error list of a new intake saved empty.
new = open_resident(main.session, None, main)
new.move(0, 0)
pump(80)
new.intake_tab.editor.save()
while new.intake_tab.editor.saving:
    app.processEvents()
pump(40)
grab(new, "intake-errors")
new._force_close = True
new.close()

tab = w.tab_for("registro_atenciones")
w.tabs.setCurrentWidget(tab)
pump(80)
grab(w, "services")
w.close()
pump()

main.lock()
pump()
grab(main, "lock-screen")
main.settings.remember_vault(tmp / "otra", code="CUS-02", name="Casa Ficticia del Cusco",
                             user="psico.prueba", at="2026-11-30T10:00:00")
(tmp / "otra").mkdir()
(tmp / "otra" / "keyslots.json").write_text("{}")
chooser = main.choose_other_vault()
pump()
grab(chooser, "vault-chooser")
