"""Key derivation and wrapping (cryptography): Argon2id for passphrases, HKDF for the recovery key,
AES-256-GCM to wrap the vault's raw key, and the typed form of a recovery key."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import BadRecoveryKey
from .i18n import _

KEY_BYTES = 32
# Floors from the foundation issue (and OWASP's 2023 Argon2id guidance): never weaker than this.
MIN_MEMORY_KIB = 64 * 1024
MIN_ITERATIONS = 3
MAX_MEMORY_KIB = 256 * 1024
LANES = 4


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True)
class KdfParams:
    salt: str
    iterations: int = MIN_ITERATIONS
    memory_kib: int = MIN_MEMORY_KIB
    lanes: int = LANES
    alg: str = "argon2id"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict) -> "KdfParams":
        params = cls(**raw)
        if params.alg != "argon2id" or params.iterations < 1 \
                or params.memory_kib < 8 * params.lanes:
            raise ValueError("bad KDF parameters")
        return params

    def derive(self, passphrase: str) -> bytes:
        return Argon2id(salt=unb64(self.salt), length=KEY_BYTES, iterations=self.iterations,
                        lanes=self.lanes, memory_cost=self.memory_kib).derive(
            passphrase.encode("utf-8"))


def new_salt() -> str:
    return b64(os.urandom(16))


def calibrate(target_seconds: float = 0.5) -> KdfParams:
    """Argon2id parameters that take about target_seconds here, never below the floors.

    Memory grows first (it is what makes guessing on GPUs expensive), then passes.
    """
    params = KdfParams(salt=new_salt())
    took = _time(params)
    while took < target_seconds * 0.6 and params.memory_kib < MAX_MEMORY_KIB:
        params = KdfParams(salt=params.salt, iterations=params.iterations,
                           memory_kib=params.memory_kib * 2)
        took = _time(params)
    if took < target_seconds:
        per_pass = took / params.iterations
        iterations = max(params.iterations, round(target_seconds / max(per_pass, 1e-6)))
        params = KdfParams(salt=params.salt, iterations=min(iterations, 64),
                           memory_kib=params.memory_kib)
    return params


def _time(params: KdfParams) -> float:
    start = time.perf_counter()
    params.derive("calibration")
    return time.perf_counter() - start


def wrap(kek: bytes, secret: bytes, aad: bytes) -> tuple[str, str]:
    nonce = os.urandom(12)
    return b64(nonce), b64(AESGCM(kek).encrypt(nonce, secret, aad))


def unwrap(kek: bytes, nonce: str, wrapped: str, aad: bytes) -> bytes | None:
    """The wrapped secret, or None when the key (passphrase) is wrong or the slot was altered."""
    try:
        return AESGCM(kek).decrypt(unb64(nonce), unb64(wrapped), aad)
    except InvalidTag:
        return None


def hkdf(secret: bytes, salt: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=unb64(salt), info=info).derive(
        secret)


# ---------------------------------------------------------------- codes people type
# Crockford base32 has no I, L, O, U, so typos between look-alikes fold. Used by the recovery
# key and by sync's invitation codes.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def encode_typed(value: int, chars: int, group: int) -> str:
    """`value` as `chars` Crockford base32 characters in dash-separated groups."""
    text = "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in range(chars))[::-1]
    return "-".join(text[i:i + group] for i in range(0, chars, group))


def decode_typed(text: str, chars: int) -> int | None:
    """The number a person typed (case, spaces, dashes and look-alikes forgiven), or None when
    it has the wrong length or a character outside the alphabet."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum()).translate(_FOLD)
    if len(cleaned) != chars or any(ch not in _ALPHABET for ch in cleaned):
        return None
    value = 0
    for ch in cleaned:
        value = (value << 5) | _ALPHABET.index(ch)
    return value


# ---------------------------------------------------------------- recovery key
# 128 random bits + a 22-bit checksum = 150 bits = 30 characters, printed as six groups of five.
RECOVERY_BYTES = 16
_CHECK_BITS = 22
_CHARS = 30


def _checksum(key: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"cpc-recovery" + key).digest()[:4], "big") >> (
        32 - _CHECK_BITS)


def new_recovery_key() -> tuple[bytes, str]:
    key = secrets.token_bytes(RECOVERY_BYTES)
    return key, format_recovery_key(key)


def format_recovery_key(key: bytes) -> str:
    return encode_typed((int.from_bytes(key, "big") << _CHECK_BITS) | _checksum(key), _CHARS, 5)


def parse_recovery_key(text: str) -> bytes:
    """The 16 key bytes from what a person typed (case, spaces, dashes and look-alikes forgiven)."""
    n = decode_typed(text, _CHARS)
    if n is None:
        raise BadRecoveryKey(_("La clave de recuperación debe tener 30 letras y números en seis "
                               "grupos de cinco."))
    key = (n >> _CHECK_BITS).to_bytes(RECOVERY_BYTES, "big")
    if n & ((1 << _CHECK_BITS) - 1) != _checksum(key):
        raise BadRecoveryKey(_("La clave de recuperación tiene un error de escritura: revise cada "
                               "grupo con la hoja impresa."))
    return key


# ---------------------------------------------------------------- device identity

DEVICE_ID_CONTEXT = b"cpc-device-v1|"


def device_id_for(sign_pub: bytes) -> str:
    """A device id derived from its Ed25519 public key: UUID-shaped (it ends every clock stamp
    and names the device's hub folder), version nibble 8 so it never looks like the UUIDv7 ids
    of vaults made before ids were derived."""
    h = hashlib.sha256(DEVICE_ID_CONTEXT + sign_pub).hexdigest()[:32]
    h = h[:12] + "8" + h[13:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_device_keys() -> tuple[str, str, str]:
    """(device id, Ed25519 private key, X25519 private key), keys raw and base64."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    raw, priv, none = ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption()
    sign, kx = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    pub = sign.public_key().public_bytes(raw, ser.PublicFormat.Raw)
    return (device_id_for(pub), b64(sign.private_bytes(raw, priv, none)),
            b64(kx.private_bytes(raw, priv, none)))
