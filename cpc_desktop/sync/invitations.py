"""Invitations and join requests: how a new laptop (or the central office) joins a shelter.

An invitation file holds no secret of the shelter: its code, its name, the inviting device's
public key, a signed expiry (hours the coordinator chose), a random request token and the hub
address (its password only if the coordinator chose to include it), encrypted (AES-256-GCM)
under a key derived with Argon2id from a one-time code that the coordinator reads out by phone
or in person: twelve Crockford base32 characters (55 random bits and a 5-bit checksum, so a
typo is caught before the slow derivation).

With the file and its code a laptop can only make a **join request**: its own new public keys,
sealed with the request token, left on the hub (a USB stick in the same room is a hub too).
The coordinator's laptop finds it at its next sync and lists it; the coordinator approves it
after the person at the new laptop reads out its short fingerprint (or refuses it). Approval is
an ordinary roster statement that carries the shelter's keys wrapped to the new device's own
X25519 key; it travels back the same way, encrypted to that key. An invitation serves one
approved device, can be cancelled, and is refused after it expires.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import audit, crypto
from ..core.files import write_private
from ..core.i18n import _
from ..core.users import Action
from ..core.vault import DB_NAME, SLOTS_NAME, Vault
from . import devices
from .errors import DeviceError, HubError, InvitationError
from .transports import ROOT

MAGIC = b"CPCI"
FORMAT = 2
CODE_CHARS = 12
_RANDOM_BITS = 55
_CHECK_BITS = 5
# Argon2id at the project's floor: the code's 55 bits make guessing hopeless anyway, and an
# old laptop must still open the invitation in a few seconds.
KDF_ITERATIONS = crypto.MIN_ITERATIONS
KDF_MEMORY_KIB = crypto.MIN_MEMORY_KIB
DEFAULT_HOURS = 72
MAX_HOURS = 24 * 30
OFFER_CONTEXT = b"cpc-invitation-v2|"
REQUEST_CONTEXT = b"cpc-join-request-v1|"
_INVITES, _REQUESTS, _PENDING = "sync_invitations", "sync_join_requests", "sync_join_pending"


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


def _bad() -> InvitationError:
    return InvitationError(_("El archivo no es una invitación de CPC o está dañado."))


def unseal(data: bytes, code: str) -> dict:
    normalize_code(code)
    if len(data) < 7 or data[:4] != MAGIC:
        raise _bad()
    if data[4] > FORMAT:
        raise InvitationError(_("La invitación fue hecha por una versión más nueva de CPC "
                                "Desktop; actualice el programa."))
    if data[4] < FORMAT:
        raise InvitationError(_("La invitación fue hecha por una versión anterior de CPC "
                                "Desktop, que ya no se acepta; pida a la coordinación una "
                                "invitación nueva."))
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
        raise _bad() from None
    return json.loads(plain)


# ---------------------------------------------------------------- small helpers

def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _load(conn, key: str) -> dict:
    raw = devices._meta(conn, key)
    return json.loads(raw) if raw else {}


def _save(conn, key: str, value: dict) -> None:
    if value:
        devices._set_meta(conn, key, json.dumps(value, sort_keys=True))
    else:
        conn.execute("DELETE FROM meta WHERE key=?", (key,))


def _pub(b64: str):
    return Ed25519PublicKey.from_public_bytes(crypto.unb64(b64))


def fingerprint(invite: str, sign_pub: str, kx_pub: str) -> str:
    """Eight characters the new laptop shows and the coordinator types: they bind the approval
    to the keys of the laptop in front of the person reading them out."""
    digest = hashlib.sha256(b"cpc-join-fp|" + devices.canonical([invite, sign_pub, kx_pub]))
    return crypto.encode_typed(int.from_bytes(digest.digest()[:5], "big"), 8, 4)


def _same_fingerprint(a: str, b: str) -> bool:
    va, vb = crypto.decode_typed(a, 8), crypto.decode_typed(b, 8)
    return va is not None and va == vb


def _request_id(token: bytes, device: str) -> str:
    return hashlib.sha256(b"cpc-req|" + token + device.encode()).hexdigest()[:12]


def _join_dir(shelter: str) -> str:
    return f"{ROOT}/_join/{shelter}"


def _seal_to(kx_pub_b64: str, plain: bytes, aad: bytes) -> bytes:
    eph = X25519PrivateKey.generate()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(crypto.unb64(kx_pub_b64)))
    salt = crypto.b64(os.urandom(16))
    kek = crypto.hkdf(shared, salt, b"cpc-approval-v1")
    nonce = os.urandom(12)
    head = devices.canonical({"eph": crypto.b64(eph.public_key().public_bytes(
        ser.Encoding.Raw, ser.PublicFormat.Raw)), "salt": salt, "nonce": crypto.b64(nonce)})
    return len(head).to_bytes(2, "big") + head + AESGCM(kek).encrypt(nonce, plain, aad + head)


def _open_from(ident: devices.Identity, data: bytes, aad: bytes) -> bytes | None:
    try:
        size = int.from_bytes(data[:2], "big")
        head = data[2:2 + size]
        h = json.loads(head)
        shared = ident.kx_key.exchange(X25519PublicKey.from_public_bytes(crypto.unb64(h["eph"])))
        kek = crypto.hkdf(shared, h["salt"], b"cpc-approval-v1")
        return AESGCM(kek).decrypt(crypto.unb64(h["nonce"]), data[2 + size:], aad + head)
    except (InvalidTag, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- the coordinator's side

@dataclass(frozen=True)
class Invitation:
    id: str
    shelter: str
    created_at: str
    expires_at: str
    state: str            # "open" | "used" | "cancelled" | "expired"


@dataclass(frozen=True)
class JoinRequest:
    id: str
    shelter: str
    invite: str
    device: str
    received_at: str
    state: str            # "pending" | "approved" | "refused"


def create_invitation(vault: Vault, out: Path | str, *, hub: dict | None = None,
                      shelter: str | None = None, hours: float = DEFAULT_HOURS,
                      with_hub_password: bool = False) -> str:
    """Writes an invitation file for one new device of `shelter` (default: the vault's own);
    returns the one-time code to give by phone or in person (never written anywhere)."""
    vault.require(Action.MANAGE_USERS)
    if not 0 < hours <= MAX_HOURS:
        raise InvitationError(_("La invitación puede valer de 1 a {n} horas.").format(
            n=MAX_HOURS))
    ident = devices.ensure_identity(vault)
    shelter = (shelter or vault.shelter_code).upper()
    code = new_code()
    with vault.transaction() as conn:
        if not devices.shelter_keys(conn, shelter):
            raise InvitationError(_("Esta bóveda no tiene las llaves de ese centro."))
        roster = devices.require_coordinator_device(conn, ident, shelter)
        genesis = next(sid for sid in sorted(roster.valid)
                       if roster.statements[sid]["body"]["kind"] == "genesis")
        invite = secrets.token_hex(5)
        token = os.urandom(32)
        created = _now()
        expires = created + dt.timedelta(hours=hours)
        hub_info = None
        if hub and hub.get("url"):
            hub_info = {"url": hub["url"], "user": hub.get("user"),
                        "password": hub.get("password") if with_hub_password else None}
        offer = {"shelter": shelter,
                 "shelter_name": vault.shelter_name if shelter == vault.shelter_code else shelter,
                 "invite": invite, "expires_at": expires.isoformat(timespec="seconds"),
                 "inviter": ident.device, "inviter_sign_pub": ident.sign_pub,
                 "genesis": genesis}
        payload = {"format": FORMAT, "offer": offer, "token": crypto.b64(token),
                   "sig": crypto.b64(ident.sign(OFFER_CONTEXT + devices.canonical(offer))),
                   "hub": hub_info}
        data = seal(payload, code)
        invites = _load(conn, _INVITES)
        invites[invite] = {"shelter": shelter, "token": crypto.b64(token),
                           "created_at": created.isoformat(timespec="seconds"),
                           "expires_at": offer["expires_at"], "state": "open"}
        _save(conn, _INVITES, invites)
        audit.append(conn, vault.user.name, "sync.invite", None,
                     {"shelter": shelter, "invite": invite, "hours": hours,
                      "hub_password": bool(hub_info and hub_info["password"])})
        try:
            write_private(Path(out), data)
        except OSError:
            raise InvitationError(_("No se puede escribir el archivo de invitación en esa "
                                    "carpeta.")) from None
    return code


def _state(rec: dict) -> str:
    if rec["state"] == "open" and dt.datetime.fromisoformat(rec["expires_at"]) <= _now():
        return "expired"
    return rec["state"]


def list_invitations(vault: Vault) -> list[Invitation]:
    vault.require(Action.MANAGE_USERS)
    with vault.reading():
        invites = _load(vault.conn, _INVITES)
    return [Invitation(i, r["shelter"], r["created_at"], r["expires_at"], _state(r))
            for i, r in sorted(invites.items(), key=lambda kv: kv[1]["created_at"])]


def _find(items: dict, ref: str, missing: str) -> str:
    ref = ref.strip().lower()
    found = [k for k in items if k.lower() == ref] or [k for k in items
                                                        if k.lower().startswith(ref)]
    if len(found) != 1 or not ref:
        raise InvitationError(missing)
    return found[0]


def cancel_invitation(vault: Vault, invite: str) -> str:
    vault.require(Action.MANAGE_USERS)
    with vault.transaction() as conn:
        invites = _load(conn, _INVITES)
        invite = _find(invites, invite, _("No hay ninguna invitación con ese identificador."))
        if invites[invite]["state"] == "open":
            invites[invite]["state"] = "cancelled"
        requests = _load(conn, _REQUESTS)
        for rec in requests.values():
            if rec["invite"] == invite and rec["state"] == "pending":
                rec["state"], rec["delivered"] = "refused", False
        _save(conn, _INVITES, invites)
        _save(conn, _REQUESTS, requests)
        audit.append(conn, vault.user.name, "sync.invite.cancel", None, {"invite": invite})
    return invite


def receive_request(vault: Vault, data: bytes) -> JoinRequest | None:
    """A join request found on the hub: kept (pending) if it was sealed with the token of an
    invitation of this vault and signed by the key it names; None if not for this vault."""
    with vault.transaction() as conn:
        invites = _load(conn, _INVITES)
        requests = _load(conn, _REQUESTS)
        for invite, rec in sorted(invites.items()):
            token = crypto.unb64(rec["token"])
            body = _open_request(token, data)
            if body is None or body.get("invite") != invite \
                    or body.get("shelter") != rec["shelter"]:
                continue
            rid = _request_id(token, body["device"])
            if rid in requests:
                return _as_request(rid, requests[rid])
            requests[rid] = {"shelter": rec["shelter"], "invite": invite,
                             "device": body["device"], "sign_pub": body["sign_pub"],
                             "kx_pub": body["kx_pub"], "received_at": audit.now_iso(),
                             "state": "pending" if _state(rec) == "open" else "refused",
                             "delivered": False}
            _save(conn, _REQUESTS, requests)
            audit.append(conn, vault.user.name, "sync.join.request", None,
                         {"invite": invite, "request": rid})
            return _as_request(rid, requests[rid])
    return None


def _open_request(token: bytes, data: bytes) -> dict | None:
    try:
        if data[:4] != b"CPCR":
            return None
        kek = crypto.hkdf(token, crypto.b64(b"\0" * 16), b"cpc-join-request-key")
        plain = AESGCM(kek).decrypt(data[4:16], data[16:], b"CPCR")
        req = json.loads(plain)
        body = req["body"]
        _pub(body["sign_pub"]).verify(crypto.unb64(req["sig"]),
                                      REQUEST_CONTEXT + devices.canonical(body))
        if not devices._id_fits(body["device"], body["sign_pub"]):
            return None
        crypto.unb64(body["kx_pub"])
        return body
    except (InvalidTag, InvalidSignature, ValueError, KeyError, TypeError):
        return None


def _as_request(rid: str, rec: dict) -> JoinRequest:
    return JoinRequest(rid, rec["shelter"], rec["invite"], rec["device"], rec["received_at"],
                       rec["state"])


def list_requests(vault: Vault) -> list[JoinRequest]:
    vault.require(Action.MANAGE_USERS)
    with vault.reading():
        requests = _load(vault.conn, _REQUESTS)
    return [_as_request(r, rec) for r, rec in sorted(requests.items(),
                                                      key=lambda kv: kv[1]["received_at"])]


def _pending_request(requests: dict, request: str) -> tuple[str, dict]:
    """(id, record) of a request still waiting for a decision; InvitationError otherwise."""
    rid = _find(requests, request, _("No hay ninguna solicitud con ese identificador."))
    rec = requests[rid]
    if rec["state"] != "pending":
        raise InvitationError(_("Esa solicitud ya fue aprobada o rechazada."))
    return rid, rec


def approve_request(vault: Vault, request: str, code: str, *,
                    role: str = devices.MEMBER) -> JoinRequest:
    """Enrols the requesting device once `code` matches the fingerprint its person read out.
    The approval goes to the hub at the next sync."""
    vault.require(Action.MANAGE_USERS)
    ident = devices.ensure_identity(vault)
    with vault.transaction() as conn:
        requests = _load(conn, _REQUESTS)
        rid, rec = _pending_request(requests, request)
        invites = _load(conn, _INVITES)
        inv = invites.get(rec["invite"])
        state = _state(inv) if inv else "cancelled"
        if state != "open":
            raise InvitationError({
                "used": _("La invitación de esa solicitud ya se usó: cada invitación sirve para "
                          "un solo equipo."),
                "expired": _("La invitación de esa solicitud venció; haga una nueva."),
            }.get(state, _("La invitación de esa solicitud fue cancelada.")))
        if not _same_fingerprint(code, fingerprint(rec["invite"], rec["sign_pub"],
                                                   rec["kx_pub"])):
            raise InvitationError(_("La huella no coincide con la del equipo que pidió unirse: "
                                    "no lo apruebe. Pida que le lean otra vez la huella que "
                                    "muestra su pantalla."))
        try:
            devices.approve_statement(conn, ident, rec["shelter"], rec["device"],
                                      rec["sign_pub"], rec["kx_pub"], role, rec["invite"])
        except DeviceError as exc:
            raise InvitationError(str(exc)) from None
        rec["state"], rec["delivered"], rec["role"] = "approved", False, role
        inv["state"] = "used"
        for other in requests.values():
            if other is not rec and other["invite"] == rec["invite"] \
                    and other["state"] == "pending":
                other["state"], other["delivered"] = "refused", False
        _save(conn, _REQUESTS, requests)
        _save(conn, _INVITES, invites)
        audit.append(conn, vault.user.name, "sync.join.approve", None,
                     {"request": rid, "device": rec["device"], "role": role})
    return _as_request(rid, rec)


def refuse_request(vault: Vault, request: str) -> JoinRequest:
    vault.require(Action.MANAGE_USERS)
    with vault.transaction() as conn:
        requests = _load(conn, _REQUESTS)
        rid, rec = _pending_request(requests, request)
        rec["state"], rec["delivered"] = "refused", False
        _save(conn, _REQUESTS, requests)
        audit.append(conn, vault.user.name, "sync.join.refuse", None, {"request": rid})
    return _as_request(rid, rec)


def reply(vault: Vault, request: str) -> tuple[str, bytes] | None:
    """The answer to a request that was approved or refused, as (hub name, bytes): the
    shelter's roster (with the approval) encrypted to the new device's key, or a refusal."""
    with vault.reading():
        conn = vault.conn
        rec = _load(conn, _REQUESTS).get(request)
        if rec is None or rec["state"] == "pending":
            return None
        aad = b"cpc-approval|" + request.encode()
        if rec["state"] == "refused":
            return f"{request}.no", _seal_to(rec["kx_pub"], b'{"refused":true}', aad)
        package = {"shelter": rec["shelter"], "shelter_name": vault.shelter_name
                   if rec["shelter"] == vault.shelter_code else rec["shelter"],
                   "statements": devices.statements(conn, rec["shelter"]),
                   # The older-format statements this roster still believes (see _legacy_ok).
                   "legacy": sorted(devices._legacy_ok(
                       conn, rec["shelter"], devices.statements_of(conn, rec["shelter"])))}
        return f"{request}.ok", _seal_to(rec["kx_pub"], devices.canonical(package), aad)


# ---------------------------------------------------------------- the new laptop's side

def read_invitation(path: Path | str, code: str) -> dict:
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise InvitationError(_("No se puede leer el archivo de invitación.")) from None
    payload = unseal(data, code)
    try:
        offer = payload["offer"]
        _pub(offer["inviter_sign_pub"]).verify(crypto.unb64(payload["sig"]),
                                               OFFER_CONTEXT + devices.canonical(offer))
        expires = dt.datetime.fromisoformat(offer["expires_at"])
        crypto.unb64(payload["token"])
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise _bad() from None
    if expires <= _now():
        raise InvitationError(_("La invitación venció; pida a la coordinación una nueva."))
    return payload


@dataclass(frozen=True)
class PendingJoin:
    shelter: str
    invite: str
    request: str
    fingerprint: str


def join(vault: Vault, payload: dict) -> PendingJoin:
    """Makes this vault's join request for the invited shelter (sent with the next sync, or
    at once by `send_requests`). Returns what the person reads out to the coordinator."""
    vault.require(Action.MANAGE_USERS)
    try:
        offer, token = payload["offer"], crypto.unb64(payload["token"])
        shelter = offer["shelter"]
        if len(token) != 32 or not all(isinstance(offer[k], str) for k in (
                "shelter", "invite", "inviter", "inviter_sign_pub", "expires_at", "genesis")):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise _bad() from None
    with vault.reading():
        if devices.shelter_keys(vault.conn, shelter):
            raise InvitationError(_("Esta bóveda ya sincroniza el centro {shelter}.").format(
                shelter=shelter))
        with vault.transaction() as conn:
            pending = _load(conn, _PENDING)
            pending[shelter] = {"offer": offer, "token": payload["token"], "sent": False}
            _save(conn, _PENDING, pending)
            ident = devices._create_identity(vault, conn)
            hub = payload.get("hub")
            if hub and hub.get("url") and not devices._meta(conn, "sync_hub"):
                devices._set_meta(conn, "sync_hub", json.dumps(hub))
            audit.append(conn, vault.user.name, "sync.join", None, {"shelter": shelter})
    return PendingJoin(shelter, offer["invite"], _request_id(token, ident.device),
                       fingerprint(offer["invite"], ident.sign_pub, ident.kx_pub))


def pending_joins(vault: Vault) -> list[PendingJoin]:
    with vault.reading():
        pending = _load(vault.conn, _PENDING)
        ident = devices.load_identity(vault)
    if ident is None:
        return []
    return [PendingJoin(s, p["offer"]["invite"], _request_id(crypto.unb64(p["token"]),
                                                             ident.device),
                        fingerprint(p["offer"]["invite"], ident.sign_pub, ident.kx_pub))
            for s, p in sorted(pending.items())]


def request_blob(vault: Vault, shelter: str) -> tuple[str, bytes]:
    """This vault's join request for `shelter` as (hub name, bytes)."""
    with vault.reading():
        p = _load(vault.conn, _PENDING)[shelter]
        ident = devices.load_identity(vault)
    token = crypto.unb64(p["token"])
    body = {"invite": p["offer"]["invite"], "shelter": shelter, "device": ident.device,
            "sign_pub": ident.sign_pub, "kx_pub": ident.kx_pub, "at": audit.now_iso()}
    req = {"body": body, "sig": crypto.b64(ident.sign(REQUEST_CONTEXT + devices.canonical(body)))}
    kek = crypto.hkdf(token, crypto.b64(b"\0" * 16), b"cpc-join-request-key")
    nonce = os.urandom(12)
    data = b"CPCR" + nonce + AESGCM(kek).encrypt(nonce, devices.canonical(req), b"CPCR")
    return f"{_request_id(token, ident.device)}.req", data


