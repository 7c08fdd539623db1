"""The printed document: A4 pages with the header and footer every form shares, page numbers
"X of Y" counted per form, PDF bookmarks, and progress/cancel for long jobs.

A document is a list of *parts* (one form of one resident, a cover page…). Each part starts
with a `Tracker.start(part)` marker; the header of a page shows its part. Totals ("of Y", the
page numbers of the packet's contents) are only known at the end, so the canvas keeps its
pages and draws those at save time.
"""
from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

from .. import __version__
from ..core.i18n import N_, _
from . import fonts
from .flowables import Marker
from .language import Lang, PrintCancelled
from .styles import (
    FOOTER_H,
    FRAME_H,
    FRAME_W,
    FRAME_X,
    FRAME_Y,
    HEADER_H,
    INK,
    LAND_FRAME_H,
    LAND_FRAME_W,
    MARGIN,
    PAGE_H,
    PAGE_W,
    RULE,
    SLANT,
    SOFT,
)

PAGE_OF = N_("Página {page} de {pages}")
PACKET_PAGE = N_("Paquete: hoja {page} de {pages}")
PRINTED = N_("Impreso el {date} con CPC Desktop {version}")
CONFIDENTIAL = N_("CONFIDENCIAL: contiene datos personales protegidos de una niña, niño o "
                  "adolescente. No lo deje a la vista ni lo copie o fotografíe sin autorización; "
                  "guárdelo bajo llave y destrúyalo cuando ya no se necesite.")
INTERNAL_CODE = N_("Código interno")
FORM_VERSION = N_("{code} · versión {version}")
RECORD_DATE = N_("Fecha del registro: {date}")


