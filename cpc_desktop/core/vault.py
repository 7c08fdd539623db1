"""The vault: one shelter's records in a SQLCipher database, opened with a random raw key.

A vault is a folder holding `vault.db` (every page ciphertext, WAL and journal too) and
`keyslots.json` (the raw key wrapped per user and by the recovery key). Every operation is one
transaction; every write records per-field changes stamped by the hybrid clock and an audit
entry, so sync and history need nothing more.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3
import sqlite_utils

from . import audit, crypto, forms, rekey, vaultlock
from .clock import HybridClock, Stamp
from .errors import (BackupError, CpcError, NotFound, PermissionDenied, UnknownUser,
                     ValidationError, VaultBusy, VaultDamaged, VaultDiskFull, VaultError,
                     VaultLocked, VaultReadOnly)
from .i18n import N_, _
from .ids import uuid7
from .keyslots import KeySlots, Unlocked, normalize_user
from .records_store import (CREATED, DELETED, DISCHARGE_FORM, JOINED, JOINED_ROWS, MEMBERS,
                            RESIDENT_FIELDS, SERVICE_FORM, RecordRow, RecordsStore, dump_value,
                            facts_json, fold, resolve_joins, search_fold)
from .users import Action, Role, User, parse_role

DB_NAME = "vault.db"
SLOTS_NAME = "keyslots.json"
SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 5000
# SQLCipher's cipher_memory_security (wipe every freed buffer): off, because it made reads and
# writes about 3x slower (below the 0.5x targets; benchmarks/README.md, bench_vault.py
# --memory-security on). Keys are still wiped by SQLCipher on close.
MEMORY_SECURITY = False


@dataclass(frozen=True)
class Record:
    id: str
    form: str
    form_version: int
    resident_id: str
    values: dict
    clocks: dict            # stamps of fields changed after creation (and of the tombstone)
    record_date: str | None
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    deleted: bool
    created_hlc: str        # the stamp of every field as first written

    def clock(self, field_id: str) -> str:
        """The stamp of a field's current value (what last-writer-wins compares)."""
        return self.clocks.get(field_id, self.created_hlc)


@dataclass(frozen=True)
class ResidentSummary:
    id: str
    internal_code: str
    name_first: str
    name_last: str
    name_nickname: str
    sex: str | None
    date_of_birth: str | None
    age: int | None
    admission_date: str | None
    risk_level: str | None
    status: str            # in_care | discharged
    discharge_date: str | None
    last_service: str | None
    deleted: bool
    joined_into: str | None = None   # set on a resident joined into another (then hidden)

    def age_on(self, day: dt.date) -> int | None:
        return forms.age_on({"date_of_birth": self.date_of_birth, "age": self.age}, day)


@dataclass(frozen=True)
class Change:
    seq: int
    record_id: str
    field: str
    value: Any
    hlc: str
    user: str

    @property
    def device(self) -> str:
        return Stamp.parse(self.hlc).device

    @property
    def at(self) -> str:
        """When, as an ISO date-time (UTC), from the stamp's wall-clock part."""
        ms = Stamp.parse(self.hlc).ms
        return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(
            timespec="milliseconds")


@dataclass
class _Added:
    """What one add_many transaction has queued but not written yet (its checks need it)."""
    codes: set[str] = field(default_factory=set)
    residents: set[str] = field(default_factory=set)     # checked: exist, not deleted
    ones: set[tuple[str, str]] = field(default_factory=set)  # (resident, one-per-resident form)


@dataclass
class CheckReport:
    items: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ok for _name, ok, _msg in self.items)

    def add(self, name: str, ok: bool, message: str = "") -> None:
        self.items.append((name, ok, message))


def default_vault_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("cpc-desktop", appauthor=False) / "vault"


# ---------------------------------------------------------------- connection helpers

def _connect(db_path: Path, raw_key: bytes) -> sqlcipher3.Connection:
    try:
        return _connect_as(str(db_path), raw_key, uri=False)
    except sqlcipher3.DatabaseError as exc:
        if not _read_only_place(db_path) or "locked" in str(exc).lower():
            raise _db_error(exc, db_path) from None
    # A folder we may not write to (a read-only USB stick, a copy on a CD, no permission):
    # SQLite cannot make its WAL files there, so the vault is opened for reading only. A
    # vault closed cleanly has no WAL left and its file is all there is (immutable); with a
    # WAL, only the WAL's own read-only mode gives the latest state.
    wal = Path(str(db_path) + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "immutable=1"
    try:
        return _connect_as(f"{db_path.absolute().as_uri()}?{mode}", raw_key, uri=True)
    except sqlcipher3.DatabaseError as exc:
        err = _db_error(exc, db_path)
        if isinstance(err, VaultDamaged):
            raise err from None
        raise VaultReadOnly(_("La carpeta de la bóveda es de solo lectura y la bóveda no se "
                              "puede abrir ni para consultar desde allí. La bóveda está "
                              "intacta y no se ha modificado nada: cópiela a una carpeta con "
                              "permiso de escritura, o pida ese permiso.")) from None


def _connect_as(target: str, raw_key: bytes, *, uri: bool) -> sqlcipher3.Connection:
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


def _read_only_place(db_path: Path) -> bool:
    folder = db_path.parent
    return db_path.is_file() and os.access(db_path, os.R_OK) and not (
        os.access(folder, os.W_OK) and os.access(db_path, os.W_OK))


def _no_space_left(db_path: Path) -> bool:
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


def _db_error(exc: Exception, db_path: Path | None = None) -> CpcError:
    """Names the real cause of a SQLite error: only an unreadable file is called damaged."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return VaultBusy(_("La bóveda está siendo usada por otro programa. Espere un momento e "
                           "inténtelo de nuevo; si sigue así, cierre las otras ventanas de CPC."))
    # Out of space, SQLite may only say it could not open or write its WAL files.
    if "full" in text or (db_path is not None and ("unable to open" in text or "i/o" in text)
                          and _no_space_left(db_path)):
        return VaultDiskFull(_(MSG_DISK_FULL))
    if "readonly" in text or "read-only" in text or (
            db_path is not None and "unable to open" in text and _read_only_place(db_path)):
        return VaultReadOnly(_(MSG_READ_ONLY))
    if "unable to open" in text or "disk i/o" in text:
        return VaultError(_("No se pudo leer o escribir el archivo de la bóveda (¿memoria USB "
                            "retirada, disco desconectado o sin permiso?). No se ha modificado "
                            "nada. Compruebe el disco y vuelva a intentarlo; si se repite, "
                            "ejecute «cpc check»."))
    # The key was proven by its slot, so a file SQLCipher cannot read with it is damaged (or
    # another vault's vault.db was put here).
    return VaultDamaged(_("No se puede leer vault.db con la llave de esta bóveda: el archivo "
                          "está dañado, incompleto o es de otra bóveda. No se ha modificado "
                          "nada. Guarde una copia de la carpeta tal como está; si tiene una "
                          "copia de seguridad, restaure la más reciente (la bóveda actual se "
                          "conserva al lado)."))


SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE users (
    name TEXT PRIMARY KEY,          -- normalized login name
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    form TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    resident_id TEXT NOT NULL,
    shelter TEXT NOT NULL,
    data TEXT NOT NULL,
    clocks TEXT NOT NULL,
    record_date TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL
);
-- record_date last: "last service of a resident" is one index seek, not a scan.
CREATE INDEX records_resident ON records(resident_id, form, record_date);
CREATE INDEX records_form_date ON records(form, record_date);
-- The change log (history and sync). A new record is one row, field "*", holding every
-- value; later edits are one row per field; "_deleted" marks a tombstone. Device and time
-- are inside the hybrid-clock stamp.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    form TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    hlc TEXT NOT NULL,
    user TEXT NOT NULL
);
CREATE INDEX changes_record ON changes(record_id, seq);
CREATE TABLE residents (
    id TEXT PRIMARY KEY,
    internal_code TEXT NOT NULL,
    name_first TEXT NOT NULL DEFAULT '',
    name_last TEXT NOT NULL DEFAULT '',
    name_nickname TEXT NOT NULL DEFAULT '',
    sex TEXT,
    date_of_birth TEXT,
    age INTEGER,
    admission_date TEXT,
    risk_level TEXT,
    status TEXT NOT NULL DEFAULT 'in_care',
    discharge_date TEXT,
    last_service TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX residents_code ON residents(internal_code);
CREATE TABLE drafts (               -- unsaved input kept across a lock, per user
    key TEXT NOT NULL,              -- what: e.g. form + record id
    user TEXT NOT NULL,
    data TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (user, key)
);
"""


def _migrate_1_to_2(db: sqlite_utils.Database) -> None:
    """Sync (cpc_desktop/sync): what the writer of a change had seen, shelter keys by epoch,
    signed roster statements, batches made and applied (the version vector), last-writer-wins
    losers kept for review, and changes waiting for their record's creation."""
    # JSON list of the stamps the writer had seen; NULL for local writes (derived at export).
    db["changes"].add_column("base", str)
    db["sync_keys"].create({"shelter": str, "epoch": int, "kid": str, "key": str,
                            "added_at": str}, pk=("shelter", "epoch", "kid"), not_null={"key"})
    db["sync_statements"].create({"id": str, "shelter": str, "kind": str, "body": str,
                                  "pending": int}, pk="id", not_null={"shelter", "kind", "body"},
                                 defaults={"pending": 0})
    db["sync_devices"].create({"shelter": str, "device": str, "sign_pub": str, "kx_pub": str,
                               "label": str, "added_at": str, "revoked_after": int},
                              pk=("shelter", "device"))
    db["sync_batches"].create({"shelter": str, "device": str, "seq": int, "hash": str,
                               "data": bytes, "received_at": str, "uploaded": int},
                              pk=("shelter", "device", "seq"), not_null={"hash", "data"},
                              defaults={"uploaded": 0})
    db["sync_heads"].create({"shelter": str, "device": str, "seq": int, "data": bytes},
                            pk=("shelter", "device"))
    db["sync_conflicts"].create({"id": int, "record_id": str, "form": str, "resident_id": str,
                                 "field": str, "value": str, "hlc": str, "user": str,
                                 "base": str, "open": int, "detected_at": str,
                                 "closed_at": str}, pk="id")
    db["sync_conflicts"].create_index(["record_id", "field", "hlc"], unique=True)
    db["sync_conflicts"].create_index(["open"])
    db["sync_parked"].create({"record_id": str, "form": str, "resident_id": str, "field": str,
                              "value": str, "hlc": str, "user": str, "base": str},
                             pk=("record_id", "field", "hlc"))


def _migrate_2_to_3(db: sqlite_utils.Database) -> None:
    """Reports: each record's countable values (Form.facts) in a narrow column, and an index
    that covers what reports read, so a report reads index pages only, never the records'
    free texts."""
    db["records"].add_column("facts", str)
    RecordsStore(forms.registry()).fill_facts(db.conn)
    db.execute("CREATE INDEX records_facts ON records(form, record_date, deleted, shelter, "
               "resident_id, facts)")


def _migrate_3_to_4(db: sqlite_utils.Database) -> None:
    """Joining residents: each resident's own join (the JOINED field of its intake and its
    stamp) and the resident it resolves to, derived from every join (see _refresh_joins)."""
    for col in ("join_target", "join_hlc", "joined_into"):
        db["residents"].add_column(col, str)
    db.execute("CREATE INDEX residents_joined ON residents(joined_into)")
    db.execute("CREATE INDEX residents_join_target ON residents(join_target) "
               "WHERE join_target IS NOT NULL")


# Migrations: schema version N -> N+1, each run in its own transaction on open (and in order
# when a vault is created, so new and migrated vaults have the same schema).
MIGRATIONS: dict[int, Any] = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4}


