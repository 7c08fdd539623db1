"""One renderer for every form: a form definition (and a record's values) → flowables.

Nothing here knows a form or a field by name: sections, labels, widths, writing lines,
choices, conditions, tables and signature boxes all come from the definition
(resources/forms/*.json, docs/forms-format.md). Values are shown as the screen shows them
(core.display.format_value); a value that does not fit the definition (an old or damaged
record) is printed as it is, never a crash.
"""
from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, Spacer, Table, TableStyle

from ..core import display
from ..core.display import NO, YES
from ..core.forms import Field, Form
from ..core.i18n import N_
from . import fonts
from .flowables import (
    Box,
    ChoiceGrid,
    LabeledText,
    Row,
    Rule,
    SignatureBox,
    Stack,
    TextBlock,
    fonts_width,
)
from .language import Lang, esc
from .styles import (
    BOX,
    CHECKED,
    FILLED_LINE,
    FRAME_H,
    FRAME_W,
    GUTTER,
    ROW_GAP,
    SLANT,
    SOFT,
    UNCHECKED,
    WRITE_LINE,
    Styles,
    frame_size,
    styles,
)

REQUIRED_NOTE = N_("Los campos marcados con * son obligatorios. Escriba con letra clara; "
                   "marque las casillas con una X.")
CONTINUED = N_("{label} (continuación)")
ONLY_IF = N_("(solo si en «{field}» se marcó {values})")
OR = N_(" o ")
UNLISTED = N_("Valor registrado que no está en la lista: {value}")
SIGN = N_("Firma o huella:")
NAME = N_("Nombre:")
DATE = N_("Fecha:")
ROW_N = N_("N.º {n}")
OPTIONS = N_("Opciones")
ROW_NUMBER = N_("N.º")
SIGNATURE = N_("Firma")
DATE_HINT = N_("dd/mm/aaaa")
TIME_HINT = N_("hh:mm")
PLACE_HINT = N_("departamento / provincia / distrito")

WIDTHS = {"full": 1.0, "half": 0.5, "third": 1 / 3}
# Columns of a table shown as cards get these widths when the definition gives none.
CARD_WIDTHS = {"yesno": 1 / 3, "number": 1 / 3, "date": 1 / 3, "time": 1 / 3,
               "longtext": 1.0}
GRID_MAX_COLUMNS = 6        # wider tables print each row as a card
WIDE_CHOICES = 6            # choice lists longer than this get the full width
BLANK_TABLE_ROWS = 4
BLANK_CARDS = 3
OPTION_INDENT = 12.2        # text of an option starts after its check box
NUMBER_COL = 9 * mm         # a register's entry number
SIGN_COL = 30 * mm          # a register's signature per entry


def safe_format(fld: Field, value, tr) -> str:
    """format_value, but never an exception: a value of the wrong shape prints as text."""
    try:
        return display.format_value(fld, value, tr)
    except Exception:  # noqa: BLE001 - a damaged value must not stop a printout
        return "" if value is None else str(value)


