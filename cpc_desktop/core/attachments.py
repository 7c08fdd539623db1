"""Attachments: photos and scanned documents of a resident, inside the encrypted vault.

The only writer of the tables `attachments` and `attachment_chunks` (tests/test_single_writer.py).
A file's content is checked (it is what its name says, it decodes), photos are downscaled and
stripped of their metadata (EXIF with GPS) unless the original is asked for, then stored as
chunks of at most 64 KiB keyed by the SHA-256 of their bytes, in the SQLCipher database, in the
same transaction as its row: nothing is ever written in clear, nothing half-stored. Why in the
database and not beside it: docs/attachments.md (benchmarks/bench_attachments.py).

Sync (sync/attachments.py) carries the rows inside the signed record batches and the chunks as
their own encrypted files; until they all arrived an attachment is `present=False`.
"""
from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import audit, connection, disclosure, forms
from .errors import CpcError, NotFound, VaultDiskFull
from .i18n import _
from .ids import uuid7
from .users import Action

CHUNK_BYTES = 64 * 1024
MAX_FILE_BYTES = 25 * 1024 * 1024     # a scanned resolution is a few MB; a video is not for here
MAX_PIXELS = 80_000_000               # past this a "photo" is a decompression bomb
PHOTO_LONG_SIDE = 1600                # enough to recognise a face and read a document
JPEG_QUALITY = 85
KIND_LIST = "attachment_kind"
PHOTO_KIND = "foto"
MIMES = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
_SUFFIXES = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".pdf": "pdf",
             ".heic": "heic", ".heif": "heic"}
_TYPE_NAMES = {"jpeg": "JPEG", "png": "PNG", "pdf": "PDF", "heic": "HEIC"}
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class AttachmentError(CpcError):
    """Bad input or an attachment that cannot be used: the message is for the user."""


class AttachmentMissing(AttachmentError):
    """The content has not arrived by sync yet."""


@dataclass(frozen=True)
class Attachment:
    id: str
    resident_id: str
    record_id: str | None
    kind: str
    date: str
    note: str
    filename: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    created_at: str
    created_by: str
    present: bool

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


_COLUMNS = ("id", "resident_id", "record_id", "kind", "date", "note", "filename", "mime", "size",
            "sha256", "width", "height", "created_at", "created_by", "present")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM attachments"


def _row(r) -> Attachment:
    c = dict(zip(_COLUMNS, r))
    c["present"] = bool(c["present"])
    return Attachment(**c)


def missing_text() -> str:
    return _("Este adjunto llegará en la próxima sincronización.")


# ---------------------------------------------------------------- checking what comes in

def _detect(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:5] == b"%PDF-":
        return "pdf"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return "heic"
    return None


def _bad(text: str) -> AttachmentError:
    return AttachmentError(text)


def _read_source(source: Path) -> bytes:
    try:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_large(size)
        with open(source, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _bad(_("El archivo no se encuentra (no existe, o se movió o borró mientras se "
                     "adjuntaba). No se guardó nada; elíjalo de nuevo.")) from None
    except IsADirectoryError:
        raise _bad(_("Eso es una carpeta, no un archivo. Elija un archivo JPEG, PNG o "
                     "PDF. No se guardó nada.")) from None
    except PermissionError:
        raise _bad(_("No hay permiso para leer ese archivo. No se guardó nada; cópielo a "
                     "una carpeta suya e inténtelo de nuevo.")) from None
    except OSError:
        raise _bad(_("No se pudo leer ese archivo (el disco o la memoria USB falló o se "
                     "retiró). No se guardó nada; inténtelo de nuevo.")) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data))
    return data


