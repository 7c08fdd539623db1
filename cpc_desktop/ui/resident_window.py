"""A resident's record: one window, a tab per form, generated from the form definitions.

`open_resident(session, resident_id)` opens (or brings forward) the window of a resident;
`resident_id=None` starts a new resident with an empty intake form, and the window becomes
that resident's on its first save. Forms kept once per resident show one editor; forms kept
many times show a list (the services log as a table with a quick-add row) and the editor.

Nothing typed is lost: saving runs off the UI thread and a failure keeps the form as it was;
the core validator's messages appear under their fields; leaving a changed editor asks
"Guardar / Descartar / Cancelar"; before the vault locks every changed editor is saved as an
encrypted draft and the window closes, and after the next unlock the drafts are offered back.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import attachments, case_alerts, disclosure, display, forms, wording
from ..core.errors import ValidationError, VaultLocked
from ..core.forms import Field, Form, is_empty
from ..core.i18n import N_, _, ngettext
from ..core.ids import uuid7
from ..core.users import Action
from ..core.vault import Record
from .attachments_view import AttachmentsTab, HeaderPhoto, record_label
from .form_view import ERROR_COLOR, HELP_COLOR, FormView, give_back, take_view, warm_up
from .lang import language_bus
from .owner_field import drop_users, offer_users, owner_default
from .screen_fit import fit_to_screen
from .session import Session
from .tasks import run_task, show_error
from .widgets.fields import FieldEditor, editor_for, tint, vbox

DRAFT_PREFIX = "record:"
NOTE_PREVIEW = 80

_windows: dict[str, "ResidentWindow"] = {}     # resident id → its open window
_new_windows: set["ResidentWindow"] = set()    # windows of residents not saved yet


# ====================================================================== helpers

def ordered_forms() -> list[Form]:
    """The forms in the order of their printed codes (F01 intake … F06 consent)."""
    return sorted(forms.registry(), key=lambda f: (not f.opens_resident, f.code, f.form))


def quick_fields(form: Form) -> list[Field]:
    """A form's list columns and quick-add row, as its JSON declares them ("list_columns")."""
    return list(form.columns)


def draft_key(form_id: str, record_id: str | None, owner: str) -> str:
    return f"{DRAFT_PREFIX}{form_id}:{record_id or 'new'}:{owner}"


def _discard_drafts(vault, keys: set[str]) -> None:
    present = vault.drafts()
    for key in keys:
        if key in present:
            vault.discard_draft(key)


