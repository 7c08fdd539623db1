"""Key slots: the vault's raw key, reachable from each user's passphrase and the recovery key.

The slot file (keyslots.json beside vault.db) is the only part of a vault outside SQLCipher, so
it says nothing: slot ids are random, user names appear nowhere (which slot is whose is only in
the encrypted `key_slots` table), the number of slots is padded with decoys, and a login tries
every slot (one Argon2id derivation for all of them, then one AES-GCM attempt per slot).

A slot holds an X25519 private key wrapped by a key derived from the user name and passphrase,
and "boxes": the raw database key sealed to that private key's public half. Re-keying seals a
new raw key to every remaining slot's public key (kept in the encrypted table) without anyone's
passphrase; a removed slot, or an old copy of this file, only ever reaches an old raw key.
The KDF parameters are part of each slot's AEAD associated data, and floors are enforced
before deriving anything.
Files of format 1 (HMAC-named slots wrapping the raw key directly) are still read; a user's
slot is rewritten in format 2 on their first unlock (see Vault.open).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import crypto
from .errors import BadRecoveryKey, VaultDamaged, VaultError, WrongPassphrase
from .files import write_private
from .i18n import _

FORMAT = 2
LEGACY_FORMAT = 1
RECOVERY_SLOT = "recovery"      # the id of the recovery slot in format-1 files
PAD = 4                         # user slots are padded with decoys to a multiple of this
_RECOVERY_INFO = b"cpc-desktop recovery slot v1"
_RECOVERY_INFO_2 = b"cpc-desktop recovery slot v2"
_BOX_INFO = b"cpc-desktop key box v2"
HKDF_ALG = "hkdf-sha256"
# Above this a tampered file could make an unlock take minutes or exhaust memory.
MAX_ITERATIONS = 64

# The encrypted side: which slot is whose, and each slot's public key (what re-key seals to).
REGISTRY_SQL = ("CREATE TABLE IF NOT EXISTS key_slots (id TEXT PRIMARY KEY, user TEXT, "
                "pub TEXT NOT NULL)")   # user NULL: the recovery slot


class WeakKeySlot(VaultError):
    """A slot asks for a key derivation below the floors (or absurdly above): not used."""


def normalize_user(name: str) -> str:
    return " ".join(name.split()).casefold()


def _canon(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _rand_hex() -> str:
    return os.urandom(16).hex()


def new_generation() -> str:
    """The id of one raw key's lifetime (boxes of other generations are left-overs)."""
    return _rand_hex()


def _pub_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)


def _box_key(shared: bytes, epk: bytes, pub: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=crypto.KEY_BYTES, salt=epk + pub,
                info=_BOX_INFO).derive(shared)


def check_floors(kdf: dict) -> crypto.KdfParams:
    """The Argon2id parameters of a slot, refused below the floors or above the caps."""
    try:
        params = crypto.KdfParams.from_json(kdf)
    except (TypeError, ValueError):
        raise VaultDamaged(_("El archivo de llaves de la bóveda está dañado. "
                             "Restaure una copia de seguridad.")) from None
    if (params.memory_kib < crypto.MIN_MEMORY_KIB or params.iterations < crypto.MIN_ITERATIONS
            or params.memory_kib > crypto.MAX_MEMORY_KIB * 4
            or params.iterations > MAX_ITERATIONS or not 1 <= params.lanes <= 16):
        raise WeakKeySlot(_(
            "El archivo de llaves de la bóveda pide una protección de contraseña distinta de la "
            "permitida (alguien pudo modificarlo): no se usará. No se ha modificado nada; avise "
            "a la coordinación y no escriba su contraseña en este equipo hasta revisarlo."))
    return params


@dataclass(frozen=True)
class Unlocked:
    """What a passphrase or the recovery key opened: one candidate raw key."""
    slot_id: str
    raw_key: bytes
    gen: str | None         # None: a format-1 slot (wraps the raw key itself)
    db_salt: str | None = None  # the salt (first 16 bytes) of the vault.db it was sealed for


