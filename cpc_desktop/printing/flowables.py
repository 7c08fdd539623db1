"""Small reportlab flowables the forms are made of: stacks, rows of cells, boxes for values,
writing lines, check-box grids, signature boxes and a long text that flows across pages
while keeping its label with its first lines."""
from __future__ import annotations

import math

from reportlab.platypus import Flowable, Paragraph

from . import fonts
from .styles import BOX, BOX_PAD, GUTTER, RULE, SOFT, WRITE_LINE


class Stack(Flowable):
    """Flowables one under another, kept together (a field: label, value, help)."""

    def __init__(self, items: list[Flowable], gap: float = 1.6):
        super().__init__()
        self.items = [i for i in items if i is not None]
        self.gap = gap

    def wrap(self, aW, aH):
        self._heights = [item.wrap(aW, aH)[1] for item in self.items]
        self.width = aW
        self.height = sum(self._heights) + self.gap * max(0, len(self.items) - 1)
        return aW, self.height

    def draw(self):
        y = self.height
        for item, h in zip(self.items, self._heights):
            y -= h
            item.drawOn(self.canv, 0, y)
            y -= self.gap


class Row(Flowable):
    """Cells side by side, top-aligned; `fractions` of the width each takes (sum 1)."""

    def __init__(self, cells: list[Flowable], fractions: list[float], gutter: float = GUTTER):
        super().__init__()
        self.cells = cells
        self.fractions = fractions
        self.gutter = gutter

    def wrap(self, aW, aH):
        usable = aW - self.gutter * (len(self.cells) - 1)
        self._widths = [usable * f for f in self.fractions]
        self._heights = [c.wrap(w, aH)[1] for c, w in zip(self.cells, self._widths)]
        self.width, self.height = aW, max(self._heights, default=0)
        return aW, self.height

    def draw(self):
        x = 0
        for cell, w, h in zip(self.cells, self._widths, self._heights):
            cell.drawOn(self.canv, x, self.height - h)
            x += w + self.gutter


class Box(Flowable):
    """A value in a thin frame; empty, it is a space sized for handwriting.

    `lines` ruled writing lines are drawn inside an empty box; `hint` (e.g. "dd/mm/aaaa") is
    printed small in an empty box; `suffix` (a unit) at its right end.
    """

    def __init__(self, inner: Flowable | None = None, *, min_height: float = WRITE_LINE,
                 lines: int = 0, hint: str = "", suffix: str = ""):
        super().__init__()
        self.inner = inner
        self.min_height = min_height
        self.lines = lines
        self.hint = hint
        self.suffix = suffix

    def wrap(self, aW, aH):
        self.width = aW
        self._suffix_w = (fonts_width(self.suffix, 8) + 2 * BOX_PAD) if self.suffix else 0
        inner_h = 0
        if self.inner is not None:
            inner_h = self.inner.wrap(aW - 2 * BOX_PAD - self._suffix_w, aH)[1] + 2 * BOX_PAD
        self.height = max(self.min_height, inner_h, self.lines * WRITE_LINE)
        return aW, self.height

    def draw(self):
        c = self.canv
        c.saveState()
        c.setStrokeColor(BOX)
        c.setLineWidth(0.6)
        c.rect(0, 0, self.width, self.height)
        if self.inner is not None:
            h = self.inner.height
            self.inner.drawOn(c, BOX_PAD, self.height - BOX_PAD - h)
        else:
            if self.lines > 1:
                c.setStrokeColor(RULE)
                c.setLineWidth(0.35)
                c.setDash(1, 2)
                for i in range(1, self.lines):
                    y = self.height - i * WRITE_LINE
                    c.line(BOX_PAD, y, self.width - BOX_PAD, y)
                c.setDash()
            if self.hint:
                c.setFillColor(SOFT)
                c.setFont(fonts.REGULAR, 7)
                c.drawString(BOX_PAD + 1, BOX_PAD + 1, self.hint)
        if self.suffix:
            c.setFillColor(SOFT)
            c.setFont(fonts.REGULAR, 8)
            c.drawRightString(self.width - BOX_PAD, BOX_PAD + 1.5, self.suffix)
        c.restoreState()


