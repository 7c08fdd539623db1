"""Screenshots of a demo resident's record window (docs/img/resident-*.png).

    xvfb-run -a -s "-screen 0 1366x768x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python docs/img/resident-screenshots.py /tmp/shots

Then look at each PNG and copy the good ones here. Everyone shown is fictional (demo data).
"""
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import cpc_desktop.ui  # noqa: F401 — its PySide6 guard first
from pathlib import Path
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
app = QApplication([])
from cpc_desktop import demo
from cpc_desktop.ui.session import Session
from cpc_desktop.ui.resident_window import open_resident
from cpc_desktop.ui.lang import set_language
out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
tmp = tempfile.mkdtemp()
vault, _ = demo.create_demo_vault(Path(tmp) / "v", residents=8, kdf_seconds=0)
session = Session(Path(tmp) / "v"); session.attach(vault)

def pump(n=30):
    for _ in range(n):
        app.processEvents()
        QTimer.singleShot(10, lambda: None)
        app.processEvents()

# a resident with a family table, a PTI and a discharge
best = None
for r in vault.residents():
    recs = vault.records(r.id)
    forms_ = {x.form for x in recs}
    intake = next(x for x in recs if x.form == "ficha_ingreso")
    score = len(intake.values.get("family_details", [])) + ("ficha_egreso" in forms_) * 5 + ("pti" in forms_) * 3
    if best is None or score > best[0]:
        best = (score, r.id)
rid = best[1]
w = open_resident(session, rid)
w.resize(1366, 740); w.move(0, 0)
while not w.is_loaded: app.processEvents()
pump()
def shot(name):
    pump()
    w.grab().save(str(out / f"{name}.png"))
    print("saved", name)
shot("resident-intake")
view = w.intake_tab.editor.view
fam = view.fields.boxes["family_details"]
view.scroll.ensureWidgetVisible(fam, 0, 0)
view.scroll.verticalScrollBar().setValue(fam.mapTo(view.scroll.widget(), fam.rect().topLeft()).y() - 10)
shot("resident-intake-family")
view.scroll.verticalScrollBar().setValue(0)
for form_id, name in (("pti", "resident-pti"), ("registro_atenciones", "resident-services"),
                      ("informe_seguimiento", "resident-followup"), ("ficha_egreso", "resident-discharge"),
                      ("consentimiento", "resident-consent")):
    tab = w.tab_for(form_id)
    w.tabs.setCurrentWidget(tab)
    pump()
    if hasattr(tab, "model") and tab.model.records:
        tab.select(tab.model.records[0].id)
        tab.open_selected()
    shot(name)
    if form_id == "pti" and tab.editor is not None:
        pv = tab.editor.view
        box = pv.fields.boxes["cp_case_plan"]
        pump()
        pv.scroll.verticalScrollBar().setValue(box.mapTo(pv.scroll.widget(), box.rect().topLeft()).y() - 10)
        shot("resident-pti-objectives")
        pv.scroll.verticalScrollBar().setValue(0)
# history panel on services
tab = w.tab_for("registro_atenciones"); w.tabs.setCurrentWidget(tab); pump()
tab.editor.history_button.click()
for _ in range(50): pump(2)
shot("resident-history")
tab.editor.history_button.click()
# quechua
w.tabs.setCurrentIndex(0); pump()
set_language("qu")
shot("resident-intake-qu")
w.tabs.setCurrentWidget(w.tab_for("registro_atenciones")); pump()
shot("resident-services-qu")
set_language("es")
# validation error on a new resident
n = open_resident(session, None)
n.resize(1366, 740); n.move(0, 0)
pump()
v = n.intake_tab.editor.view
v.editor("name_first").edit.setText("Niña Ficticia")
v.editor("admission_date").edit.setText((dt.date.today() + dt.timedelta(days=3)).strftime("%d/%m/%Y"))
v.editor("admission_date").changed.emit()
n.intake_tab.editor.save()
for _ in range(100):
    pump(2)
    if v.errors_shown(): break
import time as _t
end = _t.time() + 1.0
while _t.time() < end:
    app.processEvents(); _t.sleep(0.01)
n.grab().save(str(out / "resident-validation.png")); print("saved validation")
rb = v.fields.boxes["risk_level"]
v.scroll.ensureWidgetVisible(rb, 0, 200)
end = _t.time() + 0.5
while _t.time() < end:
    app.processEvents(); _t.sleep(0.01)
print("risk box", rb.height(), rb.heightForWidth(rb.width()))
n.grab().save(str(out / "resident-validation-risk.png"))
# the supervisor's view
session.lock()
from cpc_desktop.core.vault import Vault
sup = Vault.open(Path(tmp) / "v", "supervision.demo", demo.DEMO_PASSPHRASE)
session.attach(sup)
w = open_resident(session, rid); w.resize(1366, 740)
while not w.is_loaded: app.processEvents()
w.tabs.setCurrentWidget(w.tab_for("registro_atenciones")); pump()
shot("resident-supervisor")
session.lock()
