"""Key slot changes and re-keying of an open vault.

Every change to keyslots.json happens here, under the vault's process lock (vaultlock) and the
slot file's mutex, on a copy re-read from disk (a stale copy in memory is never written back).
The encrypted `key_slots` table says which slots are valid and whose they are: a slot that
opens but is not registered for that user (an old file copied back) is refused.

Re-key: the database is copied page by page under a new random key (SQLite's backup API into
`vault.db.rekey`, progress reported, cancellable), the user being disabled and the new slot
registry are written in the copy, then swapped in:
  A. keyslots.json gets boxes of the new key beside the old ones (+ a new recovery slot);
  B. the old database is checkpointed and closed, and the copy renamed over vault.db;
  C. keyslots.json keeps only the new key's boxes.
A kill at any point leaves the old database with slots that open it, or the new one with slots
that open it; the next unlock finishes C or removes the unused copy (finish_interrupted).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlcipher3

from . import audit, connection, crypto
from .errors import PermissionDenied, UnknownUser, VaultError, WrongPassphrase
from .files import sync_folder
from .i18n import _
from .keyslots import (
    KeySlots,
    Unlocked,
    new_generation,
    normalize_user,
    register,
    registry,
    unregister_user,
)
from .users import Action, Role

TMP_SUFFIX = ".rekey"
# Pages copied per step of the backup API: small enough for a smooth bar and a quick cancel.
STEP_PAGES = 512
# Reasons recorded in the audit log (the window and the CLI pick one).
REASONS = ("coordinator", "compromised", "user.disable")


@dataclass
class RekeyResult:
    recovery_key: str               # the new recovery key (print a new sheet)
    shelter_code: str
    shelter_name: str
    lost_access: list[str] = field(default_factory=list)  # need a new passphrase (reset)
    seconds: float = 0.0


def _db_path(v) -> Path:
    from .vault import DB_NAME

    return v.path / DB_NAME


def _slots_path(v) -> Path:
    from .vault import SLOTS_NAME

    return v.path / SLOTS_NAME


def _meta(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


@contextlib.contextmanager
def _slot_mutex(v):
    hold = getattr(v, "_hold", None)
    if hold is None:
        yield
        return
    with hold.mutex:
        yield


def fresh(v) -> KeySlots:
    """The slot file as it is on disk now (call with the slot mutex held)."""
    from .vault import db_salt

    slots = KeySlots.load(_slots_path(v))
    if v._conn is not None:
        slots.db_salt = db_salt(v._conn)
    return slots


# ---------------------------------------------------------------- a new vault

def new_vault_slots(conn, slots: KeySlots, login: str, passphrase: str, raw_key: bytes,
                    params: crypto.KdfParams, recovery: bytes) -> None:
    """The first user's and the recovery slot of a vault being created (inside its
    transaction)."""
    gen = new_generation()
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('key_gen', ?)", (gen,))
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('legacy_slots', 'none')")
    sid, pub = slots.add_user(login, passphrase, raw_key, gen, params)
    register(conn, sid, login, pub)
    rid, rpub = slots.set_recovery(recovery, raw_key, gen)
    register(conn, rid, None, rpub)
    slots.pad(gen)


# ---------------------------------------------------------------- after unlocking

def _gen(v, conn) -> str:
    """The current key generation; an older vault gets one (inside the caller's tx)."""
    gen = _meta(conn).get("key_gen")
    if gen is None:
        gen = new_generation()
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('key_gen', ?)", (gen,))
    return gen


def accept(conn, unlocked: Unlocked, login: str | None) -> None:
    """Refuses a slot that opened the database but is not (or no longer) this user's: an old
    slot file copied back, a disabled user's slot. `login` None: the recovery slot."""
    reg = registry(conn)
    if unlocked.gen is None:
        # A format-1 slot: valid only while this user (or the recovery) has no format-2 slot.
        if any(user == login for user, _pub in reg.values()):
            raise WrongPassphrase(_("Usuario o contraseña incorrectos."))
        return
    entry = reg.get(unlocked.slot_id)
    if entry is None or entry[0] != login:
        if login is None:
            from .errors import BadRecoveryKey

            raise BadRecoveryKey(_("La clave de recuperación no corresponde a esta bóveda."))
        raise WrongPassphrase(_("Usuario o contraseña incorrectos."))


def after_open(v, unlocked: Unlocked, passphrase: str | None) -> None:
    """Migrates a format-1 slot of the user who just unlocked, and finishes an interrupted
    re-key. Writes nothing when there is nothing to do."""
    with _slot_mutex(v):
        finish_interrupted(v)
        if unlocked.gen is None and passphrase is not None:
            old = v._slots.slots.get(unlocked.slot_id, {}).get("wrapped")
            _rewrap(v, v.user.name, passphrase, bytes(v._key()),
                    replace={old} if old else set(), action=None)
        v._slots = fresh(v)


def finish_interrupted(v) -> None:
    """Removes a copy a killed re-key left, and boxes of a key the database no longer uses."""
    db = _db_path(v)
    _remove_copy(db)
    slots = fresh(v)
    meta = _meta(v.conn)
    gen = meta.get("key_gen")
    if gen is None:
        return
    stale = [b for s in slots.slots.values() for b in s.get("boxes", []) if b.get("gen") != gen]
    if not stale:
        return
    real = set(registry(v.conn))
    if meta.get("legacy_slots") == "dropped":
        slots.prune(gen, real)
    else:
        # The copy was never swapped in: drop only what the re-key had added.
        for s in slots.slots.values():
            if "boxes" in s:
                s["boxes"] = [b for b in s["boxes"] if b.get("gen") == gen]
        slots.slots = {k: s for k, s in slots.slots.items() if s.get("v") == 1 or s["boxes"]}
        slots.repad(gen, real)
    slots.save()


def _remove_copy(db: Path) -> None:
    tmp = db.with_name(db.name + TMP_SUFFIX)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(tmp) + suffix)


