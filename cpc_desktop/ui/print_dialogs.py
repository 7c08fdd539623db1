"""What to print: a resident's form (the record on screen, the saved records, or the blank
form), the supervision visit packet for the residents chosen in the list, and the recovery key
sheet. Each dialog makes the PDF in memory on a worker (cpc_desktop.printing), then shows it
(pdf_output.PreviewDialog), sends it to a printer, or saves it where the person chooses.

Imported on first use (by ui/print_menu.py): reportlab and QtPdf stay out of start-up.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDateEdit, QDialog,
                               QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QRadioButton,
                               QVBoxLayout, QWidget)

from .. import printing
from ..core import disclosure, forms
from ..core.i18n import _, current_language
from .lang import language_bus
from .pdf_output import (NOTICE_STYLE, ask_pdf_path, print_pdf, run_print_task,
                         safe_file_name, show_preview)
from .form_view import HELP_COLOR
from .session import Session
from .settings import Settings
from .tasks import Progress, TaskHandle, run_task, show_error
from .widgets.fields import tint

PERIOD_DEFAULT_DAYS = 90


def ordered_forms() -> list[forms.Form]:
    """The forms in the order of their printed codes (F01 intake … F06 consent)."""
    return sorted(forms.registry(), key=lambda f: (not f.opens_resident, f.code, f.form))


def default_language() -> str:
    """The language last chosen for printing; else bilingual when the person works in
    Quechua, Spanish otherwise."""
    remembered = Settings.load().print_language
    if remembered in {code for code, _name in printing.language_choices()}:
        return remembered
    return "es+qu" if current_language() == "qu" else "es"


@dataclass(frozen=True)
class OnScreen:
    """The record shown in a resident's window: its id (None: not saved yet) and, when they
    differ from what is stored, the values as typed."""
    form_id: str
    record_id: str | None
    values: dict | None = None


# ====================================================================== shared parts

class _PrintDialogBase(QDialog):
    """Language, the sensitive-data notice, a status line and the three ways out:
    "Vista previa", "Imprimir…", "Guardar como PDF…"."""

    def __init__(self, session: Session, parent: QWidget | None):
        super().__init__(parent)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.session = session
        self.task: TaskHandle | None = None
        self.saved_path = None
        self.language = QComboBox(objectName="printLanguage")
        for code, name in printing.language_choices():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(default_language())))
        self.language.activated.connect(
            lambda _i: Settings.load().update(print_language=self.language.currentData()))
        self.language_label = QLabel()
        self.language_label.setBuddy(self.language)
        self.notice = QLabel(wordWrap=True, objectName="sensitiveNotice")
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.status = QLabel(wordWrap=True, objectName="printStatus")
        self.buttons = QDialogButtonBox()
        self.preview_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.preview_button.setObjectName("previewButton")
        self.print_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.print_button.setObjectName("printButton")
        self.save_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.setObjectName("savePdfButton")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.preview_button.clicked.connect(lambda: self.preview())
        self.print_button.clicked.connect(lambda: self.print_())
        self.save_button.clicked.connect(lambda: self.save())
        self.buttons.rejected.connect(self.reject)
        language_bus().changed.connect(self._retranslate)
        session.locked.connect(self._locked)

    def _retranslate(self, *_a) -> None:
        self.language_label.setText(_("&Idioma del formulario:"))
        self.notice.setText(printing.sensitive_notice())
        self.preview_button.setText(_("&Vista previa"))
        self.print_button.setText(_("&Imprimir…"))
        self.save_button.setText(_("&Guardar como PDF…"))
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        raise NotImplementedError

    def set_default_action(self, action: str) -> None:
        button = {"print": self.print_button, "save": self.save_button}.get(
            action, self.preview_button)
        button.setDefault(True)
        button.setFocus()

    # -- what subclasses provide
    def title(self) -> str:
        raise NotImplementedError

    def file_name(self) -> str:
        raise NotImplementedError

    def maker(self) -> Callable[[Progress], bytes] | None:
        """A function making the PDF on a worker, or None after telling what is missing."""
        raise NotImplementedError

    def disclosed(self, to: str) -> tuple[str, list[str], dict]:
        """(action, resident ids, detail) for the disclosure log when the PDF is sent to a
        printer (to="printer") or saved (to="pdf")."""
        raise NotImplementedError

    def discloser(self) -> Callable[[str], None]:
        """Records a disclosure on a worker, from what the dialog shows now (the preview may
        print after the dialog changed). A failure to record is shown, not hidden."""
        vault = self.session.vault
        chosen = {to: self.disclosed(to) for to in ("printer", "pdf")}
        parent = self.parentWidget() or self

        def note(to: str) -> None:
            action, ids, detail = chosen[to]
            if vault is not None and vault.is_open:
                run_task(parent, lambda _p: disclosure.record(vault, action, ids, **detail),
                         show_progress=False)

        return note

    cancellable = False
    progress_label = ""

    # -- the three ways out
    def _busy(self, busy: bool) -> None:
        self.busy = busy
        for b in (self.preview_button, self.print_button, self.save_button, self.cancel_button):
            b.setEnabled(not busy)

    busy = False

    def reject(self) -> None:
        # Esc while the PDF is being made: the progress dialog's Cancel is the way out.
        if not self.busy:
            super().reject()

    def _run(self, make, on_success, *, on_cancel=None) -> TaskHandle | None:
        self._busy(True)
        self.status.setText("")

        def ok(result) -> None:
            if self.locked_out:
                return          # the PDF is dropped unseen
            self._busy(False)
            on_success(result)

        def cancelled() -> None:
            if self.locked_out:
                return
            self._busy(False)
            self.status.setText(_("Cancelado; no se guardó nada."))
            if on_cancel is not None:
                on_cancel()

        def failed(exc: BaseException) -> None:
            if self.locked_out:
                return
            self._busy(False)
            show_error(self, exc)

        self.task = run_print_task(self, make, on_success=ok, on_cancel=cancelled,
                                   on_failure=failed, cancellable=self.cancellable,
                                   label=self.progress_label or _("Preparando el PDF…"))
        return self.task

    def preview(self) -> TaskHandle | None:
        make = self.maker()
        if make is None:
            return None
        title, name, note = self.title(), self.file_name(), self.discloser()

        def show(data: bytes) -> None:
            # Over this dialog, which stays: closing the preview comes back to the choices.
            self.preview_dialog = show_preview(self, data, title, name, session=self.session,
                                               disclose=note)

        return self._run(make, show)

    def print_(self) -> TaskHandle | None:
        make = self.maker()
        if make is None:
            return None
        title, parent, note = self.title(), self.parentWidget(), self.discloser()

        def send(data: bytes) -> None:
            self.accept()
            print_pdf(parent or self, data, title, on_started=lambda _t: note("printer"))

        return self._run(make, send)

    def save(self) -> TaskHandle | None:
        """Asks where first (and checks that place can be written) so a long packet is not
        made for nothing; then makes and writes the PDF on the worker."""
        make = self.maker()
        if make is None:
            return None
        path = ask_pdf_path(self, self.file_name())
        if path is None:
            return None
        try:
            printing.check_destination(path)
        except printing.PrintError as exc:
            show_error(self, exc)
            return None

        vault = self.session.vault
        action, ids, detail = self.disclosed("pdf")

        def make_and_write(progress: Progress):
            written = printing.write_pdf(make(progress), path)
            disclosure.record(vault, action, ids, **detail)
            return written

        def saved(written) -> None:
            self.saved_path = written
            self.status.setText(_("PDF guardado en {path}").format(path=written))

        return self._run(make_and_write, saved)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.busy:
            event.ignore()
            return
        super().closeEvent(event)

    def _locked(self) -> None:
        """The vault locked: stop making the PDF, drop it, close (codes were on screen)."""
        self.locked_out = True
        if self.task is not None and not self.task.finished:
            self.task.cancel()
        self.busy = False
        QDialog.reject(self)

    locked_out = False


class PeriodRow(QWidget):
    """"Solo los registros del [fecha] al [fecha]": limits the forms kept many times."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.only = QCheckBox(objectName="periodOnly")
        today = QDate.currentDate()
        self.start = QDateEdit(today.addDays(-PERIOD_DEFAULT_DAYS), objectName="periodStart")
        self.end = QDateEdit(today, objectName="periodEnd")
        self.to_label = QLabel()
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.only, self.start, self.to_label, self.end):
            row.addWidget(w)
        row.addStretch(1)
        self.only.toggled.connect(self._update)
        self._update()
        self.retranslate_ui()

    def _update(self, *_a) -> None:
        for w in (self.start, self.to_label, self.end):
            w.setEnabled(self.only.isChecked())

    def retranslate_ui(self) -> None:
        self.only.setText(_("Solo los registros del"))
        self.to_label.setText(_("al"))

    def value(self):
        """(start, end) dates, or None for every record."""
        if not self.only.isChecked() or not self.isEnabled():
            return None
        return (self.start.date().toPython(), self.end.date().toPython())


