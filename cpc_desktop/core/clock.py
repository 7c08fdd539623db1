"""Hybrid logical clock: per-field change stamps that order edits across laptops.

A stamp is "<13-digit ms>-<4-digit counter>-<device>"; comparing strings orders stamps
by time, then counter, then device id, which is what last-writer-wins needs. It lives in
core because the vault stamps every write; sync builds on it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .errors import CpcError
from .i18n import _

# Laptops in remote shelters keep wrong dates; a remote stamp further ahead than this is refused.
DEFAULT_MAX_DRIFT_MS = 24 * 3600 * 1000
# A remote stamp further ahead than this is applied but not adopted (this clock is not dragged
# into the future) and is reported as a clock problem.
DEFAULT_ADOPT_MS = 10 * 60 * 1000
MAX_COUNTER = 9999  # the stamp's counter is written with 4 digits


@dataclass(frozen=True, order=True)
class Stamp:
    ms: int
    counter: int
    device: str

    def __str__(self) -> str:
        return f"{self.ms:013d}-{self.counter:04d}-{self.device}"

    @classmethod
    def parse(cls, text: str) -> "Stamp":
        ms, counter, device = text.split("-", 2)
        return cls(int(ms), int(counter), device)


class ClockDrift(CpcError):
    pass


class HybridClock:
    def __init__(self, device: str, last: str | None = None, *, wall=None,
                 max_drift_ms: int = DEFAULT_MAX_DRIFT_MS):
        self.device = device
        self._wall = wall or (lambda: time.time_ns() // 1_000_000)
        self._max_drift = max_drift_ms
        self._lock = threading.Lock()
        last_stamp = Stamp.parse(last) if last else Stamp(0, 0, device)
        self._ms, self._counter = last_stamp.ms, last_stamp.counter

    @property
    def last(self) -> str:
        return str(Stamp(self._ms, self._counter, self.device))

    def now(self) -> str:
        with self._lock:
            wall = self._wall()
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._counter += 1
                if self._counter > MAX_COUNTER:  # keep 4 digits so string order stays right
                    self._ms, self._counter = self._ms + 1, 0
            return str(Stamp(self._ms, self._counter, self.device))

    def wall(self) -> int:
        return self._wall()

    def after(self, previous: str | None) -> str:
        """A new stamp that also orders after `previous` (the field's current stamp): an edit
        made after seeing a value wins over it even when that value's stamp is ahead of this
        clock, without moving this clock there."""
        stamp = self.now()
        if previous and stamp <= previous:
            prev = Stamp.parse(previous)
            ms, counter = (prev.ms, prev.counter + 1) if prev.counter < MAX_COUNTER else (
                prev.ms + 1, 0)
            return str(Stamp(ms, counter, self.device))
        return stamp

    def reset_to_wall(self) -> None:
        """After the wall clock was corrected backwards (it had been far ahead): the next
        stamps follow the wall again. Only sync calls this, after checking the wall."""
        with self._lock:
            self._ms, self._counter = self._wall(), 0

    def observe(self, remote: str, *, adopt_ms: int | None = None) -> int:
        """Moves the clock past a received stamp so later local edits win over it. With
        `adopt_ms`, a stamp more than that ahead of the wall is not adopted. Returns how many
        ms the stamp is ahead of this wall clock."""
        stamp = Stamp.parse(remote)
        with self._lock:
            wall = self._wall()
            if stamp.ms - wall > self._max_drift:
                hours = (stamp.ms - wall) / 3_600_000
                raise ClockDrift(_(
                    "Un cambio recibido tiene una hora {hours:.0f} horas adelantada respecto a "
                    "este equipo. Revise la fecha y hora de los equipos antes de sincronizar."
                ).format(hours=hours))
            if adopt_ms is not None and stamp.ms - wall > adopt_ms:
                return stamp.ms - wall
            if stamp.ms > self._ms or (stamp.ms == self._ms and stamp.counter > self._counter):
                self._ms, self._counter = stamp.ms, stamp.counter
            return stamp.ms - wall
