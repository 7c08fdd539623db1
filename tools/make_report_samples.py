"""Writes docs/samples/report-es.pdf and report-qu.pdf from a synthetic demo vault.

    .venv/bin/python tools/make_report_samples.py

The demo shelter is fictional (cpc_desktop.demo, fixed seed and date); the reports are the exported,
protected kind: first half of 2026.
"""
from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpc_desktop import demo  # noqa: E402
from cpc_desktop.reports import ReportRequest, build_report, write_pdf  # noqa: E402

TODAY = dt.date(2026, 6, 30)


def main() -> None:
    out = ROOT / "docs" / "samples"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        vault, _key = demo.create_demo_vault(Path(tmp) / "vault", residents=80, seed=1,
                                             kdf_seconds=0, today=TODAY)
        try:
            report = build_report(vault, ReportRequest(dt.date(2026, 1, 1), TODAY,
                                                       vault.shelter_code),
                                  purpose="export", today=TODAY)
        finally:
            vault.lock()
    for lang in ("es", "qu"):
        print(write_pdf(report, out / f"report-{lang}.pdf", lang))


if __name__ == "__main__":
    main()
