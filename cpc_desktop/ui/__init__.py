"""The desktop window (PySide6). The only package that imports Qt."""
from __future__ import annotations

import sys


def _guard_none_refcount() -> None:
    """PySide6/shiboken6 6.12.0 on Python < 3.12 drops a reference to None on every call of a
    void method (label.setText, layout.setSpacing…), so after enough calls Python aborts with
    "none_dealloc: deallocating None". Python 3.12 made None immortal; on older Pythons we
    give None a reference count no program can use up. The same bug drops a reference to
    True on every Signal.emit() from Python (1,000 emits abort a small program with
    "bool_dealloc"), so True and False get the same treatment. Remove once 6.12.0 is
    excluded."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    try:
        from importlib.metadata import version

        if not version("shiboken6").startswith("6.12.0"):
            return
    except Exception:  # noqa: BLE001 — no metadata: do nothing rather than guess
        return
    import ctypes

    for immortal in (None, True, False):
        # ob_refcnt, the first PyObject field
        refcount = ctypes.c_ssize_t.from_address(id(immortal))
        if refcount.value < 1 << 40:
            refcount.value += 1 << 60


_guard_none_refcount()
