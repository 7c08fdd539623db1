"""Dialogs of sync set-up: the hub settings, an invitation and its one-time code, and joining a
shelter with an invitation (a new laptop from the start screen, or the central office adding
a shelter to its vault).

The hub password is stored inside the vault by `SyncEngine.save_hub` and never shown again:
the password box stays empty, and leaving it empty keeps the saved one.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from ..core.errors import CpcError
from ..core.i18n import _
from ..sync import devices, invitations
from .session import Session
from .settings import documents_folder
from .sync_controller import SyncController
from .tasks import error_text, run_task
from .unlock import (PassphrasePair, error_label, first_user_problem, recovery_font,
                     set_error)

INVITATION_FILTER = "*.cpci"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def hub_problem(url: str, user: str, password: str, has_saved_password: bool) -> str | None:
    """What keeps these hub settings from being saved, in words, or None."""
    if not url:
        return _("Escriba la dirección del punto de intercambio o elija una carpeta.")
    if url.startswith(("http://", "https://")):
        import httpx

        try:
            parsed = httpx.URL(url)
        except Exception:  # noqa: BLE001 - httpx raises several kinds for a bad address
            return _("La dirección del punto de intercambio no es válida.")
        if parsed.password or parsed.username:
            return _("No escriba el usuario ni la contraseña dentro de la dirección: use sus "
                     "casillas.")
        if parsed.scheme == "http" and parsed.host not in _LOCAL_HOSTS:
            return _("La dirección empieza con http://: la contraseña viajaría sin cifrar. "
                     "Use una dirección https://.")
        if not user:
            return _("Escriba el usuario del punto de intercambio.")
        if not password and not has_saved_password:
            return _("Escriba la contraseña del punto de intercambio (en Nextcloud, una contraseña "
                     "de "
                     "aplicación).")
    return None


class HubSettingsDialog(QDialog):
    """URL or folder, user and password of the saved hub (coordinators)."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("hubSettingsDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.controller = controller
        session: Session = controller.session
        session.locked.connect(self.reject)
        saved = controller.engine().hub_settings() or {}
        self._saved_url = saved.get("url") or ""
        self._saved_user = saved.get("user") or ""
        # Kept only to save it again when the address stays the same; never shown.
        self._saved_password = saved.get("password") or None
        self._saved_ca = saved.get("ca_pem") or None

        self.intro = QLabel(wordWrap=True)
        self.url = QLineEdit(self._saved_url, objectName="hubUrl")
        self.url.setPlaceholderText("https://nube.ejemplo.org/remote.php/dav/files/centro/")
        self.folder_button = QPushButton(objectName="hubFolderButton")
        self.folder_button.clicked.connect(self._choose_folder)
        self.user = QLineEdit(self._saved_user, objectName="hubUser")
        self.password = QLineEdit(objectName="hubPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        # The certificate of a self-hosted server (a Nextcloud in the shelter), as a file.
        self.ca = QLineEdit(objectName="hubCa")
        self.ca_button = QPushButton(objectName="hubCaButton")
        self.ca_button.clicked.connect(self._choose_ca)
        self.message = error_label()
        self.labels = {k: QLabel() for k in ("url", "user", "password", "ca")}
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.folder_button)
        form = QFormLayout()
        form.addRow(self.labels["url"], url_row)
        form.addRow(self.labels["user"], self.user)
        form.addRow(self.labels["password"], self.password)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca, 1)
        ca_row.addWidget(self.ca_button)
        form.addRow(self.labels["ca"], ca_row)
        for key, widget in (("url", self.url), ("user", self.user),
                            ("password", self.password), ("ca", self.ca)):
            self.labels[key].setBuddy(widget)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(620)
        self.url.textChanged.connect(self._url_changed)
        self._url_changed(self.url.text())
        self.retranslate_ui()

    def _url_changed(self, text: str) -> None:
        # A folder (USB stick, shared drive) has no user or password.
        web = text.strip().startswith(("http://", "https://"))
        for w in (self.user, self.password, self.labels["user"], self.labels["password"],
                  self.ca, self.ca_button, self.labels["ca"]):
            w.setEnabled(web)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Ajustes del punto de intercambio"))
        self.intro.setText(_(
            "El punto de intercambio es donde los equipos del centro dejan y recogen sus paquetes "
            "de cambios cifrados: una "
            "carpeta compartida o un servidor WebDAV (Nextcloud, ownCloud). Solo guarda datos "
            "cifrados. Con un punto de intercambio configurado, el programa lo intenta solo cada "
            "pocos minutos."))
        self.labels["url"].setText(_("&Dirección o carpeta:"))
        self.labels["user"].setText(_("&Usuario:"))
        self.labels["password"].setText(_("&Contraseña:"))
        self.folder_button.setText(_("&Carpeta…"))
        self.labels["ca"].setText(_("Ce&rtificado (opcional):"))
        self.ca_button.setText(_("&Buscar…"))
        self.ca.setPlaceholderText(
            _("(guardado: elija otro solo para cambiarlo)") if self._saved_ca else
            _("solo para un servidor propio con certificado no público"))
        self.password.setPlaceholderText(
            _("(guardada: escriba solo para cambiarla)") if self._saved_password else "")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Carpeta del punto de "
                                                          "intercambio"), str(Path.home()))
        if folder:
            self.url.setText(folder)
            self.user.clear()
            self.password.clear()

    def _choose_ca(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, _("Certificado del servidor"),
                                                    str(Path.home()), "*.pem *.crt")
        if path:
            self.ca.setText(path)

    def _ca_pem(self, url: str) -> tuple[str | None, str | None]:
        """(PEM text, problem)."""
        path = self.ca.text().strip()
        if not path:
            return (self._saved_ca if url == self._saved_url else None), None
        try:
            pem = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            pem = ""
        if "BEGIN CERTIFICATE" not in pem:
            return None, _("No se puede leer el certificado: elija un archivo PEM (.pem o "
                           ".crt) que le dio quien administra el servidor.")
        return pem, None

    def values(self) -> tuple[str, str | None, str | None]:
        url, user = self.url.text().strip(), self.user.text().strip()
        if not url.startswith(("http://", "https://")):
            return url, None, None
        password = self.password.text()
        if not password and url == self._saved_url and user == self._saved_user:
            password = self._saved_password or ""
        return url, user or None, password or None

    def save(self) -> None:
        url, user, password = self.values()
        same_place = url == self._saved_url and (user or "") == self._saved_user
        problem = hub_problem(url, user or "", self.password.text(),
                              bool(self._saved_password) and same_place)
        ca_pem, ca_problem = self._ca_pem(url) if user is not None else (None, None)
        problem = problem or ca_problem
        if problem:
            set_error(self.message, problem)
            return
        try:
            self.controller.engine().save_hub(url, user, password, ca_pem=ca_pem)
        except CpcError as exc:
            set_error(self.message, error_text(exc))
            return
        self.password.clear()
        self._saved_password = None
        self.controller.hub_saved()
        self.accept()


