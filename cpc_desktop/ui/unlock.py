"""Unlocking a vault: the unlock screen, passphrase recovery, and what a failed open says.

The key derivation (Argon2id, about half a second by design) always runs on a worker.
A wrong passphrase is said plainly and each failure makes the next try wait longer
(1 s, 2 s, 4 s… up to 30 s), so guessing at the keyboard is slow. A vault that cannot be
opened at all (missing, damaged, busy) gets a dialog that says what to do.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QFrame, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from .. import demo
from ..core.errors import (CpcError, PermissionDenied, UnknownUser, VaultBusy,
                           VaultDamaged, VaultDiskFull, VaultError, VaultReadOnly,
                           WrongPassphrase)
from ..core.i18n import N_, _
from ..core.vault import MIN_PASSPHRASE, Vault, passphrase_strength
from .lang import language_bus
from .session import Session
from .settings import demo_vault_dir, is_vault
from .tasks import error_text, run_task

MAX_BACKOFF_S = 30
ERROR_STYLE = "color: #a4000f;"
# Secondary actions look like links but stay buttons (Tab reaches them, Space presses them).
LINK_STYLE = ("QPushButton { color: palette(link); text-decoration: underline; border: none; "
              "padding: 2px 0; text-align: left; } "
              "QPushButton:focus { outline: 1px dotted palette(link); }")

STRENGTH_LABELS = (N_("Muy débil"), N_("Débil"), N_("Aceptable"), N_("Buena"), N_("Fuerte"))


def backoff_seconds(failures: int) -> int:
    """Seconds to wait before the next try after `failures` wrong passphrases."""
    if failures <= 0:
        return 0
    return min(2 ** (failures - 1), MAX_BACKOFF_S)


def is_demo(path: Path | str) -> bool:
    try:
        return Path(path).resolve() == demo_vault_dir().resolve()
    except OSError:
        return False


def error_label() -> QLabel:
    label = QLabel(wordWrap=True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def set_error(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


# ====================================================================== passphrase pair

def first_user_problem(display_name: str, login: str, folder: Path,
                       pair: "PassphrasePair") -> str | None:
    """What is missing for a new vault's first user (creating a shelter, joining one), or None."""
    if not display_name.strip() or not login.strip():
        return _("Escriba su nombre y su usuario.")
    if is_vault(folder) or (folder / "vault.db").exists():
        return _("Ya hay una bóveda en esa carpeta. Elija otra carpeta.")
    return pair.problem()


class PassphrasePair(QObject):
    """A new passphrase typed twice, with a strength hint (core.vault.passphrase_strength).

    Its rows go into the caller's form layout, so labels line up with the other fields.
    """

    changed = Signal()

    def __init__(self, parent: QWidget, form: QFormLayout, *, name_prefix: str = "new"):
        super().__init__(parent)
        self.first = QLineEdit(parent, objectName=f"{name_prefix}Passphrase")
        self.second = QLineEdit(parent, objectName=f"{name_prefix}PassphraseAgain")
        for edit in (self.first, self.second):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.textChanged.connect(self._update)
        self.strength = QProgressBar(parent, objectName="passphraseStrength")
        self.strength.setRange(0, 4)
        self.strength.setTextVisible(False)
        self.strength.setFixedHeight(10)
        self.hint = QLabel(parent, wordWrap=True, objectName="passphraseHint")
        self.first_label, self.second_label = QLabel(parent), QLabel(parent)
        self.first_label.setBuddy(self.first)
        self.second_label.setBuddy(self.second)
        form.addRow(self.first_label, self.first)
        form.addRow("", self.strength)
        form.addRow("", self.hint)
        form.addRow(self.second_label, self.second)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.first_label.setText(_("&Nueva contraseña:"))
        self.second_label.setText(_("&Repítala:"))
        self._update()

    def text(self) -> str:
        return self.first.text()

    def clear(self) -> None:
        self.first.clear()
        self.second.clear()

    def problem(self) -> str | None:
        """What keeps the pair from being used, in words, or None."""
        first, second = self.first.text(), self.second.text()
        if len(first) < MIN_PASSPHRASE:
            return self._too_short()
        if first != second:
            return _("Las dos contraseñas no coinciden.")
        return None

    @staticmethod
    def _too_short() -> str:
        return _("La contraseña debe tener al menos {n} caracteres; una frase de varias "
                 "palabras es más fácil de recordar.").format(n=MIN_PASSPHRASE)

    def follow(self, label: QLabel) -> None:
        """Once `label` shows this pair's problem, it follows the typing: it changes or goes
        away as soon as the passphrases are fixed (the dialog's other problems stay)."""
        self._followed = label
        self._update()

    _followed: QLabel | None = None

    def _update(self) -> None:
        text = self.first.text()
        score = passphrase_strength(text) if text else 0
        self.strength.setValue(score)
        color = ("#c62828", "#ef6c00", "#f9a825", "#7cb342", "#2e7d32")[score]
        self.strength.setStyleSheet(f"QProgressBar::chunk {{ background: {color}; }}")
        if not text:
            hint = _("Al menos {n} caracteres. Use una frase de cuatro o más palabras que "
                     "solo usted conozca.").format(n=MIN_PASSPHRASE)
        else:
            hint = _("Seguridad: {level}.").format(level=_(STRENGTH_LABELS[score]))
            if score < 2:
                hint += " " + _("Alárguela: una frase de varias palabras es más segura y fácil "
                                "de recordar.")
            if len(text) < MIN_PASSPHRASE:
                hint += " " + _("Faltan {n} caracteres.").format(n=MIN_PASSPHRASE - len(text))
        if self.second.text() and text != self.second.text():
            hint += " " + _("Las dos contraseñas no coinciden.")
        self.hint.setText(hint)
        label = self._followed
        if label is not None and label.text() in (self._too_short(),
                                                  _("Las dos contraseñas no coinciden.")):
            set_error(label, self.problem() or "")
        self.changed.emit()


