"""Page geometry and text styles shared by every printed document.

Margins of 18 mm survive photocopying and hole punching; greys are no lighter than #444 so
they stay readable on a second-generation copy.
"""
from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm

from . import fonts

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
HEADER_H = 22 * mm          # band under the top margin, above the text frame
FOOTER_H = 13 * mm          # band above the bottom margin, under the text frame
FRAME_X = MARGIN
FRAME_W = PAGE_W - 2 * MARGIN
FRAME_Y = MARGIN + FOOTER_H
FRAME_H = PAGE_H - 2 * MARGIN - HEADER_H - FOOTER_H
# A landscape page (a register with many columns): the same bands on the long side.
LAND_FRAME_W = PAGE_H - 2 * MARGIN
LAND_FRAME_H = PAGE_W - 2 * MARGIN - HEADER_H - FOOTER_H


def frame_size(orientation: str) -> tuple[float, float]:
    return (LAND_FRAME_W, LAND_FRAME_H) if orientation == "landscape" else (FRAME_W, FRAME_H)

GUTTER = 4 * mm             # between cells of one row
ROW_GAP = 2.2 * mm          # between rows of fields
WRITE_LINE = 8 * mm         # handwriting line spacing on blank forms
FILLED_LINE = 6.5 * mm      # a printed value's box: still room to correct it by hand
BOX_PAD = 2.5               # points between a value and its box

INK = colors.HexColor("#111111")
SOFT = colors.HexColor("#444444")   # second language, help, hints
RULE = colors.HexColor("#555555")
BOX = colors.HexColor("#666666")

CHECKED = "\u2612"    # ☒ ballot box with X: what a hand-filled paper form shows
UNCHECKED = "\u2610"  # ☐


def _style(name: str, size: float, leading: float, *, bold: bool = False,
           color=INK, **kw) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=fonts.BOLD if bold else fonts.REGULAR, fontSize=size,
                          leading=leading, textColor=color, **kw)


class Styles:
    """Paragraph styles; built after the fonts are registered."""

    def __init__(self) -> None:
        fonts.register()
        self.label = _style("label", 7.6, 9.2, bold=True)
        self.value = _style("value", 9.5, 12)
        self.help = _style("help", 7, 8.4, color=SOFT)
        self.condition = _style("condition", 7, 8.4, color=SOFT)
        self.section = _style("section", 11, 13.5, bold=True)
        self.section_help = _style("section_help", 8.3, 10.4)
        self.description = _style("description", 8.5, 10.6, color=SOFT)
        self.option = _style("option", 8.5, 10.4)
        # Hanging indent: wrapped lines and the Quechua line start after the check box.
        self.choice = _style("choice", 8.5, 10.4, leftIndent=12.2, firstLineIndent=-12.2)
        self.cell = _style("cell", 8, 9.8)
        self.cell_head = _style("cell_head", 7.2, 8.6, bold=True)
        self.card_head = _style("card_head", 8, 10, bold=True)
        self.legend = _style("legend", 7, 8.6, color=SOFT)
        self.title = _style("title", 20, 24, bold=True, alignment=TA_CENTER)
        self.subtitle = _style("subtitle", 11, 14, alignment=TA_CENTER, color=SOFT)
        self.body = _style("body", 10, 13.5)
        self.body_bold = _style("body_bold", 10, 13.5, bold=True)
        self.small = _style("small", 8, 10)



# Bilingual print: the Quechua line has the size, weight and ink of the Spanish one above it,
# and leans (a synthetic italic: the bundled font has no oblique face) so the eye tells them
# apart without either being harder to read.
SLANT = 0.2


_styles: Styles | None = None


def styles() -> Styles:
    global _styles
    if _styles is None:
        _styles = Styles()
    return _styles
