"""Charts of a report: what each draws (ChartSpec, plain data) and how (reportlab Drawing).

The PDF places the Drawing; the window can show the same chart from `chart_svg()` bytes
(QSvgRenderer, in PySide6-Essentials) or paint the ChartSpec itself. PNG through reportlab's
renderPM is not offered: it needs pycairo, which has no Linux wheel (it builds from source).

Hidden counts of a protected report are never drawn to scale: a "<5" bar is a dashed outline
labelled "<5", a "*" count has no bar, and a line has a gap there.
"""
from __future__ import annotations

from dataclasses import dataclass

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..core.i18n import N_
from . import fonts
from .compute import shown
from .model import Report, Table, Translator
from .suppression import PRIMARY, THRESHOLD

# Okabe–Ito: told apart by people with colour-blindness, and in grey print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
HIDDEN_NOTE = N_("Las barras punteadas son valores menores a 5; «*» y «x» no se dibujan.")


@dataclass(frozen=True)
class ChartSpec:
    """One chart: categories (bars or months) × series, with values and their texts.

    values[i][j] is the count of category i in series j, None when hidden or missing;
    texts[i][j] is what is printed beside it ("12", "<5", "*"); hidden_small[i][j] is True
    for a "<5" (drawn as an outline).
    """
    id: str
    kind: str                          # bar | line
    title: str
    categories: tuple[str, ...]
    series: tuple[str, ...]
    values: tuple[tuple[int | None, ...], ...]
    texts: tuple[tuple[str, ...], ...]
    hidden_small: tuple[tuple[bool, ...], ...]
    note: str = ""

    @property
    def max_value(self) -> int:
        return max([v for row in self.values for v in row if v is not None] + [0])


def chart_of(table: Table, tr: Translator) -> ChartSpec | None:
    """The chart of one table (None for tables without one)."""
    if table.chart is None:
        return None
    cols = [i for i, c in enumerate(table.columns) if c.kind == "count" and c.id != "total"]
    if table.chart_columns is not None:
        cols = list(table.chart_columns)
    rows = [r for r in table.rows if not r.total]
    if table.chart == "bar":
        # Categories and series nobody is in are left out of the chart (the table lists them).
        rows = [r for r in rows if any(r.cells[i].value for i in cols)]
        cols = [i for i in cols if any(r.cells[i].value for r in rows)] or cols[:1]
    cats, values, texts, small = [], [], [], []
    for r in rows:
        cats.append(r.label(tr))
        values.append(tuple(None if r.cells[i].hidden else r.cells[i].value for i in cols))
        texts.append(tuple(shown(r.cells[i], table.columns[i]) for i in cols))
        small.append(tuple(r.cells[i].mark == PRIMARY for i in cols))
    hidden_any = any(any(s) for s in small) or any(v is None for row in values for v in row)
    return ChartSpec(table.id, table.chart, table.title(tr), tuple(cats),
                     tuple(table.columns[i].label(tr) for i in cols), tuple(values),
                     tuple(texts), tuple(small), tr(HIDDEN_NOTE) if hidden_any else "")


def chart_specs(report: Report, tr: Translator) -> list[ChartSpec]:
    """Every chart of a report, in table order."""
    return [c for t in report.tables if (c := chart_of(t, tr)) is not None]


def chart_drawing(spec: ChartSpec, width: float = 453, *, title: bool = False) -> Drawing:
    """The chart as a reportlab Drawing `width` points wide (height follows the data)."""
    if spec.kind == "line":
        return _line(spec, width, title)
    return _bars(spec, width, title)


def chart_svg(spec: ChartSpec, width: float = 453, *, title: bool = True) -> bytes:
    """The chart as SVG (UTF-8 bytes), e.g. for QSvgRenderer in the window."""
    return renderSVG.drawToString(chart_drawing(spec, width, title=title)).encode("utf-8")


# ---------------------------------------------------------------- drawing

def _fit(text: str, size: float, room: float) -> str:
    if stringWidth(text, fonts.REGULAR, size) <= room:
        return text
    while text and stringWidth(text + "…", fonts.REGULAR, size) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _nice_max(value: float) -> float:
    """The axis end: a multiple of 5, so the five grid steps are whole numbers (counts of
    children read oddly on a "2.4, 4.8, 7.2" axis)."""
    if value <= 5:
        return 5
    step = 10 ** (len(str(int(value))) - 1)
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        end = m * step
        if value <= end and end % 5 == 0:
            return end
    return 10 * step


def _header(d: Drawing, spec: ChartSpec, width: float, top: float, title: bool) -> float:
    y = top
    if title:
        y -= 12
        d.add(String(0, y, _fit(spec.title, 10, width), fontName=fonts.BOLD, fontSize=10))
    if len(spec.series) > 1:
        y -= 12
        x = 0.0
        for j, name in enumerate(spec.series):
            color = colors.HexColor(PALETTE[j % len(PALETTE)])
            d.add(Rect(x, y, 8, 8, fillColor=color, strokeColor=None))
            label = _fit(name, 7.5, 140)
            d.add(String(x + 11, y + 1, label, fontName=fonts.REGULAR, fontSize=7.5))
            x += 11 + stringWidth(label, fonts.REGULAR, 7.5) + 14
    return y - 6


def _footer_height(spec: ChartSpec) -> float:
    return 12 if spec.note else 0


def _footer(d: Drawing, spec: ChartSpec, width: float) -> None:
    if spec.note:
        d.add(String(0, 2, _fit(spec.note, 7, width), fontName=fonts.REGULAR, fontSize=7,
                     fillColor=colors.HexColor("#555555")))


