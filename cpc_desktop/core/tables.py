"""Table fields merged by row: every row has a stable id, and a change to a table is logged
and synced as changes to its cells, so two laptops adding, editing or removing rows merge
row by row and conflict only on one cell changed on both (docs/sync.md, "Tables").

A cell's change-log field is "<table>/<row id>/<column>"; a row exists while any of its
cells has a value, so removing a row clears its cells. Rows are kept sorted by id: ids of
new rows grow with time (UUIDv7), and rows stored before ids existed get ids derived from
the record id, their position and their content (`derived_id`), the same on every laptop,
that sort before every new one, in their old order.
"""
from __future__ import annotations

import hashlib
import json
import re

from .ids import uuid7

ROW_ID = "_id"          # the key of a row's id inside the row
SEP = "/"
_ID = re.compile(r"[0-9a-z]{1,40}")
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def valid_id(value) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def new_id() -> str:
    return uuid7().replace("-", "")


def derived_id(record_id: str, index: int, row: dict) -> str:
    """The id of a row stored before rows had ids: every laptop derives the same."""
    body = _CANONICAL.encode(row if ROW_ID not in row else
                             {k: v for k, v in row.items() if k != ROW_ID})
    digest = hashlib.sha256(f"{record_id}\n{index}\n{body}".encode()).hexdigest()
    return f"0000{index:04d}{digest[:8]}"


def is_table(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)


def with_ids(record_id: str, values: dict) -> dict:
    """`values` with an id in every row of every table (a copy where any was missing)."""
    out = values
    for key, value in values.items():
        if key.startswith("_") or not is_table(value) or all(valid_id(r.get(ROW_ID))
                                                             for r in value):
            continue
        if out is values:
            out = dict(values)
        out[key] = [r if valid_id(r.get(ROW_ID)) else {**r, ROW_ID: derived_id(record_id, i, r)}
                    for i, r in enumerate(value)]
    return out


def loads(record_id: str, data: str) -> dict:
    """A record's stored JSON as values with row ids; most records have no table, which the
    text shows without looking at every value."""
    values = json.loads(data)
    return with_ids(record_id, values) if "[{" in data else values


def assign_ids(table_ids, values: dict) -> None:
    """New rows (no id, or an id already used above them) get a new id; rows sorted by id."""
    for tid in table_ids:
        rows = values.get(tid)
        if not isinstance(rows, list):
            continue
        seen: set[str] = set()
        for row in rows:
            if not valid_id(row.get(ROW_ID)) or row[ROW_ID] in seen:
                row[ROW_ID] = new_id()
            seen.add(row[ROW_ID])
        rows.sort(key=lambda r: r[ROW_ID])


def cell_key(table: str, row_id: str, column: str) -> str:
    return f"{table}{SEP}{row_id}{SEP}{column}"


def parse_key(key: str) -> tuple[str, str, str] | None:
    """(table, row id, column) of a cell's field name, None for a plain field."""
    parts = key.split(SEP)
    if len(parts) != 3 or not valid_id(parts[1]):
        return None
    return parts[0], parts[1], parts[2]


def clock(clocks: dict, key: str, created: str) -> str:
    """The stamp of a field or cell: a cell never written alone has its table's stamp (a
    whole-table write of an older program) or the record's creation."""
    if key in clocks:
        return clocks[key]
    cell = parse_key(key)
    return clocks.get(cell[0], created) if cell else created


def get(values: dict, key: str):
    cell = parse_key(key)
    if cell is None:
        return values.get(key)
    table, rid, col = cell
    for row in values.get(table) or ():
        if isinstance(row, dict) and row.get(ROW_ID) == rid:
            return row.get(col)
    return None


def put(values: dict, key: str, value) -> None:
    """Sets (None: clears) a field or a cell in place; a row left without cells goes, and so
    does a table left without rows."""
    cell = parse_key(key)
    if cell is None:
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
        return
    table, rid, col = cell
    rows = [dict(r) for r in values.get(table) or () if isinstance(r, dict)]
    row = next((r for r in rows if r.get(ROW_ID) == rid), None)
    if row is None:
        if value is None:
            return
        row = {ROW_ID: rid}
        rows.append(row)
        rows.sort(key=lambda r: str(r.get(ROW_ID, "")))
    if value is None:
        row.pop(col, None)
    else:
        row[col] = value
    rows = [r for r in rows if set(r) - {ROW_ID}]
    if rows:
        values[table] = rows
    else:
        values.pop(table, None)


def diff(table: str, old, new) -> dict[str, object]:
    """The cells that differ between two versions of one table's rows: {cell key: new value}."""
    before = {r[ROW_ID]: r for r in old or () if isinstance(r, dict) and ROW_ID in r}
    after = {r[ROW_ID]: r for r in new or () if isinstance(r, dict) and ROW_ID in r}
    out: dict[str, object] = {}
    for rid in sorted(set(before) | set(after)):
        a, b = before.get(rid, {}), after.get(rid, {})
        for col in sorted((set(a) | set(b)) - {ROW_ID}):
            if a.get(col) != b.get(col):
                out[cell_key(table, rid, col)] = b.get(col)
    return out


def carry_hidden(table_field, old_rows, new_rows) -> None:
    """Cells hidden by their row's condition, left out by the editor, keep their stored
    value (in place, in `new_rows`)."""
    before = {r.get(ROW_ID): r for r in old_rows or () if isinstance(r, dict)}
    for row in new_rows or ():
        if not isinstance(row, dict) or row.get(ROW_ID) not in before:
            continue
        old = before[row[ROW_ID]]
        for col in table_field.columns:
            if (col.id in old and col.id not in row and col.show_when is not None
                    and not col.show_when.holds(row)):
                row[col.id] = old[col.id]
