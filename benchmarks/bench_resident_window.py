"""Opening a resident's record window with 500 service entries, as a ratio to reading the
same records from the vault (Vault.records) in the same run.

Measured per run: from open_resident() until every tab has its records (loading happens on
a worker thread) — "open"; then until the window is painted — "first paint"; then switching
to the services log (500 rows in a model) and painting it — "services tab". The first
window of a process builds its forms from scratch and is reported apart; later windows reuse
forms kept by ui.form_view's pool (the app also builds an intake form ahead of need shortly
after unlock, so the first window a person opens is normally a warm one). Run:

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_resident_window.py [--runs 15]

Target (issue 3): opening a resident with 500 service entries ≤ 200 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cpc_desktop.ui  # noqa: F401 — PySide6 6.12.0 guard first
from PySide6.QtWidgets import QApplication

from cpc_desktop import demo
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui.resident_window import open_resident
from cpc_desktop.ui.session import Session

PASS = "frase de referencia larga"


def ms(seconds: float) -> float:
    return seconds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--warm-up", action="store_true",
                        help="build the intake form ahead of need first, as the app does "
                             "after unlock (the 'first window' line then shows its benefit)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])

    with tempfile.TemporaryDirectory() as tmp:
        vault, _key = Vault.create(Path(tmp) / "vault", shelter_code="BEN-01",
                                   shelter_name="Centro de referencia (ficticio)", user="bench",
                                   passphrase=PASS, kdf_seconds=0)
        demo.populate(vault, residents=1, services_per_resident=args.services)
        rid = vault.residents()[0].id
        n_services = len(vault.records(rid, vault.forms.by_role("services_log").form))
        n_records = len(vault.records(rid))
        session = Session(Path(tmp) / "vault")
        session.attach(vault)

        warm_steps = 0
        if args.warm_up:
            from cpc_desktop.core import forms
            from cpc_desktop.ui import form_view

            t0 = time.perf_counter()
            form_view.warm_up(forms.registry().intake)
            while not form_view._pool.get(("ficha_ingreso", "wide")):
                app.processEvents()
                warm_steps += 1
            print(f"warm-up of the intake form: {ms(time.perf_counter() - t0):.1f} ms "
                  f"in the background of the event loop")
        baseline, opened, painted, services = [], [], [], []
        cold = None
        for run in range(args.runs + 1):  # the first run (nothing built yet) is reported apart
            t0 = time.perf_counter()
            vault.records(rid)
            baseline.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            window = open_resident(session, rid)
            while not window.is_loaded:
                app.processEvents()
            t1 = time.perf_counter()
            window.repaint()
            app.processEvents()
            t2 = time.perf_counter()
            tab = window.tab_for(vault.forms.by_role("services_log").form)
            window.tabs.setCurrentWidget(tab)
            window.repaint()
            app.processEvents()
            t3 = time.perf_counter()
            assert tab.model.rowCount() == n_services
            opened.append(t1 - t0)
            painted.append(t2 - t0)
            services.append(t3 - t2)
            window._force_close = True
            window.close()
            app.processEvents()
            if run == 0:
                cold = (opened.pop(), painted.pop(), services.pop())
                baseline.pop()
        session.lock()

    base = statistics.median(baseline)
    print(f"resident with {n_services} service entries ({n_records} records), "
          f"{args.runs} runs, medians:")
    print(f"  Vault.records(resident)        {ms(base):7.1f} ms  (baseline 1.0x)")
    for name, series in (("open (records in every tab)", opened),
                         ("open + first paint", painted),
                         ("switch to services + paint", services)):
        med = statistics.median(series)
        print(f"  {name:<30} {ms(med):7.1f} ms  ({med / base:5.1f}x)   max {ms(max(series)):.1f} ms")
    first = "after the warm-up" if args.warm_up else "no form built yet"
    print(f"  first window of the process ({first}): open {ms(cold[0]):.1f} ms, "
          f"+ first paint {ms(cold[1]):.1f} ms ({cold[1] / base:.1f}x), "
          f"services tab {ms(cold[2]):.1f} ms")
    print(f"target: open + first paint <= 200 ms: "
          f"{'met' if statistics.median(painted) <= 0.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