def ask_unsaved(parent: QWidget, on_answer: Callable[[str], None]) -> QMessageBox:
    """"Guardar / Descartar / Cancelar", non-blocking; on_answer gets save|discard|cancel."""
    box = QMessageBox(QMessageBox.Icon.Question, _("Cambios sin guardar"),
                      _("Hay cambios sin guardar. ¿Qué desea hacer con ellos?"),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("unsavedGuard")
    save = box.addButton(_("Guardar"), QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton(_("Descartar"), QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(_("Cancelar"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(save)
    box.setEscapeButton(cancel)
    answers = {save: "save", discard: "discard", cancel: "cancel"}

    def done(button) -> None:
        on_answer(answers.get(box.clickedButton(), "cancel"))

    box.buttonClicked.connect(done)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def confirm(parent: QWidget, title: str, text: str, yes: str,
            on_yes: Callable[[], None]) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton,
                      parent)
    box.setObjectName("confirmBox")
    ok = box.addButton(yes, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(_("Cancelar"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.buttonClicked.connect(lambda _b: box.clickedButton() is ok and on_yes())
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


# ====================================================================== history

AUDIT_ACTIONS = {"record.add": N_("Creó el registro"), "record.update": N_("Modificó el registro"),
                 "record.delete": N_("Eliminó el registro")}


class HistoryPanel(QWidget):
    """Who changed which field of a record, when, and to what; plus the audit entries."""

    def __init__(self, window: "ResidentWindow", form: Form, parent: QWidget | None = None):
        super().__init__(parent)
        self.window_ = window
        self.form = form
        self.record_id: str | None = None
        self._rows: list[tuple] = []
        layout = vbox(self, 0, 4)
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("historyTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(2, 240)
        header.setStretchLastSection(True)
        self.empty = QLabel(self)
        tint(self.empty, HELP_COLOR)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        self.retranslate_ui()

    def load(self, record_id: str | None) -> None:
        self.record_id = record_id
        self.table.setRowCount(0)
        self._rows = []
        vault = self.window_.session.vault
        if record_id is None or vault is None:
            self._fill()
            return

        def work(_progress):
            names = {u.name: u.display_name for u in vault.users()}
            return vault.history(record_id), vault.audit_log(record_id), names

        run_task(self, work, on_success=lambda r, rid=record_id: self._loaded(rid, *r),
                 show_progress=False, on_failure=lambda exc: self._fill())

    def _loaded(self, record_id, changes, entries, names) -> None:
        if record_id != self.record_id:
            return
        rows = []
        for ch in changes:
            label, value = self._describe(ch.field, ch.value)
            rows.append((ch.at, names.get(ch.user, ch.user), label, value, False))
        for entry in entries:
            text = _(AUDIT_ACTIONS.get(entry.action, entry.action))
            fields = entry.detail.get("fields") if entry.action == "record.update" else None
            detail = ", ".join(self._describe(f, None)[0] for f in fields or ())
            rows.append((entry.at, names.get(entry.user, entry.user), text, detail, True))
        rows.sort(key=lambda r: (r[0], not r[4]), reverse=True)
        self._rows = rows
        self._fill()

    def _describe(self, field_id: str, value) -> tuple[str, str]:
        label = wording.change_field(forms.registry(), self.form.form, field_id)
        if value is None or field_id == wording.DELETED_FIELD:
            return label, ""
        if self.form.has_field(field_id):
            return label, display.format_value(self.form.field(field_id), value)
        return label, str(value)

    def _fill(self) -> None:
        self.table.setRowCount(len(self._rows))
        for i, (at, who, label, value, is_audit) in enumerate(self._rows):
            for j, text in enumerate((display.format_moment(at), who, label, value)):
                item = QTableWidgetItem(text)
                if is_audit:
                    font = item.font()
                    font.setItalic(True)
                    item.setFont(font)
                self.table.setItem(i, j, item)
        self.table.resizeRowsToContents()
        self.empty.setVisible(not self._rows)

    def retranslate_ui(self) -> None:
        self.title.setText(_("Historial del registro"))
        self.table.setHorizontalHeaderLabels([_("Fecha y hora"), _("Usuario"), _("Campo"),
                                              _("Valor")])
        self.empty.setText(_("Sin cambios registrados todavía.") if self.record_id
                           else _("El historial aparece cuando el registro se guarda."))
        if self._rows:
            self._fill()


# ====================================================================== disclosures

class AccessLogDialog(QDialog):
    """The disclosure log of one resident: who opened, printed, packed or exported the file,
    when, what, and why when it was asked. Newest first."""

    def __init__(self, session: Session, resident_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("accessLogDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.session = session
        self.resident_id = resident_id
        self.rows: list[tuple[str, str, str, str, str]] = []
        layout = vbox(self, 8, 6)
        self.heading = QLabel(self, wordWrap=True)
        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("accessLogTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for col in (0, 1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel(self)
        tint(self.empty, HELP_COLOR)
        self.empty.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(buttons)
        session.locked.connect(self.reject)
        self.retranslate_ui()
        fit_to_screen(self, 900, 480)
        vault = session.vault

        def work(_p):
            names = {u.name: u.display_name for u in vault.users()}
            return disclosure.entries(vault, resident_id), names

        run_task(self, work, on_success=self._loaded, show_progress=False,
                 on_failure=lambda exc: show_error(self, exc))

    def _loaded(self, result) -> None:
        entries, names = result
        self.rows = []
        for e in reversed(entries):
            action, what, why = disclosure.describe(e)
            self.rows.append((display.format_moment(e.at), names.get(e.user, e.user), action,
                              what, why))
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        self.empty.setVisible(not self.rows)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Accesos al expediente"))
        self.heading.setText(_("Quién abrió, imprimió o exportó este expediente, y cuándo. "
                               "Cada entrada está firmada en el registro de auditoría."))
        self.table.setHorizontalHeaderLabels([_("Fecha y hora"), _("Usuario"), _("Acción"),
                                              _("Qué"), _("Motivo")])
        self.empty.setText(_("Nadie abrió, imprimió ni exportó todavía este expediente."))


# ====================================================================== saving a change

def changed_fields(form: Form, before: dict, after: dict) -> list[tuple[str, str, str]]:
    """(label, before, after) of each field whose value differs, in the form's order."""
    out = []
    for fld in form.fields:
        old, new = before.get(fld.id), after.get(fld.id)
        if (is_empty(old) and is_empty(new)) or old == new:
            continue

        def shown(value) -> str:
            if is_empty(value):
                return "—"
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return ngettext("{n} fila", "{n} filas", len(value)).format(n=len(value))
            text = " / ".join(p.strip() for p in display.format_value(fld, value).splitlines()
                              if p.strip())
            return text if len(text) <= 60 else text[:57] + "…"

        out.append((_(fld.label), shown(old), shown(new)))
    return out


def confirm_changes(parent: QWidget, changes: list[tuple[str, str, str]],
                    on_yes: Callable[[], None]) -> QMessageBox:
    """"Va a cambiar: …" with Guardar / Seguir editando, before a stored record changes."""
    lines = [f"• {label}: {old} → {new}" for label, old, new in changes[:15]]
    if len(changes) > 15:
        lines.append(_("… y {n} más").format(n=len(changes) - 15))
    box = QMessageBox(QMessageBox.Icon.Question, _("Confirmar los cambios"),
                      ngettext("Va a cambiar este campo del registro guardado:",
                               "Va a cambiar estos {n} campos del registro guardado:",
                               len(changes)).format(n=len(changes)) + "\n\n" + "\n".join(lines),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("confirmChanges")
    yes = box.addButton(_("Guardar"), QMessageBox.ButtonRole.AcceptRole)
    back = box.addButton(_("Seguir editando"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(yes)
    box.setEscapeButton(back)
    box.buttonClicked.connect(lambda _b: box.clickedButton() is yes and on_yes())
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


# ====================================================================== one record's editor

class RecordEditor(QWidget):
    """A FormView with Save / Cancel and a History panel, for one record of one form."""

    saved = Signal(object)          # the saved Record
    dirty_changed = Signal(bool)

    def __init__(self, window: "ResidentWindow", form: Form, parent: QWidget | None = None):
        super().__init__(parent)
        self.window_ = window
        self.form = form
        self.record: Record | None = None
        self.saving = False
        self.restored_key: str | None = None   # the draft these values came back from
        self.setObjectName(f"editor_{form.form}")
        layout = vbox(self, 0, 4)
        bar = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setObjectName("editorTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.history_button = QToolButton(self)
        self.history_button.setObjectName("historyButton")
        self.history_button.setCheckable(True)
        self.history_button.toggled.connect(self._toggle_history)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.history_button)
        layout.addLayout(bar)
        # An older or newer form version, and values no field of this version holds.
        self.version_note = QLabel(self)
        self.version_note.setObjectName("versionNote")
        self.version_note.setWordWrap(True)
        self.version_note.hide()
        layout.addWidget(self.version_note)
        # The history goes under the form: beside it, both would be too narrow to read.
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        # The current version's view (what is edited) and, while an older record is read,
        # one of the version it was written with: it is shown as it was filled in.
        self.stack = QStackedWidget(self.splitter)
        self.mode = "wide" if form.per_resident == "one" else "medium"
        self.view = take_view(form, self.stack, self.mode)
        self.stack.addWidget(self.view)
        offer_users(form, self.view.editor, self.window_.session.vault)
        self.old_view: FormView | None = None
        self.history: HistoryPanel | None = None    # made when first asked for
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)
        buttons = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setObjectName("saveStatus")
        self.save_button = QPushButton(self)
        self.save_button.setObjectName("saveButton")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda: self.save())
        self.cancel_button = QPushButton(self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.cancel)
        # A stored record opens for reading: a stray key or a click changes nothing.
        self.edit_button = QPushButton(self)
        self.edit_button.setObjectName("editButton")
        self.edit_button.clicked.connect(lambda: self.start_editing())
        self.reading = False
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.view.dirty_changed.connect(self._dirty_changed)
        self.set_read_only(window.read_only)
        self.retranslate_ui()

    # ------------------------------------------------------------ state
    @property
    def record_id(self) -> str | None:
        return self.record.id if self.record else None

    @property
    def dirty(self) -> bool:
        return self.view.dirty

    def _dirty_changed(self, dirty: bool) -> None:
        self._update_buttons()
        self.status.setText(_("Cambios sin guardar") if dirty else "")
        self.dirty_changed.emit(dirty)

    def _update_buttons(self) -> None:
        editable = not self.window_.read_only and not self.saving
        reading = self.reading and editable
        # A record from a newer form version stays as it came until this laptop updates.
        self.edit_button.setEnabled(not self._newer())
        self.edit_button.setVisible(reading)
        self.save_button.setVisible(not reading)
        self.cancel_button.setVisible(not reading)
        self.save_button.setEnabled(editable and (self.dirty or self.record is None))
        self.cancel_button.setEnabled(editable and (self.dirty or (
            self.record is not None and not self.reading)))

    def set_read_only(self, read_only: bool) -> None:
        self.view.set_read_only(read_only or self.reading)
        self._show_as_written()
        self._update_buttons()

    def set_reading(self, reading: bool) -> None:
        """Reading: the stored record shown read-only, with "Editar"; else editing."""
        self.reading = reading and self.record is not None and not self.window_.read_only
        self.view.set_read_only(self.window_.read_only or self.reading)
        self._show_as_written()
        self._show_version()
        self._update_buttons()

    @property
    def shown_view(self) -> FormView:
        return self.old_view if self.stack.currentWidget() is self.old_view and \
            self.old_view is not None else self.view

    def _written_form(self) -> Form | None:
        """The definition of an older record's version, when this program keeps it."""
        record, vault = self.record, self.window_.session.vault
        if record is None or vault is None or record.form_version >= self.form.version:
            return None
        old = vault.forms.at_version(self.form.form, record.form_version)
        return old if old is not self.form and old.version == record.form_version else None

    def _show_as_written(self) -> None:
        """An older record is read in its own version's layout and labels (as it prints);
        "Editar" brings the current version's, with the values upgraded."""
        old = self._written_form() if self.reading or self.window_.read_only else None
        if old is None or self.record is None:
            self.stack.setCurrentWidget(self.view)
            self.drop_old_view()
            return
        if self.old_view is None or self.old_view.form is not old:
            self.drop_old_view()
            self.old_view = FormView(old, self.stack, self.mode)
            self.old_view.setObjectName("writtenVersionView")
            self.stack.addWidget(self.old_view)
        self.old_view.set_values(self.record.values)
        self.old_view.set_read_only(True)
        self.stack.setCurrentWidget(self.old_view)

    def drop_old_view(self) -> None:
        """No decrypted value stays in the older version's view (lock, close, edit)."""
        if self.old_view is not None:
            self.old_view.set_values({})
            self.stack.removeWidget(self.old_view)
            self.old_view.deleteLater()
            self.old_view = None

    def _newer(self) -> bool:
        return self.record is not None and self.record.form_version > self.form.version

    def start_editing(self) -> None:
        if self.window_.read_only or self._newer():
            return
        vault = self.window_.session.vault
        notes = vault.upgrade_notes(self.record) if vault and self.record else ()
        if notes and self.record is not None:
            # Editing an older record upgrades it: said first, with what changes.
            box = QMessageBox(QMessageBox.Icon.Information,
                              _("Actualizar a la versión {n}").format(n=self.form.version),
                              _("Este registro se escribió con la versión {old} del formulario. "
                                "Al editarlo se actualiza a la versión {new}:").format(
                                  old=self.record.form_version, new=self.form.version)
                              + "\n\n" + "\n".join(f"• {n}" for n in notes),
                              QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
                              self)
            box.button(QMessageBox.StandardButton.Ok).setText(
                _("Actualizar a la versión {n}").format(n=self.form.version))
            box.button(QMessageBox.StandardButton.Cancel).setText(_("Cancelar"))
            self.confirm_box = box
            box.accepted.connect(self._edit_now)
            box.open()
            return
        self._edit_now()

    def _edit_now(self) -> None:
        self.set_reading(False)
        self.window_.focus_form()

    def _show_version(self) -> None:
        """The line above the form for a record of another version or with kept values."""
        record, form = self.record, self.form
        lines = []
        if record is not None and record.form_version > form.version:
            lines.append(_("Escrito con la versión {newer} del formulario en otro equipo; este "
                           "programa conoce la versión {known}. Se muestra tal como llegó, "
                           "solo para leer, hasta que actualice CPC Desktop.").format(
                newer=record.form_version, known=form.version))
        elif record is not None and record.form_version < form.version and \
                not self.reading and not self.window_.read_only:
            lines.append(_("Escrito con la versión {old} del formulario; se edita en la versión "
                           "{new}, y al guardar queda en ella.").format(
                old=record.form_version, new=form.version))
        elif record is not None and record.form_version < form.version:
            lines.append(_("Escrito con la versión {old} del formulario: se muestra y se "
                           "imprime así; al editarlo se actualiza a la versión {new}.").format(
                old=record.form_version, new=form.version))
        kept = form.kept(self._shown(record)) if record is not None else {}
        if kept and record is not None:
            reg = self.window_.session.vault.forms if self.window_.session.vault else None
            lines.append(_("Datos conservados de otra versión: {values}").format(
                values="; ".join(f"{reg.label_any(form.form, k) if reg else k}: "
                                 f"{v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                                 for k, v in kept.items())))
        self.version_note.setText("\n".join(lines))
        self.version_note.setVisible(bool(lines))

    def defaults(self) -> dict:
        """What a new record starts with: today's date and the signed-in person's name."""
        out = {}
        if self.form.has_field(self.form.date_field) and not self.form.opens_resident:
            out[self.form.date_field] = dt.date.today().isoformat()
        out.update(owner_default(self.form, self.window_.session.vault))
        return out

    def load_record(self, record: Record | None) -> None:
        """Shows a stored record for reading, or a new one for typing (defaults filled, not
        counted as a change)."""
        self.record = record
        self.view.set_values(self._shown(record) if record else self.defaults())
        self._update_title()
        self.set_reading(record is not None)     # and the version line
        if self.history is not None and self.history_button.isChecked():
            self.history.load(self.record_id)
        self.status.setText("")

    def _update_title(self) -> None:
        if self.record is None:
            self.title.setText(_("Nuevo registro: {form}").format(form=_(self.form.title)))
            return
        when = display.format_date(self.record.record_date) if self.record.record_date else ""
        self.title.setText(_("{form} del {date}").format(form=_(self.form.title), date=when)
                           if when else _(self.form.title))

    def _toggle_history(self, on: bool) -> None:
        if self.history is None:
            self.history = HistoryPanel(self.window_, self.form, self.splitter)
            self.splitter.addWidget(self.history)
        height = max(self.splitter.height(), 400)
        self.splitter.setSizes([height * 11 // 20, height * 9 // 20])
        self.history.setVisible(on)
        if on:
            self.history.load(self.record_id)

    def draft_key(self) -> str:
        owner = self.window_.resident_id or self.window_.new_key
        return draft_key(self.form.form, self.record_id, owner)

    def draft_payload(self) -> dict:
        return {"form": self.form.form, "record_id": self.record_id,
                "resident_id": self.window_.resident_id, "values": self.view.values()}

    # ------------------------------------------------------------ save / cancel
    confirm_box: QMessageBox | None = None

    def save(self, then: Callable[[], None] | None = None, *, confirmed: bool = False) -> None:
        """Validates and stores in the vault off the UI thread; on success calls `then`.
        A stored record's changed fields are shown first (before → after) to confirm.

        On a validation error the messages appear under the fields; on any other failure a
        message says why. The input stays as it was either way.
        """
        if self.saving or self.window_.read_only:
            return
        vault = self.window_.session.vault
        if vault is None:
            show_error(self, VaultLocked(_("La bóveda está bloqueada. Desbloquéela para "
                                           "continuar.")))
            return
        values = self.view.values()
        form, record_id = self.form, self.record_id
        if record_id and not confirmed:
            changes = changed_fields(form, self._shown(self.record), values)
            if changes:
                self.confirm_box = confirm_changes(self, changes,
                                                   lambda: self.save(then, confirmed=True))
                return
        resident_id = self.window_.resident_id
        keys = {self.draft_key(), self.restored_key} - {None}

        def work(_progress):
            if record_id:
                vault.update(record_id, values, replace=True)
                new_id = record_id
            else:
                new_id = vault.add(form.form, values,
                                   None if form.opens_resident else resident_id)
            record = vault.get(new_id)
            _discard_drafts(vault, keys)
            return record, vault.resident(record.resident_id)

        self.saving = True
        self._update_buttons()
        self.status.setText(_("Guardando…"))
        self.view.clear_errors()

        def ok(result) -> None:
            self.saving = False
            if self.window_.closed:
                return
            self.restored_key = None
            record, summary = result
            self.load_record(record)
            self.status.setText(_("Guardado."))
            self.window_.record_saved(self, record, summary)
            self.saved.emit(record)
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            self.saving = False
            if self.window_.closed:
                return
            self._update_buttons()
            self.status.setText(_("No se guardó."))
            if isinstance(exc, ValidationError):
                self.view.show_errors(exc.errors)
            else:
                show_error(self, exc)

        run_task(self, work, on_success=ok, on_failure=failed, label=_("Guardando…"))

    def cancel(self) -> None:
        """Drops the unsaved changes (and their draft, if one was kept); back to reading."""
        keys = {self.draft_key(), self.restored_key} - {None}
        self.restored_key = None
        self.revert()
        self.set_reading(True)
        vault = self.window_.session.vault
        if vault is not None:
            run_task(self, lambda _p: _discard_drafts(vault, keys), show_progress=False,
                     on_failure=lambda _e: None)

    def _shown(self, record: Record) -> dict:
        """An older record's values in this version's fields (as editing will store them)."""
        if record.form_version < self.form.version:
            return self.form.upgrade(record.values).values
        return record.values

    def revert(self) -> None:
        self.view.set_values(self._shown(self.record) if self.record else self.defaults())
        self.status.setText("")

    def retranslate_ui(self) -> None:
        self.save_button.setText(_("Guardar"))
        self.save_button.setToolTip(_("Guardar (Ctrl+S)"))
        self.cancel_button.setText(_("Cancelar"))
        self.cancel_button.setToolTip(_("Descartar los cambios no guardados"))
        self.edit_button.setText(_("&Editar"))
        self.edit_button.setToolTip(_("El registro se abre solo para leer; «Editar» permite "
                                      "cambiarlo"))
        self.history_button.setText(_("Historial"))
        self._update_title()
        if self.dirty:
            self.status.setText(_("Cambios sin guardar"))
        if self.history is not None:
            self.history.retranslate_ui()


# ====================================================================== record lists

class RecordListModel(QAbstractTableModel):
    """A resident's records of one form, newest first; one row per record, no widgets."""

    SORT_ROLE = Qt.ItemDataRole.UserRole

    def __init__(self, form: Form, fields: list[Field] | None, parent: QObject | None = None):
        super().__init__(parent)
        self.form = form
        self.fields = fields          # None: date + summary columns
        self.records: list[Record] = []

    def set_records(self, records: list[Record]) -> None:
        self.beginResetModel()
        self.records = sorted(records, key=lambda r: (r.record_date or "", r.id), reverse=True)
        self.endResetModel()

    def add(self, record: Record) -> int:
        keys = [(r.record_date or "", r.id) for r in self.records]
        key = (record.record_date or "", record.id)
        row = next((i for i, k in enumerate(keys) if k < key), len(keys))
        self.beginInsertRows(QModelIndex(), row, row)
        self.records.insert(row, record)
        self.endInsertRows()
        return row

    def row_of(self, record_id: str) -> int:
        return next((i for i, r in enumerate(self.records) if r.id == record_id), -1)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else (len(self.fields) if self.fields else 2)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if self.fields:
            return _(self.fields[section].label)
        return (_(self.form.field(self.form.date_field).label), _("Resumen"))[section]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self.records[index.row()]
        if role == self.SORT_ROLE:
            if self.fields:
                value = record.values.get(self.fields[index.column()].id)
                return "" if value is None else value if isinstance(value, str) else str(value)
            return record.record_date or "" if index.column() == 0 else self._summary(record)
        if role == Qt.ItemDataRole.DisplayRole:
            if self.fields:
                fld = self.fields[index.column()]
                text = display.format_value(fld, record.values.get(fld.id))
                if fld.type == "longtext":
                    text = " ".join(text.split())
                    if len(text) > NOTE_PREVIEW:
                        text = text[:NOTE_PREVIEW - 1] + "…"
                return text
            if index.column() == 0:
                return display.format_date(record.record_date)
            return self._summary(record)
        if role == Qt.ItemDataRole.ToolTipRole and self.fields:
            fld = self.fields[index.column()]
            if fld.type == "longtext":
                return display.format_value(fld, record.values.get(fld.id)) or None
        return None

    def _summary(self, record: Record) -> str:
        """The first three answered choice fields: enough to tell records apart."""
        parts = []
        for fld in self.form.fields:
            if fld.type == "choice" and record.values.get(fld.id):
                parts.append(display.format_value(fld, record.values[fld.id]))
                if len(parts) == 3:
                    break
        return " · ".join(parts)

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(self.columnCount() - 1, 0))
        if self.records:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.records) - 1, self.columnCount() - 1))


class QuickAddRow(QWidget):
    """One line to log a service: the quick fields, Enter or "Agregar" to add."""

    def __init__(self, tab: "ManyFormTab", fields: list[Field], parent: QWidget | None = None):
        super().__init__(parent)
        self.tab = tab
        self.fields = fields
        self.setObjectName("quickAdd")
        outer = vbox(self, 0, 2)
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        outer.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.editors: dict[str, FieldEditor] = {}
        self.labels: dict[str, QLabel] = {}
        for fld in fields:
            cell = QWidget(self)
            cl = vbox(cell, 0, 1)
            label = QLabel(cell)
            editor = editor_for(fld, cell, one_line=True)
            editor.focus_widget().installEventFilter(self)
            cl.addWidget(label)
            cl.addWidget(editor)
            stretch = 3 if fld.type in ("longtext", "text") else 1
            row.addWidget(cell, stretch)
            self.editors[fld.id] = editor
            self.labels[fld.id] = label
        self.add_button = QPushButton(self)
        self.add_button.setObjectName("quickAddButton")
        self.add_button.clicked.connect(self.add)
        row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(row)
        self.error = QLabel(self)
        self.error.setObjectName("quickAddError")
        self.error.setWordWrap(True)
        tint(self.error, ERROR_COLOR, bold=True)
        self.error.hide()
        outer.addWidget(self.error)
        self.busy = False
        self.reset_defaults()
        self.retranslate_ui()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return,
                                                                   Qt.Key.Key_Enter):
            self.add()
            return True
        return False

    def reset_defaults(self) -> None:
        for fid, value in self._defaults().items():
            if fid in self.editors:
                self.editors[fid].set_value(value)

    def _defaults(self) -> dict:
        out = {}
        form = self.tab.form
        out[form.date_field] = dt.date.today().isoformat()
        out.update(owner_default(form, self.tab.window_.session.vault))
        return out

    def values(self) -> dict:
        out = {}
        for fid, editor in self.editors.items():
            value = editor.value()
            if not is_empty(value):
                out[fid] = value
        return out

    @property
    def dirty(self) -> bool:
        """Typed something beyond the defaults (what a lock must not lose)."""
        defaults = self._defaults()
        return any(v != defaults.get(k) for k, v in self.values().items())

    def set_enabled_for(self, editable: bool) -> None:
        for editor in self.editors.values():
            editor.set_read_only(not editable)
        self.add_button.setEnabled(editable)

    def add(self) -> None:
        window = self.tab.window_
        if self.busy or window.read_only or window.resident_id is None:
            return
        vault = window.session.vault
        if vault is None:
            show_error(self, VaultLocked(_("La bóveda está bloqueada. Desbloquéela para "
                                           "continuar.")))
            return
        values, form_id, resident_id = self.values(), self.tab.form.form, window.resident_id

        def work(_p):
            record_id = vault.add(form_id, values, resident_id)
            return vault.get(record_id), vault.resident(resident_id)

        self.busy = True
        self.add_button.setEnabled(False)

        def ok(result) -> None:
            self.busy = False
            self.add_button.setEnabled(True)
            record, summary = result
            self.error.hide()
            for fld in self.fields:
                if fld.id not in self._defaults():
                    self.editors[fld.id].clear()
            first_free = next((f for f in self.fields if f.id not in self._defaults()), None)
            if first_free is not None:
                self.editors[first_free.id].focus_widget().setFocus()
            self.tab.record_added(record)
            window.record_saved(None, record, summary)

        def failed(exc: BaseException) -> None:
            self.busy = False
            self.add_button.setEnabled(True)
            if isinstance(exc, ValidationError):
                self.error.setText("\n".join(str(e) for e in exc.errors))
                self.error.show()
                first = next((e.field for e in exc.errors if e.field in self.editors), None)
                if first:
                    self.editors[first].focus_widget().setFocus()
            else:
                show_error(self, exc)

        run_task(self, work, on_success=ok, on_failure=failed, label=_("Guardando…"))

    def retranslate_ui(self) -> None:
        self.title.setText(_("Registrar una atención (Enter para agregar)")
                           if self.tab.form.role == "services_log"
                           else _("Nuevo registro (Enter para agregar)"))
        for fld in self.fields:
            label = _(fld.label) + (" *" if fld.required else "")
            self.labels[fld.id].setText(label)
            self.editors[fld.id].retranslate()
        self.add_button.setText(_("Agregar"))


# ====================================================================== tabs

class FormTab(QWidget):
    """Base of a form's tab; the editor is built the first time it is needed."""

    def __init__(self, window: "ResidentWindow", form: Form, parent: QWidget | None = None):
        super().__init__(parent)
        self.window_ = window
        self.form = form
        self.editor: RecordEditor | None = None
        self.setObjectName(f"tab_{form.form}")

    def ensure_editor(self) -> RecordEditor:
        raise NotImplementedError

    @property
    def dirty(self) -> bool:
        return self.editor is not None and self.editor.dirty

    def editors(self) -> list[RecordEditor]:
        return [self.editor] if self.editor is not None else []

    def set_records(self, records: list[Record]) -> None:
        raise NotImplementedError

    def apply_read_only(self) -> None:
        if self.editor is not None:
            self.editor.set_read_only(self.window_.read_only)

    def retranslate_ui(self) -> None:
        if self.editor is not None:
            self.editor.retranslate_ui()

    def restore(self, record_id: str | None, values: dict) -> None:
        raise NotImplementedError

    def unsaved_payloads(self) -> list[tuple[str, dict]]:
        return [(e.draft_key(), e.draft_payload()) for e in self.editors() if e.dirty]


class SingleFormTab(FormTab):
    """A form kept once per resident (intake, discharge): its editor fills the tab."""

    def __init__(self, window, form, parent=None):
        super().__init__(window, form, parent)
        self.layout_ = vbox(self, 6, 4)
        self.record: Record | None = None
        self.loaded = False

    def ensure_editor(self) -> RecordEditor:
        if self.editor is None:
            self.editor = RecordEditor(self.window_, self.form, self)
            self.layout_.addWidget(self.editor)
            self.editor.load_record(self.record)
        return self.editor

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.loaded or self.window_.resident_id is None:
            self.ensure_editor()
        super().showEvent(event)

    def set_records(self, records: list[Record]) -> None:
        self.loaded = True
        self.record = records[0] if records else None
        if self.editor is not None and not self.editor.dirty and not self.editor.saving:
            self.editor.load_record(self.record)
        elif self.isVisible():
            self.ensure_editor()

    def restore(self, record_id, values) -> RecordEditor:
        editor = self.ensure_editor()
        editor.set_reading(False)
        editor.view.apply_values(values)
        return editor


class ManyFormTab(FormTab):
    """A form kept many times (PTI, services, follow-ups, consents): a list and the editor."""

    def __init__(self, window, form, parent=None):
        super().__init__(window, form, parent)
        self.as_table = bool(form.list_columns)   # a log shown as a table of records
        self.columns = quick_fields(form) if self.as_table else None
        self.model = RecordListModel(form, self.columns, self)
        self.built = False
        self.quick: QuickAddRow | None = None

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.build()
        super().showEvent(event)

    def build(self) -> None:
        """Makes the tab's widgets the first time it is shown (opening a window stays quick)."""
        if self.built:
            return
        self.built = True
        as_table, columns = self.as_table, self.columns
        outer = vbox(self, 6, 4)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        outer.addWidget(self.splitter)
        left = QWidget(self.splitter)
        ll = vbox(left, 0, 4)
        if as_table:
            self.quick = QuickAddRow(self, columns, left)
            ll.addWidget(self.quick)
        self.table = QTableView(left)
        self.table.setObjectName("recordList")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(110)
        header.setResizeContentsPrecision(40)  # fit widths on a few rows, not all 500
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.table.activated.connect(lambda _i: self.open_selected())
        # A click shows the record beside the list (unsaved input is asked about first).
        self.table.clicked.connect(lambda _i: self.open_selected())
        ll.addWidget(self.table, 1)
        self.empty = QLabel(left)
        tint(self.empty, HELP_COLOR)
        ll.addWidget(self.empty)
        buttons = QHBoxLayout()
        self.new_button = QPushButton(left)
        self.new_button.setObjectName("newButton")
        self.new_button.clicked.connect(self.new_record)
        self.open_button = QPushButton(left)
        self.open_button.setObjectName("openButton")
        self.open_button.clicked.connect(self.open_selected)
        self.delete_button = QPushButton(left)
        self.delete_button.setObjectName("deleteButton")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        ll.addLayout(buttons)
        self.right = QWidget(self.splitter)
        self.right_layout = vbox(self.right, 0, 4)
        self.placeholder = QLabel(self.right)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        tint(self.placeholder, HELP_COLOR)
        self.right_layout.addWidget(self.placeholder)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 1 if as_table else 1)
        self.splitter.setStretchFactor(1, 1 if as_table else 2)
        self.splitter.setSizes([1000, 1000] if as_table else [700, 1300])
        if as_table:
            # The register uses the whole width until a record is opened beside it.
            self.right.hide()
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())
        self._fit_columns()
        self.apply_read_only()
        self.retranslate_ui()

    # ------------------------------------------------------------ list
    def set_records(self, records: list[Record]) -> None:
        selected = self.selected_id()
        self.model.set_records(records)
        if not self.built:
            return
        self._fit_columns()
        if selected:
            self.select(selected)
        if self.editor is not None and self.editor.record is not None \
                and not self.editor.dirty and not self.editor.saving:
            fresh = next((r for r in records if r.id == self.editor.record_id), None)
            if fresh is not None:
                self.editor.load_record(fresh)
        self._update_buttons()

    def _fit_columns(self) -> None:
        """Every title whole; contents fitted on the first rows only (500 rows would cost a
        paint each) up to a cap; the last column (the note) takes the rest of the width."""
        header = self.table.horizontalHeader()
        fm = header.fontMetrics()
        for col in range(self.model.columnCount() - 1):
            title = str(self.model.headerData(col, Qt.Orientation.Horizontal) or "")
            needed = fm.horizontalAdvance(title) + 28     # margins and the sort arrow
            if self.model.records:
                self.table.resizeColumnToContents(col)
                width = max(needed, min(self.table.columnWidth(col), 220))
            else:
                width = needed
            self.table.setColumnWidth(col, width)

    def record_added(self, record: Record) -> None:
        row = self.model.add(record)
        if not self.built:
            return
        self.table.scrollTo(self.model.index(row, 0))
        self._update_buttons()

    def selected_id(self) -> str | None:
        if not self.built:
            return None
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.records[rows[0].row()].id

    def select(self, record_id: str) -> None:
        self.build()
        row = self.model.row_of(record_id)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def _update_buttons(self) -> None:
        if not self.built:
            return
        editable = not self.window_.read_only and self.window_.resident_id is not None
        has_selection = self.selected_id() is not None
        self.new_button.setEnabled(editable)
        self.open_button.setEnabled(has_selection)
        self.delete_button.setEnabled(has_selection and self.window_.can_delete)
        self.empty.setVisible(not self.model.records)

    # ------------------------------------------------------------ editor
    def ensure_editor(self) -> RecordEditor:
        self.build()
        if self.right.isHidden():
            self.right.show()
            total = max(self.splitter.width(), 2)
            self.splitter.setSizes([total // 2, total - total // 2])
        if self.editor is None:
            self.placeholder.hide()
            self.editor = RecordEditor(self.window_, self.form, self.right)
            self.editor.saved.connect(self._saved)
            self.right_layout.addWidget(self.editor)
        return self.editor

    def _saved(self, record: Record) -> None:
        row = self.model.row_of(record.id)
        if row < 0:
            self.record_added(record)
        else:
            self.model.records[row] = record
            self.model.dataChanged.emit(self.model.index(row, 0),
                                        self.model.index(row, self.model.columnCount() - 1))
        self.select(record.id)

    def new_record(self) -> None:
        if self.window_.read_only:
            return
        self.window_.guard(self.editor, lambda: self._show(None))

    def open_selected(self) -> None:
        record_id = self.selected_id()
        if record_id is None:
            return
        if self.editor is not None and self.editor.record_id == record_id:
            return
        self.window_.guard(self.editor, lambda: self._show(record_id))

    def open_record(self, record_id: str | None) -> RecordEditor:
        """Shows a record (or a new one) without asking: callers checked for changes."""
        self._show(record_id)
        return self.editor

    def _show(self, record_id: str | None) -> None:
        editor = self.ensure_editor()
        record = None
        if record_id is not None:
            row = self.model.row_of(record_id)
            record = self.model.records[row] if row >= 0 else None
            if record is not None:
                self.select(record_id)
        editor.load_record(record)
        editor.shown_view.setFocus()

    def delete_selected(self) -> None:
        record_id = self.selected_id()
        if record_id is None or not self.window_.can_delete:
            return

        def really() -> None:
            vault = self.window_.session.vault
            if vault is None:
                return

            def work(_p):
                vault.delete(record_id)
                return vault.resident(self.window_.resident_id)

            def ok(summary) -> None:
                row = self.model.row_of(record_id)
                if row >= 0:
                    self.model.beginRemoveRows(QModelIndex(), row, row)
                    self.model.records.pop(row)
                    self.model.endRemoveRows()
                if self.editor is not None and self.editor.record_id == record_id:
                    self.editor.load_record(None)
                self._update_buttons()
                self.window_.record_saved(None, None, summary, record_id)

            run_task(self, work, on_success=ok, label=_("Eliminando…"))

        confirm(self, _("Eliminar registro"),
                _("¿Eliminar este registro? Quedará en el historial como eliminado y ya no "
                  "aparecerá en la lista."), _("Eliminar"), really)

    def editors(self) -> list[RecordEditor]:
        return [self.editor] if self.editor is not None else []

    def unsaved_payloads(self) -> list[tuple[str, dict]]:
        out = super().unsaved_payloads()
        if self.quick is not None and self.quick.dirty and self.window_.resident_id:
            owner = self.window_.resident_id
            out.append((draft_key(self.form.form, None, owner) + ":quick",
                        {"form": self.form.form, "record_id": None,
                         "resident_id": owner, "values": self.quick.values()}))
        return out

    def restore(self, record_id, values) -> RecordEditor:
        editor = self.open_record(record_id)
        editor.set_reading(False)
        editor.view.apply_values(values)
        return editor

    def apply_read_only(self) -> None:
        super().apply_read_only()
        if not self.built:
            return
        if self.quick is not None:
            self.quick.set_enabled_for(not self.window_.read_only)
            self.quick.setVisible(not self.window_.read_only)  # nothing a reader can do there
        self._update_buttons()

    def retranslate_ui(self) -> None:
        super().retranslate_ui()
        self.model.retranslate()
        if not self.built:
            return
        self.new_button.setText(_("Nuevo"))
        self.open_button.setText(_("Abrir"))
        self.delete_button.setText(_("Eliminar"))
        self.placeholder.setText(_("Elija un registro de la lista.") if self.window_.read_only
                                 else _("Elija un registro de la lista o cree uno nuevo."))
        self.empty.setText(_("Todavía no hay registros."))
        self._fit_columns()      # titles are longer in Quechua
        if self.quick is not None:
            self.quick.retranslate_ui()
        self._fit_columns()  # headers change width with the language


# ====================================================================== the window

class ResidentWindow(QWidget):
    """The record of one resident. Use open_resident(); see the module docstring."""

    loaded = Signal()

    def __init__(self, session: Session, resident_id: str | None,
                 parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("residentWindow")
        self.session = session
        self.resident_id = resident_id
        self.new_key = uuid7()
        self.summary = None
        self.is_loaded = False
        self.closed = False
        self._force_close = False
        self._closing = False
        self._pending_drafts: list[tuple[str, dict]] = []
        vault = session.vault
        self.read_only = vault is None or not vault.user.can(Action.WRITE)
        self.can_delete = vault is not None and vault.user.can(Action.DELETE)

        layout = vbox(self, 8, 6)
        header = QHBoxLayout()
        self.code_label = QLabel(self)
        self.code_label.setObjectName("residentCode")
        font = self.code_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.code_label.setFont(font)
        self.names_label = QLabel(self)
        self.names_label.setObjectName("residentNames")
        self.names_label.setFont(font)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("residentStatus")
        self.risk_label = QLabel(self)
        self.risk_label.setObjectName("residentRisk")
        self.readonly_label = QLabel(self)
        self.readonly_label.setObjectName("readOnlyNotice")
        tint(self.readonly_label, "#8a4b00", bold=True)
        self.readonly_label.setVisible(self.read_only)
        header.addWidget(self.code_label)
        header.addSpacing(12)
        # Status and risk under the names, not beside them: in one row with the buttons the
        # Quechua header was wider than a 1280 px screen.
        identity = QVBoxLayout()
        identity.setSpacing(0)
        identity.addWidget(self.names_label)
        facts = QHBoxLayout()
        facts.addWidget(self.status_label)
        facts.addSpacing(12)
        facts.addWidget(self.risk_label)
        facts.addStretch(1)
        identity.addLayout(facts)
        header.addLayout(identity, 1)
        header.addWidget(self.readonly_label)
        self.print_button = QPushButton(self)
        self.print_button.setObjectName("printResident")
        self.print_button.clicked.connect(lambda: self.print_dialog("print"))
        self.save_pdf_button = QPushButton(self)
        self.save_pdf_button.setObjectName("savePdfResident")
        self.save_pdf_button.clicked.connect(lambda: self.print_dialog("save"))
        self.access_button = QPushButton(self)
        self.access_button.setObjectName("accessLogButton")
        self.access_button.clicked.connect(lambda: self.show_access_log())
        self.access_button.setVisible(vault is not None and disclosure.can_list(vault)
                                      and resident_id is not None)
        header.addSpacing(12)
        header.addWidget(self.print_button)
        header.addWidget(self.save_pdf_button)
        header.addWidget(self.access_button)
        self.help_button = QPushButton(self)
        self.help_button.setObjectName("helpButton")
        self.help_button.clicked.connect(lambda: self.show_guide())
        header.addWidget(self.help_button)
        layout.addLayout(header)
        # The case's alerts ("no contactar a…", "audiencia el …"), from the intake form.
        self.alerts_label = QLabel(self)
        self.alerts_label.setObjectName("residentAlerts")
        self.alerts_label.setWordWrap(True)
        self.alerts_label.setStyleSheet("background: #fdecea; color: #b00020; padding: 4px 8px;"
                                        " border: 1px solid #f5c2c0; font-weight: bold;")
        self.alerts_label.hide()
        layout.addWidget(self.alerts_label)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("formTabs")
        self.form_tabs: list[FormTab] = []
        for form in ordered_forms():
            tab = SingleFormTab(self, form) if form.per_resident == "one" \
                else ManyFormTab(self, form)
            self.form_tabs.append(tab)
            self.tabs.addTab(tab, "")
        self.attachments_tab = AttachmentsTab(self)
        self.tabs.addTab(self.attachments_tab, "")
        # "Ver foto" at the end of the tab row: the header is already full in Quechua, and
        # the tab bar scrolls instead of widening the window.
        self.header_photo = HeaderPhoto(self, self)
        self._current = 0
        self.tabs.currentChanged.connect(self._tab_changed)
        # Fifteen forms do not fit in one row of tabs at 1280 px: the row scrolls, and this
        # menu reaches any form in one click.
        self.tabs.setUsesScrollButtons(True)
        self.forms_button = QToolButton(self.tabs)
        self.forms_button.setObjectName("formMenu")
        self.forms_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.forms_menu = QMenu(self.forms_button)
        self.forms_menu.aboutToShow.connect(self._fill_forms_menu)
        self.forms_button.setMenu(self.forms_menu)
        # One corner, two widgets: the forms menu and "Ver foto".
        corner = QWidget(self.tabs)
        corner_row = QHBoxLayout(corner)
        corner_row.setContentsMargins(0, 0, 0, 0)
        corner_row.setSpacing(4)
        corner_row.addWidget(self.forms_button)
        corner_row.addWidget(self.header_photo)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        layout.addWidget(self.tabs, 1)

        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save_current)
        QShortcut(QKeySequence.StandardKey.Print, self, activated=lambda: self.print_dialog())
        # Escape and Ctrl+W close the window; unsaved input is asked about as on any close.
        for keys in (QKeySequence(Qt.Key.Key_Escape), QKeySequence.StandardKey.Close):
            QShortcut(keys, self, activated=self.close)
        session.locking.connect(self.save_drafts)
        session.locked.connect(self.close_for_lock)
        session.changed.connect(self._vault_changed)
        language_bus().changed.connect(self.retranslate_ui)

        if resident_id is None:
            for i in range(1, self.tabs.count()):
                self.tabs.setTabEnabled(i, False)
            self.intake_tab.ensure_editor()
            self.is_loaded = True
        self.retranslate_ui()
        fit_to_screen(self, 1280, 760)
        if resident_id is not None:
            self.reload()

    # ------------------------------------------------------------ access
    @property
    def intake_tab(self) -> SingleFormTab:
        return self.form_tabs[0]

    def tab_for(self, form_id: str) -> FormTab:
        return next(t for t in self.form_tabs if t.form.form == form_id)

    def editors(self) -> list[RecordEditor]:
        return [e for tab in self.form_tabs for e in tab.editors()]

    def current_form_tab(self) -> FormTab | None:
        """The form tab shown, or None on the attachments tab."""
        index = self.tabs.currentIndex()
        return self.form_tabs[index] if 0 <= index < len(self.form_tabs) else None

    def record_choices(self) -> list[tuple[str, str]]:
        """(record id, "Form — date") of the resident's records loaded in the tabs, for
        attaching a file to one of them."""
        out = []
        for tab in self.form_tabs:
            records = ([tab.record] if isinstance(tab, SingleFormTab) and tab.record else
                       tab.model.records if isinstance(tab, ManyFormTab) else [])
            out += [(r.id, record_label(tab.form, r.record_date)) for r in records]
        return out

    @property
    def dirty(self) -> bool:
        return any(tab.dirty for tab in self.form_tabs)

    # ------------------------------------------------------------ loading
    def reload(self) -> None:
        vault = self.session.vault
        if vault is None or self.resident_id is None:
            return
        resident_id = self.resident_id
        first = not self.is_loaded

        def work(_p):
            found = (vault.resident(resident_id), vault.records(resident_id),
                     attachments.list_for(vault, resident_id))
            if first:
                disclosure.record(vault, disclosure.OPEN, [resident_id])
            return found

        run_task(self, work, on_success=self._loaded, show_progress=False,
                 on_failure=lambda exc: None if self.closed else show_error(self, exc))

    def _loaded(self, result) -> None:
        if self.closed:
            return
        summary, records, attached = result
        self.summary = summary
        self._show_alerts(next((r for r in records if r.form == forms.registry().intake.form),
                               None))
        by_form: dict[str, list[Record]] = {}
        for record in records:
            by_form.setdefault(record.form, []).append(record)
        for tab in self.form_tabs:
            tab.set_records(by_form.get(tab.form.form, []))
        self._set_attachments(attached)
        self.is_loaded = True
        self._update_header()
        if self.isActiveWindow() and not self.isAncestorOf(QApplication.focusWidget()):
            self.focus_form()
        pending, self._pending_drafts = self._pending_drafts, []
        for key, data in pending:
            self.restore_draft(key, data)
        self.loaded.emit()

    def _show_alerts(self, intake: Record | None) -> None:
        found = case_alerts.lines(intake.values.get(case_alerts.FIELD)) if intake else []
        self._alerts = found
        self.alerts_label.setVisible(bool(found))
        self.alerts_label.setText("⚠ " + _("Alertas: {alerts}").format(
            alerts=" · ".join(found)) if found else "")

    _alerts: list[str] = []

    def _set_attachments(self, items: list) -> None:
        self.attachments_tab.set_items(items)
        self.header_photo.set_photo(next((a for a in items
                                          if a.kind == attachments.PHOTO_KIND), None))
        self._attachments_title()

    def _attachments_title(self) -> None:
        n = len(self.attachments_tab.items)
        self.tabs.setTabText(self.tabs.indexOf(self.attachments_tab),
                             _("Adjuntos ({n})").format(n=n) if n else _(wording.ATTACHMENTS))

    def attachments_changed(self) -> None:
        """After adding or removing one: the list read again (on a worker)."""
        vault = self.session.vault
        if vault is None or self.resident_id is None or self.closed:
            return
        resident_id = self.resident_id
        run_task(self, lambda _p: attachments.list_for(vault, resident_id),
                 on_success=lambda items: None if self.closed else self._set_attachments(items),
                 show_progress=False,
                 on_failure=lambda exc: None if self.closed else show_error(self, exc))

    def _update_header(self) -> None:
        s = self.summary
        if s is None:
            self.code_label.setText(_("Residente nuevo") if self.resident_id is None
                                    else _("Cargando…"))
            self.names_label.setText("")
            self.status_label.setText("")
            self.risk_label.setText("")
            self.setWindowTitle(_("Residente nuevo") + " — CPC")
            return
        names = " ".join(p for p in (s.name_first, s.name_last) if p)
        if s.name_nickname:
            names += f" («{s.name_nickname}»)"
        self.code_label.setText(s.internal_code)
        self.names_label.setText(names)
        self.status_label.setText(_("Estado: {status}").format(
            status=display.format_status(s.status)))
        risk = ""
        intake = forms.registry().intake
        if s.risk_level and intake.has_field("risk_level"):
            risk = display.format_value(intake.field("risk_level"), s.risk_level)
        self.risk_label.setText(_("Riesgo: {level}").format(level=risk or "—"))
        colors = {"high": "#b00020", "medium": "#8a4b00"}
        tint(self.risk_label, colors.get(s.risk_level, "#1b5e20"), bold=True)
        self.setWindowTitle(f"{s.internal_code} — CPC")

    # ------------------------------------------------------------ printing
    def print_dialog(self, action: str = "print"):
        """"Imprimir…" / "Guardar como PDF…": the record on screen (as typed, if changed),
        the resident's saved records of a form, or the blank form."""
        from .print_dialogs import FormPrintDialog, OnScreen

        if self.session.vault is None:
            return None
        tab = self.current_form_tab() or self.intake_tab
        editor = tab.editor
        on_screen = None
        if editor is not None and tab is self.current_form_tab() and (
                editor.record is not None or editor.dirty):
            on_screen = OnScreen(tab.form.form, editor.record_id,
                                 editor.view.values() if editor.dirty or editor.record is None
                                 else None)
        code = self.summary.internal_code if self.summary is not None else None
        dialog = FormPrintDialog(self.session, self, resident_id=self.resident_id,
                                 resident_code=code, on_screen=on_screen, form_id=tab.form.form,
                                 action=action)
        dialog.open()
        return dialog

    def show_item(self, form_id: str | None, record_id: str | None = None,
                  field: str | None = None, row: int | None = None) -> None:
        """The tab of a form, its record `record_id` and the field (a table's cell: `row`)
        in view with the keyboard in it: where a Pendientes item points. Waits for the
        records when they are still loading."""
        tab = next((t for t in self.form_tabs if t.form.form == form_id), None)
        if tab is None:
            return
        self.tabs.setCurrentWidget(tab)
        if not self.is_loaded:
            def later() -> None:
                self.loaded.disconnect(later)
                self.show_item(form_id, record_id, field, row)
            self.loaded.connect(later)
            return

        def reveal() -> None:
            editor = tab.editor
            if editor is None or field is None:
                return
            table = next((t for t, f in tab.form.due_fields if t and f.id == field), None)
            path = f"{table.id}[{row}].{field}" if table is not None and row is not None \
                else field
            view = editor.shown_view
            if view.reveal_field(path):
                # The window may be activated only now (no window manager gives it at once),
                # and activation puts the keyboard on its first button: once more, later.
                box = view.box(path)
                QTimer.singleShot(300, self, lambda: box is not None and self.isActiveWindow()
                                  and not box.isAncestorOf(QApplication.focusWidget())
                                  and view.reveal_field(path))

        if isinstance(tab, ManyFormTab):
            tab.build()
            if record_id is not None and (tab.editor is None
                                          or tab.editor.record_id != record_id):
                self.guard(tab.editor, lambda: (tab.open_record(record_id), reveal()))
                return
        else:
            tab.ensure_editor()
        reveal()

    def focus_form(self) -> None:
        """The keyboard into the current form's first field (or the tabs, while loading)."""
        tab = self.current_form_tab()
        editor = tab.editor if tab is not None else None
        target = None
        if editor is not None:
            view = editor.shown_view
            target = next((b.editor.focus_widget() for b in view.fields.boxes.values()
                           if isinstance(b.editor, FieldEditor) and b.isVisibleTo(view)),
                          None)
        (target or self.tabs).setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def show_guide(self):
        from .about import UserGuideDialog

        dialog = UserGuideDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_access_log(self) -> "AccessLogDialog | None":
        """Who opened, printed or exported this resident's file (coordinators only)."""
        if self.session.vault is None or self.resident_id is None:
            return None
        dialog = AccessLogDialog(self.session, self.resident_id, self)
        dialog.open()
        return dialog

    # ------------------------------------------------------------ saving
    def save_current(self) -> None:
        tab = self.current_form_tab()
        if tab is not None and tab.editor is not None and (tab.editor.dirty
                                                            or tab.editor.record is None):
            tab.editor.save()

    def record_saved(self, editor: RecordEditor | None, record: Record | None, summary,
                     removed: str | None = None) -> None:
        """After any write: adopt a new resident, refresh the header, tell other views."""
        if self.resident_id is None and record is not None:
            self.resident_id = record.resident_id
            _new_windows.discard(self)
            _windows[self.resident_id] = self
            for i in range(self.tabs.count()):
                self.tabs.setTabEnabled(i, True)
            for tab in self.form_tabs[1:]:
                tab.set_records([])
            self.is_loaded = True
        self.summary = summary
        if record is not None and record.form == forms.registry().intake.form:
            self._show_alerts(record)
        self._update_header()
        ids = {i for i in (record.id if record else None, removed) if i}
        self._own_change = True
        try:
            self.session.notify(records=ids, residents={self.resident_id})
        finally:
            self._own_change = False

    def _vault_changed(self, change) -> None:
        if getattr(self, "_own_change", False) or self.resident_id is None:
            return
        if change.touches(self.resident_id) and self.session.vault is not None:
            self.reload()

    # ------------------------------------------------------------ unsaved changes
    def guard(self, editor: RecordEditor | None, proceed: Callable[[], None]) -> None:
        """Runs `proceed` now if `editor` has no unsaved changes, else asks first."""
        if editor is None or not editor.dirty:
            proceed()
            return

        def answer(choice: str) -> None:
            if choice == "save":
                editor.save(then=proceed)
            elif choice == "discard":
                editor.revert()
                proceed()

        ask_unsaved(self, answer)

    def _tab_changed(self, index: int) -> None:
        old = self._current
        if index == old or self._closing:
            return
        previous = self.form_tabs[old] if 0 <= old < len(self.form_tabs) else None
        if previous is not None and previous.dirty:
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(old)
            self.tabs.blockSignals(False)

            def go() -> None:
                self._current = index
                self.tabs.blockSignals(True)
                self.tabs.setCurrentIndex(index)
                self.tabs.blockSignals(False)

            self.guard(previous.editor, go)
            return
        self._current = index

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self._force_close or not self.dirty:
            self._closing = True
            self._forget()
            event.accept()
            return
        event.ignore()
        dirty = [e for e in self.editors() if e.dirty]

        def answer(choice: str) -> None:
            if choice == "discard":
                self._force_close = True
                self.close()
            elif choice == "save":
                self._save_all_then_close(dirty)

        ask_unsaved(self, answer)

    def _save_all_then_close(self, editors: list[RecordEditor]) -> None:
        if not editors:
            self._force_close = True
            self.close()
            return
        first, rest = editors[0], editors[1:]
        first.save(then=lambda: self._save_all_then_close(rest))

    def _forget(self) -> None:
        self.closed = True
        self.header_photo.hide_photo()
        for editor in self.editors():
            editor.drop_old_view()
            drop_users(editor.form, editor.view.editor)
            give_back(editor.view)
        if self.resident_id and _windows.get(self.resident_id) is self:
            del _windows[self.resident_id]
        _new_windows.discard(self)
        for signal, slot in ((self.session.locking, self.save_drafts),
                             (self.session.locked, self.close_for_lock),
                             (self.session.changed, self._vault_changed)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    # ------------------------------------------------------------ lock and drafts
    def save_drafts(self) -> None:
        """Before the vault locks: every unsaved input becomes an encrypted draft."""
        vault = self.session.vault
        if vault is None:
            return
        for tab in self.form_tabs:
            for key, payload in tab.unsaved_payloads():
                try:
                    vault.save_draft(key, payload)
                except Exception:  # noqa: BLE001 — locking must go on; nothing else to do
                    continue

    def close_for_lock(self) -> None:
        """The vault locked: no decrypted value may stay on screen."""
        for editor in self.editors():
            editor.drop_old_view()
            editor.view.set_values({})
            if editor.history is not None:
                editor.history.load(None)
        for tab in self.form_tabs:
            if isinstance(tab, ManyFormTab):
                tab.model.set_records([])
                if tab.quick is not None:
                    for ed in tab.quick.editors.values():
                        ed.clear()
        self.header_photo.hide_photo()
        self.attachments_tab.clear()
        self.code_label.clear()
        self.names_label.clear()
        self.alerts_label.clear()
        self._alerts = []
        self.summary = None
        self._force_close = True
        self.close()

    def restore_draft(self, key: str, data: dict) -> None:
        """Puts a draft's values back in the right editor (after loading if needed)."""
        if not self.is_loaded:
            self._pending_drafts.append((key, data))
            return
        tab = self.tab_for(data["form"])
        index = self.form_tabs.index(tab)
        self.tabs.setTabEnabled(index, True)
        self.tabs.blockSignals(True)
        self.tabs.setCurrentIndex(index)
        self.tabs.blockSignals(False)
        self._current = index
        editor = tab.restore(data.get("record_id"), data.get("values") or {})
        editor.restored_key = key
        if self.resident_id is None:
            self.new_key = key.rsplit(":", 1)[-1]  # a later lock keeps the same draft

    def _fill_forms_menu(self) -> None:
        self.forms_menu.clear()
        for i, tab in enumerate(self.form_tabs):
            action = self.forms_menu.addAction(_(tab.form.title))
            action.setCheckable(True)
            action.setChecked(i == self.tabs.currentIndex())
            action.setEnabled(self.tabs.isTabEnabled(i))
            action.triggered.connect(lambda _checked=False, i=i: self.tabs.setCurrentIndex(i))

    # ------------------------------------------------------------ language
    def retranslate_ui(self, *_args) -> None:
        for i, tab in enumerate(self.form_tabs):
            self.tabs.setTabText(i, _(tab.form.title))
            self.tabs.setTabToolTip(i, _(tab.form.title))
            tab.retranslate_ui()
        self.forms_button.setText(_("Formularios") + " ▾")
        self.forms_button.setToolTip(_("Ir a cualquier formulario del expediente"))
        self._attachments_title()
        self.attachments_tab.retranslate_ui()
        self.header_photo.retranslate_ui()
        self.readonly_label.setText(_("Solo lectura"))
        self.print_button.setText(_("&Imprimir…"))
        self.print_button.setToolTip(_("Imprimir este registro, los formularios del residente "
                                       "o un formulario en blanco (Ctrl+P)"))
        self.save_pdf_button.setText(_("Guardar como &PDF…"))
        self.access_button.setText(_("&Accesos…"))
        self.help_button.setText(_("Ayuda"))
        if self._alerts:
            self.alerts_label.setText("⚠ " + _("Alertas: {alerts}").format(
                alerts=" · ".join(self._alerts)))
        self.help_button.setToolTip(_("La guía de uso (F1)"))
        self.access_button.setToolTip(_("Quién abrió, imprimió o exportó este expediente"))
        self._update_header()


# ====================================================================== entry points

def open_resident(session: Session, resident_id: str | None,
                  parent: QWidget | None = None) -> ResidentWindow | None:
    """Opens the record window of a resident (a new resident for None), or brings forward
    the window already open for it. Returns None while the vault is locked."""
    if not session.is_unlocked:
        return None
    watch_drafts(session, parent)
    if resident_id is not None and resident_id in _windows:
        window = _windows[resident_id]
        window.show()
        window.raise_()
        window.activateWindow()
        return window
    window = ResidentWindow(session, resident_id, parent)
    if resident_id is None:
        _new_windows.add(window)
    else:
        _windows[resident_id] = window
    window.show()
    # Without a window manager that focuses new windows (Xvfb, some kiosks) the keyboard
    # would stay in the list: take it, and put it in the form.
    window.raise_()
    window.activateWindow()
    window.focus_form()
    return window


def open_windows() -> list[ResidentWindow]:
    return list(_windows.values()) + list(_new_windows)


def record_drafts(vault) -> dict[str, dict]:
    """The signed-in user's drafts of form records (other kinds of drafts are left alone)."""
    return {k: d for k, d in vault.drafts().items()
            if k.startswith(DRAFT_PREFIX) and isinstance(d, dict) and "form" in d}


WARM_UP_AFTER_MS = 1500


def watch_drafts(session: Session, parent: QWidget | None = None) -> None:
    """After every unlock: offer the signed-in user's drafts back, and a moment later build
    an intake form ahead of need so the first resident opens quickly (idempotent)."""
    if getattr(session, "_drafts_watched", False):
        return
    session._drafts_watched = True

    def unlocked() -> None:
        offer_drafts(session, parent)
        QTimer.singleShot(WARM_UP_AFTER_MS, lambda: session.is_unlocked
                          and warm_up(forms.registry().intake))

    # After the first screen: reading the drafts beside Pendientes made it wait.
    session.settled.connect(unlocked)
    if session.is_unlocked:
        QTimer.singleShot(WARM_UP_AFTER_MS, lambda: session.is_unlocked
                          and warm_up(forms.registry().intake))


def offer_drafts(session: Session, parent: QWidget | None = None) -> None:
    """"Tiene cambios sin guardar de … ¿Recuperarlos?" — Recuperar / Descartar / Ahora no.

    The drafts are read on a worker: right after unlock the list is loading, and the UI
    thread must not wait for the vault."""
    vault = session.vault
    if vault is None:
        return

    def work(_progress):
        drafts = record_drafts(vault)
        codes = {}
        for data in drafts.values():
            rid = data.get("resident_id")
            if rid and rid not in codes:
                try:
                    codes[rid] = vault.resident(rid).internal_code
                except Exception:  # noqa: BLE001 — a resident deleted meanwhile
                    codes[rid] = None
        return drafts, codes

    def done(result) -> None:
        drafts, codes = result
        if drafts and session.vault is vault:
            _offer(session, drafts, codes, parent)

    run_task(parent, work, on_success=done, on_failure=lambda _exc: None, show_progress=False)


def _offer(session: Session, drafts: dict[str, dict], codes: dict[str, str | None],
           parent: QWidget | None) -> QMessageBox:
    lines = []
    for data in drafts.values():
        title = _(forms.registry().get(data["form"]).title)
        who = _("un residente nuevo")
        if data.get("resident_id"):
            who = codes.get(data["resident_id"]) or _("un residente")
        lines.append(f"• {title} — {who}")
    box = QMessageBox(QMessageBox.Icon.Question, _("Cambios sin guardar"),
                      _("Tiene cambios sin guardar de:\n{items}\n¿Recuperarlos?").format(
                          items="\n".join(lines)),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("draftOffer")
    recover = box.addButton(_("Recuperar"), QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton(_("Descartar"), QMessageBox.ButtonRole.DestructiveRole)
    later = box.addButton(_("Ahora no"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.setEscapeButton(later)

    def answer(_button) -> None:
        clicked = box.clickedButton()
        if clicked is recover:
            restore_drafts(session, drafts, parent)
        elif clicked is discard:
            v = session.vault
            if v is not None:
                for key in drafts:
                    v.discard_draft(key)

    box.buttonClicked.connect(answer)
    box.open()
    return box


def restore_drafts(session: Session, drafts: dict[str, dict],
                   parent: QWidget | None = None) -> list[ResidentWindow]:
    """Reopens each draft's resident and editor with the draft's values."""
    opened = []
    for key, data in drafts.items():
        window = open_resident(session, data.get("resident_id"), parent)
        if window is None:
            continue
        window.restore_draft(key, data)
        opened.append(window)
    return opened
