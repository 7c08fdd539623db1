"""Append-only, hash-chained, signed audit log: who did what to which record, and when.

Each entry's hash covers its content and the previous hash, and the vault's meta table keeps
the head (count and last hash), so an edited, removed, reordered or truncated entry is found
by `verify`. Each entry's hash is also signed with the device's Ed25519 key (the one sync
signs batches with; core creates it, sync reuses it), so rebuilding the chain after removing
an entry needs that key, not only the database. Entries hold ids and field names, never
values. Entries written before signing existed stay valid and are counted as unsigned.

Witnessing: every sync batch carries this log's head (`head_for_batch`); a laptop receiving
it keeps the highest head seen per device (`witness`) and `witness_problems` reports a head
that went back or a log rewritten below what it saw. Someone holding this laptop's database
key also holds its signing key: locally they can rewrite and re-sign everything; only what
other laptops already witnessed gives them away.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import crypto

GENESIS = "0" * 64
SIGN_CONTEXT = b"cpc-audit-v1|"
# The device's signing key in meta; named for sync, which used it first (old vaults have it).
SIGN_KEY_META = "sync_sign_key"
SIGNED_FROM_META = "audit_signed_from"   # seq of the first signed entry
_SENT_META = "audit_sent:"               # + shelter: the head put in the last batch
_WITNESS_META = "audit_witness:"         # + shelter:device: highest head received
_ALARM_META = "audit_alarm:"             # + shelter:device: the first contradiction seen
_HASH = re.compile(r"[0-9a-f]{64}")


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
# A table of its own (not a column): vaults of older versions open unchanged, and an older
# program reading a newer vault sees the audit table it knows.
_SIG_TABLE = "CREATE TABLE IF NOT EXISTS audit_sig (seq INTEGER PRIMARY KEY, sig TEXT NOT NULL)"


# ---------------------------------------------------------------- the device key

def signing_key(conn) -> Ed25519PrivateKey:
    """This device's Ed25519 key, made on first use (inside the caller's transaction)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (SIGN_KEY_META,)).fetchone()
    if row and row[0]:
        return Ed25519PrivateKey.from_private_bytes(crypto.unb64(row[0]))
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                 (SIGN_KEY_META, crypto.b64(raw)))
    return key


def _public_key(conn):
    row = conn.execute("SELECT value FROM meta WHERE key=?", (SIGN_KEY_META,)).fetchone()
    if not row or not row[0]:
        return None
    return Ed25519PrivateKey.from_private_bytes(crypto.unb64(row[0])).public_key()


def public_key_b64(public_key) -> str:
    return crypto.b64(public_key.public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw))


def _signed_message(entry_hash_hex: str) -> bytes:
    return SIGN_CONTEXT + entry_hash_hex.encode()


# ---------------------------------------------------------------- writing

def append(conn, user: str, action: str, record_id: str | None = None,
           detail: dict | None = None) -> Entry:
    """Adds one entry; call inside the transaction of the change it describes."""
    return append_many(conn, user, [(action, record_id, detail)])[-1]


def append_many(conn, user: str, items: list[tuple[str, str | None, dict | None]]
                ) -> list[Entry]:
    """Adds one entry per (action, record id, detail), chained and signed each as append()
    would, in a few statements (a batch of records is audited record by record)."""
    if not items:
        return []
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    first = seq
    conn.execute(_SIG_TABLE)
    key = signing_key(conn)
    out, rows, sigs = [], [], []
    for action, record_id, detail in items:
        detail = detail or {}
        at = now_iso()
        h = entry_hash(seq, at, user, action, record_id, detail, prev)
        rows.append((seq, at, user, action, record_id, json.dumps(detail, ensure_ascii=False),
                     prev, h))
        sigs.append((seq, crypto.b64(key.sign(_signed_message(h)))))
        out.append(Entry(seq, at, user, action, record_id, detail, prev, h))
        seq, prev = seq + 1, h
    conn.executemany("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)", rows)
    conn.executemany("INSERT OR REPLACE INTO audit_sig VALUES (?,?)", sigs)
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                 (SIGNED_FROM_META, str(first)))
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('audit_head', ?)",
                 (f"{out[-1].seq}:{out[-1].hash}",))
    return out


def entries(conn, record_id: str | None = None, limit: int | None = None) -> list[Entry]:
    sql = "SELECT * FROM audit"
    args: list = []
    if record_id:
        sql += " WHERE record_id = ?"
        args.append(record_id)
    sql += " ORDER BY seq"
    if limit:
        newest = sql.replace("ORDER BY seq", "ORDER BY seq DESC")
        sql = f"SELECT * FROM ({newest} LIMIT ?) ORDER BY seq"
        args.append(limit)
    return [Entry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7])
            for r in conn.execute(sql, args)]


# ---------------------------------------------------------------- verifying

@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None   # seq of the first entry that does not chain
    reason: str = ""
    unsigned: int = 0              # entries written before signing existed (not a failure)


def _has_table(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                        (name,)).fetchone() is not None


