"""One program at a time per vault: an operating-system lock on `vault.lock` in its folder.

Held from unlock to lock by whichever process opened the vault (a window or a CLI command), for
reading too: a second process gets VaultBusy with a sentence for the user. Readers are refused
as well because a re-key replaces vault.db whole, and a second process would keep reading (or
writing to) the file that was replaced. The OS drops the lock when the process dies (kill -9 or
a power cut leave nothing to clean up). Inside one process several Vault objects may share the
lock (counted); writes to the slot file are serialized by `slots_mutex` and re-read the file.
A vault on a read-only folder or medium cannot be written by anyone, so it opens unlocked.
"""
from __future__ import annotations

import errno
import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import VaultBusy
from .i18n import _

LOCK_NAME = "vault.lock"

_registry_lock = threading.Lock()
_held: dict[str, "_Entry"] = {}


@dataclass
class _Entry:
    lock: FileLock | None
    count: int
    mutex: threading.RLock
    # the open Vault objects sharing it (re-key reopens them)
    vaults: "weakref.WeakSet" = field(default_factory=weakref.WeakSet)


def busy_message() -> str:
    return _("La bóveda ya está abierta en otra ventana o programa de CPC. Ciérrela allí (o "
             "bloquéela) y vuelva a intentarlo; no se ha modificado nada.")


class Hold:
    """One open Vault's share of the lock; release() once."""

    def __init__(self, key: str):
        self._key: str | None = key

    @property
    def mutex(self) -> threading.RLock:
        return _held[self._key].mutex if self._key in _held else threading.RLock()

    @property
    def sharers(self) -> int:
        """How many Vault objects of this process hold this vault."""
        entry = _held.get(self._key or "")
        return entry.count if entry else 0

    def attach(self, vault) -> None:
        entry = _held.get(self._key or "")
        if entry is not None:
            entry.vaults.add(vault)

    def others(self, vault) -> list:
        """The other open Vault objects of this process on the same vault."""
        entry = _held.get(self._key or "")
        return [v for v in list(entry.vaults) if v is not vault] if entry else []

    def release(self) -> None:
        with _registry_lock:
            key, self._key = self._key, None
            entry = _held.get(key or "")
            if entry is None:
                return
            entry.count -= 1
            if entry.count <= 0 and key is not None:
                del _held[key]
                if entry.lock is not None:
                    entry.lock.release()


def _file_lock(key: str) -> FileLock:
    # thread_local off: a window unlocks on one thread and may lock on another. No soft
    # fallback: a stale lock file after a crash would lock the shelter out.
    return FileLock(str(Path(key) / LOCK_NAME), timeout=0, mode=0o600, thread_local=False,
                    is_singleton=False, fallback_to_soft=False, preserve_lock_file=True)


def _key(path: Path) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(Path(path).absolute())


def acquire(path: Path | str) -> Hold:
    """The lock of the vault folder `path`; raises VaultBusy when another process has it."""
    key = _key(Path(path))
    with _registry_lock:
        entry = _held.get(key)
        if entry is None:
            file_lock = _file_lock(key)
            lock: FileLock | None = file_lock
            try:
                if not os.path.isdir(key):
                    # No folder (or a file there): the caller says so. filelock would make
                    # the folder, or fail with an error no person could act on.
                    raise FileNotFoundError(errno.ENOENT, key)
                file_lock.acquire()
            except Timeout:
                raise VaultBusy(busy_message()) from None
            except OSError as exc:
                # No folder yet (the caller reports it), or a read-only medium: no writer can
                # race on a vault nobody can write.
                if exc.errno not in (errno.ENOENT, errno.EROFS, errno.EACCES, errno.EPERM,
                                     errno.ENOTDIR, errno.ENOSYS, errno.ENOTSUP):
                    raise
                lock = None
            entry = _held[key] = _Entry(lock, 0, threading.RLock(), weakref.WeakSet())
        entry.count += 1
        return Hold(key)


def is_held_elsewhere(path: Path | str) -> bool:
    """True when another process holds the vault's lock (this process's own hold is not
    counted)."""
    key = _key(Path(path))
    with _registry_lock:
        if key in _held:
            return False
    probe = _file_lock(key)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:
        return False
    probe.release()
    return False
