"""Exports that leave the shelter: PDF read back with pdftotext, CSV with the csv module,
the `cpc report` command, and the charts the window shows."""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import zipfile

import pytest

from cpc_desktop.cli.main import main
from cpc_desktop import demo
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.core.vault import Vault
from cpc_desktop.reports import (ReportRequest, build_report, chart_of, chart_specs, chart_svg,
                                 csv_files, render_pdf, table_csv, write_csv)
from cpc_desktop.reports.pdf import TITLE

TODAY = dt.date(2026, 6, 30)
START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
PASS = "frase ficticia de prueba 2024"
NOTE = "Datos protegidos: valores menores a 5 se muestran como <5"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "vault"
    vault, _key = Vault.create(path, shelter_code="CUS-03", shelter_name="Casa Ficticia Qosqo",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    demo.populate(vault, residents=45, seed=5, services_per_resident=8, today=TODAY)
    full = build_report(vault, ReportRequest(START, END, "CUS-03"), today=TODAY)
    export = build_report(vault, ReportRequest(START, END, "CUS-03"), today=TODAY,
                          purpose="export")
    yield vault, path, full, export
    vault.lock()


def _small_and_large(full):
    """A 1-D cell with a count of 1–4 and one of 5 or more, in the same table."""
    for t in full.tables:
        if len(t.columns) != 1 or t.columns[0].kind != "count":
            continue
        small = [r for r in t.rows if 0 < (r.cells[0].value or 0) < 5]
        large = [r for r in t.rows if (r.cells[0].value or 0) >= 5 and not r.cells[0].hidden]
        if small and large:
            return t.id, small[0].id, large[0].id
    raise AssertionError("the fixture has no table with both a small and a large count")


def _pdftotext(data: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is missing: install poppler-utils (scripts/test.sh does)")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_pdf_in_spanish_has_header_protection_note_and_numbers(made, tmp_path):
    _v, _p, full, export = made
    text = _pdftotext(render_pdf(export, "es"), tmp_path)
    assert "Informe estadístico del centro de acogida" in text
    assert "del 01/01/2026 al 30/06/2026" in text
    assert "Casa Ficticia Qosqo (CUS-03)" in text
    assert NOTE in text, "the protection note must be printed"
    assert "CPC Desktop 0.1.0" in text
    assert export.generated_at.strftime("%d/%m/%Y") in text
    served = full.table("resumen").value("served")
    assert served >= 5 and str(served) in text
    table_id, small, _large = _small_and_large(full)
    assert export.table(table_id).cell(small).hidden
    assert "<5" in text
    assert "Página 1 de" in text


def test_pdf_in_quechua_uses_the_quechua_catalog(made, tmp_path):
    export = made[3]
    qu = gettext_for("qu")
    text = _pdftotext(render_pdf(export, "qu"), tmp_path)
    assert qu(TITLE) in text
    assert qu(NOTE) in text
    assert "01/01/2026" in text


def test_csv_zip_has_bom_one_table_per_file_and_protected_numbers(made, tmp_path):
    _v, _p, full, export = made
    out = write_csv(export, tmp_path / "informe.zip")
    table_id, small, large = _small_and_large(full)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names[0] == "00_informe.csv" and len(names) == len(export.tables) + 1
        for name in names:
            assert zf.read(name).startswith(b"\xef\xbb\xbf"), f"{name}: Excel needs the BOM"
        about = list(csv.reader(io.StringIO(zf.read(names[0]).decode("utf-8-sig"))))
        assert [NOTE] in about
        name = next(n for n in names if n.endswith(f"_{table_id}.csv"))
        rows = list(csv.reader(io.StringIO(zf.read(name).decode("utf-8-sig"))))
    table = full.table(table_id)
    by_label = {r[0]: r[1:] for r in rows[2:] if r}
    small_label = table.row(small).label(lambda s: s)
    large_label = table.row(large).label(lambda s: s)
    assert by_label[small_label] == ["<5"], "a count under 5 left the shelter"
    assert by_label[large_label] == [str(table.value(large))]


def test_one_table_alone_as_csv(made):
    export = made[3]
    rows = list(csv.reader(io.StringIO(table_csv(export, "resumen").decode("utf-8-sig"))))
    assert rows[0][0] == "Indicador"
    assert [NOTE] in rows


def test_charts_draw_hidden_counts_as_outlines_and_skip_empty_categories(made):
    export = made[3]
    tr = gettext_for("es")
    specs = chart_specs(export, tr)
    assert {s.kind for s in specs} == {"bar", "line"}
    assert any(any(any(row) for row in s.hidden_small) for s in specs)
    spec = chart_of(export.table("ingreso_mother_tongue"), tr)
    assert all(any(v != 0 for v in row) for row in spec.values)   # no empty bars
    svg = chart_svg(next(s for s in specs
                         if s.kind == "bar" and any(any(r) for r in s.hidden_small)))
    assert svg.startswith(b"<?xml") and b"<svg" in svg and b"stroke-dasharray: 2" in svg


def test_chart_axes_step_in_whole_numbers():
    from cpc_desktop.reports.charts import _nice_max

    for largest in (1, 4, 6, 12, 13, 24, 51, 101, 172, 1372):
        end = _nice_max(largest)
        assert end >= largest and end % 5 == 0, \
            f"an axis up to {largest} ends at {end}: its grid would read 2.4, 4.8, … children"


def test_cpc_report_writes_pdf_and_csv(made, tmp_path, monkeypatch, capsys):
    _v, path, _full, _export = made
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    base = ["report", "--vault", str(path), "--from", "01/01/2026", "--to", "2026-06-30"]
    assert main(base + ["--format", "pdf", "-o", str(tmp_path / "r.pdf")]) == 0
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert main(base + ["--format", "csv", "--lang", "qu", "-o", str(tmp_path / "r.zip")]) == 0
    assert zipfile.is_zipfile(tmp_path / "r.zip")
    assert main(base + ["--format", "csv", "--table", "resumen",
                        "-o", str(tmp_path / "r.csv")]) == 0
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_cpc_report_refuses_bad_dates_with_one_line(made, tmp_path, monkeypatch, capsys):
    path = made[1]
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    rc = main(["report", "--vault", str(path), "--from", "31/02/2026", "--to", "30/06/2026",
               "--format", "pdf", "-o", str(tmp_path / "x.pdf")])
    assert rc == 1 and "Fecha no válida" in capsys.readouterr().err
    rc = main(["report", "--vault", str(path), "--from", "01/07/2026", "--to", "01/01/2026",
               "--format", "pdf", "-o", str(tmp_path / "x.pdf")])
    assert rc == 1 and "posterior" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_csv_files_are_named_after_tables(made):
    names = [n for n, _b in csv_files(made[3])]
    assert names[1] == "01_resumen.csv"


def _strings(node):
    from reportlab.graphics.shapes import Group, String
    for item in getattr(node, "contents", ()):
        if isinstance(item, String):
            yield item
        elif isinstance(item, Group):
            yield from _strings(item)


@pytest.mark.parametrize("lang", ["es", "qu"])
def test_no_chart_label_is_cut_short(made, lang):
    """Every category, series and title of every chart is printed whole (wrapped on lines,
    never ended with "…"), inside the chart, also for the 36 months of three years."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from cpc_desktop.reports import chart_drawing
    from cpc_desktop.reports import fonts

    vault = made[0]
    whole = build_report(vault, ReportRequest(dt.date(2023, 7, 1), END), today=TODAY)
    tr = gettext_for(lang)
    specs = chart_specs(whole, tr) + chart_specs(made[2], tr)
    assert any(len(s.categories) >= 36 for s in specs), "no chart of the whole history"
    long_name = chart_of(whole.table("ingreso_exploitation_sector"), tr)
    for spec in specs + [long_name]:
        for width in (453, 220):
            d = chart_drawing(spec, width, title=True)
            strings = list(_strings(d))
            texts = [s.text for s in strings]
            assert not any("…" in t for t in texts), (spec.id, [t for t in texts if "…" in t])
            printed = " ".join(texts).replace("- ", "")
            legend = spec.series if len(spec.series) > 1 else ()
            for name in (*spec.categories, *legend, spec.title):
                if spec.kind == "line" and name in spec.categories:
                    continue     # months: only every n-th is labelled (checked below)
                assert all(w in printed for w in name.split()), (spec.id, name)
            for s in strings:
                w = stringWidth(s.text, s.fontName, s.fontSize)
                left = {"start": s.x, "middle": s.x - w / 2, "end": s.x - w}[s.textAnchor]
                assert left >= -0.5 and left + w <= width + 0.5, (spec.id, s.text, width)
            assert s.fontName == fonts.REGULAR or s.fontName == fonts.BOLD
    months = next(s for s in specs if len(s.categories) >= 36)
    d = chart_drawing(months, 453)
    texts = [s.text for s in _strings(d)]
    shown_years = [t for t in texts if t.isdigit() and len(t) == 4]
    assert len(shown_years) >= 6, "the month axis of the whole history has too few labels"


def test_the_pdf_names_only_embedded_fonts(made, tmp_path):
    if not shutil.which("pdffonts"):
        pytest.fail("pdffonts is missing: install poppler-utils")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(made[3]))
    listing = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    assert listing, "no font at all?"
    for line in listing:
        assert line.split()[-5] == "yes", f"a font is not embedded: {line}"
    assert not any("Helvetica" in line for line in listing)
