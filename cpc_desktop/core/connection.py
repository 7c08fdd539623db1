"""Opening vault.db: the SQLCipher connection and its settings, which key of the slots opens
it, the files of a vault folder, and what a SQLite error really means (damage, a busy vault, a
full disk, a read-only folder)."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

import sqlcipher3

from .errors import CpcError, VaultBusy, VaultDamaged, VaultDiskFull, VaultError, VaultReadOnly
from .i18n import N_, _
from .keyslots import KeySlots, Unlocked

DB_NAME = "vault.db"


SLOTS_NAME = "keyslots.json"


BUSY_TIMEOUT_MS = 5000


# SQLCipher's cipher_memory_security (wipe every freed buffer): off, because it made reads and
# writes about 3x slower (below the 0.5x targets; benchmarks/README.md, bench_vault.py
# --memory-security on). Keys are still wiped by SQLCipher on close.
MEMORY_SECURITY = False


def connect(db_path: Path, raw_key: bytes) -> sqlcipher3.Connection:
    try:
        return connect_as(str(db_path), raw_key, uri=False)
    except sqlcipher3.DatabaseError as exc:
        if not read_only_place(db_path) or "locked" in str(exc).lower():
            raise db_error(exc, db_path) from None
    # A folder we may not write to (a read-only USB stick, a copy on a CD, no permission):
    # SQLite cannot make its WAL files there, so the vault is opened for reading only. A
    # vault closed cleanly has no WAL left and its file is all there is (immutable); with a
    # WAL, only the WAL's own read-only mode gives the latest state.
    wal = Path(str(db_path) + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "immutable=1"
    try:
        return connect_as(f"{db_path.absolute().as_uri()}?{mode}", raw_key, uri=True)
    except sqlcipher3.DatabaseError as exc:
        err = db_error(exc, db_path)
        if isinstance(err, VaultDamaged):
            raise err from None
        raise VaultReadOnly(_("La carpeta de la bóveda es de solo lectura y la bóveda no se "
                              "puede abrir ni para consultar desde allí. La bóveda está "
                              "intacta y no se ha modificado nada: cópiela a una carpeta con "
                              "permiso de escritura, o pida ese permiso.")) from None


def connect_as(target: str, raw_key: bytes, *, uri: bool) -> sqlcipher3.Connection:
    read_only = uri
    conn = sqlcipher3.connect(target, isolation_level=None, check_same_thread=False,
                              timeout=BUSY_TIMEOUT_MS / 1000, uri=uri)
    try:
        # SQLCipher would print page errors to stderr; damage is reported as VaultDamaged.
        conn.execute("PRAGMA cipher_log_level = NONE")
        if MEMORY_SECURITY:
            conn.execute("PRAGMA cipher_memory_security = ON")
        conn.execute(f"PRAGMA key = \"x'{raw_key.hex()}'\"")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA temp_store = MEMORY")
        # Decrypted pages cached: without it SQLCipher decrypts hot index pages again and again.
        conn.execute("PRAGMA cache_size = -65536")
        # Reading the schema is the first use of the key: a damaged file fails here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a write reported as saved survives a power cut, not only a crash.
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def read_only_place(db_path: Path) -> bool:
    folder = db_path.parent
    return db_path.is_file() and os.access(db_path, os.R_OK) and not (
        os.access(folder, os.W_OK) and os.access(db_path, os.W_OK))


def no_space_left(db_path: Path) -> bool:
    try:
        return shutil.disk_usage(db_path.parent).free < 256 * 1024
    except OSError:
        return False


MSG_READ_ONLY = N_("La bóveda está en una carpeta de solo lectura: se puede consultar, pero no "
                   "guardar cambios. No se perdió nada. Para trabajar en ella, cópiela a una "
                   "carpeta con permiso de escritura o pida ese permiso.")


MSG_DISK_FULL = N_("El disco donde está la bóveda está lleno: este cambio no se guardó. No se "
                   "perdió nada de lo ya guardado y la bóveda está intacta. Libere espacio en "
                   "ese disco y vuelva a intentarlo.")


def db_error(exc: Exception, db_path: Path | None = None) -> CpcError:
    """Names the real cause of a SQLite error: only an unreadable file is called damaged."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return VaultBusy(_("La bóveda está siendo usada por otro programa. Espere un momento e "
                           "inténtelo de nuevo; si sigue así, cierre las otras ventanas de CPC."))
    # Out of space, SQLite may only say it could not open or write its WAL files.
    if "full" in text or (db_path is not None and ("unable to open" in text or "i/o" in text)
                          and no_space_left(db_path)):
        return VaultDiskFull(_(MSG_DISK_FULL))
    if "readonly" in text or "read-only" in text or (
            db_path is not None and "unable to open" in text and read_only_place(db_path)):
        return VaultReadOnly(_(MSG_READ_ONLY))
    if "unable to open" in text or "disk i/o" in text:
        return VaultError(_("No se pudo leer o escribir el archivo de la bóveda (¿memoria USB "
                            "retirada, disco desconectado o sin permiso?). No se ha modificado "
                            "nada. Compruebe el disco y vuelva a intentarlo; si se repite, "
                            "ejecute «cpc check»."))
    if not _unreadable_file(exc):
        # A query that failed on a sound file: a fault of this program, not damage. Its text
        # is not shown (it could quote stored values).
        return VaultError(_("CPC no pudo completar esta operación por un error del programa "
                            "({kind}); el archivo de la bóveda no está dañado por ello. No se "
                            "ha modificado nada. Vuelva a intentarlo; si se repite, ejecute "
                            "«cpc check» y avise a quien da soporte a CPC.").format(
                                kind=type(exc).__name__))
    # The key was proven by its slot, so a file SQLCipher cannot read with it is damaged (or
    # another vault's vault.db was put here).
    return VaultDamaged(_("No se puede leer vault.db con la llave de esta bóveda: el archivo "
                          "está dañado, incompleto o es de otra bóveda. No se ha modificado "
                          "nada. Guarde una copia de la carpeta tal como está; si tiene una "
                          "copia de seguridad, restaure la más reciente (la bóveda actual se "
                          "conserva al lado)."))


