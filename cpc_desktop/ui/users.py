"""Users of the vault (coordinators manage them) and changing one's own passphrase.

Buttons that would fail for the signed-in role are disabled; the core refuses anyway.
Operations that derive a key (adding a user, setting a passphrase) run on a worker.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QProgressBar, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from ..core.i18n import _
from ..core.users import Action, Role, User
from .lang import language_bus
from .session import Session
from .tasks import error_text, run_task
from .unlock import PassphrasePair, error_label, set_error

USER_ROLE = Qt.ItemDataRole.UserRole


def _busy_bar() -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setMaximumHeight(10)
    bar.hide()
    return bar


class _VaultDialog(QDialog):
    """A dialog that closes itself when the vault locks (it may show decrypted data)."""

    def __init__(self, session: Session, parent: QWidget | None):
        super().__init__(parent)
        self.session = session
        self.setWindowModality(Qt.WindowModality.WindowModal)
        session.locked.connect(self._on_locked)

    def _on_locked(self) -> None:
        self.done(QDialog.DialogCode.Rejected)


class UsersDialog(_VaultDialog):
    """Lists users with their roles; coordinators add, change role, disable and reset."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(session, parent)
        self.setObjectName("usersDialog")
        self.intro = QLabel(wordWrap=True)
        self.tree = QTreeWidget(objectName="usersList")
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setColumnCount(4)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.add_button = QPushButton(objectName="addUserButton")
        self.role_button = QPushButton(objectName="changeRoleButton")
        self.active_button = QPushButton(objectName="toggleActiveButton")
        self.reset_button = QPushButton(objectName="resetPassphraseButton")
        self.add_button.clicked.connect(self.add_user)
        self.role_button.clicked.connect(self.change_role)
        self.active_button.clicked.connect(self.toggle_active)
        self.reset_button.clicked.connect(self.reset_passphrase)
        self.readonly_note = QLabel(wordWrap=True, objectName="usersReadOnly")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        side = QVBoxLayout()
        for b in (self.add_button, self.role_button, self.active_button, self.reset_button):
            side.addWidget(b)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.tree, 1)
        row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(row, 1)
        layout.addWidget(self.readonly_note)
        layout.addWidget(self.buttons)
        self.resize(720, 380)
        session.changed.connect(lambda _c: self.refresh())
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        self.refresh()

    # ------------------------------------------------------------ texts and state
    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Usuarios de la bóveda"))
        self.intro.setText(_("Cada persona del equipo entra con su propio usuario y contraseña. "
                             "Desactivar a alguien le quita el acceso enseguida."))
        self.tree.setHeaderLabels([_("Usuario"), _("Nombre"), _("Rol"), _("Estado")])
        self.add_button.setText(_("&Agregar usuario…"))
        self.role_button.setText(_("Cambiar &rol…"))
        self.reset_button.setText(_("Nueva &contraseña…"))
        self.readonly_note.setText(_("Solo un(a) coordinador(a) puede administrar usuarios. "
                                     "Usted puede ver la lista."))
        self.refresh()

    @property
    def can_manage(self) -> bool:
        return self.session.can(Action.MANAGE_USERS)

    def refresh(self) -> None:
        if not self.session.is_unlocked:
            return
        selected = self.selected_user()
        self.tree.clear()
        for user in self.session.vault.users():
            item = QTreeWidgetItem([user.name, user.display_name, user.role.label,
                                    _("Activo") if user.active else _("Desactivado")])
            item.setData(0, USER_ROLE, user)
            self.tree.addTopLevelItem(item)
            if selected and user.name == selected.name:
                self.tree.setCurrentItem(item)
        for col in range(3):
            self.tree.resizeColumnToContents(col)
        self.readonly_note.setVisible(not self.can_manage)
        self._update_buttons()

    def selected_user(self) -> User | None:
        item = self.tree.currentItem()
        return item.data(0, USER_ROLE) if item is not None else None

    def _update_buttons(self) -> None:
        manage = self.can_manage
        user = self.selected_user()
        self.add_button.setEnabled(manage)
        for b in (self.role_button, self.active_button, self.reset_button):
            b.setEnabled(manage and user is not None)
        if user is not None and not user.active:
            self.active_button.setText(_("&Activar"))
            self.reset_button.setEnabled(False)
        else:
            self.active_button.setText(_("&Desactivar"))

    # ------------------------------------------------------------ actions
    def add_user(self) -> None:
        dialog = AddUserDialog(self.session, self)
        dialog.open()
        return dialog

    def change_role(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        dialog = RoleDialog(self.session, user, self)
        dialog.open()
        return dialog

    def reset_passphrase(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        dialog = ResetPassphraseDialog(self.session, user, self)
        dialog.open()
        return dialog

    def toggle_active(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        activate = not user.active
        if activate:
            question = _("¿Activar a «{user}»? Luego tendrá que darle una contraseña nueva "
                         "(botón «Nueva contraseña…»).").format(user=user.name)
        else:
            question = _("¿Desactivar a «{user}»? Ya no podrá abrir la bóveda; su historial se "
                         "conserva. Además se cambia la llave de la bóveda, para que tampoco "
                         "la abra con un archivo de llaves copiado antes: las demás "
                         "contraseñas siguen igual, y tendrá que imprimir una clave de "
                         "recuperación nueva.").format(user=user.name)
        box = QMessageBox(QMessageBox.Icon.Question, self.windowTitle(), question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("confirmActive")
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(button) -> None:
            if box.standardButton(button) != QMessageBox.StandardButton.Yes:
                return
            if not activate:
                from .rekey_ui import run_rekey

                self.rekey_task = run_rekey(self, self.session, disable=user.name,
                                            on_done=lambda *_a: self.refresh())
                return
            vault = self.session.vault
            run_task(self, lambda _p: vault.set_active(user.name, activate),
                     on_success=lambda _r: self.session.notify(), show_progress=False)

        box.buttonClicked.connect(answered)
        box.open()
        return box


class AddUserDialog(_VaultDialog):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(session, parent)
        self.setObjectName("addUserDialog")
        self.login = QLineEdit(objectName="newUserLogin")
        self.display = QLineEdit(objectName="newUserName")
        self.role = QComboBox(objectName="newUserRole")
        for role in Role:
            self.role.addItem(role.label, role.value)
        self.role.setCurrentIndex(self.role.findData(Role.PROFESSIONAL.value))
        self.message = error_label()
        self.busy = _busy_bar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("addUserOk")
        self.buttons.accepted.connect(self._run)
        self.buttons.rejected.connect(self.reject)
        self.labels = [QLabel(), QLabel(), QLabel()]
        form = QFormLayout()
        for label, widget in zip(self.labels, (self.login, self.display, self.role)):
            label.setBuddy(widget)
            form.addRow(label, widget)
        self.pair = PassphrasePair(self, form, name_prefix="newUser")
        self.pair.follow(self.message)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self.setWindowTitle(_("Agregar usuario"))
        self.labels[0].setText(_("&Usuario (para entrar):"))
        self.labels[1].setText(_("Nombre &completo:"))
        self.labels[2].setText(_("&Rol:"))
        self.ok.setText(_("&Agregar"))
        self.login.setFocus()

    def _run(self) -> None:
        login, display = self.login.text().strip(), self.display.text().strip()
        problem = (_("Escriba el usuario y el nombre completo.") if not login or not display
                   else self.pair.problem())
        if problem:
            set_error(self.message, problem)
            return
        set_error(self.message, "")
        self.busy.show()
        self.buttons.setEnabled(False)
        vault, role, passphrase = self.session.vault, self.role.currentData(), self.pair.text()
        run_task(self, lambda _p: vault.add_user(login, role, passphrase, display),
                 on_success=self._done, on_failure=self._failed, show_progress=False)

    def _done(self, _user) -> None:
        self.pair.clear()
        self.accept()
        self.session.notify()

    def _failed(self, exc: BaseException) -> None:
        self.busy.hide()
        self.buttons.setEnabled(True)
        set_error(self.message, error_text(exc))


class RoleDialog(_VaultDialog):
    def __init__(self, session: Session, user: User, parent: QWidget | None = None):
        super().__init__(session, parent)
        self.setObjectName("roleDialog")
        self.user = user
        self.intro = QLabel(_("Rol de «{user}»:").format(user=user.name))
        self.role = QComboBox(objectName="roleCombo")
        for role in Role:
            self.role.addItem(role.label, role.value)
        self.role.setCurrentIndex(self.role.findData(user.role.value))
        self.intro.setBuddy(self.role)
        self.message = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._run)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.role)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setWindowTitle(_("Cambiar rol"))

    def _run(self) -> None:
        vault, role = self.session.vault, self.role.currentData()
        self.buttons.setEnabled(False)
        run_task(self, lambda _p: vault.set_role(self.user.name, role),
                 on_success=self._done, on_failure=self._failed, show_progress=False)

    def _done(self, _r) -> None:
        self.accept()
        self.session.notify()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        set_error(self.message, error_text(exc))


class _PassphraseDialog(_VaultDialog):
    """Shared shape: an intro, optional current passphrase, the new pair, busy bar."""

    def __init__(self, session: Session, parent: QWidget | None, *, ask_current: bool):
        super().__init__(session, parent)
        self.intro = QLabel(wordWrap=True)
        self.current = QLineEdit(objectName="currentPassphrase")
        self.current.setEchoMode(QLineEdit.EchoMode.Password)
        self.current_label = QLabel()
        self.current_label.setBuddy(self.current)
        self.message = error_label()
        self.busy = _busy_bar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._run)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        form = QFormLayout()
        if ask_current:
            form.addRow(self.current_label, self.current)
        else:
            self.current.hide()
            self.current_label.hide()
        self.pair = PassphrasePair(self, form)
        self.pair.follow(self.message)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self.current_label.setText(_("Contraseña &actual:"))

    def _problem(self) -> str | None:
        return self.pair.problem()

    def _work(self, vault, new_passphrase: str, current: str):
        raise NotImplementedError

    def _run(self) -> None:
        problem = self._problem()
        if problem:
            set_error(self.message, problem)
            return
        set_error(self.message, "")
        self.busy.show()
        self.buttons.setEnabled(False)
        # Read on the UI thread: widgets must not be touched from the worker.
        vault, passphrase, current = self.session.vault, self.pair.text(), self.current.text()
        run_task(self, lambda _p: self._work(vault, passphrase, current), on_success=self._done,
                 on_failure=self._failed, show_progress=False)

    def _done(self, _r) -> None:
        self.pair.clear()
        self.current.clear()
        self.accept()
        box = QMessageBox(QMessageBox.Icon.Information, self.windowTitle(),
                          _("La contraseña se cambió. Úsela la próxima vez que desbloquee la "
                            "bóveda."), QMessageBox.StandardButton.Ok, self.parentWidget())
        box.setObjectName("passphraseChanged")
        box.open()

    def _failed(self, exc: BaseException) -> None:
        self.busy.hide()
        self.buttons.setEnabled(True)
        set_error(self.message, error_text(exc))


class ResetPassphraseDialog(_PassphraseDialog):
    """A coordinator sets a new passphrase for a user who forgot theirs."""

    def __init__(self, session: Session, user: User, parent: QWidget | None = None):
        super().__init__(session, parent, ask_current=False)
        self.setObjectName("resetPassphraseDialog")
        self.user = user
        self.setWindowTitle(_("Nueva contraseña para «{user}»").format(user=user.name))
        self.intro.setText(_("Entregue la nueva contraseña a la persona en privado y pídale que "
                             "la cambie al entrar (menú Usuarios → Cambiar mi contraseña)."))

    def _work(self, vault, new_passphrase: str, current: str):
        return vault.reset_passphrase(self.user.name, new_passphrase)


class ChangePassphraseDialog(_PassphraseDialog):
    """Anyone changes their own passphrase (the current one is asked first)."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(session, parent, ask_current=True)
        self.setObjectName("changePassphraseDialog")
        self.setWindowTitle(_("Cambiar mi contraseña"))
        self.intro.setText(_("La contraseña protege todos los datos del centro. No la comparta "
                             "ni la anote cerca de la computadora."))
        self.current.setFocus()

    def _problem(self) -> str | None:
        if not self.current.text():
            return _("Escriba su contraseña actual.")
        return self.pair.problem()

    def _work(self, vault, new_passphrase: str, current: str):
        return vault.change_passphrase(current, new_passphrase)


__all__ = ["UsersDialog", "AddUserDialog", "RoleDialog", "ResetPassphraseDialog",
           "ChangePassphraseDialog"]