def receive_reply(vault: Vault, shelter: str, name: str, data: bytes) -> bool | None:
    """Installs an approval (True) or takes note of a refusal (False); None if `data` is not a
    genuine answer to this vault's request (nothing changes)."""
    ident = devices.load_identity(vault)
    with vault.reading():
        p = _load(vault.conn, _PENDING).get(shelter)
    if p is None or ident is None:
        return None
    offer = p["offer"]
    rid = _request_id(crypto.unb64(p["token"]), ident.device)
    plain = _open_from(ident, data, b"cpc-approval|" + rid.encode())
    if plain is None:
        return None
    try:
        package = json.loads(plain)
    except ValueError:
        return None
    if package.get("refused") is True and name.endswith(".no"):
        with vault.transaction() as conn:
            pending = _load(conn, _PENDING)
            pending.pop(shelter, None)
            _save(conn, _PENDING, pending)
            audit.append(conn, vault.user.name, "sync.join.refused", None, {"shelter": shelter})
        return False
    stmts = package.get("statements")
    if package.get("shelter") != shelter or not isinstance(stmts, list):
        return None
    # Believed only if the roster it makes holds this device, approved by the inviting device
    # (whose key came in the invitation) as a coordinator device of that roster.
    by_id = {devices.statement_id(s): s for s in stmts if isinstance(s, dict)
             and isinstance(s.get("body"), dict) and s["body"].get("shelter") == shelter}
    legacy = package.get("legacy") or []
    try:
        r = devices.evaluate(shelter, by_id, legacy_ok=set(legacy))
    except (KeyError, TypeError, ValueError):
        return None
    inviter = r.members.get(offer["inviter"])
    me = r.members.get(ident.device)
    if inviter is None or inviter.sign_pub != offer["inviter_sign_pub"] or me is None \
            or me.sign_pub != ident.sign_pub or not r.active(ident.device) \
            or offer.get("genesis") not in r.valid:
        return None
    # This device's own approval must be signed by the inviting device itself: whoever read the
    # request off the hub (invitation and code in hand) cannot build a roster of its own.
    if not any(sid in r.valid and s["by"] == offer["inviter"]
               and s["body"]["kind"] == "approve" and s["body"].get("device") == ident.device
               for sid, s in by_id.items()):
        return None
    try:
        _install(vault, ident, shelter, by_id, legacy)
    except _NoKeys:
        return None
    return True


