"""Batch and head files: the only things a hub ever stores.

A batch file, named `<seq:08d>-<sha256 of the file>.cpcb` under `cpc/<shelter>/<device>/`:

    "CPCB" | format (1 byte) | header length (2 bytes) | header (canonical JSON)
    | nonce (12) | AES-256-GCM ciphertext of the compressed payload | Ed25519 signature (64)

The header (format, shelter, device, sequence number, previous batch's hash, key epoch and key
id, per-batch salt, codec and — from format 2 — the author's view: the latest (sequence,
hash prefix) of every other device folder it had applied when it sealed the batch) is the
associated data of the encryption; the key is HKDF-SHA256 of
the shelter's sync key of that epoch with the salt; the signature by the device covers every
byte before it. A head file (`head.cpch`) is the device's signed latest (sequence, hash): a
reader compares it with what the folder lists and with what it has applied to find missing
batches and a hub that went back in time.
"""
from __future__ import annotations

import hashlib
import io
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
HEAD_FORMAT = 1
FORMAT = 2           # 2: the header carries the author's view of the heads it has seen
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
# A payload never decompresses past this (writers split before it): a bomb stops here, while
# streaming, with at most this much memory.
MAX_PLAIN_BYTES = 8 * 1024 * 1024
VIEW_HASH_CHARS = 32    # 128 bits of a batch's hash: enough to tell two histories apart
MAX_VIEW = 4096         # devices named in one view


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


