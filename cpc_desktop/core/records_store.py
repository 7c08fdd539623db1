"""The only writer of records (with their facts), the change log and the resident cache.

`Vault` (local edits) and `sync/merge` (changes from other laptops) both write through a
`RecordsStore`, inside a transaction they opened: one INSERT and one UPDATE of a record, one
shape of change-log row, one way to recompute a resident's list row and search row. A test
(tests/test_single_writer.py) fails if any other module writes those tables.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass

from . import forms, formversions, pending, profile

CREATED = "*"         # the change-log field of a record's creation (value: every field)
DELETED = "_deleted"  # the pseudo-field whose change marks a tombstone
# A system field of an intake: the resident it was joined into (one child registered twice).
# It syncs like any field; names starting with "_" are never form fields.
JOINED = "_joined_into"

# Columns of the resident list, taken from the intake form by field id.
RESIDENT_FIELDS = ("internal_code", "name_first", "name_last", "name_nickname", "sex",
                   profile.DATE_OF_BIRTH, profile.AGE, "admission_date", "risk_level")

_RESIDENT_COLUMNS = ("id", *RESIDENT_FIELDS, "status", "discharge_date", "last_service",
                     "deleted", "search_text", "join_target", "join_hlc")
_UPSERT_RESIDENT = (
    f"INSERT INTO residents({', '.join(_RESIDENT_COLUMNS)}) "
    f"VALUES ({','.join('?' * len(_RESIDENT_COLUMNS))}) ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in _RESIDENT_COLUMNS[1:]))
_INSERT_RECORD = ("INSERT INTO records(id, form, form_version, resident_id, shelter, data, "
                  "clocks, record_date, created_at, created_by, updated_at, updated_by, "
                  "deleted, created_hlc, facts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
# form_version NULL: the version the record was written with stays (a synced change).
_UPDATE_RECORD = ("UPDATE records SET data=?, facts=?, clocks=?, record_date=?, "
                  "form_version=coalesce(?, form_version), deleted=?, updated_at=?, "
                  "updated_by=? WHERE id=?")
_INSERT_DUE = (f"INSERT INTO due_dates({', '.join(pending.DUE_COLUMNS)}) "
               f"VALUES ({','.join('?' * len(pending.DUE_COLUMNS))})")
_INSERT_CHANGE = ("INSERT INTO changes(record_id, form, resident_id, field, value, hlc, user, "
                  "base) VALUES (?,?,?,?,?,?,?,?)")

# The join indexes named: with the statistics PRAGMA optimize keeps (joined_into is NULL for
# nearly all), SQLite would scan every resident instead — on every read of a resident.
MEMBERS = "SELECT id FROM residents INDEXED BY residents_joined WHERE joined_into=? ORDER BY id"
JOINED_ROWS = ("SELECT id, joined_into FROM residents INDEXED BY residents_joined "
               "WHERE joined_into IS NOT NULL")


def fold(text: str) -> str:
    """Lowercase without diacritics: how names are compared and searched."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_fold(text: str) -> str:
    """fold() without apostrophes, so "chaska" finds "Ch'aska" (Quechua spelling)."""
    return re.sub(r"['’ʼ`´]", "", fold(text))


def facts_json(registry: forms.FormRegistry, form_id: str, values: dict) -> str:
    """What goes in records.facts beside records.data."""
    form = registry.forms.get(form_id)
    if form is not None and formversions.version_of(values) < form.version:
        values = form.upgrade(values).values   # counted in this version's terms
    facts = form.facts(values) if form is not None else {}
    return json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# meta key of what one form's stored facts were derived from (facts_signature).
FACTS_KEY = "facts_signature:{form}"


def facts_signature(form: forms.Form) -> str:
    """What a form's records.facts depend on: when a program update changes it (a new
    version, a field's type or condition), they are derived again (refresh_facts)."""
    shape = (form.version, form.steps, [(f.id, f.type, f.show_when, [(c.id, c.type)
                                                                     for c in f.columns])
                                        for f in form.fields])
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