class Vault:
    """One unlocked vault. Thread-safe: calls are serialized on one connection."""

    def __init__(self, path: Path, conn: sqlcipher3.Connection, slots: KeySlots,
                 raw_key: bytes, user: User):
        self.path = Path(path)
        self._conn: sqlcipher3.Connection | None = conn
        self._slots = slots
        self._raw_key: bytearray | None = bytearray(raw_key)
        self._lock = threading.RLock()
        self._pending_audit: dict | None = None
        self._damaged = False
        self._hold: vaultlock.Hold | None = None    # this process's share of the OS lock
        self.user = user
        meta = self.meta()
        self.vault_id = meta["vault_id"]
        self.shelter_code = meta["shelter_code"]
        self.shelter_name = meta["shelter_name"]
        self.device_id = meta["device_id"]
        self.clock = HybridClock(self.device_id, meta.get("hlc_last"))
        self.forms = forms.registry()
        self.store = RecordsStore(self.forms)

    # ------------------------------------------------------------ create / open / lock
    @classmethod
    def create(cls, path: Path | str, *, shelter_code: str, shelter_name: str, user: str,
               passphrase: str, display_name: str | None = None,
               kdf_seconds: float = 0.5) -> tuple["Vault", str]:
        """Creates a vault folder; returns the unlocked vault and the recovery key to print.

        The recovery key is shown once: only its wrapped form is stored.
        """
        path = Path(path)
        _check_new_passphrase(passphrase)
        shelter_code = shelter_code.strip().upper()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,15}", shelter_code):
            raise VaultError(_("El código del centro debe tener de 2 a 16 letras o números "
                               "(por ejemplo LOR-01)."))
        if not shelter_name.strip() or not user.strip():
            raise VaultError(_("Indique el nombre del centro y el del primer usuario."))
        if path.exists() and not path.is_dir():
            raise VaultError(_("«{path}» es un archivo: indique una carpeta nueva o vacía para "
                               "la bóveda. No se ha modificado nada.").format(path=path))
        if (path / DB_NAME).exists() or (path / SLOTS_NAME).exists():
            raise VaultError(_("Ya existe una bóveda en esa carpeta; no se ha modificado."))
        try:
            path.mkdir(parents=True, exist_ok=True)
            if not os.access(path, os.W_OK):
                raise PermissionError(errno.EACCES, "")
        except OSError as exc:
            raise VaultError(_("No se puede crear la bóveda en esa carpeta: el disco está "
                               "lleno. Libere espacio o elija otro lugar.") if disk_full(exc)
                             else _("No se puede crear la bóveda en esa carpeta (no existe y no "
                                    "se puede crear, es de solo lectura o no hay permiso). "
                                    "Elija otra carpeta.")) from None
        hold = vaultlock.acquire(path)
        try:
            vault, recovery_text = cls._create_locked(path, shelter_code, shelter_name, user,
                                                      passphrase, display_name, kdf_seconds)
        except BaseException:
            hold.release()
            # A failed creation leaves the folder as it found it (the lock file included).
            with contextlib.suppress(OSError):
                if set(os.listdir(path)) == {vaultlock.LOCK_NAME}:
                    (path / vaultlock.LOCK_NAME).unlink()
            raise
        vault._hold = hold
        hold.attach(vault)
        return vault, recovery_text

    @classmethod
    def _create_locked(cls, path: Path, shelter_code: str, shelter_name: str, user: str,
                       passphrase: str, display_name: str | None,
                       kdf_seconds: float) -> tuple["Vault", str]:
        if (path / DB_NAME).exists() or (path / SLOTS_NAME).exists():
            raise VaultError(_("Ya existe una bóveda en esa carpeta; no se ha modificado."))
        raw_key = secrets.token_bytes(crypto.KEY_BYTES)
        vault_id = uuid7()
        slots = KeySlots.new(path / SLOTS_NAME, vault_id)
        params = crypto.calibrate(kdf_seconds)
        recovery_bytes, recovery_text = crypto.new_recovery_key()
        try:
            conn = _connect(path / DB_NAME, raw_key)
        except CpcError:
            _remove_db_files(path)   # a full disk may fail after creating an empty file
            raise
        try:
            conn.execute("BEGIN IMMEDIATE")
            for stmt in _statements(SCHEMA + audit.SCHEMA):
                conn.execute(stmt)
            for version in range(1, SCHEMA_VERSION):
                MIGRATIONS[version](sqlite_utils.Database(conn))
            now = audit.now_iso()
            # The device id is derived from the device's signing key (sync's roster binds them).
            device_id, sign_key, kx_key = crypto.new_device_keys()
            meta = {"schema_version": str(SCHEMA_VERSION), "vault_id": vault_id,
                    "shelter_code": shelter_code, "shelter_name": shelter_name.strip(),
                    "device_id": device_id, "created_at": now, "kdf_seconds": str(kdf_seconds),
                    "sync_sign_key": sign_key, "sync_kx_key": kx_key}
            conn.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
            login = normalize_user(user)
            conn.execute("INSERT INTO users VALUES (?,?,?,1,?)",
                         (login, (display_name or user).strip(), Role.COORDINATOR.value, now))
            audit.append(conn, login, "vault.create", detail={"shelter": shelter_code})
            slots.db_salt = db_salt(conn)
            rekey.new_vault_slots(conn, slots, login, passphrase, raw_key, params,
                                  recovery_bytes)
            conn.execute("COMMIT")
            # Slots are written last: a vault without slots was never usable, so nothing is
            # lost if this fails.
            slots.save()
        except BaseException as exc:
            conn.close()
            _remove_db_files(path)
            if isinstance(exc, (OSError, sqlcipher3.Error)):
                raise (VaultDiskFull(_("No se pudo crear la bóveda: el disco está lleno. No "
                                       "quedó nada a medias; libere espacio o elija otro "
                                       "lugar.")) if disk_full(exc)
                       else _db_error(exc) if isinstance(exc, sqlcipher3.Error)
                       else VaultError(_("No se pudo escribir en esa carpeta; no quedó nada a "
                                         "medias. Elija otra carpeta."))) from None
            raise
        vault = cls(path, conn, slots, raw_key, _load_user(conn, login))
        return vault, recovery_text

    @classmethod
    def open(cls, path: Path | str, user: str, passphrase: str, *,
             backup_before_migration: bool = True) -> "Vault":
        """Unlocks with a user's passphrase. Raises WrongPassphrase and changes nothing.

        A vault of an older schema is migrated, after a backup beside it
        (migration_backup_path); a copy being restored needs none (its file is the backup).
        """
        path = Path(path)
        _require_folder(path)
        hold = vaultlock.acquire(path)
        try:
            slots = _load_slots(path)
            found = slots.unlock_user_all(user, passphrase)
            vault = cls._open_with_key(path, slots, found, user,
                                       backup_before_migration=backup_before_migration,
                                       passphrase=passphrase, hold=hold)
        except BaseException:
            hold.release()
            raise
        return vault

    @classmethod
    def open_with_recovery(cls, path: Path | str, recovery_key: str, user: str,
                           new_passphrase: str) -> "Vault":
        """Recovery: the printed key unlocks, then the user's slot gets a new passphrase."""
        path = Path(path)
        _check_new_passphrase(new_passphrase)
        _require_folder(path)
        hold = vaultlock.acquire(path)
        try:
            slots = _load_slots(path)
            found = slots.unlock_recovery_all(recovery_key)
            vault = cls._open_with_key(path, slots, found, user, audit_action="vault.recover",
                                       recovery=True, hold=hold)
        except BaseException:
            hold.release()
            raise
        with vault._lock:
            vault._rewrap_user(vault.user.name, new_passphrase)
        return vault

    @staticmethod
    def check_recovery_key(path: Path | str, recovery_key: str) -> tuple[str, str]:
        """Proves a recovery key opens this vault; returns (shelter code, shelter name).

        For printing the recovery key sheet again: raises BadRecoveryKey (typo, or the key
        of another vault) and writes nothing.
        """
        path = Path(path)
        found = _load_slots(path).unlock_recovery_all(recovery_key)
        if not (path / DB_NAME).exists():
            raise VaultDamaged(_("Falta el archivo de datos de la bóveda (vault.db) en «{path}». "
                                 "No se ha modificado nada. Compruebe que es la carpeta "
                                 "correcta; si el archivo se perdió, restaure la última copia "
                                 "de seguridad.").format(path=path))
        conn, unlocked = _connect_any(path / DB_NAME, found)
        try:
            rekey.accept(conn, unlocked, None)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlcipher3.DatabaseError as exc:
            raise _db_error(exc) from None
        finally:
            conn.close()
        return meta["shelter_code"], meta["shelter_name"]

    @classmethod
    def _open_with_key(cls, path: Path, slots: KeySlots, raw_key: bytes | list[Unlocked],
                       user: str, audit_action: str = "vault.unlock",
                       backup_before_migration: bool = True, *, passphrase: str | None = None,
                       recovery: bool = False, hold: vaultlock.Hold | None = None) -> "Vault":
        if not (path / DB_NAME).exists():
            raise VaultDamaged(_("Falta el archivo de datos de la bóveda (vault.db) en «{path}». "
                                 "No se ha modificado nada. Compruebe que es la carpeta "
                                 "correcta; si el archivo se perdió, restaure la última copia "
                                 "de seguridad.").format(path=path))
        found = raw_key if isinstance(raw_key, list) else [Unlocked("", raw_key, "")]
        conn, unlocked = _connect_any(path / DB_NAME, found)
        raw_key = unlocked.raw_key
        try:
            login = normalize_user(user)
            if _read_only_place(path / DB_NAME) and int(conn.execute(
                    "SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
                    ) < SCHEMA_VERSION:
                raise VaultReadOnly(_("Esta bóveda es de una versión anterior y hay que "
                                      "actualizarla antes de usarla, pero su carpeta es de "
                                      "solo lectura. No se ha modificado nada: cópiela a una "
                                      "carpeta con permiso de escritura y ábrala allí."))
            if unlocked.slot_id:
                rekey.accept(conn, unlocked, None if recovery else login)
            _migrate(conn, (lambda version: _backup_before_migration(
                path, conn, raw_key, slots, version)) if backup_before_migration else None, login)
            account = _load_user(conn, login)
            if not account.active:
                raise PermissionDenied(_("Este usuario está desactivado."))
            vault = cls(path, conn, slots, raw_key, account)
            vault._hold = hold
            if hold is not None:
                hold.attach(vault)
            # Written with the first change, or at lock: opening alone writes nothing, so a
            # damaged file is left exactly as it was found.
            vault._pending_audit = {"action": audit_action, "unlocked_at": audit.now_iso()}
            if unlocked.slot_id and hold is not None and not _read_only_place(path / DB_NAME):
                # A format-1 slot is rewritten, an interrupted re-key finished.
                rekey.after_open(vault, unlocked, passphrase)
        except sqlcipher3.DatabaseError as exc:
            conn.close()
            raise _db_error(exc) from None
        except BaseException:
            conn.close()
            raise
        return vault

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def lock(self) -> None:
        """Closes the database and drops the raw key from memory (best effort in Python)."""
        with self._lock:
            if self._conn is not None:
                if self._pending_audit and not self._damaged:
                    with contextlib.suppress(CpcError, sqlcipher3.Error):
                        with self._tx():
                            pass
                if not self._damaged:
                    # Keeps the planner's statistics fresh (cheap; writes only when useful).
                    with contextlib.suppress(sqlcipher3.Error):
                        self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None
            if self._raw_key is not None:
                for i in range(len(self._raw_key)):
                    self._raw_key[i] = 0
                self._raw_key = None
            if self._hold is not None:
                self._hold.release()
                self._hold = None

    close = lock

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exc) -> None:
        self.lock()

    # ------------------------------------------------------------ plumbing
    @property
    def conn(self) -> sqlcipher3.Connection:
        if self._conn is None:
            raise VaultLocked(_("La bóveda está bloqueada. Desbloquéela para continuar."))
        return self._conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlcipher3.Connection]:
        """One write transaction; the clock state (and a pending unlock entry) go in it."""
        with self._lock:
            conn = self.conn
            with self._guard():
                conn.execute("BEGIN IMMEDIATE")
            pending = self._pending_audit
            try:
                if pending:
                    audit.append(conn, self.user.name, pending["action"],
                                 detail={"unlocked_at": pending["unlocked_at"]})
                yield conn
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('hlc_last', ?)",
                             (self.clock.last,))
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlcipher3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlcipher3.DatabaseError) and not isinstance(
                        exc, sqlcipher3.IntegrityError):
                    raise self._mark(exc) from None
                raise
            self._pending_audit = None

    def writing(self) -> contextlib.AbstractContextManager[sqlcipher3.Connection]:
        """One write transaction for any caller: all of it or nothing, with the clock state
        saved in it. The caller checks permissions (require)."""
        return self._tx()

    transaction = writing

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlcipher3.Connection]:
        """The connection, with no other thread of this vault using it meanwhile (several
        reads that must agree, or a read followed by a writing() that depends on it)."""
        with self._lock:
            yield self.conn

    def read(self, sql: str, args: Iterable = ()) -> list[tuple]:
        """The rows of one query; an unreadable page is reported as damage."""
        with self._lock, self._guard():
            return self.conn.execute(sql, tuple(args)).fetchall()

    def refresh_resident(self, conn, resident_id: str) -> None:
        """Recomputes a resident's list and search row inside the caller's transaction."""
        self.store.refresh_resident(conn, resident_id)

    def connect_copy(self, db_path: Path) -> sqlcipher3.Connection:
        """A connection to a copy of this vault's database (a backup being checked), opened
        with this vault's key, which never leaves the vault."""
        with self._lock:
            return _connect(db_path, bytes(self._key()))

    def copy_on(self, folder: Path, conn: sqlcipher3.Connection, slots: KeySlots) -> "Vault":
        """The copy `connect_copy` opened, as a Vault of this user (checked as it is, not
        migrated; closed with discard())."""
        with self._lock:
            return Vault(folder, conn, slots, bytes(self._key()), self.user)

    def discard(self) -> None:
        """Closes without writing anything (not even the unlock entry): for a temporary
        copy."""
        self._damaged = True
        self.lock()

    @contextlib.contextmanager
    def _guard(self):
        try:
            yield
        except sqlcipher3.IntegrityError:
            raise
        except sqlcipher3.DatabaseError as exc:
            raise self._mark(exc) from None

    def _mark(self, exc: Exception) -> CpcError:
        err = _db_error(exc, self.path / DB_NAME)
        if isinstance(err, VaultDamaged):
            self._damaged = True
        return err

    def meta(self) -> dict[str, str]:
        return dict(self.read("SELECT key, value FROM meta"))

    def require(self, action: Action) -> None:
        """Checks the role as stored now: a user demoted or disabled during a session loses
        the right at once, not at the next unlock."""
        if action is not Action.READ:
            with self._lock, self._guard():
                self.user = _load_user(self.conn, self.user.name)
        self.user.require(action)

    @property
    def schema_version(self) -> int:
        return int(self.meta()["schema_version"])

    # ------------------------------------------------------------ records
    def add(self, form_id: str, values: dict, resident_id: str | None = None) -> str:
        """Validates and stores a new record; returns its id.

        The intake form opens a new resident (its id is the resident id); every other form
        needs the id of an existing resident.
        """
        return self.add_many([(form_id, values, resident_id)])[0]

    def add_many(self, items: Iterable[tuple[str, dict, str | None]]) -> list[str]:
        """Adds many records in one transaction (all or nothing)."""
        self.require(Action.WRITE)
        prepared = []
        for form_id, values, resident_id in items:
            form = self.forms.get(form_id)
            clean = form.validate(values)
            prepared.append((form, clean, resident_id))
        ids, audits = [], []
        with self._tx() as conn:
            batch = self.store.batch()
            seen = _Added()
            for form, clean, resident_id in prepared:
                record_id = uuid7()
                if form.opens_resident:
                    if resident_id:
                        raise VaultError(_("La ficha de ingreso crea un residente nuevo; no "
                                           "indique un residente."))
                    resident_id = record_id
                    if not clean.get("internal_code"):
                        clean["internal_code"] = self._next_internal_code(conn, clean,
                                                                          seen.codes)
                    elif (clean["internal_code"] in seen.codes
                          or self._code_taken(conn, clean["internal_code"], None)):
                        raise self._code_error(form)
                    seen.codes.add(clean["internal_code"])
                else:
                    self._require_resident(conn, resident_id, form, seen)
                audits.append(self._write_record(batch, record_id, form, resident_id, clean,
                                                 created=True))
                ids.append(record_id)
            batch.flush(conn)
            audit.append_many(conn, self.user.name, audits)
        return ids

    def update(self, record_id: str, values: dict, *, replace: bool = False) -> None:
        """Changes a record. By default only the given fields change (None clears one);
        with replace=True the values are the whole record, as a form editor submits them."""
        self.require(Action.WRITE)
        with self._lock:
            current = self.get(record_id)
            if current.deleted:
                raise NotFound(_("Ese registro fue eliminado."))
            form = self.forms.get(current.form)
            # System fields (a join) are not the form's: kept as they are, never validated.
            system = {k: v for k, v in current.values.items() if k.startswith("_")}
            own = {k: v for k, v in current.values.items() if k not in system}
            merged = dict(values) if replace else {**own, **values}
            merged = {k: v for k, v in merged.items() if v is not None}
            clean = form.validate(merged)
            clean.update(system)
            if form.opens_resident and not clean.get("internal_code"):
                clean["internal_code"] = current.values.get("internal_code")
            with self._tx() as conn:
                if form.opens_resident and self._code_taken(conn, clean["internal_code"],
                                                            current.resident_id):
                    raise self._code_error(form)
                batch = self.store.batch()
                entry = self._write_record(batch, record_id, form, current.resident_id, clean,
                                           created=False, before=current)
                batch.flush(conn)
                if entry:
                    audit.append(conn, self.user.name, *entry)

    def delete(self, record_id: str) -> None:
        """Soft delete: the record stays as a tombstone (history and sync keep it)."""
        self.require(Action.DELETE)
        with self._lock:
            current = self.get(record_id)
            if current.deleted:
                return
            with self._tx() as conn:
                who = self.user.name
                stamp = self.clock.after(current.clock(DELETED))
                batch = self.store.batch()
                batch.log(current.id, current.form, current.resident_id, DELETED,
                          dump_value(True), stamp, who)
                batch.update(RecordRow(current.id, current.form, current.resident_id,
                                       current.values, {**current.clocks, DELETED: stamp},
                                       current.created_hlc, True, who, audit.now_iso()))
                batch.flush(conn)
                audit.append(conn, who, "record.delete", record_id, {"form": current.form})

    def get(self, record_id: str) -> Record:
        rows = self.read(f"{SELECT_RECORDS} WHERE id=?", (record_id,))
        if not rows:
            raise NotFound(_("No existe ningún registro con ese identificador."))
        return _record(rows[0])

    def records(self, resident_id: str, form_id: str | None = None, *,
                include_deleted: bool = False) -> list[Record]:
        """A resident's records, oldest first by record date. A resident others were joined
        into has theirs too (but only its own intake); a joined one's id gives the same."""
        root, members = self._family(resident_id)
        marks = ",".join("?" * (1 + len(members)))
        # INDEXED BY: some SQLite versions plan "IN (…)" as a scan of a wider index.
        sql = f"{SELECT_RECORDS} INDEXED BY records_resident WHERE resident_id IN ({marks})"
        args: list = [root, *members]
        if members:
            sql += f" AND NOT (form=? AND id IN ({marks[2:]}))"
            args += [self.forms.intake.form, *members]
        if form_id:
            sql += " AND form=?"
            args.append(form_id)
        if not include_deleted:
            sql += " AND deleted=0"
        sql += " ORDER BY record_date, id"
        return [_record(r) for r in self.read(sql, args)]

    def _family(self, resident_id: str) -> tuple[str, list[str]]:
        """(the resident `resident_id` resolves to, the residents joined into it)."""
        row = self.read("SELECT joined_into FROM residents WHERE id=?", (resident_id,))
        root = (row[0][0] if row else None) or resident_id
        return root, [r[0] for r in self.read(
            MEMBERS, (root,))]

    def joined(self) -> dict[str, str]:
        """{joined resident id: the resident it was joined into}: how read paths count a
        child registered twice once."""
        return dict(self.read(JOINED_ROWS))

    def iter_values(self, form_id: str, fields: Iterable[str], *, shelter: str | None = None,
                    since: str | None = None, until: str | None = None,
                    include_deleted: bool = False) -> Iterator[tuple[str, str | None, dict]]:
        """(resident id, record date, {field: value}) for every record of one form across
        residents, by record date: what reports read.

        Only the given fields are decoded, inside SQLite (a report over 200,000 services
        parses nothing else); empty fields are absent from the dict. `shelter` keeps one
        shelter code's records; `since`/`until` ("YYYY-MM-DD", inclusive) keep records
        dated in that range, and leave out undated ones. Rows are read in one go (a
        consistent snapshot), then yielded.
        """
        self.require(Action.READ)
        form = self.forms.get(form_id)
        wanted = list(dict.fromkeys(fields))
        for fid in wanted:
            if not form.has_field(fid):
                raise forms.UnknownForm(_("El formulario «{form}» no tiene el campo "
                                          "«{field}».").format(form=form_id, field=fid))
        # Countable fields are read from records.facts through the covering index (index
        # pages only); a free-text field needs the record itself.
        source = "facts" if all(form.is_fact(fid) for fid in wanted) else "data"
        # Many fields: parse each record's JSON once in Python rather than once per field.
        whole = source == "facts" and len(wanted) > 3
        # Field ids are checked identifiers (a-z, 0-9, _), safe inside the JSON path.
        cols = ", facts" if whole else "".join(
            f", json_extract({source}, '$.{fid}')" for fid in wanted)
        sql = f"SELECT resident_id, record_date{cols} FROM records WHERE form=?"
        args: list = [form_id]
        for clause, value in (("shelter=?", shelter), ("record_date>=?", since),
                              ("record_date<=?", until)):
            if value is not None:
                sql += f" AND {clause}"
                args.append(value)
        if not include_deleted:
            sql += " AND deleted=0"
        rows = self.read(sql + " ORDER BY record_date", args)
        joins = self.joined()
        if joins:
            # A joined resident's records count under the kept one; its own intake not at all.
            drop = form.opens_resident
            rows = [(joins.get(r[0], r[0]), *r[1:]) for r in rows
                    if not (drop and r[0] in joins)]
        if whole:
            def picked() -> Iterator[tuple[str, str | None, dict]]:  # permission checked above
                for rid, day, facts in rows:
                    found = json.loads(facts) if facts else {}
                    yield rid, day, {f: found[f] for f in wanted if f in found}

            return picked()
        # json_extract gives SQL values: yes/no comes back as 0/1, lists and tables as JSON.
        decode = [(i, fid, form.field(fid).type) for i, fid in enumerate(wanted, start=2)]

        def values() -> Iterator[tuple[str, str | None, dict]]:  # permission checked above
            for r in rows:
                out = {}
                for i, fid, kind in decode:
                    raw = r[i]
                    if raw is None:
                        continue
                    if kind == "multichoice" and _PLAIN_LIST.fullmatch(raw):
                        out[fid] = raw[2:-2].split('","') if raw != "[]" else []
                    elif kind in ("multichoice", "table"):
                        out[fid] = json.loads(raw)
                    else:
                        out[fid] = bool(raw) if kind == "yesno" else raw
                yield r[0], r[1], out

        return values()

    def history(self, record_id: str) -> list[Change]:
        """Every field change of a record, oldest first (who, when, which value); the
        creation appears as one change per field written."""
        self.get(record_id)
        out = []
        for seq, rid, fld, value, hlc, user in self.read(
                "SELECT seq, record_id, field, value, hlc, user FROM changes WHERE record_id=? "
                "ORDER BY seq", (record_id,)):
            decoded = json.loads(value) if value is not None else None
            if fld == CREATED:
                out += [Change(seq, rid, k, v, hlc, user) for k, v in decoded.items()]
            else:
                out.append(Change(seq, rid, fld, decoded, hlc, user))
        return out

    def _write_record(self, batch, record_id: str, form: forms.Form, resident_id: str,
                      clean: dict, *, created: bool, before: Record | None = None
                      ) -> tuple[str, str, dict] | None:
        """Queues a record's write and its changes; returns its audit entry (action, record,
        detail), None when nothing changed."""
        now, who = audit.now_iso(), self.user.name
        if created:
            stamp = self.clock.now()
            data = batch.insert(RecordRow(record_id, form.form, resident_id, clean, {}, stamp,
                                          False, who, now, shelter=self.shelter_code,
                                          form_version=form.version))
            batch.log(record_id, form.form, resident_id, CREATED, data, stamp, who)
            return "record.add", record_id, {"form": form.form, "fields": sorted(clean)}
        old = before.values
        clocks = dict(before.clocks)
        changed = [k for k in sorted(set(old) | set(clean)) if old.get(k) != clean.get(k)]
        batch.touch(resident_id)
        if not changed:
            return None
        for key in changed:
            clocks[key] = self.clock.after(before.clock(key))
            batch.log(record_id, form.form, resident_id, key, dump_value(clean.get(key)),
                      clocks[key], who)
        batch.update(RecordRow(record_id, form.form, resident_id, clean, clocks,
                               before.created_hlc, False, who, now, form_version=form.version))
        return "record.update", record_id, {"form": form.form, "fields": changed}

    @staticmethod
    def _code_error(form: forms.Form) -> ValidationError:
        return ValidationError([forms.FieldError(
            "internal_code", _(form.field("internal_code").label),
            _("ya existe otro residente con este código."))])

    def _require_resident(self, conn, resident_id: str | None, form: forms.Form,
                          seen: "_Added") -> None:
        if not resident_id:
            raise VaultError(_("Indique el residente al que pertenece este registro."))
        if resident_id not in seen.residents:
            row = conn.execute("SELECT deleted FROM residents WHERE id=?",
                               (resident_id,)).fetchone()
            if row is None or row[0]:
                raise NotFound(_("No existe ningún residente con ese identificador."))
            seen.residents.add(resident_id)
        if form.per_resident == "one":
            if (resident_id, form.form) in seen.ones or conn.execute(
                    "SELECT 1 FROM records INDEXED BY records_resident WHERE resident_id=? AND "
                    "form=? AND deleted=0", (resident_id, form.form)).fetchone():
                raise VaultError(_("Este residente ya tiene «{form}»; edite la "
                                   "existente.").format(form=_(form.title)))
            seen.ones.add((resident_id, form.form))

    def _code_taken(self, conn, code: str, resident_id: str | None) -> bool:
        row = conn.execute("SELECT id FROM residents WHERE internal_code=? AND deleted=0 AND id!=? "
                           "AND joined_into IS NULL", (code, resident_id or "")).fetchone()
        return row is not None

    def _next_internal_code(self, conn, clean: dict, added: set[str]) -> str:
        year = (clean.get("admission_date") or dt.date.today().isoformat())[:4]
        prefix = f"{self.shelter_code}-{year}-"
        # Highest numeric tail, not the highest string: a typed code such as "…-2024-X" or a
        # 5-digit number must not make the next generated code repeat an existing one.
        rows = conn.execute("SELECT internal_code FROM residents WHERE internal_code LIKE ?",
                            (prefix + "%",)).fetchall()
        codes = [code for (code,) in rows] + [c for c in added if c.startswith(prefix)]
        tails = [code[len(prefix):] for code in codes]
        n = max((int(t) for t in tails if t.isascii() and t.isdigit()), default=0) + 1
        return f"{prefix}{n:04d}"

    # ------------------------------------------------------------ residents and search
    def residents(self, *, search: str | None = None, status: str | None = None,
                  include_deleted: bool = False, include_joined: bool = False,
                  limit: int | None = None) -> list[ResidentSummary]:
        """The resident list, by internal code; `search` matches names, aliases and codes
        ignoring case and accents, each word as a prefix ("mar hua" finds "María Huamán")."""
        self.require(Action.READ)
        where, args = [], []
        if search and search.strip():
            query = _fts_query(search)
            if not query:
                return []
            where.append("rowid IN (SELECT rowid FROM resident_search WHERE body MATCH ?)")
            args.append(query)
        if status:
            where.append("status = ?")
            args.append(status)
        if not include_deleted:
            where.append("deleted = 0")
        if not include_joined:
            where.append("joined_into IS NULL")
        sql = SELECT_RESIDENTS
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY internal_code"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_summary(r) for r in self.read(sql, args)]

    def search(self, text: str, limit: int | None = 50) -> list[ResidentSummary]:
        return self.residents(search=text, limit=limit)

    def search_ids(self, text: str) -> frozenset[str]:
        """The ids of the residents `residents(search=text)` lists, without building their
        summaries: what a list that filters as the user types needs (5× cheaper for short
        prefixes matching thousands)."""
        self.require(Action.READ)
        query = _fts_query(text)
        if not query:
            return frozenset()
        return frozenset(r[0] for r in self.read(
            "SELECT id FROM residents WHERE deleted = 0 AND joined_into IS NULL AND rowid IN "
            "(SELECT rowid FROM "
            "resident_search WHERE body MATCH ?)", (query,)))

    def resident(self, resident_id: str) -> ResidentSummary:
        rows = self.read(f"{SELECT_RESIDENTS} WHERE id=?", (resident_id,))
        if not rows:
            raise NotFound(_("No existe ningún residente con ese identificador."))
        return _summary(rows[0])

    def find_resident(self, ref: str) -> ResidentSummary:
        """By id or by internal code (what people type)."""
        # A joined resident's code may be the kept one's too: the kept one comes first.
        rows = self.read(f"{SELECT_RESIDENTS} WHERE id=? OR internal_code=? COLLATE NOCASE "
                          "ORDER BY joined_into IS NOT NULL, id != ?", (ref, ref.strip(), ref))
        if not rows:
            raise NotFound(_("No existe ningún residente con ese identificador o código."))
        return _summary(rows[0])

    # ------------------------------------------------------------ drafts (unsaved input kept across a lock)
    def save_draft(self, key: str, data: dict) -> None:
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO drafts VALUES (?,?,?,?)",
                         (key, self.user.name, json.dumps(data, ensure_ascii=False),
                          audit.now_iso()))

    def drafts(self) -> dict[str, dict]:
        return {k: json.loads(d) for k, d in self.read(
            "SELECT key, data FROM drafts WHERE user=?", (self.user.name,))}

    def discard_draft(self, key: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM drafts WHERE key=? AND user=?", (key, self.user.name))

    # ------------------------------------------------------------ users
    def users(self) -> list[User]:
        return [User(r[0], r[1], Role(r[2]), bool(r[3]), r[4])
                for r in self.read("SELECT name, display_name, role, active, created_at FROM "
                                    "users ORDER BY name")]

    def add_user(self, name: str, role: str | Role, passphrase: str,
                 display_name: str | None = None) -> User:
        self.require(Action.MANAGE_USERS)
        role = parse_role(role.value if isinstance(role, Role) else role)
        login = normalize_user(name)
        if not login:
            raise VaultError(_("Indique un nombre de usuario."))
        _check_new_passphrase(passphrase)
        with self._lock:
            if self.read("SELECT 1 FROM users WHERE name=?", (login,)):
                raise VaultError(_("Ya existe un usuario con ese nombre."))

            def insert(conn) -> None:
                conn.execute("INSERT INTO users VALUES (?,?,?,1,?)",
                             (login, (display_name or name).strip(), role.value,
                              audit.now_iso()))
                audit.append(conn, self.user.name, "user.add", None,
                             {"user": login, "role": role.value})

            rekey.add_user(self, login, passphrase, insert)
        return _load_user(self.conn, login)

    def set_role(self, name: str, role: str | Role) -> None:
        self.require(Action.MANAGE_USERS)
        role = parse_role(role.value if isinstance(role, Role) else role)
        login = normalize_user(name)
        with self._tx() as conn:
            if conn.execute("UPDATE users SET role=? WHERE name=?",
                            (role.value, login)).rowcount != 1:
                raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
            self._keep_a_coordinator(conn)
            audit.append(conn, self.user.name, "user.role", None, {"user": login,
                                                                   "role": role.value})

    def set_active(self, name: str, active: bool,
                   progress: Callable[[int, int], None] | None = None
                   ) -> "rekey.RekeyResult | None":
        """Disabling re-keys the vault (see disable_user). Enabling needs a new passphrase
        afterwards (reset_passphrase): the user's slot was removed when disabled."""
        if not active:
            return self.disable_user(name, progress=progress)
        self.require(Action.MANAGE_USERS)
        login = normalize_user(name)
        with self._tx() as conn:
            if conn.execute("UPDATE users SET active=1 WHERE name=?", (login,)).rowcount != 1:
                raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
            audit.append(conn, self.user.name, "user.enable", None, {"user": login})
        return None

    def disable_user(self, name: str, progress: Callable[[int, int], None] | None = None
                     ) -> "rekey.RekeyResult":
        """Disables a user and re-keys: their passphrase, and every slot file they may have
        copied (backups included), no longer open today's vault. Returns the new recovery key."""
        return rekey.rekey(self, reason="user.disable", disable=name, progress=progress)

    def rekey(self, reason: str = "coordinator",
              progress: Callable[[int, int], None] | None = None) -> "rekey.RekeyResult":
        """Re-encrypts the vault under a new key ("cambiar la llave de la bóveda")."""
        return rekey.rekey(self, reason=reason, progress=progress)

    def reset_passphrase(self, name: str, new_passphrase: str) -> None:
        """A coordinator sets a new passphrase for a user who forgot theirs."""
        self.require(Action.MANAGE_USERS)
        login = normalize_user(name)
        if not self.read("SELECT 1 FROM users WHERE name=?", (login,)):
            raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
        self._rewrap_user(login, new_passphrase, action="user.reset")

    def change_passphrase(self, old_passphrase: str, new_passphrase: str) -> None:
        """Rewraps the current user's slot; the data is not re-encrypted."""
        rekey.fresh(self).unlock_user_all(self.user.name, old_passphrase)
        self._rewrap_user(self.user.name, new_passphrase)

    def _rewrap_user(self, login: str, passphrase: str, action: str = "user.passphrase") -> None:
        _check_new_passphrase(passphrase)
        with self._lock:
            rekey.rewrap(self, login, passphrase, action)

    def _keep_a_coordinator(self, conn) -> None:
        if not conn.execute("SELECT 1 FROM users WHERE role=? AND active=1",
                            (Role.COORDINATOR.value,)).fetchone():
            raise PermissionDenied(_("La bóveda debe conservar al menos un(a) coordinador(a) "
                                     "activo(a)."))

    def _key(self) -> bytearray:
        if self._raw_key is None:
            raise VaultLocked(_("La bóveda está bloqueada. Desbloquéela para continuar."))
        return self._raw_key

    # ------------------------------------------------------------ audit and check
    def audit_log(self, record_id: str | None = None, limit: int | None = None) -> list[audit.Entry]:
        with self._lock:
            return audit.entries(self.conn, record_id, limit)

    def verify_audit(self) -> audit.VerifyResult:
        with self._lock:
            return audit.verify(self.conn)

    def check(self) -> CheckReport:
        """Cipher integrity (every page's HMAC), SQLite integrity, schema, audit chain, forms."""
        report = CheckReport()
        with self._lock:
            try:
                bad = self.conn.execute("PRAGMA cipher_integrity_check").fetchall()
                report.add("cipher", not bad,
                           _("{n} páginas con errores de cifrado").format(n=len(bad)) if bad
                           else "")
                rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
                report.add("sqlite", rows == ["ok"], "" if rows == ["ok"] else
                           _("la base de datos tiene errores internos"))
            except sqlcipher3.DatabaseError:
                report.add("sqlite", False, _("la base de datos no se puede leer"))
                self._damaged = True
                return report
            try:
                version = self.schema_version
                report.add("schema", version == SCHEMA_VERSION,
                           "" if version == SCHEMA_VERSION else
                           _("versión de esquema {v}, se esperaba {e}").format(v=version,
                                                                               e=SCHEMA_VERSION))
                result = audit.verify(self.conn)
                report.add("audit", result.ok, "" if result.ok else (
                    _("la entrada {n} del registro de auditoría no tiene una firma válida de "
                      "este equipo: se quitaron o reescribieron entradas").format(
                        n=result.broken_at)
                    if result.reason in ("signature", "unsigned") else
                    _("el registro de auditoría está roto en la entrada {n}").format(
                        n=result.broken_at)))
                unknown = [r[0] for r in self.conn.execute("SELECT DISTINCT form FROM records")
                           if r[0] not in self.forms.forms]
                report.add("forms", not unknown, "" if not unknown else
                           _("registros de formularios desconocidos: {f}").format(
                               f=", ".join(unknown)))
                # Not this vault's damage: another laptop's log contradicts what this one saw.
                alarms = audit.witness_problems(self.conn)
                report.add(WITNESS_CHECK, not alarms,
                           "; ".join(_witness_message(a) for a in alarms))
            except sqlcipher3.DatabaseError:
                # A damaged page met while reading the audit log or the records.
                report.add("sqlite", False, _("la base de datos no se puede leer"))
        if any(not ok for name, ok, _m in report.items if name != WITNESS_CHECK):
            self._damaged = True
        return report

    # ------------------------------------------------------------ backup and restore
    def backup(self, out: Path | str) -> Path:
        """Writes an encrypted backup file (the database still under its key, plus the key
        slots). The file appears complete or not at all."""
        self.require(Action.BACKUP)
        out = Path(out)
        if out.is_dir():
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = out / f"{self.shelter_code}-{stamp}.cpcbackup"
        with _backup_work(out, leftover_tag(self.vault_id)) as work:
            with self._lock:
                _export_db(self.conn, bytes(self._key()), work / DB_NAME)
                slots = rekey.fresh(self).to_json()
                info = {"vault_id": self.vault_id, "shelter": self.shelter_code,
                        "schema_version": self.schema_version}
                with self._tx() as conn:
                    audit.append(conn, self.user.name, "vault.backup")
            return _pack_backup(work, slots, info, out)

    @classmethod
    def restore(cls, backup: Path | str, path: Path | str, user: str, passphrase: str, *,
                as_new: bool = False) -> Path | None:
        """Replaces the vault at `path` with a backup checked exactly as verify-backup checks
        it; see backups.restore (another vault's backup only with as_new)."""
        from . import backups

        return backups.restore(backup, path, user, passphrase, as_new=as_new)

    # ------------------------------------------------------------ info
    def stats(self) -> dict[str, int]:
        rows = self.read("SELECT form, count(*) FROM records WHERE deleted=0 GROUP BY form")
        return dict(rows)

    def shelter_codes(self) -> list[str]:
        """The shelter codes of the residents this vault holds (its own and synced ones),
        sorted: what a report may be limited to."""
        self.require(Action.READ)
        # Intakes only: one per resident, found through the form index (not every service).
        return [r[0] for r in self.read(
            "SELECT DISTINCT shelter FROM records WHERE form=? AND deleted=0 ORDER BY shelter",
            (self.forms.intake.form,))]


# A list of choice values as json_extract returns it: split without a JSON parser (10× faster).
_PLAIN_LIST = re.compile(r'\[\]|\["[a-z0-9_]+"(?:,"[a-z0-9_]+")*\]')
MIN_PASSPHRASE = 10


WITNESS_CHECK = "witness"


def _witness_message(alarm: audit.WitnessAlarm) -> str:
    if alarm.kind == "fewer":
        return _("el equipo {device} del centro {shelter} mostraba {seen} entradas de auditoría "
                 "y ahora muestra {now}: se borraron entradas de su registro, o se restauró "
                 "allí una copia de seguridad más antigua").format(
            device=alarm.device[-8:], shelter=alarm.shelter, seen=alarm.seen, now=alarm.now)
    return _("el registro de auditoría del equipo {device} del centro {shelter} ya no coincide "
             "con las {seen} entradas que este equipo vio: fue reescrito").format(
        device=alarm.device[-8:], shelter=alarm.shelter, seen=alarm.seen)


def _check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise VaultError(_("La contraseña debe tener al menos {n} caracteres; una frase de "
                           "varias palabras es más fácil de recordar.").format(n=MIN_PASSPHRASE))


def passphrase_strength(passphrase: str) -> int:
    """0 (weak) … 4 (strong): a hint for people, not a security guarantee."""
    if len(passphrase) < MIN_PASSPHRASE:
        return 0
    classes = sum(bool(re.search(p, passphrase)) for p in (r"[a-záéíóúñ]", r"[A-ZÁÉÍÓÚÑ]",
                                                            r"\d", r"[^\w]"))
    words = len(passphrase.split())
    score = 1 + (len(passphrase) >= 14) + (len(passphrase) >= 20 or words >= 4) + (classes >= 3)
    return min(score, 4)


def _remove_db_files(path: Path) -> None:
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
        with contextlib.suppress(OSError):
            (path / name).unlink()


def _load_slots(path: Path) -> KeySlots:
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


def _require_folder(path: Path) -> None:
    if not path.exists():
        raise VaultError(_("No existe ninguna bóveda en esa carpeta."))


def _file_salt(db_path: Path) -> str | None:
    try:
        with open(db_path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    return head.hex() if len(head) == 16 else None


def db_salt(conn) -> str | None:
    """The database's SQLCipher salt (hex), recorded in key boxes (see _connect_any)."""
    row = conn.execute("PRAGMA cipher_salt").fetchone()
    return row[0] if row else None


def _connect_any(db_path: Path, found: list[Unlocked]) -> tuple[sqlcipher3.Connection, Unlocked]:
    """The database opened with the first candidate key that opens it (more than one only
    after an interrupted re-key)."""
    for i, unlocked in enumerate(found):
        try:
            return _connect(db_path, unlocked.raw_key), unlocked
        except VaultDamaged:
            if i == len(found) - 1:
                if not unlocked.db_salt or _file_salt(db_path) in (None, unlocked.db_salt):
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


def _load_user(conn, login: str) -> User:
    row = conn.execute("SELECT name, display_name, role, active, created_at FROM users WHERE "
                       "name=?", (login,)).fetchone()
    if row is None:
        raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
    return User(row[0], row[1], Role(row[2]), bool(row[3]), row[4])


def _migrate(conn, before: Callable[[int], Path] | None = None, who: str | None = None) -> None:
    """Brings an older vault to SCHEMA_VERSION, one step per transaction. `before(version)`
    runs once before the first step (the automatic backup); a failing step is rolled back and
    reported with the backup's place."""
    version = int(conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise VaultError(_("Esta bóveda fue creada por una versión más nueva de CPC Desktop; "
                           "actualice el programa."))
    if version == SCHEMA_VERSION:
        return
    copy = before(version) if before is not None else None
    while version < SCHEMA_VERSION:
        step = MIGRATIONS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(sqlite_utils.Database(conn))
            conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version + 1),))
            if who:
                audit.append(conn, who, "vault.migrate", None,
                             {"from": version, "to": version + 1,
                              "backup": copy.name if copy else None})
            conn.execute("COMMIT")
        except Exception:
            with contextlib.suppress(sqlcipher3.Error):   # the failure may have ended it
                conn.execute("ROLLBACK")
            # The step's own message may quote data; the user needs what happened and where
            # the copy is.
            raise VaultError(_("No se pudo actualizar la bóveda de la versión {old} a la {new}; "
                               "el cambio se deshizo y la bóveda sigue en la versión {old}, "
                               "sin ningún dato perdido. {backup}Avise al soporte; mientras "
                               "tanto puede seguir usando la versión anterior del programa.").format(
                old=version, new=version + 1,
                backup=_("Hay una copia de seguridad previa en {path}. ").format(path=copy)
                if copy else "")) from None
        except BaseException:
            with contextlib.suppress(sqlcipher3.Error):
                conn.execute("ROLLBACK")
            raise
        version += 1


