"""Devices and keys: this laptop's identity, each shelter's sync keys by epoch, and the roster.

A device has an Ed25519 key (it signs its batches and roster statements) and an X25519 key
(keys are wrapped to it); a new device's id is derived from its Ed25519 key. Private keys live
in the vault's meta table, inside SQLCipher. A shelter's roster is a verified log of signed
statements that travel in batches:

- genesis: the shelter's first device, self-signed, naming the first key; believed only when
  this vault founded the shelter or got it with its approval;
- approve: a coordinator device enrols a device (its keys, its role: coordinator or member)
  and wraps every key of the shelter to it;
- revoke: a device's batches after a sequence number are refused, and only the statements of
  it that the revoker held (listed by id) still count;
- epoch: a new key, naming the epoch before it, wrapped to each remaining device.

`evaluate` computes the roster from the set of statements, whatever order they arrived in: a
statement counts only if its signer is a coordinator device that the revocations in force keep
it for; revocations are put in force the most senior signer's first (two devices revoking each
other: the one enrolled earlier wins) and never leave no coordinator device. Statements of the
older format (genesis, invite, enroll signed by an invite key) count if this vault held them
when it first ran this version. `refresh` writes the result where the rest of sync reads it.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import audit, crypto
from ..core.i18n import _
from ..core.users import Action
from .errors import DeviceError

_RAW = serialization.Encoding.Raw
_PRIV = serialization.PrivateFormat.Raw
_PUB = serialization.PublicFormat.Raw
_NOENC = serialization.NoEncryption()
STATEMENT_CONTEXT = b"cpc-statement-v1|"
WRAP_INFO = b"cpc-epoch-wrap-v1"
KEY_BYTES = 32
V2 = 2
COORDINATOR, MEMBER = "coordinator", "member"
KINDS = ("genesis", "invite", "enroll", "approve", "revoke", "epoch")


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def now_iso() -> str:
    return audit.now_iso()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"cpc-kid" + key).hexdigest()[:8]


# ---------------------------------------------------------------- identity

@dataclass(frozen=True)
class Identity:
    device: str
    sign_key: Ed25519PrivateKey
    kx_key: X25519PrivateKey

    @property
    def sign_pub(self) -> str:
        return crypto.b64(self.sign_key.public_key().public_bytes(_RAW, _PUB))

    @property
    def kx_pub(self) -> str:
        return crypto.b64(self.kx_key.public_key().public_bytes(_RAW, _PUB))

    def sign(self, data: bytes) -> bytes:
        return self.sign_key.sign(data)


def _meta(conn, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def _set_meta(conn, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))


def load_identity(vault, conn=None) -> Identity | None:
    conn = conn or vault.conn
    sign, kx = _meta(conn, "sync_sign_key"), _meta(conn, "sync_kx_key")
    if not sign or not kx:
        return None
    return Identity(vault.device_id, Ed25519PrivateKey.from_private_bytes(crypto.unb64(sign)),
                    X25519PrivateKey.from_private_bytes(crypto.unb64(kx)))


def _create_identity(vault, conn) -> Identity:
    ident = load_identity(vault, conn)
    if ident:
        return ident
    # One device key: the audit log may have made it already (core owns it).
    sign, kx = audit.signing_key(conn), X25519PrivateKey.generate()
    _set_meta(conn, "sync_kx_key", crypto.b64(kx.private_bytes(_RAW, _PRIV, _NOENC)))
    return Identity(vault.device_id, sign, kx)


def joining(conn, shelter: str) -> bool:
    """Is this vault waiting for a coordinator to approve its join request to `shelter`?"""
    raw = _meta(conn, "sync_join_pending")
    return bool(raw) and shelter in json.loads(raw)


def ensure_identity(vault) -> Identity:
    """This device's keys; on first use also founds the vault's own shelter for sync (its
    genesis statement and first key) unless the vault joined it, or waits for a coordinator to
    approve its join request."""
    with vault.reading():
        ident = load_identity(vault)
        if ident and (shelter_keys(vault.conn, vault.shelter_code)
                      or joining(vault.conn, vault.shelter_code)):
            if any(_meta(vault.conn, f"sync_upgraded_{s}") is None
                   for s in shelters(vault.conn)):
                with vault.transaction() as conn:
                    _upgrade(conn, ident)
            return ident
        with vault.transaction() as conn:
            ident = _create_identity(vault, conn)
            if not shelter_keys(conn, vault.shelter_code) and not joining(conn,
                                                                          vault.shelter_code):
                _found_shelter(conn, ident, vault.shelter_code)
            _upgrade(conn, ident)
        return ident


def _upgrade(conn, ident: Identity) -> None:
    """Once per shelter, on the first run of this version: the roster an older version made
    is frozen as it is (see _legacy_ok) and, from a coordinator device, a new key epoch
    starts — the invitation files of that version held every key made so far."""
    for shelter in shelters(conn):
        flag = f"sync_upgraded_{shelter}"
        if _meta(conn, flag):
            continue
        _set_meta(conn, flag, now_iso())
        if not any(_legacy(s) for s in statements_of(conn, shelter).values()):
            continue
        r = refresh(conn, shelter, ident)
        m = r.members.get(ident.device)
        if m is not None and m.cut is None and m.role == COORDINATOR:
            epoch = _new_epoch(conn, ident, r)
            store_statement(conn, epoch)
            refresh(conn, shelter, ident)
            mark_pending(conn, epoch)


def _found_shelter(conn, ident: Identity, shelter: str) -> None:
    key = os.urandom(KEY_BYTES)
    body = {"kind": "genesis", "v": V2, "shelter": shelter, "device": ident.device,
            "sign_pub": ident.sign_pub, "kx_pub": ident.kx_pub, "kid": key_id(key),
            "at": now_iso()}
    stmt = sign_statement(ident, body)
    add_key(conn, shelter, 1, key)
    store_statement(conn, stmt, trusted=True)
    refresh(conn, shelter, ident)
    mark_pending(conn, stmt)


# ---------------------------------------------------------------- keys

@dataclass(frozen=True)
class ShelterKey:
    shelter: str
    epoch: int
    kid: str
    key: bytes


def add_key(conn, shelter: str, epoch: int, key: bytes) -> ShelterKey:
    kid = key_id(key)
    conn.execute("INSERT OR IGNORE INTO sync_keys(shelter, epoch, kid, key, added_at) VALUES "
                 "(?,?,?,?,?)", (shelter, epoch, kid, crypto.b64(key), now_iso()))
    return ShelterKey(shelter, epoch, kid, key)


def shelter_keys(conn, shelter: str) -> list[ShelterKey]:
    """Oldest epoch first; the last one is what new batches are encrypted with."""
    return [ShelterKey(shelter, e, k, crypto.unb64(key)) for e, k, key in conn.execute(
        "SELECT epoch, kid, key FROM sync_keys WHERE shelter=? ORDER BY epoch, kid", (shelter,))]


def current_key(conn, shelter: str) -> ShelterKey | None:
    """The key new batches are encrypted with: the roster's current epoch (see evaluate),
    else the newest this vault holds."""
    keys = shelter_keys(conn, shelter)
    saved = _meta(conn, f"sync_current_{shelter}")
    if saved:
        epoch, kid = json.loads(saved)
        for k in keys:
            if (k.epoch, k.kid) == (epoch, kid):
                return k
    return keys[-1] if keys else None


def find_key(conn, shelter: str, epoch: int, kid: str) -> ShelterKey | None:
    row = conn.execute("SELECT key FROM sync_keys WHERE shelter=? AND epoch=? AND kid=?",
                       (shelter, epoch, kid)).fetchone()
    return ShelterKey(shelter, epoch, kid, crypto.unb64(row[0])) if row else None


def shelters(conn) -> list[str]:
    """Shelters whose batches this vault reads and writes (those it holds a key of)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT shelter FROM sync_keys ORDER BY shelter")]