# ====================================================================== invitations

def big_code_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    font = recovery_font()
    font.setPointSizeF(parent.font().pointSizeF() * 2.4)
    font.setWeight(QFont.Weight.DemiBold)
    font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 2)
    label.setFont(font)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setFrameShape(QFrame.Shape.Box)
    label.setMargin(16)
    # Not selectable: a copied code would sit in the clipboard next to the file.
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


class InvitationCodeDialog(QDialog):
    """The one-time code of an invitation, large, to read out by phone. Shown once."""

    def __init__(self, code: str, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("invitationCodeDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.heading = QLabel(wordWrap=True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.file_label = QLabel(wordWrap=True)
        self.code_label = big_code_label(code, self)
        self.code_label.setObjectName("invitationCode")
        self.advice = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.file_label)
        layout.addWidget(self.code_label)
        layout.addWidget(self.advice)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(600)
        self.setWindowTitle(_("Invitar un equipo"))
        self.heading.setText(_("Invitación lista"))
        self.file_label.setText(_("Archivo: {path}").format(path=path))
        self.advice.setText(_(
            "Lleve el archivo al equipo nuevo (por ejemplo en una memoria USB). Dígale este "
            "código a la persona que lo instala por teléfono o en persona: en el equipo nuevo "
            "elija «Unirse con una invitación…». No escriba el código junto al archivo ni lo "
            "envíe por el mismo medio. El código se muestra solo esta vez; si se pierde, haga "
            "otra invitación."))


def create_invitation(controller: SyncController, parent: QWidget):
    """Asks where to write the invitation file, writes it on a worker (the code's key
    derivation takes a moment) and shows the code."""
    session = controller.session
    if not session.is_unlocked:
        return None
    vault = session.vault
    default = Path(documents_folder()) / f"invitacion-{vault.shelter_code}.cpci"
    path, _filter = QFileDialog.getSaveFileName(
        parent, _("Guardar la invitación"), str(default),
        _("Invitaciones de CPC ({pattern})").format(pattern=INVITATION_FILTER))
    if not path:
        return None
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".cpci")
    engine = controller.engine()

    def work(_p):
        return invitations.create_invitation(vault, path, hub=engine.hub_settings())

    def done(code: str) -> None:
        dialog = InvitationCodeDialog(code, path, parent)
        parent.invitation_dialog = dialog
        dialog.open()
        if hasattr(parent, "reload"):       # the panel's device list
            parent.reload()

    return run_task(parent, work, on_success=done,
                    label=_("Preparando la invitación cifrada…"))


