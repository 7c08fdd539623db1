"""One editor widget per field type, each speaking the stored representation.

Every editor has the same small interface: `value()` (the stored form: ISO date, number,
choice value, bool, ubigeo code; text the user typed that cannot be read is returned as typed,
so the core validator names the problem and nothing typed is lost), `set_value(v)`,
`changed` (any edit), `set_read_only(b)`, `retranslate()` and `focus_widget()`.
"""
from __future__ import annotations

import datetime as dt
import re

from PySide6.QtCore import QDate, QRegularExpression, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QRegularExpressionValidator
from PySide6.QtWidgets import (QButtonGroup, QCalendarWidget, QCheckBox, QComboBox, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QRadioButton,
                               QToolButton, QToolTip, QVBoxLayout, QWidget)

from ...core.display import NO, YES
from ...core.forms import Field, parse_date
from ...core.i18n import N_, _

NO_ANSWER = N_("Sin respuesta")
DATE_PLACEHOLDER = N_("dd/mm/aaaa")
TIME_PLACEHOLDER = N_("hh:mm")
# A line of text in a multi-line box, for heights taken from the form's print hints.
LINE_PX = 20


class FieldEditor(QWidget):
    """Base of the editors; subclasses fill the interface described in the module doc."""

    changed = Signal()

    def __init__(self, fld: Field, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = fld
        self._read_only = False

    def value(self):
        raise NotImplementedError

    def set_value(self, value) -> None:
        raise NotImplementedError

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only

    def is_editable(self) -> bool:
        return not self._read_only

    def retranslate(self) -> None:
        pass

    def focus_widget(self) -> QWidget:
        return self

    def clear(self) -> None:
        self.set_value(None)


REJECTED_HINTS = {
    "number": N_("Aquí solo van números (por ejemplo 60); lo que escribió no se guardó."),
    "date": N_("Escriba la fecha con números: dd/mm/aaaa (por ejemplo 05/03/2026)."),
    "time": N_("Escriba la hora con números: hh:mm (por ejemplo 14:30)."),
}


def explain_rejected_input(edit: QLineEdit, kind: str, unit: str = "") -> None:
    """A keystroke the field's validator refuses ("una hora" in Duración) says why, beside the
    field, instead of vanishing without a word."""
    def tell() -> None:
        text = _(REJECTED_HINTS[kind])
        if unit:
            text += " " + _("Unidad: {unit}.").format(unit=unit)
        QToolTip.showText(edit.mapToGlobal(edit.rect().bottomLeft()), text, edit)
    edit.inputRejected.connect(tell)


def _hbox(widget: QWidget) -> QHBoxLayout:
    box = QHBoxLayout(widget)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(4)
    return box


class TextEditor(FieldEditor):
    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.edit = QLineEdit(self)
        self.edit.setMaxLength(fld.max_length or 200)
        self.edit.textEdited.connect(self.changed)
        _hbox(self).addWidget(self.edit)
        self.setFocusProxy(self.edit)
        self.retranslate()

    def value(self):
        return self.edit.text().strip() or None

    def set_value(self, value) -> None:
        self.edit.setText("" if value is None else str(value))

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self.edit.setReadOnly(read_only)

    def retranslate(self) -> None:
        if self.field.pattern_help:
            self.edit.setPlaceholderText(_(self.field.pattern_help))

    def focus_widget(self) -> QWidget:
        return self.edit


class LongTextEditor(FieldEditor):
    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.edit = QPlainTextEdit(self)
        self.edit.setTabChangesFocus(True)  # keyboard users move on with Tab, as in paper order
        lines = max(2, min(int(fld.print.get("lines", 3)), 6))
        self.edit.setFixedHeight(lines * LINE_PX + 12)
        self.edit.textChanged.connect(self._text_changed)
        self._setting = False
        _hbox(self).addWidget(self.edit)
        self.setFocusProxy(self.edit)

    def _text_changed(self) -> None:
        if not self._setting:
            self.changed.emit()

    def value(self):
        return self.edit.toPlainText().rstrip() or None

    def set_value(self, value) -> None:
        self._setting = True
        try:
            self.edit.setPlainText("" if value is None else str(value))
        finally:
            self._setting = False

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self.edit.setReadOnly(read_only)

    def focus_widget(self) -> QWidget:
        return self.edit


def format_typed_date(text: str) -> str:
    """dd/mm/aaaa from what people type: 1/3/2024, 01032024, 2024-03-01."""
    text = text.strip()
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text) or \
        re.fullmatch(r"(\d{2})(\d{2})(\d{4})", text)
    if m:
        return f"{int(m.group(1)):02d}/{int(m.group(2)):02d}/{m.group(3)}"
    d = parse_date(text)
    return d.strftime("%d/%m/%Y") if d else text


