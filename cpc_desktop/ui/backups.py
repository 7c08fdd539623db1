"""Backups in the window: a quiet reminder over the resident list when one is due, with
"Hacer copia ahora", and the "Copias de seguridad…" dialog (folder, how many to keep, when to
remind, the backups in the folder, make one now, verify one).

Everything is core.backups (the CLI calls the same functions); every slow step (writing to a
USB stick, verifying a copy, even listing a slow stick) runs on a worker with progress. Only
roles that core lets back up (Action.BACKUP) get enabled buttons; core refuses anyway.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QFrame, QHBoxLayout, QHeaderView, QInputDialog,
                               QLabel, QLineEdit, QMessageBox, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ..core import backups as core
from ..core import display, wording
from ..core.i18n import _
from ..core.users import Action
from .lang import language_bus
from .session import Session
from .tasks import Cancelled, Progress, TaskHandle, run_task, show_error

BANNER_STYLE = ("QFrame#backupBanner { background: #fff8e1; border: 1px solid #e6c200; "
                "border-radius: 3px; }")
RECHECK_MS = 60 * 60 * 1000     # a laptop left open for days still gets its reminder


class BackupEvents(QObject):
    made = Signal(object)           # a core.backups.BackupResult
    settings_changed = Signal()


_events: BackupEvents | None = None


def backup_events() -> BackupEvents:
    global _events
    if _events is None:
        _events = BackupEvents()
    return _events


def made_text(result) -> str:
    text = _("Copia guardada y verificada: {name}.").format(name=result.path.name)
    if result.removed:
        text += " " + _("Se borraron {n} copias antiguas.").format(n=len(result.removed))
    return text


def choose_folder(parent: QWidget, start: Path | None = None) -> Path | None:
    from .settings import Settings, documents_folder

    settings = Settings.load()
    chosen = QFileDialog.getExistingDirectory(
        parent, _("Elija la carpeta o memoria USB para las copias de seguridad"),
        str(start or settings.folder("backup", documents_folder())))
    if not chosen:
        return None
    settings.remember_folder("backup", chosen)
    return Path(chosen)


def make_backup(parent: QWidget, session: Session, *,
                on_done: Callable[[object], None] | None = None) -> TaskHandle | None:
    """"Hacer copia ahora": asks for a folder the first time (and remembers it), then makes
    a verified backup with rotation on a worker, with progress and Cancel. Returns the task,
    or None when nothing was started."""
    vault = session.vault
    if vault is None or not session.can(Action.BACKUP):
        return None
    new_folder = None
    if core.get_settings(vault).folder is None:
        new_folder = choose_folder(parent)
        if new_folder is None:
            return None

    def work(progress: Progress):
        if new_folder is not None:
            core.set_settings(vault, folder=new_folder)
        try:
            return core.backup_now(vault, verify=True,
                                   progress=lambda d, t, label: progress.update(d, t, label),
                                   cancel=lambda: progress.cancelled)
        except core.BackupCancelled:
            raise Cancelled() from None

    def done(result) -> None:
        backup_events().made.emit(result)
        if on_done is not None:
            on_done(result)

    def failed(exc: BaseException) -> None:
        if new_folder is not None:
            backup_events().settings_changed.emit()
        show_error(parent, exc)

    return run_task(parent, work, on_success=done, on_failure=failed, cancellable=True,
                    label=_("Haciendo la copia de seguridad…"))


# ====================================================================== the reminder

class BackupBanner(QFrame):
    """Over the resident list: "La última copia es del…" with "Hacer copia ahora". Shown
    only when a backup is due and the signed-in person may make one."""

    checked = Signal(bool)          # after each check: whether the banner is shown

    def __init__(self, session: Session, open_dialog: Callable[[], object],
                 parent: QWidget | None = None, *, checked_after=None):
        super().__init__(parent)
        self.setObjectName("backupBanner")
        self.setStyleSheet(BANNER_STYLE)
        self.session = session
        self.task: TaskHandle | None = None
        self.message = QLabel(wordWrap=True, objectName="backupReminder")
        self.now_button = QPushButton(objectName="backupNowButton")
        self.now_button.clicked.connect(lambda: self.backup_now())
        self.more_button = QPushButton(objectName="backupOptionsButton")
        self.more_button.setFlat(True)
        self.more_button.clicked.connect(lambda: open_dialog())
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.message, 1)
        row.addWidget(self.more_button)
        row.addWidget(self.now_button)
        self.hide()
        self._timer = QTimer(self, interval=RECHECK_MS)
        self._timer.timeout.connect(self.refresh)
        self._generation = 0
        self.last_check: bool | None = None     # None until checked since the last unlock
        # Checked once the list is there (`checked_after`), not while unlock loads it.
        (checked_after or session.unlocked).connect(self.refresh)
        session.locked.connect(self._locked)
        backup_events().made.connect(self._backup_made)
        backup_events().settings_changed.connect(self.refresh)
        language_bus().changed.connect(self._language_changed)
        self.retranslate_ui()

    def _backup_made(self, _result) -> None:
        self.refresh()

    def _language_changed(self, _lang: str) -> None:
        if self.session.is_unlocked:
            self.refresh()

    def retranslate_ui(self) -> None:
        self.now_button.setText(_("Hacer copia ahora"))
        self.more_button.setText(_("Opciones…"))

    def _locked(self) -> None:
        self._generation += 1
        self._timer.stop()
        self.message.clear()
        self.last_check = None
        self.hide()

    def refresh(self) -> None:
        """Asks core whether a backup is due (on a worker: the vault may be busy)."""
        self.retranslate_ui()
        if not self.session.can(Action.BACKUP):
            self._locked()
            if self.session.is_unlocked:
                self.last_check = False
            self.checked.emit(False)
            return
        self._timer.start()
        self._generation += 1
        gen, vault = self._generation, self.session.vault

        def shown(due) -> None:
            if gen != self._generation or not self.session.is_unlocked:
                return
            self.message.setText(due or "")
            self.setVisible(bool(due))
            self.last_check = bool(due)
            self.checked.emit(bool(due))

        run_task(self, lambda _p: core.backup_due(vault), on_success=shown,
                 on_failure=lambda _e: None, show_progress=False)

    def backup_now(self) -> TaskHandle | None:
        parent = self.window()
        self.task = make_backup(parent, self.session,
                                on_done=lambda result: self._tell_done(parent, result))
        return self.task

    def _tell_done(self, parent: QWidget, result) -> QMessageBox:
        """The banner goes away with the backup made: say so, and where it is."""
        box = QMessageBox(QMessageBox.Icon.Information, _("Copia de seguridad"),
                          made_text(result) + "\n" + _("Carpeta: {folder}").format(
                              folder=result.path.parent),
                          QMessageBox.StandardButton.Ok, parent)
        box.setObjectName("backupDoneBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.done_box = box
        return box

    done_box: QMessageBox | None = None


# ====================================================================== the dialog

class BackupDialog(QDialog):
    """Folder, copies kept, reminder interval, the backups in the folder, "Hacer copia
    ahora" and "Verificar…"."""

    loaded = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("backupDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.session = session
        self.task: TaskHandle | None = None
        self.folder: Path | None = None
        self.infos: list[core.BackupInfo] = []
        self.can_backup = session.can(Action.BACKUP)
        self.intro = QLabel(wordWrap=True)
        self.folder_value = QLabel(wordWrap=True, objectName="backupFolder")
        self.folder_value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_button = QPushButton(objectName="backupFolderButton")
        self.folder_button.clicked.connect(self.change_folder)
        self.keep = QSpinBox(objectName="backupKeep")
        self.keep.setRange(1, core.MAX_KEEP)
        self.remind = QSpinBox(objectName="backupRemind")
        self.remind.setRange(1, core.MAX_REMIND_DAYS)
        self.apply_button = QPushButton(objectName="backupApply")
        self.apply_button.clicked.connect(self.apply_settings)
        self.keep.valueChanged.connect(lambda _v: self._update_buttons())
        self.remind.valueChanged.connect(lambda _v: self._update_buttons())
        self.last = QLabel(wordWrap=True, objectName="backupLast")
        self.next = QLabel(wordWrap=True, objectName="backupNext")
        self.table = QTableWidget(0, 3, self, objectName="backupList")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel(wordWrap=True, objectName="backupEmpty")
        self.status = QLabel(wordWrap=True, objectName="backupStatus")
        self.permission = QLabel(wordWrap=True, objectName="backupPermission")
        self.buttons = QDialogButtonBox()
        self.now_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.now_button.setObjectName("backupNowButton")
        self.now_button.clicked.connect(lambda: self.backup_now())
        self.verify_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        self.verify_button.setObjectName("backupVerifyButton")
        self.verify_button.clicked.connect(lambda: self.verify())
        self.restore_new_button = self.buttons.addButton(
            "", QDialogButtonBox.ButtonRole.ActionRole)
        self.restore_new_button.setObjectName("backupRestoreNewButton")
        self.restore_new_button.clicked.connect(lambda: self.restore_as_new())
        self.can_restore = session.can(Action.RESTORE)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)

        self.labels = {k: QLabel() for k in ("folder", "keep", "remind")}
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_value, 1)
        folder_row.addWidget(self.folder_button)
        settings_row = QHBoxLayout()
        settings_row.addWidget(self.keep)
        settings_row.addSpacing(16)
        settings_row.addWidget(self.labels["remind"])
        settings_row.addWidget(self.remind)
        settings_row.addStretch(1)
        settings_row.addWidget(self.apply_button)
        form = QFormLayout()
        form.addRow(self.labels["folder"], folder_row)
        form.addRow(self.labels["keep"], settings_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.last)
        layout.addWidget(self.next)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.permission)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.permission.setVisible(not self.can_backup)
        session.locked.connect(self.reject)
        backup_events().made.connect(self._made)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        self.resize(720, 520)
        self._stored = (None, None)
        self._update_buttons()
        self.reload()

    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Copias de seguridad"))
        self.intro.setText(_("Una copia de seguridad guarda toda la bóveda, cifrada, en otra "
                             "carpeta o en una memoria USB. Guarde la memoria lejos de la "
                             "computadora: si el disco falla o se la roban, la copia permite "
                             "recuperar los registros."))
        self.labels["folder"].setText(_("Carpeta de las copias:"))
        self.labels["keep"].setText(_("Conservar las últimas:"))
        self.labels["remind"].setText(_("Recordar después de:"))
        self.keep.setSuffix(_(" copias"))
        self.remind.setSuffix(_(" días"))
        self.folder_button.setText(_("Ca&mbiar…"))
        self.apply_button.setText(_("Guardar ajustes"))
        self.now_button.setText(_("&Hacer copia ahora"))
        self.verify_button.setText(_("&Verificar…"))
        self.verify_button.setToolTip(_("Abre la copia elegida con la clave de la bóveda y "
                                        "comprueba que sirve para restaurar."))
        self.restore_new_button.setText(_("Restaurar como bóveda &nueva…"))
        self.restore_new_button.setToolTip(_("Pone una copia (también la de otra bóveda) en una "
                                             "carpeta nueva, sin tocar la bóveda abierta."))
        self.table.setHorizontalHeaderLabels([_("Fecha"), _("Tamaño"), _("Archivo")])
        self.permission.setText(_("Su usuario no puede hacer copias de seguridad; puede ver "
                                  "la lista."))
        self._fill()

    # ------------------------------------------------------------ loading
    def reload(self) -> TaskHandle | None:
        vault = self.session.vault
        if vault is None:
            return None

        def work(_p):
            settings = core.get_settings(vault)
            found = core.list_backups(settings.folder, vault.vault_id) if settings.folder else []
            return settings, core.last_backup(vault), core.next_reminder(vault), found

        return run_task(self, work, on_success=self._loaded, show_progress=False,
                        on_failure=lambda exc: show_error(self, exc))

    def _loaded(self, result) -> None:
        settings, last, reminder, infos = result
        self.folder = settings.folder
        self.infos = infos
        self._stored = (settings.keep, settings.remind_days)
        for spin, value in ((self.keep, settings.keep), (self.remind, settings.remind_days)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self._last, self._reminder = last, reminder
        self._fill()
        self._update_buttons()
        self.loaded.emit()

    def _fill(self) -> None:
        self.folder_value.setText(str(self.folder) if self.folder
                                  else _("Sin elegir todavía (se pregunta en la primera copia)."))
        last = getattr(self, "_last", None)
        reminder = getattr(self, "_reminder", None)
        self.last.setText(_("Última copia: {when} ({name})").format(
            when=wording.moment(last[0]), name=last[1]) if last else _("Última copia: ninguna"))
        self.next.setText(_("Próximo recordatorio: {date}").format(
            date=display.format_date(reminder)) if reminder else "")
        self.next.setVisible(bool(reminder))
        self.table.setRowCount(len(self.infos))
        for row, info in enumerate(self.infos):
            cells = (wording.moment(info.created), wording.format_size(info.size), info.path.name)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.setVisible(bool(self.infos))
        self.empty.setText(_("No hay copias de esta bóveda en la carpeta (o la memoria USB no "
                             "está conectada).") if self.folder else "")
        self.empty.setVisible(not self.infos and bool(self.folder))

    def _update_buttons(self) -> None:
        busy = self.task is not None and not self.task.finished
        ok = self.can_backup and not busy
        for widget in (self.now_button, self.verify_button, self.folder_button, self.keep,
                       self.remind):
            widget.setEnabled(ok)
        self.apply_button.setEnabled(ok and (self.keep.value(), self.remind.value())
                                     != self._stored)
        self.restore_new_button.setEnabled(self.can_restore and not busy)

    def selected_backup(self) -> Path | None:
        rows = self.table.selectionModel().selectedRows()
        return self.infos[rows[0].row()].path if rows else None

    # ------------------------------------------------------------ actions
    def change_folder(self) -> TaskHandle | None:
        chosen = choose_folder(self, self.folder)
        if chosen is None:
            return None
        return self._save_settings(folder=chosen)

    def apply_settings(self) -> TaskHandle | None:
        return self._save_settings(keep=self.keep.value(), remind_days=self.remind.value())

    def _save_settings(self, **changes) -> TaskHandle | None:
        vault = self.session.vault
        if vault is None or not self.can_backup:
            return None

        def done(_settings) -> None:
            self.status.setText(_("Ajustes guardados."))
            backup_events().settings_changed.emit()
            self.reload()

        self.task = run_task(self, lambda _p: core.set_settings(vault, **changes),
                             on_success=done, show_progress=False)
        return self.task

    def backup_now(self) -> TaskHandle | None:
        self.status.setText("")
        self.task = make_backup(self, self.session)
        self._update_buttons()
        if self.task is not None:
            self.task.done.connect(self._update_buttons)
        return self.task

    def _made(self, result) -> None:
        self.status.setText(made_text(result))
        self.reload()

    def verify(self, path: Path | None = None) -> TaskHandle | None:
        """Verifies the backup chosen in the list (or asks for a file)."""
        vault = self.session.vault
        if vault is None or not self.can_backup:
            return None
        path = path or self.selected_backup()
        if path is None:
            chosen, _f = QFileDialog.getOpenFileName(
                self, _("Elija la copia de seguridad que quiere verificar"),
                str(self.folder or Path.home()),
                _("Copias de seguridad (*{suffix})").format(suffix=core.SUFFIX))
            if not chosen:
                return None
            path = Path(chosen)

        def done(checked) -> None:
            self.status.setText(_("La copia {name} está bien: se abrió con la clave de la "
                                  "bóveda y pasó la comprobación. Sirve para "
                                  "restaurar.").format(name=checked.path.name))

        def failed(exc: BaseException) -> None:
            self.status.setText("")
            show_error(self, exc)

        self.status.setText(_("Verificando {name}…").format(name=path.name))
        self.task = run_task(self, lambda _p: core.verify_backup(path, vault=vault),
                             on_success=done, on_failure=failed,
                             label=_("Verificando la copia de seguridad…"))
        self.task.done.connect(self._update_buttons)
        self._update_buttons()
        return self.task


    def restore_as_new(self, path: Path | None = None, target: Path | None = None,
                       passphrase: str | None = None) -> TaskHandle | None:
        """"Restaurar como bóveda nueva": the chosen backup (of this vault or another) goes
        into a new, empty folder after the same check as "Verificar"; the open vault is not
        touched. Asks for what is not given."""
        vault = self.session.vault
        if vault is None or not self.can_restore:
            return None
        path = path or self.selected_backup()
        if path is None:
            chosen, _f = QFileDialog.getOpenFileName(
                self, _("Elija la copia de seguridad que quiere restaurar como bóveda nueva"),
                str(self.folder or Path.home()),
                _("Copias de seguridad (*{suffix})").format(suffix=core.SUFFIX))
            if not chosen:
                return None
            path = Path(chosen)
        if target is None:
            chosen = QFileDialog.getExistingDirectory(
                self, _("Elija una carpeta nueva o vacía para la bóveda restaurada"),
                str(vault.path.parent))
            if not chosen:
                return None
            target = Path(chosen)
        user = vault.user.name
        if passphrase is None:
            passphrase, ok = QInputDialog.getText(
                self, _("Restaurar como bóveda nueva"),
                _("Contraseña de {user} en esa copia:").format(user=user),
                QLineEdit.EchoMode.Password)
            if not ok or not passphrase:
                return None

        def done(_kept) -> None:
            self.status.setText(_("Copia restaurada como bóveda nueva en {path}. La bóveda "
                                  "abierta no cambió; para usar la nueva, ábrala eligiendo esa "
                                  "carpeta.").format(path=target))

        def failed(exc: BaseException) -> None:
            self.status.setText("")
            show_error(self, exc)

        self.status.setText(_("Restaurando {name}…").format(name=path.name))
        self.task = run_task(self, lambda _p: core.restore(path, target, user, passphrase,
                                                           as_new=True),
                             on_success=done, on_failure=failed,
                             label=_("Restaurando la copia como bóveda nueva…"))
        self.task.done.connect(self._update_buttons)
        self._update_buttons()
        return self.task


# ====================================================================== the main window

class BackupMenu(QObject):
    """The reminder banner over the resident list and "Archivo → Copias de seguridad…"."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.banner = BackupBanner(window.session, self.open_dialog, window.residents_view,
                                   checked_after=window.residents_view.list_loaded)
        window.residents_view.layout().insertWidget(0, self.banner)
        self.action = QAction(window, objectName="actBackups")
        self.action.triggered.connect(self.open_dialog)
        window.addAction(self.action)
        window.menu_file.insertAction(window.act_prefs, self.action)
        self.dialog: BackupDialog | None = None
        window.session.unlocked.connect(self.update)
        window.session.locked.connect(self.update)
        language_bus().changed.connect(self.retranslate)
        self.retranslate()
        self.update()
        if window.session.is_unlocked:
            self.banner.refresh()

    def open_dialog(self, *_a) -> BackupDialog | None:
        if not self.window.session.is_unlocked:
            return None
        self.dialog = BackupDialog(self.window.session, self.window)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.open()
        return self.dialog

    def update(self, *_a) -> None:
        self.action.setEnabled(self.window.session.is_unlocked)

    def retranslate(self, *_a) -> None:
        self.action.setText(_("&Copias de seguridad…"))


def install(window) -> BackupMenu:
    window.backups = BackupMenu(window)
    return window.backups