def dump_value(value) -> str | None:
    """A value as the change log keeps it."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


@dataclass
class RecordRow:
    """A record as written: `clocks` are the stamps of fields changed after `created_hlc`."""
    id: str
    form: str
    resident_id: str
    values: dict
    clocks: dict
    created_hlc: str
    deleted: bool
    by: str                       # who wrote it last
    at: str                       # when (ISO, UTC)
    shelter: str = ""             # new records only
    created_at: str | None = None  # new records only (default: `at`)
    created_by: str | None = None  # new records only (default: `by`)
    form_version: int | None = None  # None: the known form's (new) or unchanged (update)


def _declared_version(row: RecordRow) -> int | None:
    """The version the values say they were written with (a synced system field), which the
    records.form_version column mirrors."""
    return formversions.version_of(row.values) if formversions.FORM_VERSION in row.values \
        else None


class Batch:
    """The writes of one transaction, queued: they go to SQLite in a few executemany calls at
    `flush(conn)` and each touched resident's cache is recomputed once, so N records cost a
    handful of statements rather than N times several. Made by RecordsStore.batch()."""

    def __init__(self, store: "RecordsStore"):
        self._store = store
        self._inserts: list[tuple] = []
        self._updates: list[tuple] = []
        self._changes: list[tuple] = []
        self._residents: dict[str, None] = {}   # an ordered set

    def insert(self, row: RecordRow) -> str:
        """Queues a new record; returns its data as stored (JSON)."""
        reg = self._store.forms
        data = json.dumps(row.values, ensure_ascii=False, sort_keys=True)
        form = reg.forms.get(row.form)
        version = _declared_version(row) or (row.form_version if row.form_version is not None
                                             else form.version if form is not None else 0)
        self._inserts.append(
            (row.id, row.form, version, row.resident_id, row.shelter, data,
             json.dumps(row.clocks), self._store.record_date(row), row.created_at or row.at,
             row.created_by or row.by, row.at, row.by, int(row.deleted), row.created_hlc,
             facts_json(reg, row.form, row.values)))
        self._residents[row.resident_id] = None
        return data

    def update(self, row: RecordRow) -> None:
        """Queues a record's new values, stamps and tombstone (all of them are written)."""
        data = json.dumps(row.values, ensure_ascii=False, sort_keys=True)
        self._updates.append(
            (data, facts_json(self._store.forms, row.form, row.values), json.dumps(row.clocks),
             self._store.record_date(row), _declared_version(row) or row.form_version,
             int(row.deleted), row.at, row.by,
             row.id))
        self._residents[row.resident_id] = None

    def log(self, record_id: str, form: str, resident_id: str, fld: str, value: str | None,
            hlc: str, user: str, base: str | None = None) -> None:
        """One change-log row; `value` already dumped (dump_value), `base` a JSON list of the
        stamps the writer had seen (None for local writes: derived at export)."""
        self._changes.append((record_id, form, resident_id, fld, value, hlc, user, base))

    def touch(self, resident_id: str) -> None:
        """Recompute this resident's cache at flush."""
        self._residents[resident_id] = None

    def flush(self, conn) -> None:
        """Writes what was queued, then recomputes each touched resident's cache once."""
        inserts, updates, changes, residents = (self._inserts, self._updates, self._changes,
                                                self._residents)
        self._inserts, self._updates, self._changes, self._residents = [], [], [], {}
        if inserts:
            conn.executemany(_INSERT_RECORD, inserts)
        if updates:
            conn.executemany(_UPDATE_RECORD, updates)
        if changes:
            conn.executemany(_INSERT_CHANGE, changes)
        for rid in residents:
            self._store.refresh_resident(conn, rid)


