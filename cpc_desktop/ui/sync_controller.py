"""Sync seen from the window: one controller per main window runs every sync on a worker,
tries the configured hub by itself every few minutes, and keeps the quiet status-bar line.

Everything that decides (what to send, what to apply, when to try the hub again, who may do
what) lives in `cpc_desktop.sync` and `core`; this module only drives them and relays what they
report to the UI thread:

    controller.sync_now()                 # the configured hub
    controller.sync_folder(path)          # a USB stick's folder
    controller.started / progressed / finished / status_changed   (signals)

A background try that fails says so in the status line (a discreet mark and a tooltip), never
in a pop-up: the hub not answering is the normal state of a shelter far from town.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from ..core import display
from ..core.i18n import N_, _, ngettext
from ..sync import (Cancelled, CancelToken, HubError, SyncEngine, SyncError, SyncReport, alerts,
                    SyncScheduler, SyncStatus, open_hub)
from . import memory
from .lang import language_bus
from .session import Session
from .tasks import error_text, run_task

TICK_MS = 15_000            # how often the scheduler is asked whether a try is due
STATUS_DEBOUNCE_MS = 400    # a burst of saves recounts the waiting changes once
STATUS_AFTER_UNLOCK_MS = 1500


@dataclass
class SyncOutcome:
    """How one sync ended, as the window tells it."""
    hub: str
    background: bool
    report: SyncReport | None = None
    error: str | None = None          # translated message (str(exc)) when it stopped
    cancelled: bool = False
    hub_failed: bool = False          # the hub did not answer / refused: retried later
    at: dt.datetime = field(default_factory=dt.datetime.now)

    @property
    def ok(self) -> bool:
        return self.error is None and self.report is not None and self.report.ok

    @property
    def applied_changes(self) -> bool:
        r = self.report
        # A batch may bring only attachment rows or tombstones, and a sync only the content
        # of attachments shown as "llegará…": the windows must read them again too.
        return r is not None and bool(r.received_changes or r.new_conflicts
                                      or r.received_batches or r.attachments_completed)


def summary_text(o: SyncOutcome) -> str:
    """One paragraph on what a finished sync did (refusals and notices are listed apart)."""
    if o.cancelled:
        return o.error or _("Sincronización cancelada.")
    if o.report is None:
        return o.error or ""
    r = o.report
    text = _("Sincronizado con {hub}. Enviados: {sent}. Recibidos: {received} "
             "({changes}).").format(
        hub=r.hub,
        sent=ngettext("{n} paquete de "
                      "cambios", "{n} paquetes de "
                                 "cambios", r.sent_batches).format(n=r.sent_batches),
        received=ngettext("{n} paquete de "
                          "cambios", "{n} paquetes de cambios", r.received_batches).format(
            n=r.received_batches),
        changes=ngettext("{n} cambio", "{n} cambios", r.received_changes).format(
            n=r.received_changes))
    if r.new_conflicts:
        text += " " + ngettext("{n} conflicto nuevo por revisar.",
                               "{n} conflictos nuevos por revisar.",
                               r.new_conflicts).format(n=r.new_conflicts)
    if r.duplicates:
        text += " " + ngettext("{n} posible residente duplicado.",
                               "{n} posibles residentes duplicados.",
                               len(r.duplicates)).format(n=len(r.duplicates))
    if r.refused:
        text += " " + ngettext("{n} paquete de cambios rechazado (vea abajo).",
                               "{n} paquetes de cambios rechazados (vea abajo).",
                               len(r.refused)).format(n=len(r.refused))
    warn = alerts(r)
    if warn:
        text += " ⚠ " + ngettext("{n} aviso sobre el punto de intercambio o la hora de un equipo "
                                 "(vea abajo).",
                                 "{n} avisos sobre el punto de intercambio o la hora de los "
                                 "equipos (vea abajo).",
                                 len(warn)).format(n=len(warn))
    return text


def status_text(status: SyncStatus | None, *, running: bool = False,
                failure: SyncOutcome | None = None, warnings: int = 0) -> str:
    """The status-bar line: "Última sincronización: … · N cambios en espera"."""
    if status is None:
        return ""
    if status.last_sync_at:
        parts = [_("Última sincronización: {when}").format(
            when=display.format_moment(status.last_sync_at))]
    else:
        parts = [_("Aún no se ha sincronizado")]
    if status.waiting_changes:
        parts.append(ngettext("{n} cambio en espera", "{n} cambios en espera",
                              status.waiting_changes).format(n=status.waiting_changes))
    else:
        parts.append(_("sin cambios en espera"))
    if status.open_conflicts:
        parts.append(ngettext("{n} conflicto por revisar", "{n} conflictos por revisar",
                              status.open_conflicts).format(n=status.open_conflicts))
    if warnings and not running:
        parts.append("⚠ " + ngettext("{n} aviso de la última sincronización",
                                     "{n} avisos de la última sincronización",
                                     warnings).format(n=warnings))
    if running:
        parts.append(_("sincronizando…"))
    elif failure is not None:
        when = failure.at.strftime("%H:%M")
        if failure.hub_failed:
            parts.append("⚠ " + _("el punto de intercambio no respondió "
                                  "({time})").format(time=when))
        elif failure.report is not None:
            n = len(failure.report.refused)
            parts.append("⚠ " + ngettext("{n} paquete de cambios rechazado ({time})",
                                         "{n} paquetes de cambios rechazados ({time})", n).format(
                n=n, time=when))
        else:
            parts.append("⚠ " + _("la última sincronización no terminó ({time})").format(
                time=when))
    return " · ".join(parts)


class _Relay(QObject):
    """Lives on the UI thread; the worker emits, Qt queues the call to the UI thread."""
    progressed = Signal(object)


class SyncController(QObject):
    """One per main window. Never blocks the UI thread; one sync at a time."""

    started = Signal(bool)            # background?
    progressed = Signal(object)       # sync.Progress
    finished = Signal(object)         # SyncOutcome
    status_changed = Signal(object)   # SyncStatus (None while locked)
    busy_changed = Signal(bool)

    def __init__(self, session: Session, parent: QObject | None = None, *,
                 hub_opener: Callable = open_hub,
                 engine_factory: Callable = SyncEngine):
        super().__init__(parent)
        self.session = session
        self.hub_opener = hub_opener            # tests put a slow or failing hub here
        self.engine_factory = engine_factory
        self.scheduler = SyncScheduler(has_hub=self.hub_configured)
        self.status: SyncStatus | None = None
        self.last_outcome: SyncOutcome | None = None
        self.last_progress = None
        self.failure: SyncOutcome | None = None   # the last try that did not finish
        self.token: CancelToken | None = None
        self.task = None
        self.panel = None                         # the open SyncPanel, if any
        self._hub_known: bool | None = None
        # Its own thread: a sync over a slow link must not hold a thread of the shared pool
        # that loads the lists and records (two on a two-core laptop).
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.progressed.connect(self._progressed)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_DEBOUNCE_MS)
        self._status_timer.timeout.connect(self.refresh_status)
        session.unlocked.connect(self._unlocked)
        session.settled.connect(self._settled)
        session.locking.connect(self.cancel)
        session.locked.connect(self._locked)
        session.changed.connect(lambda _c: self._status_timer.start())
        if session.is_unlocked:
            self._unlocked()

    # ------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self.token is not None

    def engine(self) -> SyncEngine:
        return self.engine_factory(self.session.vault)

    def hub_configured(self) -> bool:
        """Whether a hub is saved in the vault, as the last status read (on a worker) said:
        asking the vault here would make the UI thread wait while the list loads."""
        return self.session.is_unlocked and bool(self._hub_known)

    def hub_saved(self) -> None:
        """After the hub settings changed: try it at the next tick."""
        self._hub_known = True
        self.failure = None
        self.scheduler.failures = 0
        self.scheduler.request()
        self.refresh_status()

    def _unlocked(self) -> None:
        self._hub_known = None
        self.failure = None
        self.scheduler = SyncScheduler(has_hub=self.hub_configured)
        self.timer.start()

    def _settled(self) -> None:
        # Well after the first screen and the list: counting the waiting changes holds the
        # vault for a second with 10,000 residents never synced, and they would wait for it.
        QTimer.singleShot(STATUS_AFTER_UNLOCK_MS, self,
                          lambda: self.session.is_unlocked and self._status_timer.start())

    def _locked(self) -> None:
        self.timer.stop()
        self._status_timer.stop()
        self.status = None
        self.last_outcome = None
        self.failure = None
        self._hub_known = None
        self.status_changed.emit(None)

    def refresh_status(self) -> None:
        """Recounts the waiting changes and open conflicts on a worker."""
        if not self.session.is_unlocked:
            return
        engine, vault = self.engine(), self.session.vault

        def count(_p) -> SyncStatus:
            try:
                return engine.status()
            finally:
                # The count reads every waiting change: its pages would stay in the 64 MB
                # cache while nobody needs them (issue 16: RSS with the list shown).
                memory.shrink_vault(vault)

        def done(status: SyncStatus) -> None:
            memory.trim()
            if not self.session.is_unlocked:
                return
            self.status = status
            self._hub_known = status.hub_configured
            self.status_changed.emit(status)

        run_task(None, count, on_success=done,
                 on_failure=lambda _exc: None, show_progress=False)

    # ------------------------------------------------------------ starting
    def tick(self) -> bool:
        """The QTimer's call: starts a background sync with the saved hub when due."""
        if self.busy or not self.session.is_unlocked or not self.scheduler.should_run():
            return False
        return self._start(None, background=True)

    def sync_now(self) -> bool:
        """"Sincronizar ahora": the saved hub, now, even while backing off."""
        if self.busy or not self.hub_configured():
            return False
        self.scheduler.request()
        return self._start(None, background=False)

    def sync_folder(self, folder: str) -> bool:
        """"Sincronizar con memoria USB…": a folder hub chosen by hand."""
        if self.busy or not self.session.is_unlocked:
            return False
        return self._start(str(folder), background=False)

    def cancel(self) -> None:
        if self.token is not None:
            self.token.cancel()

    def _start(self, folder: str | None, *, background: bool) -> bool:
        engine = self.engine()
        token = CancelToken()
        uses_saved_hub = folder is None
        if uses_saved_hub:
            self.scheduler.started()
        self.token = token
        self.last_progress = None
        opener, relay = self.hub_opener, self._relay
        described = [folder or ""]

        def work(_p):
            if folder is None:
                saved = engine.hub_settings()
                if not saved:
                    raise SyncError(_("No hay un punto de intercambio configurado. Una persona "
                                      "coordinadora "
                                      "puede configurarlo en «Ajustes del punto de intercambio…»."))
                extra = {"ca_pem": saved["ca_pem"]} if saved.get("ca_pem") else {}
                hub = opener(saved["url"], saved.get("user"), saved.get("password"), **extra)
            else:
                hub = opener(folder)
            described[0] = hub.describe()
            try:
                return engine.sync(hub, progress=relay.progressed.emit, cancel=token)
            finally:
                hub.close()

        def ended(outcome: SyncOutcome) -> None:
            self.token = None
            self.task = None
            if uses_saved_hub:
                self.scheduler.finished(ok=not outcome.hub_failed)
            if not self.session.is_unlocked:
                self.busy_changed.emit(False)
                return          # locked meanwhile: nothing of it is shown
            self.last_outcome = outcome
            if (outcome.error is not None and not outcome.cancelled) or \
                    (outcome.report is not None and outcome.report.refused):
                self.failure = outcome
            elif outcome.report is not None:
                self.failure = None
            if outcome.applied_changes:
                # Which residents changed is not reported: every view reloads.
                self.session.notify()
            self.busy_changed.emit(False)
            self.finished.emit(outcome)
            self.refresh_status()

        def succeeded(report: SyncReport) -> None:
            ended(SyncOutcome(report.hub, background, report=report))

        def failed(exc: BaseException) -> None:
            ended(SyncOutcome(described[0], background, error=error_text(exc),
                              cancelled=isinstance(exc, Cancelled),
                              hub_failed=isinstance(exc, HubError)))

        self.busy_changed.emit(True)
        self.started.emit(background)
        self.task = run_task(None, work, on_success=succeeded, on_failure=failed,
                             show_progress=False, pool=self.pool)
        return True

    def _progressed(self, p) -> None:
        if self.token is None:
            return
        self.last_progress = p
        self.progressed.emit(p)


class SyncStatusLine(QLabel):
    """The quiet line in the main window's status bar."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("syncStatusLine")
        self.controller = controller
        controller.status_changed.connect(lambda _s: self.update_text())
        controller.busy_changed.connect(lambda _b: self.update_text())
        controller.finished.connect(lambda _o: self.update_text())
        language_bus().changed.connect(self.update_text)
        self.update_text()

    def update_text(self, _lang: str = "") -> None:
        c = self.controller
        if not c.session.is_unlocked:
            self.setText("")
            self.setToolTip("")
            return
        last = c.last_outcome.report if c.last_outcome is not None else None
        warn = alerts(last)
        self.setText(status_text(c.status, running=c.busy, failure=c.failure,
                                 warnings=len(warn)))
        if warn and c.failure is None and not c.busy:
            self.setToolTip("\n".join(str(n) for n in warn))
        elif c.failure is not None and not c.busy:
            report = c.failure.report
            self.setToolTip(c.failure.error or "\n".join(str(r) for r in report.refused))
        elif c.status is not None and c.status.last_hub:
            self.setToolTip(_("Último punto de intercambio: {hub}").format(hub=c.status.last_hub))
        else:
            self.setToolTip("")
