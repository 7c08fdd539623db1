"""Form definitions (resources/forms/*.json) and the one validator every caller uses.

The format is described in docs/forms-format.md. A definition is checked when it is loaded:
a malformed file raises FormDefinitionError naming the file and the place in it, so a bad
deployment fails at start-up, not in front of a child's file.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from ..paths import resource_path
from . import formversions, printlayout, tables
from .errors import FormDefinitionError, UnknownForm, ValidationError
from .i18n import N_, _
from .printlayout import PrintLayout

FIELD_TYPES = {
    "text", "longtext", "date", "time", "number", "choice", "multichoice", "yesno", "place",
    "table", "signature",
}
# Field types whose values reports count (no free text): see Form.facts().
FACT_TYPES = {"date", "time", "number", "choice", "multichoice", "yesno", "place"}
COLUMN_TYPES = {"text", "longtext", "date", "time", "number", "choice", "yesno", "place"}
PLACE_LEVELS = {"department": 2, "province": 4, "district": 6}
WIDTHS = {"full", "half", "third"}
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
VALUE_RE = re.compile(r"^[a-z0-9_]+$")

_FORM_KEYS = {"form", "code", "version", "title", "description", "per_resident", "opens_resident",
              "date_field", "role", "identity", "list_columns", "owner_field", "sections",
              "versions", "print"}
# What a form is for, declared in its JSON so code asks by_role() instead of naming form ids.
ROLES = {"intake", "discharge", "services_log", "care_plan", "followup", "consent",
         "protection_measure"}
# What a declared date means when it makes something due (core/pending.py labels them).
DUE_KINDS = {"plan_review", "objective_deadline", "followup_visit", "post_discharge_followup",
             "protection_measure_review", "appointment", "hearing"}
_DUE_KEYS = {"kind", "done_by", "done_when", "repeat_days"}
_SECTION_KEYS = {"id", "title", "help", "fields"}
_FIELD_KEYS = {"id", "type", "label", "help", "required", "show_when", "search", "print",
               "max_length", "pattern", "pattern_help", "not_future", "not_before_field",
               "min", "max", "integer", "unit", "choices", "level", "columns", "min_rows",
               "max_rows", "due", "tabulate"}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # equals | in | includes | filled
    value: Any

    def holds(self, values: dict) -> bool:
        current = values.get(self.field)
        if self.op == "filled":
            return current not in (None, "", [])
        if self.op == "equals":
            return current == self.value
        if self.op == "in":
            return current in self.value
        return isinstance(current, list) and self.value in current


@dataclass(frozen=True)
class Due:
    """A date that makes something due: see docs/forms-format.md, "due"."""
    kind: str
    done_by: str | None = None         # a role: a later record of that form clears it
    done_when: Condition | None = None  # on the same record (or table row): cleared
    repeat_days: int | None = None     # recurs every n days from the date; never overdue


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: str
    help: str = ""
    required: bool = False
    show_when: Condition | None = None
    search: bool = False
    print: dict = field(default_factory=dict, hash=False, compare=False)
    max_length: int | None = None
    pattern: str | None = None
    pattern_help: str = ""
    not_future: bool = True
    not_before_field: str | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = True
    unit: str = ""
    choices: tuple[Choice, ...] = ()
    level: str = "district"
    columns: tuple[Field, ...] = ()
    min_rows: int = 0
    max_rows: int | None = None
    due: Due | None = None
    tabulate: bool = True   # False: about staff or paperwork, never a report axis

    def choice_label(self, value: str) -> str:
        """The Spanish msgid of a choice value (the value itself if unknown)."""
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return value

    @property
    def stores_value(self) -> bool:
        return self.type != "signature"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    help: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Form:
    form: str
    code: str
    version: int
    title: str
    description: str
    per_resident: str
    opens_resident: bool
    date_field: str
    sections: tuple[Section, ...]
    role: str | None = None
    identity: tuple[str, ...] = ()      # fields telling one child from another (joins, duplicates)
    list_columns: tuple[str, ...] = ()  # shown as a table of records, these columns
    owner_field: str | None = None      # the field naming who is responsible for the record
    steps: tuple[formversions.Step, ...] = ()   # its history: see core/formversions.py
    print_layout: PrintLayout | None = None  # declared paper layout (core/printlayout.py)

    @functools.cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sections for f in s.fields)

    @functools.cached_property
    def _by_id(self) -> dict[str, Field]:
        return {f.id: f for f in self.fields}

    def field(self, field_id: str) -> Field:
        return self._by_id[field_id]

    def has_field(self, field_id: str) -> bool:
        return field_id in self._by_id

    @property
    def columns(self) -> tuple[Field, ...]:
        """The declared list columns, as fields, in declared order."""
        return tuple(self._by_id[c] for c in self.list_columns)

    @functools.cached_property
    def due_fields(self) -> tuple[tuple[Field | None, Field], ...]:
        """(table or None, field) for every date declared "due", in form order."""
        out: list[tuple[Field | None, Field]] = []
        for fld in self.fields:
            if fld.due is not None:
                out.append((None, fld))
            out += [(fld, col) for col in fld.columns if col.due is not None]
        return tuple(out)

    def facts(self, values: dict) -> dict:
        """The values reports count — dates, numbers, choices, yes/no, places, and those
        columns of table rows — without any free text. Kept beside each record so a report
        over 200,000 records never decrypts notes and names it does not read."""
        out: dict[str, Any] = {}
        for fld in self.fields:
            value = values.get(fld.id)
            if value is None or not self.visible(fld, values):
                continue   # a hidden value is kept, but counts for nothing
            if fld.type in FACT_TYPES:
                out[fld.id] = value
            elif fld.type == "table" and isinstance(value, list):
                cols = [c for c in fld.columns if c.type in FACT_TYPES]
                rows = [{c.id: row[c.id] for c in cols if c.id in row and (
                    c.show_when is None or c.show_when.holds(row))}
                    for row in value if isinstance(row, dict)]
                if any(rows):
                    out[fld.id] = rows
        return out

    def is_fact(self, field_id: str) -> bool:
        fld = self._by_id.get(field_id)
        return fld is not None and (fld.type in FACT_TYPES or fld.type == "table")

    @property
    def search_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.search)

    @property
    def moves_values(self) -> bool:
        """Whether an older record's values differ once upgraded (a step renames, splits,
        maps or removes; a step that only adds fields changes nothing stored)."""
        return any(s.renames or s.splits or s.choices or s.removed for s in self.steps)

    def upgrade(self, values: dict, label=None) -> formversions.Upgraded:
        """A record's values brought from the version they were written with to this one."""
        def own_label(fid: str) -> str:
            return _(self.field(fid).label) if self.has_field(fid) else fid

        return formversions.upgrade(self.steps, values, formversions.version_of(values),
                                    label or own_label, self.version)

    def kept(self, values: dict) -> dict:
        """Stored values this version has no field for (another version's): shown apart,
        never dropped."""
        return {k: v for k, v in values.items()
                if not k.startswith("_") and not self.has_field(k)}

    def visible(self, fld: Field, values: dict) -> bool:
        return fld.show_when is None or fld.show_when.holds(values)

    def validate(self, values: dict, *, today: dt.date | None = None) -> dict:
        """Checks and normalizes values; returns what should be stored.

        Raises ValidationError listing every problem, each naming its field. Empty values
        are dropped; values of hidden conditional fields are checked and kept (not required),
        so a choice changed back shows them again. Never puts a value in a message.
        """
        return _Validator(self, today or dt.date.today()).run(values)


