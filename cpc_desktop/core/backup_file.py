"""The .cpcbackup format: a tar of manifest.json (format, vault id, shelter, schema version,
time, sha256 of each member), keyslots.json and vault.db (a SQLCipher copy under the same raw
key): nothing in it is readable without a passphrase or the recovery key. Written here;
checked, listed and restored by core/backups.py."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from . import audit
from .connection import DB_NAME, SLOTS_NAME, disk_full
from .errors import BackupError, VaultError
from .i18n import _
from .keyslots import KeySlots


def sha256_file(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def tar_add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def leftover_tag(vault_id: str) -> str:
    """Names a vault's backup work files without naming the vault (see core/backups.py)."""
    import hashlib

    return hashlib.sha256(f"cpc-leftover|{vault_id}".encode()).hexdigest()[:12]


def backup_write_error(exc: BaseException) -> BackupError:
    if disk_full(exc):
        return BackupError(_("El disco o la memoria USB de destino está lleno: la copia de "
                             "seguridad no se guardó y no quedó ningún archivo a medias. La "
                             "bóveda no se modificó. Libere espacio (o borre copias antiguas) "
                             "y vuelva a intentarlo."))
    return BackupError(_("No se pudo escribir la copia de seguridad (¿memoria USB retirada o "
                         "sin permiso de escritura?). No se dejó ningún archivo a medias y la "
                         "bóveda no se modificó."))


@contextlib.contextmanager
def backup_work(out: Path, tag: str | None = None) -> Iterator[Path]:
    """A temporary folder beside `out` (same disk, so the final rename is atomic), named with
    the vault's leftover tag; removed afterwards whatever happens. Write errors (a full disk
    too, which SQLite reports as its own error) become one BackupError."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".cpc-backup-{tag}-" if tag else ".cpc-backup-",
                                     dir=out.parent))
    except OSError as exc:
        if disk_full(exc):
            raise backup_write_error(exc) from None
        raise BackupError(_("No se puede escribir en esa carpeta.")) from None
    try:
        yield work
    except OSError as exc:
        raise backup_write_error(exc) from None
    except sqlcipher3.Error as exc:
        if not disk_full(exc) and "unable to open" not in str(exc).lower():
            raise
        raise backup_write_error(exc) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def export_db(conn, raw_key: bytes, dest: Path) -> None:
    conn.execute(f"ATTACH DATABASE ? AS backup KEY \"x'{raw_key.hex()}'\"", (str(dest),))
    try:
        conn.execute("SELECT sqlcipher_export('backup')")
    finally:
        conn.execute("DETACH DATABASE backup")


def pack_backup(work: Path, slots: dict, info: dict, out: Path) -> Path:
    """Tars the exported database and the slots in `work`, then renames into `out`."""
    db_copy = work / DB_NAME
    slots_json = json.dumps(slots, indent=1).encode()
    manifest = {"format": 1, **info, "created_at": audit.now_iso(),
                "sha256": {DB_NAME: sha256_file(db_copy), SLOTS_NAME: sha256_bytes(slots_json)}}
    tmp_out = work / "backup.tar"
    with tarfile.open(tmp_out, "w") as tar:
        tar_add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
        tar_add_bytes(tar, SLOTS_NAME, slots_json)
        tar.add(db_copy, arcname=DB_NAME)
    with open(tmp_out, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp_out, out)
    return out


def migration_backup_path(path: Path, version: int) -> Path:
    """Where opening a vault of schema `version` puts its copy before migrating it."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return path.parent / f"{path.name}.before-migration-v{version}-{stamp}.cpcbackup"


def backup_for_migration(path: Path, conn, raw_key: bytes, slots: KeySlots,
                             version: int) -> Path:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    out = migration_backup_path(path, version)
    try:
        with backup_work(out, leftover_tag(meta["vault_id"])) as work:
            export_db(conn, raw_key, work / DB_NAME)
            return pack_backup(work, slots.to_json(),
                                {"vault_id": meta["vault_id"], "shelter": meta["shelter_code"],
                                 "schema_version": version}, out)
    except BackupError:
        raise VaultError(_("Esta versión del programa necesita actualizar la bóveda y antes "
                           "hace una copia de seguridad junto a ella, pero no pudo escribirla "
                           "(¿disco lleno?). No se ha modificado nada: libere espacio e "
                           "inténtelo de nuevo.")) from None
