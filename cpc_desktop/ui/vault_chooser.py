""""Abrir otra bóveda…": the vaults opened on this computer by shelter, with the last person
who signed in to each, and a way to look for one in another folder (a USB stick)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog,
                               QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ..core import display
from ..core.i18n import _
from .screen_fit import fit_to_screen
from .settings import Settings, demo_vault_dir, same_folder

PATH_ROLE = Qt.ItemDataRole.UserRole


class VaultChooser(QDialog):
    """Emits `chosen(path)` with the folder of the vault picked (not checked yet)."""

    chosen = Signal(object)

    def __init__(self, settings: Settings, current: Path | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("vaultChooser")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.intro = QLabel(wordWrap=True)
        self.table = QTableWidget(0, 4, objectName="vaultTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.table.activated.connect(lambda _i: self.open_selected())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setObjectName("openChosenVault")
        self.browse_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.browse_button.setObjectName("browseVault")
        self.browse_button.setAutoDefault(False)
        self.open_button.clicked.connect(self.open_selected)
        self.browse_button.clicked.connect(self.browse)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)
        self.vaults = [(p, info) for p, info in settings.known_vaults()
                       if current is None or not same_folder(p, Path(current))]
        self._fill()
        self.open_button.setDefault(True)
        self.retranslate_ui()
        fit_to_screen(self, 760, 380)

    def _fill(self) -> None:
        demo = demo_vault_dir()
        self.table.setRowCount(len(self.vaults))
        for row, (path, info) in enumerate(self.vaults):
            name = str(info.get("name") or path.name)
            if same_folder(path, demo):
                name = _("Demostración (residentes inventados)")
            cells = (name, str(info.get("code") or ""), str(info.get("user") or ""),
                     display.format_moment(info.get("at")) if info.get("at") else "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(PATH_ROLE, str(path))
                item.setToolTip(str(path))
                self.table.setItem(row, col, item)
        if self.vaults:
            self.table.selectRow(0)
        self.open_button.setEnabled(bool(self.vaults))

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Abrir otra bóveda"))
        self.intro.setText(_("Bóvedas abiertas antes en esta computadora. Elija una, o busque "
                             "otra carpeta (por ejemplo en una memoria USB)."))
        self.table.setHorizontalHeaderLabels([_("Centro"), _("Código"), _("Último usuario"),
                                              _("Última vez")])
        self.open_button.setText(_("&Abrir"))
        self.browse_button.setText(_("&Buscar otra carpeta…"))

    def selected(self) -> Path | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return Path(self.table.item(rows[0].row(), 0).data(PATH_ROLE))

    def open_selected(self) -> None:
        path = self.selected()
        if path is not None:
            self.accept()
            self.chosen.emit(path)

    def browse(self) -> None:
        start = str(self.vaults[0][0].parent) if self.vaults else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, _("Elija la carpeta de la bóveda"),
                                                  start)
        if folder:
            self.accept()
            self.chosen.emit(Path(folder))
