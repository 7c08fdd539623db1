"""The report as CSV for Excel: UTF-8 with a byte-order mark, one table per file, in a zip.

Only protected reports are written: a CSV is meant to leave the shelter. The first file of
the zip, 00_informe.csv, says which period and shelter the numbers are of, and the
protection note; a single table written alone carries the same lines under it.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from ..core.i18n import N_, gettext_for
from .compute import shown
from .model import (
    COMPLEMENT_NOTE,
    PROTECTION_NOTE,
    WITHHELD_NOTE,
    Report,
    ReportError,
    Table,
    Translator,
    write_file,
)
from .pdf import TITLE, period_text

BOM = "\ufeff"


def _rows(table: Table, tr: Translator) -> list[list[str]]:
    out = [[table.row_header(tr)] + [c.label(tr) for c in table.columns]]
    for row in table.rows:
        out.append([row.label(tr)] + [shown(cell, col) for cell, col in
                                      zip(row.cells, table.columns)])
    return out


def _about(report: Report, tr: Translator) -> list[list[str]]:
    return [[tr(TITLE)],
            [tr(N_("Periodo")), period_text(report, tr)],
            [tr(N_("Centro")), report.shelter_label(tr)],
            [tr(N_("Generado el")), report.generated_at.strftime("%d/%m/%Y %H:%M")],
            [tr(N_("Programa")), f"CPC Desktop {report.version}"],
            [tr(PROTECTION_NOTE)],
            [tr(COMPLEMENT_NOTE)],
            [tr(WITHHELD_NOTE)]]


def _encode(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    buf.write(BOM)
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def csv_files(report: Report, lang: str = "es") -> list[tuple[str, bytes]]:
    """(file name, content) of every CSV: 00_informe.csv, then NN_<table id>.csv."""
    tr = gettext_for(lang)
    _require_protected(report, tr)
    files = [("00_informe.csv", _encode(_about(report, tr)))]
    for n, table in enumerate(report.tables, start=1):
        rows = _rows(table, tr)
        if table.note is not None:
            rows.append([])
            rows.append([table.note(tr)])
        files.append((f"{n:02d}_{table.id}.csv", _encode([[table.title(tr)]] + rows)))
    return files


def table_csv(report: Report, table_id: str, lang: str = "es") -> bytes:
    """One table alone: header row, rows, then a blank line and what the numbers are."""
    tr = gettext_for(lang)
    _require_protected(report, tr)
    table = report.table(table_id)
    return _encode(_rows(table, tr) + [[]] + [[table.title(tr)]] + _about(report, tr)[1:])


def write_csv(report: Report, out: Path | str, lang: str = "es",
              table_id: str | None = None) -> Path:
    """Writes the zip (or, with table_id, that one CSV); returns the path written."""
    out = Path(out)
    if table_id is not None:
        data = table_csv(report, table_id, lang)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in csv_files(report, lang):
                zf.writestr(name, content)
        data = buf.getvalue()
    write_file(out, data)
    return out


def _require_protected(report: Report, tr: Translator) -> None:
    if not report.protected:
        raise ReportError(tr(N_("Este informe tiene cifras completas y no se puede exportar: "
                                "genere el informe para exportar (con datos protegidos).")))
