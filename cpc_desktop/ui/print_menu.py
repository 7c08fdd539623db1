"""The "Imprimir" menu of the main window and the recovery sheet hook of the start screen.

Kept light on purpose: the dialogs (ui/print_dialogs.py, with reportlab and QtPdf behind them)
are imported the first time something is printed, not at start-up.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QWidget

from ..core.i18n import _
from ..core.users import Action
from . import start
from .lang import language_bus


def print_recovery_sheet(parent: QWidget, shelter_code: str, shelter_name: str,
                         recovery_key: str):
    """"Imprimir hoja…" on the recovery key screen (see print_dialogs.print_recovery_sheet)."""
    from . import print_dialogs

    return print_dialogs.print_recovery_sheet(parent, shelter_code, shelter_name, recovery_key)


class PrintMenu(QObject):
    """The "Imprimir" menu of the main window (inserted before "Ver"): the packet of the
    residents chosen in the list, saved or printed, and blank forms."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.menu = QMenu(window, objectName="menuPrint")
        self.packet = QAction(window, objectName="actPrintPacket")
        self.packet.setShortcut(QKeySequence.StandardKey.Print)
        self.packet.triggered.connect(self.open_packet)
        self.save_packet = QAction(window, objectName="actSavePacket")
        self.save_packet.triggered.connect(self.save_packet_as_pdf)
        self.blank = QAction(window, objectName="actPrintBlank")
        self.blank.triggered.connect(self.open_blank_forms)
        for action in (self.packet, self.save_packet, self.blank):
            window.addAction(action)
        self.menu.addAction(self.packet)
        self.menu.addAction(self.save_packet)
        self.menu.addSeparator()
        self.menu.addAction(self.blank)
        window.menuBar().insertMenu(window.menu_view.menuAction(), self.menu)
        self.dialog: QDialog | None = None
        view = window.residents_view
        view.table.selectionModel().selectionChanged.connect(self.update)
        view.model.modelReset.connect(self.update)
        for signal in (window.session.unlocked, window.session.locked, window.session.changed):
            signal.connect(self.update)
        language_bus().changed.connect(self.retranslate)
        self.retranslate()
        self.update()

    def update(self, *_a) -> None:
        session = self.window.session
        unlocked = session.is_unlocked and session.can(Action.READ)
        chosen = unlocked and bool(self.window.residents_view.selected_resident_ids())
        self.packet.setEnabled(chosen)
        self.save_packet.setEnabled(chosen)
        self.blank.setEnabled(unlocked)

    def retranslate(self, *_a) -> None:
        self.menu.setTitle(_("Im&primir"))
        self.packet.setText(_("&Paquete de supervisión de los residentes elegidos…"))
        self.save_packet.setText(_("&Guardar el paquete como PDF…"))
        self.blank.setText(_("&Formularios en blanco…"))

    def open_packet(self, *_a, action: str = "preview"):
        """The packet dialog for the residents selected in the main list."""
        window = self.window
        ids = window.residents_view.selected_resident_ids()
        if not window.session.is_unlocked or not ids:
            return None
        from .print_dialogs import PacketDialog

        rows = {r.id: r.internal_code for r in window.residents_view.model.rows}
        self.dialog = PacketDialog(window.session, ids, [rows.get(i, "") for i in ids],
                                   window, action=action)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.open()
        return self.dialog

    def save_packet_as_pdf(self, *_a):
        return self.open_packet(action="save")

    def open_blank_forms(self, *_a):
        if not self.window.session.is_unlocked:
            return None
        from .print_dialogs import FormPrintDialog

        self.dialog = FormPrintDialog(self.window.session, self.window)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.open()
        return self.dialog


def install(window) -> PrintMenu:
    """Adds the "Imprimir" menu to the main window and offers "Imprimir hoja…" on the
    recovery key screen."""
    start.set_recovery_sheet_printer(print_recovery_sheet)
    window.printing = PrintMenu(window)
    return window.printing