def _statements(script: str) -> list[str]:
    """Splits a schema script; executescript() would commit behind our transaction."""
    out, buf = [], []
    for line in script.splitlines():
        line = line.split("--", 1)[0].rstrip()
        if not line:
            continue
        buf.append(line)
        if line.endswith(";"):
            out.append("\n".join(buf))
            buf = []
    out.append("CREATE VIRTUAL TABLE resident_search USING fts5(body, "
               "tokenize = 'unicode61 remove_diacritics 2')")
    return out


def _fts_query(text: str) -> str:
    words = re.findall(r"\w+", search_fold(text))
    return " ".join(f'"{w}"*' for w in words)


# Read by name, never by position: a migration adding a column cannot shift what is read.
_RECORD_COLUMNS = ("id", "form", "form_version", "resident_id", "data", "clocks", "record_date",
                   "created_at", "created_by", "updated_at", "updated_by", "deleted",
                   "created_hlc")
_SUMMARY_COLUMNS = tuple(f.name for f in dataclasses.fields(ResidentSummary))
SELECT_RECORDS = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM records"
SELECT_RESIDENTS = f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM residents"


def _record(r) -> Record:
    c = dict(zip(_RECORD_COLUMNS, r))
    c["values"], c["clocks"] = json.loads(c.pop("data")), json.loads(c["clocks"])
    c["deleted"] = bool(c["deleted"])
    return Record(**c)


