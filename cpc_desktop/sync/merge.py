"""Merge: applying changes from other devices, last-writer-wins per field by stamp.

A change is (record id, form, resident id, field, value, stamp, base, user); field "*" creates
the record with every value, "_deleted" is a tombstone, `base` lists the stamps the writer had
seen of that field. The larger stamp wins (the stamp ends with the device id, so ties cannot
happen between devices). Applying is idempotent, commutative and associative: the result is a
function of the set of changes received, whatever the order or repetition.

Nothing is lost: a value overwritten by a change whose writer had not seen it (a concurrent
edit), or a change that arrives and loses, is kept in `sync_conflicts`. A kept value stays
"open" until some change's base names it (a person resolved it, or a writer saw it), so the
open set is also a function of the set received. Changes to a record whose creation has not
arrived yet wait in `sync_parked`.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ..core import audit, tables
from ..core.clock import Stamp
from ..core.errors import NotFound
from ..core.i18n import _
from ..core.users import Action
from ..core.records_store import CREATED, DELETED, RecordRow, fold
from ..core.vault import Vault
from .errors import SyncError

@dataclass(frozen=True)
class RemoteChange:
    record_id: str
    form: str
    resident_id: str
    field: str
    value: Any
    hlc: str
    base: tuple[str, ...]
    user: str


@dataclass
class _State:
    id: str
    form: str
    resident_id: str
    shelter: str
    values: dict
    clocks: dict
    created_hlc: str
    deleted: bool
    updated_by: str = ""
    new: bool = False
    dirty: bool = False

    def clock(self, fld: str) -> str:
        return tables.clock(self.clocks, fld, self.created_hlc)

    def value(self, fld: str):
        if fld == DELETED:
            return True if self.deleted else None
        return tables.get(self.values, fld)


@dataclass
class ApplyStats:
    changes: int = 0
    applied: int = 0
    conflicts: int = 0
    parked: int = 0
    residents: set = field(default_factory=set)
    clock_refused: int = 0      # changes stamped too far ahead, not applied
    clock_lead: int = 0         # ms the furthest of them was ahead
    clock_ahead: int = 0        # ms an applied change was ahead, past the adopt limit
    notices: list = field(default_factory=list)


def _stamp_iso(hlc: str) -> str:
    ms = Stamp.parse(hlc).ms
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(
        timespec="milliseconds")


def _dump(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


class Merger:
    """Applies changes inside one transaction of the vault (the caller's)."""

    def __init__(self, vault: Vault, conn, shelter: str):
        self.vault, self.conn, self.shelter = vault, conn, shelter
        self.log: list[tuple] = []
        self.stats = ApplyStats()
        self.now = audit.now_iso()
        # Records with open conflicts: only their changes can close one (saves a query each).
        self._open = {r[0] for r in conn.execute(
            "SELECT DISTINCT record_id FROM sync_conflicts WHERE open=1")}
        self._parked = {r[0] for r in conn.execute("SELECT DISTINCT record_id FROM sync_parked")}
        self._rows: dict[str, tuple | None] = {}   # preloaded by apply(); None: no such record
        # Records, changes and resident caches go through the vault's store, at finish().
        self.batch = vault.store.batch()

    # ------------------------------------------------------------ entry point
    def apply(self, changes: list[RemoteChange]) -> ApplyStats:
        by_record: dict[str, list[RemoteChange]] = {}
        for ch in changes:
            by_record.setdefault(ch.record_id, []).append(ch)
        self.stats.changes += len(changes)
        ids = list(by_record)
        self._rows.update(dict.fromkeys(ids))
        for i in range(0, len(ids), 500):      # one query per 500 records, not one each
            part = ids[i:i + 500]
            for row in self.conn.execute(
                    "SELECT id, form, resident_id, shelter, data, clocks, created_hlc, deleted "
                    f"FROM records WHERE id IN ({','.join('?' * len(part))})", part):
                self._rows[row[0]] = row[1:]
        for rid, chs in by_record.items():
            state = self._load(rid)
            if state is None:
                creates = [c for c in chs if c.field == CREATED]
                if not creates:
                    self._park(chs)
                    continue
                first = min(creates, key=lambda c: c.hlc)
                state = self._create(first)
                chs = [c for c in chs if c is not first] + self._unpark(rid)
                chs.sort(key=lambda c: c.hlc)
            for ch in chs:
                self._merge(state, ch)
            self._save(state)
        self.finish()
        return self.stats

    def finish(self) -> None:
        """Writes the saved records and the change log, then each touched resident's cache."""
        for row in self.log:
            self.batch.log(*row)
        self.log = []
        self.batch.flush(self.conn)

    # ------------------------------------------------------------ records
    def _load(self, rid: str) -> _State | None:
        if rid in self._rows:
            row = self._rows.pop(rid)
        else:
            row = self.conn.execute("SELECT form, resident_id, shelter, data, clocks, "
                                    "created_hlc, deleted FROM records WHERE id=?",
                                    (rid,)).fetchone()
        if row is None:
            return None
        return _State(rid, row[0], row[1], row[2], tables.loads(rid, row[3]),
                      json.loads(row[4]), row[5], bool(row[6]))

    def _create(self, ch: RemoteChange) -> _State:
        values = tables.with_ids(ch.record_id, ch.value if isinstance(ch.value, dict) else {})
        state = _State(ch.record_id, ch.form, ch.resident_id, self.shelter, dict(values), {},
                       ch.hlc, False, ch.user, new=True, dirty=True)
        self.log.append((ch.record_id, ch.form, ch.resident_id, CREATED,
                         _dump(values), ch.hlc, ch.user, "[]"))
        self.stats.applied += 1
        return state

    def _save(self, state: _State) -> None:
        """Queues a changed record (written at finish())."""
        if not state.dirty:
            return
        row = RecordRow(state.id, state.form, state.resident_id, state.values, state.clocks,
                        state.created_hlc, state.deleted, state.updated_by, self.now,
                        shelter=state.shelter,
                        # Not declared in the values: written before forms had versions.
                        form_version=1 if state.new else None)
        if state.new:
            row.created_at = _stamp_iso(state.created_hlc)
            self.batch.insert(row)
        else:
            self.batch.update(row)
        state.new = state.dirty = False
        self.stats.residents.add(state.resident_id)

    # ------------------------------------------------------------ parking
    def _park(self, chs: list[RemoteChange]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO sync_parked VALUES (?,?,?,?,?,?,?,?)",
            [(c.record_id, c.form, c.resident_id, c.field, _dump(c.value), c.hlc, c.user,
              json.dumps(list(c.base))) for c in chs])
        self.stats.parked += len(chs)
        self._parked.update(c.record_id for c in chs)

    def _unpark(self, rid: str) -> list[RemoteChange]:
        if rid not in self._parked:
            return []
        rows = self.conn.execute("SELECT record_id, form, resident_id, field, value, hlc, user, "
                                 "base FROM sync_parked WHERE record_id=?", (rid,)).fetchall()
        if rows:
            self.conn.execute("DELETE FROM sync_parked WHERE record_id=?", (rid,))
        return [RemoteChange(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] is not None
                             else None, r[5], tuple(json.loads(r[7])), r[6]) for r in rows]

    # ------------------------------------------------------------ last-writer-wins
    def _merge(self, state: _State, ch: RemoteChange) -> None:
        if ch.field == CREATED:
            if ch.hlc == state.created_hlc or not isinstance(ch.value, dict):
                return
            # A second creation of one id cannot come from this program; merged field by field.
            for key, value in ch.value.items():
                self.merge_field(state, key, value, ch.hlc, (), ch.user)
            return
        self.merge_field(state, ch.field, ch.value, ch.hlc, ch.base, ch.user)

    def merge_field(self, state: _State, fld: str, value, hlc: str, base: tuple[str, ...],
                    user: str) -> bool:
        """Applies one field write; True if it became the field's value."""
        current = state.clock(fld)
        if hlc == current:
            return False
        if hlc > current:
            if current not in base and not self._seen(state.id, fld, current):
                self._keep(state, fld, state.value(fld), current, self._user_of(state.id,
                                                                                 current),
                           None, open_=True)
            if fld == DELETED:
                state.deleted = bool(value)
            else:       # a field, or one cell of a table row
                tables.put(state.values, fld, value)
            state.clocks[fld] = hlc
            state.updated_by = user
            state.dirty = True
            self.log.append((state.id, state.form, state.resident_id, fld, _dump(value), hlc,
                             user, json.dumps(list(base))))
            self._close(state.id, fld, base)
            self.stats.applied += 1
            return True
        # An older write: already here (a repeat), or a value to keep for review.
        if self._known(state.id, fld, hlc):
            return False
        self._close(state.id, fld, base)
        self._keep(state, fld, value, hlc, user, base, open_=not self._seen(state.id, fld, hlc))
        return False

    def _known(self, rid: str, fld: str, hlc: str) -> bool:
        if self.conn.execute("SELECT 1 FROM changes WHERE record_id=? AND hlc=? LIMIT 1",
                             (rid, hlc)).fetchone():
            return True
        if any(r[0] == rid and r[5] == hlc for r in self.log):
            return True
        return self.conn.execute("SELECT 1 FROM sync_conflicts WHERE record_id=? AND field=? "
                                 "AND hlc=?", (rid, fld, hlc)).fetchone() is not None

    def _seen(self, rid: str, fld: str, hlc: str) -> bool:
        """Did any write received so far name `hlc` as seen (so it was overwritten knowingly)?"""
        pattern = f'%"{hlc}"%'
        if self.conn.execute("SELECT 1 FROM changes WHERE record_id=? AND field=? AND base "
                             "LIKE ? LIMIT 1", (rid, fld, pattern)).fetchone():
            return True
        if any(r[0] == rid and r[3] == fld and f'"{hlc}"' in (r[7] or "") for r in self.log):
            return True
        return self.conn.execute("SELECT 1 FROM sync_conflicts WHERE record_id=? AND field=? "
                                 "AND base LIKE ? LIMIT 1", (rid, fld, pattern)
                                 ).fetchone() is not None

    def _user_of(self, rid: str, hlc: str) -> str:
        row = self.conn.execute("SELECT user FROM changes WHERE record_id=? AND hlc=? LIMIT 1",
                                (rid, hlc)).fetchone()
        if row:
            return row[0]
        return next((r[6] for r in self.log if r[0] == rid and r[5] == hlc), "")

    def _keep(self, state: _State, fld: str, value, hlc: str, user: str,
              base: tuple[str, ...] | None, *, open_: bool) -> None:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO sync_conflicts(record_id, form, resident_id, field, value, "
            "hlc, user, base, open, detected_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (state.id, state.form, state.resident_id, fld, _dump(value), hlc, user,
             None if base is None else json.dumps(list(base)), int(open_), self.now))
        if cur.rowcount and open_:
            self.stats.conflicts += 1
            self._open.add(state.id)

    def _close(self, rid: str, fld: str, base: tuple[str, ...]) -> None:
        if base and rid in self._open:
            marks = ",".join("?" * len(base))
            self.conn.execute(f"UPDATE sync_conflicts SET open=0, closed_at=? WHERE record_id=? "
                              f"AND field=? AND open=1 AND hlc IN ({marks})",
                              (self.now, rid, fld, *base))


