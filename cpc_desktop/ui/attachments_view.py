"""A resident's attachments in the window: the "Adjuntos" tab, the dialog that adds files, the
viewer for images and PDFs, and the photo of the resident's header (hidden until asked for).

Everything decrypted stays in memory: thumbnails are made by core.attachments in memory and
decoded with QImage.fromData; PDFs are read by QtPdf from a QBuffer (ui/pdf_output). No
"Abrir con…" an external program: it would need the content in clear in a file that other
programs (indexers, the viewer's own recent-files list and thumbnail cache, a crash that
skips the clean-up) keep beyond our control; docs/user-guide.md says so.

The widgets call the attachments API through `api` (core.attachments by default), so they
only depend on the functions of the contract (notes: ATTACH-API.md).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QDate, QEvent, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDialog,
                               QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ..core import attachments as core_attachments
from ..core import disclosure, display, forms, wording
from ..core.errors import CpcError
from ..core.i18n import _
from .form_view import ERROR_COLOR, HELP_COLOR
from .screen_fit import fit_to_screen
from .settings import Settings, documents_folder
from .tasks import Cancelled, Progress, run_task, show_error
from .widgets.fields import tint, vbox

THUMB_PX = 96
HEADER_PHOTO_PX = 160
THUMBS_PER_TASK = 4          # thumbnails made per worker task: the first ones show quickly
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".png", ".heic", ".heif"}
FOLDER_KIND = "attachments"  # Settings.folders key: where "Adjuntar…" opens next time


def badge(text: str, color: str, px: int = THUMB_PX) -> QPixmap:
    """A square with a word in it: the thumbnail of a PDF or of content not arrived yet."""
    pixmap = QPixmap(px, px)
    pixmap.fill(QColor("#f1f3f4"))
    painter = QPainter(pixmap)
    painter.setPen(QColor(color))
    font = painter.font()
    font.setBold(True)
    font.setPixelSize(px // 5)
    painter.setFont(font)
    painter.drawRect(0, 0, px - 1, px - 1)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


def kind_labels(api=core_attachments) -> dict[str, str]:
    return dict(api.kinds())


def describe_error(name: str, exc: BaseException) -> str:
    """One line: the file and what went wrong with it (the core's words)."""
    from .tasks import error_text

    return _("«{name}»: {problem}").format(name=name, problem=error_text(exc))


# ====================================================================== adding files

class AddAttachmentsDialog(QDialog):
    """Type, date, note, optional record and "conservar el original" for the files chosen
    or dropped; "Adjuntar" hands the choices to `on_accept`."""

    def __init__(self, files: list[Path], records: list[tuple[str, str]],
                 on_accept: Callable[[dict], None], parent: QWidget | None = None, *,
                 api=core_attachments):
        super().__init__(parent)
        self.setObjectName("addAttachmentsDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.files = list(files)
        self.on_accept = on_accept
        self.names = QLabel(wordWrap=True, objectName="attachFiles")
        self.kind = QComboBox(objectName="attachKind")
        self.kind.addItem("", None)
        for kind_id, label in api.kinds():
            self.kind.addItem(label, kind_id)
        images = [f for f in self.files if f.suffix.lower() in IMAGE_SUFFIXES]
        if images and len(images) == len(self.files):
            self.kind.setCurrentIndex(max(0, self.kind.findData(core_attachments.PHOTO_KIND)))
        self.date = QDateEdit(QDate.currentDate(), objectName="attachDate")
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("dd/MM/yyyy")
        self.date.setMaximumDate(QDate.currentDate())
        self.note = QLineEdit(objectName="attachNote")
        self.note.setMaxLength(300)
        self.record = QComboBox(objectName="attachRecord")
        self.record.addItem("", None)
        for record_id, label in records:
            self.record.addItem(label, record_id)
        self.keep = QCheckBox(objectName="attachKeepOriginal")
        self.keep.setVisible(bool(images))
        self.keep_help = QLabel(wordWrap=True)
        tint(self.keep_help, HELP_COLOR, smaller=True)
        self.keep_help.setVisible(bool(images))
        self.error = QLabel(wordWrap=True, objectName="attachDialogError")
        tint(self.error, ERROR_COLOR, bold=True)
        self.error.hide()
        self.labels = [QLabel() for _i in range(4)]
        form = QFormLayout()
        for label, widget in zip(self.labels, (self.kind, self.date, self.note, self.record)):
            label.setBuddy(widget)
            form.addRow(label, widget)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("attachOk")
        self.ok.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.names)
        layout.addLayout(form)
        layout.addWidget(self.keep)
        layout.addWidget(self.keep_help)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.retranslate_ui()
        self.setMinimumWidth(520)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Adjuntar archivos"))
        shown = ", ".join(f.name for f in self.files[:6]) + (" …" if len(self.files) > 6
                                                              else "")
        self.names.setText(_("Archivos ({n}): {names}").format(n=len(self.files), names=shown))
        self.kind.setItemText(0, _("— elija el tipo —"))
        self.record.setItemText(0, _("— ninguno (solo la residente) —"))
        for label, text in zip(self.labels, (_("&Tipo:"), _("&Fecha del documento:"),
                                             _("&Nota:"), _("&Registro:"))):
            label.setText(text)
        self.note.setPlaceholderText(_("p. ej. copia entregada por la UPE"))
        self.keep.setText(_("&Conservar el original de las fotos"))
        self.keep_help.setText(_("Sin esta casilla las fotos se reducen y se les quitan los "
                                 "datos ocultos (como la ubicación GPS del teléfono). "
                                 "Márquela solo si necesita la foto tal como se tomó."))
        self.ok.setText(_("&Adjuntar"))

    def choices(self) -> dict:
        return {"kind": self.kind.currentData(), "date": self.date.date().toPython().isoformat(),
                "note": self.note.text().strip(), "record_id": self.record.currentData(),
                "keep_original": self.keep.isVisible() and self.keep.isChecked()}

    def accept(self) -> None:
        if self.kind.currentData() is None:
            self.error.setText(_("Elija el tipo de adjunto."))
            self.error.show()
            self.kind.setFocus()
            return
        choices = self.choices()
        super().accept()
        self.on_accept(choices)


# ====================================================================== the tab

class AttachmentsTab(QWidget):
    """The resident's attachments: a table (thumbnail, type, date, note, record, file),
    "Adjuntar…" and dropping files on it, "Ver" and "Eliminar". Built the first time it is
    shown; thumbnails are made on a worker a few at a time, never while the window opens."""

    COLUMNS = 6
    editor = None        # not a form: no record editor (the window asks its tabs for one)

    def __init__(self, window, parent: QWidget | None = None, *, api=core_attachments):
        super().__init__(parent)
        self.window_ = window
        self.api = api
        self.setObjectName("attachmentsTab")
        self.setAcceptDrops(True)
        self.items: list = []
        self.thumbs: dict[str, QImage] = {}
        self.built = False
        self.busy = False
        self._thumb_queue: list[str] = []
        self._thumb_running = False
        self.viewer: AttachmentViewer | None = None
        self.add_dialog: AddAttachmentsDialog | None = None

    # ------------------------------------------------------------ building
    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.build()
        super().showEvent(event)

    def build(self) -> None:
        if self.built:
            return
        self.built = True
        layout = vbox(self, 6, 4)
        self.hint = QLabel(self, wordWrap=True)
        tint(self.hint, HELP_COLOR)
        self.table = QTableWidget(0, self.COLUMNS, self)
        self.table.setObjectName("attachmentsTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMB_PX + 8)
        self.table.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, THUMB_PX + 12)
        header.resizeSection(1, 210)
        header.resizeSection(2, 95)
        header.resizeSection(3, 300)
        header.resizeSection(4, 190)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.view_selected())
        self.table.activated.connect(lambda _i: self.view_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel(self, wordWrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tint(self.empty, HELP_COLOR)
        self.status = QLabel(self, wordWrap=True, objectName="attachmentsStatus")
        self.error = QLabel(self, wordWrap=True, objectName="attachmentsError")
        tint(self.error, ERROR_COLOR, bold=True)
        self.error.hide()
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self, objectName="attachButton")
        self.add_button.clicked.connect(lambda: self.choose_files())
        self.view_button = QPushButton(self, objectName="viewAttachmentButton")
        self.view_button.clicked.connect(lambda: self.view_selected())
        self.delete_button = QPushButton(self, objectName="deleteAttachmentButton")
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        for b in (self.add_button, self.view_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.retranslate_ui()
        self._fill()

    @property
    def can_add(self) -> bool:
        return not self.window_.read_only and self.window_.resident_id is not None

    # ------------------------------------------------------------ the list
    def set_items(self, items: list) -> None:
        """The resident's attachments as the window read them (newest first)."""
        chosen = self.selected()
        self.items = list(items)
        known = {a.id for a in self.items if a.present}
        self.thumbs = {k: v for k, v in self.thumbs.items() if k in known}
        if self.built:
            self._fill(chosen.id if chosen is not None else None)

    def selected(self):
        if not self.built:
            return None
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows and rows[0].row() < len(self.items) else None

    def _fill(self, selected_id: str | None = None) -> None:
        labels = kind_labels(self.api)
        records = dict(self.window_.record_choices())
        self.table.setRowCount(len(self.items))
        missing = badge("…", HELP_COLOR)
        pdf = badge("PDF", "#b00020")
        waiting = badge("", HELP_COLOR)
        for row, att in enumerate(self.items):
            thumb = QTableWidgetItem()
            if not att.present:
                thumb.setIcon(missing)
            elif not att.is_image:
                thumb.setIcon(pdf)
            elif att.id in self.thumbs:
                thumb.setIcon(QPixmap.fromImage(self.thumbs[att.id]))
            else:
                thumb.setIcon(waiting)
            name = att.filename + " · " + wording.format_size(att.size)
            if not att.present:
                name += "\n" + self.api.missing_text()
            cells = [thumb, QTableWidgetItem(labels.get(att.kind, att.kind)),
                     QTableWidgetItem(display.format_date(att.date)),
                     QTableWidgetItem(att.note),
                     QTableWidgetItem(records.get(att.record_id, "") if att.record_id else ""),
                     QTableWidgetItem(name)]
            for col, item in enumerate(cells):
                if not att.present:
                    item.setForeground(QColor(HELP_COLOR))
                    item.setToolTip(self.api.missing_text())
                self.table.setItem(row, col, item)
        if selected_id is not None:
            row = next((i for i, a in enumerate(self.items) if a.id == selected_id), -1)
            if row >= 0:
                self.table.selectRow(row)
        self.empty.setVisible(not self.items)
        self.table.setVisible(bool(self.items))
        self._update_buttons()
        self._queue_thumbnails()

    def _update_buttons(self) -> None:
        if not self.built:
            return
        att = self.selected()
        self.add_button.setVisible(not self.window_.read_only)
        self.add_button.setEnabled(self.can_add and not self.busy)
        self.view_button.setEnabled(att is not None)
        self.delete_button.setVisible(self.window_.can_delete)
        self.delete_button.setEnabled(att is not None and not self.busy)

    # ------------------------------------------------------------ thumbnails
    def _queue_thumbnails(self) -> None:
        self._thumb_queue = [a.id for a in self.items
                             if a.present and a.is_image and a.id not in self.thumbs]
        self._next_thumbnails()

    def _next_thumbnails(self) -> None:
        vault = self.window_.session.vault
        if self._thumb_running or not self._thumb_queue or vault is None or self.window_.closed:
            return
        batch, self._thumb_queue = (self._thumb_queue[:THUMBS_PER_TASK],
                                    self._thumb_queue[THUMBS_PER_TASK:])
        api, px = self.api, THUMB_PX * max(1, round(self.devicePixelRatioF()))

        def work(_p):
            out = {}
            for att_id in batch:
                try:
                    data = api.thumbnail(vault, att_id, px)
                except CpcError:
                    continue      # damaged or gone meanwhile: the row keeps its badge
                if data:
                    image = QImage.fromData(data)
                    if not image.isNull():
                        out[att_id] = image
            return out

        def done(found: dict) -> None:
            self._thumb_running = False
            if self.window_.closed:
                return
            self.thumbs.update(found)
            for row, att in enumerate(self.items):
                if att.id in found and self.table.item(row, 0) is not None:
                    self.table.item(row, 0).setIcon(QPixmap.fromImage(found[att.id]))
            self._next_thumbnails()

        def failed(_exc) -> None:
            self._thumb_running = False

        self._thumb_running = True
        run_task(self, work, on_success=done, on_failure=failed, show_progress=False)

    # ------------------------------------------------------------ adding
    def choose_files(self) -> AddAttachmentsDialog | None:
        if not self.can_add:
            return None
        settings = Settings.load()
        names, _filter = QFileDialog.getOpenFileNames(
            self, _("Adjuntar archivos"), settings.folder(FOLDER_KIND, documents_folder()),
            _("Fotos y documentos (*.jpg *.jpeg *.png *.pdf *.heic);;Todos los archivos (*)"))
        if not names:
            return None
        settings.remember_folder(FOLDER_KIND, Path(names[0]).parent)
        return self.ask_about([Path(n) for n in names])

    def ask_about(self, files: list[Path]) -> AddAttachmentsDialog | None:
        """The dialog asking type, date, note… for these files; then imports them."""
        if not files or not self.can_add or self.busy:
            return None
        self.add_dialog = AddAttachmentsDialog(
            files, self.window_.record_choices(), lambda c: self.import_files(files, c),
            self, api=self.api)
        self.add_dialog.open()
        return self.add_dialog

    def import_files(self, files: list[Path], choices: dict):
        """Adds each file on a worker, with progress and Cancel. A file that cannot be
        added is named with its reason in one line; the others are added."""
        vault = self.window_.session.vault
        if vault is None or self.window_.resident_id is None:
            return None
        api, resident_id = self.api, self.window_.resident_id

        def work(progress: Progress):
            added, errors = [], []
            for i, path in enumerate(files, 1):
                progress.check()
                label = _("Adjuntando «{name}» ({i} de {n})…").format(
                    name=path.name, i=i, n=len(files))
                progress.update(0, 0, label)
                try:
                    added.append(api.add(
                        vault, resident_id, path, kind=choices["kind"],
                        record_id=choices["record_id"], note=choices["note"],
                        date=choices["date"], keep_original=choices["keep_original"],
                        progress=lambda d, t, label=label: progress.update(d, t, label),
                        cancelled=lambda: progress.cancelled))
                except CpcError as exc:
                    if progress.cancelled:
                        raise Cancelled() from None
                    errors.append(describe_error(path.name, exc))
            return added, errors

        def done(result) -> None:
            if self.window_.closed:
                return      # the files were added; the window that asked is gone
            self._set_busy(False)
            added, errors = result
            self._report(added, errors)
            self.window_.attachments_changed()

        def cancelled() -> None:
            if self.window_.closed:
                return
            self._set_busy(False)
            self.status.setText(_("Cancelado: el archivo que se estaba adjuntando no se "
                                  "guardó (los anteriores, sí)."))
            self.window_.attachments_changed()

        def failed(exc: BaseException) -> None:
            if self.window_.closed:
                show_error(None, exc)
                return
            self._set_busy(False)
            self._show_error(describe_error(files[0].name if len(files) == 1 else "…", exc))

        self._set_busy(True)
        self.error.hide()
        self.status.setText("")
        return run_task(self, work, on_success=done, on_cancel=cancelled, on_failure=failed,
                        label=_("Adjuntando…"), cancellable=True)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update_buttons()

    def _report(self, added: list, errors: list[str]) -> None:
        if added:
            self.status.setText(_("Adjuntado: {n} archivo(s).").format(n=len(added)))
        if errors:
            self._show_error("\n".join(errors))

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.can_add and event.mimeData().hasUrls() and _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt name)
        files = _local_files(event.mimeData()) if self.can_add else []
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.ask_about(files)

    # ------------------------------------------------------------ viewing, deleting
    def view_selected(self):
        att = self.selected()
        if att is None:
            return None
        if not att.present:
            self.status.setText(self.api.missing_text())
            return None
        self.viewer = AttachmentViewer(self.window_.session, att, self.window_, api=self.api,
                                       kind_label=kind_labels(self.api).get(att.kind, att.kind))
        self.viewer.open()
        return self.viewer

    def delete_selected(self):
        att = self.selected()
        if att is None or not self.window_.can_delete:
            return None
        from .resident_window import confirm

        def really() -> None:
            vault = self.window_.session.vault
            if vault is None:
                return

            def ok(_r) -> None:
                if self.window_.closed:
                    return
                self.status.setText(_("Adjunto eliminado."))
                self.window_.attachments_changed()

            run_task(self, lambda _p: self.api.remove(vault, att.id), on_success=ok,
                     on_failure=lambda exc: show_error(None, exc) if self.window_.closed
                     else self._show_error(describe_error(att.filename, exc)),
                     label=_("Eliminando…"))

        return confirm(self, _("Eliminar adjunto"),
                       _("¿Eliminar «{name}»? Se borra de esta computadora y, en la próxima "
                         "sincronización, de las demás.").format(name=att.filename),
                       _("Eliminar"), really)

    # ------------------------------------------------------------ lock, language
    def clear(self) -> None:
        """The vault locked: nothing decrypted stays (thumbnails, names, notes)."""
        self.items = []
        self.thumbs = {}
        self._thumb_queue = []
        if self.built:
            self.table.setRowCount(0)
        if self.viewer is not None:
            self.viewer.reject()

    def retranslate_ui(self) -> None:
        if not self.built:
            return
        self.hint.setText(_("Fotos (JPEG, PNG) y documentos PDF del expediente, cifrados en "
                            "la bóveda. Arrastre los archivos aquí o use «Adjuntar…»; doble "
                            "clic para verlos.") if self.can_add else
                          _("Fotos y documentos PDF del expediente; doble clic para verlos."))
        self.table.setHorizontalHeaderLabels([_("Vista"), _("Tipo"), _("Fecha"), _("Nota"),
                                              _("Registro"), _("Archivo")])
        self.empty.setText(_("Todavía no hay adjuntos.") + ("\n" + _(
            "Arrastre aquí fotos o documentos PDF, o use «Adjuntar…».") if self.can_add
            else ""))
        self.add_button.setText(_("&Adjuntar…"))
        self.view_button.setText(_("&Ver"))
        self.delete_button.setText(_("Eliminar"))
        if self.items:
            chosen = self.selected()
            self._fill(chosen.id if chosen is not None else None)


def _local_files(mime) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


# ====================================================================== the viewer

class AttachmentViewer(QDialog):
    """An image (fitted to the window, or at its real size) or a PDF (QPdfView), read from
    the vault into memory on a worker; viewing is written in the disclosure log. Closes,
    and drops what it showed, when the vault locks."""

    def __init__(self, session, att, parent: QWidget | None = None, *, api=core_attachments,
                 kind_label: str = ""):
        super().__init__(parent)
        self.setObjectName("attachmentViewer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.session = session
        self.att = att
        self.api = api
        self.kind_label = kind_label
        self.image: QImage | None = None
        self.document = self.buffer = None
        self.loaded = False
        self.heading = QLabel(wordWrap=True, objectName="viewerHeading")
        self.stack = QStackedWidget(self)
        self.message = QLabel(wordWrap=True, objectName="viewerMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture = QLabel(objectName="viewerImage")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.picture)
        self.scroll.setWidgetResizable(True)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pdf_view = QPdfView(self)
        self.pdf_view.setObjectName("viewerPdf")
        self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        for w in (self.message, self.scroll, self.pdf_view):
            self.stack.addWidget(w)
        self.real_size = QCheckBox(objectName="viewerRealSize")
        self.real_size.toggled.connect(lambda _on: self._show_image())
        self.real_size.setVisible(att.is_image)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.real_size)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bottom)
        self.finished.connect(self._release)
        session.locked.connect(self.reject)
        self.retranslate_ui()
        fit_to_screen(self, 900, 720)
        self._load()

    def retranslate_ui(self) -> None:
        a = self.att
        self.setWindowTitle(_("Adjunto: {kind}").format(kind=self.kind_label or a.kind))
        parts = [self.kind_label or a.kind, display.format_date(a.date), a.filename]
        self.heading.setText(" · ".join(p for p in parts if p) + (f"\n{a.note}" if a.note
                                                                   else ""))
        self.real_size.setText(_("Tamaño &real"))
        if not self.loaded:
            self.message.setText(_("Abriendo…"))

    def _load(self) -> None:
        vault, att, api = self.session.vault, self.att, self.api
        if vault is None:
            return

        def work(_p):
            data = api.content(vault, att.id)
            disclosure.record(vault, disclosure.ATTACHMENT_VIEW, [att.resident_id],
                              attachment=att.id, kind=att.kind)
            if att.is_image:
                image = QImage.fromData(data)
                del data
                if image.isNull():
                    raise core_attachments.AttachmentError(
                        _("Esta imagen no se puede mostrar (está dañada)."))
                return image
            return data

        run_task(self, work, on_success=self._loaded, on_failure=self._failed,
                 show_progress=False)

    gone = False     # closed (and maybe deleted) before the worker answered

    def _loaded(self, result) -> None:
        if self.gone:
            return
        self.loaded = True
        if isinstance(result, QImage):
            self.image = result
            self.stack.setCurrentWidget(self.scroll)
            self._show_image()
            return
        from .pdf_output import load_document

        try:
            self.document, self.buffer = load_document(result, self)
        except CpcError as exc:
            self._failed(exc)
            return
        self.pdf_view.setDocument(self.document)
        self.stack.setCurrentWidget(self.pdf_view)

    def _failed(self, exc: BaseException) -> None:
        from .tasks import error_text

        if self.gone:
            return
        self.loaded = True
        self.message.setText(error_text(exc))
        if not isinstance(exc, core_attachments.AttachmentMissing):
            tint(self.message, ERROR_COLOR, bold=True)
        self.stack.setCurrentWidget(self.message)

    def _show_image(self) -> None:
        if self.image is None:
            return
        pixmap = QPixmap.fromImage(self.image)
        if not self.real_size.isChecked():
            room = self.scroll.viewport().size() - QSize(4, 4)
            if pixmap.width() > room.width() or pixmap.height() > room.height():
                pixmap = pixmap.scaled(room, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation)
        self.picture.setPixmap(pixmap)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._show_image()

    @property
    def showing(self) -> str:
        """"image", "pdf", "message" (tests)."""
        current = self.stack.currentWidget()
        return {self.scroll: "image", self.pdf_view: "pdf"}.get(current, "message")

    def _release(self, _result: int = 0) -> None:
        from .pdf_output import release

        self.gone = True
        release(self.document, self.buffer)
        self.document = self.buffer = None
        self.image = None
        self.picture.clear()


# ====================================================================== the header photo

class HeaderPhoto(QWidget):
    """"Ver foto" by the resident's tabs: the photo stays hidden until clicked (people
    look over shoulders), hides again on a second click, on lock and on close."""

    def __init__(self, window, parent: QWidget | None = None, *, api=core_attachments):
        super().__init__(parent)
        self.window_ = window
        self.api = api
        self.photo = None             # the Attachment, or None
        self.shown = False
        self.button = QPushButton(self, objectName="showPhotoButton")
        self.button.setCheckable(True)
        self.button.toggled.connect(self._toggled)
        # Over the window, under the button, outside any layout: showing it moves nothing.
        self.picture = QLabel(window, objectName="headerPhoto")
        self.picture.setStyleSheet("background: white; border: 1px solid #666; padding: 3px;")
        self.picture.hide()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        self.setVisible(False)
        window.installEventFilter(self)
        self.retranslate_ui()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Resize and self.picture.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        self.picture.adjustSize()
        corner = self.button.mapTo(self.window_, self.button.rect().bottomRight())
        x = max(0, min(corner.x() - self.picture.width(),
                       self.window_.width() - self.picture.width()))
        self.picture.move(x, corner.y() + 4)
        self.picture.raise_()

    def set_photo(self, photo) -> None:
        changed = (photo.id if photo else None) != (self.photo.id if self.photo else None)
        self.photo = photo
        self.setVisible(photo is not None)
        if changed:
            self.hide_photo()

    def hide_photo(self) -> None:
        self.shown = False
        self.picture.clear()
        self.picture.hide()
        self.button.blockSignals(True)
        self.button.setChecked(False)
        self.button.blockSignals(False)
        self.retranslate_ui()

    def _toggled(self, on: bool) -> None:
        if not on or self.photo is None:
            self.hide_photo()
            return
        vault, photo, api = self.window_.session.vault, self.photo, self.api
        if vault is None:
            self.hide_photo()
            return
        if not photo.present:
            self.picture.setText(api.missing_text())
            self.picture.show()
            self._place()
            self.shown = True
            self.retranslate_ui()
            return

        def work(_p):
            data = api.thumbnail(vault, photo.id, HEADER_PHOTO_PX)
            disclosure.record(vault, disclosure.ATTACHMENT_VIEW, [photo.resident_id],
                              attachment=photo.id, kind=photo.kind)
            return QImage.fromData(data) if data else QImage()

        def done(image: QImage) -> None:
            if self.window_.closed or self.photo is not photo or not self.button.isChecked():
                return      # hidden (or locked) while it was being read
            self.picture.setPixmap(QPixmap.fromImage(image))
            self.picture.show()
            self._place()
            self.shown = True
            self.retranslate_ui()

        def failed(exc) -> None:
            if not self.window_.closed:
                self.hide_photo()
                show_error(self.window_, exc)

        run_task(self, work, on_success=done, on_failure=failed, show_progress=False)

    def retranslate_ui(self) -> None:
        self.button.setText(_("Ocultar foto") if self.button.isChecked() else _("Ver foto"))
        self.button.setToolTip(_("La foto queda oculta hasta que la pida: otras personas "
                                 "pueden estar mirando la pantalla."))


def record_label(form: forms.Form, record_date: str | None) -> str:
    title = _(form.title)
    return f"{title} — {display.format_date(record_date)}" if record_date else title
