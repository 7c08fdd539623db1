"""Writing a file whole or not at all: the one way every part of the program saves a file.

Bytes go to a hidden temporary file in the same folder (created readable by the owner only),
are flushed to disk, then renamed over the target and the folder synced: a power cut, a full
disk or a pulled USB stick leaves the old file or the new one, never half of one, and no
temporary file behind. Errors are OSError: callers say what failed in their own words.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: str | os.PathLike, data: bytes) -> Path:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".cpc-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    sync_folder(folder)
    return target


def sync_folder(folder: Path) -> None:
    """Makes a rename durable (POSIX; Windows has no folder handles to sync)."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
