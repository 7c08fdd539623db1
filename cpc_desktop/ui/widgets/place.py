"""The ubigeo picker: department → province → district, each with accent-free type-ahead.

People type "huanuco" or "canete"; the completer compares folded names (no case, no accents)
and puts the real name back in the box. The value is the INEI code of the deepest level
chosen (2, 4 or 6 digits).
"""
from __future__ import annotations

import functools
import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from ...core import ubigeo
from ...core.forms import Field
from ...core.i18n import N_, _
from .fields import FieldEditor, _hbox

FOLDED_ROLE = Qt.ItemDataRole.UserRole + 1
LEVEL_PLACEHOLDERS = (N_("Departamento"), N_("Provincia"), N_("Distrito"))


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


class FoldingCompleter(QCompleter):
    """Matches what is typed against folded names; shows and inserts the real names."""

    def splitPath(self, path: str) -> list[str]:  # noqa: N802 (Qt name)
        return [fold(path)]

    def pathFromIndex(self, index) -> str:  # noqa: N802 (Qt name)
        return index.data(Qt.ItemDataRole.DisplayRole) or ""


@functools.cache
def _entries(parent_code: str) -> tuple[tuple[str, str, str], ...]:
    """(name, code, folded name) of the places under a code ("" for departments)."""
    places = (ubigeo.departments() if parent_code == "" else ubigeo.provinces(parent_code)
              if len(parent_code) == 2 else ubigeo.districts(parent_code))
    return tuple((p.name, p.code, fold(p.name)) for p in places)


def preload() -> None:
    """Reads the ubigeo catalogue ahead of need (about 20 ms; safe on a worker thread), so
    building a form with a place field does not stall the window."""
    _entries("")


class PlaceCombo(QComboBox):
    """An editable combo of places of one level; typed text resolves to a place or reverts."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        self.parent_code: str | None = "-"
        completer = FoldingCompleter(self)
        completer.setModel(self.model())
        completer.setCompletionRole(FOLDED_ROLE)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.lineEdit().editingFinished.connect(self.resolve_typed)

    def set_places(self, parent_code: str | None) -> None:
        """The places under a code ("" for the departments; None for none)."""
        if parent_code == self.parent_code:
            if self.currentIndex() != 0:
                self.blockSignals(True)
                self.setCurrentIndex(0)
                self.blockSignals(False)
            return
        self.parent_code = parent_code
        self.blockSignals(True)
        self.clear()
        entries = _entries(parent_code) if parent_code is not None else ()
        self.addItems([""] + [name for name, _code, _folded in entries])
        self.setItemData(0, "", FOLDED_ROLE)
        for i, (_name, code, folded) in enumerate(entries, start=1):
            self.setItemData(i, code, Qt.ItemDataRole.UserRole)
            self.setItemData(i, folded, FOLDED_ROLE)
        self.setCurrentIndex(0)
        self.blockSignals(False)

    def code(self) -> str | None:
        return self.currentData()

    def set_code(self, code: str | None) -> None:
        index = self.findData(code) if code else 0
        self.setCurrentIndex(max(index, 0))

    def resolve_typed(self) -> None:
        """After typing: the place whose name matches (exactly, else the only one containing
        the text); blank clears; anything else goes back to the chosen place."""
        text = fold(self.currentText())
        if not text:
            if self.currentIndex() != 0:
                self.setCurrentIndex(0)
            return
        if fold(self.itemText(self.currentIndex())) == text:
            self.setEditText(self.itemText(self.currentIndex()))
            return
        names = [fold(self.itemText(i)) for i in range(self.count())]
        exact = [i for i, n in enumerate(names) if n == text]
        containing = [i for i, n in enumerate(names) if i and text in n]
        starting = [i for i in containing if names[i].startswith(text)]
        match = exact or (starting if len(starting) == 1 else containing if len(containing) == 1
                          else [])
        if match:
            self.setCurrentIndex(match[0])
            self.setEditText(self.itemText(match[0]))
        else:
            self.setEditText(self.itemText(self.currentIndex()))


class PlaceEditor(FieldEditor):
    def __init__(self, fld: Field, parent=None):
        super().__init__(fld, parent)
        self.department = PlaceCombo(self)
        self.province = PlaceCombo(self)
        self.district = PlaceCombo(self)
        self.combos = (self.department, self.province, self.district)
        box = _hbox(self)
        for combo in self.combos:
            box.addWidget(combo, 1)
        self.department.set_places("")
        self.province.set_places(None)
        self.district.set_places(None)
        self._setting = False
        self.department.currentIndexChanged.connect(self._department_changed)
        self.province.currentIndexChanged.connect(self._province_changed)
        self.district.currentIndexChanged.connect(self._district_changed)
        self.setFocusProxy(self.department)
        self._update_enabled()
        self.retranslate()

    def _department_changed(self, _index: int) -> None:
        self.province.set_places(self.department.code())
        self.district.set_places(None)
        self._update_enabled()
        self._emit()

    def _province_changed(self, _index: int) -> None:
        self.district.set_places(self.province.code())
        self._update_enabled()
        self._emit()

    def _district_changed(self, _index: int) -> None:
        self._emit()

    def _emit(self) -> None:
        if not self._setting:
            self.changed.emit()

    def _update_enabled(self) -> None:
        editable = not self._read_only
        self.department.setEnabled(editable)
        self.province.setEnabled(editable and self.department.code() is not None)
        self.district.setEnabled(editable and self.province.code() is not None)

    def value(self):
        for combo in reversed(self.combos):
            if combo.code():
                return combo.code()
        return None

    def set_value(self, value) -> None:
        self._setting = True
        try:
            code = value if isinstance(value, str) and ubigeo.is_valid(value) else None
            if code is None and self.value() is None:
                return  # already blank: most pickers of a record stay empty
            self.department.set_code(code[:2] if code else None)
            self.province.set_places(self.department.code())
            self.province.set_code(code[:4] if code and len(code) >= 4 else None)
            self.district.set_places(self.province.code())
            self.district.set_code(code if code and len(code) == 6 else None)
            self._update_enabled()
        finally:
            self._setting = False

    def set_read_only(self, read_only: bool) -> None:
        super().set_read_only(read_only)
        self._update_enabled()

    def retranslate(self) -> None:
        for combo, text in zip(self.combos, LEVEL_PLACEHOLDERS):
            combo.lineEdit().setPlaceholderText(_(text))
            combo.setToolTip(_(text))

    def focus_widget(self) -> QWidget:
        return self.department
