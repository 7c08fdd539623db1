"""Calendar periods a report can cover: months, quarters, semesters and years, complete or
"to date" (partial), and which of them may be shared.

A shared export must cover one of these (see docs/reports.md, "Disclosure control"): with
free start and end dates, two exports a day apart differ by the one child admitted that day.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..core.i18n import N_
from .model import Label

MONTH, QUARTER, SEMESTER, YEAR = "month", "quarter", "semester", "year"
LENGTH = {MONTH: 1, QUARTER: 3, SEMESTER: 6, YEAR: 12}

# Presets offered by the window and `cpc report --period`: (id, msgid, kind, offset)
# offset 0 = the current period up to today (partial), -1 = the previous complete one.
PRESETS = (
    ("mes-actual", N_("Este mes hasta hoy"), MONTH, 0),
    ("trimestre-actual", N_("Este trimestre hasta hoy"), QUARTER, 0),
    ("semestre-actual", N_("Este semestre hasta hoy"), SEMESTER, 0),
    ("anio-actual", N_("Este año hasta hoy"), YEAR, 0),
    ("mes-anterior", N_("Mes anterior"), MONTH, -1),
    ("trimestre-anterior", N_("Trimestre anterior"), QUARTER, -1),
    ("semestre-anterior", N_("Semestre anterior"), SEMESTER, -1),
    ("anio-anterior", N_("Año anterior"), YEAR, -1),
)
MONTHS = (N_("enero"), N_("febrero"), N_("marzo"), N_("abril"), N_("mayo"), N_("junio"),
          N_("julio"), N_("agosto"), N_("setiembre"), N_("octubre"), N_("noviembre"),
          N_("diciembre"))


@dataclass(frozen=True)
class Period:
    kind: str             # month | quarter | semester | year
    start: dt.date        # first day of the calendar period
    end: dt.date          # last day covered (the period's last day, or earlier if partial)
    partial: bool         # ends before the calendar period does ("hasta hoy")

    @property
    def full_end(self) -> dt.date:
        return _add_months(self.start, LENGTH[self.kind]) - dt.timedelta(days=1)

    @property
    def index(self) -> int:
        return (self.start.month - 1) // LENGTH[self.kind] + 1

    def label(self) -> Label:
        """"junio 2026", "2.º trimestre 2026", "1.er semestre 2026", "año 2026", with
        "(parcial, hasta el …)" for a partial period."""
        y = self.start.year
        if self.kind == MONTH:
            name = Label.fmt(N_("{month} {year}"), month=Label(MONTHS[self.start.month - 1]),
                             year=y)
        elif self.kind == QUARTER:
            name = Label.fmt(N_("trimestre {n} de {year}"), n=self.index, year=y)
        elif self.kind == SEMESTER:
            name = Label.fmt(N_("semestre {n} de {year}"), n=self.index, year=y)
        else:
            name = Label.fmt(N_("año {year}"), year=y)
        if self.partial:
            return Label.fmt(N_("{period} (parcial, hasta el {day})"), period=name,
                             day=self.end.strftime("%d/%m/%Y"))
        return name


def _add_months(day: dt.date, months: int) -> dt.date:
    n = day.year * 12 + day.month - 1 + months
    return dt.date(n // 12, n % 12 + 1, 1)


def containing(kind: str, day: dt.date) -> Period:
    """The complete calendar period of `kind` that contains `day`."""
    length = LENGTH[kind]
    start = dt.date(day.year, (day.month - 1) // length * length + 1, 1)
    p = Period(kind, start, start, False)
    return Period(kind, start, p.full_end, False)


def up_to(period: Period, today: dt.date) -> Period:
    """The period cut at `today` when it has not ended yet (a report cannot count days to
    come)."""
    if period.full_end <= today:
        return period
    return Period(period.kind, period.start, today, True)


def preset(preset_id: str, today: dt.date) -> Period:
    for pid, _label, kind, offset in PRESETS:
        if pid == preset_id:
            current = containing(kind, today)
            if offset == 0:
                return up_to(current, today)
            return containing(kind, current.start - dt.timedelta(days=1))
    raise KeyError(preset_id)


_NAMED = re.compile(r"^(\d{4})(?:-(?:(\d{1,2})|([TtQq])([1-4])|([Ss])([12])))?$")


def parse(text: str, today: dt.date) -> Period | None:
    """A preset id, or "2026" (year), "2026-06" (month), "2026-T2" (quarter), "2026-S1"
    (semester); cut at today when it has not ended. None if the text is none of these."""
    text = text.strip()
    if any(text == pid for pid, *_r in PRESETS):
        return preset(text, today)
    m = _NAMED.match(text)
    if not m:
        return None
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            return None
        period = containing(MONTH, dt.date(year, month, 1))
    elif m.group(3):
        period = containing(QUARTER, dt.date(year, 3 * int(m.group(4)) - 2, 1))
    elif m.group(5):
        period = containing(SEMESTER, dt.date(year, 6 * int(m.group(6)) - 5, 1))
    else:
        period = containing(YEAR, dt.date(year, 1, 1))
    return up_to(period, today) if period.start <= today else period


def classify(start: dt.date, end: dt.date, today: dt.date) -> Period | None:
    """The calendar period that `start`–`end` is: the smallest month, quarter, semester or
    year starting on `start` that holds `end` (partial if `end` is before its last day);
    None for any other range. (A period whose last day is today counts as complete: an
    export of it made again tomorrow is caught by the release log.)"""
    for kind in (MONTH, QUARTER, SEMESTER, YEAR):
        p = containing(kind, start)
        if p.start == start and start <= end <= p.full_end and end <= today:
            return Period(kind, start, end, end != p.full_end)
    return None