class FormRegistry:
    def __init__(self, forms: dict[str, Form], choice_lists: dict[str, tuple[Choice, ...]],
                 history: dict[tuple[str, int], Form] | None = None):
        self.forms = forms
        self.choice_lists = choice_lists
        self.history = history or {}   # (form id, version): the definition of that version

    def at_version(self, form_id: str, version: int) -> Form:
        """The definition a record of that version was written with: the kept one
        (resources/forms/history/), or the current one when none is kept."""
        return self.history.get((form_id, version)) or self.get(form_id)

    def label_any(self, form_id: str, field_id: str) -> str:
        """A field's label, also of a field only an earlier version had (translated)."""
        form = self.forms.get(form_id)
        if form is not None and form.has_field(field_id):
            return _(form.field(field_id).label)
        for (fid, _v), old in sorted(self.history.items(), reverse=True):
            if fid == form_id and old.has_field(field_id):
                return _(old.field(field_id).label)
        return field_id

    def get(self, form_id: str) -> Form:
        try:
            return self.forms[form_id]
        except KeyError:
            raise UnknownForm(
                _("Formulario desconocido: «{form}». Formularios disponibles: {known}.").format(
                    form=form_id, known=", ".join(sorted(self.forms)))) from None

    @property
    def intake(self) -> Form:
        return next(f for f in self.forms.values() if f.opens_resident)

    def by_role(self, role: str) -> Form | None:
        """The form declaring this role (see ROLES), or None if this deployment has none."""
        if role not in ROLES:
            raise KeyError(role)
        return next((f for f in self.forms.values() if f.role == role), None)

    def __iter__(self):
        return iter(self.forms.values())


