"""Whether a graphical screen is there: the entry point, the window and the self-test ask."""
from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """False on Linux without X11 or Wayland (a server, an SSH session), where Qt would abort."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