def _bars(spec: ChartSpec, width: float, title: bool) -> Drawing:
    k = max(1, len(spec.series))
    bar_h = 9.0
    group_h = k * bar_h + 5
    head = (14 if title else 0) + (12 if k > 1 else 0) + 6
    foot = _footer_height(spec) + 14          # axis labels
    height = head + foot + max(1, len(spec.categories)) * group_h
    d = Drawing(width, height)
    label_w = min(width * 0.42, 190)
    plot_x, plot_w = label_w + 6, width - label_w - 6 - 34
    top = _header(d, spec, width, height, title)
    axis_y = foot
    scale_max = _nice_max(max(spec.max_value, THRESHOLD - 1))
    # Grid: five ticks.
    for t in range(6):
        x = plot_x + plot_w * t / 5
        d.add(Line(x, axis_y, x, top, strokeColor=colors.HexColor("#DDDDDD"),
                   strokeWidth=0.5))
        value = scale_max * t / 5
        text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        d.add(String(x, axis_y - 9, text, fontName=fonts.REGULAR, fontSize=6.5,
                     textAnchor="middle", fillColor=colors.HexColor("#555555")))
    if not spec.categories:
        d.add(String(plot_x, (axis_y + top) / 2, "—", fontName=fonts.REGULAR, fontSize=9))
    y = top
    for i, cat in enumerate(spec.categories):
        y -= group_h
        d.add(String(label_w, y + (group_h - 5) / 2 + 1, _fit(cat, 7.5, label_w - 2),
                     fontName=fonts.REGULAR, fontSize=7.5, textAnchor="end"))
        for j in range(k):
            by = y + (k - 1 - j) * bar_h + 2.5
            color = colors.HexColor(PALETTE[j % len(PALETTE)])
            value = spec.values[i][j]
            text = spec.texts[i][j]
            if spec.hidden_small[i][j]:
                w = plot_w * (THRESHOLD - 1) / scale_max
                d.add(Rect(plot_x, by, w, bar_h - 1.5, fillColor=None, strokeColor=color,
                           strokeWidth=0.8, strokeDashArray=[2, 1.5]))
            elif value is not None:
                w = plot_w * value / scale_max
                d.add(Rect(plot_x, by, max(w, 0.0), bar_h - 1.5, fillColor=color,
                           strokeColor=None))
            else:
                w = 0
            d.add(String(plot_x + w + 2, by + 1.5, text, fontName=fonts.REGULAR,
                         fontSize=6.5))
    d.add(Line(plot_x, axis_y, plot_x, top, strokeColor=colors.black, strokeWidth=0.6))
    _footer(d, spec, width)
    return d


def _line(spec: ChartSpec, width: float, title: bool) -> Drawing:
    k = max(1, len(spec.series))
    height = 190.0 + (14 if title else 0) + (12 if k > 1 else 0) + _footer_height(spec)
    d = Drawing(width, height)
    top = _header(d, spec, width, height, title) - 4
    foot = _footer_height(spec) + 22
    plot_x, plot_w = 30.0, width - 40
    plot_h = top - foot
    scale_max = _nice_max(max(spec.max_value, THRESHOLD - 1))
    for t in range(6):
        y = foot + plot_h * t / 5
        d.add(Line(plot_x, y, plot_x + plot_w, y, strokeColor=colors.HexColor("#DDDDDD"),
                   strokeWidth=0.5))
        value = scale_max * t / 5
        text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        d.add(String(plot_x - 3, y - 2, text, fontName=fonts.REGULAR, fontSize=6.5,
                     textAnchor="end", fillColor=colors.HexColor("#555555")))
    n = len(spec.categories)
    step = plot_w / max(n, 1)
    xs = [plot_x + step * (i + 0.5) for i in range(n)]
    every = max(1, -(-n // 12))                  # at most ~12 month labels
    for i, cat in enumerate(spec.categories):
        if i % every == 0:
            d.add(String(xs[i], foot - 10, _fit(cat, 6.5, step * every - 2),
                         fontName=fonts.REGULAR, fontSize=6.5, textAnchor="middle"))
    # The band where hidden ("<5") values lie, so gaps read as "small", not "zero".
    if any(any(row) for row in spec.hidden_small):
        band = plot_h * (THRESHOLD - 1) / scale_max
        d.add(Rect(plot_x, foot, plot_w, band, fillColor=colors.HexColor("#F2F2F2"),
                   strokeColor=None))
    for j in range(k):
        color = colors.HexColor(PALETTE[j % len(PALETTE)])
        run: list[float] = []
        for i in range(n):
            v = spec.values[i][j]
            if v is None:
                if len(run) >= 4:
                    d.add(PolyLine(run, strokeColor=color, strokeWidth=1.4))
                run = []
                if spec.hidden_small[i][j]:
                    d.add(Circle(xs[i], foot + plot_h * 2 / scale_max, 2.2, fillColor=None,
                                 strokeColor=color, strokeWidth=0.8))
                continue
            y = foot + plot_h * v / scale_max
            run += [xs[i], y]
            d.add(Circle(xs[i], y, 1.8, fillColor=color, strokeColor=None))
            if n <= 12:
                d.add(String(xs[i], y + 4, spec.texts[i][j], fontName=fonts.REGULAR,
                             fontSize=6, textAnchor="middle", fillColor=color))
        if len(run) >= 4:
            d.add(PolyLine(run, strokeColor=color, strokeWidth=1.4))
    d.add(Line(plot_x, foot, plot_x + plot_w, foot, strokeColor=colors.black,
               strokeWidth=0.6))
    _footer(d, spec, width)
    return d
