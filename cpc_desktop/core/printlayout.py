"""A form's declared paper layout (the form-level `"print"` block; docs/forms-format.md).

Most forms print as a form: sections and fields, one record per copy. A form may declare
instead that it prints as a *register*: one table with a row per entry, a column per field
(or a few fields stacked in one column), and a signature per entry or one at the end. The
printing package reads only this declaration; no form is named in code.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

LAYOUTS = {"form", "register"}
ORIENTATIONS = {"portrait", "landscape"}
SIGNATURES = {"per_entry", "end"}
MIN_ROW_MM = 8.0        # the least a handwritten line needs
_KEYS = {"layout", "orientation", "signature", "columns", "row_mm", "blank_pages"}
_COLUMN_KEYS = {"fields", "width"}


@dataclass(frozen=True)
class RegisterColumn:
    fields: tuple[str, ...]     # field ids, printed one under the other in one cell
    width: float = 1.0          # relative to the other columns


@dataclass(frozen=True)
class PrintLayout:
    layout: str = "form"
    orientation: str = "portrait"
    signature: str = "end"
    columns: tuple[RegisterColumn, ...] = ()
    row_mm: float = 12.0
    blank_pages: int = 1

    @property
    def register(self) -> bool:
        return self.layout == "register"


def parse(raw: Any, fields: dict, per_resident: str, fail: Callable[[str, str], NoReturn]
          ) -> PrintLayout | None:
    """The checked declaration, or None when the form declares none. `fields` maps the
    form's field ids to their Fields (in form order); `fail(where, why)` raises."""
    if raw is None:
        return None
    where = "print"
    if not isinstance(raw, dict):
        fail(where, "'print' is an object")
    unknown = set(raw) - _KEYS
    if unknown:
        fail(where, f"unknown keys {sorted(unknown)}")
    layout = raw.get("layout", "form")
    if layout not in LAYOUTS:
        fail(where, f"'layout' is one of {sorted(LAYOUTS)}")
    orientation = raw.get("orientation", "portrait")
    if orientation not in ORIENTATIONS:
        fail(where, f"'orientation' is one of {sorted(ORIENTATIONS)}")
    if layout == "form":
        if set(raw) - {"layout", "orientation"}:
            fail(where, "only a register declares columns, a signature or rows")
        return PrintLayout(orientation=orientation)
    if per_resident != "many":
        fail(where, "a register holds many entries: the form must be 'per_resident': 'many'")
    signature = raw.get("signature", "end")
    if signature not in SIGNATURES:
        fail(where, f"'signature' is one of {sorted(SIGNATURES)}")
    row_mm = raw.get("row_mm", 12.0)
    if not isinstance(row_mm, (int, float)) or isinstance(row_mm, bool) or row_mm < MIN_ROW_MM:
        fail(where, f"'row_mm' is a number of at least {MIN_ROW_MM:g} (room to write by hand)")
    pages = raw.get("blank_pages", 1)
    if not isinstance(pages, int) or isinstance(pages, bool) or not 1 <= pages <= 10:
        fail(where, "'blank_pages' is a whole number from 1 to 10")
    cols_raw = raw.get("columns")
    if not isinstance(cols_raw, list) or not cols_raw:
        fail(where, "a register lists its 'columns'")
    columns, seen = [], set()
    for i, col in enumerate(cols_raw):
        here = f"{where} column {i}"
        if not isinstance(col, dict) or set(col) - _COLUMN_KEYS or not col.get("fields"):
            fail(here, "a column is {\"fields\": [field ids], \"width\": number}")
        ids = col["fields"]
        if not isinstance(ids, list) or any(not isinstance(f, str) for f in ids):
            fail(here, "'fields' is a list of field ids")
        for fid in ids:
            fld = fields.get(fid)
            if fld is None or not fld.stores_value:
                fail(here, f"{fid!r} is not a field of the form that holds a value")
            if fld.type == "table":
                fail(here, f"{fid!r} is a table: a register cell holds single values")
            if fid in seen:
                fail(here, f"{fid!r} is in two columns")
            seen.add(fid)
        width = col.get("width", 1.0)
        if not isinstance(width, (int, float)) or isinstance(width, bool) or width <= 0:
            fail(here, "'width' is a positive number")
        columns.append(RegisterColumn(tuple(ids), float(width)))
    # Nothing recorded may be left off paper: every stored field has its column.
    missing = [fid for fid, fld in fields.items() if fld.stores_value and fid not in seen]
    if missing:
        fail(where, f"fields without a column (they would not print): {missing}")
    return PrintLayout(layout, orientation, signature, tuple(columns), float(row_mm), pages)