@dataclass
class Part:
    """One printed unit: what its header says and where its bookmarks point."""
    key: str
    title: str                       # msgid
    code_line: str = ""              # "CPC-F01 · versión 1", already in the print language
    resident_code: str | None = None  # None: no code box (cover, recovery sheet)
    show_code_box: bool = True
    record_date: str = ""            # dd/mm/aaaa
    outline: list[tuple[str, int]] = field(default_factory=list)  # (title, level)


ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class Tracker:
    """What the canvas needs to finish pages: each page's part, bookmarks, page references."""

    def __init__(self, lang: Lang, shelter_code: str, shelter_name: str, *,
                 packet: bool = False, total_parts: int = 0,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                 today: dt.date | None = None):
        self.lang = lang
        self.shelter_code = shelter_code
        self.shelter_name = shelter_name
        self.packet = packet
        self.total_parts = total_parts
        self.progress = progress
        self.cancel = cancel
        self.today = today or dt.date.today()
        self.current: Part | None = None
        self.page_parts: list[Part] = []
        self.first_page: dict[str, int] = {}
        self.bookmarks: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
        self.refs: dict[int, list[tuple[float, float, str, str]]] = defaultdict(list)
        self.started = 0
        self._pages_of: dict[int, list[int]] | None = None

    # ---- flowables that report to the tracker
    def start(self, part: Part) -> Marker:
        def action(canv):
            if self.cancel and self.cancel():
                raise PrintCancelled(_("Impresión cancelada; no se ha guardado nada."))
            if self.progress and self.total_parts:
                self.progress(self.started, self.total_parts)
            self.started += 1
            self.current = part
            page = canv.getPageNumber() - 1
            self.first_page[part.key] = page
            for i, (title, level) in enumerate(part.outline):
                self.bookmarks[page].append((f"{part.key}#{i}", title, level))
        return Marker(action)

    def note_ref(self, canv, x: float, y: float, key: str, prefix: str = "") -> None:
        """The page number of part `key` goes here, right-aligned (drawn at save time)."""
        ax, ay = canv.absolutePosition(x, y)
        self.refs[canv.getPageNumber() - 1].append((ax, ay, key, prefix))

    def page_number_of(self, key: str) -> int | None:
        page = self.first_page.get(key)
        return None if page is None else page + 1

    # ---- page events
    def end_page(self, canv, doc) -> None:
        part = self.current or Part("", "")
        self.page_parts.append(part)
        self._header(canv, part)

    def _header(self, c: Canvas, part: Part) -> None:
        lang = self.lang
        page_w, page_h = c._pagesize
        frame_w = page_w - 2 * MARGIN
        top = page_h - MARGIN
        c.saveState()
        right = page_w - MARGIN
        box_w = 58 * 2.83 if part.show_code_box else 0
        text_w = frame_w - box_w - (4 * 2.83 if box_w else 0)
        c.setFillColor(INK)
        c.setFont(fonts.BOLD, 8.5)
        shelter = f"{self.shelter_name} · {self.shelter_code}" if self.shelter_code \
            else self.shelter_name
        c.drawString(MARGIN, top - 8, _fit(shelter, fonts.BOLD, 8.5, frame_w))
        title, second = lang.pair(part.title)
        size = _shrink(title, fonts.BOLD, 13.5, text_w, smallest=9)
        c.setFont(fonts.BOLD, size)
        c.drawString(MARGIN, top - 24, _fit(title, fonts.BOLD, size, text_w))
        y = top - 24
        if second:
            # The Quechua title as large and dark as the Spanish one, in italics.
            y -= 15
            size = _shrink(second, fonts.BOLD, 13.5, text_w, smallest=9)
            t = c.beginText()
            t.setTextTransform(1, 0, SLANT, 1, MARGIN, y)
            t.setFont(fonts.BOLD, size)
            t.textOut(_fit(second, fonts.BOLD, size, text_w))
            c.drawText(t)
        line = "  ·  ".join(x for x in (part.code_line, part.record_date) if x)
        if line:
            c.setFont(fonts.REGULAR, 7.5)
            c.setFillColor(SOFT)
            c.drawString(MARGIN, top - HEADER_H + 6 if not second else y - 10,
                         _fit(line, fonts.REGULAR, 7.5, text_w))
        if part.show_code_box:
            bx, by, bh = right - box_w, top - 19 * 2.83, 14.5 * 2.83
            c.setStrokeColor(INK)
            c.setLineWidth(0.9)
            c.rect(bx, by, box_w, bh)
            c.setFillColor(SOFT)
            c.setFont(fonts.REGULAR, 6.8)
            c.drawString(bx + 4, by + bh - 9, _fit(lang.inline(INTERNAL_CODE), fonts.REGULAR,
                                                   6.8, box_w - 8))
            if part.resident_code:
                c.setFillColor(INK)
                c.setFont(fonts.BOLD, 12)
                c.drawString(bx + 4, by + 7, _fit(part.resident_code, fonts.BOLD, 12, box_w - 8))
        c.setStrokeColor(RULE)
        c.setLineWidth(1.1)
        c.line(MARGIN, top - HEADER_H + 2, right, top - HEADER_H + 2)
        c.restoreState()

    def finish_page(self, c: Canvas, index: int, total: int) -> None:
        """Drawn at save time, when every count is known."""
        if self._pages_of is None:
            self._pages_of = defaultdict(list)
            for i, p in enumerate(self.page_parts):
                self._pages_of[id(p)].append(i)
        part = self.page_parts[index] if index < len(self.page_parts) else None
        pages = self._pages_of[id(part)] if part is not None else [index]
        for key, title, level in self.bookmarks.get(index, ()):
            c.bookmarkPage(key)
            c.addOutlineEntry(title, key, level=level, closed=level == 0 and self.packet)
        for n, (x, y, key, prefix) in enumerate(self.refs.get(index, ())):
            number = self.page_number_of(key)
            if number is not None:
                c.saveState()
                c.setFont(fonts.REGULAR, 8)
                c.setFillColor(INK)
                c.drawRightString(x, y, f"{prefix} {number}".strip())
                c.restoreState()
                # Named per page and line: the canvas's own counter is reset with each kept
                # page's state, and repeated names would clash.
                c.linkRect("", f"{key}#0", (x - 40, y - 2, x + 2, y + 9), relative=0,
                           thickness=0, name=f"ref-{index}-{n}")
        lang = self.lang
        c.saveState()
        page_w = c._pagesize[0]
        frame_w = page_w - 2 * MARGIN
        right = page_w - MARGIN
        base = MARGIN
        c.setStrokeColor(RULE)
        c.setLineWidth(0.6)
        c.line(MARGIN, base + FOOTER_H - 3, right, base + FOOTER_H - 3)
        c.setFillColor(INK)
        c.setFont(fonts.BOLD, 8)
        c.drawString(MARGIN, base + FOOTER_H - 12,
                     lang.inline(PAGE_OF, page=pages.index(index) + 1 if index in pages else 1,
                                 pages=len(pages)))
        c.setFont(fonts.REGULAR, 7)
        c.setFillColor(SOFT)
        printed = lang.inline(PRINTED, date=self.today.strftime("%d/%m/%Y"),
                              version=__version__)
        sheet = lang.inline(PACKET_PAGE, page=index + 1, pages=total) if self.packet else ""
        room = frame_w * 0.62
        if sheet and _width(printed + "  ·  " + sheet, 7) <= room:
            printed, sheet = printed + "  ·  " + sheet, ""
        c.drawRightString(right, base + FOOTER_H - 12, _fit(printed, fonts.REGULAR, 7, room))
        notice, second = lang.pair(CONFIDENTIAL)
        y = base + FOOTER_H - 21
        for text in (notice, second):
            if text:
                for piece in _wrap(text, fonts.REGULAR, 6.2, frame_w):
                    c.setFont(fonts.REGULAR, 6.2)
                    c.drawString(MARGIN, y, piece)
                    y -= 7
        if sheet:
            # Bilingual packets: the sheet number, which a supervisor sorts pages by, gets a
            # line of its own under the notice rather than being cut off.
            c.setFont(fonts.REGULAR, 7)
            c.setFillColor(SOFT)
            c.drawRightString(right, y - 1, sheet)
        c.restoreState()


