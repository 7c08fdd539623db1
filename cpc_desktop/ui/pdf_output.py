"""A PDF on screen, on paper or in a file the person chose: the preview dialog, the print job
and "Guardar como PDF…".

The PDF bytes stay in memory: the preview reads them through a QBuffer (never a temporary
file) and drops them when its dialog closes. A file is written only where the person chose,
by printing.write_pdf (atomic: all or nothing). Printing renders each page with QtPdf at the
printer's resolution (at most MAX_PRINT_DPI, in bands, so a page never needs more than a few
MB) and paints it on the QPrinter page by page, on a worker, with progress and Cancel.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPageSize, QPainter, QShortcut
from PySide6.QtPdf import QPdfDocument, QPdfDocumentRenderOptions
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel,
                               QMessageBox, QVBoxLayout, QWidget)

from .. import printing
from ..core.i18n import _
from .lang import language_bus
from .tasks import Cancelled, Progress, TaskHandle, run_task, show_error
from .screen_fit import fit_to_screen
from .settings import Settings, documents_folder

MAX_PRINT_DPI = 600      # laser printers' own resolution; more only costs memory and time
BAND_ROWS = 512          # rows rendered at a time: about 10 MB at 600 dpi on A4
NOTICE_STYLE = ("background: #fff4e5; color: #6b3a00; border: 1px solid #f0c36d; "
                "padding: 6px;")


# ====================================================================== the document

def load_document(data: bytes, parent=None) -> tuple[QPdfDocument, QBuffer]:
    """A QPdfDocument reading `data` from memory (the buffer must outlive the document)."""
    buffer = QBuffer(parent)
    buffer.setData(QByteArray(bytes(data)))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument(parent)
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        document.close()
        buffer.close()
        raise printing.PrintError(_("No se pudo abrir el PDF para mostrarlo o imprimirlo."))
    return document, buffer


def release(document: QPdfDocument | None, buffer: QBuffer | None) -> None:
    """Closes the document and empties its buffer: no page of it stays in memory."""
    if document is not None:
        document.close()
    if buffer is not None:
        buffer.close()
        buffer.setData(QByteArray())


# ====================================================================== printing

def paint_pages(data: bytes, printer: QPrinter, *,
                progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> int:
    """Paints every page of the PDF `data` on `printer` and returns the number of pages.

    Runs on a worker (Qt allows QPainter on a QPrinter outside the UI thread). Each page is
    rendered at the printer's resolution (at most MAX_PRINT_DPI), band by band, on white,
    and scaled to fit the paper keeping its proportions. `cancel()` is asked between bands;
    when it returns True the print job is aborted and tasks.Cancelled is raised.
    """
    document, buffer = load_document(data)
    try:
        pages = document.pageCount()
        printer.setFullPage(True)   # the PDF carries its own margins
        painter = QPainter()
        if not painter.begin(printer):
            raise printing.PrintError(_("No se pudo empezar a imprimir. Revise que la "
                                        "impresora esté encendida y conectada, e inténtelo "
                                        "de nuevo."))
        try:
            for page in range(pages):
                if page:
                    printer.newPage()
                _paint_page(document, page, painter, printer, cancel)
                if progress is not None:
                    progress(page + 1, pages)
        except Cancelled:
            printer.abort()
            painter.end()
            _drop_partial_output(printer)
            raise
        finally:
            if painter.isActive():
                painter.end()
        return pages
    finally:
        release(document, buffer)


def _drop_partial_output(printer: QPrinter) -> None:
    """A cancelled job printed to a PDF file (Qt cannot abort those) leaves no half file."""
    name = printer.outputFileName()
    if printer.outputFormat() == QPrinter.OutputFormat.PdfFormat and name:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _paint_page(document: QPdfDocument, page: int, painter: QPainter, printer: QPrinter,
                cancel: Callable[[], bool] | None) -> None:
    resolution = printer.resolution()
    paper = printer.pageLayout().fullRectPixels(resolution)
    points = document.pagePointSize(page)
    dpi = min(resolution, MAX_PRINT_DPI)
    width = max(1, round(points.width() / 72 * dpi))
    height = max(1, round(points.height() / 72 * dpi))
    # Fit the page on the paper, centred (an A4 form on Letter paper shrinks a little).
    scale = min(paper.width() / width, paper.height() / height)
    left = paper.x() + round((paper.width() - width * scale) / 2)
    top = paper.y() + round((paper.height() - height * scale) / 2)
    options = QPdfDocumentRenderOptions()
    options.setScaledSize(QSize(width, height))
    for y in range(0, height, BAND_ROWS):
        if cancel is not None and cancel():
            raise Cancelled()
        rows = min(BAND_ROWS, height - y)
        options.setScaledClipRect(QRect(0, y, width, rows))
        rendered = document.render(page, QSize(width, rows), options)
        # QtPdf leaves the page transparent: put it on white (printers and PDFs both expect it).
        band = QImage(width, rows, QImage.Format.Format_RGB32)
        band.fill(QColor("white"))
        on_white = QPainter(band)
        on_white.drawImage(0, 0, rendered)
        on_white.end()
        # Integer edges shared by neighbouring bands: no hairline seams on paper.
        y0, y1 = top + round(y * scale), top + round((y + rows) * scale)
        painter.drawImage(QRect(left, y0, round(width * scale), y1 - y0), band)


def new_printer(title: str) -> QPrinter:
    """A printer set to A4 portrait, the paper the forms are made for."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    printer.setDocName(title)
    return printer


