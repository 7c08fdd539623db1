"""Two application-wide safety rules for the window.

- The mouse wheel never changes a field that does not have the keyboard focus: scrolling a long
  form over a drop-down, a number or a date scrolls the form. (Qt's default turned the wheel
  into silent edits: a resident's birthplace changed while the coordinator only scrolled.)
- A window opens no larger than the screen's free area (taskbar excluded), so Guardar, Cerrar
  and Exportar are never off-screen on a 1280×720 laptop.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox,
                               QApplication, QComboBox, QScrollBar, QWidget)

# Room for the title bar and borders the window manager adds around the client area.
FRAME_MARGIN = (16, 48)


def _guarded(obj: QObject) -> QWidget | None:
    """The value widget a wheel event over `obj` would change (obj may be its line edit)."""
    while isinstance(obj, QWidget):
        if isinstance(obj, (QComboBox, QAbstractSpinBox)) or (
                isinstance(obj, QAbstractSlider) and not isinstance(obj, QScrollBar)):
            return obj
        if isinstance(obj, QAbstractScrollArea) or obj.isWindow():
            return None
        obj = obj.parentWidget()
    return None


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


class WheelGuard(QObject):
    """Installed once on the QApplication by ui/app.configure()."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.Type.Wheel:
            return False
        target = _guarded(obj)
        if target is None or target.hasFocus() or (
                isinstance(target, QComboBox) and target.view().isVisible()):
            return False
        area = _scroll_area(target)
        if area is not None:
            bar = (area.horizontalScrollBar() if event.angleDelta().x() and not
                   event.angleDelta().y() else area.verticalScrollBar())
            QApplication.sendEvent(bar, event)    # the page scrolls instead
        return True


_guard: WheelGuard | None = None


def install_wheel_guard(app: QApplication) -> WheelGuard:
    global _guard
    if _guard is None:
        _guard = WheelGuard(app)
        app.installEventFilter(_guard)
    return _guard


def available_geometry(widget: QWidget | None = None) -> QRect:
    screen = (widget.screen() if widget is not None else None) or \
        QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resizes `window` to width×height, or to what the screen's free area allows, and keeps
    it inside that area."""
    area = available_geometry(window)
    w = max(320, min(width, area.width() - FRAME_MARGIN[0]))
    h = max(240, min(height, area.height() - FRAME_MARGIN[1]))
    window.resize(w, h)
    if window.isWindow() and window.parentWidget() is None:
        x = area.x() + max(0, (area.width() - w - FRAME_MARGIN[0]) // 2)
        y = area.y() + max(0, (area.height() - h - FRAME_MARGIN[1]) // 2)
        window.move(x, y)
