"""The disclosure log from the window: opening a resident, printing, saving as PDF, the
preview's buttons and the supervision packet each leave an entry that the coordinator reads
under "Accesos…"; the print dialog stays open under its preview and keeps the language."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel

from cpc_desktop.core import disclosure
from cpc_desktop.ui import tasks
from cpc_desktop.ui.resident_window import open_resident
from test_printing_ui import pdf_printer, save_to  # noqa: F401 — shared fixtures


def _actions(vault, rid) -> list[str]:
    return [e.action for e in disclosure.entries(vault, rid)]


def _open(main_window, qtbot, rid):
    window = open_resident(main_window.session, rid, main_window)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.is_loaded and window.intake_tab.editor is not None,
                    timeout=10_000)
    return window


def test_each_disclosure_from_the_window_is_logged_and_listed(
        main_window, ui_vault, unlock, qtbot, tmp_path, save_to, pdf_printer):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    vault = main_window.session.vault
    rid = ui_vault.ids["Rosa"]
    window = _open(main_window, qtbot, rid)
    qtbot.waitUntil(lambda: _actions(vault, rid) == [disclosure.OPEN], timeout=5000)

    save_to(tmp_path / "ficha.pdf")
    dialog = window.print_dialog("save")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.saved_path is not None, timeout=20_000)
    assert _actions(vault, rid)[-1] == disclosure.PDF

    dialog = window.print_dialog("print")
    dialog.saved_records.setChecked(True)
    dialog.print_button.click()
    qtbot.waitUntil(lambda: _actions(vault, rid)[-1] == disclosure.PRINT, timeout=30_000)
    qtbot.waitUntil(lambda: not any(not h.finished for h in tasks.TaskHandle._live),
                    timeout=30_000)

    # The preview: the dialog stays under it, and its Print button is a disclosure too.
    dialog = window.print_dialog("preview")
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: getattr(dialog, "preview_dialog", None) is not None,
                    timeout=20_000)
    assert dialog.isVisible(), "the print dialog closed with the preview"
    before = len(_actions(vault, rid))
    dialog.preview_dialog.print_document(pdf_printer)
    qtbot.waitUntil(lambda: len(_actions(vault, rid)) == before + 1, timeout=30_000)
    qtbot.waitUntil(lambda: dialog.preview_dialog.task.finished, timeout=30_000)
    dialog.preview_dialog.reject()
    dialog.reject()

    # Opening again while the window is open is the same look, not a new entry.
    assert open_resident(main_window.session, rid, main_window) is window
    log = window.show_access_log()
    qtbot.waitUntil(lambda: len(log.rows) == 4, timeout=5000)
    texts = [" | ".join(row) for row in log.rows]
    assert texts[-1].split(" | ")[2] == "Abrió el expediente"
    assert any("Imprimió" in t and "Ficha de ingreso" in t for t in texts)
    assert any("Guardó como PDF" in t for t in texts)
    assert vault.verify_audit().ok


def test_packet_records_every_resident_with_the_reason(
        main_window, ui_vault, unlock, qtbot, tmp_path, save_to):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    view = main_window.residents_view
    model = view.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    for row in (0, 1):
        model.select(view.model.index(row, 0), flags.Select | flags.Rows)
    ids = [view.model.resident_at(r).id for r in (0, 1)]
    save_to(tmp_path / "paquete.pdf")
    dialog = main_window.printing.save_packet_as_pdf()
    dialog.set_forms(["ficha_ingreso"])
    dialog.reason.setText("visita ficticia de la UPE")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.saved_path is not None, timeout=30_000)
    vault = main_window.session.vault
    for rid in ids:
        [entry] = disclosure.entries(vault, rid)
        assert entry.action == disclosure.PACKET
        assert entry.detail == {"forms": ["ficha_ingreso"], "to": "pdf", "lang": "es",
                                "reason": "visita ficticia de la UPE"}


def test_the_log_is_for_coordinators_only(main_window, ui_vault, unlock, qtbot):
    unlock(main_window, *ui_vault.professional)
    window = _open(main_window, qtbot, ui_vault.ids["Inti"])
    assert not window.access_button.isVisibleTo(window)


def test_the_print_language_is_remembered(main_window, ui_vault, unlock, qtbot):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    window = _open(main_window, qtbot, ui_vault.ids["Rosa"])
    dialog = window.print_dialog("print")
    index = dialog.language.findData("es+qu")
    dialog.language.setCurrentIndex(index)
    dialog.language.activated.emit(index)
    dialog.reject()
    assert window.print_dialog("print").language.currentData() == "es+qu"