# ---------------------------------------------------------------- the review list

@dataclass(frozen=True)
class Conflict:
    id: int
    record_id: str
    form: str
    resident_id: str
    field: str
    kept_value: Any        # the value that lost, kept for review
    kept_stamp: str
    kept_user: str
    current_value: Any
    current_stamp: str
    detected_at: str


def conflicts(vault: Vault, *, include_same: bool = False) -> list[Conflict]:
    """Open conflicts: values overwritten by a concurrent edit on another device, with the
    field's current value, oldest first. Kept values equal to the current one are hidden."""
    vault.require(Action.READ)
    out = []
    with vault.reading():
        rows = vault.conn.execute(
            "SELECT c.id, c.record_id, c.form, c.resident_id, c.field, c.value, c.hlc, c.user, "
            "c.detected_at, r.data, r.clocks, r.created_hlc, r.deleted FROM sync_conflicts c "
            "JOIN records r ON r.id = c.record_id WHERE c.open=1 AND NOT EXISTS (SELECT 1 "
            "FROM residents s WHERE s.id = c.record_id AND s.joined_into IS NOT NULL) "
            "ORDER BY c.id").fetchall()
    for (cid, rid, form, resident, fld, value, hlc, user, at, data, clocks, created,
         deleted) in rows:
        kept = json.loads(value) if value is not None else None
        if fld == DELETED:
            current = True if deleted else None
        else:
            current = tables.get(tables.loads(rid, data), fld)
        if kept == current and not include_same:
            continue
        out.append(Conflict(cid, rid, form, resident, fld, kept, hlc, user, current,
                            tables.clock(json.loads(clocks), fld, created), at))
    return out


