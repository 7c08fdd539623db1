"""Backups people actually make: a configured folder (a USB stick), rotation, a reminder and a
verify step that opens the copy with the key and runs `check`.

The backup file itself is `Vault.backup`'s encrypted .cpcbackup (written complete or not at
all); this module decides where it goes, keeps the newest N of this vault's copies, remembers
the last good one and says when the next one is due. Settings live in the vault's meta table,
so they are encrypted with everything else and travel with a restore.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import audit, display, schema, vaultlock
from .errors import BackupError, CpcError
from .i18n import _
from .keyslots import KeySlots, normalize_user
from .users import Action
from . import vault as _vault
from .backup_file import backup_write_error, leftover_tag, sha256_file
from .connection import DB_NAME, SLOTS_NAME, connect, disk_full
from .vault import Vault, _load_user

SUFFIX = ".cpcbackup"
DEFAULT_KEEP = 10
DEFAULT_REMIND_DAYS = 7
MAX_KEEP = 1000
MAX_REMIND_DAYS = 365

# meta keys (inside the encrypted database)
_FOLDER, _KEEP, _REMIND = "backup_folder", "backup_keep", "backup_remind_days"
_LAST, _LAST_FILE = "backup_last", "backup_last_file"

# What backup_now names its files: <shelter>-<YYYYmmdd-HHMMSS>[-n].cpcbackup. Rotation only
# ever considers files of this shape whose manifest names this vault.
_NAME = re.compile(r"(?P<shelter>[A-Z0-9][A-Z0-9-]{1,15})-\d{8}-\d{6}(?:-\d+)?\.cpcbackup")
# Work files of a backup, named "<prefix><tag>-…" with the tag of the vault they belong to
# (leftover_tag): a backup removes its own vault's leftovers at once (it holds the vault's
# backup lock, so none of them is in progress) and never another vault's.
_PENDING_PREFIX = ".cpc-pending-"
_LEFTOVER_PREFIXES = (_PENDING_PREFIX, ".cpc-backup-", ".cpc-verify-")
_TAGGED = re.compile(r"[0-9a-f]{12}-")
_STALE_SECONDS = 3600  # untagged leftovers (older versions) older than this are removed
_LOCK_NAME = ".cpc-backup.lock"   # in the vault's folder: one backup of a vault at a time

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


class BackupCancelled(BackupError):
    """The person pressed Cancel; no backup file was left behind."""


@dataclass(frozen=True)
class BackupSettings:
    folder: Path | None          # None: not chosen yet (the window asks the first time)
    keep: int                    # newest N of this vault's backups kept in the folder
    remind_days: int             # remind when the last good backup is this old


@dataclass(frozen=True)
class BackupInfo:
    """One .cpcbackup file as read from its manifest (nothing decrypted)."""
    path: Path
    size: int
    readable: bool               # False: not a backup, or damaged; never deleted by rotation
    vault_id: str | None = None
    shelter: str | None = None
    schema_version: int | None = None
    created_at: str | None = None   # ISO, UTC

    @property
    def created(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.created_at) if self.created_at else None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    removed: list[Path]          # older backups of this vault removed by rotation
    verified: bool


@dataclass(frozen=True)
class VerifiedBackup:
    path: Path
    info: BackupInfo
    audit_entries: int


# ---------------------------------------------------------------- settings

def get_settings(vault: Vault) -> BackupSettings:
    meta = vault.meta()
    folder = meta.get(_FOLDER)
    return BackupSettings(folder=Path(folder) if folder else None,
                          keep=int(meta.get(_KEEP, DEFAULT_KEEP)),
                          remind_days=int(meta.get(_REMIND, DEFAULT_REMIND_DAYS)))


def set_settings(vault: Vault, *, folder: Path | str | None = None, keep: int | None = None,
                 remind_days: int | None = None) -> BackupSettings:
    """Changes the given settings (None leaves one as it is). Whoever may make backups may
    choose where they go; the change is audited (without the folder's name)."""
    vault.require(Action.BACKUP)
    changes: dict[str, str] = {}
    if folder is not None:
        folder = Path(folder).expanduser()
        if not str(folder).strip():
            raise BackupError(_("Indique la carpeta donde guardar las copias."))
        changes[_FOLDER] = str(folder.absolute())
    if keep is not None:
        if not 1 <= int(keep) <= MAX_KEEP:
            raise BackupError(_("El número de copias que se conservan debe estar entre 1 y "
                                "{n}.").format(n=MAX_KEEP))
        changes[_KEEP] = str(int(keep))
    if remind_days is not None:
        if not 1 <= int(remind_days) <= MAX_REMIND_DAYS:
            raise BackupError(_("El recordatorio debe ser cada 1 a {n} días.").format(
                n=MAX_REMIND_DAYS))
        changes[_REMIND] = str(int(remind_days))
    if changes:
        _write_meta(vault, changes, "backup.settings", {"changed": sorted(changes)})
    return get_settings(vault)


def last_backup(vault: Vault) -> tuple[dt.datetime, str] | None:
    """When the last backup made by backup_now succeeded (aware, UTC) and its file name."""
    meta = vault.meta()
    if not meta.get(_LAST):
        return None
    return dt.datetime.fromisoformat(meta[_LAST]), meta.get(_LAST_FILE, "")


def _write_meta(vault: Vault, values: dict[str, str], action: str, detail: dict) -> None:
    # Same transaction as its audit entry: a setting never changes unrecorded.
    with vault.writing() as conn:
        conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", values.items())
        audit.append(conn, vault.user.name, action, None, detail)


# ---------------------------------------------------------------- reminder

def next_reminder(vault: Vault) -> dt.date | None:
    """The day from which backup_due is true; None when no backup was ever made (due now)."""
    last = last_backup(vault)
    if last is None:
        return None
    return last[0].astimezone().date() + dt.timedelta(days=get_settings(vault).remind_days)


def backup_due(vault: Vault, today: dt.date | None = None) -> bool | str:
    """False when the last good backup is recent enough; otherwise the reminder to show (a
    translated sentence, truthy). A vault never backed up is due at once."""
    today = today or dt.date.today()
    last = last_backup(vault)
    if last is None:
        return _("Todavía no se ha hecho ninguna copia de seguridad de esta bóveda. Si el disco "
                 "de este equipo falla o se lo roban, se perderían todos los registros.")
    due = next_reminder(vault)
    if today < due:
        return False
    when = last[0].astimezone().date()
    return _("La última copia de seguridad es del {date}. Haga una copia ahora en la memoria "
             "USB.").format(date=display.format_date(when))


# ---------------------------------------------------------------- listing

def read_info(path: Path) -> BackupInfo:
    """Reads a backup's manifest (the first member: cheap even on a slow USB stick)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return BackupInfo(path, 0, False)
    try:
        with tarfile.open(path, "r") as tar:
            member = tar.next()
            if member is None or member.name != "manifest.json":
                member = tar.getmember("manifest.json")
            manifest = json.loads(tar.extractfile(member).read())
        return BackupInfo(path, size, True, str(manifest["vault_id"]), str(manifest["shelter"]),
                          int(manifest["schema_version"]), str(manifest["created_at"]))
    except (OSError, tarfile.TarError, ValueError, KeyError, TypeError, AttributeError):
        return BackupInfo(path, size, False)


def list_backups(folder: Path | str, vault_id: str | None = None) -> list[BackupInfo]:
    """The .cpcbackup files directly in `folder`, newest first (unreadable ones last); with
    `vault_id`, only that vault's. A missing folder (USB stick not plugged in) lists nothing."""
    folder = Path(folder)
    try:
        paths = [p for p in folder.iterdir()
                 if p.name.endswith(SUFFIX) and not p.name.startswith(".") and p.is_file()]
    except OSError:
        return []
    infos = [read_info(p) for p in paths]
    if vault_id is not None:
        infos = [i for i in infos if i.vault_id == vault_id]
    return sorted(infos, key=lambda i: (i.readable, i.created_at or "", i.path.name),
                  reverse=True)


# ---------------------------------------------------------------- making one

def backup_now(vault: Vault, folder: Path | str | None = None, *, keep: int | None = None,
               verify: bool = False, progress: ProgressFn | None = None,
               cancel: CancelFn | None = None) -> BackupResult:
    """Makes a backup in `folder` (default: the configured one), optionally verifies it, then
    keeps the newest `keep` (default: the setting) of this vault's backups there.

    The file gets its final name only once complete (and verified, when asked): a USB stick
    pulled out, a full disk or Cancel leave no file under a backup's name. Other files in the
    folder are never touched. `progress(done, total, label)` reports steps; `cancel()` is
    asked between them (BackupCancelled). Records the time of the last good backup.
    """
    settings = get_settings(vault)
    target = Path(folder) if folder is not None else settings.folder
    if target is None:
        raise BackupError(_("Elija primero la carpeta o memoria USB donde guardar las copias "
                            "de seguridad."))
    keep = settings.keep if keep is None else int(keep)
    if not 1 <= keep <= MAX_KEEP:
        raise BackupError(_("El número de copias que se conservan debe estar entre 1 y "
                            "{n}.").format(n=MAX_KEEP))
    final = _write(vault, target, lambda: _free_name(target, vault.shelter_code), verify,
                   _Steps(progress, cancel, 4 if verify else 3))
    return BackupResult(final, rotate(target, vault.vault_id, keep), verify)


def backup_to_file(vault: Vault, out: Path | str, *, verify: bool = False) -> Path:
    """A backup under an exact file name (an existing file of that name is replaced only by
    a complete copy); no rotation. Records the time of the last good backup."""
    out = Path(out)
    return _write(vault, out.parent, lambda: out, verify, _Steps(None, None, 4 if verify else 3))


def _write(vault: Vault, target: Path, final_name: Callable[[], Path], verify: bool,
           step: "_Steps") -> Path:
    step(0, _("Preparando la copia de seguridad…"))
    if target.exists() and not target.is_dir():
        raise BackupError(_("El destino de las copias no es una carpeta."))
    with _backup_lock(vault):
        tag = leftover_tag(vault.vault_id)
        remove_leftovers(target, tag)
        pending = target / f"{_PENDING_PREFIX}{tag}-{final_name().name}"
        step(1, _("Copiando la bóveda cifrada…"))
        vault.backup(pending)
        try:
            if verify:
                step(2, _("Comprobando la copia…"))
                verify_backup(pending, vault=vault)
            step(step.total - 1, _("Guardando la copia…"))
            try:
                final = final_name()
                os.replace(pending, final)
            except OSError as exc:
                raise backup_write_error(exc) from None
        except BaseException:
            with contextlib.suppress(OSError):
                pending.unlink()
            raise
    _write_meta(vault, {_LAST: audit.now_iso(), _LAST_FILE: final.name}, "backup.done",
                {"verified": verify})
    step(step.total, _("Copia de seguridad terminada."))
    return final


class _Steps:
    def __init__(self, progress: ProgressFn | None, cancel: CancelFn | None, total: int):
        self.progress, self.cancel, self.total = progress, cancel, total

    def __call__(self, done: int, label: str) -> None:
        if self.cancel is not None and done < self.total and self.cancel():
            raise BackupCancelled(_("Copia de seguridad cancelada; no se guardó nada."))
        if self.progress is not None:
            self.progress(done, self.total, label)


def _free_name(folder: Path, shelter: str) -> Path:
    """A backup name not taken yet (two copies in the same second get -2, -3…)."""
    stem = f"{shelter}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    candidate, n = folder / f"{stem}{SUFFIX}", 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem}-{n}{SUFFIX}"
    return candidate


@contextlib.contextmanager
def _backup_lock(vault: Vault):
    """Held while a backup of this vault is written: its leftovers found meanwhile are dead."""
    import filelock

    lock = filelock.FileLock(str(vault.path / _LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise BackupError(_("Ya se está haciendo otra copia de seguridad de esta bóveda (en otra "
                            "ventana o programa). Espere a que termine.")) from None
    except OSError:
        raise BackupError(_("No se puede escribir en la carpeta de la bóveda, así que tampoco "
                            "hacer una copia de seguridad desde aquí (¿carpeta de solo "
                            "lectura?). La bóveda no se modificó.")) from None
    try:
        yield
    finally:
        lock.release()


def leftover_names(vault_id: str) -> list[str]:
    """The names an interrupted backup of this vault leaves (examples, for tests)."""
    tag = leftover_tag(vault_id)
    return [f".cpc-backup-{tag}-k1ll3d", f".cpc-verify-{tag}-k1ll3d",
            f"{_PENDING_PREFIX}{tag}-LOR-01-20240101-000000{SUFFIX}"]


def remove_leftovers(folder: Path, tag: str) -> list[str]:
    """Removes the pending files and work folders of this vault's interrupted backups (call
    with its backup lock held), and untagged ones of older versions after an hour. Another
    vault's are left alone: they may be a backup in progress on another laptop. Returns the
    names removed."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    limit = time.time() - _STALE_SECONDS
    removed = []
    for p in entries:
        prefix = next((x for x in _LEFTOVER_PREFIXES if p.name.startswith(x)), None)
        if prefix is None:
            continue
        rest = p.name[len(prefix):]
        if rest.startswith(tag + "-"):
            pass
        elif _TAGGED.match(rest):
            continue
        else:
            with contextlib.suppress(OSError):
                if p.stat().st_mtime >= limit:
                    continue
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p.name)
    return removed


def rotate(folder: Path | str, vault_id: str, keep: int) -> list[Path]:
    """Removes all but the newest `keep` backups of this vault made by backup_now. Files of
    other vaults, renamed or unreadable files and anything else are left alone."""
    ours = [i for i in list_backups(folder, vault_id)
            if i.readable and _NAME.fullmatch(i.path.name)]
    removed = []
    for info in ours[max(keep, 1):]:
        with contextlib.suppress(OSError):
            info.path.unlink()
            removed.append(info.path)
    return removed


# ---------------------------------------------------------------- verifying one

def verify_backup(path: Path | str, user: str | None = None, passphrase: str | None = None, *,
                  vault: Vault | None = None) -> VerifiedBackup:
    """Opens a backup and runs the vault's check (cipher pages, SQLite, audit chain, forms).

    Unlocked with `user` and `passphrase` (this also proves that person can restore it), or
    with the key of the open `vault` the backup was made from. Works in a temporary folder
    beside the backup (the database stays encrypted there) and removes it whatever happens.
    Raises BackupError with a sentence for the user when the copy is not good; WrongPassphrase
    when the passphrase does not open it. `restore` runs exactly this check.
    """
    path = Path(path)
    info = _readable_info(path)
    if vault is None and (user is None or passphrase is None):
        raise BackupError(_("Para comprobar la copia se necesitan el usuario y la contraseña."))
    if vault is not None and info.vault_id != vault.vault_id:
        raise BackupError(_("Esa copia de seguridad es de otra bóveda."))
    work = _work_folder(path.parent, ".cpc-verify-", info,
                        _("No se puede escribir en la carpeta de la copia para comprobarla."))
    try:
        entries = _check_copy(path, info, work, user, passphrase, vault)
        return VerifiedBackup(path, info, entries)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _damaged(path: Path) -> BackupError:
    return BackupError(_("La copia de seguridad «{name}» está dañada o incompleta: no sirve "
                         "para restaurar. Haga una copia nueva.").format(name=path.name))


def _readable_info(path: Path) -> BackupInfo:
    if not path.is_file():
        raise BackupError(_("No se encuentra el archivo de copia de seguridad."))
    info = read_info(path)
    if not info.readable:
        raise _damaged(path)
    return info


def _work_folder(parent: Path, prefix: str, info: BackupInfo, unwritable: str) -> Path:
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{prefix}{leftover_tag(info.vault_id)}-",
                                     dir=parent))
    except OSError as exc:
        if disk_full(exc):
            raise _no_space() from None
        raise BackupError(unwritable) from None


def _no_space() -> BackupError:
    return BackupError(_("No hay espacio libre en el disco para comprobar la copia de "
                         "seguridad (se necesita algo más que su tamaño). No se ha modificado "
                         "nada: libere espacio y vuelva a intentarlo."))


def _check_copy(path: Path, info: BackupInfo, work: Path, user: str | None,
                passphrase: str | None, vault: Vault | None) -> int:
    """Extracts the backup into `work` and checks it as it is (without migrating): digests,
    slots of the vault the manifest names, the key, cipher pages, SQLite, schema, audit,
    forms. Returns the number of audit entries; raises BackupError / WrongPassphrase."""
    damaged = _damaged(path)
    try:
        _extract(path, work)
    except OSError as exc:
        if disk_full(exc):
            raise _no_space() from None
        raise damaged from None
    except (tarfile.TarError, ValueError, KeyError, TypeError):
        raise damaged from None
    slots = KeySlots.load(work / SLOTS_NAME)
    if slots.vault_id != info.vault_id:
        raise damaged
    raw_key = None if vault is not None else slots.unlock_user(user, passphrase)
    try:
        conn = (vault.connect_copy(work / DB_NAME) if vault is not None
                else connect(work / DB_NAME, raw_key))
    except CpcError:
        raise damaged from None
    # Opened without migrating: an older backup is checked as it is (restore migrates it).
    try:
        if vault is not None:
            copy = vault.copy_on(work, conn, slots)
        else:
            # With a passphrase the account must exist in the copy (who could restore).
            copy = Vault(work, conn, slots, raw_key, _load_user(conn, normalize_user(user)))
    except CpcError:
        conn.close()
        raise
    except Exception:
        conn.close()
        raise damaged from None
    try:
        report = copy.check()
        # An older schema is fine in a backup: restoring migrates it. What other laptops'
        # logs did is not this copy's damage.
        problems = [msg or name for name, ok, msg in report.items
                    if not ok and not (name == "schema" and copy_schema_ok(info))
                    and name != _vault.WITNESS_CHECK]
        audit_result = None if problems else copy.verify_audit()
    finally:
        copy.discard()   # nothing more is written to the temporary copy
    if problems or not audit_result.ok:
        raise BackupError(_("La copia de seguridad «{name}» no pasó la comprobación "
                            "({problems}): no sirve para restaurar. Haga una copia "
                            "nueva.").format(name=path.name,
                                             problems="; ".join(problems) or "audit"))
    return audit_result.checked


# ---------------------------------------------------------------- restoring one

def restore(backup: Path | str, path: Path | str, user: str, passphrase: str, *,
            as_new: bool = False) -> Path | None:
    """Replaces the vault at `path` with a backup, after the same check as verify_backup and
    with this user's passphrase (who must be allowed to restore). The replaced vault is kept
    beside it (its folder is returned); nothing is deleted.

    A backup of another vault than the one at `path` is refused: restoring it would put
    another shelter's or laptop's records in this one's place. With `as_new` it is restored
    as a vault of its own, into a folder that holds no vault yet.
    """
    backup, path = Path(backup), Path(path)
    info = _readable_info(backup)
    if path.exists() and not path.is_dir():
        raise BackupError(_("«{path}» es un archivo, no una carpeta: indique la carpeta de la "
                            "bóveda. No se ha modificado nada.").format(path=path))
    here = _vault_at(path)
    if as_new and (here is not False or (path.is_dir() and any(path.iterdir()))):
        raise BackupError(_("Ya hay una bóveda en «{path}». Para restaurar la copia como "
                            "bóveda nueva elija una carpeta nueva o vacía; no se ha modificado "
                            "nada.").format(path=path))
    if not as_new and here and here != info.vault_id:
        raise BackupError(_("Esa copia de seguridad es de otra bóveda (centro {shelter}, copia "
                            "del {when}), no de la que está en «{path}»; no se ha modificado "
                            "nada. Para abrirla aparte, restáurela como bóveda nueva en otra "
                            "carpeta: cpc restore COPIA --vault CARPETA_NUEVA --as-new-vault "
                            "(en la ventana: Copias de seguridad › Restaurar como bóveda "
                            "nueva).").format(shelter=info.shelter, path=path,
                                              when=display.format_moment(info.created) or "?"))
    work = _work_folder(path.parent, ".cpc-restore-", info,
                        _("No se puede escribir en la carpeta donde va la bóveda."))
    try:
        _check_copy(backup, info, work, user, passphrase, None)
        restored = Vault.open(work, user, passphrase, backup_before_migration=False)
        try:
            restored.require(Action.RESTORE)
            with restored.writing() as conn:
                audit.append(conn, restored.user.name, "vault.restore",
                             detail={"as_new": bool(as_new)})
        finally:
            restored.lock()
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                (work / (DB_NAME + suffix)).unlink()
        kept = None
        # Not while another program has the vault open (it would go on with the old one).
        hold = vaultlock.acquire(path) if path.is_dir() and not as_new else None
        try:
            if as_new and path.is_dir():
                path.rmdir()   # the empty folder chosen for it
            if path.exists():
                kept = path.with_name(f"{path.name}.before-restore-"
                                      f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
                os.replace(path, kept)
            os.replace(work, path)
        except OSError:
            if kept is not None and not path.exists():
                with contextlib.suppress(OSError):
                    os.replace(kept, path)
            raise BackupError(_("No se pudo poner la copia en el lugar de la bóveda; la bóveda "
                                "actual sigue como estaba.")) from None
        finally:
            if hold is not None:
                hold.release()
        return kept
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _vault_at(path: Path) -> str | bool | None:
    """The id of the vault at `path`; False when there is none; None when its slot file is
    unreadable (a damaged vault: restoring over it is what backups are for)."""
    if not (path / SLOTS_NAME).exists() and not (path / DB_NAME).exists():
        return False
    try:
        return KeySlots.load(path / SLOTS_NAME).vault_id
    except CpcError:
        return None


def copy_schema_ok(info: BackupInfo) -> bool:
    """A backup's schema is no newer than this program's."""
    return info.schema_version is not None and info.schema_version <= schema.SCHEMA_VERSION


def _extract(path: Path, work: Path) -> None:
    with tarfile.open(path, "r") as tar:
        manifest = None
        for name in ("manifest.json", SLOTS_NAME, DB_NAME):
            member = tar.getmember(name)
            if not member.isfile():
                raise ValueError(name)
            src = tar.extractfile(member)
            if name == "manifest.json":
                manifest = json.loads(src.read())
                continue
            with open(work / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    digests = manifest["sha256"]
    if set(digests) != {SLOTS_NAME, DB_NAME}:
        raise ValueError("manifest")
    for name, digest in digests.items():
        if sha256_file(work / name) != digest:
            raise ValueError(name)