# ---------------------------------------------------------------- statements

def sign_statement(ident: Identity, body: dict, *, key: Ed25519PrivateKey | None = None,
                   by: str | None = None) -> dict:
    sig = (key or ident.sign_key).sign(STATEMENT_CONTEXT + canonical(body))
    return {"body": body, "by": by or ident.device, "sig": crypto.b64(sig)}


def statement_id(stmt: dict) -> str:
    return hashlib.sha256(canonical(stmt)).hexdigest()[:32]


def device_row(conn, shelter: str, device: str) -> dict | None:
    row = conn.execute("SELECT sign_pub, kx_pub, label, added_at, revoked_after FROM "
                       "sync_devices WHERE shelter=? AND device=?", (shelter, device)).fetchone()
    if not row:
        return None
    return {"sign_pub": row[0], "kx_pub": row[1], "role": row[2], "added_at": row[3],
            "revoked_after": row[4]}


def revoked_in(conn, shelter: str, device: str) -> bool:
    row = device_row(conn, shelter, device)
    return row is not None and row["revoked_after"] is not None


def store_statement(conn, stmt: dict, *, trusted: bool = False) -> bool:
    """Keeps a well-formed statement (whether it counts is decided by `evaluate`, over all of
    them); a genesis only when this vault made it or was handed it with its approval. True if
    it was new."""
    try:
        body = stmt["body"]
        kind, shelter = body["kind"], body["shelter"]
        if not (isinstance(kind, str) and isinstance(shelter, str)
                and isinstance(stmt["by"], str) and isinstance(stmt["sig"], str)):
            return False
    except (KeyError, TypeError):
        return False
    if kind not in KINDS or (kind == "genesis" and not trusted):
        return False
    if _meta(conn, f"sync_legacy_{shelter}") is None:
        _legacy_ok(conn, shelter, statements_of(conn, shelter))   # freeze before adding
    cur = conn.execute("INSERT OR IGNORE INTO sync_statements(id, shelter, kind, body, pending) "
                       "VALUES (?,?,?,?,0)", (statement_id(stmt), shelter, kind,
                                              json.dumps(stmt)))
    return cur.rowcount == 1


