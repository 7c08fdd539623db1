"""The main window: start screen, unlock screen and resident list in one stack, the menus,
locking, the language menu, text size and remembered geometry.
"""
from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QStackedWidget, QWidget)

from .. import demo
from ..core import i18n
from ..core.i18n import _
from ..core.users import Action
from ..core.vault import Vault
from . import lang
from .about import AboutDialog, UserGuideDialog
from .residents import ResidentsView
from .session import Session
from .settings import (FONT_STEP, MAX_FONT_SCALE, MIN_FONT_SCALE, PreferencesDialog, Settings,
                       demo_vault_dir, is_vault)
from .start import CreateVaultDialog, RecoveryKeyDialog, StartView, create_demo
from .unlock import UnlockView
from .users import ChangePassphraseDialog, UsersDialog
from .screen_fit import fit_to_screen

_base_font: QFont | None = None


def apply_font_scale(scale: float) -> None:
    """Scales the application font from the size it had at start (all windows follow)."""
    global _base_font
    app = QApplication.instance()
    if app is None:
        return
    if _base_font is None:
        _base_font = QFont(app.font())
    font = QFont(_base_font)
    if _base_font.pointSizeF() > 0:
        font.setPointSizeF(_base_font.pointSizeF() * scale)
    else:
        font.setPixelSize(max(8, round(_base_font.pixelSize() * scale)))
    app.setFont(font)


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return b""


