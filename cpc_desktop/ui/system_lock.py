"""Lock the vault when the laptop goes to sleep or its screen locks.

The idle timer does not run while a laptop sleeps, so a lid closed on an unlocked vault would
wake up unlocked. On Linux the window listens on D-Bus to logind's PrepareForSleep (system
bus) and to the screensaver's ActiveChanged (org.freedesktop.ScreenSaver and
org.gnome.ScreenSaver, session bus); on Windows to WM_POWERBROADCAST (suspend) and
WM_WTSSESSION_CHANGE (screen locked, user switched) through a native event filter.
Without a bus (or on another system) nothing is connected and the idle lock remains.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractNativeEventFilter, QObject, Signal, Slot

# The signals listened to: (bus, service, path, interface, member).
LOGIND = ("system", "org.freedesktop.login1", "/org/freedesktop/login1",
          "org.freedesktop.login1.Manager", "PrepareForSleep")
SCREENSAVERS = (
    ("session", "org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver",
     "org.freedesktop.ScreenSaver", "ActiveChanged"),
    ("session", "org.freedesktop.ScreenSaver", "/ScreenSaver",
     "org.freedesktop.ScreenSaver", "ActiveChanged"),
    ("session", "org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver",
     "ActiveChanged"),
)

# Windows messages (winuser.h, wtsapi32.h).
WM_POWERBROADCAST = 0x0218
PBT_APMSUSPEND = 0x0004
WM_WTSSESSION_CHANGE = 0x02B1
WTS_CONSOLE_DISCONNECT = 0x2
WTS_REMOTE_DISCONNECT = 0x4
WTS_SESSION_LOCK = 0x7
NOTIFY_FOR_THIS_SESSION = 0


def windows_message_locks(message: int, wparam: int) -> str | None:
    """Why a Windows message must lock the vault ("sleep", "screen"), or None."""
    if message == WM_POWERBROADCAST and wparam == PBT_APMSUSPEND:
        return "sleep"
    if message == WM_WTSSESSION_CHANGE and wparam in (WTS_SESSION_LOCK, WTS_CONSOLE_DISCONNECT,
                                                       WTS_REMOTE_DISCONNECT):
        return "screen"
    return None


class _WindowsFilter(QAbstractNativeEventFilter):
    def __init__(self, watcher: "SystemLockWatcher"):
        super().__init__()
        self._watcher = watcher

    def nativeEventFilter(self, event_type, message):  # noqa: N802 (Qt name)
        if bytes(event_type) == b"windows_generic_MSG":
            import ctypes.wintypes

            msg = ctypes.wintypes.MSG.from_address(int(message))
            reason = windows_message_locks(msg.message, msg.wParam)
            if reason:
                self._watcher.lock_requested.emit(reason)
        return False, 0


class SystemLockWatcher(QObject):
    """Emits lock_requested(reason) when the laptop is about to sleep or its screen locks."""

    lock_requested = Signal(str)

    def __init__(self, parent: QObject | None = None, *, system_bus=None, session_bus=None,
                 connect: bool = True):
        super().__init__(parent)
        self.connected: list[str] = []   # what is being listened to (for tests and About)
        self._filter = None
        if connect:
            self._connect_dbus(system_bus, session_bus)
            self._install_windows()

    # ------------------------------------------------------------ D-Bus (Linux)
    def _connect_dbus(self, system_bus, session_bus) -> None:
        try:
            from PySide6.QtDBus import QDBusConnection
        except ImportError:     # a build of Qt without D-Bus
            return
        buses = {"system": system_bus, "session": session_bus}
        if system_bus is None and sys.platform.startswith("linux"):
            buses["system"] = QDBusConnection.systemBus()
        if session_bus is None and sys.platform.startswith("linux"):
            buses["session"] = QDBusConnection.sessionBus()
        for bus_name, service, path, interface, member in (LOGIND, *SCREENSAVERS):
            bus = buses.get(bus_name)
            if bus is None or not bus.isConnected():
                continue
            slot = "_on_sleep" if member == "PrepareForSleep" else "_on_screensaver"
            if bus.connect(service, path, interface, member, self, f"1{slot}(bool)"):
                self.connected.append(f"{interface}.{member}")

    @Slot(bool)
    def _on_sleep(self, going_to_sleep: bool) -> None:
        if going_to_sleep:
            self.lock_requested.emit("sleep")

    @Slot(bool)
    def _on_screensaver(self, active: bool) -> None:
        if active:
            self.lock_requested.emit("screen")

    # ------------------------------------------------------------ Windows
    def _install_windows(self) -> None:
        if sys.platform != "win32":
            return
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        if app is None:
            return
        self._filter = _WindowsFilter(self)
        app.installNativeEventFilter(self._filter)
        self.connected.append("WM_POWERBROADCAST")

    def watch_window(self, widget) -> None:
        """Windows sends session changes (screen lock) only to windows that ask for them."""
        if sys.platform != "win32":
            return
        import ctypes

        try:
            if ctypes.windll.wtsapi32.WTSRegisterSessionNotification(
                    int(widget.winId()), NOTIFY_FOR_THIS_SESSION):
                self.connected.append("WM_WTSSESSION_CHANGE")
        except (AttributeError, OSError):
            pass
