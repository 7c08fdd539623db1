"""The self-test's Qt step (selftest.py stays Qt-free like everything outside ui/): the icon
and a window can be drawn, and a printed PDF opens in QtPdf (the preview's engine)."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QLabel

from ..app import has_display
from ..core.errors import CpcError
from ..core.i18n import _
from ..paths import resource_path


def check_qt(pdf: bytes | None) -> str:
    """A short note of what worked; raises CpcError (a translated line) when something fails."""
    if not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication([sys.argv[0]])
    label = QLabel(_("Autoprueba"))
    icon = QIcon(str(resource_path("icons", "cpc-desktop.svg")))
    if icon.isNull() or icon.pixmap(64, 64).isNull():
        raise CpcError(_("no se puede dibujar el icono (faltan complementos de imagen de Qt)"))
    if label.grab().isNull():
        raise CpcError(_("Qt no puede dibujar una ventana"))
    note = _("plataforma {name}").format(name=app.platformName())
    if pdf is not None:
        from PySide6.QtPdf import QPdfDocument

        doc = QPdfDocument(None)
        data = QByteArray(pdf)   # kept referenced while the buffer reads it
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        doc.load(buffer)
        if doc.pageCount() < 1:
            raise CpcError(_("Qt no puede abrir el PDF impreso"))
        note += _("; PDF de {n} páginas abierto").format(n=doc.pageCount())
        doc.close()
    return note