class FormRenderer:
    """Flowables for forms in one print language."""

    def __init__(self, lang: Lang):
        self.lang = lang
        self.st: Styles = styles()
        self._cache: dict[tuple, list] = {}

    # ------------------------------------------------------------ text
    def runs(self, msgid: str, style: str, *, prefix: str = "", suffix: str = "",
             bold_first: bool = False) -> list:
        """The text in `style`, and its Quechua under it when bilingual (same size, italic)."""
        key = (msgid, style, prefix, suffix, bold_first)
        cached = self._cache.get(key)
        if cached is None:
            ps = getattr(self.st, style)
            first, second = self.lang.pair(msgid)
            cached = [(prefix + first + suffix, fonts.BOLD if bold_first else ps.fontName,
                       ps.fontSize, ps.leading, ps.textColor)]
            if second:
                cached.append((second, ps.fontName, ps.fontSize, ps.leading, ps.textColor,
                               SLANT))
            self._cache[key] = cached
        return cached

    def para(self, msgid: str, style: str, **kw) -> TextBlock:
        return TextBlock(self.runs(msgid, style, **kw))

    def text(self, text: str, style: str) -> TextBlock:
        ps = getattr(self.st, style)
        return TextBlock([(text, ps.fontName, ps.fontSize, ps.leading, ps.textColor)])

    # ------------------------------------------------------------ a whole form
    def form(self, form: Form, values: dict | None, *, blank: bool) -> list[Flowable]:
        """The body of one form (header and footer are the page's): description, numbered
        sections with their help, and every field — in a filled form, the visible ones."""
        values = values if isinstance(values, dict) else {}
        story: list[Flowable] = []
        if form.description:
            story.append(self.para(form.description, "description"))
        if blank:
            story.append(self.para(REQUIRED_NOTE, "description"))
        story.append(Spacer(0, 2 * mm))
        for number, section in enumerate(form.sections, 1):
            fields = [f for f in section.fields if blank or _visible(form, f, values)]
            if not fields and not section.help:
                continue
            story.append(CondPageBreak(42 * mm))
            story.append(self.para(section.title, "section", prefix=f"{number}. "))
            story.append(Rule(0.8, 0.5, 2.5))
            if section.help:
                story.append(self.para(section.help, "section_help"))
                story.append(Spacer(0, ROW_GAP))
            story.extend(self.fields(form, fields, values, blank=blank))
            story.append(Spacer(0, 2.5 * mm))
        return story

    def body(self, form: Form, records: list[dict] | None) -> list[Flowable]:
        """What one part prints: a register's table (blank when `records` is None), or the
        form, blank or filled with the one record given."""
        if is_register(form):
            return self.register(form, records)
        return self.form(form, records[0] if records else None, blank=records is None)

    def fields(self, form: Form | None, fields, values: dict, *, blank: bool,
               in_table: bool = False, all_fields=None) -> list[Flowable]:
        """Fields laid out in rows: consecutive half/third fields share a row, long texts,
        tables and wide choice lists take the whole width, signature boxes go two by two."""
        out: list[Flowable] = []
        row: list[tuple[Field, float]] = []

        def flush():
            if row:
                # A row shares the width out; a lone narrow field (a date) keeps its size.
                total = sum(w for _f, w in row)
                if len(row) == 1 and total <= 0.34:
                    total = 1.0
                cells = [self.cell(form, f, values, blank=blank, in_table=in_table,
                                   all_fields=all_fields) for f, _w in row]
                out.append(Row(cells, [w / total for _f, w in row]))
                out.append(Spacer(0, ROW_GAP))
                row.clear()

        signatures: list[Field] = []

        def flush_signatures():
            for i in range(0, len(signatures), 2):
                pair = signatures[i:i + 2]
                cells = [self.signature(f) for f in pair]
                if len(cells) == 1:
                    cells.append(Spacer(0, 0))
                out.append(Row(cells, [0.5, 0.5], gutter=2 * GUTTER))
                out.append(Spacer(0, ROW_GAP))
            signatures.clear()

        for fld in fields:
            if fld.type == "signature":
                flush()
                signatures.append(fld)
                continue
            flush_signatures()
            if fld.type == "table":
                flush()
                out.extend(self.table(form, fld, values.get(fld.id), blank=blank))
                continue
            if fld.type == "longtext":
                flush()
                out.append(self.long_text(form, fld, values.get(fld.id), blank=blank,
                                          all_fields=all_fields))
                out.append(Spacer(0, ROW_GAP))
                continue
            width = self.width_of(fld, in_table=in_table)
            if row and sum(w for _f, w in row) + width > 1.001:
                flush()
            row.append((fld, width))
            if width >= 1:
                flush()
        flush()
        flush_signatures()
        return out

    def width_of(self, fld: Field, *, in_table: bool) -> float:
        hint = fld.print.get("width")
        if in_table and hint is None:
            return CARD_WIDTHS.get(fld.type, 0.5)
        width = WIDTHS[hint or "full"]
        if not in_table and fld.type in ("choice", "multichoice") \
                and len(fld.choices) > WIDE_CHOICES:
            return 1.0  # a long list needs columns to stay short
        return width

    # ------------------------------------------------------------ one field
    def label(self, fld: Field, *, blank: bool) -> TextBlock:
        return self.para(fld.label, "label", suffix=" *" if blank and fld.required else "")

    def condition(self, form_fields: dict[str, Field], fld: Field) -> TextBlock | None:
        cond = fld.show_when
        if cond is None:
            return None
        target = form_fields.get(cond.field)
        if target is None:
            return None
        wanted = list(cond.value) if cond.op == "in" else [cond.value]
        if target.type == "yesno":
            names = [YES if v else NO for v in wanted]
        else:
            names = [target.choice_label(v) for v in wanted]
        tr = self.lang.primary

        def render(translate):
            quoted = [f"«{translate(n)}»" for n in names]
            joined = ", ".join(quoted[:-1]) + translate(OR) + quoted[-1] if len(quoted) > 1 \
                else quoted[0]
            return translate(ONLY_IF).format(field=translate(target.label), values=joined)

        first = render(tr)
        runs: list[tuple] = [(first, fonts.REGULAR, self.st.condition.fontSize,
                              self.st.condition.leading, SOFT)]
        if self.lang.secondary is not None:
            second = render(self.lang.secondary)
            if second != first:
                runs.append((second, fonts.REGULAR, self.st.condition.fontSize,
                             self.st.condition.leading, SOFT, SLANT))
        return TextBlock(runs)

    def help(self, fld: Field) -> TextBlock | None:
        return self.para(fld.help, "help") if fld.help else None

    def cell(self, form: Form | None, fld: Field, values: dict, *, blank: bool,
             in_table: bool = False, all_fields=None) -> Stack:
        items: list[Flowable | None] = [self.label(fld, blank=blank)]
        if blank:
            items.append(self.condition(all_fields or _fields_by_id(form), fld))
        items.append(self.value(fld, None if blank else values.get(fld.id), blank=blank,
                                in_table=in_table))
        if blank and not in_table:
            items.append(self.help(fld))
        return Stack(items)

    def value(self, fld: Field, value, *, blank: bool, in_table: bool = False) -> Flowable:
        t = fld.type
        if t in ("choice", "multichoice", "yesno") and not (in_table and t != "yesno"):
            return self.choices(fld, value, blank=blank)
        lines = int(fld.print.get("lines", 1))
        if blank or value is None or value == "" or value == []:
            hint = {"date": DATE_HINT, "time": TIME_HINT, "place": PLACE_HINT}.get(t, "")
            return Box(min_height=max(1, lines) * WRITE_LINE,
                       hint=self.lang.inline(hint) if hint else "",
                       suffix=self.lang.primary(fld.unit) if fld.unit else "",
                       lines=lines if lines > 1 else 0)
        text = safe_format(fld, value, self.lang.primary)
        if t == "place" and isinstance(value, str) and text != value:
            text = f"{text} · {value}"
        return Box(self.text(text, "value"), min_height=FILLED_LINE)

    def choices(self, fld: Field, value, *, blank: bool) -> Flowable:
        if fld.type == "yesno":
            options: list[tuple[object, str]] = [(True, YES), (False, NO)]
        else:
            options = [(c.value, c.label) for c in fld.choices]
        chosen: list = []
        if not blank and value is not None:
            chosen = value if isinstance(value, list) else [value]
        marked = set()
        items = []
        natural = 0.0
        for opt, msgid in options:
            # `is` for yes/no: 1 and 0 are not answers to a yes/no question.
            hit = any(c is opt if isinstance(opt, bool) else c == opt for c in chosen)
            if hit:
                marked.add(repr(opt))
            box = CHECKED if hit else UNCHECKED
            items.append(TextBlock(self.runs(msgid, "option", bold_first=hit),
                                   glyph=(box, 10.5), indent=OPTION_INDENT))
            first, second = self.lang.pair(msgid)
            natural = max(natural, fonts_width(first, 8.5, hit) + 14,
                          fonts_width(second, 8.5) + 14 if second else 0)
        grid = ChoiceGrid(items, natural)
        unlisted = [c for c in chosen if not any(
            (c is o if isinstance(o, bool) else c == o) for o, _m in options)]
        if unlisted and not blank:
            shown = ", ".join(str(c) for c in unlisted)
            return Stack([grid, self.text(self.lang.primary(UNLISTED).format(value=shown),
                                          "help")])
        return grid

    def long_text(self, form: Form | None, fld: Field, value, *, blank: bool,
                  all_fields=None) -> Flowable:
        lines = int(fld.print.get("lines", 3))
        text = "" if blank or value is None else safe_format(fld, value, self.lang.primary)
        if not text.strip():
            items: list = [self.label(fld, blank=blank)]
            if blank:
                items.append(self.condition(all_fields or _fields_by_id(form), fld))
            items.append(Box(min_height=lines * WRITE_LINE, lines=lines))
            if blank:
                items.append(self.help(fld))
            return Stack(items)
        first, _second = self.lang.pair(fld.label)
        cont = self.text(self.lang.primary(CONTINUED).format(label=first), "label")
        return LabeledText(self.label(fld, blank=False), self.text(text, "value"), cont)

    def signature(self, fld: Field) -> Flowable:
        label = self.para(fld.label, "label")
        box = SignatureBox(label, self.lang.inline(SIGN), self.lang.inline(NAME),
                           self.lang.inline(DATE))
        return Stack([box, self.help(fld)]) if fld.help else box

    # ------------------------------------------------------------ repeating rows
    def table(self, form: Form | None, fld: Field, value, *, blank: bool) -> list[Flowable]:
        rows = [] if blank or not isinstance(value, list) else [
            r for r in value if isinstance(r, dict)]
        out: list[Flowable] = [CondPageBreak(35 * mm), self.label(fld, blank=blank)]
        if blank:
            out.append(self.condition(_fields_by_id(form), fld) or Spacer(0, 0))
            if fld.help:
                out.append(self.help(fld))
            out.extend(self.table_legend(fld))
        out.append(Spacer(0, 1.5 * mm))
        if len(fld.columns) <= GRID_MAX_COLUMNS:
            out.append(self.grid(fld, rows, blank=blank))
            out.append(Spacer(0, ROW_GAP))
        else:
            out.extend(self.cards(fld, rows, blank=blank))
        return [f for f in out if f is not None]

    def table_legend(self, fld: Field) -> list[Flowable]:
        """On a blank form: each column's help and the choices to write in its cells."""
        out = []
        for col in fld.columns:
            parts = []
            if col.help:
                parts.append(esc(self.lang.inline(col.help)))
            if col.type == "choice":
                opts = " · ".join(esc(self.lang.inline(c.label)) for c in col.choices)
                parts.append(f"{esc(self.lang.inline(OPTIONS))}: {opts}")
            if parts:
                head = labelled(self.lang.inline(col.label))
                out.append(Paragraph(f"<b>{esc(head.rstrip())}</b> " + " ".join(parts),
                                     self.st.legend))
        return out

    def grid(self, fld: Field, rows: list[dict], *, blank: bool) -> Table:
        cols = fld.columns
        weights = [{"longtext": 3.0, "text": 1.8, "choice": 1.6, "place": 1.8, "date": 1.25,
                    "time": 0.9, "number": 0.9, "yesno": 1.0}.get(c.type, 1.5) for c in cols]
        # Dates, numbers and yes/no never wrap: they get their width first, text the rest.
        least = [{"date": 15 * mm, "time": 11 * mm, "number": 12 * mm, "yesno": 18 * mm}.get(
            c.type, 14 * mm) for c in cols]
        spare = max(0.0, FRAME_W - sum(least))
        total = sum(weights)
        widths = [m + spare * w / total for m, w in zip(least, weights)]
        head = [self.para(c.label, "cell_head") for c in cols]
        data: list[list] = [head]
        heights: list[float | None] = [None]
        if rows:
            for r in rows:
                data.append([self.grid_cell(c, r, blank=False) if _visible_in_row(c, r) else ""
                             for c in cols])
                heights.append(None)
        else:
            n = max(fld.min_rows, BLANK_TABLE_ROWS if blank else 2)
            if fld.max_rows:
                n = min(n, fld.max_rows)
            tall = 2 if any(c.type == "longtext" for c in cols) else 1
            for _i in range(n):
                data.append([self.grid_cell(c, {}, blank=True) for c in cols])
                heights.append(tall * WRITE_LINE + 2)
        return boxed_table(data, widths, heights=heights, pad=2.5)

    def grid_cell(self, col: Field, row: dict, *, blank: bool):
        if col.type == "yesno":
            v = None if blank else row.get(col.id)
            marks = [(CHECKED if v is True else UNCHECKED, YES),
                     (CHECKED if v is False else UNCHECKED, NO)]
            return self.text("   ".join(f"{box} {self.lang.inline(m)}" for box, m in marks),
                             "cell")
        if blank:
            return ""
        text = safe_format(col, row.get(col.id), self.lang.primary)
        return self.text(text, "cell") if text else ""

    def cards(self, fld: Field, rows: list[dict], *, blank: bool) -> list[Flowable]:
        """Each row as a small block of labelled values (tables too wide for the page)."""
        out: list[Flowable] = []
        columns = {c.id: c for c in fld.columns}
        count = len(rows) if rows else max(fld.min_rows, BLANK_CARDS if blank else 1)
        if fld.max_rows:
            count = min(count, fld.max_rows)
        for i in range(count):
            row = rows[i] if i < len(rows) else {}
            empty = not rows
            shown = [c for c in fld.columns if empty or _visible_in_row(c, row)]
            out.append(CondPageBreak(30 * mm))
            out.append(Rule(0.6, 1, 1.5))
            out.append(self.text(self.lang.primary(ROW_N).format(n=i + 1), "card_head"))
            out.append(Spacer(0, 1))
            out.extend(self.fields(None, shown, row, blank=empty, in_table=True,
                                   all_fields=columns))
        return out

    # ------------------------------------------------------------ many records as one table
    def register(self, form: Form, records: list[dict] | None) -> list[Flowable]:
        """A register form (its `"print"` block) as one table: a row per entry, the declared
        columns, and a signature per entry or at the end. `records=None` gives the blank
        register: the choices to write in each column, and empty rows filling its pages."""
        spec = form.print_layout
        assert spec is not None and spec.register, "premise: a declared register"
        frame_w, frame_h = frame_size(spec.orientation)
        columns = [[form.field(f) for f in col.fields] for col in spec.columns]
        per_entry = spec.signature == "per_entry"
        signers = [f for f in form.fields if f.type == "signature"]
        head: list = [self.text(self.lang.primary(ROW_NUMBER), "cell_head")]
        head += [TextBlock([run for i, f in enumerate(flds) for run in self.register_head(f, i)])
                 for flds in columns]
        fixed = [NUMBER_COL] + ([SIGN_COL] if per_entry else [])
        if per_entry:
            label = signers[0].label if signers else SIGNATURE
            head.append(TextBlock(self.runs(SIGNATURE, "cell_head")
                                  + (self.runs(label, "cell_head") if signers else [])))
        spare = frame_w - sum(fixed)
        total = sum(c.width for c in spec.columns)
        widths = [NUMBER_COL] + [spare * c.width / total for c in spec.columns] \
            + ([SIGN_COL] if per_entry else [])
        row_h = spec.row_mm * mm
        before: list[Flowable] = []
        data: list[list] = [head]
        heights: list[float | None] = [None]
        if records is None:
            if form.description:
                before.append(self.para(form.description, "description"))
            before += self.register_legend(columns)
            before.append(Spacer(0, 1.5 * mm))
            blank_row = [""] + [self.register_cell(flds, {}, blank=True) for flds in columns] \
                + ([""] if per_entry else [])
            head_h = max(c.wrap(w - 5, frame_h)[1] for c, w in zip(head, widths)) + 5
            used = sum(f.wrap(frame_w, frame_h)[1] for f in before)
            first = int((frame_h - used - head_h - 4 * mm) // row_h)
            others = int((frame_h - head_h - 2 * mm) // row_h)
            count = max(1, first) + others * (spec.blank_pages - 1)
            for n in range(count):
                data.append([self.text(str(n + 1), "cell")] + blank_row[1:])
                heights.append(row_h)
        else:
            for n, values in enumerate(records, 1):
                values = values if isinstance(values, dict) else {}
                data.append([self.text(str(n), "cell")]
                            + [self.register_cell([f for f in flds if _visible(form, f, values)],
                                                  values, blank=False) for flds in columns]
                            + ([""] if per_entry else []))
                # Room to sign beside the entry and to correct it by hand; more for long notes.
                natural = max((c.wrap(w - 5, frame_h)[1] + 5 for c, w in zip(data[-1], widths)
                               if isinstance(c, Flowable)), default=0)
                heights.append(max(row_h, natural))
        table = Table(data, colWidths=widths, rowHeights=heights, repeatRows=1,
                      splitInRow=_split_in_row(data, widths, frame_h))
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), fonts.REGULAR, 8),  # empty cells too: no Helvetica
            ("GRID", (0, 0), (-1, -1), 0.5, BOX),
            ("LINEBELOW", (0, 0), (-1, 0), 1.0, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]))
        out = before + [table]
        if spec.signature == "end" and signers:
            out.append(Spacer(0, 3 * mm))
            out.extend(self.fields(form, signers, {}, blank=records is None))
        return out

    def register_head(self, fld: Field, index: int) -> list:
        """A column title: the first field's label in bold, the others' plain under it; a
        number's unit in brackets."""
        unit = f" ({self.lang.primary(fld.unit)})" if fld.unit else ""
        runs = self.runs(fld.label, "cell_head", suffix=unit)
        if index:
            runs = [(r[0], fonts.REGULAR, *r[2:]) for r in runs]
        return runs

    def register_legend(self, columns: list[list[Field]]) -> list[Flowable]:
        """Above a blank register: the options of each choice column, numbered, so a person
        writes the number (or the word) in the narrow cell."""
        legend = self.st.legend
        out: list[Flowable] = []
        helps: list[tuple[str, str]] = []
        for fld in (f for flds in columns for f in flds if f.help):
            helps += [("   " if helps else "", fonts.REGULAR),
                      (labelled(self.lang.inline(fld.label)), fonts.BOLD),
                      (self.lang.inline(fld.help), fonts.REGULAR)]
        if helps:
            out += [TextBlock([(helps, fonts.REGULAR, legend.fontSize, legend.leading,
                                legend.textColor)]), Spacer(0, 0.8 * mm)]
        for flds in columns:
            for fld in flds:
                if fld.type not in ("choice", "multichoice"):
                    continue
                opts = "   ".join(f"{i}. {self.lang.inline(c.label)}"
                                  for i, c in enumerate(fld.choices, 1))
                out.append(TextBlock([([(labelled(self.lang.inline(fld.label)), fonts.BOLD),
                                        (opts, fonts.REGULAR)], fonts.REGULAR,
                                       legend.fontSize, legend.leading, legend.textColor)]))
                out.append(Spacer(0, 0.8 * mm))
        return out

    def register_cell(self, fields: list[Field], values: dict, *, blank: bool):
        """One cell: the values of its fields one under the other; a field after the first
        is named ("Derivado a: …"), since the header's first label is what a reader scans."""
        cell = self.st.cell
        if blank:
            marks = [f for f in fields if f.type == "yesno"]
            if not marks:
                return ""
            boxes = "   ".join(f"{UNCHECKED} {self.lang.inline(m)}" for m in (YES, NO))
            return self.text("\n".join(boxes for _m in marks), "cell")
        pieces: list[tuple[str, str]] = []
        for i, fld in enumerate(fields):
            text = safe_format(fld, values.get(fld.id), self.lang.primary)
            if not text:
                continue
            if pieces:
                pieces.append(("\n", fonts.REGULAR))
            if i:   # the header has both languages: one is enough in each cell
                pieces.append((labelled(self.lang.primary(fld.label)), fonts.BOLD))
            pieces.append((text, fonts.REGULAR))
        if not pieces:
            return ""
        return TextBlock([(pieces, fonts.REGULAR, cell.fontSize, cell.leading, cell.textColor)])