KEEP_CURRENT = object()
TAKE_KEPT = object()


def resolve(vault: Vault, conflict_id: int, choice=KEEP_CURRENT) -> None:
    """A person's decision on a conflict: keep the current value (KEEP_CURRENT), take the kept
    one (TAKE_KEPT) or any other value. It is a change like any edit, so it syncs; every
    device then closes the conflicts it names."""
    vault.require(Action.WRITE)
    with vault.reading():
        row = vault.conn.execute("SELECT record_id, field, value, open FROM sync_conflicts "
                                 "WHERE id=?", (conflict_id,)).fetchone()
        if row is None:
            raise NotFound(_("No existe ese conflicto."))
        rid, fld, kept, is_open = row
        if not is_open:
            raise SyncError(_("Ese conflicto ya fue resuelto."))
        with vault.transaction() as conn:
            merger = Merger(vault, conn, "")
            state = merger._load(rid)
            if state is None:
                raise NotFound(_("No existe ningún registro con ese identificador."))
            if choice is KEEP_CURRENT:
                value = state.value(fld)
            elif choice is TAKE_KEPT:
                value = json.loads(kept) if kept is not None else None
            else:
                value = choice
            heads = [h for (h,) in conn.execute("SELECT hlc FROM sync_conflicts WHERE "
                                                "record_id=? AND field=? AND open=1",
                                                (rid, fld))]
            base = tuple(sorted({state.clock(fld), *heads}))
            merger.merge_field(state, fld, value, vault.clock.now(), base, vault.user.name)
            merger._save(state)
            merger.finish()
            audit.append(conn, vault.user.name, "sync.resolve", rid, {"field": fld})