def read_typed_date(text: str):
    """ISO date for a readable dd/mm/aaaa text, None for blank, else the text as typed."""
    text = text.strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if m:
        try:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
        except ValueError:
            return text
    d = parse_date(text)
    return d.isoformat() if d else text


class DateEditor(FieldEditor):
    """A line edit taking dd/mm/aaaa (empty allowed) and a button opening a calendar.

    QDateEdit cannot be empty, and most dates on these forms may be unknown.
    """

    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.edit = QLineEdit(self)
        self.edit.setMaxLength(10)
        self.edit.setValidator(QRegularExpressionValidator(
            QRegularExpression(r"[0-9/.\-]{0,10}"), self.edit))
        self.edit.setFixedWidth(self.edit.fontMetrics().horizontalAdvance("00/00/00000") + 16)
        self.edit.textEdited.connect(self.changed)
        self.edit.editingFinished.connect(self._tidy)
        explain_rejected_input(self.edit, "date")
        self.button = QToolButton(self)
        self.button.setObjectName("calendarButton")
        self.button.setText("▾")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.clicked.connect(self._open_calendar)
        box = _hbox(self)
        box.addWidget(self.edit)
        box.addWidget(self.button)
        box.addStretch(1)
        self.setFocusProxy(self.edit)
        self._calendar: QCalendarWidget | None = None
        self.retranslate()

    def _tidy(self) -> None:
        tidy = format_typed_date(self.edit.text())
        if tidy != self.edit.text():
            self.edit.setText(tidy)
            self.changed.emit()

    def _open_calendar(self) -> None:
        if self._read_only:
            return
        cal = QCalendarWidget(self)
        cal.setWindowFlags(Qt.WindowType.Popup)
        cal.setObjectName("datePopup")
        current = parse_date(read_typed_date(self.edit.text()) or "")
        if current:
            cal.setSelectedDate(QDate(current.year, current.month, current.day))
        if self.field.not_future:
            cal.setMaximumDate(QDate.currentDate())
        cal.clicked.connect(self._picked)
        cal.activated.connect(self._picked)
        cal.move(self.edit.mapToGlobal(self.edit.rect().bottomLeft()))
        cal.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._calendar = cal
        cal.show()

    def _picked(self, qdate: QDate) -> None:
        self.edit.setText(f"{qdate.day():02d}/{qdate.month():02d}/{qdate.year()}")
        if self._calendar is not None:
            self._calendar.close()
            self._calendar = None
        self.changed.emit()
        self.edit.setFocus()

    def value(self):
        return read_typed_date(self.edit.text())

    def set_value(self, value) -> None:
        d = parse_date(value) if value else None
        self.edit.setText(d.strftime("%d/%m/%Y") if d else ("" if value is None else str(value)))

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self.edit.setReadOnly(read_only)
        self.button.setEnabled(not read_only)

    def retranslate(self) -> None:
        self.edit.setPlaceholderText(_(DATE_PLACEHOLDER))
        self.button.setToolTip(_("Elegir en el calendario"))

    def focus_widget(self) -> QWidget:
        return self.edit


