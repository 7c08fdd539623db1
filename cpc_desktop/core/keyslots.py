"""Key slots: the vault's raw key, wrapped once per user passphrase and once by the recovery key.

The slot file (keyslots.json beside vault.db) is the only part of a vault that is not inside
SQLCipher, so it holds no names: a user's slot is found by an HMAC of the user name under a
per-vault salt. Changing a passphrase or recovering rewrites one slot, never the data.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from . import crypto
from .files import write_private
from .errors import BadRecoveryKey, UnknownUser, VaultDamaged, WrongPassphrase
from .i18n import _

FORMAT = 1
RECOVERY_SLOT = "recovery"
_RECOVERY_INFO = b"cpc-desktop recovery slot v1"


def normalize_user(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class KeySlots:
    path: Path
    vault_id: str
    user_salt: str
    slots: dict[str, dict]

    # ------------------------------------------------------------ file
    @classmethod
    def new(cls, path: Path, vault_id: str) -> "KeySlots":
        return cls(path, vault_id, crypto.new_salt(), {})

    @classmethod
    def load(cls, path: Path) -> "KeySlots":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT:
                raise ValueError("format")
            return cls(path, raw["vault_id"], raw["user_salt"],
                       {s["id"]: s for s in raw["slots"]})
        except FileNotFoundError:
            raise VaultDamaged(_("Falta el archivo de llaves de la bóveda (keyslots.json). "
                                 "Restaure una copia de seguridad.")) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # e.g. a JSON list
            raise VaultDamaged(_("El archivo de llaves de la bóveda está dañado. "
                                 "Restaure una copia de seguridad.")) from None

    def to_json(self) -> dict:
        return {"format": FORMAT, "vault_id": self.vault_id, "user_salt": self.user_salt,
                "slots": list(self.slots.values())}

    def save(self) -> None:
        """Atomic replace with fsync: a power cut leaves the old file or the new, never half."""
        write_private(self.path, json.dumps(self.to_json(), indent=1).encode("utf-8"))

    # ------------------------------------------------------------ slots
    def user_slot_id(self, user: str) -> str:
        digest = hmac.new(crypto.unb64(self.user_salt), normalize_user(user).encode("utf-8"),
                          hashlib.sha256).hexdigest()
        return "u-" + digest[:32]

    def _aad(self, slot_id: str) -> bytes:
        # Binds a slot to this vault and this user: slots cannot be swapped between them.
        return f"cpc-keyslot|{self.vault_id}|{slot_id}".encode()

    def has_user(self, user: str) -> bool:
        return self.user_slot_id(user) in self.slots

    def set_user(self, user: str, passphrase: str, raw_key: bytes,
                 params: crypto.KdfParams | None = None) -> None:
        params = params or crypto.KdfParams(salt=crypto.new_salt())
        params = crypto.KdfParams(salt=crypto.new_salt(), iterations=params.iterations,
                                  memory_kib=params.memory_kib, lanes=params.lanes)
        slot_id = self.user_slot_id(user)
        nonce, wrapped = crypto.wrap(params.derive(passphrase), raw_key, self._aad(slot_id))
        self.slots[slot_id] = {"id": slot_id, "kind": "user", "kdf": params.to_json(),
                               "nonce": nonce, "wrapped": wrapped}

    def remove_user(self, user: str) -> None:
        self.slots.pop(self.user_slot_id(user), None)

    def kdf_params(self, user: str) -> crypto.KdfParams:
        slot = self.slots.get(self.user_slot_id(user))
        if slot is None:
            raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
        return crypto.KdfParams.from_json(slot["kdf"])

    def unlock_user(self, user: str, passphrase: str) -> bytes:
        slot_id = self.user_slot_id(user)
        slot = self.slots.get(slot_id)
        # Same message for an unknown user and a wrong passphrase: it tells a thief nothing.
        if slot is None:
            # Same cost either way: derive with a real slot's parameters, so the time taken
            # does not tell whether a user name exists.
            users = [s for s in self.slots.values() if s.get("kind") == "user"]
            params = crypto.KdfParams.from_json(users[0]["kdf"]) if users else crypto.KdfParams(
                salt=crypto.new_salt())
            params.derive(passphrase)
            raise WrongPassphrase(_("Usuario o contraseña incorrectos."))
        kek = crypto.KdfParams.from_json(slot["kdf"]).derive(passphrase)
        raw = crypto.unwrap(kek, slot["nonce"], slot["wrapped"], self._aad(slot_id))
        if raw is None:
            raise WrongPassphrase(_("Usuario o contraseña incorrectos."))
        return raw

    def set_recovery(self, recovery_key: bytes, raw_key: bytes) -> None:
        salt = crypto.new_salt()
        kek = crypto.hkdf(recovery_key, salt, _RECOVERY_INFO)
        nonce, wrapped = crypto.wrap(kek, raw_key, self._aad(RECOVERY_SLOT))
        self.slots[RECOVERY_SLOT] = {"id": RECOVERY_SLOT, "kind": "recovery",
                                     "kdf": {"alg": "hkdf-sha256", "salt": salt},
                                     "nonce": nonce, "wrapped": wrapped}

    def unlock_recovery(self, recovery_text: str) -> bytes:
        key = crypto.parse_recovery_key(recovery_text)
        slot = self.slots.get(RECOVERY_SLOT)
        if slot is None:
            raise BadRecoveryKey(_("Esta bóveda no tiene clave de recuperación."))
        kek = crypto.hkdf(key, slot["kdf"]["salt"], _RECOVERY_INFO)
        raw = crypto.unwrap(kek, slot["nonce"], slot["wrapped"], self._aad(RECOVERY_SLOT))
        if raw is None:
            raise BadRecoveryKey(_("La clave de recuperación no corresponde a esta bóveda."))
        return raw