# ---------------------------------------------------------------- possible duplicates

# The intake fields that identify a child across laptops (document, or names and birth date).
DOCUMENT_FIELD = "document_number"
NAME_FIELDS = ("name_first", "name_last", "date_of_birth")


@dataclass(frozen=True)
class DuplicateGroup:
    reason: str            # "document" | "name_birth" | "code"
    resident_ids: tuple[str, ...]
    internal_codes: tuple[str, ...]


def duplicate_residents(vault: Vault) -> list[DuplicateGroup]:
    """Residents that may be one child registered twice (on two laptops): the same document
    number, or the same names and birth date ignoring accents and case, or the same internal
    code. Only flagged for a person to join (joins.join_residents); residents already joined
    into another are left out."""
    vault.require(Action.READ)
    intake = vault.forms.intake.form
    with vault.reading():
        rows = vault.conn.execute("SELECT r.id, r.data, s.internal_code FROM records r JOIN "
                                  "residents s ON s.id=r.id WHERE r.form=? AND r.deleted=0 "
                                  "AND s.joined_into IS NULL ORDER BY s.internal_code",
                                  (intake,)).fetchall()
    groups: dict[tuple, list[tuple[str, str]]] = {}
    for rid, data, code in rows:
        values = json.loads(data)
        doc = "".join(str(values.get(DOCUMENT_FIELD) or "").split())
        if doc:
            groups.setdefault(("document", fold(doc)), []).append((rid, code))
        parts = [str(values.get(f) or "").strip() for f in NAME_FIELDS]
        if all(parts):
            key = tuple(" ".join(fold(p).split()) for p in parts)
            groups.setdefault(("name_birth",) + key, []).append((rid, code))
        if code:
            groups.setdefault(("code", code), []).append((rid, code))
    out, seen = [], set()
    for key, members in groups.items():
        if len(members) < 2:
            continue
        ids = tuple(sorted(m[0] for m in members))
        if (key[0], ids) in seen:
            continue
        seen.add((key[0], ids))
        out.append(DuplicateGroup(key[0], ids, tuple(sorted(m[1] for m in members))))
    return out