def verify(conn) -> VerifyResult:
    """The whole chain is recomputed; every entry from the first signed one on must have a
    signature, and the newest one's is checked against the device key (its hash covers every
    entry before it, so one valid signature vouches for the whole chain)."""
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
    row = conn.execute("SELECT value FROM meta WHERE key=?", (SIGNED_FROM_META,)).fetchone()
    if row is None:
        return VerifyResult(True, count, unsigned=count)
    signed_from = int(row[0])
    unsigned = min(max(signed_from - 1, 0), count)
    if signed_from > count:
        return VerifyResult(True, count, unsigned=count) if count == 0 else VerifyResult(
            False, count, count, "unsigned")
    sigs = dict(conn.execute("SELECT seq, sig FROM audit_sig WHERE seq>=?",
                             (signed_from,)).fetchall()) if _has_table(conn, "audit_sig") else {}
    for seq in range(signed_from, count + 1):
        if seq not in sigs:
            return VerifyResult(False, count, seq, "unsigned", unsigned)
    public = _public_key(conn)
    try:
        if public is None:
            raise InvalidSignature
        public.verify(crypto.unb64(sigs[count]), _signed_message(prev))
    except (InvalidSignature, ValueError, TypeError):
        return VerifyResult(False, count, count, "signature", unsigned)
    return VerifyResult(True, count, unsigned=unsigned)


# ---------------------------------------------------------------- witnessing

def _hash_at(conn, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit WHERE seq=?", (seq,)).fetchone()
    return row[0] if row else None


def head_for_batch(conn, shelter: str) -> dict:
    """What a batch carries: this log's head {"n", "h"} and, after the first batch, the hash
    now at the count sent last time ("p"): a receiver compares it with what it saw then.
    Call inside the transaction that stores the batch."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    n, h = (row[0], row[1]) if row else (0, GENESIS)
    out: dict = {"n": n, "h": h}
    sent = conn.execute("SELECT value FROM meta WHERE key=?", (_SENT_META + shelter,)).fetchone()
    if sent:
        with_n = int(json.loads(sent[0])[0])
        out["p"] = [with_n, _hash_at(conn, with_n) if with_n else GENESIS]
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                 (_SENT_META + shelter, json.dumps([n, h])))
    return out


def _parse_head(raw) -> tuple[int, str, tuple[int, str | None] | None] | None:
    try:
        n, h = raw["n"], raw["h"]
        if type(n) is not int or n < 0 or not isinstance(h, str) or not _HASH.fullmatch(h):
            return None
        p = raw.get("p")
        if p is not None:
            pn, ph = p
            if type(pn) is not int or pn < 0 or not (ph is None or (
                    isinstance(ph, str) and _HASH.fullmatch(ph))):
                return None
            p = (pn, ph)
        return n, h, p
    except (KeyError, TypeError, ValueError):
        return None


def witness(conn, shelter: str, device: str, raw) -> None:
    """Keeps the audit head another device's batch carried (inside the batch's transaction);
    a head that contradicts one seen before is kept as an alarm for `check`. A malformed head
    is ignored: the batch itself is signed and already checked."""
    parsed = _parse_head(raw)
    if parsed is None:
        return
    n, h, p = parsed
    key = f"{shelter}:{device}"
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_WITNESS_META + key,)).fetchone()
    seen = json.loads(row[0]) if row else None
    alarm = None
    if seen is not None:
        seen_n, seen_h = int(seen["n"]), seen["h"]
        if n < seen_n:
            alarm = {"kind": "fewer", "seen": seen_n, "now": n}
        elif n == seen_n and h != seen_h:
            alarm = {"kind": "rewritten", "seen": seen_n, "now": n}
        elif p is not None and p[0] == seen_n and p[1] != seen_h:
            alarm = {"kind": "rewritten", "seen": seen_n, "now": n}
    if alarm is not None:
        alarm["at"] = now_iso()
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?,?)",
                     (_ALARM_META + key, json.dumps(alarm)))
    if seen is None or n > int(seen["n"]):
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                     (_WITNESS_META + key, json.dumps({"n": n, "h": h, "at": now_iso()})))


@dataclass(frozen=True)
class WitnessAlarm:
    shelter: str
    device: str
    kind: str      # "fewer": its log went back; "rewritten": entries it had already changed
    seen: int      # entries this laptop had seen in that device's log
    now: int       # entries it claims now
    at: str


def witnessed(conn) -> dict[tuple[str, str], tuple[int, str]]:
    """{(shelter, device): (entries, hash of the newest)}: the heads this laptop witnessed."""
    out = {}
    for key, value in conn.execute("SELECT key, value FROM meta WHERE key LIKE ?",
                                   (_WITNESS_META + "%",)):
        shelter, _sep, device = key[len(_WITNESS_META):].partition(":")
        data = json.loads(value)
        out[(shelter, device)] = (int(data["n"]), data["h"])
    return out


def witness_problems(conn) -> list[WitnessAlarm]:
    out = []
    for key, value in conn.execute("SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key",
                                   (_ALARM_META + "%",)):
        shelter, _sep, device = key[len(_ALARM_META):].partition(":")
        data = json.loads(value)
        out.append(WitnessAlarm(shelter, device, data["kind"], int(data["seen"]),
                                int(data["now"]), data.get("at", "")))
    return out
