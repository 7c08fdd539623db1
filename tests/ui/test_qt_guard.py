"""The PySide6 6.12.0 reference-count guard (cpc_desktop/ui/__init__.py), in a child process:
when it fails, Python aborts, which must not take the test run down with it."""
from __future__ import annotations

import os
import subprocess
import sys

EMITS = """
import cpc_desktop.ui
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Emitter(QObject):
    ping = Signal(int)
e = Emitter()
e.ping.connect(lambda n: None)
for i in range(20000):
    e.ping.emit(i)
print("ok")
"""


def test_many_signal_emits_do_not_abort_the_program():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", EMITS], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (
        "emitting signals aborted Python (PySide6 6.12.0 drops a reference to True on each "
        f"emit): the window would crash after a while of use. stderr: {done.stderr[-300:]}")