_CORRUPT, _NOTADB = 11, 26     # SQLite's primary result codes for an unreadable file


def _unreadable_file(exc: Exception) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_CORRUPT, _NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def disk_full(exc: BaseException) -> bool:
    """An OSError or a SQLite error saying there is no space left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return isinstance(exc, sqlcipher3.Error) and "full" in str(exc).lower()


def remove_db_files(path: Path) -> None:
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
        with contextlib.suppress(OSError):
            (path / name).unlink()


def load_slots(path: Path) -> KeySlots:
    # What is wrong with the place is said before the slot file is read: an unreadable slot
    # file is not a damaged one.
    if path.exists() and not path.is_dir():
        raise VaultError(_("«{path}» es un archivo, no la carpeta de una bóveda. Indique la "
                           "carpeta que contiene vault.db y keyslots.json; no se ha modificado "
                           "nada.").format(path=path))
    if not path.exists() or not ((path / SLOTS_NAME).exists() or (path / DB_NAME).exists()):
        raise VaultError(_("No existe ninguna bóveda en esa carpeta."))
    slots_file = path / SLOTS_NAME
    if slots_file.exists() and not (slots_file.is_file() and os.access(slots_file, os.R_OK)
                                    and os.access(path, os.X_OK)):
        raise VaultError(_("No hay permiso para leer el archivo de llaves de la bóveda "
                           "(keyslots.json). La bóveda no se ha modificado: pida permiso de "
                           "lectura sobre esa carpeta o ábrala con la cuenta del equipo que la "
                           "creó."))
    return KeySlots.load(slots_file)


def require_folder(path: Path) -> None:
    if not path.exists():
        raise VaultError(_("No existe ninguna bóveda en esa carpeta."))


def file_salt(db_path: Path) -> str | None:
    try:
        with open(db_path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    return head.hex() if len(head) == 16 else None


def db_salt(conn) -> str | None:
    """The database's SQLCipher salt (hex), recorded in key boxes (see connect_any)."""
    row = conn.execute("PRAGMA cipher_salt").fetchone()
    return row[0] if row else None


def connect_any(db_path: Path, found: list[Unlocked]) -> tuple[sqlcipher3.Connection, Unlocked]:
    """The database opened with the first candidate key that opens it (more than one only
    after an interrupted re-key)."""
    for i, unlocked in enumerate(found):
        try:
            return connect(db_path, unlocked.raw_key), unlocked
        except VaultDamaged:
            if i == len(found) - 1:
                if not unlocked.db_salt or file_salt(db_path) in (None, unlocked.db_salt):
                    raise
                # The passphrase opened a slot, but its key does not open this vault.db.
                raise VaultError(_(
                    "La contraseña es correcta, pero la llave que abre no corresponde a este "
                    "vault.db: el archivo keyslots.json es de otra bóveda o es una copia "
                    "antigua (de antes de cambiar la llave de la bóveda). No se ha modificado "
                    "nada. Ponga junto a vault.db el keyslots.json que lo acompaña; una copia "
                    "de seguridad se abre entera con las contraseñas de su fecha.")) from None
    raise VaultDamaged(_("El archivo de llaves de la bóveda está dañado. "
                         "Restaure una copia de seguridad."))
