"""Batch and head files: the only things a hub ever stores.

A batch file, named `<seq:08d>-<sha256 of the file>.cpcb` under `cpc/<shelter>/<device>/`:

    "CPCB" | format (1 byte) | header length (2 bytes) | header (canonical JSON)
    | nonce (12) | AES-256-GCM ciphertext of the compressed payload | Ed25519 signature (64)

The header (format, shelter, device, sequence number, previous batch's hash, key epoch and key
id, per-batch salt, codec) is the associated data of the encryption; the key is HKDF-SHA256 of
the shelter's sync key of that epoch with the salt; the signature by the device covers every
byte before it. A head file (`head.cpch`) is the device's signed latest (sequence, hash): a
reader compares it with what the folder lists and with what it has applied to find missing
batches and a hub that went back in time.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import crypto
from ..core.i18n import _
from .devices import Identity, ShelterKey, canonical
from .errors import BatchRefused

MAGIC = b"CPCB"
HEAD_MAGIC = b"CPCH"
FORMAT = 1
MAX_BATCH_BYTES = 64 * 1024
SIG_BYTES = 64
NONCE_BYTES = 12
TAG_BYTES = 16
HEAD_NAME = "head.cpch"
BATCH_RE = re.compile(r"^(\d{8})-([0-9a-f]{64})\.cpcb$")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
BATCH_INFO = b"cpc-batch-v1"
# zstd: about as small as zlib -9 on these payloads and several times faster (benchmarks/
# bench_sync.py prints both); zlib stays readable so a batch of either codec opens anywhere.
DEFAULT_CODEC = "zstd"
MAX_PLAIN_BYTES = 32 * 1024 * 1024  # a decompression bomb stops here


def batch_name(seq: int, digest: str) -> str:
    return f"{seq:08d}-{digest}.cpcb"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- compression

def compress(data: bytes, codec: str) -> bytes:
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=19).compress(data)
    if codec == "zlib":
        return zlib.compress(data, 9)
    raise ValueError(codec)


def decompress(data: bytes, codec: str) -> bytes:
    if codec == "zstd":
        import zstandard

        out = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        if len(out) > MAX_PLAIN_BYTES:
            raise ValueError("too large")
        return out
    if codec == "zlib":
        d = zlib.decompressobj()
        out = d.decompress(data, MAX_PLAIN_BYTES)
        if d.unconsumed_tail:
            raise ValueError("too large")
        return out
    raise ValueError(codec)


# ---------------------------------------------------------------- batches

@dataclass(frozen=True)
class Header:
    format: int
    shelter: str
    device: str
    seq: int
    prev: str
    epoch: int
    kid: str
    salt: str
    codec: str


@dataclass(frozen=True)
class Parsed:
    header: Header
    header_bytes: bytes     # magic .. header (the associated data)
    body: bytes             # nonce + ciphertext
    signed: bytes           # everything the signature covers
    signature: bytes
    digest: str


def _batch_key(key: ShelterKey, header: Header) -> bytes:
    return crypto.hkdf(key.key, header.salt, BATCH_INFO + b"|" + canonical(
        [header.shelter, header.device, header.seq]))


def seal(ident: Identity, key: ShelterKey, *, shelter: str, seq: int, prev: str,
         payload: bytes, codec: str = DEFAULT_CODEC) -> bytes:
    """A signed, encrypted batch of an already-serialized payload."""
    header = Header(FORMAT, shelter, ident.device, seq, prev, key.epoch, key.kid,
                    crypto.b64(os.urandom(16)), codec)
    hbytes = canonical(header.__dict__)
    head = MAGIC + bytes([FORMAT]) + len(hbytes).to_bytes(2, "big") + hbytes
    nonce = os.urandom(NONCE_BYTES)
    ct = AESGCM(_batch_key(key, header)).encrypt(nonce, compress(payload, codec), head)
    signed = head + nonce + ct
    return signed + ident.sign(signed)


def overhead(shelter: str, device: str) -> int:
    """Bytes a batch adds around its compressed payload (header, nonce, tag, signature)."""
    header = Header(FORMAT, shelter, device, 99999999, "f" * 64, 9999, "ffffffff",
                    "A" * 24, "zstd")
    return 7 + len(canonical(header.__dict__)) + NONCE_BYTES + TAG_BYTES + SIG_BYTES


def parse(data: bytes, *, name: str, shelter: str, device: str) -> Parsed:
    """Checks what can be checked without keys: the file is whole, of a format this program
    reads, where it claims to be. Raises BatchRefused."""
    def refuse(msg: str) -> BatchRefused:
        return BatchRefused(msg, shelter=shelter, device=device, name=name)

    m = BATCH_RE.match(name)
    if not m:
        raise refuse(_("Un archivo del hub no tiene nombre de lote de CPC; se ignoró."))
    if len(data) < 7 or data[:4] != MAGIC:
        if len(data) < 7 and MAGIC.startswith(data[:4]):
            raise refuse(_("Un lote del hub está incompleto (la copia se interrumpió). Se "
                           "volverá a intentar en la próxima sincronización."))
        raise refuse(_("Un archivo del hub no es un lote de CPC (está dañado o fue "
                       "reemplazado). No se aplicó nada de él."))
    if data[4] > FORMAT:
        raise refuse(_("Un lote del hub fue hecho por una versión más nueva de CPC Desktop. "
                       "Actualice el programa para recibirlo; no se aplicó nada."))
    if data[4] < 1:
        raise refuse(_("Un archivo del hub no es un lote de CPC (está dañado o fue "
                       "reemplazado). No se aplicó nada de él."))
    size = int.from_bytes(data[5:7], "big")
    if len(data) < 7 + size + NONCE_BYTES + TAG_BYTES + SIG_BYTES:
        raise refuse(_("Un lote del hub está incompleto (la copia se interrumpió). Se volverá "
                       "a intentar en la próxima sincronización."))
    digest = sha256(data)
    if digest != m.group(2):
        raise refuse(_("Un lote del hub está incompleto o alterado: su contenido no coincide "
                       "con su nombre. No se aplicó nada de él; si la copia se interrumpió, "
                       "se repondrá en la próxima sincronización del equipo que lo hizo."))
    try:
        raw = json.loads(data[7:7 + size])
        header = Header(**raw)
        if not (isinstance(header.seq, int) and isinstance(header.epoch, int)
                and isinstance(header.shelter, str) and isinstance(header.device, str)
                and isinstance(header.prev, str) and isinstance(header.salt, str)):
            raise TypeError
    except (ValueError, TypeError):
        raise refuse(_("Un lote del hub está dañado o fue alterado. No se aplicó nada de él.")
                     ) from None
    if header.shelter != shelter:
        raise refuse(_("Un lote de otro centro estaba en la carpeta de este centro; se "
                       "rechazó."))
    if header.device != device or header.seq != int(m.group(1)):
        raise refuse(_("Un lote del hub está fuera de su lugar (copiado de otro equipo o con "
                       "otro número): posible repetición maliciosa. Se rechazó."))
    return Parsed(header, data[:7 + size], data[7 + size:-SIG_BYTES], data[:-SIG_BYTES],
                  data[-SIG_BYTES:], digest)


def verify_signature(parsed: Parsed, sign_pub_b64: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(crypto.unb64(sign_pub_b64)).verify(
            parsed.signature, parsed.signed)
        return True
    except (InvalidSignature, ValueError):
        return False


def open_payload(parsed: Parsed, key: ShelterKey) -> bytes:
    """Decrypts and decompresses; raises BatchRefused when the content was altered."""
    h = parsed.header
    try:
        plain = AESGCM(_batch_key(key, h)).decrypt(parsed.body[:NONCE_BYTES],
                                                   parsed.body[NONCE_BYTES:],
                                                   parsed.header_bytes)
        return decompress(plain, h.codec)
    except (InvalidTag, ValueError, Exception) as exc:  # zstd raises its own error type
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise BatchRefused(_("Un lote del hub está dañado o fue alterado (no se puede "
                             "descifrar). No se aplicó nada de él."),
                           shelter=h.shelter, device=h.device) from None


# ---------------------------------------------------------------- heads

@dataclass(frozen=True)
class Head:
    shelter: str
    device: str
    seq: int
    hash: str
    at: str


def seal_head(ident: Identity, head: Head) -> bytes:
    body = canonical(head.__dict__)
    signed = HEAD_MAGIC + bytes([FORMAT]) + len(body).to_bytes(2, "big") + body
    return signed + ident.sign(signed)


def parse_head(data: bytes, sign_pub_b64: str | None) -> Head | None:
    """The head if whole, of a known format and (when the key is given) correctly signed."""
    if len(data) < 7 + SIG_BYTES or data[:4] != HEAD_MAGIC or data[4] != FORMAT:
        return None
    size = int.from_bytes(data[5:7], "big")
    if len(data) != 7 + size + SIG_BYTES:
        return None
    if sign_pub_b64 is not None:
        try:
            Ed25519PublicKey.from_public_bytes(crypto.unb64(sign_pub_b64)).verify(
                data[-SIG_BYTES:], data[:-SIG_BYTES])
        except (InvalidSignature, ValueError):
            return None
    try:
        head = Head(**json.loads(data[7:7 + size]))
        if not isinstance(head.seq, int):
            return None
        return head
    except (ValueError, TypeError):
        return None