def apply_statements(conn, stmts: list[dict], ident: Identity | None, *,
                     trusted: bool = False) -> int:
    """Keeps the statements a batch (or an approval) carried and re-evaluates the roster of
    each shelter they touch. Returns how many were new."""
    touched, new = set(), 0
    for stmt in stmts if isinstance(stmts, list) else []:
        if store_statement(conn, stmt, trusted=trusted):
            new += 1
            touched.add(stmt["body"]["shelter"])
    for shelter in sorted(touched):
        refresh(conn, shelter, ident)
    return new


# ---------------------------------------------------------------- the roster, evaluated

@dataclass
class Member:
    device: str
    sign_pub: str
    kx_pub: str
    role: str
    rank: tuple              # seniority: (enrolment depth, statement id); genesis first
    since: str
    cut: int | None = None   # its batches after this sequence number are refused
    keep: frozenset | None = None   # its statements that still count (None: all)


@dataclass
class Roster:
    shelter: str
    members: dict[str, Member]
    valid: set[str]                     # ids of the statements that count
    epochs: dict[str, tuple[int, str]]  # kid -> (epoch, statement id or "")
    current: tuple[int, str] | None     # (epoch, kid) new batches are encrypted with
    statements: dict[str, dict]
    in_force: tuple[str, ...] = ()      # the revocations that count

    def active(self, device: str) -> bool:
        m = self.members.get(device)
        return m is not None and m.cut is None

    def coordinators(self) -> list[str]:
        return sorted(d for d, m in self.members.items() if m.role == COORDINATOR
                      and m.cut is None)

    def statements_by(self, device: str) -> list[str]:
        return sorted(sid for sid in self.valid if self.statements[sid].get("by") == device)