# ====================================================================== one form

class FormPrintDialog(_PrintDialogBase):
    """Print or save a form of one resident: the record on screen, the saved records of a
    form (a period for forms kept many times), or the blank form. Without a resident, only
    blank forms."""

    def __init__(self, session: Session, parent: QWidget | None = None, *,
                 resident_id: str | None = None, resident_code: str | None = None,
                 on_screen: OnScreen | None = None, form_id: str | None = None,
                 action: str = "preview"):
        super().__init__(session, parent)
        self.setObjectName("formPrintDialog")
        self.resident_id = resident_id
        self.resident_code = resident_code
        self.on_screen = on_screen
        self.form_list = ordered_forms()
        self.form = QComboBox(objectName="printForm")
        for f in self.form_list:
            self.form.addItem("", f.form)
        wanted = form_id or (on_screen.form_id if on_screen else None)
        self.form.setCurrentIndex(max(0, self.form.findData(wanted)))
        self.form_label = QLabel()
        self.form_label.setBuddy(self.form)
        self.what = QGroupBox(objectName="printWhat")
        self.current = QRadioButton(objectName="printCurrent")
        self.saved_records = QRadioButton(objectName="printSaved")
        self.blank = QRadioButton(objectName="printBlank")
        self.group = QButtonGroup(self)
        for b in (self.current, self.saved_records, self.blank):
            self.group.addButton(b)
        self.period = PeriodRow(self)
        inner = QVBoxLayout(self.what)
        inner.addWidget(self.current)
        inner.addWidget(self.saved_records)
        indent = QHBoxLayout()
        indent.addSpacing(24)
        indent.addWidget(self.period)
        inner.addLayout(indent)
        inner.addWidget(self.blank)
        top = QFormLayout()
        top.addRow(self.form_label, self.form)
        top.addRow(self.language_label, self.language)
        self.heading = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(self.what)
        layout.addWidget(self.notice)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.form.currentIndexChanged.connect(lambda _i: self._update())
        self.group.buttonToggled.connect(lambda *_a: self._update())
        if self._current_matches():
            self.current.setChecked(True)
        elif resident_id:
            self.saved_records.setChecked(True)
        else:
            self.blank.setChecked(True)
        self._retranslate()
        self._update()
        self.set_default_action(action)
        self.setMinimumWidth(560)

    def selected_form(self) -> forms.Form:
        return forms.registry().get(self.form.currentData())

    def _current_matches(self) -> bool:
        return self.on_screen is not None and self.on_screen.form_id == self.form.currentData()

    def _update(self) -> None:
        self.current.setEnabled(self._current_matches())
        self.saved_records.setEnabled(self.resident_id is not None)
        checked = self.group.checkedButton()
        if checked is not None and not checked.isEnabled():
            (self.saved_records if self.resident_id else self.blank).setChecked(True)
        many = self.selected_form().per_resident == "many"
        self.period.setEnabled(self.saved_records.isChecked() and many)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Imprimir o guardar un formulario"))
        for i, f in enumerate(self.form_list):
            self.form.setItemText(i, f"{f.code} — {_(f.title)}")
        self.form_label.setText(_("&Formulario:"))
        if self.resident_code:
            self.heading.setText(_("Residente: {code}").format(code=self.resident_code))
        else:
            self.heading.setText(_("Formularios en blanco, para llenar a mano durante una "
                                   "visita o un corte de luz."))
        self.what.setTitle(_("Qué imprimir"))
        unsaved = self.on_screen is not None and self.on_screen.values is not None
        self.current.setText(_("El registro abierto en pantalla, con los cambios sin guardar")
                             if unsaved else _("El registro abierto en pantalla"))
        many = self.form.currentData() and self.selected_form().per_resident == "many"
        self.saved_records.setText(_("Todos los registros guardados de este formulario")
                                   if many else _("El registro guardado de este formulario"))
        self.period.retranslate_ui()
        self.blank.setText(_("El formulario en blanco"))

    # -- the PDF
    def title(self) -> str:
        return _(self.selected_form().title)

    def file_name(self) -> str:
        form = self.selected_form()
        kind = _("en-blanco") if self.blank.isChecked() else ""
        return safe_file_name(self.resident_code or "", form.code, form.form, kind)

    def disclosed(self, to: str) -> tuple[str, list[str], dict]:
        ids = [] if self.blank.isChecked() or not self.resident_id else [self.resident_id]
        record = self.on_screen.record_id if self.current.isChecked() and self.on_screen \
            else None
        return (disclosure.PRINT if to == "printer" else disclosure.PDF, ids,
                {"form": self.form.currentData(), "lang": self.language.currentData(),
                 "record": record})

    def maker(self):
        vault = self.session.vault
        if vault is None:
            return None
        form_id, lang = self.form.currentData(), self.language.currentData()
        resident_id, code = self.resident_id, self.resident_code
        if self.current.isChecked() and self.on_screen is not None:
            shown = self.on_screen
            if shown.values is not None or shown.record_id is None:
                values = dict(shown.values or {})
                shelter = (vault.shelter_code, vault.shelter_name)
                return lambda _p: printing.render_values(
                    form_id, values, shelter_code=shelter[0], shelter_name=shelter[1],
                    resident_code=code, lang=lang)
            record_id = shown.record_id
            return lambda _p: printing.render_form(vault, form_id, record_id=record_id,
                                                   lang=lang)
        if self.saved_records.isChecked() and resident_id:
            period = self.period.value()
            return lambda _p: printing.render_form(vault, form_id, resident_id=resident_id,
                                                   lang=lang, period=period)
        return lambda _p: printing.render_form(vault, form_id, resident_id=resident_id,
                                               blank=True, lang=lang)


