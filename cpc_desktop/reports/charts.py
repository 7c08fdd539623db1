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
    values: tuple[tuple[float | None, ...], ...]
    texts: tuple[tuple[str, ...], ...]
    hidden_small: tuple[tuple[bool, ...], ...]
    note: str = ""

    @property
    def max_value(self) -> float:
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
    d = _line(spec, width, title) if spec.kind == "line" else _bars(spec, width, title)
    # Else the renderer starts each drawing with Helvetica, which the PDF then names
    # without embedding it.
    d.initialFontName = fonts.REGULAR
    return d


def chart_svg(spec: ChartSpec, width: float = 453, *, title: bool = True) -> bytes:
    """The chart as SVG (UTF-8 bytes), e.g. for QSvgRenderer in the window."""
    return renderSVG.drawToString(chart_drawing(spec, width, title=title)).encode("utf-8")


# ---------------------------------------------------------------- drawing

def wrap(text: str, size: float, room: float, font: str | None = None) -> list[str]:
    """`text` in lines no wider than `room` at `size`, broken between words; a word longer
    than the room is broken where it must (with a hyphen), never cut short with "…"."""
    font = font or fonts.REGULAR
    lines: list[str] = []
    line = ""
    for word in text.split():
        while stringWidth(word, font, size) > room and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and stringWidth(word[:cut] + "-", font, size) > room:
                cut -= 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut] + "-")
            word = word[cut:]
        trial = f"{line} {word}" if line else word
        if stringWidth(trial, font, size) <= room or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


def _lines(d: Drawing, x: float, y_top: float, lines: list[str], size: float, *,
           font: str | None = None, anchor: str = "start", color=None) -> float:
    """Draws lines downwards from y_top (the first line's baseline); returns the height."""
    leading = size * 1.2
    for n, text in enumerate(lines):
        kw = {"fillColor": color} if color is not None else {}
        d.add(String(x, y_top - n * leading, text, fontName=font or fonts.REGULAR,
                     fontSize=size, textAnchor=anchor, **kw))
    return len(lines) * leading


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


def _legend_rows(spec: ChartSpec, width: float) -> list[list[tuple[int, list[str]]]]:
    """Legend entries (series index, wrapped name) laid out in rows that fit `width`."""
    rows: list[list[tuple[int, list[str]]]] = [[]]
    x = 0.0
    for j, name in enumerate(spec.series):
        lines = wrap(name, 7.5, min(180.0, width - 11))
        w = 11 + max(stringWidth(t, fonts.REGULAR, 7.5) for t in lines) + 14
        if x and x + w > width:
            rows.append([])
            x = 0.0
        rows[-1].append((j, lines))
        x += w
    return rows if len(spec.series) > 1 else []


def _header_height(spec: ChartSpec, width: float, title: bool) -> float:
    h = 6.0
    if title:
        h += len(wrap(spec.title, 10, width, fonts.BOLD)) * 12
    for row in _legend_rows(spec, width):
        h += max(len(lines) for _j, lines in row) * 9 + 3
    return h


def _header(d: Drawing, spec: ChartSpec, width: float, top: float, title: bool) -> float:
    y = top
    if title:
        lines = wrap(spec.title, 10, width, fonts.BOLD)
        _lines(d, 0, y - 10, lines, 10, font=fonts.BOLD)
        y -= len(lines) * 12
    for row in _legend_rows(spec, width):
        x = 0.0
        tallest = max(len(lines) for _j, lines in row)
        for j, lines in row:
            color = colors.HexColor(PALETTE[j % len(PALETTE)])
            d.add(Rect(x, y - 8, 8, 8, fillColor=color, strokeColor=None))
            _lines(d, x + 11, y - 7, lines, 7.5)
            x += 11 + max(stringWidth(t, fonts.REGULAR, 7.5) for t in lines) + 14
        y -= tallest * 9 + 3
    return y - 6


