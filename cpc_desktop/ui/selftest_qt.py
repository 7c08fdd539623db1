"""The self-test's Qt step (selftest.py stays Qt-free like everything outside ui/): the icon
and a window can be drawn, and a printed PDF opens in QtPdf (the preview's engine)."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QLabel

from . import guard_active
from ..screen import has_display
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
    stress_refcounts()
    note += _("; {n} señales y llamadas sin fallo").format(n=f"{STRESS_CALLS:,}".replace(",", " "))
    if guard_active():
        note += _(" (con la protección de PySide6 6.12)")
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


STRESS_CALLS = 50_000


class _Emitter(QObject):
    fired = Signal(bool)


def stress_refcounts(calls: int = STRESS_CALLS) -> None:
    """Signal emits and void calls, as many as a long day in the window makes: PySide6 6.12.0
    on Python 3.11 drops a reference to True/None on each, and Python aborts (bool_dealloc)
    well before 50,000 unless ui/__init__.py's guard is in place. An abort here is the proof
    that a bundle lacks the guard; a reference count that keeps falling is caught first."""
    emitter, label, got = _Emitter(), QLabel(), []
    emitter.fired.connect(got.append)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(calls):
        emitter.fired.emit(True)
        label.setText("x")        # void methods: each returns None through shiboken
        label.setVisible(False)
    after = sys.getrefcount(True), sys.getrefcount(None)
    if len(got) != calls:
        raise CpcError(_("Qt perdió señales en la prueba de carga"))
    # Immortal objects (3.12+) or the guard keep these far from zero; a plain 3.11 with the
    # bug would lose `calls` references of each and be counting down to an abort.
    if any(a < b - calls // 2 and a < 1 << 40 for a, b in zip(after, before)):
        raise CpcError(_("PySide6 pierde referencias internas: esta versión abortaría"))
