"""Printing from the window: Save as PDF from a resident, the supervision packet from a
selection (progress, Cancel), the in-memory preview, printing on a QPrinter and the recovery
key sheet. A QPrinter writing a PDF file stands in for a real printer."""
from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QFileDialog

from cpc_desktop import printing
from cpc_desktop.ui import pdf_output, tasks
from cpc_desktop.ui.print_dialogs import FormPrintDialog, PacketDialog
from cpc_desktop.ui.resident_window import open_resident


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pages(path_or_bytes) -> int:
    if isinstance(path_or_bytes, bytes):
        return len(PdfReader(io.BytesIO(path_or_bytes)).pages)
    return len(PdfReader(str(path_or_bytes)).pages)


def files_under(*folders: Path) -> set[Path]:
    out: set[Path] = set()
    for folder in folders:
        if folder.exists():
            out |= {p for p in folder.rglob("*") if p.is_file()}
    return out


def temp_entries() -> set[str]:
    """What is directly in the system temp folder (where a careless preview would write)."""
    return {p.name for p in Path(tempfile.gettempdir()).iterdir()
            if p.suffix.lower() == ".pdf" or p.name.startswith((".cpc-", "qt_temp"))}


@pytest.fixture
def save_to(monkeypatch):
    """save_to(path): the next "Guardar como PDF" dialog answers `path`; counts the asks."""
    asked = []

    def install(path: Path):
        def answer(*_a, **_k):
            asked.append(path)
            return str(path), ""
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
        return asked
    return install


@pytest.fixture
def pdf_printer(monkeypatch, tmp_path):
    """The system print dialog replaced by a QPrinter writing printed.pdf (a printer that
    keeps what it printed)."""
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setResolution(150)
    chosen = []

    def choose(_parent, _title, on_chosen):
        chosen.append(printer)
        on_chosen(printer)
        printer.task = next(h for h in tasks.TaskHandle._live
                            if getattr(h, "printer", None) is printer)
    monkeypatch.setattr(pdf_output, "choose_printer", choose)
    printer.chosen = chosen
    printer.task = None
    return printer


@pytest.fixture
def progress_log(monkeypatch):
    """Every Progress.update a task makes, as (done, total); `cancel_at` presses Cancel."""
    class Log(list):
        state: dict

    log = Log()
    real = tasks.Progress.update
    state = {"cancel_at": None}

    def update(self, done, total=0, label=""):
        log.append((done, total))
        if state["cancel_at"] is not None and total and done >= state["cancel_at"]:
            self.cancel()          # what the progress dialog's Cancel button does
        real(self, done, total, label)
    monkeypatch.setattr(tasks.Progress, "update", update)
    log.state = state
    return log


@pytest.fixture
def resident_window(main_window, ui_vault, unlock, qtbot):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    window = open_resident(main_window.session, ui_vault.ids["Rosa"], main_window)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.is_loaded and window.intake_tab.editor is not None,
                    timeout=10_000)
    return window


def _select_rows(view, rows):
    model = view.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    for row in rows:
        model.select(view.model.index(row, 0), flags.Select | flags.Rows)


# ====================================================================== a resident

def test_save_as_pdf_from_a_resident_writes_the_form_only_where_chosen(
        resident_window, main_window, qtbot, tmp_path, save_to):
    usb = tmp_path / "usb"
    usb.mkdir()
    target = usb / "ficha.pdf"
    asked = save_to(target)
    watched = [main_window.session.path, Path(tempfile.gettempdir())]
    before, temp_before = files_under(*watched[:1]), temp_entries()
    code = resident_window.summary.internal_code

    dialog = resident_window.print_dialog("save")
    assert isinstance(dialog, FormPrintDialog)
    assert dialog.current.isChecked(), "the record on screen should be what prints first"
    assert "confidencial" in dialog.notice.text(), "the dialog must remind of sensitive data"
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.saved_path is not None, timeout=20_000)

    assert asked == [target], "the PDF went somewhere the person did not choose"
    assert sorted(usb.iterdir()) == [target], "a temporary or partial file was left beside it"
    text = pdf_text(target)
    assert "Ficha de ingreso" in text, "the saved PDF is not the intake form"
    assert code in text, "the resident's code is missing from the saved form"
    assert files_under(*watched[:1]) == before, "saving wrote into the vault folder"
    assert temp_entries() == temp_before, "saving left a PDF in the temp folder"