# ====================================================================== vault problems

_ADVICE = {
    VaultBusy: N_("Cierre las otras ventanas de CPC Desktop (también en otras sesiones de esta "
                  "computadora) y vuelva a intentarlo."),
    VaultDamaged: N_("No se ha modificado nada. Pida al soporte que restaure la última copia "
                     "de seguridad (orden «cpc restore»); mientras tanto puede abrir otra "
                     "bóveda."),
    # Their message already says the vault is intact and what to do.
    VaultReadOnly: "",
    VaultDiskFull: "",
}


def vault_problem_text(exc: BaseException) -> str:
    """The message for a vault that cannot be opened: what happened, then what to do."""
    text = error_text(exc)
    for kind, advice in _ADVICE.items():
        if isinstance(exc, kind):
            return text + "\n\n" + _(advice) if advice else text
    if isinstance(exc, VaultError):
        return text + "\n\n" + _("Compruebe que la carpeta elegida es la de la bóveda (contiene "
                                 "«keyslots.json» y «vault.db») o abra otra bóveda.")
    return text


def show_vault_problem(parent: QWidget | None, exc: BaseException,
                       on_other_vault: Callable[[], None] | None = None) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Critical, _("No se puede abrir la bóveda"),
                      vault_problem_text(exc), QMessageBox.StandardButton.Close, parent)
    box.setObjectName("vaultProblemBox")
    if on_other_vault is not None:
        other = box.addButton(_("Abrir otra bóveda…"), QMessageBox.ButtonRole.ActionRole)
        other.clicked.connect(on_other_vault)
    box.open()
    return box


# ====================================================================== unlock screen