def choose_printer(parent: QWidget, title: str, on_chosen: Callable[[QPrinter], None]) -> None:
    """The system print dialog (printer, copies, pages); calls on_chosen(printer) if accepted.
    Printing to a file is left out: "Guardar como PDF…" writes a real PDF where the person
    chooses. Tests replace this function by one that hands over a QPrinter writing a PDF."""
    if not QPrinterInfo.availablePrinters():
        box = QMessageBox(QMessageBox.Icon.Information, _("No hay impresora"),
                          _("No hay ninguna impresora instalada en esta computadora. Use "
                            "«Guardar como PDF…» y lleve el archivo en una memoria USB a una "
                            "computadora con impresora; bórrelo de la memoria después de "
                            "imprimir."), QMessageBox.StandardButton.Ok, parent)
        box.setObjectName("noPrinterBox")
        box.open()
        return
    printer = new_printer(title)
    dialog = QPrintDialog(printer, parent)
    dialog.setObjectName("systemPrintDialog")
    dialog.setWindowTitle(_("Imprimir"))
    dialog.setOption(QPrintDialog.PrintDialogOption.PrintToFile, False)
    dialog.accepted.connect(lambda: on_chosen(printer))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()   # (PySide's QPrintDialog.open() wants a receiver)


def print_pdf(parent: QWidget, data: bytes, title: str, *, printer: QPrinter | None = None,
              on_done: Callable[[int], None] | None = None,
              on_started: Callable[[TaskHandle], None] | None = None) -> TaskHandle | None:
    """Asks for a printer (unless one is given) and prints `data` on it with progress and
    Cancel. Returns the running task when a printer was given; `on_started(task)` is called
    either way once printing starts."""
    if printer is None:
        def chosen(printer_: QPrinter) -> None:
            print_pdf(parent, data, title, printer=printer_, on_done=on_done,
                      on_started=on_started)

        choose_printer(parent, title, chosen)
        return None

    def work(progress: Progress) -> int:
        label = _("Enviando a la impresora…")

        def report(done: int, total: int) -> None:
            progress.update(done, total, _("Enviando a la impresora: página {done} de "
                                           "{total}…").format(done=done, total=total))

        progress.update(0, 0, label)
        return paint_pages(data, printer, progress=report, cancel=lambda: progress.cancelled)

    def done(pages: int) -> None:
        if on_done is not None:
            on_done(pages)

    handle = run_task(parent, work, on_success=done, label=_("Enviando a la impresora…"),
                      cancellable=True)
    handle.printer = printer   # alive until the worker is done with it
    if on_started is not None:
        on_started(handle)
    return handle


# ====================================================================== saving

def ask_pdf_path(parent: QWidget, suggested_name: str) -> Path | None:
    """The save dialog; None when the person cancels. Adds ".pdf" when it was left out.
    Starts in the folder used last time, else the person's Documents (never the program's
    data folder, next to the vaults)."""
    settings = Settings.load()
    folder = settings.folder("pdf", documents_folder())
    chosen, _filter = QFileDialog.getSaveFileName(
        parent, _("Guardar como PDF"), str(Path(folder) / suggested_name),
        _("Documentos PDF (*.pdf)"))
    if not chosen:
        return None
    path = Path(chosen)
    if path.suffix.lower() != ".pdf":
        path = path.with_name(path.name + ".pdf")
    settings.remember_folder("pdf", path.parent)
    return path


def save_pdf(parent: QWidget, data: bytes, suggested_name: str, *,
             on_saved: Callable[[Path], None] | None = None) -> TaskHandle | None:
    """Asks where to save and writes `data` there atomically (on a worker: a USB stick can
    be slow). Returns the task, or None when the person cancelled the file dialog."""
    path = ask_pdf_path(parent, suggested_name)
    if path is None:
        return None
    return run_task(parent, lambda _p: printing.write_pdf(data, path),
                    on_success=lambda saved: on_saved(saved) if on_saved else None,
                    label=_("Guardando el PDF…"))