def _summary(r) -> ResidentSummary:
    c = dict(zip(_SUMMARY_COLUMNS, r))
    c["deleted"] = bool(c["deleted"])
    return ResidentSummary(**c)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _tar_add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------- the .cpcbackup format
# A tar of manifest.json (format, vault id, shelter, schema version, time, sha256 of each
# member), keyslots.json and vault.db (a SQLCipher copy under the same raw key): nothing in it
# is readable without a passphrase or the recovery key.

def leftover_tag(vault_id: str) -> str:
    """Names a vault's backup work files without naming the vault (see core/backups.py)."""
    import hashlib

    return hashlib.sha256(f"cpc-leftover|{vault_id}".encode()).hexdigest()[:12]


def disk_full(exc: BaseException) -> bool:
    """An OSError or a SQLite error saying there is no space left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return isinstance(exc, sqlcipher3.Error) and "full" in str(exc).lower()


def _backup_write_error(exc: BaseException) -> BackupError:
    if disk_full(exc):
        return BackupError(_("El disco o la memoria USB de destino está lleno: la copia de "
                             "seguridad no se guardó y no quedó ningún archivo a medias. La "
                             "bóveda no se modificó. Libere espacio (o borre copias antiguas) "
                             "y vuelva a intentarlo."))
    return BackupError(_("No se pudo escribir la copia de seguridad (¿memoria USB retirada o "
                         "sin permiso de escritura?). No se dejó ningún archivo a medias y la "
                         "bóveda no se modificó."))


@contextlib.contextmanager
def _backup_work(out: Path, tag: str | None = None) -> Iterator[Path]:
    """A temporary folder beside `out` (same disk, so the final rename is atomic), named with
    the vault's leftover tag; removed afterwards whatever happens. Write errors (a full disk
    too, which SQLite reports as its own error) become one BackupError."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".cpc-backup-{tag}-" if tag else ".cpc-backup-",
                                     dir=out.parent))
    except OSError as exc:
        if disk_full(exc):
            raise _backup_write_error(exc) from None
        raise BackupError(_("No se puede escribir en esa carpeta.")) from None
    try:
        yield work
    except OSError as exc:
        raise _backup_write_error(exc) from None
    except sqlcipher3.Error as exc:
        if not disk_full(exc) and "unable to open" not in str(exc).lower():
            raise
        raise _backup_write_error(exc) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export_db(conn, raw_key: bytes, dest: Path) -> None:
    conn.execute(f"ATTACH DATABASE ? AS backup KEY \"x'{raw_key.hex()}'\"", (str(dest),))
    try:
        conn.execute("SELECT sqlcipher_export('backup')")
    finally:
        conn.execute("DETACH DATABASE backup")


