"""Changing the vault's key from the window: the question, the work on a worker thread with a
progress bar (Cancel works until the new copy is complete), then the new recovery key.

Used by "Usuarios ▸ Cambiar la llave de la bóveda…" (coordinators) and by disabling a user.
"""
from __future__ import annotations

from PySide6.QtWidgets import (QButtonGroup, QDialog, QDialogButtonBox, QLabel, QRadioButton,
                               QVBoxLayout, QWidget)

from ..core.i18n import _
from .session import Session
from .start import RecoveryKeyDialog
from .tasks import TaskHandle, run_task


def backups_notice() -> str:
    return _("Las copias de seguridad hechas antes de este cambio se siguen abriendo solo con "
             "las contraseñas y la clave de recuperación de su fecha, también las de usuarios "
             "desactivados. Guárdelas bajo llave o destrúyalas, y haga una copia nueva ahora.")


def rekey_explanation() -> str:
    return _("Los datos se vuelven a cifrar con una llave nueva. Las contraseñas de los usuarios "
             "activos no cambian, pero la clave de recuperación sí: tendrá que imprimir o anotar "
             "la nueva y destruir la hoja anterior. Ningún archivo de llaves antiguo (por "
             "ejemplo, el de una copia de seguridad) abrirá la bóveda de hoy.")


class RekeyDialog(QDialog):
    """Asks why ("cambiar la llave" or "una computadora o contraseña pudo caer en otras manos")
    and confirms; `reason` is what the audit log records."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("rekeyDialog")
        self.setWindowTitle(_("Cambiar la llave de la bóveda"))
        self.text = QLabel(rekey_explanation(), wordWrap=True)
        self.notice = QLabel(backups_notice(), wordWrap=True)
        self.routine = QRadioButton(_("Cambio de rutina de la llave"), objectName="rekeyRoutine")
        self.compromised = QRadioButton(_("Una computadora, una copia o una contraseña pudo "
                                          "caer en otras manos"), objectName="rekeyCompromised")
        self.routine.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.routine)
        group.addButton(self.compromised)
        self.hint = QLabel(_("Si una contraseña pudo ser vista, que esa persona la cambie "
                             "también, o póngale una nueva."),
                           wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton(_("&Cambiar la llave"),
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("rekeyConfirm")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (self.text, self.routine, self.compromised, self.hint, self.notice,
                  self.buttons):
            layout.addWidget(w)
        self.setMinimumWidth(560)

    @property
    def reason(self) -> str:
        return "compromised" if self.compromised.isChecked() else "coordinator"


def run_rekey(parent: QWidget, session: Session, *, reason: str = "coordinator",
              disable: str | None = None, on_done=None) -> TaskHandle:
    """Re-keys (and disables `disable`) on a worker; shows the new recovery key after."""
    vault = session.vault

    def work(progress):
        def step(done: int, total: int) -> None:
            progress.check()        # Cancel: only while copying, before anything is swapped
            progress.update(done, total)

        if disable is not None:
            return vault.disable_user(disable, progress=step)
        return vault.rekey(reason, progress=step)

    def done(result) -> None:
        session.notify()
        dialog = show_result(parent, result)
        if on_done is not None:
            on_done(result, dialog)

    label = (_("Desactivando a «{user}» y cambiando la llave de la bóveda…").format(
        user=disable) if disable else _("Cambiando la llave de la bóveda…"))
    return run_task(parent, work, on_success=done, label=label, cancellable=True)


def show_result(parent: QWidget, result) -> RecoveryKeyDialog:
    """The new recovery key (once), with what changed for backups and users."""
    dialog = RecoveryKeyDialog(result.recovery_key, result.shelter_code, result.shelter_name,
                               parent)
    dialog.setObjectName("rekeyResult")
    lines = [_("Llave de la bóveda cambiada. La clave de recuperación anterior ya no sirve: "
               "destruya su hoja."), backups_notice()]
    if result.lost_access:
        lines.append(_("Estos usuarios no abrieron la bóveda desde la actualización del "
                       "programa y necesitan que la coordinación les ponga una contraseña "
                       "nueva: {users}").format(users=", ".join(result.lost_access)))
    notice = QLabel("\n\n".join(lines), wordWrap=True, objectName="rekeyNotice")
    dialog.layout().insertWidget(1, notice)
    dialog.notice = notice
    dialog.open()
    return dialog
