"""The report as a PDF (reportlab), in Spanish or Quechua, with its charts.

Only protected reports print: a PDF is meant to leave the shelter.
"""
from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

from ..core.display import format_date
from ..core.i18n import N_, gettext_for
from . import fonts
from .charts import chart_drawing, chart_of
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

TITLE = N_("Informe estadístico del centro de acogida")
MARGIN = 1.8 * cm


def _styles():
    base = ParagraphStyle("base", fontName=fonts.REGULAR, fontSize=9, leading=11.5,
                          alignment=TA_LEFT)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=fonts.BOLD, fontSize=15,
                                leading=19, spaceAfter=6),
        "h1": ParagraphStyle("h1", parent=base, fontName=fonts.BOLD, fontSize=12.5,
                             leading=16, spaceBefore=10, spaceAfter=4,
                             textColor=colors.HexColor("#0B3C5D")),
        "h2": ParagraphStyle("h2", parent=base, fontName=fonts.BOLD, fontSize=10, leading=13,
                             spaceBefore=8, spaceAfter=3),
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=9.5,
                               textColor=colors.HexColor("#444444"), spaceBefore=2),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=9.5),
        "cellb": ParagraphStyle("cellb", parent=base, fontName=fonts.BOLD, fontSize=8,
                                leading=9.5),
        "head": ParagraphStyle("head", parent=base, fontName=fonts.BOLD, fontSize=7.5,
                               leading=9),
        "protect": ParagraphStyle("protect", parent=base, fontName=fonts.BOLD, fontSize=9,
                                  leading=11.5, borderColor=colors.HexColor("#B00020"),
                                  borderWidth=0.8, borderPadding=5, spaceBefore=6,
                                  spaceAfter=8, textColor=colors.HexColor("#B00020")),
    }


def period_text(report: Report, tr: Translator) -> str:
    return tr(N_("del {start} al {end}")).format(start=format_date(report.request.start),
                                                 end=format_date(report.request.end))


def render_pdf(report: Report, lang: str = "es") -> bytes:
    """The protected report as PDF bytes, in `lang` (es, qu)."""
    tr = gettext_for(lang)
    if not report.protected:
        raise ReportError(tr(N_("Este informe tiene cifras completas y no se puede exportar: "
                                "genere el informe para exportar (con datos protegidos).")))
    st = _styles()
    buf = io.BytesIO()
    period = period_text(report, tr)
    footer = tr(N_("CPC Desktop {version} · Periodo {period} · {note}")).format(
        version=report.version, period=period, note=tr(PROTECTION_NOTE))
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 0.3 * cm,
                            title=tr(TITLE), author="CPC Desktop", subject=period,
                            creator=f"CPC Desktop {report.version}")
    width = A4[0] - 2 * MARGIN - 12   # the frame's own padding
    story = [Paragraph(escape(tr(TITLE)), st["title"])]
    meta = [
        (tr(N_("Periodo")), period),
        (tr(N_("Centro")), report.shelter_label(tr)),
        (tr(N_("Generado el")), report.generated_at.strftime("%d/%m/%Y %H:%M")),
        (tr(N_("Programa")), f"CPC Desktop {report.version}"),
    ]
    mt = RLTable([[Paragraph(f"<b>{escape(k)}</b>", st["base"]), Paragraph(escape(v), st["base"])]
                  for k, v in meta], colWidths=[3.2 * cm, width - 3.2 * cm])
    mt.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                            ("FONTNAME", (0, 0), (-1, -1), fonts.REGULAR),
                            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                            ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    story += [mt, Paragraph("<br/>".join(escape(tr(n)) for n in (
        PROTECTION_NOTE, COMPLEMENT_NOTE, WITHHELD_NOTE)), st["protect"])]
    for message in report.messages:
        story.append(Paragraph(escape(message(tr)), st["h2"]))
    section = None
    for table in report.tables:
        if table.section != section:
            section = table.section
            story += [CondPageBreak(5 * cm), Paragraph(escape(section(tr)), st["h1"])]
        story += _table_block(table, tr, st, width)
    doc.build(story, canvasmaker=_numbered(footer, tr))
    return buf.getvalue()