def _frame(dialog: QDialog, form: QFormLayout, ok_name: str, on_accept) -> None:
    """The intro, the form, an error line and Cancel/OK (the OK's text set by the caller):
    sets dialog.message, dialog.buttons and dialog.ok."""
    dialog.message = error_label()
    dialog.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    dialog.ok = dialog.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
    dialog.ok.setObjectName(ok_name)
    dialog.buttons.accepted.connect(on_accept)
    dialog.buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(dialog.intro)
    layout.addLayout(form)
    layout.addWidget(dialog.message)
    layout.addWidget(dialog.buttons)


class _InvitationFields:
    """The invitation file and its code, shared by both joining dialogs."""

    def __init__(self, dialog: QDialog, form: QFormLayout):
        self.dialog = dialog
        self.file = QLineEdit(dialog, objectName="invitationFile")
        self.file_button = QPushButton(dialog, objectName="invitationFileButton")
        self.file_button.clicked.connect(self._choose)
        self.code = QLineEdit(dialog, objectName="invitationCodeInput")
        self.code.setPlaceholderText("XXXX-XXXX-XXXX")
        self.code.setFont(recovery_font())
        self.file_label, self.code_label = QLabel(dialog), QLabel(dialog)
        self.file_label.setBuddy(self.file)
        self.code_label.setBuddy(self.code)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(self.file_button)
        form.addRow(self.file_label, row)
        form.addRow(self.code_label, self.code)
        self.file_label.setText(_("&Archivo de invitación:"))
        self.code_label.setText(_("Có&digo:"))
        self.file_button.setText(_("&Elegir…"))

    def _choose(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self.dialog, _("Elija el archivo de invitación"), str(Path.home()),
            _("Invitaciones de CPC ({pattern})").format(pattern=INVITATION_FILTER))
        if path:
            self.file.setText(path)

    def problem(self) -> str | None:
        if not self.file.text().strip():
            return _("Elija el archivo de invitación.")
        if not self.code.text().strip():
            return _("Escriba el código que le dieron por teléfono o en persona.")
        try:
            invitations.normalize_code(self.code.text())
        except CpcError as exc:
            return str(exc)
        return None