# ---------------------------------------------------------------- loading and schema check

class _Where:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str) -> NoReturn:
        raise FormDefinitionError(f"{self.path.name}: {where}: {message}")


def _require(obj: dict, key: str, kind, w: _Where, where: str):
    if key not in obj:
        w.fail(where, f"missing '{key}'")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        w.fail(where, f"'{key}' must be {getattr(kind, '__name__', kind)}")
    return value


def _check_keys(obj: dict, allowed: set[str], w: _Where, where: str):
    unknown = set(obj) - allowed
    if unknown:
        w.fail(where, f"unknown keys {sorted(unknown)}")


def _parse_choices(raw, lists: dict[str, tuple[Choice, ...]], w: _Where, where: str):
    if isinstance(raw, str):
        if not raw.startswith("@") or raw[1:] not in lists:
            w.fail(where, f"unknown choice list {raw!r}")
        return lists[raw[1:]]
    if not isinstance(raw, list) or not raw:
        w.fail(where, "'choices' must be a non-empty list or '@list'")
    return _parse_choice_list(raw, w, where)


def _parse_choice_list(raw: list, w: _Where, where: str) -> tuple[Choice, ...]:
    out, seen = [], set()
    for i, c in enumerate(raw):
        here = f"{where} choice {i}"
        if not isinstance(c, dict) or set(c) != {"value", "label"}:
            w.fail(here, "a choice is {\"value\": …, \"label\": …}")
        if not isinstance(c["value"], str) or not VALUE_RE.match(c["value"]):
            w.fail(here, f"bad value {c['value']!r}")
        if c["value"] in seen:
            w.fail(here, f"duplicate value {c['value']!r}")
        if not isinstance(c["label"], str) or not c["label"].strip():
            w.fail(here, "empty label")
        seen.add(c["value"])
        out.append(Choice(c["value"], c["label"]))
    return tuple(out)


def _parse_condition(raw, earlier: dict[str, Field], w: _Where, where: str,
                     filled: bool = False) -> Condition:
    if not isinstance(raw, dict) or "field" not in raw or len(raw) != 2:
        w.fail(where, "show_when is {\"field\": id, \"equals\"|\"in\"|\"includes\": value}")
    op = next(k for k in raw if k != "field")
    if op not in {"equals", "in", "includes", "filled"} or (op == "filled" and not filled):
        w.fail(where, f"unknown condition {op!r} ('filled' is for a due's done_when only)")
    target = earlier.get(raw["field"])
    if target is None:
        w.fail(where, f"show_when refers to {raw['field']!r}, which is not an earlier field")
    value = raw[op]
    if op == "filled":
        if value is not True:
            w.fail(where, "'filled' takes true")
        return Condition(raw["field"], op, True)
    if op == "in" and not isinstance(value, list):
        w.fail(where, "'in' takes a list")
    if op == "includes" and target.type != "multichoice":
        w.fail(where, "'includes' needs a multichoice field")
    if target.type == "yesno" and op == "equals" and not isinstance(value, bool):
        w.fail(where, "a yes/no condition compares with true or false")
    if target.choices:
        known = {c.value for c in target.choices}
        for v in value if op == "in" else [value]:
            if v not in known:
                w.fail(where, f"{v!r} is not a choice of {target.id!r}")
    return Condition(raw["field"], op, tuple(value) if op == "in" else value)


