"""Language switching at run time: one Qt signal every view listens to.

A view builds its widgets once and sets their texts in `retranslate_ui()`, connected to
`language_bus().changed`, so switching Spanish ⇄ Quechua from the menu needs no restart.
Qt's own texts (standard buttons, edit menus) follow through `qt_i18n`.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from ..core import i18n
from . import qt_i18n


class LanguageBus(QObject):
    changed = Signal(str)


_bus: LanguageBus | None = None


def language_bus() -> LanguageBus:
    global _bus
    if _bus is None:
        _bus = LanguageBus()
        i18n.on_language_changed(_bus.changed.emit)
    return _bus


def set_language(lang: str) -> None:
    """Switches the catalogs and tells every view (on the UI thread)."""
    language_bus()
    i18n.set_language(lang)
    app = QApplication.instance()
    if app is not None:
        qt_i18n.retranslate(app)
