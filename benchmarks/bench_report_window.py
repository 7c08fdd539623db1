"""The reports window's speed, as ratios to the reports package alone in the same run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_report_window.py \
        [--residents 2000] [--services 20]

Uses the cached vault of bench_reports.py (built once). Baseline: build_report() for the
semester without any window (reading the vault and computing). Then, in the window: the
first report (shelter list, one read of the vault, computing, showing the summary page),
another period from the records already read, building the largest section page (the
profile: ~19 tables with their charts), and redrawing every built page in Quechua.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cpc_desktop.ui  # noqa: F401 — its PySide6 guard first
from PySide6.QtWidgets import QApplication

from bench_reports import PASS, SEMESTER, TODAY, ensure_vault
from cpc_desktop.core.vault import Vault
from cpc_desktop.reports import ReportRequest, build_report
from cpc_desktop.ui.lang import set_language
from cpc_desktop.ui.report_window import ReportWindow
from cpc_desktop.ui.session import Session


def wait(app, window) -> None:
    while window.busy or window.report is None:
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--services", type=int, default=20)
    args = parser.parse_args()
    path = ensure_vault(args.residents, args.services)
    app = QApplication([])

    vault = Vault.open(path, "coord", PASS)
    base = []
    for _ in range(3):
        t = time.perf_counter()
        request = ReportRequest(SEMESTER.start, SEMESTER.end, vault.shelter_code)
        build_report(vault, request, today=TODAY)
        base.append(time.perf_counter() - t)
    vault.lock()
    baseline = statistics.median(base)

    session = Session(path)
    session.attach(Vault.open(path, "coord", PASS))
    window = ReportWindow(session, today=TODAY)
    window.resize(1366, 740)
    window.show()
    t = time.perf_counter()
    window.compute()
    wait(app, window)
    first = time.perf_counter() - t

    again = []
    for period in ("01/01/2025 31/12/2025", "01/07/2025 31/12/2025", "01/01/2026 30/06/2026"):
        start, end = period.split()
        window.start_edit.edit.setText(start)
        window.end_edit.edit.setText(end)
        t = time.perf_counter()
        window.report = None
        window.compute()
        wait(app, window)
        again.append(time.perf_counter() - t)

    t = time.perf_counter()
    window.show_table("ingreso_sex")          # the profile section: the largest page
    app.processEvents()
    profile = time.perf_counter() - t
    for table in ("origen_departamento", "atenciones_service_area", "pti_cp_case_plan",
                  "seguimientos_previstos", "egreso_discharge_reason"):
        window.show_table(table)
    app.processEvents()
    pages = len(window.pages)
    t = time.perf_counter()
    set_language("qu")
    app.processEvents()
    relabel = time.perf_counter() - t
    set_language("es")
    session.lock()

    rows = [("reports alone: semester report (read + compute)", baseline),
            ("window: first report (shelters, read, compute, summary page)", first),
            ("window: another period, records already read (median of 3)",
             statistics.median(again)),
            ("window: build the profile page (tables + charts)", profile),
            (f"window: redraw {pages} built pages in Quechua", relabel)]
    print(f"{args.residents} residents × {args.services} services, today {TODAY}")
    for label, seconds in rows:
        print(f"  {label:<66} {seconds * 1000:8.0f} ms  {seconds / baseline:5.2f}× baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
