"""Invitation files: how a new laptop (or the central office) joins a shelter's sync.

The file holds the shelter's keys of every epoch, its roster statements, an invite key the
newcomer signs its own enrollment with, and the hub settings, all encrypted (AES-256-GCM) under
a key derived with Argon2id from a one-time code that the coordinator reads out by phone or in
person: twelve Crockford base32 characters (55 random bits and a 5-bit checksum, so a typo is
caught before the slow derivation).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import audit, crypto
from ..core.i18n import _
from ..core.files import write_private
from ..core.users import Action
from ..core.vault import DB_NAME, SLOTS_NAME, Vault
from . import devices
from .errors import InvitationError

MAGIC = b"CPCI"
FORMAT = 1
CODE_CHARS = 12
_RANDOM_BITS = 55
_CHECK_BITS = 5
# Argon2id at the project's floor: the code's 55 bits make guessing hopeless anyway, and an
# old laptop must still open the invitation in a few seconds.
KDF_ITERATIONS = crypto.MIN_ITERATIONS
KDF_MEMORY_KIB = crypto.MIN_MEMORY_KIB


def _check(n: int) -> int:
    return hashlib.sha256(b"cpc-invite" + n.to_bytes(7, "big")).digest()[0] >> (8 - _CHECK_BITS)


def new_code() -> str:
    n = secrets.randbits(_RANDOM_BITS)
    return crypto.encode_typed((n << _CHECK_BITS) | _check(n), CODE_CHARS, 4)


def normalize_code(text: str) -> str:
    value = crypto.decode_typed(text, CODE_CHARS)
    if value is None:
        raise InvitationError(_("El código de invitación tiene 12 letras y números (tres "
                                "grupos de cuatro)."))
    if value & ((1 << _CHECK_BITS) - 1) != _check(value >> _CHECK_BITS):
        raise InvitationError(_("El código de invitación tiene un error de escritura; revíselo "
                                "con quien se lo dio."))
    return crypto.encode_typed(value, CODE_CHARS, CODE_CHARS)  # canonical: one group


def _kek(code: str, kdf: dict) -> bytes:
    params = crypto.KdfParams(salt=kdf["salt"], iterations=int(kdf["iterations"]),
                              memory_kib=int(kdf["memory_kib"]), lanes=int(kdf["lanes"]))
    return params.derive(normalize_code(code))


def seal(payload: dict, code: str) -> bytes:
    kdf = {"salt": crypto.new_salt(), "iterations": KDF_ITERATIONS,
           "memory_kib": KDF_MEMORY_KIB, "lanes": crypto.LANES}
    nonce = os.urandom(12)
    header = devices.canonical({"kdf": kdf, "nonce": crypto.b64(nonce)})
    head = MAGIC + bytes([FORMAT]) + len(header).to_bytes(2, "big") + header
    ct = AESGCM(_kek(code, kdf)).encrypt(nonce, devices.canonical(payload), head)
    return head + ct


def unseal(data: bytes, code: str) -> dict:
    normalize_code(code)
    bad = InvitationError(_("El archivo no es una invitación de CPC o está dañado."))
    if len(data) < 7 or data[:4] != MAGIC:
        raise bad
    if data[4] > FORMAT:
        raise InvitationError(_("La invitación fue hecha por una versión más nueva de CPC "
                                "Desktop; actualice el programa."))
    size = int.from_bytes(data[5:7], "big")
    head, ct = data[:7 + size], data[7 + size:]
    try:
        header = json.loads(data[7:7 + size])
        kek = _kek(code, header["kdf"])
        plain = AESGCM(kek).decrypt(crypto.unb64(header["nonce"]), ct, head)
    except InvalidTag:
        raise InvitationError(_("El código no corresponde a esta invitación (o el archivo fue "
                                "alterado).")) from None
    except (ValueError, KeyError, TypeError):
        raise bad from None
    return json.loads(plain)


def create_invitation(vault: Vault, out: Path | str, *, hub: dict | None = None,
                      shelter: str | None = None) -> str:
    """Writes an invitation file for one new device of `shelter` (default: the vault's own);
    returns the one-time code to give by phone or in person (never written anywhere)."""
    vault._require(Action.MANAGE_USERS)
    ident = devices.ensure_identity(vault)
    shelter = (shelter or vault.shelter_code).upper()
    code = new_code()
    with vault.transaction() as conn:
        keys = devices.shelter_keys(conn, shelter)
        if not keys:
            raise InvitationError(_("Esta bóveda no tiene las llaves de ese centro."))
        invite, invite_key = devices.new_invite(conn, ident, shelter)
        name = vault.shelter_name if shelter == vault.shelter_code else shelter
        from cryptography.hazmat.primitives import serialization as ser

        payload = {
            "format": FORMAT, "shelter": shelter, "shelter_name": name,
            "keys": [{"epoch": k.epoch, "kid": k.kid, "key": crypto.b64(k.key)} for k in keys],
            "statements": devices.statements(conn, shelter),
            "invite": invite,
            "invite_key": crypto.b64(invite_key.private_bytes(
                ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())),
            "hub": hub, "created_at": audit.now_iso(),
        }
        data = seal(payload, code)
        audit.append(conn, vault.user.name, "sync.invite", None,
                     {"shelter": shelter, "invite": invite["body"]["invite"]})
        out = Path(out)
        try:
            write_private(out, data)
        except OSError:
            raise InvitationError(_("No se puede escribir el archivo de invitación en esa "
                                    "carpeta.")) from None
    return code


def read_invitation(path: Path | str, code: str) -> dict:
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise InvitationError(_("No se puede leer el archivo de invitación.")) from None
    return unseal(data, code)


def join(vault: Vault, payload: dict) -> str:
    """Adds the invited shelter to this vault: its keys, its roster, this device's
    enrollment (sent with the next sync) and the hub settings. Returns the shelter code."""
    vault._require(Action.MANAGE_USERS)
    try:
        shelter = payload["shelter"]
        keys = [(int(k["epoch"]), crypto.unb64(k["key"])) for k in payload["keys"]]
        stmts, invite, invite_key = payload["statements"], payload["invite"], payload["invite_key"]
    except (KeyError, TypeError, ValueError):
        raise InvitationError(_("El archivo no es una invitación de CPC o está dañado.")) \
            from None
    with vault._lock:
        with vault.transaction() as conn:
            ident = devices._create_identity(vault, conn)
            for epoch, key in keys:
                devices.add_key(conn, shelter, epoch, key)
            devices.apply_statements(conn, stmts + [invite], ident, trusted=True)
            if not devices.device_row(conn, shelter, ident.device):
                devices.enroll(conn, ident, shelter, invite, invite_key)
            # Everything known of the roster goes out with this device's first batch, so any
            # reader can check this device's signature whatever else it has received.
            conn.execute("UPDATE sync_statements SET pending=1 WHERE shelter=?", (shelter,))
            if payload.get("hub") and not conn.execute(
                    "SELECT 1 FROM meta WHERE key='sync_hub'").fetchone():
                devices._set_meta(conn, "sync_hub", json.dumps(payload["hub"]))
            audit.append(conn, vault.user.name, "sync.join", None, {"shelter": shelter})
    return shelter


def join_new_vault(path: Path | str, payload: dict, *, user: str, passphrase: str,
                   display_name: str | None = None, kdf_seconds: float = 0.5
                   ) -> tuple[Vault, str]:
    """A new vault on a new laptop from an invitation: new device id, the shelter's code and
    name, `user` as its first coordinator. Returns the vault and its recovery key."""
    try:
        shelter, name = payload["shelter"], payload["shelter_name"]
    except (KeyError, TypeError):
        raise InvitationError(_("El archivo no es una invitación de CPC o está dañado.")) \
            from None
    vault, recovery = Vault.create(path, shelter_code=shelter, shelter_name=name, user=user,
                                   passphrase=passphrase, display_name=display_name,
                                   kdf_seconds=kdf_seconds)
    try:
        join(vault, payload)
    except BaseException:
        # The vault was made a moment ago for this join only: nothing of anyone's is lost.
        vault.lock()
        for name_ in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", SLOTS_NAME, "vault.lock"):
            with contextlib.suppress(OSError):
                (Path(path) / name_).unlink()
        with contextlib.suppress(OSError):
            Path(path).rmdir()
        raise
    return vault, recovery