class JoinDialog(QDialog):
    """A new laptop joins a shelter: a new vault from an invitation file and its code, with
    this person as its first coordinator. Emits `created(vault, recovery_key)`."""

    created = Signal(object, str)

    def __init__(self, parent: QWidget | None = None, *, kdf_seconds: float = 0.5,
                 folder: Path | None = None):
        from .start import free_vault_dir, suggest_login

        super().__init__(parent)
        self.setObjectName("joinDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.kdf_seconds = kdf_seconds
        self.folder = Path(folder) if folder else free_vault_dir()
        self._suggest = suggest_login
        self._login_edited = False
        self.intro = QLabel(wordWrap=True)
        form = QFormLayout()
        self.invitation = _InvitationFields(self, form)
        self.display_name = QLineEdit(objectName="joinDisplayName")
        self.login = QLineEdit(objectName="joinLogin")
        self.display_name.textEdited.connect(self._suggest_login)
        self.login.textEdited.connect(lambda _t: setattr(self, "_login_edited", True))
        self.labels = {k: QLabel() for k in ("display", "login", "folder")}
        for key, widget in (("display", self.display_name), ("login", self.login)):
            self.labels[key].setBuddy(widget)
            form.addRow(self.labels[key], widget)
        self.pair = PassphrasePair(self, form, name_prefix="join")
        self.folder_value = QLabel(str(self.folder), wordWrap=True)
        self.folder_button = QPushButton()
        self.folder_button.setAutoDefault(False)
        self.folder_button.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_value, 1)
        folder_row.addWidget(self.folder_button)
        form.addRow(self.labels["folder"], folder_row)
        _frame(self, form, "joinButton", self.join)
        self.pair.follow(self.message)
        self.ok.setDefault(True)
        self.setMinimumWidth(640)
        self.setWindowTitle(_("Unirse a un centro con una invitación"))
        self.intro.setText(_(
            "Con el archivo de invitación y el código que le dio la coordinación, esta "
            "computadora pide unirse al centro: se crea aquí una bóveda nueva y una solicitud "
            "que viaja por el punto de intercambio o la memoria USB. La coordinación la aprueba "
            "cuando usted "
            "le lee la huella que verá en «Sincronizar»; después, los datos del centro llegan "
            "al sincronizar. Usted será la primera persona coordinadora de esta bóveda."))
        self.labels["display"].setText(_("Su nombre &completo:"))
        self.labels["login"].setText(_("Su &usuario (para entrar):"))
        self.labels["folder"].setText(_("Carpeta:"))
        self.folder_button.setText(_("Ca&mbiar…"))
        self.ok.setText(_("&Unirse"))

    def _suggest_login(self, text: str) -> None:
        if not self._login_edited:
            self.login.setText(self._suggest(text))

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, _("Carpeta para la nueva bóveda"),
                                                  str(self.folder.parent))
        if chosen:
            self.folder = Path(chosen)
            self.folder_value.setText(str(self.folder))

    def problem(self) -> str | None:
        problem = self.invitation.problem()
        if problem:
            return problem
        return first_user_problem(self.display_name.text(), self.login.text(), self.folder,
                                  self.pair)

    def join(self) -> None:
        problem = self.problem()
        if problem:
            set_error(self.message, problem)
            return
        set_error(self.message, "")
        self.buttons.setEnabled(False)
        file, code = Path(self.invitation.file.text().strip()), self.invitation.code.text()
        folder, kdf = self.folder, self.kdf_seconds
        args = dict(user=self.login.text().strip(), passphrase=self.pair.text(),
                    display_name=self.display_name.text().strip())

        def work(_p):
            payload = invitations.read_invitation(file, code)
            return invitations.join_new_vault(folder, payload, kdf_seconds=kdf, **args)

        run_task(self, work, on_success=self._done, on_failure=self._failed,
                 label=_("Abriendo la invitación y creando la bóveda; tarda unos segundos…"))

    def _done(self, result) -> None:
        vault, recovery_key = result
        self.pair.clear()
        self.invitation.code.clear()
        self.accept()
        self.created.emit(vault, recovery_key)

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        set_error(self.message, error_text(exc))