@dataclass
class KeySlots:
    path: Path
    vault_id: str
    slots: dict[str, dict] = field(default_factory=dict)
    legacy_salt: str | None = None      # format-1 slots are bound to HMAC(salt, name) ids
    # Boxes added now record this database salt (hex): a key that does not open vault.db is
    # then told apart from a damaged file (the slot file is an old copy, or another vault's).
    db_salt: str | None = field(default=None, compare=False)

    # ------------------------------------------------------------ file
    @classmethod
    def new(cls, path: Path, vault_id: str) -> "KeySlots":
        return cls(path, vault_id, {})

    @classmethod
    def load(cls, path: Path) -> "KeySlots":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") == LEGACY_FORMAT:
                return cls._from_legacy(path, raw)
            if raw.get("format") != FORMAT:
                raise ValueError("format")
            slots = {}
            for s in raw["slots"]:
                if not isinstance(s["id"], str) or not isinstance(s["kdf"], dict):
                    raise ValueError("slot")
                slots[s["id"]] = s
            legacy = raw.get("legacy_salt")
            if legacy is not None and not isinstance(legacy, str):
                raise ValueError("legacy")
            return cls(path, str(raw["vault_id"]), slots, legacy)
        except FileNotFoundError:
            raise VaultDamaged(_("Falta el archivo de llaves de la bóveda (keyslots.json). "
                                 "Restaure una copia de seguridad.")) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # e.g. a JSON list
            raise VaultDamaged(_("El archivo de llaves de la bóveda está dañado. "
                                 "Restaure una copia de seguridad.")) from None

    @classmethod
    def _from_legacy(cls, path: Path, raw: dict) -> "KeySlots":
        """A format-1 file in memory: random ids, the HMAC ids forgotten (recomputed from the
        name typed, only to check the AEAD data)."""
        slots = {}
        for s in raw["slots"]:
            sid = _rand_hex()
            recovery = s["id"] == RECOVERY_SLOT
            if not recovery and not str(s["id"]).startswith("u-"):
                raise ValueError("slot")
            slots[sid] = {"id": sid, "v": 1, "kdf": s["kdf"], "nonce": s["nonce"],
                          "wrapped": s["wrapped"], **({"recovery": True} if recovery else {})}
        return cls(path, str(raw["vault_id"]), slots, str(raw["user_salt"]))

    def to_json(self) -> dict:
        out = {"format": FORMAT, "vault_id": self.vault_id, "slots": list(self.slots.values())}
        if self.legacy_salt is not None and any(s.get("v") == 1 and not s.get("recovery")
                                                for s in self.slots.values()):
            out["legacy_salt"] = self.legacy_salt
        return out

    def save(self) -> None:
        """Atomic replace with fsync: a power cut leaves the old file or the new, never half."""
        write_private(self.path, json.dumps(self.to_json(), indent=1).encode("utf-8"))

    # ------------------------------------------------------------ reading
    @property
    def has_legacy(self) -> bool:
        return any(s.get("v") == 1 for s in self.slots.values())

    def user_kdf(self) -> crypto.KdfParams | None:
        """The Argon2id parameters (and salt) new user slots share, floors enforced."""
        for s in self.slots.values():
            if s.get("v") != 1 and s["kdf"].get("alg") == "argon2id":
                return check_floors(s["kdf"])
        return None

    def _aad(self, slot_id: str, kdf: dict) -> bytes:
        # Binds a slot to this vault, its id and its KDF parameters.
        return _canon(["cpc-keyslot", FORMAT, self.vault_id, slot_id, kdf])

    def _box_aad(self, slot_id: str, gen: str) -> bytes:
        return _canon(["cpc-keybox", FORMAT, self.vault_id, slot_id, gen])

    def _legacy_aad(self, old_id: str) -> bytes:
        return f"cpc-keyslot|{self.vault_id}|{old_id}".encode()

    def _open_boxes(self, slot: dict, kek: bytes) -> list[Unlocked]:
        secret = crypto.unwrap(kek, slot["nonce"], slot["wrapped"],
                               self._aad(slot["id"], slot["kdf"]))
        if secret is None or len(secret) != 32:
            return []
        private = X25519PrivateKey.from_private_bytes(secret)
        pub = _pub_bytes(private)
        found = []
        for box in slot.get("boxes", []):
            try:
                epk = crypto.unb64(box["epk"])
                key = _box_key(private.exchange(X25519PublicKey.from_public_bytes(epk)), epk, pub)
                raw = AESGCM(key).decrypt(crypto.unb64(box["nonce"]), crypto.unb64(box["sealed"]),
                                          self._box_aad(slot["id"], box["gen"]))
            except Exception:  # noqa: BLE001 — a decoy or an altered box: not this one
                continue
            found.append(Unlocked(slot["id"], raw, box["gen"], box.get("db")))
        return found

    def unlock_user_all(self, user: str, passphrase: str) -> list[Unlocked]:
        """Every raw key this name and passphrase open (one, except after an interrupted
        re-key). Raises WrongPassphrase (the same for an unknown name) or WeakKeySlot."""
        login = normalize_user(user)
        secret = (login + "\0" + passphrase).encode("utf-8")
        found: list[Unlocked] = []
        weak: WeakKeySlot | None = None
        groups: dict[bytes, list[dict]] = {}
        for s in self.slots.values():
            if s.get("v") != 1 and s["kdf"].get("alg") == "argon2id":
                groups.setdefault(_canon(s["kdf"]), []).append(s)
        if not groups and not self.has_legacy:
            # Same cost either way: the time taken does not tell whether a slot matched.
            crypto.KdfParams(salt=crypto.new_salt()).derive(passphrase)
        for members in groups.values():
            try:
                params = check_floors(members[0]["kdf"])
            except WeakKeySlot as exc:
                weak = exc
                continue
            kek = _derive_raw(params, secret)
            for s in members:
                found += self._open_boxes(s, kek)
        if not found and self.has_legacy:
            found = self._unlock_legacy(login, passphrase)
        if found:
            return found
        if weak is not None:
            raise weak
        raise WrongPassphrase(_("Usuario o contraseña incorrectos."))

    def _unlock_legacy(self, login: str, passphrase: str) -> list[Unlocked]:
        old_id = "u-" + hmac.new(crypto.unb64(self.legacy_salt or ""), login.encode("utf-8"),
                                 hashlib.sha256).hexdigest()[:32]
        for s in self.slots.values():
            if s.get("v") != 1 or s.get("recovery"):
                continue
            params = check_floors(s["kdf"])
            raw = crypto.unwrap(params.derive(passphrase), s["nonce"], s["wrapped"],
                                self._legacy_aad(old_id))
            if raw is not None:
                return [Unlocked(s["id"], raw, None)]
        return []

    def unlock_user(self, user: str, passphrase: str) -> bytes:
        """The raw key (the first candidate): for code that opens a copy (backups)."""
        return self.unlock_user_all(user, passphrase)[0].raw_key

    def unlock_recovery_all(self, recovery_text: str) -> list[Unlocked]:
        key = crypto.parse_recovery_key(recovery_text)
        found: list[Unlocked] = []
        any_slot = False
        for s in self.slots.values():
            if s["kdf"].get("alg") != HKDF_ALG:
                continue
            any_slot = True
            if s.get("v") == 1:
                kek = crypto.hkdf(key, s["kdf"]["salt"], _RECOVERY_INFO)
                raw = crypto.unwrap(kek, s["nonce"], s["wrapped"], self._legacy_aad(RECOVERY_SLOT))
                if raw is not None:
                    found.append(Unlocked(s["id"], raw, None))
            else:
                found += self._open_boxes(s, crypto.hkdf(key, s["kdf"]["salt"], _RECOVERY_INFO_2))
        if not any_slot:
            raise BadRecoveryKey(_("Esta bóveda no tiene clave de recuperación."))
        if not found:
            raise BadRecoveryKey(_("La clave de recuperación no corresponde a esta bóveda."))
        return found

    def unlock_recovery(self, recovery_text: str) -> bytes:
        return self.unlock_recovery_all(recovery_text)[0].raw_key

    # ------------------------------------------------------------ writing
    def _new_slot(self, kdf: dict, kek: bytes, raw_key: bytes, gen: str) -> tuple[str, str]:
        slot_id = _rand_hex()
        private = X25519PrivateKey.generate()
        secret = private.private_bytes(serialization.Encoding.Raw,
                                       serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption())
        nonce, wrapped = crypto.wrap(kek, secret, self._aad(slot_id, kdf))
        pub = crypto.b64(_pub_bytes(private))
        self.slots[slot_id] = {"id": slot_id, "kdf": kdf, "nonce": nonce, "wrapped": wrapped,
                               "boxes": []}
        self.add_box(slot_id, pub, raw_key, gen)
        return slot_id, pub

    def add_user(self, user: str, passphrase: str, raw_key: bytes, gen: str,
                 params: crypto.KdfParams | None = None) -> tuple[str, str]:
        """A new slot for this name and passphrase; returns (slot id, public key) to register
        in the encrypted key_slots table. Every user slot shares one salt and parameters."""
        shared = self.user_kdf()
        if shared is None:
            base = params or crypto.KdfParams(salt=crypto.new_salt())
            check_floors(base.to_json())
            shared = crypto.KdfParams(salt=crypto.new_salt(), iterations=base.iterations,
                                      memory_kib=base.memory_kib, lanes=base.lanes)
        secret = (normalize_user(user) + "\0" + passphrase).encode("utf-8")
        return self._new_slot(shared.to_json(), _derive_raw(shared, secret), raw_key, gen)

    def set_recovery(self, recovery_key: bytes, raw_key: bytes, gen: str) -> tuple[str, str]:
        """A new recovery slot (an older one stays until prune/remove)."""
        kdf = {"alg": HKDF_ALG, "salt": crypto.new_salt()}
        return self._new_slot(kdf, crypto.hkdf(recovery_key, kdf["salt"], _RECOVERY_INFO_2),
                              raw_key, gen)

    def add_box(self, slot_id: str, pub: str, raw_key: bytes, gen: str) -> None:
        """Seals `raw_key` to a slot's public key (re-key: no passphrase needed)."""
        ephemeral = X25519PrivateKey.generate()
        peer = crypto.unb64(pub)
        epk = _pub_bytes(ephemeral)
        key = _box_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(peer)), epk, peer)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, raw_key, self._box_aad(slot_id, gen))
        box = {"gen": gen, "epk": crypto.b64(epk), "nonce": crypto.b64(nonce),
               "sealed": crypto.b64(sealed)}
        if self.db_salt:
            box["db"] = self.db_salt
        self.slots[slot_id].setdefault("boxes", []).append(box)

    def remove(self, slot_id: str) -> None:
        self.slots.pop(slot_id, None)

    def remove_legacy(self, wrapped: str) -> None:
        """Drops the format-1 slot holding `wrapped` (ids of a format-1 file are made up
        anew at each load, so the content identifies it)."""
        self.slots = {k: s for k, s in self.slots.items()
                      if not (s.get("v") == 1 and s.get("wrapped") == wrapped)}

    def prune(self, gen: str, real: set[str]) -> None:
        """Keeps only boxes of the raw key `gen` in the slots registered in the database
        (`real`), drops every other slot (old recovery, format-1 slots of an older key), then
        pads with fresh decoys."""
        kept = {}
        for sid, s in self.slots.items():
            if sid not in real or s.get("v") == 1:
                continue
            boxes = [b for b in s.get("boxes", []) if b.get("gen") == gen]
            if boxes:
                kept[sid] = {**s, "boxes": boxes}
        self.slots = kept
        self.pad(gen)

    def repad(self, gen: str, real: set[str]) -> None:
        """Drops decoys and unregistered slots (format-1 ones stay), then pads again."""
        self.slots = {sid: s for sid, s in self.slots.items() if sid in real or s.get("v") == 1}
        self.pad(gen)

    def pad(self, gen: str) -> None:
        shared = self.user_kdf()
        if shared is None:
            return
        users = [s for s in self.slots.values() if s["kdf"].get("alg") != HKDF_ALG]
        missing = -len(users) % PAD or (PAD if not users else 0)
        for _i in range(missing):
            sid = _rand_hex()
            # Same shape and sizes as a real slot: a 32-byte key plus the GCM tag.
            self.slots[sid] = {"id": sid, "kdf": shared.to_json(),
                               "nonce": crypto.b64(os.urandom(12)),
                               "wrapped": crypto.b64(os.urandom(48)),
                               "boxes": [{"gen": gen, "epk": crypto.b64(os.urandom(32)),
                                          "nonce": crypto.b64(os.urandom(12)),
                                          "sealed": crypto.b64(os.urandom(48)),
                                          **({"db": self.db_salt} if self.db_salt else {})}]}
        # Order says nothing either (a new slot is not always last).
        items = sorted(self.slots.items())
        self.slots = dict(items)


def _derive_raw(params: crypto.KdfParams, secret: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(salt=crypto.unb64(params.salt), length=crypto.KEY_BYTES,
                    iterations=params.iterations, lanes=params.lanes,
                    memory_cost=params.memory_kib).derive(secret)


# ---------------------------------------------------------------- the encrypted registry

def registry(conn) -> dict[str, tuple[str | None, str]]:
    """{slot id: (user or None for recovery, public key)}; empty before the first format-2
    unlock of an older vault."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='key_slots'").fetchone():
        return {}
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, user, pub FROM key_slots")}


def register(conn, slot_id: str, user: str | None, pub: str) -> None:
    conn.execute(REGISTRY_SQL)
    conn.execute("INSERT OR REPLACE INTO key_slots VALUES (?,?,?)", (slot_id, user, pub))


def unregister_user(conn, user: str | None) -> None:
    conn.execute(REGISTRY_SQL)
    if user is None:
        conn.execute("DELETE FROM key_slots WHERE user IS NULL")
    else:
        conn.execute("DELETE FROM key_slots WHERE user=?", (user,))
