"""What the window remembers between runs, and the Preferences dialog that changes it.

Settings are a small JSON file in platformdirs' user config dir ("cpc-desktop"), or in
$CPC_CONFIG_DIR when set (tests, portable installs). They hold no personal data: the
language, the last vault folder and login name, the idle-lock minutes, the font scale and
the window geometry.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QSpinBox, QVBoxLayout, QWidget)

from ..core import i18n
from ..core.i18n import _
from ..core.files import write_private

APP_DIR_NAME = "cpc-desktop"
SETTINGS_FILE = "settings.json"
DEFAULT_IDLE_MINUTES = 5
MIN_IDLE_MINUTES, MAX_IDLE_MINUTES = 1, 120
MIN_FONT_SCALE, MAX_FONT_SCALE, FONT_STEP = 0.8, 2.0, 0.1


def config_dir() -> Path:
    override = os.environ.get("CPC_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path(APP_DIR_NAME, appauthor=False)


def data_dir() -> Path:
    """Where vaults live by default ($CPC_DATA_DIR overrides, like CPC_CONFIG_DIR)."""
    override = os.environ.get("CPC_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_data_path(APP_DIR_NAME, appauthor=False)


def default_vault_dir() -> Path:
    return data_dir() / "vault"


def demo_vault_dir() -> Path:
    return data_dir() / "demo"


def documents_folder() -> str:
    """The person's Documents folder (their home when the system has none): where files they
    save start, never the program's data folder next to the vaults."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return docs if docs and Path(docs).is_dir() else str(Path.home())


def is_vault(path: Path | str | None) -> bool:
    return path is not None and (Path(path) / "keyslots.json").is_file()


def same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


@dataclass
class Settings:
    language: str = i18n.SOURCE_LANGUAGE
    last_vault: str = ""
    last_user: str = ""
    idle_minutes: int = DEFAULT_IDLE_MINUTES
    font_scale: float = 1.0
    window_geometry: str = ""          # QWidget.saveGeometry(), base64
    residents_header: str = ""         # QHeaderView.saveState(), base64
    print_language: str = ""           # the last language chosen for printing
    folders: dict = field(default_factory=dict)   # kind ("pdf", "backup"…) → last folder
    # Vaults opened here: folder → {"code", "name", "user", "at"}, for the vault chooser. Only
    # what the lock screen shows anyway (shelter and login), never a resident's datum.
    vaults: dict = field(default_factory=dict)
    path: Path | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """Never fails: a missing or unreadable file gives the defaults."""
        path = path or config_dir() / SETTINGS_FILE
        data: dict = {}
        with contextlib.suppress(OSError, ValueError):
            raw = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(raw, dict):
                data = raw
        known = {f.name for f in dataclasses.fields(cls) if f.name != "path"}
        settings = cls(path=path)
        for key, value in data.items():
            if key in known and isinstance(value, type(getattr(settings, key))):
                setattr(settings, key, value)
        if isinstance(data.get("font_scale"), int):
            settings.font_scale = float(data["font_scale"])
        settings._normalize()
        return settings

    def _normalize(self) -> None:
        if self.language not in i18n.available_languages():
            self.language = i18n.SOURCE_LANGUAGE
        self.idle_minutes = min(max(int(self.idle_minutes), MIN_IDLE_MINUTES), MAX_IDLE_MINUTES)
        self.font_scale = round(min(max(float(self.font_scale), MIN_FONT_SCALE),
                                    MAX_FONT_SCALE), 2)

    def save(self) -> None:
        """Best effort: a read-only profile must not stop the work."""
        self._normalize()
        path = self.path or config_dir() / SETTINGS_FILE
        data = {k: v for k, v in dataclasses.asdict(self).items() if k != "path"}
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private(path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))

    def folder(self, kind: str, default: str) -> str:
        """The folder last used for this kind of file, while it still exists."""
        chosen = self.folders.get(kind)
        return chosen if isinstance(chosen, str) and Path(chosen).is_dir() else default

    def remember_folder(self, kind: str, path: Path | str) -> None:
        folder = Path(path)
        folder = folder if folder.is_dir() else folder.parent
        self.update(folders={**self.folders, kind: str(folder)})

    def remember_vault(self, path: Path | str, *, code: str, name: str, user: str,
                       at: str) -> None:
        self.update(vaults={**self.vaults, str(Path(path)): {
            "code": code, "name": name, "user": user, "at": at}})

    def known_vaults(self) -> list[tuple[Path, dict]]:
        """The vaults opened on this computer that are still there, the latest first."""
        out = [(Path(p), info) for p, info in self.vaults.items()
               if isinstance(info, dict) and is_vault(p)]
        return sorted(out, key=lambda item: str(item[1].get("at", "")), reverse=True)

    def start_vault(self) -> Path:
        """The vault to show at start: the last one opened, except that the demo never stands
        in for a real vault of this computer (a restart after trying the demo)."""
        last = Path(self.last_vault) if self.last_vault else None
        demo = demo_vault_dir()
        if last is not None and is_vault(last) and not same_folder(last, demo):
            return last
        real = [p for p, _info in self.known_vaults() if not same_folder(p, demo)]
        if real:
            return real[0]
        if is_vault(default_vault_dir()):
            return default_vault_dir()
        return last if last is not None and is_vault(last) else default_vault_dir()

    def update(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.save()


class PreferencesDialog(QDialog):
    """Idle lock minutes, language and text size; applied by the caller on accept."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.idle = QSpinBox(objectName="idleMinutes")
        self.idle.setRange(MIN_IDLE_MINUTES, MAX_IDLE_MINUTES)
        self.idle.setValue(settings.idle_minutes)
        self.language = QComboBox(objectName="languageCombo")
        for code in i18n.available_languages():
            self.language.addItem(i18n.LANGUAGE_NAMES.get(code, code), code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.font_percent = QSpinBox(objectName="fontPercent")
        self.font_percent.setRange(int(MIN_FONT_SCALE * 100), int(MAX_FONT_SCALE * 100))
        self.font_percent.setSingleStep(int(FONT_STEP * 100))
        self.font_percent.setSuffix(" %")
        self.font_percent.setValue(round(settings.font_scale * 100))
        self.note = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.form = QFormLayout()
        self.idle_label, self.language_label, self.font_label = QLabel(), QLabel(), QLabel()
        for label, widget in ((self.idle_label, self.idle), (self.language_label, self.language),
                              (self.font_label, self.font_percent)):
            label.setBuddy(widget)
            self.form.addRow(label, widget)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Preferencias"))
        self.idle_label.setText(_("&Bloquear tras inactividad:"))
        self.idle.setSuffix(" " + _("min"))
        self.language_label.setText(_("&Idioma:"))
        self.font_label.setText(_("&Tamaño de la letra:"))
        self.note.setText(_("Si nadie usa la computadora durante ese tiempo, la bóveda se "
                            "bloquea y los datos desaparecen de la pantalla."))

    def values(self) -> dict:
        return {"idle_minutes": self.idle.value(), "language": self.language.currentData(),
                "font_scale": self.font_percent.value() / 100}