def test_unsaved_changes_print_as_typed(resident_window, qtbot, tmp_path, save_to):
    view = resident_window.intake_tab.editor.view
    view.editor("name_nickname").set_value("Apodo Ficticio Nuevo")
    view.refresh()
    assert view.dirty
    target = tmp_path / "borrador.pdf"
    save_to(target)
    dialog = resident_window.print_dialog("save")
    assert dialog.current.isChecked() and "sin guardar" in dialog.current.text()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.saved_path is not None, timeout=20_000)
    assert "Apodo Ficticio Nuevo" in pdf_text(target), \
        "printing the record on screen dropped what was typed but not saved"


def test_preview_loads_from_memory_and_leaves_no_file(resident_window, main_window, qtbot,
                                                      tmp_path):
    watched = [tmp_path, main_window.session.path]
    before, temp_before = files_under(*watched), temp_entries()
    dialog = resident_window.print_dialog("preview")
    dialog.blank.setChecked(True)
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: getattr(dialog, "preview_dialog", None) is not None,
                    timeout=20_000)
    preview = dialog.preview_dialog
    assert preview.document.pageCount() > 0, "the preview shows no page"
    assert preview.view.document() is preview.document
    assert "confidencial" in preview.notice.text()
    assert files_under(*watched) == before, "the preview wrote a file"
    assert temp_entries() == temp_before, "the preview left a file in the temp folder"
    preview.reject()
    assert preview.page_count == 0 and preview.buffer.size() == 0, \
        "the PDF stayed in memory after the preview was closed"


def test_printing_paints_every_page_on_the_printer(resident_window, qtbot, pdf_printer):
    vault = resident_window.session.vault
    expected = pages(printing.render_form(vault, "ficha_ingreso",
                                          resident_id=resident_window.resident_id))
    dialog = resident_window.print_dialog("print")
    dialog.saved_records.setChecked(True)
    dialog.print_button.click()
    qtbot.waitUntil(lambda: bool(pdf_printer.chosen) and pdf_printer.task is not None
                    and pdf_printer.task.finished, timeout=60_000)
    printed = Path(pdf_printer.outputFileName())
    assert pages(printed) == expected, "the printer did not get one sheet per page"


# ====================================================================== the packet

def test_packet_of_three_residents_reports_progress_to_the_end(
        main_window, ui_vault, unlock, qtbot, tmp_path, save_to, progress_log):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    view = main_window.residents_view
    assert not main_window.printing.packet.isEnabled(), "a packet of nobody was offered"
    _select_rows(view, [0, 1, 2])
    assert main_window.printing.packet.isEnabled()
    codes = [view.model.resident_at(r).internal_code for r in range(3)]
    target = tmp_path / "paquete.pdf"
    save_to(target)
    dialog = main_window.printing.save_packet_as_pdf()
    assert isinstance(dialog, PacketDialog)
    assert dialog.prepared_by.text() == main_window.session.vault.user.display_name
    dialog.set_forms(["ficha_ingreso", "registro_atenciones"])
    dialog.language.setCurrentIndex(dialog.language.findData("es+qu"))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.saved_path is not None, timeout=30_000)
    done = [(d, t) for d, t in progress_log if t]
    assert done and done[-1][0] == done[-1][1], f"progress stopped short: {done[-3:]}"
    assert done[-1][1] >= 4, "progress did not count the cover and each resident's forms"
    text = pdf_text(target)
    assert "Paquete para visita de supervisión" in text
    for code in codes:
        assert code in text, f"resident {code} is missing from the packet"