class TimeEditor(FieldEditor):
    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.edit = QLineEdit(self)
        self.edit.setMaxLength(5)
        self.edit.setValidator(QRegularExpressionValidator(
            QRegularExpression(r"[0-9:]{0,5}"), self.edit))
        self.edit.setFixedWidth(self.edit.fontMetrics().horizontalAdvance("00:000") + 16)
        self.edit.textEdited.connect(self.changed)
        explain_rejected_input(self.edit, "time")
        box = _hbox(self)
        box.addWidget(self.edit)
        box.addStretch(1)
        self.setFocusProxy(self.edit)
        self.retranslate()

    def value(self):
        text = self.edit.text().strip()
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            return f"{int(m.group(1)):02d}:{m.group(2)}"
        return text or None

    def set_value(self, value) -> None:
        self.edit.setText("" if value is None else str(value))

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self.edit.setReadOnly(read_only)

    def retranslate(self) -> None:
        self.edit.setPlaceholderText(_(TIME_PLACEHOLDER))

    def focus_widget(self) -> QWidget:
        return self.edit


def read_number(text: str):
    """int or float from "45", "1,5" or "1.5"; None for blank; else the text as typed."""
    text = text.strip()
    if not text:
        return None
    try:
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return float(text.replace(",", "."))
    except ValueError:
        return text


class NumberEditor(FieldEditor):
    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.edit = QLineEdit(self)
        self.edit.setValidator(QRegularExpressionValidator(
            QRegularExpression(r"-?[0-9]*([.,][0-9]*)?"), self.edit))
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.edit.setFixedWidth(self.edit.fontMetrics().horizontalAdvance("0000000") + 16)
        self.edit.textEdited.connect(self.changed)
        explain_rejected_input(self.edit, "number", _(fld.unit) if fld.unit else "")
        self.unit = QLabel(self)
        self.unit.setObjectName("unitLabel")
        box = _hbox(self)
        box.addWidget(self.edit)
        box.addWidget(self.unit)
        box.addStretch(1)
        self.setFocusProxy(self.edit)
        self.retranslate()

    def value(self):
        return read_number(self.edit.text())

    def set_value(self, value) -> None:
        if value is None:
            self.edit.setText("")
        elif isinstance(value, float) and value.is_integer() and self.field.integer:
            self.edit.setText(str(int(value)))
        else:
            self.edit.setText(str(value))

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self.edit.setReadOnly(read_only)

    def retranslate(self) -> None:
        self.unit.setText(_(self.field.unit) if self.field.unit else "")
        self.unit.setVisible(bool(self.field.unit))

    def focus_widget(self) -> QWidget:
        return self.edit


class ChoiceEditor(FieldEditor):
    """A combo box whose first item is empty (no answer yet)."""

    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.combo = QComboBox(self)
        # Narrow enough for half a column; the open list is as wide as its longest label.
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(10)
        self.combo.addItem("", None)
        for choice in fld.choices:
            self.combo.addItem(_(choice.label), choice.value)
        self._fit_popup()
        self.combo.currentIndexChanged.connect(self._index_changed)
        self._setting = False
        box = _hbox(self)
        box.addWidget(self.combo, 1)
        self.setFocusProxy(self.combo)

    def _index_changed(self, _index: int) -> None:
        if not self._setting:
            self.changed.emit()

    def value(self):
        return self.combo.currentData()

    def set_value(self, value) -> None:
        self._setting = True
        try:
            index = self.combo.findData(value) if value is not None else 0
            if index < 0:
                # A value the definition no longer lists is kept, not silently dropped.
                self.combo.addItem(str(value), value)
                index = self.combo.count() - 1
            self.combo.setCurrentIndex(index)
        finally:
            self._setting = False

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self.combo.setEnabled(not read_only)

    def retranslate(self) -> None:
        for i in range(1, self.combo.count()):
            value = self.combo.itemData(i)
            self.combo.setItemText(i, _(self.field.choice_label(value)))
        self._fit_popup()

    def _fit_popup(self) -> None:
        metrics = self.combo.fontMetrics()
        widest = max((metrics.horizontalAdvance(self.combo.itemText(i))
                      for i in range(self.combo.count())), default=0)
        self.combo.view().setMinimumWidth(widest + 40)

    def focus_widget(self) -> QWidget:
        return self.combo


