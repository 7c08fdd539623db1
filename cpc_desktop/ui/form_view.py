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
from collections.abc import Iterable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from ..core.forms import Field, FieldError, Form, is_empty
from ..core.i18n import _
from .lang import language_bus
from .widgets.fields import FieldEditor, editor_for

GRID_UNITS = 6
WIDTH_UNITS = {"full": 6, "half": 3, "third": 2}
ERROR_COLOR = "#b00020"
HELP_COLOR = "#5f6368"
# Types that need the whole width whatever the print hint says.
FULL_WIDTH_TYPES = {"longtext", "multichoice", "table"}

_PATH_RE = re.compile(r"^(?P<field>\w+)(?:\[(?P<row>\d+)\](?:\.(?P<column>\w+))?)?$")


def _span(fld: Field) -> int:
    if fld.type in FULL_WIDTH_TYPES:
        return GRID_UNITS
    units = WIDTH_UNITS[fld.print.get("width", "full")]
    if fld.type == "place":
        return max(units, 4)  # three combo boxes side by side
    return units


class FieldBox(QWidget):
    """A field's label (asterisk if required), its editor, its help text and its error."""

    def __init__(self, fld: Field, editor: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = fld
        self.editor = editor
        self.setObjectName(f"field_{fld.id}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        self.label = QLabel(self)
        self.label.setObjectName("fieldLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setBuddy(editor.focus_widget() if isinstance(editor, FieldEditor) else editor)
        self.help = QLabel(self)
        self.help.setObjectName("fieldHelp")
        self.help.setWordWrap(True)
        self.help.setStyleSheet(f"color: {HELP_COLOR};")
        font = self.help.font()
        font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        self.help.setFont(font)
        self.error = QLabel(self)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: bold;")
        self.error.hide()
        layout.addWidget(self.label)
        layout.addWidget(editor)
        layout.addWidget(self.help)
        layout.addWidget(self.error)
        self.retranslate()

    def retranslate(self) -> None:
        text = html.escape(_(self.field.label))
        if self.field.required:
            text += f' <span style="color:{ERROR_COLOR}">*</span>'
        self.label.setText(text)
        self.help.setText(_(self.field.help) if self.field.help else "")
        self.help.setVisible(bool(self.field.help))
        self.editor.retranslate()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def clear_error(self) -> None:
        self.error.clear()
        self.error.hide()

    @property
    def has_error(self) -> bool:
        return not self.error.isHidden()


class _FieldSet:
    """Ordered fields and their boxes, evaluated the way the validator does: a field whose
    condition does not hold (on the values before it) is hidden and its value left out."""

    def __init__(self, fields: Iterable[Field], owner: QWidget, on_change):
        self.fields = [f for f in fields if f.stores_value]
        self.boxes: dict[str, FieldBox] = {}
        for fld in self.fields:
            editor = TableEditor(fld, owner) if fld.type == "table" else editor_for(fld, owner)
            editor.changed.connect(on_change)
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


def _grid_of(fieldset: _FieldSet, fields: Iterable[Field], parent: QWidget) -> QGridLayout:
    """Fields packed left to right on a 6-unit grid by their print width."""
    grid = QGridLayout(parent)
    grid.setHorizontalSpacing(16)
    grid.setVerticalSpacing(6)
    row, col = 0, 0
    for fld in fields:
        if not fld.stores_value:
            continue
        span = _span(fld)
        if col + span > GRID_UNITS:
            row, col = row + 1, 0
        grid.addWidget(fieldset.boxes[fld.id], row, col, 1, span, Qt.AlignmentFlag.AlignTop)
        col += span
        if col >= GRID_UNITS:
            row, col = row + 1, 0
    for c in range(GRID_UNITS):
        grid.setColumnStretch(c, 1)
    return grid


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
        body = QWidget(self)
        self.fields = _FieldSet(table.columns, body, on_change)
        _grid_of(self.fields, table.columns, body).setContentsMargins(0, 0, 0, 0)
        layout.addWidget(body)
        self.number = 0

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
        self.rows: list[RowEditor] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.empty = QLabel(self)
        self.empty.setObjectName("tableEmpty")
        self.empty.setStyleSheet(f"color: {HELP_COLOR};")
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

    # -- rows
    def add_row(self, values: dict | None = None) -> RowEditor:
        row = RowEditor(self.field, self._row_changed, self)
        row.remove_requested.connect(self.remove_row)
        row.fields.set_values(values or {})
        row.fields.evaluate()
        row.fields.set_read_only(self._read_only)
        row.remove_button.setEnabled(not self._read_only)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        self._update()
        return row

    def _add_clicked(self) -> None:
        row = self.add_row()
        first = next(iter(row.fields.boxes.values()), None)
        if first is not None:
            first.editor.focus_widget().setFocus()
        self.changed.emit()

    def remove_row(self, row: RowEditor) -> None:
        if self._read_only or row not in self.rows:
            return
        self.rows.remove(row)
        row.hide()
        row.deleteLater()
        self._update()
        self.changed.emit()

    def _row_changed(self) -> None:
        if not self._setting:
            self.changed.emit()

    def _update(self) -> None:
        for i, row in enumerate(self.rows, start=1):
            row.set_number(i)
        self.empty.setVisible(not self.rows)
        full = self.field.max_rows is not None and len(self.rows) >= self.field.max_rows
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
        return [values for _row, values in self._kept_rows()] or None

    def set_value(self, value) -> None:
        self._setting = True
        try:
            for row in self.rows:
                row.hide()
                row.deleteLater()
            self.rows = []
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

    def __init__(self, form: Form, parent: QWidget | None = None):
        super().__init__(parent)
        self.form = form
        self.setObjectName(f"form_{form.form}")
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
        self.banner.hide()
        outer.addWidget(self.banner)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("formScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll)
        content = QWidget()
        content.setObjectName("formContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)
        self.description = QLabel(content)
        self.description.setWordWrap(True)
        self.description.setStyleSheet(f"color: {HELP_COLOR};")
        layout.addWidget(self.description)

        self.fields = _FieldSet(form.fields, content, self._on_edit)
        self.groups: list[tuple[QGroupBox, QLabel, object]] = []
        for section in form.sections:
            shown = [f for f in section.fields if f.stores_value]
            if not shown:
                continue  # e.g. signatures: print only
            group = QGroupBox(content)
            group.setObjectName(f"section_{section.id}")
            vl = QVBoxLayout(group)
            help_label = QLabel(group)
            help_label.setWordWrap(True)
            help_label.setStyleSheet(f"color: {HELP_COLOR};")
            vl.addWidget(help_label)
            body = QWidget(group)
            _grid_of(self.fields, shown, body).setContentsMargins(0, 0, 0, 0)
            vl.addWidget(body)
            layout.addWidget(group)
            self.groups.append((group, help_label, section))
        layout.addStretch(1)
        self.scroll.setWidget(content)
        self.fields.evaluate()
        self._baseline = self.values()
        self.retranslate_ui()
        language_bus().changed.connect(self.retranslate_ui)

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
        for err in errors:
            box = self.box(err.field)
            m = _PATH_RE.match(err.field or "")
            if box is None or box.isHidden():
                loose.append(str(err))
                continue
            if m and m["row"] is not None and box.field.id == m["field"]:
                message = str(err)  # a row-level problem: say which row
            else:
                message = err.message
            if box.has_error:
                message = box.error.text() + "\n" + message
            box.show_error(message)
            first = first or box
        text = _("No se guardó: revise lo marcado en rojo ({n}).").format(n=len(errors))
        if loose:
            text += "\n" + "\n".join(loose)
        self.banner.setText(text)
        self.banner.show()
        if first is not None:
            self._reveal(first)

    def _reveal(self, box: FieldBox) -> None:
        self.scroll.ensureWidgetVisible(box, 20, 40)
        target = box.editor.focus_widget() if isinstance(box.editor, FieldEditor) else box
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        # Layouts settle on the next loop; scroll again so the box is really in view.
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(box, 20, 40))

    def clear_errors(self) -> None:
        self.fields.clear_errors()
        self.banner.clear()
        self.banner.hide()

    def errors_shown(self) -> dict[str, str]:
        """Field path → message now shown (for tests and screen readers)."""
        out = {}
        for fid, box in self.fields.boxes.items():
            if box.has_error:
                out[fid] = box.error.text()
            if isinstance(box.editor, TableEditor):
                for i, row in enumerate(box.editor.rows):
                    for cid, cell in row.fields.boxes.items():
                        if cell.has_error:
                            out[f"{fid}[{i}].{cid}"] = cell.error.text()
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
        for group, help_label, section in self.groups:
            group.setTitle(_(section.title))
            help_label.setText(_(section.help) if section.help else "")
            help_label.setVisible(bool(section.help))
        self.fields.retranslate()


__all__ = ["FormView", "FieldBox", "TableEditor"]