class UnlockView(QWidget):
    """User + passphrase; emits `unlocked(vault)` after a successful open on a worker."""

    unlocked = Signal(object)
    other_vault_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("unlockView")
        self.session = session
        self._busy = False
        self._wait_left = 0
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._tick)

        self.title = QLabel(objectName="unlockTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.where = QLabel(wordWrap=True, objectName="unlockPath")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.demo_hint = QLabel(wordWrap=True, objectName="demoHint")
        self.demo_hint.setTextFormat(Qt.TextFormat.RichText)
        self.demo_hint.setFrameShape(QFrame.Shape.StyledPanel)
        self.demo_hint.setMargin(8)
        self.demo_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.user = QLineEdit(objectName="unlockUser")
        self.passphrase = QLineEdit(objectName="unlockPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.user.returnPressed.connect(self.passphrase.setFocus)
        self.passphrase.returnPressed.connect(self.try_unlock)
        self.user_label, self.pass_label = QLabel(), QLabel()
        self.user_label.setBuddy(self.user)
        self.pass_label.setBuddy(self.passphrase)
        self.message = error_label()
        self.message.setObjectName("unlockMessage")
        self.busy = QProgressBar(objectName="unlockBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(10)
        self.busy.hide()
        self.busy_label = QLabel(objectName="unlockBusyLabel")
        self.busy_label.hide()
        self.unlock_button = QPushButton(objectName="unlockButton")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.try_unlock)
        self.forgot_button = QPushButton(objectName="forgotButton")
        self.forgot_button.clicked.connect(self.open_recovery)
        self.other_button = QPushButton(objectName="otherVaultButton")
        self.other_button.clicked.connect(self.other_vault_requested)
        for link in (self.forgot_button, self.other_button):
            link.setFlat(True)
            link.setCursor(Qt.CursorShape.PointingHandCursor)
            link.setStyleSheet(LINK_STYLE)

        card = QFrame(objectName="unlockCard")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setMaximumWidth(560)
        card.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        form = QFormLayout()
        form.addRow(self.user_label, self.user)
        form.addRow(self.pass_label, self.passphrase)
        buttons = QHBoxLayout()
        buttons.addWidget(self.forgot_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(24, 20, 24, 20)
        inner.setSpacing(10)
        inner.addWidget(self.title)
        inner.addWidget(self.where)
        inner.addWidget(self.demo_hint)
        inner.addLayout(form)
        inner.addWidget(self.message)
        inner.addWidget(self.busy_label)
        inner.addWidget(self.busy)
        inner.addLayout(buttons)
        inner.addWidget(self.other_button, 0, Qt.AlignmentFlag.AlignLeft)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.setTabOrder(self.user, self.passphrase)
        self.setTabOrder(self.passphrase, self.unlock_button)
        self.setTabOrder(self.unlock_button, self.forgot_button)
        self.setTabOrder(self.forgot_button, self.other_button)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()

    # ------------------------------------------------------------ texts
    def retranslate_ui(self) -> None:
        self.title.setText(_("Desbloquear la bóveda"))
        # The folder is shown for the demo only: elsewhere the shelter says more, and a path
        # next to the login tells an onlooker where the data is.
        if is_demo(self.session.path):
            self.where.setText(_("Bóveda: {path}").format(path=str(self.session.path)))
        elif self._shelter:
            self.where.setText(_("Centro: {shelter}").format(shelter=self._shelter))
        self.where.setVisible(is_demo(self.session.path) or bool(self._shelter))
        self.user_label.setText(_("&Usuario:"))
        self.pass_label.setText(_("&Contraseña:"))
        self.unlock_button.setText(_("&Desbloquear"))
        self.forgot_button.setText(_("¿&Olvidó su contraseña?"))
        self.other_button.setText(_("Abrir &otra bóveda…"))
        self.busy_label.setText(_("Comprobando la contraseña…"))
        self.demo_hint.setText(html.escape(
            _("Esta es la bóveda de demostración, con residentes inventados. Usuario: {user} — "
              "contraseña: {passphrase}. También: {others} (misma contraseña).")).format(
                user=f"<b>{demo.DEMO_USER}</b>", passphrase=f"<b>{demo.DEMO_PASSPHRASE}</b>",
                others=", ".join(f"<b>{name}</b>" for name, _r, _d in demo.DEMO_USERS[1:])))
        if self._wait_left:
            self._show_wait()

    # ------------------------------------------------------------ state
    _shelter = ""

    def prepare(self, user: str = "", shelter: str = "") -> None:
        """Called each time the screen is shown: fresh passphrase, sensible focus; `user`
        and `shelter` are what this computer remembers of this vault."""
        self.passphrase.clear()
        set_error(self.message, "")
        self._shelter = shelter
        demo_vault = is_demo(self.session.path)
        self.demo_hint.setVisible(demo_vault)
        if self.user.text() == demo.DEMO_USER and not demo_vault:
            self.user.clear()      # "demo" belongs to the demo vault only
        if not self.user.text():
            self.user.setText(user or (demo.DEMO_USER if demo_vault else ""))
        self.retranslate_ui()
        self._set_busy(False)
        if self.session.failed_unlocks:
            self._start_wait(backoff_seconds(self.session.failed_unlocks))
        (self.passphrase if self.user.text() else self.user).setFocus()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self.busy_label.setVisible(busy)
        for w in (self.user, self.passphrase, self.forgot_button, self.other_button):
            w.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy and not self._wait_left)

    @property
    def waiting(self) -> bool:
        return self._wait_left > 0

    # ------------------------------------------------------------ unlock
    def try_unlock(self) -> None:
        if self._busy or self._wait_left:
            return
        user, passphrase = self.user.text().strip(), self.passphrase.text()
        if not user or not passphrase:
            set_error(self.message, _("Escriba su usuario y su contraseña."))
            (self.user if not user else self.passphrase).setFocus()
            return
        set_error(self.message, "")
        self._set_busy(True)
        path = self.session.path
        run_task(self, lambda _p: Vault.open(path, user, passphrase),
                 on_success=self._opened, on_failure=self._failed, show_progress=False)

    def _opened(self, vault: Vault) -> None:
        self._set_busy(False)
        self.passphrase.clear()
        self.session.failed_unlocks = 0
        self.unlocked.emit(vault)

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.passphrase.clear()
        if isinstance(exc, (WrongPassphrase, UnknownUser)):
            self.session.failed_unlocks += 1
            self._start_wait(backoff_seconds(self.session.failed_unlocks))
            self.passphrase.setFocus()
        elif isinstance(exc, PermissionDenied):
            set_error(self.message, error_text(exc))
        else:
            set_error(self.message, "")
            show_vault_problem(self, exc, self.other_vault_requested.emit)

    def _start_wait(self, seconds: int) -> None:
        self._wait_left = seconds
        self._show_wait()
        self.unlock_button.setEnabled(False)
        self._countdown.start()

    def _show_wait(self) -> None:
        set_error(self.message, _("Usuario o contraseña incorrectos. Podrá intentarlo de nuevo en "
                                  "{n} s.").format(n=self._wait_left))

    def _tick(self) -> None:
        self._wait_left = max(0, self._wait_left - 1)
        if self._wait_left:
            self._show_wait()
            return
        self._countdown.stop()
        set_error(self.message, _("Usuario o contraseña incorrectos. Inténtelo de nuevo."))
        self.unlock_button.setEnabled(not self._busy)

    # ------------------------------------------------------------ recovery
    def open_recovery(self) -> None:
        dialog = RecoveryDialog(self.session.path, self.user.text().strip(), self)
        dialog.recovered.connect(self._recovered)
        dialog.open()
        return dialog

    def _recovered(self, vault: Vault) -> None:
        self.user.setText(vault.user.name)
        self._wait_left = 0
        self._countdown.stop()
        self._opened(vault)


def recovery_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


class RecoveryDialog(QDialog):
    """The printed recovery key opens the vault and gives the user a new passphrase."""

    recovered = Signal(object)

    def __init__(self, path: Path, user: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("recoveryDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.path = Path(path)
        self.intro = QLabel(wordWrap=True)
        self.user = QLineEdit(user, objectName="recoveryUser")
        self.key = QLineEdit(objectName="recoveryKey")
        self.key.setFont(recovery_font())
        self.key.setPlaceholderText("XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
        self.message = error_label()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("recoverButton")
        self.buttons.accepted.connect(self._run)
        self.buttons.rejected.connect(self.reject)
        self.user_label, self.key_label = QLabel(), QLabel()
        self.user_label.setBuddy(self.user)
        self.key_label.setBuddy(self.key)
        form = QFormLayout()
        form.addRow(self.user_label, self.user)
        form.addRow(self.key_label, self.key)
        self.pair = PassphrasePair(self, form, name_prefix="recovery")
        self.pair.follow(self.message)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self.retranslate_ui()
        (self.key if user else self.user).setFocus()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Recuperar el acceso"))
        self.intro.setText(_("Escriba la clave de recuperación que se imprimió al crear la "
                             "bóveda (seis grupos de cinco caracteres) y elija una contraseña "
                             "nueva para su usuario."))
        self.user_label.setText(_("&Usuario:"))
        self.key_label.setText(_("&Clave de recuperación:"))
        self.ok.setText(_("Recuperar el &acceso"))

    def _run(self) -> None:
        user, key = self.user.text().strip(), self.key.text().strip()
        problem = None
        if not user:
            problem = _("Escriba su usuario.")
        elif not key:
            problem = _("Escriba la clave de recuperación.")
        else:
            problem = self.pair.problem()
        if problem:
            set_error(self.message, problem)
            return
        set_error(self.message, "")
        self.busy.show()
        self.buttons.setEnabled(False)
        path, passphrase = self.path, self.pair.text()
        run_task(self, lambda _p: Vault.open_with_recovery(path, key, user, passphrase),
                 on_success=self._done, on_failure=self._failed, show_progress=False)

    def _done(self, vault: Vault) -> None:
        self.busy.hide()
        self.pair.clear()
        self.accept()
        self.recovered.emit(vault)

    def _failed(self, exc: BaseException) -> None:
        self.busy.hide()
        self.buttons.setEnabled(True)
        # A wrong key or user is said in place; a vault that cannot be read gets the dialog.
        if isinstance(exc, CpcError) and not isinstance(exc, (VaultDamaged, VaultBusy)):
            set_error(self.message, error_text(exc))
        else:
            show_vault_problem(self, exc)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(560, super().sizeHint().height())