class MultiChoiceEditor(FieldEditor):
    """A grid of check boxes, in the definition's order."""

    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        columns = 1 if len(fld.choices) <= 3 else 2 if len(fld.choices) <= 8 else 3
        rows = -(-len(fld.choices) // columns)
        self.boxes: list[tuple[str, QCheckBox]] = []
        for i, choice in enumerate(fld.choices):
            box = QCheckBox(self)
            box.toggled.connect(self.changed)
            # Column-major, so the list reads down like the printed form.
            grid.addWidget(box, i % rows, i // rows)
            self.boxes.append((choice.value, box))
        for col in range(columns):
            grid.setColumnStretch(col, 1)
        if self.boxes:
            self.setFocusProxy(self.boxes[0][1])
        self.retranslate()

    def value(self):
        chosen = [value for value, box in self.boxes if box.isChecked()]
        return chosen or None

    def set_value(self, value) -> None:
        wanted = set(value or ())
        for v, box in self.boxes:
            box.blockSignals(True)
            box.setChecked(v in wanted)
            box.blockSignals(False)

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        for _v, box in self.boxes:
            box.setEnabled(not read_only)

    def retranslate(self) -> None:
        for value, box in self.boxes:
            box.setText(_(self.field.choice_label(value)))

    def focus_widget(self) -> QWidget:
        return self.boxes[0][1] if self.boxes else self


class YesNoEditor(FieldEditor):
    """Sí / No / Sin respuesta: an unanswered question is not a "no"."""

    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.yes, self.no, self.unknown = (QRadioButton(self) for _i in range(3))
        self.group = QButtonGroup(self)
        box = _hbox(self)
        box.setSpacing(16)
        for button in (self.yes, self.no, self.unknown):
            self.group.addButton(button)
            box.addWidget(button)
        box.addStretch(1)
        self.unknown.setChecked(True)
        self.group.buttonToggled.connect(self._toggled)
        self.setFocusProxy(self.yes)
        self.retranslate()

    def _toggled(self, _button, checked: bool) -> None:
        if checked:
            self.changed.emit()

    def value(self):
        if self.yes.isChecked():
            return True
        if self.no.isChecked():
            return False
        return None

    def set_value(self, value) -> None:
        self.group.blockSignals(True)
        target = self.yes if value is True else self.no if value is False else self.unknown
        target.setChecked(True)
        self.group.blockSignals(False)

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        for button in (self.yes, self.no, self.unknown):
            button.setEnabled(not read_only)

    def retranslate(self) -> None:
        self.yes.setText(_(YES))
        self.no.setText(_(NO))
        self.unknown.setText(_(NO_ANSWER))

    def focus_widget(self) -> QWidget:
        checked = self.group.checkedButton()
        return checked if checked is not None else self.yes


class QuickTextEditor(TextEditor):
    """A one-line editor for a long-text field (the services quick-add row)."""


def editor_for(fld: Field, parent: QWidget | None = None, *, one_line: bool = False
               ) -> FieldEditor:
    """The editor widget of a field type (signature and table are not handled here)."""
    from .place import PlaceEditor

    kinds = {"text": TextEditor, "longtext": QuickTextEditor if one_line else LongTextEditor,
             "date": DateEditor, "time": TimeEditor, "number": NumberEditor,
             "choice": ChoiceEditor, "multichoice": MultiChoiceEditor, "yesno": YesNoEditor,
             "place": PlaceEditor}
    return kinds[fld.type](fld, parent)


def tint(widget: QWidget, color: str, *, bold: bool = False, smaller: bool = False) -> None:
    """Text colour through the palette: per-widget style sheets make building a form slow."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(color))
    palette.setColor(QPalette.ColorRole.Text, QColor(color))
    widget.setPalette(palette)
    if bold or smaller:
        font = widget.font()
        if bold:
            font.setBold(True)
        if smaller:
            font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        widget.setFont(font)


def vbox(widget: QWidget, margins: int = 0, spacing: int = 4) -> QVBoxLayout:
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(margins, margins, margins, margins)
    layout.setSpacing(spacing)
    return layout