def fonts_width(text: str, size: float, bold: bool = False) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, fonts.BOLD if bold else fonts.REGULAR, size)


class ChoiceGrid(Flowable):
    """Options with their check boxes, in as many columns as their widest text allows,
    filled down each column first (a list reads top to bottom)."""

    def __init__(self, items: list[Paragraph], natural_width: float, max_cols: int = 4,
                 gap: float = 3 * 2.83):
        super().__init__()
        self.items = items
        self.natural_width = natural_width
        self.max_cols = max_cols
        self.gap = gap

    def wrap(self, aW, aH):
        n = len(self.items)
        cols = int((aW + self.gap) // (self.natural_width + self.gap)) if n else 1
        self._cols = cols = max(1, min(self.max_cols, cols, n or 1))
        self._rows = rows = math.ceil(n / cols) if n else 0
        self._colw = (aW - self.gap * (cols - 1)) / cols
        heights = [item.wrap(self._colw, aH)[1] for item in self.items]
        self._row_h = [max(heights[c * rows + r] for c in range(cols) if c * rows + r < n)
                       for r in range(rows)]
        self.width, self.height = aW, sum(self._row_h) + 1.2 * max(0, rows - 1)
        return aW, self.height

    def draw(self):
        rows = self._rows
        tops = []
        y = self.height
        for h in self._row_h:
            tops.append(y)
            y -= h + 1.2
        for i, item in enumerate(self.items):
            col, row = divmod(i, rows)
            item.drawOn(self.canv, col * (self._colw + self.gap), tops[row] - item.height)


class WrittenLine(Flowable):
    """A caption and a line to write on ("Nombre: ______")."""

    def __init__(self, caption: str, size: float = 7.5, height: float = 7 * 2.83):
        super().__init__()
        self.caption = caption
        self.size = size
        self.line_h = height

    def wrap(self, aW, aH):
        self.width, self.height = aW, self.line_h
        return aW, self.height

    def draw(self):
        c = self.canv
        c.setFont(fonts.REGULAR, self.size)
        c.setFillColor(SOFT)
        c.drawString(0, 2, self.caption)
        start = fonts_width(self.caption, self.size) + 3
        c.setStrokeColor(BOX)
        c.setLineWidth(0.6)
        c.line(start, 1, self.width, 1)


class Rule(Flowable):
    def __init__(self, thickness: float = 0.8, space_before: float = 1, space_after: float = 2):
        super().__init__()
        self.thickness = thickness
        self.before = space_before
        self.after = space_after

    def wrap(self, aW, aH):
        self.width, self.height = aW, self.before + self.thickness + self.after
        return aW, self.height

    def draw(self):
        c = self.canv
        c.setStrokeColor(RULE)
        c.setLineWidth(self.thickness)
        y = self.after + self.thickness / 2
        c.line(0, y, self.width, y)


class LabeledText(Flowable):
    """A label and a long text in a box: the text may run onto the next pages, but the label
    always stands with the text's first lines and each continuation is labelled again."""

    def __init__(self, label: Flowable, body: "TextBlock", continued_label: Flowable,
                 *, open_bottom: bool = False, open_top: bool = False, gap: float = 1.6):
        super().__init__()
        self.label = label
        self.body = body
        self.continued_label = continued_label
        self.open_bottom = open_bottom
        self.open_top = open_top
        self.gap = gap

    def wrap(self, aW, aH):
        self._lh = self.label.wrap(aW, aH)[1]
        self._bh = self.body.wrap(aW - 2 * BOX_PAD, aH)[1]
        self.width = aW
        self.height = self._lh + self.gap + self._bh + 2 * BOX_PAD
        return aW, self.height

    def split(self, aW, aH):
        label_h = self.label.wrap(aW, aH)[1]
        room = aH - label_h - self.gap - 2 * BOX_PAD
        leading = self.body.leading
        if room < 2 * leading:
            return []  # not even two lines here: the label goes to the next page with its text
        parts = self.body.split(aW - 2 * BOX_PAD, room)
        if len(parts) < 2:
            return []
        return [
            LabeledText(self.label, parts[0], self.continued_label, open_bottom=True,
                        open_top=self.open_top, gap=self.gap),
            LabeledText(self.continued_label, parts[1], self.continued_label, open_top=True,
                        open_bottom=self.open_bottom, gap=self.gap),
        ]

    def draw(self):
        c = self.canv
        self.label.drawOn(c, 0, self.height - self._lh)
        box_h = self._bh + 2 * BOX_PAD
        self.body.drawOn(c, BOX_PAD, BOX_PAD)
        c.saveState()
        c.setStrokeColor(BOX)
        c.setLineWidth(0.6)
        c.line(0, 0, 0, box_h)
        c.line(self.width, 0, self.width, box_h)
        # A dashed edge where the text goes on (or comes from) another page.
        for y, is_open in ((box_h, self.open_top), (0, self.open_bottom)):
            if is_open:
                c.setDash(3, 3)
            c.line(0, y, self.width, y)
            c.setDash()
        c.restoreState()


class SignatureBox(Flowable):
    """Who signs (label), a space to sign, and lines for the printed name and the date."""

    def __init__(self, label: Flowable, sign: str, name: str, date: str,
                 space: float = 17 * 2.83):
        super().__init__()
        self.label = label
        self.sign, self.name, self.date = sign, name, date
        self.space = space

    def wrap(self, aW, aH):
        self._lh = self.label.wrap(aW - 2 * BOX_PAD, aH)[1]
        self.width = aW
        self.height = self._lh + 2 * BOX_PAD + self.space + 2 * 7 * 2.83 + 2
        return aW, self.height

    def draw(self):
        c = self.canv
        c.saveState()
        c.setStrokeColor(BOX)
        c.setLineWidth(0.6)
        c.rect(0, 0, self.width, self.height)
        self.label.drawOn(c, BOX_PAD, self.height - BOX_PAD - self._lh)
        line_h = 7 * 2.83
        base = 2 * line_h + 2
        c.setFont(fonts.REGULAR, 7)
        c.setFillColor(SOFT)
        c.drawString(BOX_PAD, base + 2, self.sign)
        c.setLineWidth(0.6)
        c.line(fonts_width(self.sign, 7) + BOX_PAD + 3, base + 1, self.width - BOX_PAD, base + 1)
        for i, caption in enumerate((self.name, self.date)):
            y = line_h * (1 - i) + 3
            c.setFont(fonts.REGULAR, 7)
            c.drawString(BOX_PAD, y + 1, caption)
            c.line(fonts_width(caption, 7) + BOX_PAD + 3, y, self.width - BOX_PAD, y)
        c.restoreState()


class Marker(Flowable):
    """Zero-size flowable that calls `action(canvas)` where it lands (page starts, page refs)."""

    def __init__(self, action):
        super().__init__()
        self.action = action
        self.width = self.height = 0

    def wrap(self, aW, aH):
        return 0, 0

    def draw(self):
        self.action(self.canv)


class RefLine(Flowable):
    """A contents line: its text, and `on_draw(canvas, x, y)` told where the page number
    goes (right end of the line, on the first baseline)."""

    def __init__(self, para: Paragraph, on_draw, number_width: float = 16 * 2.83):
        super().__init__()
        self.para = para
        self.on_draw = on_draw
        self.number_width = number_width

    def wrap(self, aW, aH):
        self.width = aW
        self.height = self.para.wrap(aW - self.number_width, aH)[1]
        return aW, self.height

    def draw(self):
        self.para.drawOn(self.canv, 0, 0)
        baseline = self.height - self.para.style.fontSize
        self.on_draw(self.canv, self.width, baseline)


# ---------------------------------------------------------------- plain text, fast

# A run starts a new line and wraps to the width: (text, font, size, leading, color[, slant]),
# where `text` may also be a list of (text, font) pieces ("Label:" in bold, then the value)
# and `slant` leans the glyphs (the Quechua line of bilingual print: italic, same size).
Run = tuple

_WIDTHS: dict[tuple, float] = {}
_WRAPS: dict[tuple, tuple] = {}


def _sw(word: str, font: str, size: float) -> float:
    key = (word, font, size)
    w = _WIDTHS.get(key)
    if w is None:
        if len(_WIDTHS) > 200_000:
            _WIDTHS.clear()
        from reportlab.pdfbase.pdfmetrics import stringWidth

        w = _WIDTHS[key] = stringWidth(word, font, size)
    return w


def _cut(word: str, font: str, size: float, width: float) -> int:
    """How many characters of a too-wide word fit on a line (at least one)."""
    lo, hi = 1, len(word) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _sw(word[:mid], font, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


SHY = "\u00ad"      # soft hyphen: where a word may break, invisible otherwise
_VOWELS = set("aeiouáéíóúü")
# Onsets that start a syllable: Quechua digraphs and Spanish consonant clusters.
_ONSETS = ("chh", "ch", "ph", "th", "kh", "qh", "ll", "sh", "rr", "pl", "pr", "bl", "br",
           "tr", "dr", "cl", "cr", "gl", "gr", "fl", "fr")


def _syllable_points(word: str) -> set[int]:
    """Places where a word may break with a hyphen: before a syllable's onset (a consonant,
    digraph or cluster, an ejective's apostrophe included) that a vowel follows."""
    low = word.lower()
    points = set()
    i = 2
    while i < len(low) - 1:
        if low[i].isalpha() and low[i] not in _VOWELS and low[i - 1].isalpha():
            onset = next((o for o in _ONSETS if low.startswith(o, i)), low[i])
            rest = i + len(onset)
            if low[rest:rest + 1] == "'":
                rest += 1
            inside = any(low.startswith(o, i - k) for o in _ONSETS for k in range(1, len(o))
                         if i - k >= 0 and len(o) > k)
            if not inside and low[rest:rest + 1] in _VOWELS and len(low) - i >= 2:
                points.add(i)
        i += 1
    return points


def hyphenate(word: str, font: str, size: float, width: float) -> list[str]:
    """A word too wide for `width`, in lines ending with "-": at a typed soft hyphen or
    between syllables where one fits, else where the width ends; never cut silently."""
    clean = word.replace(SHY, "")
    shy, n = set(), 0
    for ch in word:
        if ch == SHY:
            shy.add(n)
        else:
            n += 1
    points = shy | _syllable_points(clean)
    dash = _sw("-", font, size)
    out = []
    while len(clean) > 1 and _sw(clean, font, size) > width:
        fits = [p for p in points if 0 < p < len(clean)
                and _sw(clean[:p], font, size) + dash <= width]
        p = max(fits) if fits else _cut(clean, font, size, width - dash)
        out.append(clean[:p] + "-")
        clean = clean[p:]
        points = {q - p for q in points if q > p}
    out.append(clean)
    return out


def wrap_text(text, font: str, size: float, width: float) -> tuple:
    """Lines no wider than `width`, each a tuple of (text, font) pieces. Words stay whole
    unless one alone is too wide (then hyphenated); soft hyphens print only where a word
    breaks; line breaks in the text are kept. Cached: a form's labels
    are the same for every resident."""
    key = (text if isinstance(text, str) else tuple(text), font, size, round(width, 1))
    hit = _WRAPS.get(key)
    if hit is not None:
        return hit
    pieces = [(text, font)] if isinstance(text, str) else list(text)
    # Tokens: (word, font, space_before); None marks a hard line break.
    tokens: list = []
    pending_space = False
    for chunk, chunk_font in pieces:
        for i, part in enumerate(chunk.split("\n")):
            if i:
                tokens.append(None)
                pending_space = False
            if part[:1].isspace():
                pending_space = True
            for word in part.split():
                tokens.append((word, chunk_font, pending_space))
                pending_space = True
            if part and not part[-1:].isspace():
                pending_space = False
    lines: list[tuple] = []
    line: list[list] = []          # [text, font] pieces of the line being filled
    line_w = 0.0

    def push():
        nonlocal line, line_w
        lines.append(tuple((t, f) for t, f in line))
        line, line_w = [], 0.0

    for tok in tokens:
        if tok is None:
            push()
            continue
        raw, wfont, spaced = tok
        word = raw.replace(SHY, "")
        w = _sw(word, wfont, size)
        gap = _sw(" ", wfont, size) if (spaced and line) else 0.0
        if line and line_w + gap + w > width:
            push()
            gap = 0.0
        if not line and w > width and len(word) > 1:
            *heads, word = hyphenate(raw, wfont, size, width)
            for head in heads:
                line.append([head, wfont])
                push()
            w = _sw(word, wfont, size)
        text_add = (" " if gap else "") + word
        if line and line[-1][1] == wfont:
            line[-1][0] += text_add
        else:
            line.append([text_add, wfont])
        line_w += gap + w
    push()
    if len(_WRAPS) > 50_000:
        _WRAPS.clear()
    result = _WRAPS[key] = tuple(lines)
    return result


class TextBlock(Flowable):
    """Plain text (no markup) in one or more runs — a label and its Quechua under it, an
    option after its check box, a recorded value — drawn straight on the canvas. Much faster
    than a Paragraph for the hundreds of short texts of a form, and it splits between lines
    so a long text can go on to the next page."""

    def __init__(self, runs: list[Run], *, glyph: tuple[str, float] | None = None,
                 indent: float = 0.0, center: bool = False, _lines: list | None = None):
        super().__init__()
        self.runs = runs
        self.center = center
        self.glyph = glyph
        self.indent = indent
        self._fixed = _lines        # pre-wrapped lines (the parts of a split)
        self.leading = runs[0][3] if runs else 10
        self._key: float | None = None
        self._lines: list = []

    def _layout(self, aW: float) -> list:
        if self._fixed is not None:
            return self._fixed
        if self._key == aW:
            return self._lines
        lines = []
        avail = max(1.0, aW - self.indent)
        for text, font, size, leading, color, *slant in self.runs:
            for pieces in wrap_text(text, font, size, avail):
                lines.append((pieces, size, leading, color, slant[0] if slant else 0.0))
        self._key, self._lines = aW, lines
        return lines

    def wrap(self, aW, aH):
        lines = self._layout(aW)
        self.width = aW
        self.height = sum(line[2] for line in lines)
        return aW, self.height

    def split(self, aW, aH):
        lines = self._layout(aW)
        used, n = 0.0, 0
        for line in lines:
            if used + line[2] > aH:
                break
            used += line[2]
            n += 1
        if n == len(lines):
            n -= 1  # asked to split, so the caller measured it too tall: keep the promise
        if n <= 0:
            return []
        return [TextBlock(self.runs, glyph=self.glyph, indent=self.indent, center=self.center,
                          _lines=lines[:n]),
                TextBlock(self.runs, indent=self.indent, center=self.center, _lines=lines[n:])]

    def draw(self):
        c = self.canv
        lines = self._layout(self.width)
        t = c.beginText()
        y = self.height
        first = True
        state = None  # (font, size) and color set last: each costs PDF operators
        ink = None
        for pieces, size, leading, color, slant in lines:
            baseline = y - size
            if color is not ink:
                t.setFillColor(color)
                ink = color
            if first and self.glyph:
                char, gsize = self.glyph
                t.setFont(fonts.REGULAR, gsize)
                state = (fonts.REGULAR, gsize)
                t.setTextOrigin(0, baseline - (gsize - size) * 0.15)
                t.textOut(char)
            first = False
            x = self.indent
            if self.center:
                x += (self.width - self.indent - sum(_sw(text, font, size)
                                                     for text, font in pieces)) / 2
            if slant:
                t.setTextTransform(1, 0, slant, 1, x, baseline)
            else:
                t.setTextOrigin(x, baseline)
            for text, font in pieces:
                if state != (font, size):
                    t.setFont(font, size)
                    state = (font, size)
                t.textOut(text)
            y -= leading
        c.drawText(t)