def _shrink(text: str, font: str, size: float, width: float, smallest: float) -> float:
    """The largest size up to `size` (not below `smallest`) at which the text fits one line."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    natural = stringWidth(text, font, size)
    return size if natural <= width else max(smallest, size * width / natural)


def _width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, fonts.REGULAR, size)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """The text, shortened with "…" if wider than `width` (headers have one line)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and stringWidth(trial, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


class _DeferredCanvas(Canvas):
    """Keeps every page until save, then draws what needs totals (page X of Y, contents)."""

    def __init__(self, *args, tracker: Tracker, **kw):
        super().__init__(*args, **kw)
        self._tracker = tracker
        self._kept: list[dict] = []

    def showPage(self):
        self._kept.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._kept)
        for index, state in enumerate(self._kept):
            self.__dict__.update(state)
            self._tracker.finish_page(self, index, total)
            Canvas.showPage(self)
        if self._tracker.packet:
            self.showOutline()
        Canvas.save(self)


def build(story: list, tracker: Tracker, *, title: str, subject: str = "",
          landscape_first: bool = False) -> bytes:
    """Lays out `story` on A4 pages and returns the PDF bytes. Pages are portrait; a
    `NextPageTemplate("landscape")` in the story turns the following pages (registers)."""
    fonts.register()
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=(PAGE_W, PAGE_H), leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN, bottomMargin=MARGIN, title=title, subject=subject,
        author="CPC Desktop", creator=f"CPC Desktop {__version__}", producer="CPC Desktop",
        # The bundled font from the first byte: no reference to a non-embedded Helvetica.
        initialFontName=fonts.REGULAR, lang="es")
    templates = [
        PageTemplate(id="portrait", pagesize=(PAGE_W, PAGE_H), onPageEnd=tracker.end_page,
                     frames=[Frame(FRAME_X, FRAME_Y, FRAME_W, FRAME_H, leftPadding=0,
                                   rightPadding=0, topPadding=0, bottomPadding=0, id="body")]),
        PageTemplate(id="landscape", pagesize=(PAGE_H, PAGE_W), onPageEnd=tracker.end_page,
                     frames=[Frame(FRAME_X, FRAME_Y, LAND_FRAME_W, LAND_FRAME_H,
                                   leftPadding=0, rightPadding=0, topPadding=0,
                                   bottomPadding=0, id="body_land")]),
    ]
    if landscape_first:
        templates.reverse()
    doc.addPageTemplates(templates)
    doc.build(story, canvasmaker=lambda *a, **kw: _DeferredCanvas(*a, tracker=tracker, **kw))
    if tracker.progress and tracker.total_parts:
        tracker.progress(tracker.total_parts, tracker.total_parts)
    return buf.getvalue()