# ---------------------------------------------------------------- users' slots

def add_user(v, login: str, passphrase: str, insert: Callable) -> None:
    """A new user's slot; `insert(conn)` writes the user row in the same transaction."""
    raw = bytes(v._key())
    with _slot_mutex(v):
        slots = fresh(v)
        with v.writing() as conn:
            gen = _gen(v, conn)
            sid, pub = slots.add_user(login, passphrase, raw, gen, _shared_kdf(v, slots))
            insert(conn)
            register(conn, sid, login, pub)
            slots.repad(gen, set(registry(conn)))
            # Inside the transaction: a slot file that cannot be written undoes the user.
            slots.save()
        v._slots = slots


def rewrap(v, login: str, passphrase: str, action: str) -> None:
    """A new slot (new key pair) for `login`; its older slots stop opening the vault."""
    with _slot_mutex(v):
        _rewrap(v, login, passphrase, bytes(v._key()), replace=set(), action=action)
        v._slots = fresh(v)


def _rewrap(v, login: str, passphrase: str, raw: bytes, replace: set[str],
            action: str | None) -> None:
    # Three durable steps so a kill leaves a slot that opens: file gets the new slot, the
    # database registers it (and forgets the old), the file drops the old one.
    slots = fresh(v)
    gen = _meta(v.conn).get("key_gen") or new_generation()
    sid, pub = slots.add_user(login, passphrase, raw, gen, _shared_kdf(v, slots))
    slots.save()
    with v.writing() as conn:
        gen2 = _gen(v, conn)
        if gen2 != gen:                 # an older vault's first generation
            slots.slots[sid]["boxes"] = []
            slots.add_box(sid, pub, raw, gen2)
            gen = gen2
        unregister_user(conn, login)
        register(conn, sid, login, pub)
        if action:
            audit.append(conn, v.user.name, action, None, {"user": login})
        real = set(registry(conn))
    for old in replace:
        slots.remove_legacy(old)
    slots.repad(gen, real)
    slots.save()


