"""The unlocked vault as the window sees it: one object, one "vault changed" signal, idle lock.

Views never call each other: they listen to `changed` (which records and residents changed)
and to `locking`/`locked`/`unlocked`. Before the vault locks, `locking` lets every open editor
save its unsaved input as an encrypted draft (in the vault itself), so nothing typed is lost.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from ..core.vault import Vault
from . import memory
from .system_lock import SystemLockWatcher

_INPUT_EVENTS = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                 QEvent.Type.Wheel, QEvent.Type.TouchBegin}


class Session(QObject):
    changed = Signal(object)        # a Change: sets of record ids and resident ids
    locking = Signal()              # save drafts now; the vault is still open
    locked = Signal()               # decrypted data must be dropped from every view
    unlocked = Signal()
    # The first screen after unlock is shown: heavy reads (the list's) may start. Without a
    # view that holds it (hold_first_screen), right after `unlocked`.
    settled = Signal()

    def __init__(self, path: Path, idle_minutes: int = 5, parent: QObject | None = None):
        super().__init__(parent)
        self.path = Path(path)
        self.vault: Vault | None = None
        self.failed_unlocks = 0     # kept here so reopening the unlock screen does not reset it
        self._first_screen_held = False
        self._settled = True
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self.lock)
        self.set_idle_minutes(idle_minutes)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        # Sleep and screen lock lock the vault too (the idle timer stops while asleep).
        self.system_lock = SystemLockWatcher(self)
        self.system_lock.lock_requested.connect(self._system_lock)

    # ------------------------------------------------------------ state
    @property
    def is_unlocked(self) -> bool:
        return self.vault is not None and self.vault.is_open

    @property
    def user(self):
        """The signed-in User (name, display name, role), or None while locked."""
        return self.vault.user if self.is_unlocked else None

    def can(self, action) -> bool:
        """Whether the signed-in user may do `action` (core enforces it anyway)."""
        return self.is_unlocked and self.vault.user.can(action)

    def set_path(self, path: Path) -> None:
        """Points the session at another vault folder (locks the current one first)."""
        self.lock()
        self.path = Path(path)
        self.failed_unlocks = 0

    def set_idle_minutes(self, minutes: int) -> None:
        self._idle.setInterval(max(1, int(minutes)) * 60_000)
        if self.is_unlocked:
            self._idle.start()

    def set_idle_interval_ms(self, ms: int) -> None:
        """Finer than minutes, for tests and benchmarks."""
        self._idle.setInterval(max(1, int(ms)))
        if self.is_unlocked:
            self._idle.start()

    def attach(self, vault: Vault) -> None:
        """Called on the UI thread once a background unlock succeeded."""
        self.vault = vault
        self.path = Path(vault.path)
        self.failed_unlocks = 0
        self._idle.start()
        self._settled = False
        self.unlocked.emit()
        if not self._first_screen_held:
            self.first_screen_shown()

    def hold_first_screen(self) -> None:
        """The caller is the first screen: `settled` waits for its first_screen_shown(), so
        nothing competes with it for the vault and the CPU."""
        self._first_screen_held = True

    def first_screen_shown(self) -> None:
        if self.is_unlocked and not self._settled:
            self._settled = True
            self.settled.emit()

    def lock(self) -> None:
        if self.vault is None:
            return
        self.locking.emit()
        vault, self.vault = self.vault, None
        self._idle.stop()
        try:
            vault.lock()
        finally:
            # Views drop decrypted data even if closing the file failed.
            self.locked.emit()
            # Once windows closed for the lock are gone (deleteLater), give the memory back.
            QTimer.singleShot(0, memory.release)

    def _system_lock(self, _reason: str) -> None:
        self.lock()

    def notify(self, records: set[str] | None = None, residents: set[str] | None = None) -> None:
        self.changed.emit(Change(frozenset(records or ()), frozenset(residents or ())))

    # ------------------------------------------------------------ idle detection
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() in _INPUT_EVENTS and self.is_unlocked:
            self._idle.start()
        return False


class Change:
    """What a vault operation changed, so each view decides whether to refresh."""

    __slots__ = ("records", "residents")

    def __init__(self, records: frozenset[str], residents: frozenset[str]):
        self.records = records
        self.residents = residents

    def touches(self, resident_id: str) -> bool:
        return not self.residents or resident_id in self.residents