def write_pdf(report: Report, out, lang: str = "es") -> Path:
    """Writes the PDF to `out` (whole or not at all); returns the path."""
    out = Path(out)
    write_file(out, render_pdf(report, lang))
    return out


def _head(text: str, style: ParagraphStyle, room: float) -> Paragraph:
    """A column title whose longest word fits its column: a smaller type (not below 6 pt)
    rather than a word broken in the middle (Quechua "Rurakuchkan" in a count column)."""
    longest = max((stringWidth(w, style.fontName, style.fontSize) for w in text.split()),
                  default=0)
    if longest > room:
        size = max(6.0, style.fontSize * room / longest)
        style = ParagraphStyle("head-fit", parent=style, fontSize=size, leading=size * 1.2)
    return Paragraph(escape(text), style)


def _table_block(table: Table, tr: Translator, st, width: float) -> list:
    ncols = len(table.columns)
    num_w = min(2.6 * cm, (width - 4.8 * cm) / max(ncols, 1))
    label_w = min(width - num_w * ncols, 9.5 * cm)
    pad = 2 * 6  # the table's default left and right cell padding
    head = [_head(table.row_header(tr), st["head"], label_w - pad)] + [
        _head(c.label(tr), st["head"], num_w - pad) for c in table.columns]
    data = [head]
    for row in table.rows:
        style = st["cellb"] if row.total else st["cell"]
        # Counts are short texts ("12", "<5", "n<5"): plain cells, drawn without the
        # Paragraph line breaking (most of a report's cells; a third of the PDF's time).
        data.append([Paragraph(escape(row.label(tr)), style)] + [
            shown(cell, col) for cell, col in zip(row.cells, table.columns)])
    rl = RLTable(data, colWidths=[label_w] + [num_w] * ncols, repeatRows=1, hAlign="LEFT")
    # The cells' own font (Helvetica by default) is set for every cell: embedded fonts only.
    cell = st["cell"]
    style = [("FONTNAME", (0, 0), (-1, -1), fonts.REGULAR),
             ("FONTSIZE", (1, 1), (-1, -1), cell.fontSize),
             ("LEADING", (1, 1), (-1, -1), cell.leading),
             ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
             ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#BBBBBB")),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    for i, row in enumerate(table.rows, start=1):
        if row.total:
            style.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor("#F3F3F3")))
            style.append(("FONTNAME", (1, i), (-1, i), fonts.BOLD))
    rl.setStyle(TableStyle(style))
    # Title, table, note and chart on one page when they fit (a long table still splits,
    # its header repeated): no chart apart from its table, no note alone at a page top.
    block: list = [Paragraph(escape(table.title(tr)), st["h2"]), rl]
    if table.note is not None:
        block.append(Paragraph(escape(table.note(tr)), st["note"]))
    spec = chart_of(table, tr)
    if spec is not None and spec.categories:
        block += [Spacer(1, 4), chart_drawing(spec, width)]
    return [KeepTogether(block), Spacer(1, 6)]


def _numbered(footer: str, tr: Translator):
    page_text = tr(N_("Página {page} de {pages}"))

    class NumberedCanvas(rl_canvas.Canvas):
        """Writes "page X of Y" once the number of pages is known."""

        def __init__(self, *args, **kwargs):
            # reportlab's default first font is Helvetica, referenced (not embedded) on every
            # page even when never used: start with the embedded one.
            kwargs["initialFontName"] = kwargs.get("initialFontName") or fonts.REGULAR
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(fonts.REGULAR, 7)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(MARGIN, MARGIN * 0.6, footer[:160])
                self.drawRightString(A4[0] - MARGIN, MARGIN * 0.6 - 9,
                                     page_text.format(page=self._pageNumber, pages=total))
                super().showPage()
            super().save()

    return NumberedCanvas