def _shared_kdf(v, slots: KeySlots) -> crypto.KdfParams:
    found = slots.user_kdf()
    if found is not None:
        return found
    for s in slots.slots.values():     # an older vault: its users' parameters
        if s.get("v") == 1 and s["kdf"].get("alg") == "argon2id":
            with contextlib.suppress(Exception):
                return crypto.KdfParams.from_json(s["kdf"])
    return crypto.calibrate(float(_meta(v.conn).get("kdf_seconds", 0.5)))


# ---------------------------------------------------------------- re-key

def rekey(v, *, reason: str = "coordinator", disable: str | None = None,
          progress: Callable[[int, int], None] | None = None,
          on_step: Callable[[str], None] | None = None) -> RekeyResult:
    """Re-encrypts the database under a new random key and reseals it to every remaining
    slot; `disable` also disables that user in the same swap. `progress(done, total)` is
    called while copying and may raise to cancel (nothing changes then). Returns the new
    recovery key: the old one and every old slot file (in backups too) no longer open it."""
    from . import vault as _vault

    v.require(Action.MANAGE_USERS)
    step = on_step or (lambda _name: None)
    started = time.perf_counter()
    with v._lock, _slot_mutex(v):
        hold = getattr(v, "_hold", None)
        others = [o for o in (hold.others(v) if hold is not None else []) if o.is_open]
        conn = v.conn
        users = {r[0]: (bool(r[1]), r[2]) for r in
                 conn.execute("SELECT name, active, role FROM users").fetchall()}
        target_user = normalize_user(disable) if disable else None
        if target_user is not None:
            if target_user not in users:
                raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
            if not any(active and role == Role.COORDINATOR.value and name != target_user
                       for name, (active, role) in users.items()):
                raise PermissionDenied(_("La bóveda debe conservar al menos un(a) "
                                         "coordinador(a) activo(a)."))
        reg = registry(conn)
        slots = fresh(v)
        survivors = {sid: (user, pub) for sid, (user, pub) in reg.items()
                     if user is not None and users.get(user, (False, ""))[0]
                     and user != target_user and sid in slots.slots}
        kept = {user for user, _pub in survivors.values()}
        lost = sorted(name for name, (active, _role) in users.items()
                      if active and name != target_user and name not in kept)
        new_key = secrets.token_bytes(crypto.KEY_BYTES)
        gen = new_generation()
        recovery_bytes, recovery_text = crypto.new_recovery_key()
        db = _db_path(v)
        tmp = db.with_name(db.name + TMP_SUFFIX)
        _remove_copy(db)
        try:
            slots.db_salt = _copy(v, conn, tmp, new_key, progress)
            rid, rpub = slots.set_recovery(recovery_bytes, new_key, gen)
            for sid, (_user, pub) in survivors.items():
                slots.add_box(sid, pub, new_key, gen)
            _write_copy(v, tmp, new_key, gen, survivors, rid, rpub, target_user, reason)
        except BaseException:
            _remove_copy(db)
            raise
        # From here on there is no cancel: a few file operations.
        slots.save()                                    # A
        step("slots")
        old_key = bytes(v._key())
        with contextlib.ExitStack() as stack:
            # Other sessions of this process on the same vault pause, then reopen on the new
            # file (a disabled user's session is locked).
            for other in others:
                stack.enter_context(other._lock)
            _swap(v, db, tmp, slots, gen, set(survivors) | {rid}, new_key, old_key, others,
                  target_user, step)
        v.user = _vault._load_user(v._conn, v.user.name)
        meta = _meta(v._conn)
    return RekeyResult(recovery_text, meta["shelter_code"], meta["shelter_name"], lost,
                       time.perf_counter() - started)