class MainWindow(QMainWindow):
    """Pages: start (no vault), unlock (vault locked), residents (unlocked)."""

    page_changed = Signal(str)

    def __init__(self, settings: Settings, *, kdf_seconds: float = 0.5,
                 demo_residents: int = demo.DEFAULT_RESIDENTS, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.settings = settings
        self.kdf_seconds = kdf_seconds
        self.demo_residents = demo_residents
        self.session = Session(settings.start_vault(), settings.idle_minutes, self)

        self.start_view = StartView()
        self.unlock_view = UnlockView(self.session)
        self.residents_view = ResidentsView(self.session)
        self.stack = QStackedWidget()
        for view in (self.start_view, self.unlock_view, self.residents_view):
            self.stack.addWidget(view)
        self.setCentralWidget(self.stack)
        self.status_label = QLabel(objectName="statusLabel")
        self.statusBar().addPermanentWidget(self.status_label)

        self.start_view.create_requested.connect(self.create_vault)
        self.start_view.demo_requested.connect(self.open_demo)
        self.start_view.other_requested.connect(self.choose_other_vault)
        self.unlock_view.unlocked.connect(self._unlocked)
        self.unlock_view.other_vault_requested.connect(self.choose_other_vault)
        self.session.locked.connect(self._locked)
        self.session.changed.connect(lambda _c: self._update_actions())

        self._build_actions()
        self._build_menus()
        from .report_window import install_menu as install_reports_menu  # "Informes" menu
        install_reports_menu(self)
        from .sync_panel import install_menu as install_sync_menu  # "Sincronizar", status line
        install_sync_menu(self)
        lang.language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        self._restore_geometry()
        self.residents_view.restore_header_state(_unb64(settings.residents_header))
        self._watch_drafts()
        # Printing and backups add their own menu, actions and reminder banner.
        from . import backups, pending_view, print_menu
        print_menu.install(self)
        backups.install(self)
        pending_view.install(self)    # "Pendientes", shown with the list after unlock

    def _watch_drafts(self) -> None:
        """Unsaved input kept across a lock or a closed window is offered after each unlock
        (the resident window's hook), even before any record window was opened."""
        try:
            from .resident_window import watch_drafts
        except ImportError:
            return
        watch_drafts(self.session, self)

    # ================================================================== actions and menus
    def _action(self, name: str, slot, shortcut=None, *, app_wide: bool = False) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if app_wide:
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_create = self._action("actCreateVault", self.create_vault)
        self.act_demo = self._action("actOpenDemo", self.open_demo)
        self.act_open = self._action("actOpenVault", self.choose_other_vault, K.Open)
        self.act_lock = self._action("actLock", self.lock, "Ctrl+L", app_wide=True)
        self.act_prefs = self._action("actPreferences", self.show_preferences, "Ctrl+,")
        self.act_quit = self._action("actQuit", self.close, "Ctrl+Q")
        self.act_new = self._action("actNewResident", self.residents_view.new_resident, K.New)
        self.act_open_resident = self._action("actOpenResident",
                                              self.residents_view.open_selected)
        self.act_find = self._action("actFind", self._find, K.Find)
        self.act_users = self._action("actUsers", self.show_users)
        self.act_passwd = self._action("actChangePassphrase", self.change_passphrase)
        self.act_rekey = self._action("actRekey", self.rekey)
        self.act_bigger = self._action("actFontBigger", lambda: self.scale_font(+1),
                                       [K.ZoomIn, "Ctrl+="])
        self.act_smaller = self._action("actFontSmaller", lambda: self.scale_font(-1), K.ZoomOut)
        self.act_normal = self._action("actFontNormal", lambda: self.scale_font(0), "Ctrl+0")
        # F1 in every window (resident, report…), not only over the main one.
        self.act_guide = self._action("actGuide", self.show_guide, K.HelpContents, app_wide=True)
        self.act_about = self._action("actAbout", self.show_about)
        self.language_group = QActionGroup(self)
        self.language_actions: dict[str, QAction] = {}
        for code in i18n.available_languages():
            action = QAction(i18n.LANGUAGE_NAMES.get(code, code), self, checkable=True)
            action.setObjectName(f"actLanguage_{code}")
            action.setChecked(code == i18n.current_language())
            action.triggered.connect(lambda _c=False, code=code: self.set_language(code))
            self.language_group.addAction(action)
            self.language_actions[code] = action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_file = QMenu(self, objectName="menuFile")
        for a in (self.act_create, self.act_demo, self.act_open, None, self.act_lock,
                  self.act_prefs, None, self.act_quit):
            self.menu_file.addSeparator() if a is None else self.menu_file.addAction(a)
        self.menu_residents = QMenu(self, objectName="menuResidents")
        for a in (self.act_new, self.act_open_resident, self.act_find):
            self.menu_residents.addAction(a)
        self.menu_users = QMenu(self, objectName="menuUsers")
        self.menu_users.addAction(self.act_users)
        self.menu_users.addAction(self.act_passwd)
        self.menu_users.addAction(self.act_rekey)
        self.menu_view = QMenu(self, objectName="menuView")
        for a in (self.act_bigger, self.act_smaller, self.act_normal):
            self.menu_view.addAction(a)
        self.menu_language = QMenu(self, objectName="menuLanguage")
        for action in self.language_actions.values():
            self.menu_language.addAction(action)
        self.menu_help = QMenu(self, objectName="menuHelp")
        self.menu_help.addAction(self.act_guide)
        self.menu_help.addAction(self.act_about)
        for menu in (self.menu_file, self.menu_residents, self.menu_users, self.menu_view,
                     self.menu_language, self.menu_help):
            bar.addMenu(menu)

    def retranslate_ui(self, _lang: str = "") -> None:
        self.menu_file.setTitle(_("&Archivo"))
        self.menu_residents.setTitle(_("&Residentes"))
        self.menu_users.setTitle(_("&Usuarios"))
        self.menu_view.setTitle(_("&Ver"))
        # The language menu names itself in both languages, so it can be found in either.
        self.menu_language.setTitle(_("&Idioma") + " / Simi")
        self.menu_help.setTitle(_("Ay&uda"))
        self.act_create.setText(_("&Crear una bóveda nueva…"))
        self.act_demo.setText(_("Abrir la &demostración"))
        self.act_open.setText(_("&Abrir otra bóveda…"))
        self.act_lock.setText(_("&Bloquear"))
        self.act_prefs.setText(_("&Preferencias…"))
        self.act_quit.setText(_("&Salir"))
        self.act_new.setText(_("&Nuevo residente"))
        self.act_open_resident.setText(_("&Abrir el residente seleccionado"))
        self.act_open_resident.setShortcut(QKeySequence())
        self.act_find.setText(_("&Buscar"))
        self.act_users.setText(_("&Usuarios de la bóveda…"))
        self.act_passwd.setText(_("Cambiar &mi contraseña…"))
        self.act_rekey.setText(_("Cambiar la &llave de la bóveda…"))
        self.act_bigger.setText(_("Letra más &grande"))
        self.act_smaller.setText(_("Letra más &pequeña"))
        self.act_normal.setText(_("Tamaño &normal"))
        self.act_guide.setText(_("&Guía de uso"))
        self.act_about.setText(_("&Acerca de CPC Desktop"))
        for code, action in self.language_actions.items():
            action.setChecked(code == i18n.current_language())
        self._update_title()
        self._update_actions()

    def _update_actions(self) -> None:
        unlocked = self.session.is_unlocked
        for a in (self.act_lock, self.act_find, self.act_open_resident, self.act_passwd):
            a.setEnabled(unlocked)
        self.act_new.setEnabled(self.session.can(Action.WRITE))
        self.act_users.setEnabled(self.session.can(Action.MANAGE_USERS))
        self.act_rekey.setEnabled(self.session.can(Action.MANAGE_USERS))
        self.residents_view.update_permissions()
        if unlocked:
            v = self.session.vault
            self.status_label.setText(_("{shelter} · {user} · {role}").format(
                shelter=v.shelter_code, user=v.user.display_name, role=v.user.role.label))
        else:
            self.status_label.setText(_("Bóveda bloqueada") if self.current_page() != "start"
                                      else "")
        self._update_title()

    def _update_title(self) -> None:
        if self.session.is_unlocked:
            self.setWindowTitle(f"CPC Desktop — {self.session.vault.shelter_name}")
        else:
            self.setWindowTitle("CPC Desktop")

    # ================================================================== pages
    def current_page(self) -> str:
        widget = self.stack.currentWidget()
        return {self.start_view: "start", self.unlock_view: "unlock",
                self.residents_view: "residents"}.get(widget, "")

    def _show(self, page: str) -> None:
        widget = {"start": self.start_view, "unlock": self.unlock_view,
                  "residents": self.residents_view}[page]
        self.stack.setCurrentWidget(widget)
        if page == "unlock":
            self.unlock_view.prepare(self._known_user(), self._known_shelter())
        elif page == "residents":
            self.residents_view.table.setFocus()
        else:
            self.start_view.create_button.setFocus()
        self._update_actions()
        self.page_changed.emit(page)

    def _known(self) -> dict:
        info = self.settings.vaults.get(str(Path(self.session.path)))
        return info if isinstance(info, dict) else {}

    def _known_user(self) -> str:
        """The last login on this vault (never another vault's, never "demo" elsewhere)."""
        if self._known().get("user"):
            return str(self._known()["user"])
        last = bool(self.settings.last_vault) and \
            Path(self.settings.last_vault) == Path(self.session.path)
        return self.settings.last_user if last else ""

    def _known_shelter(self) -> str:
        info = self._known()
        if not info.get("name"):
            return ""
        return f"{info['name']} ({info['code']})" if info.get("code") else str(info["name"])

    def start(self, path: Path | str | None = None) -> None:
        """The first page: unlock if a vault is there, else the start screen."""
        if path is not None:
            self.session.path = Path(path)
        if is_vault(self.session.path):
            self._show("unlock")
        else:
            self._show("start")

    # ================================================================== vault life
    def _unlocked(self, vault: Vault) -> None:
        self.session.attach(vault)
        self.settings.last_vault, self.settings.last_user = str(vault.path), vault.user.name
        self.settings.remember_vault(vault.path, code=vault.shelter_code,
                                     name=vault.shelter_name, user=vault.user.name,
                                     at=dt.datetime.now().isoformat(timespec="seconds"))
        self._show("residents")

    def _locked(self) -> None:
        if self.current_page() == "residents":
            self._show("unlock")
        self._update_actions()

    def lock(self) -> None:
        if self.session.is_unlocked:
            self.session.lock()

    def switch_vault(self, path: Path) -> None:
        self.session.set_path(path)
        self.unlock_view.user.clear()
        self.start()

    def create_vault(self) -> CreateVaultDialog:
        dialog = CreateVaultDialog(self, kdf_seconds=self.kdf_seconds)
        dialog.created.connect(self._vault_created)
        dialog.open()
        return dialog

    def _vault_created(self, vault: Vault, recovery_key: str) -> None:
        sheet = RecoveryKeyDialog(recovery_key, vault.shelter_code, vault.shelter_name, self)
        self.recovery_sheet = sheet

        def continue_() -> None:
            self.recovery_sheet = None
            self.session.set_path(vault.path)
            self._unlocked(vault)
            self.activateWindow()   # the sheet had it; without a window manager nobody returns it

        sheet.accepted.connect(continue_)
        sheet.open()

    def open_demo(self) -> None:
        path = demo_vault_dir()
        if is_vault(path):
            self.switch_vault(path)
            return

        def built(vault: Vault) -> None:
            self.session.set_path(path)
            self._unlocked(vault)

        self.demo_task = create_demo(self, path, built, residents=self.demo_residents,
                                     kdf_seconds=self.kdf_seconds)

    def choose_other_vault(self, folder: str | None = None):
        """The vault chooser (the vaults of this computer by shelter); straight to the folder
        dialog when no other vault was ever opened here."""
        if folder is None:
            from .vault_chooser import VaultChooser

            chooser = VaultChooser(self.settings, self.session.path, self)
            if chooser.vaults:
                chooser.chosen.connect(lambda path: self.choose_other_vault(str(path)))
                chooser.open()
                self.vault_chooser = chooser
                return chooser
            start = str(self.session.path.parent if self.session.path else Path.home())
            folder = QFileDialog.getExistingDirectory(self, _("Elija la carpeta de la bóveda"),
                                                      start)
            if not folder:
                return None
        if not is_vault(folder):
            box = QMessageBox(QMessageBox.Icon.Warning, _("No es una bóveda"),
                              _("Esa carpeta no contiene una bóveda de CPC Desktop (falta el "
                                "archivo «keyslots.json»). Elija la carpeta que contiene "
                                "«keyslots.json» y «vault.db»."),
                              QMessageBox.StandardButton.Ok, self)
            box.setObjectName("notAVaultBox")
            box.open()
            return None
        self.switch_vault(Path(folder))
        return None

    # ================================================================== dialogs
    def _find(self) -> None:
        if self.current_page() == "residents":
            self.residents_view.focus_search()

    def show_users(self) -> UsersDialog | None:
        if not self.session.is_unlocked:
            return None
        dialog = UsersDialog(self.session, self)
        dialog.open()
        return dialog

    def change_passphrase(self) -> ChangePassphraseDialog | None:
        if not self.session.is_unlocked:
            return None
        dialog = ChangePassphraseDialog(self.session, self)
        dialog.open()
        return dialog

    def rekey(self):
        """Coordinators: asks, then re-keys with a progress bar (see rekey_ui)."""
        if not self.session.can(Action.MANAGE_USERS):
            return None
        from .rekey_ui import RekeyDialog, run_rekey

        dialog = RekeyDialog(self)

        def accepted() -> None:
            self.rekey_task = run_rekey(self, self.session, reason=dialog.reason)

        dialog.accepted.connect(accepted)
        dialog.open()
        return dialog

    def show_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.settings, self)

        def apply() -> None:
            values = dialog.values()
            self.settings.update(idle_minutes=values["idle_minutes"],
                                 font_scale=values["font_scale"])
            self.session.set_idle_minutes(values["idle_minutes"])
            apply_font_scale(self.settings.font_scale)
            if values["language"] != i18n.current_language():
                self.set_language(values["language"])

        dialog.accepted.connect(apply)
        dialog.open()
        return dialog

    def show_guide(self) -> UserGuideDialog:
        dialog = UserGuideDialog(self)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self)
        dialog.open()
        return dialog

    # ================================================================== comfort
    def set_language(self, code: str) -> None:
        lang.set_language(code)
        self.settings.update(language=code)

    def scale_font(self, direction: int) -> None:
        scale = 1.0 if direction == 0 else self.settings.font_scale + direction * FONT_STEP
        scale = round(min(max(scale, MIN_FONT_SCALE), MAX_FONT_SCALE), 2)
        self.settings.update(font_scale=scale)
        apply_font_scale(scale)

    def _restore_geometry(self) -> None:
        data = _unb64(self.settings.window_geometry)
        if not data or not self.restoreGeometry(QByteArray(data)):
            fit_to_screen(self, 1100, 700)

    def save_state(self) -> None:
        self.settings.update(window_geometry=_b64(self.saveGeometry().data()),
                             residents_header=_b64(self.residents_view.header_state()))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # Other windows (a resident's record) may ask about unsaved input and refuse.
        for widget in QApplication.topLevelWidgets():
            if widget is not self and widget.isWindow() and widget.isVisible() \
                    and not widget.close():
                event.ignore()
                return
        self.save_state()
        self.session.lock()
        event.accept()