def test_cancelling_a_packet_leaves_no_file(main_window, ui_vault, unlock, qtbot, tmp_path,
                                            save_to, progress_log):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    _select_rows(main_window.residents_view, [0, 1, 2])
    usb = tmp_path / "usb"
    usb.mkdir()
    save_to(usb / "paquete.pdf")
    progress_log.state["cancel_at"] = 2
    dialog = main_window.printing.save_packet_as_pdf()
    task = dialog.save()
    qtbot.waitUntil(lambda: task.finished, timeout=30_000)
    assert list(usb.iterdir()) == [], "a cancelled packet left a file behind"
    assert dialog.saved_path is None
    assert "Cancelado" in dialog.status.text(), "the person is not told the packet was cancelled"
    assert all(b.isEnabled() for b in (dialog.save_button, dialog.print_button))


# ====================================================================== recovery sheet

def test_recovery_sheet_previews_and_prints_without_a_save_button(main_window, ui_vault, qtbot,
                                                                  pdf_printer):
    from cpc_desktop.ui.start import RecoveryKeyDialog

    sheet = RecoveryKeyDialog(ui_vault.recovery_key, "LOR-01", "Casa Ficticia", main_window)
    qtbot.addWidget(sheet)
    sheet.show()
    assert sheet.print_button.isVisible(), "\"Imprimir hoja…\" is not offered"
    sheet.print_button.click()
    qtbot.waitUntil(lambda: getattr(sheet, "_recovery_preview", None) is not None,
                    timeout=20_000)
    preview = sheet._recovery_preview
    assert preview.page_count == 1
    assert not preview.save_button.isVisible(), \
        "the recovery key can be saved to a file, where anyone copying it could open the vault"
    preview.print_button.click()
    qtbot.waitUntil(lambda: preview.task is not None and preview.task.finished, timeout=30_000)
    printed = Path(pdf_printer.outputFileName())
    assert pages(printed) == 1
    preview.reject()
    sheet.noted.setChecked(True)
    sheet.accept()


def test_without_a_printer_the_person_is_sent_to_save_as_pdf(main_window, ui_vault, unlock,
                                                             qtbot, monkeypatch, tmp_path):
    from PySide6.QtPrintSupport import QPrinterInfo
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QPrinterInfo, "availablePrinters", staticmethod(lambda: []))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    data = printing.render_values("consentimiento", None, shelter_code="LOR-01",
                                  shelter_name="Casa Ficticia")
    assert pdf_output.print_pdf(main_window, data, "Consentimiento") is None
    box = main_window.findChild(QMessageBox, "noPrinterBox")
    assert box is not None and box.isVisible(), "nothing said why printing did not start"
    assert "Guardar como PDF" in box.text()
    assert list(cwd.iterdir()) == [], "a PDF was written without being asked where"
    box.accept()


def test_cancelling_a_print_job_stops_it_and_leaves_no_half_output(
        resident_window, qtbot, pdf_printer, progress_log):
    progress_log.state["cancel_at"] = 1
    dialog = resident_window.print_dialog("print")
    dialog.blank.setChecked(True)
    dialog.print_button.click()
    qtbot.waitUntil(lambda: pdf_printer.task is not None and pdf_printer.task.finished,
                    timeout=60_000)
    pages_sent = [d for d, t in progress_log if t]
    assert pages_sent and max(pages_sent) == 1, \
        f"printing went on after Cancel (pages sent: {pages_sent})"
    assert not Path(pdf_printer.outputFileName()).exists(), "a cancelled job left half a PDF"


def test_locking_closes_the_preview_and_drops_the_pdf(main_window, ui_vault, unlock, qtbot):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    chooser = main_window.printing.open_blank_forms()
    assert chooser.blank.isChecked() and not chooser.saved_records.isEnabled()
    chooser.preview_button.click()
    qtbot.waitUntil(lambda: getattr(chooser, "preview_dialog", None) is not None,
                    timeout=20_000)
    preview = chooser.preview_dialog
    assert preview.isVisible() and preview.page_count > 0
    main_window.lock()
    assert not preview.isVisible(), "a form stayed on screen after the vault locked"
    assert preview.page_count == 0, "the PDF stayed in memory after the vault locked"
