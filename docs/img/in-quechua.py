"""Runs one of the screenshot scripts of this folder with the program in Quechua, for a
reviewer who checks how the Quechua texts fit on screen.

    xvfb-run -a -s "-screen 0 1366x768x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python docs/img/in-quechua.py docs/img/sync-screenshots.py /tmp/shots-qu

The window starts in Quechua (as if chosen under Idioma / Simi), so every picture the script
takes shows the Quechua texts, until the script itself switches the language. Look at each PNG;
the *-qu.png pictures of the user guide come from here.
"""
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import cpc_desktop.ui  # noqa: F401 — its PySide6 guard first

from cpc_desktop.core import i18n
from cpc_desktop.ui.settings import Settings

_load = Settings.load.__func__


def _load_in_quechua(cls, path=None):
    settings = _load(cls, path)
    settings.language = "qu"
    return settings


Settings.load = classmethod(_load_in_quechua)
i18n.set_language("qu")   # scripts that open a window without settings (reports, resident)
script, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(script, run_name="__main__")
