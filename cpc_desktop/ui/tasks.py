"""Background work for the window (the role of Anki's QueryOp/CollectionOp).

`run_task(parent, fn, on_success=…)` runs `fn(progress)` on the thread pool and calls back on
the UI thread. A progress dialog with a Cancel button appears only if the work lasts more than
a moment; errors are shown in the user's language and never take the user's input with them
(the caller's widgets are not touched on failure).
"""
from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from ..core.errors import CpcError
from ..core.i18n import _

SHOW_PROGRESS_AFTER_MS = 300


class Cancelled(Exception):
    """Raised inside a task by Progress.check() when the user pressed Cancel."""


class Progress:
    """Handed to the task function: report progress, ask whether to stop."""

    def __init__(self, relay: "_Relay"):
        self._relay = relay
        self._cancel = threading.Event()

    def update(self, done: int, total: int = 0, label: str = "") -> None:
        self._relay.progressed.emit(int(done), int(total), label)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        self._cancel.set()


class _Relay(QObject):
    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object, str)


class _Runnable(QRunnable):
    def __init__(self, fn, progress: Progress, relay: _Relay):
        super().__init__()
        self.setAutoDelete(True)
        self._fn, self._progress, self._relay = fn, progress, relay

    def run(self) -> None:
        try:
            result = self._fn(self._progress)
        except BaseException as exc:  # noqa: BLE001 — reported on the UI thread
            self._relay.failed.emit(exc, traceback.format_exc())
        else:
            self._relay.succeeded.emit(result)


class TaskHandle(QObject):
    """A running task; keeps its relay alive until the callbacks ran."""

    done = Signal()
    _live: set["TaskHandle"] = set()

    def __init__(self, parent: QWidget | None):
        super().__init__(None)
        self.relay = _Relay()
        self.progress = Progress(self.relay)
        self.dialog: QProgressDialog | None = None
        self.finished = False
        TaskHandle._live.add(self)

    def cancel(self) -> None:
        self.progress.cancel()

    def _finish(self) -> None:
        self.finished = True
        if self.dialog is not None:
            try:
                self.dialog.reset()
                self.dialog.deleteLater()
            except RuntimeError:  # deleted with its parent window (closed meanwhile)
                pass
            self.dialog = None
        TaskHandle._live.discard(self)
        self.done.emit()


def error_text(exc: BaseException) -> str:
    """What a person is told: the core's translated message, or a safe generic line.

    Unexpected errors show only their type: their text could carry a record's values.
    """
    if isinstance(exc, CpcError):
        return str(exc)
    return _("Ocurrió un error inesperado ({kind}). No se perdió lo que escribió; inténtelo de "
             "nuevo y, si se repite, avise al soporte.").format(kind=type(exc).__name__)


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """A message box over `parent`, or on its own when that window closed meanwhile (a task
    may fail after its window is gone: the person must still be told)."""
    if parent is not None and not shiboken6.isValid(parent):
        parent = None
    box = QMessageBox(QMessageBox.Icon.Warning, _("No se pudo completar"), error_text(exc),
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    if parent is None:
        # Nothing owns a box without a window: Python would collect it before it is seen.
        _ORPHAN_BOXES.add(box)
        box.finished.connect(lambda _r, b=box: _ORPHAN_BOXES.discard(b))
    box.open()


_ORPHAN_BOXES: set[QMessageBox] = set()


def run_task(parent: QWidget | None, fn: Callable[[Progress], Any], *,
             on_success: Callable[[Any], None] | None = None,
             on_failure: Callable[[BaseException], None] | None = None,
             on_cancel: Callable[[], None] | None = None,
             label: str | None = None, cancellable: bool = False,
             show_progress: bool = True, pool: QThreadPool | None = None) -> TaskHandle:
    """Runs fn(progress) off the UI thread; callbacks run on the UI thread.

    on_failure defaults to a message box with error_text(); a task that raised Cancelled
    calls on_cancel instead. The progress dialog shows only after SHOW_PROGRESS_AFTER_MS.
    """
    handle = TaskHandle(parent)
    relay = handle.relay

    if show_progress:
        dialog = QProgressDialog(label or _("Trabajando…"), _("Cancelar") if cancellable else "",
                                 0, 0, parent)
        dialog.setObjectName("taskProgress")
        dialog.setWindowTitle(_("Un momento, por favor"))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(SHOW_PROGRESS_AFTER_MS)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        if not cancellable:
            dialog.setCancelButton(None)
        dialog.canceled.connect(handle.cancel)
        handle.dialog = dialog

        def on_progress(done: int, total: int, text: str) -> None:
            # setValue() on a modal dialog processes events, which may finish the task and
            # drop handle.dialog meanwhile: work on the dialog only while it is current.
            dlg = handle.dialog
            if dlg is None:
                return
            try:
                if text:
                    dlg.setLabelText(text)
                dlg.setMaximum(max(total, 0))
                if handle.dialog is dlg:
                    dlg.setValue(min(done, total) if total else 0)
            except RuntimeError:  # its parent window was closed while the work went on
                handle.dialog = None

        relay.progressed.connect(on_progress, Qt.ConnectionType.QueuedConnection)
        # QProgressDialog shows itself after minimumDuration only once setValue is called.
        QTimer.singleShot(0, lambda: handle.dialog is not None and handle.dialog.setValue(0))

    def gone() -> bool:
        # The window closed while the work went on: its widgets are deleted, nothing to show.
        return parent is not None and not shiboken6.isValid(parent)

    def succeeded(result) -> None:
        handle._finish()
        if on_success is not None and not gone():
            on_success(result)

    def failed(exc: BaseException, _trace: str) -> None:
        handle._finish()
        if isinstance(exc, Cancelled):
            if on_cancel is not None and not gone():
                on_cancel()
            return
        if on_failure is not None and not gone():
            on_failure(exc)
        else:  # also when the window is gone: the person must still be told
            show_error(parent, exc)

    relay.succeeded.connect(succeeded, Qt.ConnectionType.QueuedConnection)
    relay.failed.connect(failed, Qt.ConnectionType.QueuedConnection)
    (pool or QThreadPool.globalInstance()).start(_Runnable(fn, handle.progress, relay))
    return handle