def _footer_height(spec: ChartSpec, width: float) -> float:
    return len(wrap(spec.note, 7, width)) * 8.4 + 3 if spec.note else 0


def _footer(d: Drawing, spec: ChartSpec, width: float) -> None:
    if spec.note:
        lines = wrap(spec.note, 7, width)
        _lines(d, 0, 3 + (len(lines) - 1) * 8.4, lines, 7,
               color=colors.HexColor("#555555"))


def _bars(spec: ChartSpec, width: float, title: bool) -> Drawing:
    k = max(1, len(spec.series))
    bar_h = 9.0
    label_w = min(width * 0.42, 190)
    # Long category names wrap onto more lines; their group grows to hold them.
    cat_lines = [wrap(c, 7.5, label_w - 2) for c in spec.categories]
    groups = [max(k * bar_h, len(lines) * 9.0) + 5 for lines in cat_lines]
    head = _header_height(spec, width, title)
    foot = _footer_height(spec, width) + 14          # axis labels
    height = head + foot + (sum(groups) if groups else k * bar_h + 5)
    d = Drawing(width, height)
    plot_x, plot_w = label_w + 6, width - label_w - 6 - 34
    top = _header(d, spec, width, height, title)
    axis_y = foot
    scale_max = _nice_max(max(spec.max_value, THRESHOLD - 1))
    # Grid: five ticks.
    for t in range(6):
        x = plot_x + plot_w * t / 5
        d.add(Line(x, axis_y, x, top, strokeColor=colors.HexColor("#DDDDDD"),
                   strokeWidth=0.5))
        tick = scale_max * t / 5
        text = f"{tick:.0f}" if tick == int(tick) else f"{tick:.1f}"
        d.add(String(x, axis_y - 9, text, fontName=fonts.REGULAR, fontSize=6.5,
                     textAnchor="middle", fillColor=colors.HexColor("#555555")))
    if not spec.categories:
        d.add(String(plot_x, (axis_y + top) / 2, "—", fontName=fonts.REGULAR, fontSize=9))
    y = top
    for i, _cat in enumerate(spec.categories):
        group_h = groups[i]
        y -= group_h
        lines = cat_lines[i]
        first = y + (group_h - 5) / 2 + 1 + (len(lines) - 1) * 9.0 / 2
        _lines(d, label_w, first, lines, 7.5, anchor="end")
        bars_y = y + (group_h - 5 - k * bar_h) / 2
        for j in range(k):
            by = bars_y + (k - 1 - j) * bar_h + 2.5
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
    plot_x, plot_w = 30.0, width - 40
    n = len(spec.categories)
    step = plot_w / max(n, 1)
    # Month labels: as many as fit whole (wrapped on two lines, "setiembre / 2025"), never
    # cut; every label shown is whole, and they are spread evenly.
    every = 1
    while True:
        room = step * every - 3
        labels = [wrap(c, 6.5, room) for c in spec.categories]
        if all(len(lines) <= 2 for lines in labels[::every]) or every >= n:
            break
        every += 1
    if any(len(lines) > 1 for lines in labels[::every]):
        # One label on two lines: all of them, month above year, so they read alike.
        labels = [c.split() if len(c.split()) == 2 else lines
                  for c, lines in zip(spec.categories, labels)]
    label_h = max((len(lines) for lines in labels[::every]), default=1) * 7.8
    # 150 pt of plot: with a 36-month table above it, both fit on one A4 page.
    height = 150.0 + _header_height(spec, width, title) + _footer_height(spec, width) + label_h
    d = Drawing(width, height)
    top = _header(d, spec, width, height, title) - 4
    foot = _footer_height(spec, width) + 12 + label_h
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
    xs = [plot_x + step * (i + 0.5) for i in range(n)]
    for i in range(0, n, every):
        d.add(Line(xs[i], foot, xs[i], foot - 2, strokeColor=colors.black, strokeWidth=0.5))
        _lines(d, xs[i], foot - 9, labels[i], 6.5, anchor="middle")
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
