"""The desktop window (PySide6). The only package that imports Qt."""
from __future__ import annotations

import sys


def affected_version(version: tuple) -> bool:
    """The shiboken6 releases with the refcount bug (6.12.x; 6.11.3 does not have it)."""
    return tuple(version[:2]) == (6, 12)


def guard_active() -> bool:
    """True when this process runs with the guard in place (the self-test reports it)."""
    return _GUARDED


def _guard_none_refcount() -> bool:
    """PySide6/shiboken6 6.12.0 on Python < 3.12 drops a reference to None on every call of a
    void method (label.setText, layout.setSpacing…), so after enough calls Python aborts with
    "none_dealloc: deallocating None". Python 3.12 made None immortal; on older Pythons we
    give None a reference count no program can use up. The same bug drops a reference to
    True on every Signal.emit() from Python (1,000 emits abort a small program with
    "bool_dealloc"), so True and False get the same treatment. Remove once 6.12.0 is
    excluded (PySide6-Pdf exists only for 6.12.0 today)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    # The loaded module's version, not importlib.metadata: a PyInstaller bundle carries no
    # distribution metadata unless told to, and the guard must never silently do nothing.
    import shiboken6

    if not affected_version(tuple(shiboken6.__version_info__[:3])):
        return False
    import ctypes

    for immortal in (None, True, False):
        # ob_refcnt, the first PyObject field
        refcount = ctypes.c_ssize_t.from_address(id(immortal))
        if refcount.value < 1 << 40:
            refcount.value += 1 << 60
    return True


_GUARDED = bool(_guard_none_refcount())