@functools.lru_cache(maxsize=8192)
def _verify_raw(pub_b64: str, sig_b64: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(crypto.unb64(pub_b64)).verify(
            crypto.unb64(sig_b64), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def _verify(pub_b64: str, stmt: dict) -> bool:
    try:
        return _verify_raw(pub_b64, stmt["sig"], STATEMENT_CONTEXT + canonical(stmt["body"]))
    except (KeyError, TypeError, ValueError):
        return False


def _legacy(stmt: dict) -> bool:
    return stmt["body"].get("v") != V2


def _id_fits(device, sign_pub) -> bool:
    """New devices' ids are derived from their key; an id made before that (UUIDv7, from a
    vault of an older version) is taken as it is, but never with a second key (see _admit)."""
    if not isinstance(device, str) or not isinstance(sign_pub, str):
        return False
    try:
        derived = crypto.device_id_for(crypto.unb64(sign_pub))
    except ValueError:
        return False
    return device == derived or (len(device) == 36 and device[14] == "7")


def evaluate(shelter: str, stmts: dict[str, dict], *, legacy_ok: set[str] | None = None,
             base_kids: tuple[str, ...] = ()) -> Roster:
    """The roster that a set of statements makes, whatever order they arrived in.

    A statement counts only if its signer is a coordinator device of the roster whose
    revocations (those in force) keep that statement; revocations are put in force one at a
    time, the most senior signer's first, and one that would leave no coordinator device, or
    whose own statement a revocation in force drops, does not count. `legacy_ok`: the
    statements of an older version this vault held when it upgraded (the only ones of that
    format still believed). `base_kids`: first-epoch keys this vault holds from before
    genesis statements named their key."""
    order = sorted(stmts)
    in_force: list[str] = []
    rejected: set[str] = set()
    while True:
        roster = _build(shelter, stmts, order, in_force, legacy_ok, base_kids)
        stale = [r for r in in_force if r not in roster.valid]
        if stale:
            in_force = [r for r in in_force if r not in stale]
            rejected.update(stale)
            continue
        candidates = [sid for sid in order if stmts[sid]["body"]["kind"] == "revoke"
                      and sid in roster.valid and sid not in in_force and sid not in rejected
                      and roster.active(stmts[sid]["body"]["device"])]
        if not candidates:
            roster.in_force = tuple(in_force)
            return roster
        best = min(candidates, key=lambda sid: (roster.members[stmts[sid]["by"]].rank, sid))
        target = stmts[best]["body"]["device"]
        if roster.coordinators() == [target]:
            rejected.add(best)       # the last coordinator device stays
            continue
        in_force.append(best)


def _build(shelter: str, stmts: dict[str, dict], order: list[str], in_force: list[str],
           legacy_ok: set[str] | None, base_kids: tuple[str, ...]) -> Roster:
    cut: dict[str, int] = {}
    keep: dict[str, frozenset] = {}
    for sid in in_force:
        body = stmts[sid]["body"]
        target = body["device"]
        cut[target] = min(cut.get(target, 1 << 62), int(body["after_seq"]))
        kept = frozenset(body["keep"]) if not _legacy(stmts[sid]) else frozenset(
            legacy_ok or ())
        keep[target] = keep[target] & kept if target in keep else kept
    members: dict[str, Member] = {}
    valid: set[str] = set()
    roster = Roster(shelter, members, valid, {}, None, stmts)

    def believed(sid: str) -> bool:
        return not _legacy(stmts[sid]) or legacy_ok is None or sid in legacy_ok

    def counts(sid: str) -> bool:
        stmt = stmts[sid]
        m = members.get(stmt.get("by"))
        if m is None or m.role != COORDINATOR or not believed(sid):
            return False
        if m.device in keep and sid not in keep[m.device]:
            return False
        return _verify(m.sign_pub, stmt)

    def admit(sid: str, body: dict, role: str, rank: tuple) -> bool:
        device = body.get("device")
        if not _id_fits(device, body.get("sign_pub")) or not isinstance(body.get("kx_pub"), str):
            return False
        old = members.get(device)
        if old is not None:
            # An id once enrolled keeps its key: a second enrolment under it never counts.
            return old.sign_pub == body["sign_pub"] and old.kx_pub == body["kx_pub"]
        members[device] = Member(device, body["sign_pub"], body["kx_pub"], role, rank,
                                 str(body.get("at", "")), cut.get(device), keep.get(device))
        return True

    geneses = [sid for sid in order if stmts[sid]["body"]["kind"] == "genesis"
               and believed(sid) and _verify(stmts[sid]["body"].get("sign_pub", ""),
                                             stmts[sid])]
    if not geneses:
        return roster
    genesis = geneses[0]
    if not admit(genesis, stmts[genesis]["body"], COORDINATOR, (0, genesis)):
        return roster
    valid.add(genesis)
    invites = {stmts[sid]["body"].get("invite"): sid for sid in order
               if stmts[sid]["body"]["kind"] == "invite"}
    grew = True
    while grew:
        grew = False
        for sid in order:
            if sid in valid:
                continue
            stmt = stmts[sid]
            body, kind = stmt["body"], stmt["body"]["kind"]
            if kind == "invite" and _legacy(stmt):
                ok = counts(sid)
            elif kind == "enroll" and _legacy(stmt):
                inv = invites.get(body.get("invite"))
                ok = (inv in valid and believed(sid)
                      and _verify(stmts[inv]["body"].get("invite_pub", ""), stmt)
                      and admit(sid, body, COORDINATOR,
                                (members[stmts[inv]["by"]].rank[0] + 1, sid)))
            elif kind == "approve" and not _legacy(stmt):
                ok = (counts(sid) and body.get("role") in (COORDINATOR, MEMBER)
                      and admit(sid, body, body["role"],
                                (members[stmt["by"]].rank[0] + 1, sid)))
            else:
                continue
            if ok:
                valid.add(sid)
                grew = True
    for sid in order:
        stmt = stmts[sid]
        body = stmt["body"]
        if body["kind"] == "revoke" and body.get("device") in members \
                and body.get("device") != stmt.get("by") and counts(sid):
            try:
                int(body["after_seq"])
                if not _legacy(stmt):
                    frozenset(body["keep"])
            except (KeyError, TypeError, ValueError):
                continue
            valid.add(sid)
    # Key epochs: epoch N+1 names epoch N (older versions' epochs named nothing).
    gbody = stmts[genesis]["body"]
    epochs = roster.epochs
    if isinstance(gbody.get("kid"), str):
        epochs[gbody["kid"]] = (1, genesis)
    else:
        for kid in base_kids:
            epochs[kid] = (1, "")
    holders: dict[str, set[str]] = {kid: {gbody["device"]} for kid in epochs}
    for sid in sorted((s for s in order if stmts[s]["body"]["kind"] == "epoch"),
                      key=lambda s: (_int(stmts[s]["body"].get("epoch")), s)):
        body = stmts[sid]["body"]
        kid, n = body.get("kid"), _int(body.get("epoch"))
        if not isinstance(kid, str) or not isinstance(body.get("wraps"), dict) or not counts(sid):
            continue
        prev = body.get("prev")
        if _legacy(stmts[sid]) or (prev in epochs and epochs[prev][0] == n - 1):
            epochs.setdefault(kid, (n, sid))
            holders.setdefault(kid, set()).update(body["wraps"])
            valid.add(sid)
    for sid in valid:
        body = stmts[sid]["body"]
        if body["kind"] == "approve":
            for k in body.get("keys") or []:
                if isinstance(k, dict) and k.get("kid") in holders:
                    holders[k["kid"]].add(body["device"])
        elif body["kind"] == "enroll":
            for kid, (n, _s) in epochs.items():
                if n == 1:
                    holders[kid].add(body["device"])
    # New batches go under the newest epoch no revoked device holds (the newest of all if
    # every one reached a revoked device: a revocation's own epoch always qualifies).
    revoked = {d for d, m in members.items() if m.cut is not None}
    clean = [(n, kid) for kid, (n, _s) in epochs.items() if not holders.get(kid, set()) & revoked]
    pool = clean or [(n, kid) for kid, (n, _s) in epochs.items()]
    roster.current = max(pool) if pool else None
    return roster


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def statements_of(conn, shelter: str) -> dict[str, dict]:
    return {sid: json.loads(body) for sid, body in conn.execute(
        "SELECT id, body FROM sync_statements WHERE shelter=?", (shelter,))}


def _legacy_ok(conn, shelter: str, stmts: dict[str, dict]) -> set[str]:
    """Statements of the older format this vault held when it first ran this version: they
    keep counting (old rosters keep syncing); any such statement arriving later does not (an
    old, reusable invitation file can no longer enrol anyone)."""
    key = f"sync_legacy_{shelter}"
    saved = _meta(conn, key)
    if saved is None:
        ids = sorted(sid for sid, s in stmts.items() if _legacy(s))
        _set_meta(conn, key, json.dumps(ids))
        return set(ids)
    return set(json.loads(saved))


def roster(conn, shelter: str) -> Roster:
    stmts = statements_of(conn, shelter)
    base = tuple(r[0] for r in conn.execute("SELECT kid FROM sync_keys WHERE shelter=? AND "
                                            "epoch=1", (shelter,)))
    return evaluate(shelter, stmts, legacy_ok=_legacy_ok(conn, shelter, stmts), base_kids=base)


def receive_order(conn, shelter: str, devs: list[str]) -> list[str]:
    """Whose batches to apply first in a sync: coordinator devices by seniority (their
    revocations land before the writes of those they revoke), then the others, then devices
    this vault does not know yet (whose enrolment may come in the batches before theirs)."""
    r = roster(conn, shelter)

    def key(dev: str):
        m = r.members.get(dev)
        if m is None:
            return (2, (), dev)
        return (0 if m.role == COORDINATOR else 1, m.rank, dev)
    return sorted(devs, key=key)


def refresh(conn, shelter: str, ident: Identity | None) -> Roster:
    """Re-evaluates the roster and writes what the rest of sync reads: the devices table (role
    in its label column), the keys wrapped to this device, the current epoch."""
    r = roster(conn, shelter)
    conn.execute("DELETE FROM sync_devices WHERE shelter=?", (shelter,))
    conn.executemany("INSERT INTO sync_devices(shelter, device, sign_pub, kx_pub, label, "
                     "added_at, revoked_after) VALUES (?,?,?,?,?,?,?)",
                     [(shelter, m.device, m.sign_pub, m.kx_pub, m.role, m.since, m.cut)
                      for m in r.members.values()])
    if ident is not None:
        for sid in sorted(r.valid):
            body = r.statements[sid]["body"]
            if body["kind"] == "epoch" and ident.device in body["wraps"]:
                key = _unwrap(ident, body, body["wraps"][ident.device])
                if key is not None:
                    add_key(conn, shelter, int(body["epoch"]), key)
            elif body["kind"] == "approve" and body["device"] == ident.device:
                for k in body.get("keys") or []:
                    try:
                        pseudo = {"shelter": shelter, "epoch": int(k["epoch"]), "kid": k["kid"]}
                        key = _unwrap(ident, pseudo, k["wrap"])
                    except (KeyError, TypeError, ValueError):
                        key = None
                    if key is not None:
                        add_key(conn, shelter, pseudo["epoch"], key)
    if r.current:
        _set_meta(conn, f"sync_current_{shelter}", json.dumps(list(r.current)))
    return r


def mark_pending(conn, stmt: dict) -> None:
    """Queues a statement for this device's next batch of its shelter."""
    conn.execute("UPDATE sync_statements SET pending=1 WHERE id=?", (statement_id(stmt),))


def take_pending(conn, shelter: str) -> list[dict]:
    rows = conn.execute("SELECT id, body FROM sync_statements WHERE shelter=? AND pending=1 "
                        "ORDER BY rowid", (shelter,)).fetchall()
    conn.execute("UPDATE sync_statements SET pending=0 WHERE shelter=? AND pending=1",
                 (shelter,))
    return [json.loads(b) for _i, b in rows]


def has_pending(conn, shelter: str) -> bool:
    return conn.execute("SELECT 1 FROM sync_statements WHERE shelter=? AND pending=1",
                        (shelter,)).fetchone() is not None


def statements(conn, shelter: str) -> list[dict]:
    return [json.loads(b) for (b,) in conn.execute(
        "SELECT body FROM sync_statements WHERE shelter=? ORDER BY rowid", (shelter,))]


# ---------------------------------------------------------------- epoch keys

def _wrap_key(kx_pub_b64: str, epoch_body: dict, key: bytes) -> dict:
    eph = X25519PrivateKey.generate()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(crypto.unb64(kx_pub_b64)))
    salt = crypto.b64(os.urandom(16))
    kek = crypto.hkdf(shared, salt, WRAP_INFO)
    nonce = os.urandom(12)
    aad = canonical([epoch_body["shelter"], epoch_body["epoch"], epoch_body["kid"]])
    return {"eph": crypto.b64(eph.public_key().public_bytes(_RAW, _PUB)), "salt": salt,
            "nonce": crypto.b64(nonce), "ct": crypto.b64(AESGCM(kek).encrypt(nonce, key, aad))}


def _unwrap(ident: Identity, body: dict, wrap: dict) -> bytes | None:
    try:
        shared = ident.kx_key.exchange(X25519PublicKey.from_public_bytes(
            crypto.unb64(wrap["eph"])))
        kek = crypto.hkdf(shared, wrap["salt"], WRAP_INFO)
        aad = canonical([body["shelter"], body["epoch"], body["kid"]])
        key = AESGCM(kek).decrypt(crypto.unb64(wrap["nonce"]), crypto.unb64(wrap["ct"]), aad)
    except (InvalidTag, ValueError, KeyError, TypeError):
        return None
    return key if key_id(key) == body["kid"] else None


# ---------------------------------------------------------------- roster (what people see)

@dataclass(frozen=True)
class Device:
    shelter: str
    device: str
    added_at: str
    revoked_after: int | None
    this_device: bool
    last_seq: int          # last batch of it this vault holds
    role: str = COORDINATOR

    @property
    def revoked(self) -> bool:
        return self.revoked_after is not None


def devices(vault) -> list[Device]:
    vault.require(Action.READ)
    with vault.reading():
        rows = vault.conn.execute(
            "SELECT d.shelter, d.device, d.added_at, d.revoked_after, (SELECT max(seq) FROM "
            "sync_batches b WHERE b.shelter=d.shelter AND b.device=d.device), d.label FROM "
            "sync_devices d ORDER BY d.shelter, d.added_at").fetchall()
    return [Device(s, d, a or "", r, d == vault.device_id, n or 0, role or COORDINATOR)
            for s, d, a, r, n, role in rows]


def require_coordinator_device(conn, ident: Identity, shelter: str) -> Roster:
    r = refresh(conn, shelter, ident)
    m = r.members.get(ident.device)
    if m is None or m.cut is not None or m.role != COORDINATOR:
        raise DeviceError(_("Este equipo no es un equipo de coordinación del centro {shelter} "
                            "(o fue revocado): hágalo desde un equipo de coordinación.").format(
            shelter=shelter))
    return r


def _new_epoch(conn, ident: Identity, r: Roster) -> dict:
    """A new key for the shelter, wrapped to each remaining device, naming the current one."""
    key = os.urandom(KEY_BYTES)
    n, prev = r.current if r.current else (0, "")
    body = {"kind": "epoch", "v": V2, "shelter": r.shelter, "epoch": n + 1, "prev": prev,
            "kid": key_id(key), "at": now_iso(), "wraps": {}}
    for dev, m in sorted(r.members.items()):
        if m.cut is None:
            body["wraps"][dev] = _wrap_key(m.kx_pub, body, key)
    add_key(conn, r.shelter, n + 1, key)
    return sign_statement(ident, body)


def revoke(vault, device: str) -> int:
    """Revokes a lost or stolen device in every shelter this vault holds it in, and starts a
    new key epoch there that only the remaining devices receive. Returns the new epoch."""
    vault.require(Action.MANAGE_USERS)
    ident = ensure_identity(vault)
    if device == vault.device_id:
        raise DeviceError(_("Este equipo no puede revocarse a sí mismo; hágalo desde otro "
                            "equipo del centro."))
    new_epoch = 0
    with vault.transaction() as conn:
        full = conn.execute("SELECT DISTINCT device FROM sync_devices WHERE device=? OR device "
                            "LIKE ?", (device, device + "%")).fetchall()
        if len(full) != 1:
            raise DeviceError(_("No se encuentra ese equipo (o el comienzo del identificador "
                                "corresponde a varios)."))
        device = full[0][0]
        if device == vault.device_id:
            raise DeviceError(_("Este equipo no puede revocarse a sí mismo; hágalo desde otro "
                                "equipo del centro."))
        targets = [r[0] for r in conn.execute("SELECT shelter FROM sync_devices WHERE device=? "
                                              "AND revoked_after IS NULL ORDER BY shelter",
                                              (device,))]
        if not targets:
            raise DeviceError(_("Ese equipo ya está revocado."))
        for shelter in targets:
            r = require_coordinator_device(conn, ident, shelter)
            if r.coordinators() == [device]:
                raise DeviceError(_("Es el último equipo de coordinación del centro; no se "
                                    "puede revocar."))
            row = conn.execute("SELECT seq, hash FROM sync_batches WHERE shelter=? AND device=? "
                               "ORDER BY seq DESC LIMIT 1", (shelter, device)).fetchone()
            # Its statements that count are those this vault has: anything it signs from now
            # on, whatever date or order it claims, is not among them.
            body = {"kind": "revoke", "v": V2, "shelter": shelter, "device": device,
                    "after_seq": row[0] if row else 0, "after_hash": row[1] if row else "",
                    "keep": r.statements_by(device), "at": now_iso()}
            stmt = sign_statement(ident, body)
            store_statement(conn, stmt)
            r = refresh(conn, shelter, ident)
            epoch = _new_epoch(conn, ident, r)
            store_statement(conn, epoch)
            refresh(conn, shelter, ident)
            for s in (stmt, epoch):
                mark_pending(conn, s)
            new_epoch = epoch["body"]["epoch"]
        audit.append(conn, vault.user.name, "sync.revoke", None,
                     {"device": device, "epoch": new_epoch})
    return new_epoch


def approve_statement(conn, ident: Identity, shelter: str, device: str, sign_pub: str,
                      kx_pub: str, role: str, request: str) -> dict:
    """Enrols a device whose join request a coordinator approved: its keys, its role and
    every key of the shelter wrapped to its own X25519 key."""
    r = require_coordinator_device(conn, ident, shelter)
    if device in r.members:
        raise DeviceError(_("Ya hay un equipo con ese identificador en el centro; no se puede "
                            "inscribir otra vez."))
    if device != crypto.device_id_for(crypto.unb64(sign_pub)) and not _id_fits(device, sign_pub):
        raise DeviceError(_("El identificador del equipo no corresponde a su llave."))
    keys = []
    for k in shelter_keys(conn, shelter):
        if k.kid in r.epochs:
            pseudo = {"shelter": shelter, "epoch": k.epoch, "kid": k.kid}
            keys.append({"epoch": k.epoch, "kid": k.kid, "wrap": _wrap_key(kx_pub, pseudo, k.key)})
    body = {"kind": "approve", "v": V2, "shelter": shelter, "device": device,
            "sign_pub": sign_pub, "kx_pub": kx_pub, "role": role, "request": request,
            "keys": keys, "at": now_iso()}
    stmt = sign_statement(ident, body)
    store_statement(conn, stmt)
    refresh(conn, shelter, ident)
    mark_pending(conn, stmt)
    return stmt


def today() -> str:
    return dt.date.today().isoformat()