class _NoKeys(Exception):
    pass


def _install(vault: Vault, ident, shelter: str, by_id: dict, legacy: list) -> None:
    with vault.transaction() as conn:
        if devices._meta(conn, f"sync_legacy_{shelter}") is None:
            devices._set_meta(conn, f"sync_legacy_{shelter}", json.dumps(sorted(
                sid for sid in legacy if sid in by_id)))
        for stmt in by_id.values():
            devices.store_statement(conn, stmt, trusted=True)
        devices.refresh(conn, shelter, ident)
        if not devices.shelter_keys(conn, shelter):
            raise _NoKeys      # rolls the transaction back: nothing of it stays
        # Everything known of the roster goes out with this device's first batch, so any
        # reader can check this device's signature whatever else it has received.
        conn.execute("UPDATE sync_statements SET pending=1 WHERE shelter=?", (shelter,))
        pending = _load(conn, _PENDING)
        pending.pop(shelter, None)
        _save(conn, _PENDING, pending)
        audit.append(conn, vault.user.name, "sync.join.approved", None, {"shelter": shelter})


def exchange(vault: Vault, hub) -> list[str]:
    """Moves join requests and their answers through the hub (run at every sync, before
    anything else): this vault's own requests go up and their answers are installed; requests
    for this vault's open invitations are collected, and answers given are put up. Returns
    notices for the person."""
    notices: list[str] = []
    with vault.reading():
        pending = _load(vault.conn, _PENDING)
        invites = _load(vault.conn, _INVITES)
        requests = _load(vault.conn, _REQUESTS)
    for shelter in sorted(pending):
        name, data = request_blob(vault, shelter)
        folder = _join_dir(shelter)
        rid = name[:-4]
        answer = None
        for suffix in (".ok", ".no"):
            got = hub.get_optional(f"{folder}/{rid}{suffix}")
            if got is not None:
                answer = receive_reply(vault, shelter, rid + suffix, got)
                if answer is not None:
                    break
        if answer is True:
            notices.append(_("La coordinación aprobó este equipo en el centro {shelter}; "
                             "se reciben sus datos.").format(shelter=shelter))
        elif answer is False:
            notices.append(_("La coordinación rechazó la solicitud de este equipo para el "
                             "centro {shelter}.").format(shelter=shelter))
        else:
            if not pending[shelter].get("sent"):
                hub.replace(f"{folder}/{name}", data)
                with vault.transaction() as conn:
                    cur = _load(conn, _PENDING)
                    if shelter in cur:
                        cur[shelter]["sent"] = True
                        _save(conn, _PENDING, cur)
            notices.append(_("Este equipo espera que la coordinación apruebe su solicitud "
                             "para el centro {shelter}.").format(shelter=shelter))
    open_shelters = sorted({r["shelter"] for r in invites.values() if _state(r) == "open"})
    for shelter in open_shelters:
        try:
            names = hub.list(_join_dir(shelter))
        except HubError:
            continue
        known = set(requests)
        for n in sorted(names):
            if n.endswith(".req") and n[:-4] not in known:
                got = hub.get_optional(f"{_join_dir(shelter)}/{n}")
                req = receive_request(vault, got) if got else None
                if req is not None and req.state == "pending":
                    # Read in the window and in a terminal alike: both ways are named.
                    notices.append(_("Un equipo pide unirse al centro {shelter}: revíselo en "
                                     "Sincronizar ▸ Equipos, o con «cpc devices».").format(
                        shelter=shelter))
    with vault.reading():
        requests = _load(vault.conn, _REQUESTS)
    for rid, rec in sorted(requests.items()):
        if rec["state"] != "pending" and not rec.get("delivered"):
            answer = reply(vault, rid)
            if answer is None:
                continue
            hub.replace(f"{_join_dir(rec['shelter'])}/{answer[0]}", answer[1])
            with vault.transaction() as conn:
                cur = _load(conn, _REQUESTS)
                cur[rid]["delivered"] = True
                _save(conn, _REQUESTS, cur)
    return notices


def join_new_vault(path: Path | str, payload: dict, *, user: str, passphrase: str,
                   display_name: str | None = None, kdf_seconds: float = 0.5
                   ) -> tuple[Vault, str]:
    """A new vault on a new laptop from an invitation: its own device identity, the shelter's
    code and name, `user` as its first coordinator, and its join request. Returns the vault
    and its recovery key (the fingerprint: `pending_joins`)."""
    try:
        shelter, name = payload["offer"]["shelter"], payload["offer"]["shelter_name"]
    except (KeyError, TypeError):
        raise _bad() from None
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
