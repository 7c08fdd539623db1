"""When to try the hub by itself: a Qt-free clock the window drives from a QTimer.

    scheduler = SyncScheduler(has_hub=lambda: engine.status().hub_configured)
    # every ~15 s from a QTimer:
    if scheduler.should_run():
        scheduler.started()
        ... run engine.sync(...) on a worker; then scheduler.finished(ok=...)
    # "Sync now" button: scheduler.request()

It tries every few minutes while the hub answers, backs off (up to half an hour) while it does
not, never runs two syncs at once, and a request ("Sync now", or after a local save when
`soon_after_change` is set) runs at the next tick.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class SyncScheduler:
    has_hub: Callable[[], bool] = lambda: True
    interval: float = 5 * 60          # seconds between tries while the hub answers
    max_backoff: float = 30 * 60      # longest wait after repeated failures
    clock: Callable[[], float] = time.monotonic
    running: bool = False
    failures: int = 0
    last_attempt: float | None = None
    last_success: float | None = None
    _requested: bool = False

    def next_due(self) -> float:
        """Monotonic time of the next automatic try."""
        if self.last_attempt is None:
            return self.clock()
        wait = self.interval if self.failures == 0 else min(
            self.interval * (2 ** (self.failures - 1)), self.max_backoff)
        return self.last_attempt + wait

    def should_run(self) -> bool:
        if self.running or not self.has_hub():
            return False
        return self._requested or self.clock() >= self.next_due()

    def tick(self, run: Callable[[], None]) -> bool:
        """Calls `run` (which must start the sync and later call finished()) when due."""
        if not self.should_run():
            return False
        self.started()
        run()
        return True

    def request(self) -> None:
        """"Sync now": runs at the next tick even while backing off."""
        self._requested = True

    def started(self) -> None:
        self.running = True
        self._requested = False
        self.last_attempt = self.clock()

    def finished(self, ok: bool) -> None:
        self.running = False
        if ok:
            self.failures = 0
            self.last_success = self.clock()
        else:
            self.failures += 1