class RecordsStore:
    """Knows the forms (for facts and record dates); holds no state of its own, so a failed
    transaction leaves nothing behind: each writer takes a fresh batch()."""

    def __init__(self, registry: forms.FormRegistry):
        self.forms = registry

    def batch(self) -> Batch:
        return Batch(self)

    def record_date(self, row: RecordRow) -> str | None:
        form = self.forms.forms.get(row.form)
        return row.values.get(form.date_field) if form is not None else None

    def fill_facts(self, conn) -> None:
        """records.facts of every record from its data (the migration that added facts)."""
        for form in self.forms:
            self.refresh_facts(conn, form.form)

    def refresh_facts(self, conn, form_id: str) -> None:
        """records.facts of one form's records from their data, under this program's form
        (upgrading old records), and the signature that says they are current."""
        conn.executemany("UPDATE records SET facts=? WHERE id=?", [
            (facts_json(self.forms, form_id, json.loads(data)), rid)
            for rid, data in conn.execute("SELECT id, data FROM records WHERE form=?",
                                          (form_id,)).fetchall()])
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                     "SET value=excluded.value", (FACTS_KEY.format(form=form_id),
                                                  facts_signature(self.forms.get(form_id))))

    def restamp(self, conn, record_id: str, clocks: dict, created_hlc: str,
                changes: list[tuple]) -> None:
        """New stamps for a record's values (sync's clock guard), logged as changes (rows
        as Batch.log takes them); the values stay."""
        conn.executemany(_INSERT_CHANGE, changes)
        conn.execute("UPDATE records SET clocks=?, created_hlc=? WHERE id=?",
                     (json.dumps(clocks), created_hlc, record_id))

    # ------------------------------------------------------------ the resident cache
    def refresh_resident(self, conn, resident_id: str) -> None:
        """Recomputes the resident list row (a cache of the intake, discharge and services),
        the row of the resident it is joined into (which shows its records) and, when a
        row's own join or presence changed, every resident's join."""
        changed = self._refresh_row(conn, resident_id)
        root = conn.execute("SELECT joined_into FROM residents WHERE id=?",
                            (resident_id,)).fetchone()
        if root and root[0]:
            changed |= self._refresh_row(conn, root[0])
        while changed:
            changed = False
            for rid in sorted(self._refresh_joins(conn)):
                changed |= self._refresh_row(conn, rid)

    def _refresh_row(self, conn, resident_id: str) -> bool:
        """One resident's row from its intake and the records of it and of the residents
        joined into it; True when its own join or its presence changed (joins to redo)."""
        intake = self.forms.intake
        row = conn.execute("SELECT data, deleted, clocks, created_hlc FROM records WHERE id=?",
                           (resident_id,)).fetchone()
        if row is None:
            return False
        before = conn.execute("SELECT rowid, join_target, join_hlc, deleted, joined_into FROM "
                              "residents WHERE id=?", (resident_id,)).fetchone()
        values = json.loads(row[0])
        target = values.get(JOINED)
        join_hlc = json.loads(row[2]).get(JOINED, row[3]) if target else None
        members = [] if before is None or before[4] else [r[0] for r in conn.execute(
            MEMBERS, (resident_id,))]
        # INDEXED BY: without statistics SQLite prefers the covering records_facts index and
        # reads every record of the form (each new record cost time in proportion to all).
        n_discharges, discharge, last_service = 0, None, None
        discharge_form, services_form = (getattr(self.forms.by_role(r), "form", None)
                                         for r in ("discharge", "services_log"))
        for rid in (resident_id, *members):
            n, day = conn.execute(
                "SELECT count(*), max(record_date) FROM records INDEXED BY records_resident "
                "WHERE resident_id=? AND form=? AND deleted=0", (rid, discharge_form)).fetchone()
            n_discharges, discharge = n_discharges + n, max(filter(None, (discharge, day)),
                                                            default=None)
            day = conn.execute(
                "SELECT max(record_date) FROM records INDEXED BY records_resident WHERE "
                "resident_id=? AND form=? AND deleted=0", (rid, services_form)).fetchone()[0]
            last_service = max(filter(None, (last_service, day)), default=None)

        def own_search(vals: dict) -> str:
            return " ".join(search_fold(str(vals.get(f.id, ""))) for f in intake.search_fields)

        # The kept resident is also found by the names and codes of those joined into it (read
        # from their intakes: their rows may not be recomputed yet).
        marks = ",".join("?" * len(members))
        joined = conn.execute(f"SELECT data FROM records WHERE id IN ({marks}) ORDER BY id",
                              members).fetchall() if members else []
        search = " ".join([own_search(values), *(own_search(json.loads(r[0])) for r in joined)])
        summary = [values.get(k) for k in RESIDENT_FIELDS]
        for i in range(4):      # code, names, nickname: never NULL
            summary[i] = summary[i] or ""
        status = pending.DISCHARGED if n_discharges else pending.IN_CARE
        # An upsert keeps the row's rowid, which is also its key in the search index.
        conn.execute(_UPSERT_RESIDENT, (
            resident_id, *summary, status, discharge, last_service, row[1], search, target,
            join_hlc))
        if before is None:
            rowid = conn.execute("SELECT rowid FROM residents WHERE id=?",
                                 (resident_id,)).fetchone()[0]
        else:
            rowid = before[0]
            conn.execute("DELETE FROM resident_search WHERE rowid=?", (rowid,))
        if not row[1]:
            conn.execute("INSERT INTO resident_search(rowid, body) VALUES (?,?)", (rowid, search))
        self._refresh_due(conn, resident_id, None if row[1] or (before and before[4]) else
                          members, values, last_service, status, tuple(summary[:4]))
        own_join = (None, None) if before is None else (before[1], before[2])
        if own_join != (target, join_hlc):
            return True
        if before is not None and before[3] == row[1]:
            return False
        # Appeared or (un)deleted: joins change only if it has one or one points at it (most
        # new residents: neither, and recomputing every join for each would slow sync down).
        return target is not None or conn.execute(
            "SELECT 1 FROM residents INDEXED BY residents_join_target WHERE join_target=? "
            "LIMIT 1", (resident_id,)).fetchone() is not None

    def _refresh_due(self, conn, resident_id: str, members: list[str] | None, intake: dict,
                     last_service: str | None, status: str,
                     names: tuple[str, str, str, str]) -> None:
        """The resident's rows of due_dates (core/pending.py derives them) from its records
        and those of the residents joined into it; none when it is deleted or joined into
        another (`members` None): its records count under the kept one."""
        conn.execute("DELETE FROM due_dates WHERE resident_id=?", (resident_id,))
        if members is None:
            return
        wanted = pending.due_forms(self.forms)
        group = (resident_id, *members)
        found = conn.execute(
            f"SELECT id, form, record_date, shelter, data FROM records INDEXED BY "
            f"records_resident WHERE resident_id IN ({','.join('?' * len(group))}) AND form IN "
            f"({','.join('?' * len(wanted))}) AND deleted=0", (*group, *wanted)).fetchall()
        intake_form = self.forms.intake.form
        # A joined resident's own intake does not count (as in the reports).
        records = [pending.Written(rec_id, form, day, shelter, json.loads(data))
                   for rec_id, form, day, shelter, data in found
                   if form != intake_form or rec_id == resident_id]
        me = next((r for r in records if r.id == resident_id), None) or pending.Written(
            resident_id, intake_form, None, "", intake)
        rows = pending.due_rows(self.forms, resident_id, me, last_service, records, status,
                                names)
        if rows:
            conn.executemany(_INSERT_DUE, rows)

    def rebuild_due(self, conn) -> None:
        """Every resident's due_dates rows (the migration that added the table, and after
        the forms' due declarations changed)."""
        conn.execute("DELETE FROM due_dates")
        for rid, last_service, deleted, joined, status, *names, data in conn.execute(
                "SELECT r.id, r.last_service, r.deleted, r.joined_into, r.status, "
                "r.internal_code, r.name_first, r.name_last, r.name_nickname, c.data "
                "FROM residents r JOIN records c ON c.id = r.id").fetchall():
            members = None if deleted or joined else [m[0] for m in conn.execute(MEMBERS,
                                                                                 (rid,))]
            self._refresh_due(conn, rid, members, json.loads(data), last_service, status,
                              tuple(names))
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                     "SET value=excluded.value", (pending.SIGNATURE_KEY,
                                                  pending.signature(self.forms)))

    def _refresh_joins(self, conn) -> set[str]:
        """Recomputes every resident's `joined_into` from every join (a function of the
        synced records, so all laptops agree); returns the residents whose row must be
        recomputed (those whose join changed and the residents they left or went into)."""
        edges = {rid: (target, hlc) for rid, target, hlc in conn.execute(
            "SELECT id, join_target, join_hlc FROM residents INDEXED BY residents_join_target "
            "WHERE join_target IS NOT NULL AND deleted=0")}
        targets = sorted({t for t, _h in edges.values()})
        alive = {r[0] for r in conn.execute(
            f"SELECT id FROM residents WHERE deleted=0 AND id IN ({','.join('?' * len(targets))})",
            targets)} if targets else set()
        wanted = resolve_joins({k: v for k, v in edges.items() if v[0] in alive})
        current = dict(conn.execute(JOINED_ROWS).fetchall())
        touched: set[str] = set()
        for rid in set(current) | set(wanted):
            old, new = current.get(rid), wanted.get(rid)
            if old != new:
                conn.execute("UPDATE residents SET joined_into=? WHERE id=?", (new, rid))
                touched.update(x for x in (rid, old, new) if x)
        return touched


def resolve_joins(edges: dict[str, tuple[str, str]]) -> dict[str, str]:
    """{resident: (resident it was joined into, stamp of that join)} -> {resident: the
    resident it ends in}. Chains are followed; in a cycle (two laptops joined a pair in
    opposite directions before syncing) the latest join is ignored, so the first decision
    holds. Only the edges matter, never the order they arrived in."""
    edges = {k: v for k, v in edges.items() if v[0] != k}
    broken: set[str] = set()
    done: set[str] = set()
    for start in sorted(edges):
        path: list[str] = []
        pos: dict[str, int] = {}
        node = start
        while node in edges and node not in done and node not in pos:
            pos[node] = len(path)
            path.append(node)
            node = edges[node][0]
        if node in pos:
            cycle = path[pos[node]:]
            broken.add(max(cycle, key=lambda n: edges[n][1]))
        done.update(path)
    out: dict[str, str] = {}

    def root(node: str) -> str:
        seen = []
        while node in edges and node not in broken and node not in out:
            seen.append(node)
            node = edges[node][0]
        end = out.get(node, node)
        for n in seen:
            out[n] = end
        return end

    for node in edges:
        root(node)
    return {k: v for k, v in out.items() if v != k}

