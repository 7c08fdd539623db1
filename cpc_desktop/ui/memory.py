"""Giving memory back after a lock. Dropping 10,000 decoded rows frees them inside the process,
but glibc keeps the freed heap mapped: without a trim the process grew after a lock (issue
16: 287 MB with the list shown, 331 MB after locking). Wiping is the views' job (they drop
their rows when the vault locks); this only returns the pages."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

_libc = None


def trim() -> bool:
    """Returns free heap pages to the system (glibc); False where there is no such call."""
    return _trim()


def _trim() -> bool:
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        except OSError:
            _libc = False
    if not _libc or not hasattr(_libc, "malloc_trim"):
        return False
    return bool(_libc.malloc_trim(0))


def release() -> None:
    """Collects cycles (Qt wrappers of closed windows hold some) and returns free heap pages
    to the system."""
    gc.collect()
    _trim()


def shrink_vault(vault) -> None:
    """Drops the vault connection's page cache (core sizes it at 64 MB). Called on the worker
    once the list is loaded: the cache then holds ~65 MB of pages the list no longer needs
    (issue 16: RSS with 10,000 residents listed 226 MB → 157 MB)."""
    vault.release_memory()
