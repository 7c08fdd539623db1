"""Saving a PDF where the person chose, all or nothing."""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from ..core.files import write_private
from ..core.i18n import _
from .language import PrintError


def write_pdf(data: bytes, path: str | os.PathLike) -> Path:
    """Writes the PDF bytes to `path` atomically and returns the path.

    The bytes go to a hidden temporary file in the same folder (readable by the owner only),
    are flushed to disk, then renamed over `path`: a power cut or a full USB stick leaves
    either the old file or the new one, never half a PDF, and no temporary file behind.
    Raises PrintError with a message that names no file (paths can hold a child's name).
    """
    try:
        return write_private(path, data)
    except OSError as exc:
        raise PrintError(_cannot_save(exc)) from None


def check_destination(path: str | os.PathLike) -> None:
    """Raises the PrintError write_pdf would raise for `path`'s folder, before a long job
    (creates and removes an empty temporary file there; writes nothing else)."""
    folder = Path(path).parent if str(Path(path).parent) else Path(".")
    if Path(path).is_dir():
        raise PrintError(_cannot_save(IsADirectoryError()))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cpc-", suffix=".pdf.part", dir=folder)
    except OSError as exc:
        raise PrintError(_cannot_save(exc)) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _cannot_save(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return _("No se puede guardar el PDF allí: no hay permiso para escribir en esa carpeta. "
                 "Elija otra ubicación.")
    if isinstance(exc, FileNotFoundError):
        return _("No se puede guardar el PDF: la carpeta elegida no existe.")
    if isinstance(exc, IsADirectoryError):
        return _("No se puede guardar el PDF con ese nombre: ya hay una carpeta que se llama así.")
    if exc.errno == errno.ENOSPC:
        return _("No se puede guardar el PDF: el disco o la memoria USB está lleno.")
    return _("No se puede guardar el PDF en esa ubicación ({reason}).").format(
        reason=exc.strerror or type(exc).__name__)
