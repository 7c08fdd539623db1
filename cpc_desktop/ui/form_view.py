"""A form editor generated from a form definition: no field is spelled out here.

`FormView(form)` lays every section out as a titled group in a scroll area, one editor per
field (widgets/), repeating tables as a list of row editors, conditional fields shown and
hidden as their `show_when` says, help texts in small grey type and required fields marked
with an asterisk. `values()` gives what the vault stores (only non-empty, visible values);
`show_errors()` takes the core validator's FieldErrors and puts each under its field (or its
table cell), scrolling to and focusing the first one.
"""
from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (QFrame, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from ..core.forms import Field, FieldError, Form, is_empty
from ..core.i18n import _
from ..core.tables import ROW_ID
from .lang import language_bus
from .widgets.fields import FieldEditor, editor_for, tint

GRID_UNITS = 6
WIDTH_UNITS = {"full": 6, "half": 3, "third": 2}
ERROR_COLOR = "#b00020"
HELP_COLOR = "#5f6368"
# Types that need the whole width whatever the print hint says.
FULL_WIDTH_TYPES = {"longtext", "multichoice", "table"}

_PATH_RE = re.compile(r"^(?P<field>\w+)(?:\[(?P<row>\d+)\](?:\.(?P<column>\w+))?)?$")


def _span(fld: Field, in_table: bool = False) -> int:
    if fld.type in FULL_WIDTH_TYPES:
        return GRID_UNITS
    # Table columns rarely carry print widths; a row as a column of full-width fields
    # would make each family member a screen tall.
    units = WIDTH_UNITS[fld.print.get("width", "third" if in_table else "full")]
    if fld.type == "place":
        return max(units, 4)  # three combo boxes side by side
    return units


class FieldBox(QWidget):
    """A field's label (asterisk if required), its editor, its help text and its error.

    The help label is made only when there is a help text: a form has a hundred fields,
    and every widget costs time when a resident's window opens.
    """

    def __init__(self, fld: Field, editor: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = fld
        self.editor = editor
        self.setObjectName(f"field_{fld.id}")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 2, 0, 2)
        self.layout_.setSpacing(2)
        self.label = QLabel(self)
        self.label.setObjectName("fieldLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText if fld.required
                                 else Qt.TextFormat.PlainText)
        self.label.setBuddy(editor.focus_widget() if isinstance(editor, FieldEditor) else editor)
        self.layout_.addWidget(self.label)
        self.layout_.addWidget(editor)
        self.help: QLabel | None = None
        if fld.help:
            self.help = QLabel(self)
            self.help.setObjectName("fieldHelp")
            self.help.setWordWrap(True)
            tint(self.help, HELP_COLOR, smaller=True)
            self.layout_.addWidget(self.help)
        # Made now and hidden: a label added later leaves stale size caches in Qt's layouts,
        # and the field would be squeezed when its error appears.
        self.error = QLabel(self)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        tint(self.error, ERROR_COLOR, bold=True)
        self.error.hide()
        self.layout_.addWidget(self.error)
        self.layout_.addStretch(1)  # a taller neighbour in the row leaves space below, not inside
        if isinstance(editor, FieldEditor):
            # The message was about the value before this edit: a corrected date must not
            # keep saying it is wrong (saving validates again).
            editor.changed.connect(self.clear_error)
        self.retranslate()

    def retranslate(self) -> None:
        if self.field.required:
            self.label.setText(html.escape(_(self.field.label))
                               + f' <span style="color:{ERROR_COLOR}">*</span>')
        else:
            self.label.setText(_(self.field.label))
        if self.help is not None:
            self.help.setText(_(self.field.help))
        self.editor.retranslate()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def clear_error(self) -> None:
        if not self.error.isHidden():
            self.error.clear()
            self.error.hide()

    @property
    def has_error(self) -> bool:
        return not self.error.isHidden()

    @property
    def error_text(self) -> str:
        return self.error.text() if self.has_error else ""


class _FieldSet:
    """Ordered fields and their boxes, evaluated the way the validator does: a field whose
    condition does not hold (on the values before it) is hidden and its value left out."""

    def __init__(self, fields: Iterable[Field], owner: QWidget, on_change):
        self.fields: list[Field] = []
        self.boxes: dict[str, FieldBox] = {}
        self.add(fields, owner, on_change)

    def add(self, fields: Iterable[Field], owner: QWidget, on_change) -> None:
        """Adds fields after those already there (a form is built section by section)."""
        for fld in fields:
            if not fld.stores_value:
                continue
            editor = TableEditor(fld, owner) if fld.type == "table" else editor_for(fld, owner)
            editor.changed.connect(on_change)
            self.fields.append(fld)
            self.boxes[fld.id] = FieldBox(fld, editor, owner)

    def evaluate(self, apply_visibility: bool = True) -> dict:
        out: dict = {}
        for fld in self.fields:
            box = self.boxes[fld.id]
            visible = fld.show_when is None or fld.show_when.holds(out)
            if apply_visibility and box.isHidden() == visible:
                box.setVisible(visible)
            if not visible:
                continue
            value = box.editor.value()
            if not is_empty(value):
                out[fld.id] = value
        return out

    def set_values(self, values: dict) -> None:
        for fld in self.fields:
            self.boxes[fld.id].editor.set_value(values.get(fld.id))

    def set_read_only(self, read_only: bool) -> None:
        for box in self.boxes.values():
            box.editor.set_read_only(read_only)

    def retranslate(self) -> None:
        for box in self.boxes.values():
            box.retranslate()

    def clear_errors(self) -> None:
        for box in self.boxes.values():
            box.clear_error()
            if isinstance(box.editor, TableEditor):
                box.editor.clear_errors()


class GridBody(QWidget):
    """Fields packed left to right on a 6-unit grid by their print width (or fewer per
    line in the medium and narrow modes). Modes — wide: print widths as defined; medium (a
    form beside a list, about half the window): thirds become halves; narrow: one field per
    line.

    Each grid line is a box layout whose stretch factors are the spans: QGridLayout
    underestimates the height of spanning, word-wrapped fields, and the scroll area would
    then squeeze them when an error line appears.
    """

    def __init__(self, fieldset: _FieldSet, fields: Iterable[Field], parent: QWidget,
                 in_table: bool = False, mode: str | None = None):
        super().__init__(parent)
        self.items = [(fieldset.boxes[f.id], f) for f in fields if f.stores_value]
        self.in_table = in_table
        self.lines = QVBoxLayout(self)
        self.lines.setContentsMargins(0, 0, 0, 0)
        self.lines.setSpacing(6)
        self.mode: str | None = None
        if mode is None:  # a table row: the mode of the form it is in
            owner = parent
            while owner is not None and not isinstance(owner, FormView):
                owner = owner.parentWidget()
            mode = owner.mode if owner is not None else "wide"
        self.apply_mode(mode)

    def apply_mode(self, mode: str) -> None:
        # Packed once: moving fields between layouts later leaves Qt's size caches stale
        # (an error line appearing would squeeze its field), so the mode is chosen up front.
        if self.mode is not None:
            return
        self.mode = mode
        line, used = None, 0
        for box, fld in self.items:
            span = _span(fld, self.in_table)
            if mode == "narrow":
                span = GRID_UNITS
            elif mode == "medium":
                span = GRID_UNITS // 2 if span <= GRID_UNITS // 2 else GRID_UNITS
            if line is None or used + span > GRID_UNITS:
                if line is not None and used < GRID_UNITS:
                    line.addStretch(GRID_UNITS - used)
                line, used = QHBoxLayout(), 0
                line.setSpacing(16)
                self.lines.addLayout(line)
            line.addWidget(box, span)
            used += span
        if line is not None and used < GRID_UNITS:
            line.addStretch(GRID_UNITS - used)


class RowEditor(QFrame):
    """One row of a repeating table: its columns as a small form, and a remove button."""

    remove_requested = Signal(object)

    def __init__(self, table: Field, on_change, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("tableRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        head = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setObjectName("rowTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.remove_button = QPushButton(self)
        self.remove_button.setObjectName("removeRow")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.remove_button)
        layout.addLayout(head)
        self.fields = _FieldSet(table.columns, self, on_change)
        layout.addWidget(GridBody(self.fields, table.columns, self, in_table=True))
        self.number = 0
        # The stored row's id (None: a new row): kept so an edit changes that row's cells
        # only and merges with other laptops' rows (core/tables.py).
        self.row_id: str | None = None

    def set_number(self, n: int) -> None:
        self.number = n
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(_("Fila {n}").format(n=self.number))
        self.remove_button.setText(_("Quitar fila"))
        self.fields.retranslate()


class TableEditor(FieldEditor):
    """A repeating table as a list of row editors with "Agregar fila" / "Quitar fila"."""

    def __init__(self, fld: Field, parent: QWidget | None = None):
        super().__init__(fld, parent)
        # Row editors stay in the layout in order; the first `count` are in use, the rest
        # are hidden and blank, kept for the next "Agregar fila" (building one costs more,
        # and moving widgets between layouts leaves Qt's size caches stale).
        self.all_rows: list[RowEditor] = []
        self.count = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.empty = QLabel(self)
        self.empty.setObjectName("tableEmpty")
        tint(self.empty, HELP_COLOR)
        layout.addWidget(self.empty)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(6)
        layout.addLayout(self.rows_layout)
        self.add_button = QPushButton(self)
        self.add_button.setObjectName("addRow")
        self.add_button.clicked.connect(self._add_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._setting = False
        self.retranslate()
        self._update()

    @property
    def rows(self) -> list[RowEditor]:
        return self.all_rows[:self.count]

    # -- rows
    def add_row(self, values: dict | None = None) -> RowEditor:
        if self.count < len(self.all_rows):
            row = self.all_rows[self.count]
        else:
            row = RowEditor(self.field, self._row_changed, self)
            row.remove_requested.connect(self.remove_row)
            self.all_rows.append(row)
            self.rows_layout.addWidget(row)
        self.count += 1
        self._fill(row, values or {})
        row.show()
        self._update()
        return row

    def _fill(self, row: RowEditor, values: dict) -> None:
        row.row_id = values.get(ROW_ID)
        row.fields.set_values(values)
        row.fields.evaluate()
        row.fields.clear_errors()
        row.fields.set_read_only(self._read_only)
        row.remove_button.setEnabled(not self._read_only)

    def _add_clicked(self) -> None:
        row = self.add_row()
        first = next(iter(row.fields.boxes.values()), None)
        if first is not None:
            first.editor.focus_widget().setFocus()
        self.changed.emit()

    def remove_row(self, row: RowEditor) -> None:
        """Removes a row: the rows below move up (their values do, the editors stay)."""
        if self._read_only or row not in self.rows:
            return
        index = self.all_rows.index(row)
        self._setting = True
        try:
            for i in range(index, self.count - 1):
                self._fill(self.all_rows[i], self._raw(self.all_rows[i + 1]))
            self.count -= 1
            last = self.all_rows[self.count]
            self._fill(last, {})
            last.hide()
        finally:
            self._setting = False
        self._update()
        self.changed.emit()

    @staticmethod
    def _raw(row: RowEditor) -> dict:
        """Everything shown in a row, hidden conditional cells included, as typed."""
        out = {fid: box.editor.value() for fid, box in row.fields.boxes.items()}
        return {**out, ROW_ID: row.row_id} if row.row_id else out

    def _row_changed(self) -> None:
        if not self._setting:
            self.changed.emit()

    def _update(self) -> None:
        for i, row in enumerate(self.rows, start=1):
            row.set_number(i)
        self.empty.setVisible(not self.count)
        full = self.field.max_rows is not None and self.count >= self.field.max_rows
        self.add_button.setEnabled(not self._read_only and not full)

    # -- FieldEditor interface
    def _kept_rows(self) -> list[tuple[RowEditor, dict]]:
        kept = []
        for row in self.rows:
            values = row.fields.evaluate()
            if values:
                kept.append((row, values))
        return kept

    def value(self):
        return [{**values, ROW_ID: row.row_id} if row.row_id else values
                for row, values in self._kept_rows()] or None

    def set_value(self, value) -> None:
        self._setting = True
        try:
            for row in self.rows:
                self._fill(row, {})
                row.hide()
            self.count = 0
            for values in value or ():
                self.add_row(values if isinstance(values, dict) else {})
        finally:
            self._setting = False
        self._update()

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        for row in self.rows:
            row.fields.set_read_only(read_only)
            row.remove_button.setEnabled(not read_only)
        self._update()

    def retranslate(self) -> None:
        self.add_button.setText(_("Agregar fila"))
        self.empty.setText(_("Sin filas todavía."))
        for row in self.rows:
            row.retranslate()

    def focus_widget(self) -> QWidget:
        return self.add_button

    # -- errors
    def cell_box(self, value_index: int, column: str | None) -> tuple[RowEditor, FieldBox | None] | None:
        """The row (and cell) of the value_index-th row of value(), as the validator counts."""
        kept = self._kept_rows()
        if not 0 <= value_index < len(kept):
            return None
        row = kept[value_index][0]
        return row, row.fields.boxes.get(column) if column else None

    def clear_errors(self) -> None:
        for row in self.rows:
            row.fields.clear_errors()


class FormView(QWidget):
    """The on-screen form of one definition. See the module docstring for the contract."""

    dirty_changed = Signal(bool)
    changed = Signal()

    def __init__(self, form: Form, parent: QWidget | None = None, mode: str = "wide", *,
                 build: bool = True):
        """`build=False` makes an empty shell: call build_step() until it returns True (one
        section per call, so building ahead of need never stalls the UI for long)."""
        super().__init__(parent)
        self.form = form
        self.setObjectName(f"form_{form.form}")
        self.mode = mode
        self._read_only = False
        self._dirty = False
        self._baseline: dict = {}
        self._loading = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.banner = QLabel(self)
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(f"background: #fdecea; color: {ERROR_COLOR}; "
                                  "padding: 6px; border: 1px solid #f5c2c0;")
        # Each field in error is a link that scrolls to it: a form can be ten screens long.
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.banner.linkActivated.connect(self._error_link)
        self._error_boxes: list[FieldBox] = []
        self.banner.hide()
        outer.addWidget(self.banner)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("formScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll)
        self._content = QWidget()
        self._content.setObjectName("formContent")
        self._layout = QVBoxLayout(self._content)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(10)
        self.description = QLabel(self._content)
        self.description.setWordWrap(True)
        tint(self.description, HELP_COLOR)
        self._layout.addWidget(self.description)
        # Set before the sections are added: reparenting a built form costs ~30 ms at once.
        self.scroll.setWidget(self._content)

        self.fields = _FieldSet((), self._content, self._on_edit)
        self.groups: list[tuple[QGroupBox, QLabel, QLabel, object]] = []
        # Sections with nothing to type (signatures: print only) have no place on screen.
        self._to_build = [s for s in form.sections if any(f.stores_value for f in s.fields)]
        self.complete = False
        if build:
            self.finish_building()

    def build_step(self) -> bool:
        """Builds the next section (or, last, wires the finished form); True when complete."""
        if self.complete:
            return True
        if self._to_build:
            self._add_section(self._to_build.pop(0))
            return False
        self._layout.addStretch(1)
        self.fields.evaluate()
        self._baseline = self.values()
        self.retranslate_ui()
        language_bus().changed.connect(self.retranslate_ui)
        self.complete = True
        return True

    def finish_building(self) -> None:
        while not self.build_step():
            pass

    def _add_section(self, section) -> None:
        content = self._content
        shown = [f for f in section.fields if f.stores_value]
        self.fields.add(shown, content, self._on_edit)
        group = QGroupBox(content)
        group.setObjectName(f"section_{section.id}")
        vl = QVBoxLayout(group)
        heading = QLabel(group)
        heading.setObjectName("sectionTitle")
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        heading.setFont(font)
        vl.addWidget(heading)
        help_label = QLabel(group)
        help_label.setWordWrap(True)
        tint(help_label, HELP_COLOR)
        vl.addWidget(help_label)
        vl.addWidget(GridBody(self.fields, shown, group, mode=self.mode))
        self._layout.addWidget(group)
        self.groups.append((group, heading, help_label, section))

    # ------------------------------------------------------------ values
    def values(self) -> dict:
        """The non-empty values of visible fields, in the stored representation."""
        return self.fields.evaluate(apply_visibility=False)

    def set_values(self, values: dict | None) -> None:
        """Shows a record (or blanks the form for None) and takes it as the unchanged state."""
        self._loading = True
        try:
            self.fields.set_values(values or {})
            self.fields.evaluate()
        finally:
            self._loading = False
        self.clear_errors()
        self.mark_clean()

    def apply_values(self, values: dict) -> None:
        """Puts values in the widgets as if typed (restoring a draft): the form becomes dirty
        against its current unchanged state."""
        self._loading = True
        try:
            self.fields.set_values(values)
            self.fields.evaluate()
        finally:
            self._loading = False
        self._update_dirty()

    def mark_clean(self) -> None:
        self._baseline = self.values()
        self._update_dirty()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def _on_edit(self) -> None:
        if self._loading:
            return
        self.refresh()
        if not self.banner.isHidden() and not self.errors_shown():
            self.clear_errors()     # every marked field was corrected
        self.changed.emit()

    def refresh(self) -> None:
        """Re-evaluates conditions and the dirty state now (edits do it on the next loop)."""
        self.fields.evaluate()
        self._update_dirty()

    def _update_dirty(self) -> None:
        dirty = self.values() != self._baseline
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    # ------------------------------------------------------------ errors
    def box(self, path: str) -> FieldBox | None:
        """The box of a field id or of a table cell ("family_details[0].phone")."""
        m = _PATH_RE.match(path or "")
        if not m or m["field"] not in self.fields.boxes:
            return None
        box = self.fields.boxes[m["field"]]
        if m["row"] is not None and isinstance(box.editor, TableEditor):
            found = box.editor.cell_box(int(m["row"]), m["column"])
            if found and found[1] is not None:
                return found[1]
        return box

    def editor(self, field_id: str) -> FieldEditor:
        return self.fields.boxes[field_id].editor

    def show_errors(self, errors: list[FieldError]) -> None:
        self.clear_errors()
        first: FieldBox | None = None
        loose: list[str] = []
        links: list[str] = []
        for err in errors:
            box = self.box(err.field)
            m = _PATH_RE.match(err.field or "")
            if box is None or box.isHidden():
                loose.append(str(err))
                continue
            if m and m["row"] is not None and box.field.id == m["field"]:
                message = str(err)  # a row-level problem: say which row
            else:
                message = err.message[:1].upper() + err.message[1:]
            if box.has_error:
                message = box.error_text + "\n" + message
            box.show_error(message)
            first = first or box
            self._error_boxes.append(box)
            links.append(f'<a href="#{len(self._error_boxes) - 1}" style="color: {ERROR_COLOR}">'
                         f"{html.escape(str(err))}</a>")
        text = html.escape(_("No se guardó: revise lo marcado en rojo ({n}).").format(
            n=len(errors)))
        if links:
            text += "<br>" + html.escape(_("Pulse uno para ir a él:")) + " " + " · ".join(links)
        if loose:
            text += "<br>" + "<br>".join(html.escape(t) for t in loose)
        self.banner.setText(text)
        self.banner.show()
        if first is not None:
            self._reveal(first)

    def banner_text(self) -> str:
        """The banner as read on screen (without the markup)."""
        doc = QTextDocument()
        doc.setHtml(self.banner.text())
        return doc.toPlainText()

    def _error_link(self, href: str) -> None:
        try:
            box = self._error_boxes[int(href.lstrip("#"))]
        except (ValueError, IndexError):
            return
        self._reveal(box)

    def reveal_field(self, path: str) -> bool:
        """Scrolls to a field (or table cell, see box()) and puts the keyboard in it."""
        box = self.box(path)
        if box is not None:
            self._reveal(box)
        return box is not None

    def _reveal(self, box: FieldBox) -> None:
        self.scroll.ensureWidgetVisible(box, 20, 40)
        target = box.editor.focus_widget() if isinstance(box.editor, FieldEditor) else box
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        # Layouts settle on the next loop; scroll again so the box is really in view.
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(box, 20, 40))

    def clear_errors(self) -> None:
        self.fields.clear_errors()
        self._error_boxes = []
        self.banner.clear()
        self.banner.hide()

    def errors_shown(self) -> dict[str, str]:
        """Field path → message now shown (for tests and screen readers)."""
        out = {}
        for fid, box in self.fields.boxes.items():
            if box.has_error:
                out[fid] = box.error_text
            if isinstance(box.editor, TableEditor):
                for i, row in enumerate(box.editor.rows):
                    for cid, cell in row.fields.boxes.items():
                        if cell.has_error:
                            out[f"{fid}[{i}].{cid}"] = cell.error_text
        return out

    # ------------------------------------------------------------ state
    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        self.fields.set_read_only(read_only)

    @property
    def read_only(self) -> bool:
        return self._read_only

    def retranslate_ui(self, *_args) -> None:
        self.description.setText(_(self.form.description) if self.form.description else "")
        self.description.setVisible(bool(self.form.description))
        for _group, heading, help_label, section in self.groups:
            heading.setText(_(section.title))
            help_label.setText(_(section.help) if section.help else "")
            help_label.setVisible(bool(section.help))
        self.fields.retranslate()


# ---------------------------------------------------------------- reuse

POOL_PER_FORM = 2
_pool: dict[tuple[str, str], list[FormView]] = {}


def take_view(form: Form, parent: QWidget | None = None, mode: str = "wide") -> FormView:
    """A blank FormView of `form`: a kept one if any (building one takes most of the time
    a resident's window needs to open), the one being warmed up (finished now), else a new
    one."""
    kept = _pool.get((form.form, mode))
    while kept:
        view = kept.pop()
        if view.form is not form:  # built from another definition (another form version)
            view.deleteLater()
            continue
        try:
            view.setParent(parent)
        except RuntimeError:  # deleted with the application
            continue
        return view
    warming = _warming.pop((form.form, mode), None)
    if warming is not None and warming.form is not form:
        warming.deleteLater()
        warming = None
    if warming is not None:
        try:
            warming.finish_building()
            warming.setParent(parent)
            return warming
        except RuntimeError:
            pass
    return FormView(form, parent, mode)


def give_back(view: FormView) -> None:
    """Blanks a view (no decrypted value stays in it) and keeps it for take_view()."""
    for signal in (view.dirty_changed, view.changed):
        with warnings.catch_warnings():  # PySide warns when nothing was connected
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
    view.set_values({})
    view.set_read_only(False)
    view.scroll.verticalScrollBar().setValue(0)
    view.hide()
    view.setParent(None)
    kept = _pool.setdefault((view.form.form, view.mode), [])
    if len(kept) < POOL_PER_FORM:
        kept.append(view)
    else:
        view.deleteLater()


_warming: dict[tuple[str, str], FormView] = {}
# A 1 ms gap, not 0: the event loop then runs a full turn (input, paint, other timers)
# between two sections instead of chaining them in one pass.
STEP_GAP_MS = 1


def warm_up(form: Form, mode: str = "wide") -> None:
    """Builds a view of `form` ahead of need and keeps it for take_view(): one section per
    turn of the event loop, so a person typing or scrolling meanwhile never waits more than
    one section (about 10 ms) instead of the whole form (over 100 ms)."""
    key = (form.form, mode)
    if _pool.get(key) or key in _warming:
        return
    view = FormView(form, None, mode, build=False)
    _warming[key] = view

    def step() -> None:
        if _warming.get(key) is not view:
            return          # take_view() finished and took it meanwhile
        try:
            done = view.build_step()
        except RuntimeError:  # the application is closing
            _warming.pop(key, None)
            return
        if done:
            del _warming[key]
            give_back(view)
        else:
            QTimer.singleShot(STEP_GAP_MS, step)

    def start(*_a) -> None:
        QTimer.singleShot(STEP_GAP_MS, step)

    if any(f.type == "place" for f in form.fields):
        # The place combos read the ubigeo catalogue: on a worker first, not in a step.
        from .tasks import run_task
        from .widgets.place import preload

        run_task(None, lambda _p: preload(), on_success=start, on_failure=start,
                 show_progress=False)
    else:
        start()


__all__ = ["FormView", "FieldBox", "TableEditor", "take_view", "give_back", "warm_up"]
