"""Attachment content on the hub: each 64 KiB chunk an encrypted file of its own.

The rows of attachments (who, what, the SHA-256 of the whole and of every chunk) travel inside
the signed record batches (key "att" of a payload, see engine.export); the chunks follow, after
the records, under `cpc/_att/<shelter>/<name>.cpca`:

    "CPCA" | format (1) | epoch (4) | kid length (1) | kid | nonce (12)
    | AES-256-GCM of the chunk's bytes (associated data: everything before the nonce + name)

The name is an HMAC-SHA256 of the chunk's SHA-256 under a key derived from the shelter's sync
key: the same bytes have the same name (deduplicated, a chunk the hub has is not sent again)
but the hub cannot test a guess of the content. A chunk is accepted only when it decrypts and
its bytes hash to the id the signed row named, so a hub can neither forge nor swap chunks. Each
chunk received is kept in its own transaction: an interrupted transfer resumes.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import attachments, audit, crypto
from ..core.errors import PermissionDenied
from ..core.i18n import _
from ..core.users import Action
from . import devices
from .devices import ShelterKey
from .transports import ROOT, Transport, WebDavHub

MAGIC = b"CPCA"
FORMAT = 1
NONCE_BYTES = 12
SUFFIX = ".cpca"
ID_INFO = b"cpc-attachment-id-v1"
KEY_INFO = b"cpc-attachment-chunk-v1"
_ZERO_SALT = crypto.b64(b"\0" * 16)
POLICY_KEY = "sync_attachments"


def folder(shelter: str) -> str:
    return f"{ROOT}/_att/{shelter}"   # beside _join: never taken for a device folder


@functools.lru_cache(maxsize=32)
def _derived(secret: bytes, info: bytes) -> bytes:
    return crypto.hkdf(secret, _ZERO_SALT, info)


def chunk_name(key: ShelterKey, chunk_id: str) -> str:
    return hmac.new(_derived(key.key, ID_INFO), bytes.fromhex(chunk_id),
                    hashlib.sha256).hexdigest() + SUFFIX


def _header(key: ShelterKey) -> bytes:
    kid = key.kid.encode("ascii")
    return MAGIC + bytes([FORMAT]) + key.epoch.to_bytes(4, "big") + bytes([len(kid)]) + kid


def seal_chunk(key: ShelterKey, name: str, data: bytes) -> bytes:
    head = _header(key)
    nonce = os.urandom(NONCE_BYTES)
    return head + nonce + AESGCM(_derived(key.key, KEY_INFO)).encrypt(
        nonce, data, head + name.encode("ascii"))


def open_chunk(key: ShelterKey, name: str, blob: bytes, chunk_id: str) -> bytes | None:
    """The chunk's bytes, or None when the file is not the chunk the signed row named."""
    head = _header(key)
    if not blob.startswith(head) or len(blob) < len(head) + NONCE_BYTES + 16:
        return None
    body = blob[len(head):]
    try:
        data = AESGCM(_derived(key.key, KEY_INFO)).decrypt(
            body[:NONCE_BYTES], body[NONCE_BYTES:], head + name.encode("ascii"))
    except InvalidTag:
        return None
    if hashlib.sha256(data).hexdigest() != chunk_id:
        return None
    return data


# ---------------------------------------------------------------- the per-hub policy

@dataclass(frozen=True)
class Policy:
    """Over a network hub: no attachment at all (USB only), or only those up to max_bytes.
    A folder hub (USB stick, shared folder) always carries every attachment."""
    usb_only: bool = False
    max_bytes: int | None = None

    def allows(self, hub: Transport) -> tuple[bool, int | None]:
        if not isinstance(hub, WebDavHub):
            return True, None
        return not self.usb_only, self.max_bytes


def policy(vault) -> Policy:
    row = vault.read("SELECT value FROM meta WHERE key=?", (POLICY_KEY,))
    if not row:
        return Policy()
    raw = json.loads(row[0][0])
    return Policy(bool(raw.get("usb_only")), raw.get("max_bytes"))


