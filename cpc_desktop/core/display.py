"""Values as people read them: dates dd/mm/aaaa, choice labels, sí/no, place names.

Used by the CLI, the window and the printed forms so a value looks the same everywhere.
`tr` is the translator of the language being shown (labels may print in two languages;
the stored value never changes).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from . import ubigeo
from .forms import Field, parse_date
from .i18n import N_, _

YES, NO = N_("Sí"), N_("No")
STATUS_LABELS = {"in_care": N_("En acogida"), "discharged": N_("Egresado(a)")}


def format_date(value) -> str:
    d = parse_date(value)
    return d.strftime("%d/%m/%Y") if d else ""


def format_moment(value: dt.datetime | str | None) -> str:
    """dd/mm/aaaa hh:mm in local time, from a datetime or an ISO date-time (the vault keeps UTC);
    "" for none, an unreadable text as it is."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone()
    return value.strftime("%d/%m/%Y %H:%M")


def format_value(fld: Field, value, tr: Callable[[str], str] = _) -> str:
    if value is None or value == "" or value == []:
        return ""
    t = fld.type
    if t == "date":
        return format_date(value)
    if t == "yesno":
        return tr(YES) if value else tr(NO)
    if t == "choice":
        return tr(fld.choice_label(value))
    if t == "multichoice":
        return ", ".join(tr(fld.choice_label(v)) for v in value)
    if t == "place":
        return ubigeo.label(value) or str(value)
    if t == "number":
        text = str(value)
        return f"{text} {tr(fld.unit)}" if fld.unit else text
    if t == "table":
        rows = []
        for row in value:
            cells = [format_value(c, row.get(c.id), tr) for c in fld.columns]
            rows.append(" · ".join(c for c in cells if c))
        return "\n".join(rows)
    return str(value)


def format_status(status: str, tr: Callable[[str], str] = _) -> str:
    return tr(STATUS_LABELS.get(status, status))