def boxed_table(data: list[list], widths: list[float], *, heights=None,
                pad: float = 3) -> Table:
    """A table with a heading row repeated on each page, ruled cells, text at the top."""
    table = Table(data, colWidths=widths, rowHeights=heights, repeatRows=1,
                  splitInRow=_split_in_row(data, widths))
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), fonts.REGULAR, 8),  # empty cells too: no Helvetica
        ("GRID", (0, 0), (-1, -1), 0.5, BOX),
        ("LINEBELOW", (0, 0), (-1, 0), 1.0, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad),
        ("TOPPADDING", (0, 0), (-1, -1), pad - 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
    ]))
    return table


def labelled(label: str) -> str:
    """"Label: " before a value; a question is followed by its answer, not by a colon."""
    label = label.rstrip()
    return f"{label} " if label.endswith(("?", ":")) else f"{label}: "


def _split_in_row(data: list[list], widths: list[float], frame_h: float = FRAME_H) -> int:
    """1 when a row is too tall for a page (a very long text in a cell): only then may a row
    be cut between pages; otherwise rows stay whole, which reads better on paper."""
    for row in data[1:]:
        for cell, width in zip(row, widths):
            if isinstance(cell, Flowable) and cell.wrap(width - 6, frame_h)[1] > frame_h * 0.7:
                return 1
    return 0


def is_register(form: Form) -> bool:
    """Printed as one table of entries (not one form per record): the form declares
    `"print": {"layout": "register", …}` (docs/forms-format.md)."""
    return form.print_layout is not None and form.print_layout.register


def orientation(form: Form) -> str:
    """The page orientation a form declares (portrait unless its `"print"` says otherwise)."""
    return form.print_layout.orientation if form.print_layout is not None else "portrait"


def _visible(form: Form, fld: Field, values: dict) -> bool:
    try:
        return form.visible(fld, values)
    except Exception:  # noqa: BLE001 - an odd value in the controlling field: show the field
        return True


def _visible_in_row(col: Field, row: dict) -> bool:
    try:
        return col.show_when is None or col.show_when.holds(row)
    except Exception:  # noqa: BLE001
        return True


def _fields_by_id(form: Form | None) -> dict[str, Field]:
    return {f.id: f for f in form.fields} if form is not None else {}


