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

import math
import re

from ..core import forms as formsmod
from ..core.vault import CREATED

_TIME = re.compile(r"([01]?\d|2[0-3]):[0-5]\d")


def bad_field(registry, form_id: str, fld: str, value) -> str | None:
    """The id of the field whose value is wrong, or None when it is acceptable."""
    try:
        form = registry.get(form_id)
    except Exception:  # noqa: BLE001 - a form this program does not know: kept as is
        return None
    if fld == CREATED:
        if not isinstance(value, dict):
            return fld
        for key, v in value.items():
            if form.has_field(key) and not _ok(form.field(key), v):
                return key
        return None
    if fld.startswith("_"):
        return None          # tombstones and joins: the merge reads them as flags
    if not form.has_field(fld):
        return None
    return None if _ok(form.field(fld), value) else fld


def _ok(f, v) -> bool:
    if v is None:
        return True
    t = f.type
    if t in ("text", "longtext"):
        return isinstance(v, str) and len(v) <= (f.max_length or 10000) + 16
    if t == "date":
        return isinstance(v, str) and formsmod.parse_date(v) is not None
    if t == "time":
        return isinstance(v, str) and bool(_TIME.fullmatch(v))
    if t == "number":
        return (isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v))
    if t == "choice":
        return isinstance(v, str) and v in {c.value for c in f.choices}
    if t == "multichoice":
        known = {c.value for c in f.choices}
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
        return all(isinstance(row, dict) and all(k not in cols or _ok(cols[k], x)
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