def decompress(data: bytes, codec: str, limit: int = MAX_PLAIN_BYTES) -> bytes:
    """Raises ValueError past `limit` bytes of output, having produced at most that much."""
    if codec == "zstd":
        import zstandard

        out = bytearray()
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data),
                                                        read_across_frames=True) as reader:
            while True:
                chunk = reader.read(min(256 * 1024, limit + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
                if len(out) > limit:
                    raise ValueError("too large")
        return bytes(out)
    if codec == "zlib":
        d = zlib.decompressobj()
        plain = d.decompress(data, limit)
        if d.unconsumed_tail:
            raise ValueError("too large")
        return plain
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
    view: tuple = ()        # ((device, seq, hash prefix), …), format 2

    def fields(self) -> dict:
        d = dict(self.__dict__)
        if self.format < 2:
            d.pop("view")
        else:
            d["view"] = [list(v) for v in self.view]
        return d


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
         payload: bytes, codec: str = DEFAULT_CODEC, view=(),
         compressed: bytes | None = None) -> bytes:
    """A signed, encrypted batch of an already-serialized payload; `view` is what its author
    has seen of the other devices, [(device, seq, hash)…] (hashes are cut here).
    `compressed`: the payload already compressed with `codec` (zstd -19 is slow to redo)."""
    header = Header(FORMAT, shelter, ident.device, seq, prev, key.epoch, key.kid,
                    crypto.b64(os.urandom(16)), codec,
                    tuple(sorted((d, s, h[:VIEW_HASH_CHARS]) for d, s, h in view)))
    hbytes = canonical(header.fields())
    head = MAGIC + bytes([FORMAT]) + len(hbytes).to_bytes(2, "big") + hbytes
    nonce = os.urandom(NONCE_BYTES)
    ct = AESGCM(_batch_key(key, header)).encrypt(
        nonce, compressed if compressed is not None else compress(payload, codec), head)
    signed = head + nonce + ct
    return signed + ident.sign(signed)


def overhead(shelter: str, device: str, view=()) -> int:
    """Bytes a batch adds around its compressed payload (header, nonce, tag, signature)."""
    header = Header(FORMAT, shelter, device, 99999999, "f" * 64, 9999, "ffffffff",
                    "A" * 24, "zstd", tuple((d, 99999999, "f" * VIEW_HASH_CHARS)
                                            for d, _s, _h in view))
    return 7 + len(canonical(header.fields())) + NONCE_BYTES + TAG_BYTES + SIG_BYTES


def parse(data: bytes, *, name: str, shelter: str, device: str) -> Parsed:
    """Checks what can be checked without keys: the file is whole, of a format this program
    reads, where it claims to be. Raises BatchRefused."""
    def refuse(msg: str) -> BatchRefused:
        return BatchRefused(msg, shelter=shelter, device=device, name=name)

    m = BATCH_RE.match(name)
    if not m:
        raise refuse(_("Un archivo del punto de intercambio no tiene nombre de paquete de cambios "
                       "de CPC; se ignoró."))
    if len(data) < 7 or data[:4] != MAGIC:
        if len(data) < 7 and MAGIC.startswith(data[:4]):
            raise refuse(_("Un paquete de cambios del punto de intercambio está incompleto (la "
                           "copia se interrumpió). Se "
                           "volverá a intentar en la próxima sincronización."))
        raise refuse(_("Un archivo del punto de intercambio no es un paquete de cambios de CPC "
                       "(está dañado o fue "
                       "reemplazado). No se aplicó nada de él."))
    if data[4] > FORMAT:
        raise refuse(_("Un paquete de cambios del punto de intercambio fue hecho por una versión "
                       "más nueva de CPC Desktop. "
                       "Actualice el programa para recibirlo; no se aplicó nada."))
    if data[4] < 1:
        raise refuse(_("Un archivo del punto de intercambio no es un paquete de cambios de CPC "
                       "(está dañado o fue "
                       "reemplazado). No se aplicó nada de él."))
    size = int.from_bytes(data[5:7], "big")
    if len(data) < 7 + size + NONCE_BYTES + TAG_BYTES + SIG_BYTES:
        raise refuse(_("Un paquete de cambios del punto de intercambio está incompleto (la copia "
                       "se interrumpió). Se volverá "
                       "a intentar en la próxima sincronización."))
    digest = sha256(data)
    if digest != m.group(2):
        raise refuse(_("Un paquete de cambios del punto de intercambio está incompleto o alterado: "
                       "su contenido no coincide "
                       "con su nombre. No se aplicó nada de él; si la copia se interrumpió, "
                       "se repondrá en la próxima sincronización del equipo que lo hizo."))
    try:
        raw = json.loads(data[7:7 + size])
        if data[4] != raw.get("format") or (data[4] < 2) != ("view" not in raw):
            raise TypeError
        if "view" in raw:
            raw["view"] = _check_view(raw["view"])
        header = Header(**raw)
        if not (isinstance(header.seq, int) and isinstance(header.epoch, int)
                and isinstance(header.shelter, str) and isinstance(header.device, str)
                and isinstance(header.prev, str) and isinstance(header.salt, str)):
            raise TypeError
    except (ValueError, TypeError):
        raise refuse(_("Un paquete de cambios del punto de intercambio está dañado o fue alterado. "
                       "No se aplicó nada de él.")
                     ) from None
    if header.shelter != shelter:
        raise refuse(_("Un paquete de cambios de otro centro estaba en la carpeta de este centro; "
                       "se "
                       "rechazó."))
    if header.device != device or header.seq != int(m.group(1)):
        raise refuse(_("Un paquete de cambios del punto de intercambio está fuera de su lugar "
                       "(copiado de otro equipo o con "
                       "otro número): posible repetición maliciosa. Se rechazó."))
    return Parsed(header, data[:7 + size], data[7 + size:-SIG_BYTES], data[:-SIG_BYTES],
                  data[-SIG_BYTES:], digest)


def _check_view(view) -> tuple:
    if not isinstance(view, list) or len(view) > MAX_VIEW:
        raise TypeError
    out = []
    for item in view:
        dev, seq, digest = item     # ValueError/TypeError when not a triple
        if not (isinstance(dev, str) and 0 < len(dev) <= 64 and isinstance(seq, int)
                and not isinstance(seq, bool) and 0 < seq < 10 ** 8 and isinstance(digest, str)
                and len(digest) == VIEW_HASH_CHARS and HASH_RE.match(digest + "0" * 32)):
            raise TypeError
        out.append((dev, seq, digest))
    return tuple(out)


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
        raise BatchRefused(_("Un paquete de cambios del punto de intercambio está dañado o fue "
                             "alterado (no se puede "
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
    signed = HEAD_MAGIC + bytes([HEAD_FORMAT]) + len(body).to_bytes(2, "big") + body
    return signed + ident.sign(signed)


def parse_head(data: bytes, sign_pub_b64: str | None) -> Head | None:
    """The head if whole, of a known format and (when the key is given) correctly signed."""
    if len(data) < 7 + SIG_BYTES or data[:4] != HEAD_MAGIC or data[4] != HEAD_FORMAT:
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