def _parse_due(raw, earlier: dict[str, Field], w: _Where, where: str) -> Due:
    if not isinstance(raw, dict):
        w.fail(where, "'due' is {\"kind\": …, \"done_by\"?, \"done_when\"?, \"repeat_days\"?}")
    _check_keys(raw, _DUE_KEYS, w, f"{where} due")
    kind = raw.get("kind")
    if kind not in DUE_KINDS:
        w.fail(where, f"due 'kind' is one of {sorted(DUE_KINDS)}")
    done_by = raw.get("done_by")
    if done_by is not None and done_by not in ROLES:
        w.fail(where, f"due 'done_by' is a role, one of {sorted(ROLES)}")
    repeat = raw.get("repeat_days")
    if repeat is not None and (not isinstance(repeat, int) or isinstance(repeat, bool)
                               or repeat < 1):
        w.fail(where, "due 'repeat_days' is a whole number of days ≥ 1")
    when = None
    if "done_when" in raw:
        when = _parse_condition(raw["done_when"], earlier, w, f"{where} due", filled=True)
    return Due(kind, done_by, when, repeat)


def _parse_field(raw, lists, earlier: dict[str, Field], w: _Where, where: str,
                 allowed_types=FIELD_TYPES) -> Field:
    if not isinstance(raw, dict):
        w.fail(where, "a field must be an object")
    _check_keys(raw, _FIELD_KEYS, w, where)
    fid = _require(raw, "id", str, w, where)
    where = f"{where} ({fid})"
    if not ID_RE.match(fid):
        w.fail(where, "ids are lowercase a-z, 0-9 and _")
    ftype = _require(raw, "type", str, w, where)
    if ftype not in allowed_types:
        w.fail(where, f"type {ftype!r} not allowed here (allowed: {sorted(allowed_types)})")
    label = _require(raw, "label", str, w, where)
    if not label.strip():
        w.fail(where, "empty label")
    kw: dict[str, Any] = {"id": fid, "type": ftype, "label": label,
                          "help": raw.get("help", ""), "required": raw.get("required", False),
                          "search": raw.get("search", False), "print": raw.get("print", {}),
                          "tabulate": raw.get("tabulate", True)}
    for key in ("required", "search", "tabulate"):
        if not isinstance(kw[key], bool):
            w.fail(where, f"'{key}' must be true or false")
    if not isinstance(kw["help"], str):
        w.fail(where, "'help' must be text")
    hints = kw["print"]
    if not isinstance(hints, dict) or set(hints) - {"lines", "width"} \
            or hints.get("width", "full") not in WIDTHS \
            or not isinstance(hints.get("lines", 1), int) or hints.get("lines", 1) < 1:
        w.fail(where, "'print' is {\"lines\": n ≥ 1, \"width\": full|half|third}")
    if "due" in raw:
        if ftype != "date":
            w.fail(where, "only a date can be 'due'")
        kw["due"] = _parse_due(raw["due"], earlier, w, where)
    if ftype == "signature" and kw["required"]:
        w.fail(where, "a signature box is print-only and cannot be required")
    if "show_when" in raw:
        kw["show_when"] = _parse_condition(raw["show_when"], earlier, w, where)

    def typed(key, kinds, fallback):
        if key not in raw:
            return fallback
        value = raw[key]
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in (
                kinds if isinstance(kinds, tuple) else (kinds,)):
            w.fail(where, f"'{key}' has the wrong type")
        return value

    type_keys = {
        "text": {"max_length", "pattern", "pattern_help"}, "longtext": {"max_length"},
        "date": {"not_future", "not_before_field"}, "number": {"min", "max", "integer", "unit"},
        "choice": {"choices"}, "multichoice": {"choices"}, "place": {"level"},
        "table": {"columns", "min_rows", "max_rows"},
    }.get(ftype, set())
    stray = (set(raw) & (_FIELD_KEYS - {"id", "type", "label", "help", "required", "show_when",
                                        "search", "print", "due", "tabulate"})) - type_keys
    if stray:
        w.fail(where, f"keys {sorted(stray)} do not apply to type {ftype!r}")

    if ftype in ("text", "longtext"):
        kw["max_length"] = typed("max_length", int, 200 if ftype == "text" else 10000)
        if kw["max_length"] < 1:
            w.fail(where, "'max_length' must be positive")
        kw["pattern"] = typed("pattern", str, None)
        kw["pattern_help"] = typed("pattern_help", str, "")
        if kw["pattern"]:
            try:
                re.compile(kw["pattern"])
            except re.error as exc:
                w.fail(where, f"bad pattern: {exc}")
            if not kw["pattern_help"]:
                w.fail(where, "a pattern needs a 'pattern_help' saying what is expected")
    elif ftype == "date":
        kw["not_future"] = typed("not_future", bool, True)
        kw["not_before_field"] = typed("not_before_field", str, None)
        nb = kw["not_before_field"]
        if nb is not None and (nb not in earlier or earlier[nb].type != "date"):
            w.fail(where, f"not_before_field {nb!r} is not an earlier date field")
    elif ftype == "number":
        kw["min"] = typed("min", (int, float), None)
        kw["max"] = typed("max", (int, float), None)
        kw["integer"] = typed("integer", bool, True)
        kw["unit"] = typed("unit", str, "")
        if kw["min"] is not None and kw["max"] is not None and kw["min"] > kw["max"]:
            w.fail(where, "'min' is above 'max'")
    elif ftype in ("choice", "multichoice"):
        if "choices" not in raw:
            w.fail(where, "missing 'choices'")
        kw["choices"] = _parse_choices(raw["choices"], lists, w, where)
    elif ftype == "place":
        kw["level"] = typed("level", str, "district")
        if kw["level"] not in PLACE_LEVELS:
            w.fail(where, f"'level' is one of {sorted(PLACE_LEVELS)}")
    elif ftype == "table":
        cols_raw = _require(raw, "columns", list, w, where)
        if not cols_raw:
            w.fail(where, "a table needs columns")
        cols: dict[str, Field] = {}
        dues = {}
        for i, c in enumerate(cols_raw):
            if isinstance(c, dict) and "due" in c:  # its done_when may name a later column
                dues[i], c = c["due"], {k: v for k, v in c.items() if k != "due"}
            col = _parse_field(c, lists, cols, w, f"{where} column {i}", COLUMN_TYPES)
            if col.id in cols:
                w.fail(where, f"duplicate column {col.id!r}")
            cols[col.id] = col
        for i, raw_due in dues.items():
            col = list(cols.values())[i]
            here = f"{where} column {i} ({col.id})"
            if col.type != "date":
                w.fail(here, "only a date can be 'due'")
            cols[col.id] = replace(col, due=_parse_due(raw_due, cols, w, here))
        kw["columns"] = tuple(cols.values())
        kw["min_rows"] = typed("min_rows", int, 0)
        kw["max_rows"] = typed("max_rows", int, None)
    return Field(**kw)


