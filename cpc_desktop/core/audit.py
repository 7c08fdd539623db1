"""Append-only, hash-chained audit log: who did what to which record, and when.

Each entry's hash covers its content and the previous hash, and the vault's meta table keeps
the head (count and last hash), so an edited, removed, reordered or truncated entry is found
by `verify`. Entries hold ids and field names, never values.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    user: str
    action: str
    record_id: str | None
    detail: dict
    prev: str
    hash: str


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def entry_hash(seq: int, at: str, user: str, action: str, record_id: str | None, detail: dict,
               prev: str) -> str:
    body = json.dumps([seq, at, user, action, record_id, detail, prev], sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    record_id TEXT,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_record ON audit(record_id);
"""


def append(conn, user: str, action: str, record_id: str | None = None,
           detail: dict | None = None) -> Entry:
    """Adds one entry; call inside the transaction of the change it describes."""
    detail = detail or {}
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    at = now_iso()
    h = entry_hash(seq, at, user, action, record_id, detail, prev)
    conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)",
                 (seq, at, user, action, record_id, json.dumps(detail, ensure_ascii=False),
                  prev, h))
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('audit_head', ?)",
                 (f"{seq}:{h}",))
    return Entry(seq, at, user, action, record_id, detail, prev, h)


def entries(conn, record_id: str | None = None, limit: int | None = None) -> list[Entry]:
    sql = "SELECT * FROM audit"
    args: list = []
    if record_id:
        sql += " WHERE record_id = ?"
        args.append(record_id)
    sql += " ORDER BY seq"
    if limit:
        sql = f"SELECT * FROM ({sql.replace('ORDER BY seq', 'ORDER BY seq DESC')} LIMIT ?) ORDER BY seq"
        args.append(limit)
    return [Entry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7])
            for r in conn.execute(sql, args)]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None   # seq of the first entry that does not chain
    reason: str = ""


def verify(conn) -> VerifyResult:
    prev, expected_seq, count = GENESIS, 1, 0
    for r in conn.execute("SELECT * FROM audit ORDER BY seq"):
        seq, at, user, action, record_id, detail, prev_col, h = r
        if seq != expected_seq:
            return VerifyResult(False, count, expected_seq, "missing")
        if prev_col != prev:
            return VerifyResult(False, count, seq, "reordered")
        try:
            detail_obj = json.loads(detail)
        except ValueError:
            return VerifyResult(False, count, seq, "edited")
        if entry_hash(seq, at, user, action, record_id, detail_obj, prev_col) != h:
            return VerifyResult(False, count, seq, "edited")
        prev, expected_seq, count = h, seq + 1, count + 1
    head = conn.execute("SELECT value FROM meta WHERE key='audit_head'").fetchone()
    # With a head recorded, an empty log means every entry was removed.
    if (count or head) and (not head or head[0] != f"{count}:{prev}"):
        return VerifyResult(False, count, count + 1, "truncated")
    return VerifyResult(True, count)