def _too_large(size: int) -> AttachmentError:
    return _bad(_("El archivo pesa {size} MB; el máximo es {limit} MB. Escanee el documento "
                  "con menor resolución o en varias partes.").format(
        size=round(size / 2 ** 20), limit=MAX_FILE_BYTES // 2 ** 20))


def _corrupt(kind: str) -> AttachmentError:
    return _bad(_("El archivo {type} está dañado o incompleto y no se puede abrir. No se "
                  "guardó nada; vuelva a escanearlo o a copiarlo.").format(
        type=_TYPE_NAMES[kind]))


def prepare(data: bytes, filename: str, *, keep_original: bool = False
            ) -> tuple[bytes, str, int | None, int | None]:
    """(content to store, mime, width, height) of a file's bytes, or AttachmentError."""
    if not data:
        raise _bad(_("El archivo está vacío. No se guardó nada."))
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data))
    found = _detect(data)
    claimed = _SUFFIXES.get(Path(filename).suffix.lower())
    if found == "heic" or (found is None and claimed == "heic"):
        raise _bad(_("Las fotos HEIC (de iPhone) no se pueden leer aquí. Guárdela como JPEG "
                     "en el teléfono (o envíela por un medio que la convierta) y adjúntela "
                     "de nuevo. No se guardó nada."))
    if found is None:
        raise _bad(_("Ese archivo no es una foto JPEG o PNG ni un PDF (su contenido es de "
                     "otro tipo). Solo se pueden adjuntar JPEG, PNG y PDF. No se guardó nada."))
    if claimed is not None and claimed != found:
        raise _bad(_("El archivo se llama como un {named} pero su contenido es un {actual}: "
                     "no es lo que su nombre dice. No se guardó nada; compruebe que eligió el "
                     "archivo correcto.").format(named=_TYPE_NAMES[claimed],
                                                 actual=_TYPE_NAMES[found]))
    if found == "pdf":
        if b"%%EOF" not in data[-2048:]:
            raise _corrupt("pdf")
        return data, MIMES["pdf"], None, None
    return _image(data, found, keep_original)