def _pack_backup(work: Path, slots: dict, info: dict, out: Path) -> Path:
    """Tars the exported database and the slots in `work`, then renames into `out`."""
    db_copy = work / DB_NAME
    slots_json = json.dumps(slots, indent=1).encode()
    manifest = {"format": 1, **info, "created_at": audit.now_iso(),
                "sha256": {DB_NAME: _sha256(db_copy), SLOTS_NAME: _sha256_bytes(slots_json)}}
    tmp_out = work / "backup.tar"
    with tarfile.open(tmp_out, "w") as tar:
        _tar_add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
        _tar_add_bytes(tar, SLOTS_NAME, slots_json)
        tar.add(db_copy, arcname=DB_NAME)
    with open(tmp_out, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp_out, out)
    return out


def migration_backup_path(path: Path, version: int) -> Path:
    """Where opening a vault of schema `version` puts its copy before migrating it."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return path.parent / f"{path.name}.before-migration-v{version}-{stamp}.cpcbackup"


def _backup_before_migration(path: Path, conn, raw_key: bytes, slots: KeySlots,
                             version: int) -> Path:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    out = migration_backup_path(path, version)
    try:
        with _backup_work(out, leftover_tag(meta["vault_id"])) as work:
            _export_db(conn, raw_key, work / DB_NAME)
            return _pack_backup(work, slots.to_json(),
                                {"vault_id": meta["vault_id"], "shelter": meta["shelter_code"],
                                 "schema_version": version}, out)
    except BackupError:
        raise VaultError(_("Esta versión del programa necesita actualizar la bóveda y antes "
                           "hace una copia de seguridad junto a ella, pero no pudo escribirla "
                           "(¿disco lleno?). No se ha modificado nada: libere espacio e "
                           "inténtelo de nuevo.")) from None
