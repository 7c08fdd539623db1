"""The bundled fonts (DejaVu Sans, regular and bold, resources/fonts/), registered once.

reportlab embeds a TrueType font as a subset of the glyphs used, so every PDF carries what it
needs: Spanish accents, ñ, the Quechua apostrophe, the check-box glyphs.
"""
from __future__ import annotations

import threading

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ..core.i18n import _
from ..paths import resource_path
from .language import PrintError

REGULAR = "CPCSans"
BOLD = "CPCSans-Bold"
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_lock = threading.Lock()
_done = False


def register() -> None:
    """Registers the fonts with reportlab (idempotent, thread-safe)."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        for name, file in _FILES.items():
            path = resource_path("fonts", file)
            try:
                pdfmetrics.registerFont(TTFont(name, str(path)))
            except Exception:  # noqa: BLE001 - a missing/broken file is a packaging fault
                raise PrintError(_("Falta el tipo de letra {file} de la instalación; reinstale "
                                   "CPC Desktop.").format(file=file)) from None
        # <b> inside paragraphs picks the bold face.
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, REGULAR)
        addMapping(REGULAR, 1, 1, BOLD)
        _done = True