class JoinShelterDialog(QDialog):
    """The central office (or a laptop serving two shelters) adds a shelter to this vault."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("joinShelterDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.controller = controller
        controller.session.locked.connect(self.reject)
        self.intro = QLabel(wordWrap=True)
        form = QFormLayout()
        self.invitation = _InvitationFields(self, form)
        _frame(self, form, "joinShelterButton", self.join)
        self.setMinimumWidth(600)
        self.setWindowTitle(_("Agregar un centro con una invitación"))
        self.intro.setText(_(
            "Para la oficina central: esta bóveda recibirá también los datos del centro que "
            "hizo la invitación (cada registro conserva su centro)."))
        self.ok.setText(_("&Agregar el centro"))
        self.result_text = ""

    def join(self) -> None:
        problem = self.invitation.problem()
        if problem:
            set_error(self.message, problem)
            return
        session = self.controller.session
        if not session.is_unlocked:
            return
        set_error(self.message, "")
        self.buttons.setEnabled(False)
        vault = session.vault
        file, code = Path(self.invitation.file.text().strip()), self.invitation.code.text()

        def work(_p):
            return invitations.join(vault, invitations.read_invitation(file, code))

        def done(pending) -> None:
            self.result_text = waiting_text(pending)
            self.invitation.code.clear()
            self.accept()
            self.controller.hub_saved()

        def failed(exc: BaseException) -> None:
            self.buttons.setEnabled(True)
            set_error(self.message, error_text(exc))

        run_task(self, work, on_success=done, on_failure=failed,
                 label=_("Abriendo la invitación…"))


# ====================================================================== join requests

def waiting_text(pending) -> str:
    """What a laptop waiting for its approval tells its person."""
    return _("Solicitud para el centro {shelter} lista. Léale a la coordinación esta huella: "
             "{fingerprint}. Sincronice (punto de intercambio o memoria USB) para enviarla y, "
             "cuando la "
             "aprueben, para recibir los datos.").format(shelter=pending.shelter,
                                                        fingerprint=pending.fingerprint)


class ApproveDialog(QDialog):
    """A coordinator approves a join request after typing the fingerprint that the person at
    the new laptop reads out (so an intercepted invitation cannot slip another laptop in)."""

    def __init__(self, controller: SyncController, request, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("approveDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.controller = controller
        self.request = request
        controller.session.locked.connect(self.reject)
        self.intro = QLabel(wordWrap=True)
        self.fingerprint = QLineEdit(objectName="approveFingerprint")
        self.fingerprint.setPlaceholderText("XXXX-XXXX")
        self.fingerprint.setFont(recovery_font())
        self.fingerprint_label = QLabel()
        self.fingerprint_label.setBuddy(self.fingerprint)
        self.coordinator = QCheckBox(objectName="approveCoordinatorDevice")
        form = QFormLayout()
        form.addRow(self.fingerprint_label, self.fingerprint)
        form.addRow("", self.coordinator)
        _frame(self, form, "approveButton", self.approve)
        self.setMinimumWidth(560)
        self.setWindowTitle(_("Aprobar un equipo"))
        self.intro.setText(_(
            "El equipo {device} pide unirse al centro {shelter}. Pida a la persona que está "
            "frente a ese equipo que le lea la huella que muestra su pantalla y escríbala "
            "aquí. Si no coincide, no lo apruebe: alguien más pudo usar la invitación.").format(
            device=request.device[-8:], shelter=request.shelter))
        self.fingerprint_label.setText(_("&Huella:"))
        self.coordinator.setText(_("Equipo de &coordinación (podrá invitar y revocar equipos)"))
        self.ok.setText(_("&Aprobar"))
        self.result_text = ""

    def approve(self) -> None:
        session = self.controller.session
        if not session.is_unlocked:
            return
        if not self.fingerprint.text().strip():
            set_error(self.message, _("Escriba la huella que le leen."))
            return
        role = devices.COORDINATOR if self.coordinator.isChecked() else devices.MEMBER
        try:
            invitations.approve_request(session.vault, self.request.id, self.fingerprint.text(),
                                        role=role)
        except CpcError as exc:
            set_error(self.message, str(exc))
            return
        self.result_text = _("Equipo {device} aprobado. La aprobación viaja con la próxima "
                             "sincronización.").format(device=self.request.device[-8:])
        self.accept()