def safe_file_name(*parts: str) -> str:
    """A file name from codes (never a person's name): letters, digits, dashes."""
    text = "-".join(p for p in parts if p)
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text) + ".pdf"


# ====================================================================== the preview

class PreviewDialog(QDialog):
    """The PDF on screen (QPdfView), the sensitive-data reminder, "Imprimir…",
    "Guardar como PDF…" and "Cerrar". The bytes live in this dialog only."""

    def __init__(self, data: bytes, title: str, suggested_name: str,
                 parent: QWidget | None = None, *, allow_save: bool = True, session=None,
                 disclose: Callable[[str], None] | None = None):
        super().__init__(parent)
        self.setObjectName("printPreview")
        self.disclose = disclose   # told "printer" or "pdf" when the PDF leaves the screen
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.title = title
        self.suggested_name = suggested_name
        self.task: TaskHandle | None = None
        self._data: bytes | None = bytes(data)
        self.document, self.buffer = load_document(self._data, self)
        self.notice = QLabel(printing.sensitive_notice(), wordWrap=True, objectName="sensitiveNotice")
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.view = QPdfView(self)
        self.view.setObjectName("pdfView")
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setDocument(self.document)
        self.pages = QLabel(objectName="pageCount")
        self.status = QLabel(objectName="previewStatus", wordWrap=True)
        self.buttons = QDialogButtonBox()
        self.print_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.print_button.setObjectName("printButton")
        self.print_button.clicked.connect(lambda: self.print_document())
        self.save_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.setObjectName("savePdfButton")
        self.save_button.clicked.connect(lambda: self.save_document())
        self.save_button.setVisible(allow_save)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        self.print_button.setDefault(True)
        QShortcut(QKeySequence.StandardKey.Print, self, activated=self.print_document)
        bottom = QHBoxLayout()
        bottom.addWidget(self.pages)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self.finished.connect(self._release)
        if session is not None:
            # Locking clears decrypted data from the screen: the preview closes with it.
            session.locked.connect(self.reject)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        fit_to_screen(self, 900, 720)

    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Vista previa: {title}").format(title=self.title))
        n = self.document.pageCount() if self._data is not None else 0
        self.pages.setText(_("{n} páginas").format(n=n) if n != 1 else _("1 página"))
        self.print_button.setText(_("&Imprimir…"))
        self.save_button.setText(_("&Guardar como PDF…"))

    @property
    def page_count(self) -> int:
        return self.document.pageCount() if self._data is not None else 0

    def print_document(self, printer: QPrinter | None = None) -> TaskHandle | None:
        if self._data is None:
            return None
        def started(task: TaskHandle) -> None:
            self.task = task
            if self.disclose is not None:
                self.disclose("printer")

        return print_pdf(self, self._data, self.title, printer=printer, on_started=started,
                         on_done=lambda pages: self.status.setText(
                             _("Enviado a la impresora ({n} páginas).").format(n=pages)))

    def save_document(self) -> TaskHandle | None:
        if self._data is None:
            return None
        def saved(path) -> None:
            self.status.setText(_("Guardado en {path}").format(path=path))
            if self.disclose is not None:
                self.disclose("pdf")

        self.task = save_pdf(self, self._data, self.suggested_name, on_saved=saved)
        return self.task

    def _release(self, _result: int = 0) -> None:
        release(self.document, self.buffer)
        self._data = None


def show_preview(parent: QWidget, data: bytes, title: str, suggested_name: str, *,
                 allow_save: bool = True, session=None,
                 disclose: Callable[[str], None] | None = None) -> PreviewDialog | None:
    """Opens the preview; with `session`, it closes (and drops the PDF) when the vault locks;
    `disclose(to)` records printing or saving in the disclosure log."""
    try:
        dialog = PreviewDialog(data, title, suggested_name, parent, allow_save=allow_save,
                               session=session, disclose=disclose)
    except printing.PrintError as exc:
        show_error(parent, exc)
        return None
    dialog.open()
    return dialog


def run_print_task(parent: QWidget, make: Callable[[Progress], bytes], *,
                   on_success: Callable[[bytes], None], label: str,
                   cancellable: bool = False, on_cancel: Callable[[], None] | None = None,
                   on_failure: Callable[[BaseException], None] | None = None) -> TaskHandle:
    """run_task for making a PDF: the printing package's PrintCancelled counts as Cancel."""

    def work(progress: Progress):
        try:
            return make(progress)
        except printing.PrintCancelled:
            raise Cancelled() from None

    return run_task(parent, work, on_success=on_success, on_cancel=on_cancel,
                    on_failure=on_failure, label=label, cancellable=cancellable)