def _image(data: bytes, kind: str, keep_original: bool
           ) -> tuple[bytes, str, int | None, int | None]:
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != kind.upper():
                raise _corrupt(kind)
            if probe.width * probe.height > MAX_PIXELS:     # read from the header: no decoding
                raise _too_many_pixels()
            probe.verify()
        im: Image.Image = Image.open(io.BytesIO(data))
        im.load()       # verify() does not decode: a truncated JPEG fails only here
    except AttachmentError:
        raise
    except Image.DecompressionBombError:    # Pillow's own limit, met while opening
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError, TypeError, EOFError):
        raise _corrupt(kind) from None
    if keep_original:
        return data, MIMES[kind], im.width, im.height
    # Turned as the camera said, then rewritten without any of the file's metadata.
    im = ImageOps.exif_transpose(im)
    im.thumbnail((PHOTO_LONG_SIDE, PHOTO_LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "jpeg":
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        if im.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            im = im.convert("RGBA")
        im.save(out, "PNG")
    return out.getvalue(), MIMES[kind], im.width, im.height


def _too_many_pixels() -> AttachmentError:
    return _bad(_("La imagen tiene demasiados píxeles para ser una foto o un escaneo. No se "
                  "guardó nada."))


def split(content: bytes) -> list[bytes]:
    return [content[i:i + CHUNK_BYTES] for i in range(0, len(content), CHUNK_BYTES)] or [b""]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- the API

def kinds() -> list[tuple[str, str]]:
    """(id, label in the current UI language) of the attachment types."""
    return [(c.value, _(c.label)) for c in forms.registry().choice_lists[KIND_LIST]]


def _check_kind(kind: str) -> None:
    if kind not in {k for k, _label in kinds()}:
        raise _bad(_("Tipo de adjunto desconocido: «{kind}». Tipos: {kinds}.").format(
            kind=kind, kinds=", ".join(k for k, _label in kinds())))


def add(vault, resident_id: str, source: Path | bytes, *, kind: str,
        filename: str | None = None, record_id: str | None = None, note: str = "",
        date: str | None = None, keep_original: bool = False,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None) -> Attachment:
    """Checks, prepares and stores one file for a resident (all of it or nothing)."""
    vault.require(Action.WRITE)
    _check_kind(kind)
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), filename or ""
    else:
        source = Path(source)
        data, name = _read_source(source), filename or source.name
    name = Path(name.replace("\\", "/")).name.strip()
    day = date or dt.date.today().isoformat()
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise _bad(_("La fecha del documento debe ser AAAA-MM-DD.")) from None
    content, mime, width, height = prepare(data, name, keep_original=keep_original)
    del data
    name = name or _default_name(mime)
    chunks = split(content)
    ids = [sha256(c) for c in chunks]
    att_id, now, who = uuid7(), audit.now_iso(), vault.user.name
    total = len(content)
    try:
        with vault.writing() as conn:
            shelter = _resident_shelter(conn, resident_id)
            if record_id is not None:
                row = conn.execute("SELECT resident_id, deleted FROM records WHERE id=?",
                                   (record_id,)).fetchone()
                if row is None or row[1] or row[0] != resident_id:
                    raise NotFound(_("Ese registro no existe o no es de este residente."))
            done = 0
            for cid, chunk in zip(ids, chunks):
                if cancelled is not None and cancelled():
                    raise AttachmentError(_("Se canceló: no se guardó nada del adjunto."))
                conn.execute("INSERT OR IGNORE INTO attachment_chunks(id, data) VALUES (?,?)",
                             (cid, chunk))
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            conn.execute(
                "INSERT INTO attachments(id, resident_id, record_id, shelter, kind, date, note, "
                "filename, mime, size, sha256, width, height, created_at, created_by, chunks, "
                "present, deleted, hlc, pending) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,0,?,1)",
                (att_id, resident_id, record_id, shelter, kind, day, note.strip(), name, mime,
                 total, sha256(content), width, height, now, who, json.dumps(ids),
                 vault.clock.now()))
            audit.append(conn, who, "attachment.add", resident_id,
                         {"attachment": att_id, "kind": kind, "mime": mime, "size": total})
    except OSError as exc:
        raise _disk_error(exc) from None
    except VaultDiskFull:
        raise _disk_error(OSError(errno.ENOSPC, "")) from None
    return get(vault, att_id)


def _disk_error(exc: OSError) -> AttachmentError:
    if connection.disk_full(exc):
        return _bad(_("El disco está lleno: el adjunto no se guardó y no quedó nada a medias. "
                      "Libere espacio e inténtelo de nuevo."))
    return _bad(_("No se pudo escribir en la bóveda; el adjunto no se guardó y no quedó nada "
                  "a medias. Inténtelo de nuevo."))


def _default_name(mime: str) -> str:
    return {"image/jpeg": "foto.jpg", "image/png": "imagen.png"}.get(mime, "documento.pdf")


def _resident_shelter(conn, resident_id: str) -> str:
    row = conn.execute("SELECT r.shelter FROM residents s JOIN records r ON r.id = s.id "
                       "WHERE s.id=? AND s.deleted=0", (resident_id,)).fetchone()
    if row is None:
        raise NotFound(_("No existe ningún residente con ese identificador."))
    return row[0]


def list_for(vault, resident_id: str, *, record_id: str | None = None) -> list[Attachment]:
    """A resident's attachments (of one record when given), newest first, no tombstones; a
    resident others were joined into has theirs too."""
    vault.require(Action.READ)
    # A child registered twice and joined: the attachments of both, as for records.
    root, members = vault._family(resident_id)
    family = [root, *members]
    sql = f"{_SELECT} WHERE resident_id IN ({','.join('?' * len(family))}) AND deleted=0"
    args: list = family
    if record_id is not None:
        sql += " AND record_id=?"
        args.append(record_id)
    return [_row(r) for r in vault.read(sql + " ORDER BY date DESC, created_at DESC, id DESC",
                                        args)]


def get(vault, attachment_id: str) -> Attachment:
    vault.require(Action.READ)
    rows = vault.read(f"{_SELECT} WHERE id=? AND deleted=0", (attachment_id,))
    if not rows:
        raise NotFound(_("No existe ningún adjunto con ese identificador (o fue eliminado)."))
    return _row(rows[0])


def content(vault, attachment_id: str) -> bytes:
    """The stored bytes, checked against their SHA-256; AttachmentMissing before they arrive."""
    att = get(vault, attachment_id)
    if not att.present:
        raise AttachmentMissing(missing_text())
    with vault.reading() as conn:
        data = _assemble(conn, attachment_id)
    if data is None or sha256(data) != att.sha256:
        raise AttachmentError(_("El contenido de este adjunto está dañado en la bóveda. "
                                "Compruebe la bóveda («cpc check») para ver el alcance."))
    return data


def _assemble(conn, attachment_id: str) -> bytes | None:
    ids = json.loads(conn.execute("SELECT chunks FROM attachments WHERE id=?",
                                  (attachment_id,)).fetchone()[0])
    parts = []
    for cid in ids:
        row = conn.execute("SELECT data FROM attachment_chunks WHERE id=?", (cid,)).fetchone()
        if row is None:
            return None
        parts.append(bytes(row[0]))
    return b"".join(parts)


def thumbnail(vault, attachment_id: str, max_px: int = 256) -> bytes | None:
    """A PNG thumbnail made in memory; None for PDFs and for content not arrived yet."""
    from PIL import Image

    att = get(vault, attachment_id)
    if not att.is_image or not att.present:
        return None
    with Image.open(io.BytesIO(content(vault, attachment_id))) as im:
        im.thumbnail((max_px, max_px))
        out = io.BytesIO()
        (im if im.mode in ("RGB", "RGBA", "L", "LA", "P") else im.convert("RGB")).save(
            out, "PNG")
    return out.getvalue()


def photo_of(vault, resident_id: str) -> Attachment | None:
    """The resident's newest photo (kind "foto"), arrived or not."""
    photos = [a for a in list_for(vault, resident_id) if a.kind == PHOTO_KIND]
    return photos[0] if photos else None


def remove(vault, attachment_id: str) -> None:
    """A synced tombstone; the content leaves this vault (unless another attachment holds the
    same bytes)."""
    vault.require(Action.DELETE)
    att = get(vault, attachment_id)
    with vault.writing() as conn:
        conn.execute("UPDATE attachments SET deleted=1, deleted_hlc=?, pending=1 WHERE id=?",
                     (vault.clock.now(), attachment_id))
        _drop_unreferenced(conn, attachment_id)
        audit.append(conn, vault.user.name, "attachment.delete", att.resident_id,
                     {"attachment": attachment_id})


def _drop_unreferenced(conn, attachment_id: str) -> None:
    conn.execute(
        "DELETE FROM attachment_chunks WHERE id IN (SELECT j.value FROM attachments a, "
        "json_each(a.chunks) j WHERE a.id=?) AND id NOT IN (SELECT j.value FROM attachments a, "
        "json_each(a.chunks) j WHERE a.deleted=0)", (attachment_id,))


def export(vault, attachment_id: str, out: Path | str) -> Path:
    """Writes the content to a file the user chose (that is its purpose: in clear), logged as
    a disclosure."""
    att = get(vault, attachment_id)
    data = content(vault, attachment_id)
    out = Path(out)
    if out.is_dir():
        out = out / att.filename
    tmp = out.with_name(out.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AttachmentError(
            _("No se pudo escribir el archivo de salida: el disco está lleno.")
            if connection.disk_full(exc) else
            _("No se pudo escribir el archivo de salida (la carpeta no existe o no hay "
              "permiso). Elija otra carpeta.")) from None
    disclosure.record(vault, disclosure.ATTACHMENT_EXPORT, [att.resident_id],
                      attachment=attachment_id, kind=att.kind)
    return out


# ---------------------------------------------------------------- check (cpc check)

def check(conn) -> list[str]:
    """Problems of the stored attachments: chunks missing, content not matching its SHA-256."""
    problems = []
    rows = conn.execute("SELECT id, sha256, size FROM attachments WHERE deleted=0 AND present=1"
                        ).fetchall()
    missing = damaged = 0
    for att_id, digest, size in rows:
        data = _assemble(conn, att_id)
        if data is None:
            missing += 1
        elif len(data) != size or sha256(data) != digest:
            damaged += 1
    if missing:
        problems.append(_("a {n} adjuntos les faltan partes de su contenido").format(n=missing))
    if damaged:
        problems.append(_("{n} adjuntos tienen un contenido que no coincide con su huella "
                          "SHA-256").format(n=damaged))
    return problems


# ---------------------------------------------------------------- what sync moves

_SYNC_FIELDS = ("id", "resident_id", "record_id", "kind", "date", "note", "filename", "mime",
                "size", "sha256", "width", "height", "created_at", "created_by", "chunks",
                "deleted", "hlc", "deleted_hlc")


def outgoing(conn, shelter: str) -> list[dict]:
    """Rows of a shelter written here since the last export (new ones and tombstones)."""
    rows = conn.execute(f"SELECT {', '.join(_SYNC_FIELDS)} FROM attachments WHERE pending=1 "
                        "AND shelter=? ORDER BY hlc", (shelter,)).fetchall()
    out = []
    for r in rows:
        item = dict(zip(_SYNC_FIELDS, r))
        item["chunks"] = json.loads(item["chunks"])
        item["deleted"] = bool(item["deleted"])
        out.append(item)
    return out


def mark_sent(conn, ids: Iterable[str]) -> None:
    conn.executemany("UPDATE attachments SET pending=0 WHERE id=?", [(i,) for i in ids])


def _valid(item) -> bool:
    s = (str, type(None))
    try:
        return (isinstance(item, dict) and all(isinstance(item.get(k), str) for k in (
                    "id", "resident_id", "kind", "date", "filename", "mime", "sha256",
                    "created_at", "created_by", "hlc", "note"))
                and isinstance(item.get("record_id"), s) and isinstance(item.get("deleted_hlc"), s)
                and item["mime"] in MIMES.values() and bool(SHA_RE.match(item["sha256"]))
                and isinstance(item.get("size"), int) and 0 <= item["size"] <= MAX_FILE_BYTES
                and all(isinstance(item.get(k), (int, type(None))) for k in ("width", "height"))
                and isinstance(item.get("deleted"), bool)
                and isinstance(item.get("chunks"), list)
                and len(item["chunks"]) == max(1, -(-item["size"] // CHUNK_BYTES))
                and all(isinstance(c, str) and SHA_RE.match(c) for c in item["chunks"]))
    except (TypeError, ValueError):
        return False


def receive(conn, items, shelter: str) -> int:
    """Rows from another laptop's signed batch. Raises ValueError when one is malformed (the
    batch is refused). A tombstone wins; content already here makes the row present."""
    if not isinstance(items, list) or not all(_valid(i) for i in items):
        raise ValueError("attachment rows")
    for it in items:
        conn.execute(
            "INSERT INTO attachments(id, resident_id, record_id, shelter, kind, date, note, "
            "filename, mime, size, sha256, width, height, created_at, created_by, chunks, "
            "present, deleted, hlc, deleted_hlc, pending) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,0) ON CONFLICT(id) DO UPDATE SET "
            "deleted=max(deleted, excluded.deleted), deleted_hlc=coalesce(deleted_hlc, "
            "excluded.deleted_hlc)",
            (it["id"], it["resident_id"], it["record_id"], shelter, it["kind"], it["date"],
             it["note"], Path(it["filename"]).name, it["mime"], it["size"], it["sha256"],
             it["width"], it["height"], it["created_at"], it["created_by"],
             json.dumps(it["chunks"]), int(it["deleted"]), it["hlc"], it["deleted_hlc"]))
        if it["deleted"]:
            _drop_unreferenced(conn, it["id"])
        else:
            _settle(conn, it["id"])
    return len(items)


def _settle(conn, attachment_id: str) -> bool:
    """Marks an attachment present once every chunk is here and the whole matches its hash."""
    row = conn.execute("SELECT sha256, size, present, deleted FROM attachments WHERE id=?",
                       (attachment_id,)).fetchone()
    if row is None or row[2] or row[3]:
        return bool(row and row[2])
    data = _assemble(conn, attachment_id)
    if data is None or len(data) != row[1] or sha256(data) != row[0]:
        return False
    conn.execute("UPDATE attachments SET present=1 WHERE id=?", (attachment_id,))
    return True


def wanted_chunks(vault, shelter: str, max_bytes: int | None = None
                  ) -> list[tuple[str, list[str]]]:
    """(attachment id, chunk ids not here) of the shelter's live attachments still missing,
    oldest first; `max_bytes` leaves bigger ones for another link."""
    out = []
    with vault.reading() as conn:
        rows = conn.execute("SELECT id, chunks, size FROM attachments WHERE present=0 AND "
                            "deleted=0 AND shelter=? ORDER BY hlc", (shelter,)).fetchall()
        for att_id, chunks, size in rows:
            if max_bytes is not None and size > max_bytes:
                continue
            ids = list(dict.fromkeys(json.loads(chunks)))
            have = {r[0] for r in conn.execute(
                f"SELECT id FROM attachment_chunks WHERE id IN ({','.join('?' * len(ids))})",
                ids)}
            out.append((att_id, [c for c in ids if c not in have]))
    return out


def shared(vault, shelter: str, max_bytes: int | None = None) -> list[tuple[str, list[str]]]:
    """(attachment id, chunk ids) of the shelter's live attachments held whole here (what a
    hub should have), oldest first."""
    rows = vault.read("SELECT id, chunks FROM attachments WHERE present=1 AND deleted=0 AND "
                      "shelter=? AND (? IS NULL OR size<=?) ORDER BY hlc",
                      (shelter, max_bytes, max_bytes))
    return [(att_id, json.loads(chunks)) for att_id, chunks in rows]


def chunk(vault, chunk_id: str) -> bytes | None:
    with vault.reading() as conn:
        row = conn.execute("SELECT data FROM attachment_chunks WHERE id=?",
                           (chunk_id,)).fetchone()
    return bytes(row[0]) if row else None


def store_chunk(vault, attachment_id: str, chunk_id: str, data: bytes) -> bool:
    """Keeps one chunk that arrived (its own transaction: an interrupted transfer keeps what
    came); refused unless its bytes hash to the id the signed row named. True when the
    attachment became present."""
    if sha256(data) != chunk_id or len(data) > CHUNK_BYTES:
        raise ValueError("chunk does not match its id")
    with vault.writing() as conn:
        conn.execute("INSERT OR IGNORE INTO attachment_chunks(id, data) VALUES (?,?)",
                     (chunk_id, data))
        return _settle(conn, attachment_id)