def _swap(v, db: Path, tmp: Path, slots: KeySlots, gen: str, real: set[str], new_key: bytes,
          old_key: bytes, others: list, target_user: str | None, step) -> None:
    for other in others:
        if other._conn is not None:
            other._conn.close()
            other._conn = None
    swapped = False
    try:
        _close_for_swap(v, db)
        step("closed")
        os.replace(tmp, db)                         # B
        sync_folder(db.parent)
        swapped = True
        step("swapped")
        slots.prune(gen, real)                      # C
        slots.save()
        step("pruned")
    finally:
        key = new_key if swapped else old_key
        if not swapped:
            _remove_copy(db)
        for session in (v, *others):
            for i in range(len(session._raw_key or b"")):
                session._raw_key[i] = 0
            if session is not v and (session._raw_key is None or (
                    swapped and session.user.name == target_user)):
                session._raw_key = None      # stays locked (a disabled user's session)
                continue
            session._conn = connection.connect(db, key)
            session._raw_key = bytearray(key)
            session._slots = fresh(v)


def _copy(v, conn, tmp: Path, key: bytes, progress) -> str:
    """Copies the database into `tmp` under `key`; returns the copy's salt."""
    target = sqlcipher3.connect(str(tmp), isolation_level=None, check_same_thread=False)
    try:
        target.execute("PRAGMA cipher_log_level = NONE")
        target.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        _secure(target)

        def step(_status, remaining, total):
            if progress is not None:
                progress(total - remaining, total)

        with v._guard():
            conn.backup(target, pages=STEP_PAGES, progress=step)
        if progress is not None:
            progress(1, 1)
        return _vault_salt(target)
    finally:
        target.close()


def _vault_salt(conn) -> str:
    from .vault import db_salt

    salt = db_salt(conn)
    if salt is None:   # SQLCipher gives every encrypted database one
        raise RuntimeError("the re-keyed copy has no SQLCipher salt")
    return salt


def _secure(conn) -> None:
    if connection.MEMORY_SECURITY:
        conn.execute("PRAGMA cipher_memory_security = ON")


def _write_copy(v, tmp: Path, key: bytes, gen: str, survivors: dict, rid: str, rpub: str,
                target_user: str | None, reason: str) -> None:
    """The new registry, the disable and the audit entry, written in the copy only."""
    conn = connection.connect(tmp, key)
    try:
        conn.execute("BEGIN IMMEDIATE")
        if target_user is not None:
            conn.execute("UPDATE users SET active=0 WHERE name=?", (target_user,))
            audit.append(conn, v.user.name, "user.disable", None, {"user": target_user})
        conn.execute("DROP TABLE IF EXISTS key_slots")
        for sid, (user, pub) in survivors.items():
            register(conn, sid, user, pub)
        register(conn, rid, None, rpub)
        for k, value in (("key_gen", gen), ("legacy_slots", "dropped"),
                         ("hlc_last", v.clock.last)):
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, value))
        audit.append(conn, v.user.name, "vault.rekey", None, {"reason": reason})
        conn.execute("COMMIT")
        # Same rows as the original: the copy is complete.
        for table in ("records", "changes", "audit", "users"):
            n_old = v.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            n_new = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if n_new != n_old + (2 if table == "audit" and target_user else
                                 1 if table == "audit" else 0):
                raise VaultError(_("No se pudo copiar la bóveda con la llave nueva; no se ha "
                                   "modificado nada. Inténtelo de nuevo."))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        with contextlib.suppress(sqlcipher3.Error):
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())


def _close_for_swap(v, db: Path) -> None:
    """Closes the old database so that nothing of it (its WAL) can apply to the new file."""
    conn = v._conn
    v._conn = None
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    wal = db.with_name(db.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise VaultError(_("No se pudo terminar de escribir la bóveda antes de cambiar la "
                           "llave; no se ha modificado nada. Inténtelo de nuevo."))
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(db.with_name(db.name + suffix))