def set_policy(vault, *, usb_only: bool, max_bytes: int | None) -> None:
    """Coordinators only, as the hub itself (engine.save_hub)."""
    try:
        vault.require(Action.MANAGE_USERS)
    except PermissionDenied:
        raise PermissionDenied(_("Solo un(a) coordinador(a) puede cambiar los ajustes del "
                                 "punto de intercambio.")) from None
    with vault.writing() as conn:
        devices._set_meta(conn, POLICY_KEY, json.dumps({"usb_only": usb_only,
                                                        "max_bytes": max_bytes}))
        audit.append(conn, vault.user.name, "sync.attachments", None,
                     {"usb_only": usb_only, "max_bytes": max_bytes})


# ---------------------------------------------------------------- exchange

@dataclass
class Moved:
    sent: int = 0          # chunks uploaded
    received: int = 0      # chunks kept
    completed: int = 0     # attachments that became present
    refused: int = 0       # chunk files that were not what their row named
    waiting: int = 0       # attachments still missing after this sync
    held_back: int = 0     # attachments the policy kept off this hub


# A hub that lost files (restored, wiped) is found out by a listing at least this often.
RELIST_DAYS = 7


def _days_ago(days: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).isoformat(
        timespec="milliseconds")


def _done_key(hub: Transport, shelter: str) -> str:
    # Per hub (its address or folder) and shelter: which attachments it was seen to hold whole.
    place = hashlib.sha256(f"{hub.describe()}|{shelter}".encode()).hexdigest()[:32]
    return "sync_att_on_hub:" + place


def exchange(vault, hub: Transport, shelter: str, pol: Policy | None = None) -> Moved:
    """Sends the chunks the hub lacks, then fetches the ones this vault lacks. When this vault
    has nothing new to send and nothing missing, the hub's chunk folder is not even listed (on
    a 64 kbit/s link a listing of thousands of names costs more than the records)."""
    moved = Moved()
    allowed, max_bytes = (pol or policy(vault)).allows(hub)
    with vault.reading() as conn:
        keys = devices.shelter_keys(conn, shelter)
        raw = devices._meta(conn, _done_key(hub, shelter))
    if not keys:
        return moved
    if not allowed:
        moved.held_back = moved.waiting = len(attachments.wanted_chunks(vault, shelter))
        return moved
    seen = json.loads(raw) if raw else {}
    done: set[str] = set(seen.get("ids", ()))
    fresh = seen.get("at", "") >= _days_ago(RELIST_DAYS)
    mine = attachments.shared(vault, shelter, max_bytes)
    wanted = attachments.wanted_chunks(vault, shelter, max_bytes)
    if wanted or not fresh or any(att_id not in done for att_id, _c in mine):
        where = folder(shelter)
        listing = hub.list(where)
        current = keys[-1]
        done = set()        # what the listing shows, not what was remembered
        try:
            for att_id, chunk_ids in mine:
                for cid in chunk_ids:
                    name = chunk_name(current, cid)
                    if name in listing:
                        continue
                    data = attachments.chunk(vault, cid)
                    if data is None:
                        break
                    hub.cancel.check()
                    hub.put_if_absent(f"{where}/{name}", seal_chunk(current, name, data))
                    listing[name] = len(data)
                    moved.sent += 1
                else:
                    done.add(att_id)
            for att_id, missing in wanted:
                if _fetch(vault, hub, keys, where, listing, att_id, missing, moved):
                    moved.completed += 1
                    done.add(att_id)
                else:
                    moved.waiting += 1
        finally:
            with vault.writing() as conn:
                devices._set_meta(conn, _done_key(hub, shelter), json.dumps(
                    {"at": audit.now_iso(), "ids": sorted(done)}))
    if max_bytes is not None:
        moved.held_back = len(attachments.wanted_chunks(vault, shelter)) - moved.waiting
        moved.waiting += moved.held_back
    return moved


def _fetch(vault, hub: Transport, keys: list[ShelterKey], where: str, listing: dict,
           att_id: str, missing: list[str], moved: Moved) -> bool:
    """Fetches an attachment's missing chunks, newest key first; True when it became whole."""
    whole = False
    for cid in missing:
        hub.cancel.check()
        got = None
        for key in reversed(keys):
            name = chunk_name(key, cid)
            if name not in listing:
                continue
            blob = hub.get_optional(f"{where}/{name}")
            got = open_chunk(key, name, blob, cid) if blob is not None else None
            if got is not None:
                break
            if blob is not None:
                moved.refused += 1
        if got is None:
            return False        # the rest later: its sender has not uploaded it yet
        whole = attachments.store_chunk(vault, att_id, cid, got)
        moved.received += 1
    return whole