def load_form(path: Path, lists: dict[str, tuple[Choice, ...]], *, kept: bool = False) -> Form:
    """`kept`: an earlier version's definition (history/<form>.v<N>.json)."""
    w = _Where(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormDefinitionError(f"{path.name}: not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        w.fail("top", "a form is a JSON object")
    _check_keys(raw, _FORM_KEYS, w, "top")
    form_id = _require(raw, "form", str, w, "top")
    if form_id != path.stem.split(".")[0] or not ID_RE.match(form_id):
        w.fail("top", f"'form' must equal the file name ({path.stem!r})")
    per = raw.get("per_resident", "many")
    if per not in ("one", "many"):
        w.fail("top", "'per_resident' is 'one' or 'many'")
    opens = raw.get("opens_resident", False)
    if not isinstance(opens, bool):
        w.fail("top", "'opens_resident' must be true or false")
    if opens and per != "one":
        w.fail("top", "the form that opens a resident is one per resident")
    sections_raw = _require(raw, "sections", list, w, "top")
    if not sections_raw:
        w.fail("top", "a form needs sections")
    earlier: dict[str, Field] = {}
    sections, section_ids = [], set()
    for si, s in enumerate(sections_raw):
        where = f"section {si}"
        if not isinstance(s, dict):
            w.fail(where, "a section must be an object")
        _check_keys(s, _SECTION_KEYS, w, where)
        sid = _require(s, "id", str, w, where)
        if sid in section_ids or not ID_RE.match(sid):
            w.fail(where, f"bad or duplicate section id {sid!r}")
        section_ids.add(sid)
        fields_raw = _require(s, "fields", list, w, where)
        fields = []
        for fi, f in enumerate(fields_raw):
            fld = _parse_field(f, lists, earlier, w, f"{where} ({sid}) field {fi}")
            if fld.id in earlier:
                w.fail(where, f"duplicate field id {fld.id!r}")
            if fld.id.startswith("_"):
                w.fail(where, "ids starting with '_' are reserved")
            earlier[fld.id] = fld
            fields.append(fld)
        sections.append(Section(sid, _require(s, "title", str, w, where), s.get("help", ""),
                                tuple(fields)))
    date_field = _require(raw, "date_field", str, w, "top")
    if date_field not in earlier or earlier[date_field].type != "date":
        w.fail("top", f"date_field {date_field!r} is not a date field of the form")
    version = _require(raw, "version", int, w, "top")
    if version < 1:
        w.fail("top", "'version' starts at 1")
    role = raw.get("role")
    if role is not None and role not in ROLES:
        w.fail("top", f"'role' is one of {sorted(ROLES)}")
    if opens and role is None:
        role = "intake"   # the form that opens a resident is the intake, declared or not
    if (role == "intake") != opens:
        w.fail("top", "the form that opens a resident, and only it, has the role 'intake'")
    lists_of_ids = {}
    for key in ("identity", "list_columns"):
        ids = raw.get(key, [])
        if not isinstance(ids, list) or any(not isinstance(i, str) or i not in earlier
                                            for i in ids) or len(set(ids)) != len(ids):
            w.fail("top", f"'{key}' is a list of distinct field ids of the form")
        lists_of_ids[key] = tuple(ids)
    owner = raw.get("owner_field")
    if owner is not None and (owner not in earlier or earlier[owner].type != "text"):
        w.fail("top", f"owner_field {owner!r} is not a text field of the form")
    steps = () if kept else formversions.parse_steps(raw.get("versions", []), version,
                                                     set(earlier), w.fail)
    return Form(form=form_id, code=_require(raw, "code", str, w, "top"), version=version,
                title=_require(raw, "title", str, w, "top"),
                description=raw.get("description", ""), per_resident=per, opens_resident=opens,
                date_field=date_field, sections=tuple(sections), role=role,
                owner_field=owner, steps=steps,
                print_layout=printlayout.parse(raw.get("print"), earlier, per, w.fail),
                **lists_of_ids)


def load_choice_lists(path: Path) -> dict[str, tuple[Choice, ...]]:
    w = _Where(path)
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormDefinitionError(f"{path.name}: not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        w.fail("top", "choice lists are an object of named lists")
    return {name: _parse_choice_list(items, w, name) if isinstance(items, list) and items
            else w.fail(name, "a choice list must be a non-empty list")
            for name, items in raw.items()}


def load_registry(forms_dir: Path, choices_file: Path) -> FormRegistry:
    lists = load_choice_lists(choices_file)
    forms = {}
    for path in sorted(forms_dir.glob("*.json")):
        form = load_form(path, lists)
        forms[form.form] = form
    intakes = [f.form for f in forms.values() if f.opens_resident]
    if len(intakes) != 1:
        raise FormDefinitionError(
            f"{forms_dir}: exactly one form must have opens_resident (found {intakes})")
    for role in sorted(ROLES):
        holders = [f.form for f in forms.values() if f.role == role]
        if len(holders) > 1:
            raise FormDefinitionError(f"{forms_dir}: role {role!r} declared by {holders}")
    history = {}
    for path in sorted((forms_dir / "history").glob("*.json")):
        old = load_form(path, lists, kept=True)
        if old.form not in forms or old.version >= forms[old.form].version:
            raise FormDefinitionError(f"{path.name}: not an earlier version of a known form")
        history[(old.form, old.version)] = old
    return FormRegistry(forms, lists, history)


@functools.lru_cache(maxsize=1)
def registry() -> FormRegistry:
    """The shipped forms, loaded and checked once per process."""
    return load_registry(resource_path("forms"), resource_path("catalogs", "choices.json"))


# ---------------------------------------------------------------- validation

@dataclass(frozen=True)
class FieldError:
    field: str      # field id, or "table[row].column"
    label: str      # translated label, with table and row for a cell
    message: str    # translated

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {} or (
        isinstance(value, str) and not value.strip())


# NUL and the other C0 controls but tab and line ends, and lone surrogates: invisible on
# screen and in print, they cut a name short in other programs or cannot be stored at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _bad_chars(text: str) -> bool:
    if _CONTROL.search(text):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value) -> dt.date | None:
    """ISO (aaaa-mm-dd) or dd/mm/aaaa, the way Peruvian forms write it."""
    if isinstance(value, dt.datetime):  # a datetime is a date too, but does not compare as one
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _ISO_DAY.fullmatch(text):    # what stored values are: 10x cheaper than strptime
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# Messages are msgids so they are extracted; _() translates at the moment of failure.
MSG_REQUIRED = N_("es obligatorio.")
MSG_UNKNOWN_FIELD = N_("este campo no existe en el formulario.")
MSG_TEXT = N_("debe ser un texto.")
MSG_TOO_LONG = N_("tiene más de {max} caracteres.")
MSG_BAD_CHAR = N_("contiene un carácter no permitido (un carácter nulo o de control, o un "
                  "código Unicode inválido); bórrelo y escriba el texto de nuevo.")
MSG_PATTERN = N_("no tiene el formato esperado ({expected}).")
MSG_DATE = N_("no es una fecha válida (use dd/mm/aaaa).")
MSG_FUTURE = N_("la fecha no puede estar en el futuro.")
MSG_BEFORE = N_("no puede ser anterior a «{other}».")
MSG_TIME = N_("no es una hora válida (use hh:mm).")
MSG_NUMBER = N_("debe ser un número.")
MSG_INTEGER = N_("debe ser un número entero.")
MSG_MIN = N_("debe ser como mínimo {min}.")
MSG_MAX = N_("debe ser como máximo {max}.")
MSG_CHOICE = N_("elija una de las opciones de la lista.")
MSG_CHOICES = N_("elija opciones de la lista.")
MSG_YESNO = N_("debe ser sí o no.")
MSG_PLACE = N_("no es un código de ubigeo del INEI válido.")
MSG_PLACE_LEVEL = N_("indique hasta el nivel de {level}.")
MSG_TABLE = N_("debe ser una lista de filas.")
MSG_ROW = N_("cada fila debe tener sus columnas.")
MSG_MIN_ROWS = N_("necesita al menos {n} filas.")
MSG_MAX_ROWS = N_("admite como máximo {n} filas.")
MSG_SIGNATURE = N_("es un espacio para firmar en papel; no guarda datos.")
LEVEL_NAMES = {"department": N_("departamento"), "province": N_("provincia"),
               "district": N_("distrito")}


class _Validator:
    def __init__(self, form: Form, today: dt.date):
        self.form = form
        self.today = today
        self.errors: list[FieldError] = []
        self.context = ""   # "Table, fila 2 › " while checking a table's cells

    def error(self, path: str, fld: Field, msgid: str, **kw):
        self.errors.append(FieldError(path, self.context + _(fld.label), _(msgid).format(**kw)))

    def run(self, values: dict) -> dict:
        if not isinstance(values, dict):
            raise ValidationError([FieldError("", _(self.form.title),
                                              _("los datos deben ser un objeto JSON de campos."))])
        for key in values:
            if not self.form.has_field(key):
                self.errors.append(FieldError(key, f"«{key}»", _(MSG_UNKNOWN_FIELD)))
        out = self.fields(self.form.fields, values, "")
        if self.errors:
            raise ValidationError(self.errors)
        return out

    def fields(self, fields, values: dict, prefix: str) -> dict:
        out: dict[str, Any] = {}
        # Conditions look at normalized values so "true"/"sí" quirks cannot flip them.
        for fld in fields:
            path = prefix + fld.id
            raw = values.get(fld.id)
            hidden = fld.show_when is not None and not fld.show_when.holds(out)
            if fld.type == "signature":
                if not is_empty(raw):
                    self.error(path, fld, MSG_SIGNATURE)
                continue
            if is_empty(raw):
                if fld.required and not hidden:
                    self.error(path, fld, MSG_REQUIRED)
                continue
            value = self.one(fld, raw, path, out)
            if value is not None:
                out[fld.id] = value
        return out

    def one(self, fld: Field, raw, path: str, sibling: dict):
        t = fld.type
        if t in ("text", "longtext"):
            if not isinstance(raw, str):
                return self.error(path, fld, MSG_TEXT)
            text = raw.strip() if t == "text" else raw.rstrip()
            if _bad_chars(text):
                return self.error(path, fld, MSG_BAD_CHAR)
            if fld.max_length is not None and len(text) > fld.max_length:
                return self.error(path, fld, MSG_TOO_LONG, max=fld.max_length)
            if fld.pattern and not re.fullmatch(fld.pattern, text):
                return self.error(path, fld, MSG_PATTERN, expected=_(fld.pattern_help))
            return text
        if t == "date":
            d = parse_date(raw)
            if d is None:
                return self.error(path, fld, MSG_DATE)
            if fld.not_future and d > self.today:
                return self.error(path, fld, MSG_FUTURE)
            if fld.not_before_field:
                other = parse_date(sibling.get(fld.not_before_field))
                if other and d < other:
                    return self.error(path, fld, MSG_BEFORE,
                                      other=_(self.form.field(fld.not_before_field).label)
                                      if self.form.has_field(fld.not_before_field)
                                      else fld.not_before_field)
            return d.isoformat()
        if t == "time":
            if isinstance(raw, str) and re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", raw.strip()):
                h, m = raw.strip().split(":")
                return f"{int(h):02d}:{m}"
            return self.error(path, fld, MSG_TIME)
        if t == "number":
            num = raw
            if isinstance(raw, str):
                try:
                    num = float(raw.strip().replace(",", "."))
                except ValueError:
                    return self.error(path, fld, MSG_NUMBER)
            if isinstance(num, bool) or not isinstance(num, (int, float)) or not _finite(num):
                return self.error(path, fld, MSG_NUMBER)
            if fld.integer:
                if num != int(num):
                    return self.error(path, fld, MSG_INTEGER)
                num = int(num)
            if fld.min is not None and num < fld.min:
                return self.error(path, fld, MSG_MIN, min=_fmt_num(fld.min))
            if fld.max is not None and num > fld.max:
                return self.error(path, fld, MSG_MAX, max=_fmt_num(fld.max))
            return num
        if t == "choice":
            if not isinstance(raw, str) or raw not in {c.value for c in fld.choices}:
                return self.error(path, fld, MSG_CHOICE)
            return raw
        if t == "multichoice":
            known = [c.value for c in fld.choices]
            if not isinstance(raw, list) or any(not isinstance(v, str) or v not in known
                                                for v in raw):
                return self.error(path, fld, MSG_CHOICES)
            chosen = set(raw)
            return [v for v in known if v in chosen]  # definition order, no duplicates
        if t == "yesno":
            if not isinstance(raw, bool):
                return self.error(path, fld, MSG_YESNO)
            return raw
        if t == "place":
            from . import ubigeo

            code = raw.strip() if isinstance(raw, str) else None
            if not code or not ubigeo.is_valid(code):
                return self.error(path, fld, MSG_PLACE)
            if len(code) < PLACE_LEVELS[fld.level]:
                return self.error(path, fld, MSG_PLACE_LEVEL, level=_(LEVEL_NAMES[fld.level]))
            return code
        if t == "table":
            if not isinstance(raw, list):
                return self.error(path, fld, MSG_TABLE)
            rows = []
            col_ids = {c.id for c in fld.columns}
            for i, row in enumerate(raw):
                if not isinstance(row, dict):
                    self.error(f"{path}[{i}]", fld, MSG_ROW)
                    continue
                if all(is_empty(v) for k, v in row.items() if k != tables.ROW_ID):
                    continue  # a row left blank on screen or paper is no row, not an error
                self.context = _("{table}, fila {n} › ").format(table=_(fld.label), n=i + 1)
                for key in row:
                    if key not in col_ids and key != tables.ROW_ID:
                        self.errors.append(FieldError(f"{path}[{i}].{key}",
                                                      f"{self.context}«{key}»",
                                                      _(MSG_UNKNOWN_FIELD)))
                clean = self.fields(fld.columns, row, f"{path}[{i}].")
                self.context = ""
                if clean and tables.valid_id(row.get(tables.ROW_ID)):
                    clean[tables.ROW_ID] = row[tables.ROW_ID]   # the row's identity, kept
                if clean:
                    rows.append(clean)
            if len(rows) < fld.min_rows:
                return self.error(path, fld, MSG_MIN_ROWS, n=fld.min_rows)
            if fld.max_rows is not None and len(rows) > fld.max_rows:
                return self.error(path, fld, MSG_MAX_ROWS, n=fld.max_rows)
            return rows or None
        raise AssertionError(t)


def _finite(num: int | float) -> bool:
    try:
        return math.isfinite(num)
    except OverflowError:  # an int too large for a float: no form means that
        return False


def _fmt_num(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)


def age_on(values: dict, on: dt.date) -> int | None:
    """Kept for core/vault.py until it calls profile.age_on (profile owns the age rule)."""
    from .profile import age_on as profile_age_on

    return profile_age_on(values, on)
