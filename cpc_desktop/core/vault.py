"""The vault: one shelter's records in a SQLCipher database, opened with a random raw key.

A vault is a folder holding `vault.db` (every page ciphertext, WAL and journal too) and
`keyslots.json` (the raw key wrapped per user and by the recovery key). Every operation is one
transaction; every write records per-field changes stamped by the hybrid clock and an audit
entry, so sync and history need nothing more.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

import sqlcipher3
import sqlite_utils

from . import (attachments, audit, backup_file, connection, crypto, forms, formversions, rekey,
               schema, tables, vaultlock)
from .clock import HybridClock, Stamp
from .errors import (CpcError, NotFound, PermissionDenied, ValidationError,
                     VaultDamaged, VaultDiskFull, VaultError, VaultLocked, VaultReadOnly)
from .i18n import _
from .ids import uuid7
from .keyslots import KeySlots, Unlocked, normalize_user
from .records_store import (CREATED, DELETED, FACTS_KEY, JOINED, RecordRow, RecordsStore,
                            dump_value, facts_json, facts_signature, fold, resolve_joins)
from .residents import ResidentQueries, ResidentSummary
from .user_admin import (MIN_PASSPHRASE, UserAdmin, _check_new_passphrase, _load_user,
                         passphrase_strength)
from .users import Action, Role, User

# Re-exported: callers name them through this module. Tests that change them patch the module
# that uses them (connection, schema, backup_file).
DB_NAME, SLOTS_NAME, BUSY_TIMEOUT_MS = connection.DB_NAME, connection.SLOTS_NAME, \
    connection.BUSY_TIMEOUT_MS
SCHEMA_VERSION, MIGRATIONS = schema.SCHEMA_VERSION, schema.MIGRATIONS
db_salt, disk_full = connection.db_salt, connection.disk_full
leftover_tag, migration_backup_path = backup_file.leftover_tag, backup_file.migration_backup_path
# Also named through this module by other modules (CREATED, DELETED, JOINED,
# facts_json, fold, resolve_joins, ResidentSummary, MIN_PASSPHRASE, passphrase_strength).
__all__ = ["CREATED", "DELETED", "JOINED", "MIN_PASSPHRASE", "Change",
           "CheckReport", "Record", "ResidentSummary", "Vault", "default_vault_path",
           "facts_json", "fold", "passphrase_strength", "resolve_joins"]


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
        """The stamp of a field's (or table cell's) current value (what last-writer-wins
        compares)."""
        return tables.clock(self.clocks, field_id, self.created_hlc)


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


class Vault(ResidentQueries, UserAdmin):
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
        if (path / connection.DB_NAME).exists() or (path / connection.SLOTS_NAME).exists():
            raise VaultError(_("Ya existe una bóveda en esa carpeta; no se ha modificado."))
        try:
            path.mkdir(parents=True, exist_ok=True)
            if not os.access(path, os.W_OK):
                raise PermissionError(errno.EACCES, "")
        except OSError as exc:
            raise VaultError(_("No se puede crear la bóveda en esa carpeta: el disco está "
                               "lleno. Libere espacio o elija otro lugar.") if connection.disk_full(exc)
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
        if (path / connection.DB_NAME).exists() or (path / connection.SLOTS_NAME).exists():
            raise VaultError(_("Ya existe una bóveda en esa carpeta; no se ha modificado."))
        raw_key = secrets.token_bytes(crypto.KEY_BYTES)
        vault_id = uuid7()
        slots = KeySlots.new(path / connection.SLOTS_NAME, vault_id)
        params = crypto.calibrate(kdf_seconds)
        recovery_bytes, recovery_text = crypto.new_recovery_key()
        try:
            conn = connection.connect(path / connection.DB_NAME, raw_key)
        except CpcError:
            connection.remove_db_files(path)   # a full disk may fail after creating an empty file
            raise
        try:
            conn.execute("BEGIN IMMEDIATE")
            for stmt in schema.statements(schema.SCHEMA + audit.SCHEMA):
                conn.execute(stmt)
            for version in range(1, schema.SCHEMA_VERSION):
                schema.MIGRATIONS[version](sqlite_utils.Database(conn))
            now = audit.now_iso()
            # The device id is derived from the device's signing key (sync's roster binds them).
            device_id, sign_key, kx_key = crypto.new_device_keys()
            meta = {"schema_version": str(schema.SCHEMA_VERSION), "vault_id": vault_id,
                    "shelter_code": shelter_code, "shelter_name": shelter_name.strip(),
                    "device_id": device_id, "created_at": now, "kdf_seconds": str(kdf_seconds),
                    "sync_sign_key": sign_key, "sync_kx_key": kx_key}
            conn.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
            login = normalize_user(user)
            conn.execute("INSERT INTO users VALUES (?,?,?,1,?)",
                         (login, (display_name or user).strip(), Role.COORDINATOR.value, now))
            audit.append(conn, login, "vault.create", detail={"shelter": shelter_code})
            slots.db_salt = connection.db_salt(conn)
            rekey.new_vault_slots(conn, slots, login, passphrase, raw_key, params,
                                  recovery_bytes)
            conn.execute("COMMIT")
            # Slots are written last: a vault without slots was never usable, so nothing is
            # lost if this fails.
            slots.save()
        except BaseException as exc:
            conn.close()
            connection.remove_db_files(path)
            if isinstance(exc, (OSError, sqlcipher3.Error)):
                raise (VaultDiskFull(_("No se pudo crear la bóveda: el disco está lleno. No "
                                       "quedó nada a medias; libere espacio o elija otro "
                                       "lugar.")) if connection.disk_full(exc)
                       else connection.db_error(exc) if isinstance(exc, sqlcipher3.Error)
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
        (backup_file.migration_backup_path); a copy being restored needs none (its file is the backup).
        """
        path = Path(path)
        connection.require_folder(path)
        hold = vaultlock.acquire(path)
        try:
            slots = connection.load_slots(path)
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
        connection.require_folder(path)
        hold = vaultlock.acquire(path)
        try:
            slots = connection.load_slots(path)
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
        found = connection.load_slots(path).unlock_recovery_all(recovery_key)
        if not (path / connection.DB_NAME).exists():
            raise VaultDamaged(_("Falta el archivo de datos de la bóveda (vault.db) en «{path}». "
                                 "No se ha modificado nada. Compruebe que es la carpeta "
                                 "correcta; si el archivo se perdió, restaure la última copia "
                                 "de seguridad.").format(path=path))
        conn, unlocked = connection.connect_any(path / connection.DB_NAME, found)
        try:
            rekey.accept(conn, unlocked, None)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlcipher3.DatabaseError as exc:
            raise connection.db_error(exc) from None
        finally:
            conn.close()
        return meta["shelter_code"], meta["shelter_name"]

    @classmethod
    def _open_with_key(cls, path: Path, slots: KeySlots, raw_key: bytes | list[Unlocked],
                       user: str, audit_action: str = "vault.unlock",
                       backup_before_migration: bool = True, *, passphrase: str | None = None,
                       recovery: bool = False, hold: vaultlock.Hold | None = None) -> "Vault":
        if not (path / connection.DB_NAME).exists():
            raise VaultDamaged(_("Falta el archivo de datos de la bóveda (vault.db) en «{path}». "
                                 "No se ha modificado nada. Compruebe que es la carpeta "
                                 "correcta; si el archivo se perdió, restaure la última copia "
                                 "de seguridad.").format(path=path))
        found = raw_key if isinstance(raw_key, list) else [Unlocked("", raw_key, "")]
        conn, unlocked = connection.connect_any(path / connection.DB_NAME, found)
        raw_key = unlocked.raw_key
        try:
            login = normalize_user(user)
            if connection.read_only_place(path / connection.DB_NAME) and int(conn.execute(
                    "SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
                    ) < schema.SCHEMA_VERSION:
                raise VaultReadOnly(_("Esta bóveda es de una versión anterior y hay que "
                                      "actualizarla antes de usarla, pero su carpeta es de "
                                      "solo lectura. No se ha modificado nada: cópiela a una "
                                      "carpeta con permiso de escritura y ábrala allí."))
            if unlocked.slot_id:
                rekey.accept(conn, unlocked, None if recovery else login)
            schema.migrate(conn, (lambda version: backup_file.backup_for_migration(
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
            if unlocked.slot_id and hold is not None and not connection.read_only_place(path / connection.DB_NAME):
                # A format-1 slot is rewritten, an interrupted re-key finished.
                rekey.after_open(vault, unlocked, passphrase)
        except sqlcipher3.DatabaseError as exc:
            conn.close()
            raise connection.db_error(exc) from None
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

    transaction = writing   # the older name, still used by sync

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlcipher3.Connection]:
        """The connection, with no other thread of this vault using it meanwhile (several
        reads that must agree, or a read followed by a writing() that depends on it)."""
        with self._lock:
            yield self.conn

    def release_memory(self) -> None:
        """Drops the connection's page cache (later reads fill it again as far as they
        need): the window calls it once the resident list is loaded, and after a lock."""
        with self._lock:
            if self.is_open:
                self.conn.execute("PRAGMA shrink_memory")

    def read(self, sql: str, args: Iterable | Mapping = ()) -> list[tuple]:
        """The rows of one query (`args` by position, or by name); an unreadable page is
        reported as damage."""
        with self._lock, self._guard():
            return self.conn.execute(sql, args if isinstance(args, Mapping)
                                     else tuple(args)).fetchall()

    def connect_copy(self, db_path: Path) -> sqlcipher3.Connection:
        """A connection to a copy of this vault's database (a backup being checked), opened
        with this vault's key, which never leaves the vault."""
        with self._lock:
            return connection.connect(db_path, bytes(self._key()))

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
        err = connection.db_error(exc, self.path / connection.DB_NAME)
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
            if form.version > 1:
                clean[formversions.FORM_VERSION] = form.version
            tables.assign_ids(_table_ids(form), clean)
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
            self._require_known_version(current, form)
            # An older record is brought to this version first (the editor was told what
            # changes: upgrade_notes); the edit then applies to the upgraded values.
            stored = form.upgrade(current.values).values
            # System fields (a join) are not the form's: kept as they are, never validated;
            # so are values no field of this version holds (another version's).
            system = {k: v for k, v in stored.items()
                      if k.startswith("_") or not form.has_field(k)}
            own = {k: v for k, v in stored.items() if k not in system}
            merged = dict(values) if replace else {**own, **values}
            merged = {k: v for k, v in merged.items() if v is not None}
            if replace:
                # A whole record from an editor that leaves hidden fields out: their stored
                # values stay (a choice changed back shows them again).
                for fld in form.fields:
                    if (fld.id in own and fld.id not in values and fld.show_when is not None
                            and not fld.show_when.holds(merged)):
                        merged[fld.id] = own[fld.id]
            for tid in _table_ids(form):
                if isinstance(merged.get(tid), list) and merged[tid] is not own.get(tid):
                    merged[tid] = [dict(r) if isinstance(r, dict) else r for r in merged[tid]]
                    tables.carry_hidden(form.field(tid), own.get(tid), merged[tid])
            clean = form.validate(merged)
            tables.assign_ids(_table_ids(form), clean)
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

    def upgrade_notes(self, record: Record) -> tuple[str, ...]:
        """What editing this older record changes (its upgrade to the current version), for
        the person about to edit; empty when it is current."""
        form = self.forms.get(record.form)
        self._require_known_version(record, form)
        return form.upgrade(record.values,
                            lambda fid: self.forms.label_any(record.form, fid)).notes

    @staticmethod
    def _require_known_version(record: Record, form: forms.Form) -> None:
        if record.form_version > form.version:
            raise VaultError(_(
                "Este registro fue escrito con la versión {newer} del formulario «{form}» en "
                "otro equipo, y este programa solo conoce la versión {known}. Se muestra tal "
                "como llegó, sin cambios, hasta que actualice CPC Desktop en este equipo; "
                "nada de él se perdió.").format(newer=record.form_version, form=_(form.title),
                                               known=form.version))

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
        if source == "facts" and self.meta().get(FACTS_KEY.format(form=form_id)) != \
                facts_signature(form):
            # Derived by an earlier program's form (an update): derived again, once.
            with self.writing() as conn:
                self.store.refresh_facts(conn, form_id)
        # Many fields: parse each record's JSON once in Python rather than once per field.
        whole = source == "facts" and len(wanted) > 3
        # Field ids are checked identifiers (a-z, 0-9, _), safe inside the JSON path.
        cols = ", facts" if whole else "".join(
            f", json_extract({source}, '$.{fid}')" for fid in wanted)
        # An older version's record is read whole and upgraded (its fields may have other
        # names); the version is a checked int.
        old = source == "data" and form.moves_values
        if old:
            cols += f", CASE WHEN form_version < {int(form.version)} THEN data END"
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
                if old and r[-1] is not None:
                    up = form.upgrade(json.loads(r[-1])).values
                    yield r[0], r[1], {f: up[f] for f in wanted if up.get(f) is not None}
                    continue
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
        # A table changes cell by cell (core/tables.py): rows merge across laptops.
        writes: dict[str, Any] = {}
        for key in changed:
            if form.has_field(key) and form.field(key).type == "table":
                writes.update(tables.diff(key, old.get(key), clean.get(key)))
            else:
                writes[key] = clean.get(key)
        for key, value in writes.items():
            clocks[key] = self.clock.after(before.clock(key))
            batch.log(record_id, form.form, resident_id, key, dump_value(value),
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
                report.add("schema", version == schema.SCHEMA_VERSION,
                           "" if version == schema.SCHEMA_VERSION else
                           _("versión de esquema {v}, se esperaba {e}").format(v=version,
                                                                               e=schema.SCHEMA_VERSION))
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
                problems = attachments.check(self.conn)
                report.add("attachments", not problems, "; ".join(problems))
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
        with backup_file.backup_work(out, backup_file.leftover_tag(self.vault_id)) as work:
            with self._lock:
                backup_file.export_db(self.conn, bytes(self._key()), work / connection.DB_NAME)
                slots = rekey.fresh(self).to_json()
                info = {"vault_id": self.vault_id, "shelter": self.shelter_code,
                        "schema_version": self.schema_version}
                with self._tx() as conn:
                    audit.append(conn, self.user.name, "vault.backup")
            return backup_file.pack_backup(work, slots, info, out)

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


# Read by name, never by position: a migration adding a column cannot shift what is read.
_RECORD_COLUMNS = ("id", "form", "form_version", "resident_id", "data", "clocks", "record_date",
                   "created_at", "created_by", "updated_at", "updated_by", "deleted",
                   "created_hlc")
SELECT_RECORDS = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM records"


def _table_ids(form: forms.Form) -> list[str]:
    return [f.id for f in form.fields if f.type == "table"]


def _record(r) -> Record:
    c = dict(zip(_RECORD_COLUMNS, r))
    # Rows stored before rows had ids are given the ids every laptop derives for them.
    c["values"] = tables.loads(c["id"], c.pop("data"))
    c["clocks"] = json.loads(c["clocks"])
    c["deleted"] = bool(c["deleted"])
    return Record(**c)


