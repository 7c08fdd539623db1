"""Incoming values checked against this program's forms, by type and known choices.

The rule: a value this program's form describes must have the field's type (text within its
length, a real date, a number, one of the known choices…); otherwise the whole batch is
refused and nothing of it applied — a hostile or broken writer cannot put a risk level of
"banana" or a 10 MB "name" into a record. A form or field this program does not know (a newer
form on another laptop) is kept as it came, never dropped. Conditions, required fields and
"not in the future" are not checked here: they depend on the writer's day and on values that
arrive in other batches, and the writer's program checked them.
"""
from __future__ import annotations

import datetime as dt
import math
import re

from ..core import tables
from ..core.formversions import FORM_VERSION
from ..core.vault import CREATED

_TIME = re.compile(r"([01]?\d|2[0-3]):[0-5]\d")


_UNKNOWN = object()
_FIELDS: dict[tuple, object] = {}


def _field(registry, form_id: str, fld: str):
    """The form's Field, or _UNKNOWN (a form or field this program does not know)."""
    key = (id(registry), form_id, fld)
    hit = _FIELDS.get(key)
    if hit is None:
        try:
            form = registry.get(form_id)
            hit = form.field(fld) if form.has_field(fld) else _UNKNOWN
        except Exception:  # noqa: BLE001 - a form this program does not know: kept as is
            hit = _UNKNOWN
        if len(_FIELDS) > 10_000:
            _FIELDS.clear()
        _FIELDS[key] = hit
    return hit


def bad_field(registry, form_id: str, fld: str, value) -> str | None:
    """The id of the field whose value is wrong, or None when it is acceptable."""
    if fld == CREATED:
        if not isinstance(value, dict):
            return fld
        if FORM_VERSION in value and not _version_ok(value[FORM_VERSION]):
            return FORM_VERSION
        for key, v in value.items():
            f = _field(registry, form_id, key)
            if f is not _UNKNOWN and not _ok(f, v):
                return key
        return None
    if fld == FORM_VERSION:
        return None if _version_ok(value) else fld
    if fld.startswith("_"):
        return None          # tombstones and joins: the merge reads them as flags
    cell = tables.parse_key(fld)
    if cell is not None:     # one cell of a table row: its column's type
        t = _field(registry, form_id, cell[0])
        col = next((c for c in getattr(t, "columns", ()) if c.id == cell[2]), None)
        return None if col is None or _ok(col, value) else cell[0]
    f = _field(registry, form_id, fld)
    return None if f is _UNKNOWN or _ok(f, value) else fld


def _version_ok(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 10_000


_CHOICES: dict[int, tuple[object, frozenset]] = {}


def _values(f) -> frozenset:
    hit = _CHOICES.get(id(f))
    if hit is None or hit[0] is not f:
        hit = _CHOICES[id(f)] = (f, frozenset(c.value for c in f.choices))
    return hit[1]


def _ok(f, v) -> bool:
    if v is None:
        return True
    t = f.type
    if t in ("text", "longtext"):
        return isinstance(v, str) and len(v) <= (f.max_length or 10000) + 16
    if t == "date":
        # Stored dates are ISO (the validator writes them so); anything else is refused.
        if not isinstance(v, str) or len(v) != 10:
            return False
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            return False
        return True
    if t == "time":
        return isinstance(v, str) and bool(_TIME.fullmatch(v))
    if t == "number":
        return (isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v))
    if t == "choice":
        return isinstance(v, str) and v in _values(f)
    if t == "multichoice":
        known = _values(f)
        return isinstance(v, list) and all(isinstance(x, str) and x in known for x in v)
    if t == "yesno":
        return isinstance(v, bool)
    if t == "place":
        from ..core import ubigeo

        return isinstance(v, str) and ubigeo.is_valid(v)
    if t == "table":
        if not isinstance(v, list):
            return False
        cols = {c.id: c for c in f.columns}
        return all(isinstance(row, dict) and all(
            (tables.valid_id(x) if k == tables.ROW_ID else k not in cols or _ok(cols[k], x))
                                                 for k, x in row.items()) for row in v)
    if t == "signature":
        return v in ("", [])
    return True


def first_bad(registry, changes) -> tuple[str, str] | None:
    """(form, field) of the first change whose value is wrong, or None."""
    for ch in changes:
        bad = bad_field(registry, ch.form, ch.field, ch.value)
        if bad is not None:
            return ch.form, bad
    return None
