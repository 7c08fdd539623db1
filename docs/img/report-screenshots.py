"""Screenshots of the reports window (docs/img/reports-*.png) on a 300-resident demo vault.

    xvfb-run -a -s "-screen 0 1366x768x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python docs/img/report-screenshots.py /tmp/shots

Then look at each PNG and copy the good ones here. Everyone counted is fictional (demo data,
fixed seed and date).
"""
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import cpc_desktop.ui  # noqa: F401 — its PySide6 guard first
from PySide6.QtWidgets import QApplication

from cpc_desktop import demo
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui.lang import set_language
from cpc_desktop.ui.report_window import ReportWindow
from cpc_desktop.ui.session import Session

TODAY = dt.date(2026, 7, 15)

app = QApplication([])
out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)
tmp = Path(tempfile.mkdtemp())
vault, _key = demo.create_demo_vault(tmp / "v", residents=300, seed=3, kdf_seconds=0,
                                     today=TODAY)
vault.lock()


def pump(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def open_as(user: str) -> ReportWindow:
    session = Session(tmp / "v")
    session.attach(Vault.open(tmp / "v", user, demo.DEMO_PASSPHRASE))
    window = ReportWindow(session, today=TODAY)
    window.resize(1366, 740)
    window.move(0, 0)
    window.show()
    window.compute()
    while window.report is None or window.busy:
        pump(0.05)
    pump(0.5)
    return window


def shot(window: ReportWindow, name: str) -> None:
    pump(0.5)
    window.grab().save(str(out / f"{name}.png"))
    print(out / f"{name}.png")


w = open_as(demo.DEMO_USER)
shot(w, "reports-summary")
w.show_table("edad_al_ingreso")
shot(w, "reports-age")
w.show_table("ingreso_exploitation_types")
shot(w, "reports-distribution")
w.show_table("pti_cp_case_plan")
shot(w, "reports-pti")
w.show_table("atenciones_service_area")
shot(w, "reports-services")
w._quick(lambda today: (dt.date(2026, 1, 1), dt.date(2025, 12, 31)))
pump(0.5)
shot(w, "reports-error")
w._quick(lambda today: (dt.date(2026, 1, 1), dt.date(2026, 6, 30)))
while w.busy:
    pump(0.05)
set_language("qu")
w.show_table("ingreso_sex")
shot(w, "reports-qu")
set_language("es")
w.session.lock()
pump(0.3)

p = open_as("psicologa.demo")
p.show_table("ingreso_mother_tongue")
shot(p, "reports-protected")
p.show_table("ingresos_egresos_por_mes")
shot(p, "reports-protected-summary")
p.session.lock()
