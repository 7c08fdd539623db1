"""Devices and keys: this laptop's identity, each shelter's sync keys by epoch, and the roster.

A device has an Ed25519 key (it signs its batches and roster statements) and an X25519 key
(new epoch keys are wrapped to it). Both private keys live in the vault's meta table, inside
SQLCipher. A shelter's roster is a set of signed statements that travel in batches:

- genesis: the shelter's first device, self-signed; trusted because it came in an invitation
  (or this vault founded the shelter);
- invite: a roster device allows one new device in, naming the public half of an invite key;
- enroll: a device's public keys, signed by an invite key (so any reader can check it with the
  invite statement alone, carried along);
- revoke: a device's batches after a given sequence number are refused from now on;
- epoch: a new shelter key, wrapped to each remaining device's X25519 key (the revoked device
  never receives it).

Applying statements only ever adds facts (revocation keeps the lowest sequence), so the roster
converges whatever order batches arrive in.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import audit, crypto
from ..core.i18n import _
from ..core.ids import uuid7
from ..core.users import Action
from .errors import DeviceError

_RAW = serialization.Encoding.Raw
_PRIV = serialization.PrivateFormat.Raw
_PUB = serialization.PublicFormat.Raw
_NOENC = serialization.NoEncryption()
STATEMENT_CONTEXT = b"cpc-statement-v1|"
WRAP_INFO = b"cpc-epoch-wrap-v1"
KEY_BYTES = 32


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


def ensure_identity(vault) -> Identity:
    """This device's keys; on first use also founds the vault's own shelter for sync (its
    genesis statement and first key) unless the vault joined it with an invitation."""
    with vault._lock:
        ident = load_identity(vault)
        if ident and shelter_keys(vault.conn, vault.shelter_code):
            return ident
        with vault.transaction() as conn:
            ident = _create_identity(vault, conn)
            if not shelter_keys(conn, vault.shelter_code):
                _found_shelter(conn, ident, vault.shelter_code)
        return ident


def _found_shelter(conn, ident: Identity, shelter: str) -> None:
    body = {"kind": "genesis", "shelter": shelter, "device": ident.device,
            "sign_pub": ident.sign_pub, "kx_pub": ident.kx_pub, "at": now_iso()}
    stmt = sign_statement(ident, body)
    apply_statement(conn, stmt, ident, trusted=True)
    mark_pending(conn, stmt)
    add_key(conn, shelter, 1, os.urandom(KEY_BYTES))


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
    keys = shelter_keys(conn, shelter)
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


def _verify(pub_b64: str, stmt: dict) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(crypto.unb64(pub_b64)).verify(
            crypto.unb64(stmt["sig"]), STATEMENT_CONTEXT + canonical(stmt["body"]))
        return True
    except (InvalidSignature, ValueError, TypeError, KeyError):
        return False


def device_row(conn, shelter: str, device: str) -> dict | None:
    row = conn.execute("SELECT sign_pub, kx_pub, label, added_at, revoked_after FROM "
                       "sync_devices WHERE shelter=? AND device=?", (shelter, device)).fetchone()
    if not row:
        return None
    return {"sign_pub": row[0], "kx_pub": row[1], "label": row[2], "added_at": row[3],
            "revoked_after": row[4]}


def _statement(conn, sid: str) -> dict | None:
    row = conn.execute("SELECT body FROM sync_statements WHERE id=?", (sid,)).fetchone()
    return json.loads(row[0]) if row else None


def _invite(conn, shelter: str, invite: str) -> dict | None:
    for (body,) in conn.execute("SELECT body FROM sync_statements WHERE shelter=? AND "
                                "kind='invite'", (shelter,)):
        stmt = json.loads(body)
        if stmt["body"].get("invite") == invite:
            return stmt
    return None


def apply_statement(conn, stmt: dict, ident: Identity | None, *, trusted: bool = False,
                    extra_invites: dict | None = None) -> bool:
    """Adds a statement's fact to the roster if its signature holds; False if it cannot be
    checked yet (its signer is unknown here). Applying one twice changes nothing."""
    try:
        body = stmt["body"]
        kind, shelter = body["kind"], body["shelter"]
    except (KeyError, TypeError):
        return False
    sid = statement_id(stmt)
    if conn.execute("SELECT 1 FROM sync_statements WHERE id=?", (sid,)).fetchone():
        return True
    if kind == "genesis":
        # Only a genesis this vault was handed in person (invitation) or made is believed.
        if not trusted or not _verify(body["sign_pub"], stmt):
            return False
        _add_device(conn, shelter, body["device"], body["sign_pub"], body["kx_pub"])
    elif kind == "enroll":
        invite = _invite(conn, shelter, body.get("invite")) or (extra_invites or {}).get(
            body.get("invite"))
        if invite is None or not apply_statement(conn, invite, ident):
            return False
        if not _verify(invite["body"]["invite_pub"], stmt):
            return False
        _add_device(conn, shelter, body["device"], body["sign_pub"], body["kx_pub"])
    else:
        signer = device_row(conn, shelter, stmt.get("by", ""))
        if signer is None or not _verify(signer["sign_pub"], stmt):
            return False
        if kind == "revoke":
            after = int(body["after_seq"])
            conn.execute("UPDATE sync_devices SET revoked_after = min(coalesce(revoked_after, "
                         "?), ?) WHERE shelter=? AND device=?",
                         (after, after, shelter, body["device"]))
        elif kind == "epoch":
            if ident is not None and ident.device in body["wraps"]:
                key = _unwrap(ident, body, body["wraps"][ident.device])
                if key is not None:
                    add_key(conn, shelter, int(body["epoch"]), key)
        elif kind != "invite":
            return False
    conn.execute("INSERT OR IGNORE INTO sync_statements(id, shelter, kind, body, pending) "
                 "VALUES (?,?,?,?,0)", (sid, shelter, kind, json.dumps(stmt)))
    return True


def apply_statements(conn, stmts: list[dict], ident: Identity | None, *,
                     trusted: bool = False) -> int:
    """Applies what can be checked, repeating while one statement vouches for the next."""
    invites = {s["body"].get("invite"): s for s in stmts
               if isinstance(s, dict) and isinstance(s.get("body"), dict)
               and s["body"].get("kind") == "invite"}
    todo, done = list(stmts), 0
    progress = True
    while todo and progress:
        progress, rest = False, []
        for stmt in todo:
            if apply_statement(conn, stmt, ident, trusted=trusted, extra_invites=invites):
                progress, done = True, done + 1
            else:
                rest.append(stmt)
        todo = rest
    return done


def _add_device(conn, shelter: str, device: str, sign_pub: str, kx_pub: str) -> None:
    row = device_row(conn, shelter, device)
    # Two enrollments of one device id: the smaller key wins everywhere, whatever came first.
    if row is None or sign_pub < row["sign_pub"]:
        conn.execute("INSERT INTO sync_devices(shelter, device, sign_pub, kx_pub, label, "
                     "added_at, revoked_after) VALUES (?,?,?,?,'',?,NULL) ON CONFLICT(shelter, "
                     "device) DO UPDATE SET sign_pub=excluded.sign_pub, kx_pub=excluded.kx_pub",
                     (shelter, device, sign_pub, kx_pub, now_iso()))


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

    @property
    def revoked(self) -> bool:
        return self.revoked_after is not None


def devices(vault) -> list[Device]:
    vault._require(Action.READ)
    with vault._lock:
        rows = vault.conn.execute(
            "SELECT d.shelter, d.device, d.added_at, d.revoked_after, (SELECT max(seq) FROM "
            "sync_batches b WHERE b.shelter=d.shelter AND b.device=d.device) FROM sync_devices d "
            "ORDER BY d.shelter, d.added_at").fetchall()
    return [Device(s, d, a, r, d == vault.device_id, n or 0) for s, d, a, r, n in rows]


def revoke(vault, device: str) -> int:
    """Revokes a lost or stolen device in every shelter this vault holds it in, and starts a
    new key epoch there that only the remaining devices receive. Returns the new epoch."""
    vault._require(Action.MANAGE_USERS)
    ident = ensure_identity(vault)
    if device == vault.device_id:
        raise DeviceError(_("Este equipo no puede revocarse a sí mismo; hágalo desde otro "
                            "equipo del centro."))
    new_epoch = 0
    with vault.transaction() as conn:
        found = conn.execute("SELECT shelter FROM sync_devices WHERE device=? OR device LIKE ?",
                             (device, device + "%")).fetchall()
        targets = {r[0] for r in found}
        full = conn.execute("SELECT DISTINCT device FROM sync_devices WHERE device=? OR device "
                            "LIKE ?", (device, device + "%")).fetchall()
        if not targets or len(full) != 1:
            raise DeviceError(_("No se encuentra ese equipo (o el comienzo del identificador "
                                "corresponde a varios)."))
        device = full[0][0]
        for shelter in sorted(targets):
            last = conn.execute("SELECT max(seq) FROM sync_batches WHERE shelter=? AND device=?",
                                (shelter, device)).fetchone()[0] or 0
            stmts = [sign_statement(ident, {"kind": "revoke", "shelter": shelter,
                                            "device": device, "after_seq": last,
                                            "at": now_iso()})]
            apply_statement(conn, stmts[0], ident)
            current = current_key(conn, shelter)
            new_epoch = (current.epoch if current else 0) + 1
            key = os.urandom(KEY_BYTES)
            body = {"kind": "epoch", "shelter": shelter, "epoch": new_epoch, "kid": key_id(key),
                    "at": now_iso(), "wraps": {}}
            for dev, kx_pub in conn.execute("SELECT device, kx_pub FROM sync_devices WHERE "
                                            "shelter=? AND revoked_after IS NULL", (shelter,)):
                body["wraps"][dev] = _wrap_key(kx_pub, body, key)
            stmts.append(sign_statement(ident, body))
            apply_statement(conn, stmts[1], ident)
            for stmt in stmts:
                mark_pending(conn, stmt)
        audit.append(conn, vault.user.name, "sync.revoke", None,
                     {"device": device, "epoch": new_epoch})
    return new_epoch


def new_invite(conn, ident: Identity, shelter: str) -> tuple[dict, Ed25519PrivateKey]:
    invite_key = Ed25519PrivateKey.generate()
    body = {"kind": "invite", "shelter": shelter, "invite": uuid7(),
            "invite_pub": crypto.b64(invite_key.public_key().public_bytes(_RAW, _PUB)),
            "at": now_iso()}
    stmt = sign_statement(ident, body)
    if not apply_statement(conn, stmt, ident):
        raise DeviceError(_("Este equipo no figura entre los equipos del centro; no puede "
                            "invitar a otros."))
    mark_pending(conn, stmt)
    return stmt, invite_key


def enroll(conn, ident: Identity, shelter: str, invite: dict, invite_key_b64: str) -> dict:
    key = Ed25519PrivateKey.from_private_bytes(crypto.unb64(invite_key_b64))
    body = {"kind": "enroll", "shelter": shelter, "device": ident.device,
            "sign_pub": ident.sign_pub, "kx_pub": ident.kx_pub,
            "invite": invite["body"]["invite"], "at": now_iso()}
    stmt = sign_statement(ident, body, key=key, by="invite:" + invite["body"]["invite"])
    if not apply_statement(conn, stmt, ident):
        raise DeviceError(_("La invitación no es válida para este centro."))
    return stmt


def today() -> str:
    return dt.date.today().isoformat()