# ====================================================================== the packet

class PacketDialog(_PrintDialogBase):
    """The supervision visit packet for the residents chosen in the list: which forms, the
    language, the period of the forms kept many times, and who prepared it."""

    cancellable = True

    def __init__(self, session: Session, resident_ids: list[str], codes: list[str],
                 parent: QWidget | None = None, *, action: str = "preview"):
        super().__init__(session, parent)
        self.setObjectName("packetDialog")
        self.resident_ids = list(resident_ids)
        self.codes = list(codes)
        self.form_list = ordered_forms()
        self.heading = QLabel(wordWrap=True, objectName="packetResidents")
        self.forms_list = QListWidget(objectName="packetForms")
        for f in self.form_list:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, f.form)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.forms_list.addItem(item)
        self.forms_list.setMaximumHeight(self.forms_list.sizeHintForRow(0) * 7 + 8)
        self.forms_label = QLabel()
        self.period = PeriodRow(self)
        self.period_label = QLabel()
        self.period_help = QLabel(wordWrap=True)
        tint(self.period_help, HELP_COLOR, smaller=True)
        period_box = QWidget(self)
        box = QVBoxLayout(period_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.period)
        box.addWidget(self.period_help)
        self.prepared_by = QLineEdit(objectName="preparedBy")
        vault = session.vault
        self.prepared_by.setText(vault.user.display_name if vault is not None else "")
        self.prepared_label = QLabel()
        self.prepared_label.setBuddy(self.prepared_by)
        self.reason = QLineEdit(objectName="packetReason")
        self.reason.setMaxLength(disclosure.REASON_MAX)
        self.reason_label = QLabel()
        self.reason_label.setBuddy(self.reason)
        # Off unless ticked each time: a face on paper is what identifies a child most.
        self.photos = QCheckBox(objectName="packetPhotos")
        self.photos_help = QLabel(wordWrap=True)
        tint(self.photos_help, HELP_COLOR, smaller=True)
        form = QFormLayout()
        form.addRow(self.forms_label, self.forms_list)
        form.addRow(self.language_label, self.language)
        form.addRow(self.period_label, period_box)
        form.addRow(self.prepared_label, self.prepared_by)
        form.addRow(self.reason_label, self.reason)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.photos)
        layout.addWidget(self.photos_help)
        layout.addWidget(self.notice)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._retranslate()
        self.set_default_action(action)
        self.setMinimumWidth(620)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Paquete para visita de supervisión"))
        shown = ", ".join(self.codes[:8]) + (" …" if len(self.codes) > 8 else "")
        self.heading.setText(_("Residentes elegidos ({n}): {codes}").format(
            n=len(self.codes), codes=shown))
        for i, f in enumerate(self.form_list):
            self.forms_list.item(i).setText(f"{f.code} — {_(f.title)}")
        self.forms_label.setText(_("Formularios:"))
        self.period_label.setText(_("Periodo:"))
        self.period.retranslate_ui()
        self.period_help.setText(_("El periodo se aplica a los formularios que se llenan "
                                   "varias veces (PTI, atenciones, seguimiento…)."))
        self.prepared_label.setText(_("&Preparado por:"))
        self.reason_label.setText(_("&Motivo:"))
        self.reason.setPlaceholderText(_("p. ej. visita de supervisión de la UPE (queda en el "
                                         "registro de accesos)"))
        self.progress_label = _("Preparando el paquete…")
        self.photos.setText(_("Imprimir también la &foto de cada residente"))
        self.photos_help.setText(_("La lista de adjuntos (tipo, fecha, nota y nombre del "
                                   "archivo) va siempre; su contenido no se imprime. La foto "
                                   "solo si marca esta casilla."))

    def chosen_forms(self) -> list[str]:
        return [self.forms_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.forms_list.count())
                if self.forms_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_forms(self, form_ids: list[str]) -> None:
        for i in range(self.forms_list.count()):
            item = self.forms_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole)
                               in form_ids else Qt.CheckState.Unchecked)

    def title(self) -> str:
        return _("Paquete para visita de supervisión")

    def disclosed(self, to: str) -> tuple[str, list[str], dict]:
        return disclosure.PACKET, list(self.resident_ids), {
            "forms": self.chosen_forms(), "to": to, "lang": self.language.currentData(),
            "reason": self.reason.text(), "photos": self.photos.isChecked() or None}

    def file_name(self) -> str:
        vault = self.session.vault
        code = vault.shelter_code if vault is not None else ""
        return safe_file_name(_("paquete-supervision"), code, dt.date.today().isoformat())

    def maker(self):
        vault = self.session.vault
        if vault is None:
            return None
        form_ids = self.chosen_forms()
        if not form_ids:
            self.status.setText(_("Elija al menos un formulario para el paquete."))
            return None
        ids, lang = list(self.resident_ids), self.language.currentData()
        period = self.period.value()
        prepared_by = self.prepared_by.text().strip()
        photos = self.photos.isChecked()

        def make(progress: Progress) -> bytes:
            def report(done: int, total: int) -> None:
                progress.update(done, total, _("Preparando el paquete: parte {done} de "
                                               "{total}…").format(done=done, total=total))

            return printing.render_packet(vault, ids, form_ids, lang=lang, period=period,
                                          prepared_by=prepared_by, photos=photos,
                                          progress=report,
                                          cancel=lambda: progress.cancelled)

        return make


# ====================================================================== the recovery sheet

def print_recovery_sheet(parent: QWidget, shelter_code: str, shelter_name: str,
                         recovery_key: str):
    """The recovery key sheet in Spanish and Quechua: preview and print. Not offered as a
    file: a PDF of the key on a disk or a USB stick opens the vault for whoever copies it."""

    def shown(data: bytes) -> None:
        parent._recovery_preview = show_preview(
            parent, data, _("Clave de recuperación"), "", allow_save=False)

    return run_print_task(parent, lambda _p: printing.render_recovery_sheet(
        shelter_code, shelter_name, recovery_key), on_success=shown,
        label=_("Preparando la hoja…"))
