"""The first screen when there is no vault yet: create the shelter's vault, open the demo, or
open a vault in another folder. Also the one-time recovery key sheet shown after creation.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QApplication, QCheckBox, QCommandLinkButton, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from .. import demo
from ..core.i18n import _
from ..core.users import without_title
from ..core.vault import Vault, fold
from .lang import language_bus
from .settings import default_vault_dir
from .tasks import Progress, run_task
from .unlock import (PassphrasePair, error_label, first_user_problem, recovery_font,
                     set_error)

# Hook for the printing issue: fn(parent, shelter_code, shelter_name, recovery_key) prints
# the recovery sheet. While None, the "Imprimir hoja…" button stays hidden.
RecoverySheetPrinter = Callable[[QWidget, str, str, str], None]
_recovery_sheet_printer: RecoverySheetPrinter | None = None


def set_recovery_sheet_printer(fn: RecoverySheetPrinter | None) -> None:
    """Called by the printing package to offer "Imprimir hoja…" on the recovery key sheet."""
    global _recovery_sheet_printer
    _recovery_sheet_printer = fn


def suggest_login(display_name: str) -> str:
    """"Rosa Quispe Ccori" → "rosa.quispe": what people type easily on any keyboard (a title
    before the name, "Lic.", is left out)."""
    words = re.findall(r"[a-z0-9]+", without_title(fold(display_name)))
    return ".".join(words[:2])


def free_vault_dir() -> Path:
    """The default vault folder, or a numbered sibling when that one is taken."""
    base = default_vault_dir()
    candidate, n = base, 2
    while candidate.exists() and any(candidate.iterdir()):
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


# ====================================================================== start screen

class StartView(QWidget):
    create_requested = Signal()
    demo_requested = Signal()
    other_requested = Signal()
    join_requested = Signal()       # "Unirse con una invitación…" (the sync menu answers it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startView")
        self.title = QLabel(objectName="startTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.title.setFont(font)
        self.intro = QLabel(wordWrap=True, objectName="startIntro")
        self.create_button = QCommandLinkButton(objectName="createVaultButton")
        self.demo_button = QCommandLinkButton(objectName="openDemoButton")
        self.other_button = QCommandLinkButton(objectName="openOtherButton")
        self.join_button = QCommandLinkButton(objectName="joinInvitationButton")
        self.create_button.clicked.connect(self.create_requested)
        self.demo_button.clicked.connect(self.demo_requested)
        self.other_button.clicked.connect(self.other_requested)
        self.join_button.clicked.connect(self.join_requested)
        self.logo = QLabel()
        self.logo.setPixmap(QApplication.windowIcon().pixmap(64, 64))
        heading = QHBoxLayout()
        heading.addWidget(self.logo)
        heading.addWidget(self.title, 1)
        card = QFrame()
        card.setMaximumWidth(640)
        inner = QVBoxLayout(card)
        inner.setSpacing(12)
        inner.addLayout(heading)
        inner.addWidget(self.intro)
        inner.addSpacing(8)
        for button in (self.create_button, self.join_button, self.demo_button,
                       self.other_button):
            inner.addWidget(button)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.title.setText(_("Le damos la bienvenida a CPC Desktop"))
        self.intro.setText(_("Todavía no hay una bóveda en esta computadora. La bóveda guarda, "
                             "cifrados, los registros de los residentes del centro: sin la "
                             "contraseña nadie puede leerlos."))
        self.create_button.setText(_("Crear la bóveda del centro"))
        self.create_button.setDescription(_("Para empezar a registrar a los residentes. Usted "
                                            "será la primera persona coordinadora."))
        self.demo_button.setText(_("Abrir la demostración"))
        self.demo_button.setDescription(_("Un centro ficticio con residentes inventados, para "
                                          "conocer el programa sin riesgo."))
        self.other_button.setText(_("Abrir otra bóveda…"))
        self.other_button.setDescription(_("Una bóveda que ya existe en otra carpeta o en una "
                                           "memoria USB."))
        self.join_button.setText(_("Unirse con una invitación…"))
        self.join_button.setDescription(_("Esta computadora se suma a un centro que ya usa el "
                                          "programa, con el archivo y el código que le dio la "
                                          "coordinación."))


# ====================================================================== create a vault

class CreateVaultDialog(QDialog):
    """Shelter code and name, first coordinator, passphrase twice; creates on a worker and
    emits `created(vault, recovery_key)`."""

    created = Signal(object, str)

    def __init__(self, parent: QWidget | None = None, *, kdf_seconds: float = 0.5,
                 folder: Path | None = None):
        super().__init__(parent)
        self.setObjectName("createVaultDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.kdf_seconds = kdf_seconds
        self.folder = Path(folder) if folder else free_vault_dir()
        self._login_edited = False
        self.intro = QLabel(wordWrap=True)
        self.code = QLineEdit(objectName="shelterCode")
        self.code.setPlaceholderText("LOR-01")
        self.code.setMaxLength(16)
        self.shelter = QLineEdit(objectName="shelterName")
        self.display_name = QLineEdit(objectName="coordinatorName")
        self.login = QLineEdit(objectName="coordinatorLogin")
        self.display_name.textEdited.connect(self._suggest_login)
        self.login.textEdited.connect(lambda _t: setattr(self, "_login_edited", True))
        self.folder_label_value = QLabel(wordWrap=True, objectName="vaultFolder")
        self.folder_button = QPushButton(objectName="chooseFolder")
        # Enter in any field creates the vault; only a click changes the folder.
        self.folder_button.setAutoDefault(False)
        self.folder_button.clicked.connect(self._choose_folder)
        self.message = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("createButton")
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)
        self.labels = {k: QLabel() for k in ("code", "shelter", "display", "login", "folder")}
        form = QFormLayout()
        for key, widget in (("code", self.code), ("shelter", self.shelter),
                            ("display", self.display_name), ("login", self.login)):
            self.labels[key].setBuddy(widget)
            form.addRow(self.labels[key], widget)
        self.pair = PassphrasePair(self, form, name_prefix="create")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label_value, 1)
        folder_row.addWidget(self.folder_button)
        self.labels["folder"].setBuddy(self.folder_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        form.addRow(self.labels["folder"], folder_row)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.pair.follow(self.message)
        self.ok.setDefault(True)   # once inside the dialog, or the dialog never learns it
        self.setMinimumWidth(600)
        for a, b in ((self.code, self.shelter), (self.shelter, self.display_name),
                     (self.display_name, self.login), (self.login, self.pair.first),
                     (self.pair.first, self.pair.second), (self.pair.second, self.folder_button)):
            self.setTabOrder(a, b)
        self.retranslate_ui()
        self.code.setFocus()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Crear la bóveda del centro"))
        self.intro.setText(_("Estos datos identifican al centro y a la primera persona "
                             "coordinadora, que luego podrá agregar al resto del equipo."))
        self.labels["code"].setText(_("&Código del centro:"))
        self.labels["shelter"].setText(_("&Nombre del centro:"))
        self.labels["display"].setText(_("Su nombre &completo:"))
        self.labels["login"].setText(_("Su &usuario (para entrar):"))
        self.labels["folder"].setText(_("Carpeta:"))
        self.folder_label_value.setText(str(self.folder))
        self.folder_button.setText(_("Ca&mbiar…"))
        self.ok.setText(_("Crear la &bóveda"))

    def _suggest_login(self, text: str) -> None:
        if not self._login_edited:
            self.login.setText(suggest_login(text))

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, _("Carpeta para la nueva bóveda"),
                                                  str(self.folder.parent))
        if chosen:
            self.folder = Path(chosen)
            self.folder_label_value.setText(str(self.folder))

    def problem(self) -> str | None:
        if not self.code.text().strip():
            return _("Escriba el código del centro (por ejemplo LOR-01).")
        if not self.shelter.text().strip():
            return _("Escriba el nombre del centro.")
        return first_user_problem(self.display_name.text(), self.login.text(), self.folder,
                                  self.pair)

    def create(self) -> None:
        problem = self.problem()
        if problem:
            set_error(self.message, problem)
            return
        set_error(self.message, "")
        self.buttons.setEnabled(False)
        args = dict(shelter_code=self.code.text().strip(), shelter_name=self.shelter.text().strip(),
                    user=self.login.text().strip(), display_name=self.display_name.text().strip(),
                    passphrase=self.pair.text(), kdf_seconds=self.kdf_seconds)
        folder = self.folder

        def work(_progress: Progress):
            return Vault.create(folder, **args)

        run_task(self, work, on_success=self._done, on_failure=self._failed,
                 label=_("Creando la bóveda y protegiendo la contraseña; tarda unos "
                         "segundos…"))

    def _done(self, result) -> None:
        vault, recovery_key = result
        self.pair.clear()
        self.accept()
        self.created.emit(vault, recovery_key)

    def _failed(self, exc: BaseException) -> None:
        from .tasks import error_text

        self.buttons.setEnabled(True)
        set_error(self.message, error_text(exc))


class RecoveryKeyDialog(QDialog):
    """Shows the recovery key once; continuing needs "La anoté / la imprimí" ticked."""

    def __init__(self, recovery_key: str, shelter_code: str, shelter_name: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("recoveryKeyDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._key, self._code, self._name = recovery_key, shelter_code, shelter_name
        self.heading = QLabel(wordWrap=True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.key_label = QLabel(recovery_key, objectName="recoveryKeyText")
        big = recovery_font()
        big.setPointSizeF(self.font().pointSizeF() * 1.9)
        big.setWeight(QFont.Weight.DemiBold)
        self.key_label.setFont(big)
        self.key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.key_label.setFrameShape(QFrame.Shape.Box)
        self.key_label.setMargin(14)
        # Not selectable: copying would leave the key in the clipboard (and its history).
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.advice = QLabel(wordWrap=True)
        self.noted = QCheckBox(objectName="recoveryNoted")
        self.noted.toggled.connect(self._update)
        self.buttons = QDialogButtonBox()
        self.print_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.print_button.setObjectName("printRecoverySheet")
        self.print_button.clicked.connect(self._print)
        self.print_button.setVisible(_recovery_sheet_printer is not None)
        self.continue_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.continue_button.setObjectName("recoveryContinue")
        self.buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.key_label)
        layout.addWidget(self.advice)
        layout.addWidget(self.noted)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(640)
        self.retranslate_ui()
        self._update()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Clave de recuperación"))
        self.heading.setText(_("Clave de recuperación de «{name}» ({code})").format(
            name=self._name, code=self._code))
        self.advice.setText(_("Esta clave abre la bóveda si alguien olvida su contraseña. Se "
                              "muestra SOLO ESTA VEZ. Imprímala o cópiela a mano en papel y "
                              "guárdela bajo llave, lejos de la computadora: quien tenga esta "
                              "clave puede leer todos los datos del centro. No la guarde en la "
                              "computadora ni la envíe por correo o WhatsApp."))
        self.noted.setText(_("La &anoté / la imprimí"))
        self.print_button.setText(_("&Imprimir hoja…"))
        self.continue_button.setText(_("&Continuar"))

    def _update(self) -> None:
        self.continue_button.setEnabled(self.noted.isChecked())

    def _print(self) -> None:
        if _recovery_sheet_printer is not None:
            _recovery_sheet_printer(self, self._code, self._name, self._key)

    def accept(self) -> None:
        if self.noted.isChecked():
            super().accept()

    def reject(self) -> None:
        # Esc or the window's close button must not skip the only sight of the key.
        if self.noted.isChecked():
            super().accept()

    def done(self, result: int) -> None:
        if self.noted.isChecked():
            super().done(result)


# ====================================================================== the demo

def create_demo(parent: QWidget, path: Path, on_done: Callable[[Vault], None], *,
                residents: int = demo.DEFAULT_RESIDENTS, kdf_seconds: float = 0.5):
    """Builds the demo vault at `path` on a worker with a progress bar and Cancel; a
    cancelled build leaves no half-made demo behind."""
    path = Path(path)
    existed = path.exists()

    def work(progress: Progress) -> Vault:
        label = _("Preparando la demostración: residentes inventados…")

        def report(done: int, total: int) -> None:
            progress.update(done, total, label)

        vault, _key = demo.create_demo_vault(path, residents=residents, kdf_seconds=kdf_seconds,
                                             progress=report, cancel=lambda: progress.cancelled)
        if progress.cancelled:
            vault.lock()
            progress.check()
        return vault

    def cleanup() -> None:
        # Only a folder this build made is removed: the demo's, never someone's vault.
        if not existed and path.exists():
            shutil.rmtree(path, ignore_errors=True)

    def failed(exc: BaseException) -> None:
        from .tasks import show_error

        cleanup()
        show_error(parent, exc)

    return run_task(parent, work, on_success=on_done, on_failure=failed, on_cancel=cleanup,
                    label=_("Preparando la demostración…"), cancellable=True)
