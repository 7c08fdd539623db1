"""`cpc-desktop`: builds the QApplication and the main window, and catches what escapes.

run(argv) is what cpc_desktop.app.main() calls. Options: --vault FOLDER opens that vault's
unlock screen; --lang es|qu overrides the remembered language for this run.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from .. import __version__
from ..core import i18n
from ..core.errors import CpcError
from ..core.i18n import _
from ..paths import resource_path
from ..screen import has_display
from . import lang, qt_i18n
from .main_window import MainWindow, apply_font_scale
from .screen_fit import install_wheel_guard
from .settings import Settings
from .tasks import error_text

APP_NAME = "CPC Desktop"
_showing_error = False


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cpc-desktop", description=APP_NAME)
    parser.add_argument("--vault", type=Path, help=_("carpeta de la bóveda que se abrirá"))
    parser.add_argument("--lang", choices=i18n.available_languages(),
                        help=_("idioma de esta sesión"))
    # Qt's own options (-platform, -style…) pass through untouched.
    args, _rest = parser.parse_known_args(argv)
    return args


def excepthook(kind, value, tb) -> None:
    """An unexpected error anywhere in the window: a safe message, never a crash in silence.

    Only the error's type and where it happened go to stderr; the message could hold data.
    """
    global _showing_error
    where = "".join(traceback.format_list(traceback.extract_tb(tb)[-3:])) if tb else ""
    print(f"CPC Desktop: error {kind.__name__}\n{where}", file=sys.stderr, flush=True)
    if issubclass(kind, KeyboardInterrupt):
        app = QApplication.instance()
        if app is not None:
            app.quit()
        return
    app = QApplication.instance()
    if app is None or _showing_error:
        return
    _showing_error = True
    try:
        text = error_text(value if isinstance(value, BaseException) else kind())
        if not isinstance(value, CpcError):
            text = _("Algo falló dentro del programa ({kind}). Sus datos guardados no se han "
                     "perdido. Si estaba escribiendo algo, revíselo antes de seguir; si el "
                     "problema se repite, avise al soporte.").format(kind=kind.__name__)
        box = QMessageBox(QMessageBox.Icon.Warning, _("Error inesperado"), text,
                          QMessageBox.StandardButton.Ok, app.activeWindow())
        box.setObjectName("unexpectedErrorBox")
        box.finished.connect(lambda _r: _reset_showing())
        box.open()
    except Exception:  # noqa: BLE001 — never raise from the hook itself
        _showing_error = False


def _reset_showing() -> None:
    global _showing_error
    _showing_error = False


def configure(app: QApplication, settings: Settings) -> None:
    """Everything a QApplication needs before the first window (tests call this too)."""
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Alianza CPC")
    app.setDesktopFileName("cpc-desktop")
    icon = resource_path("icons", "cpc-desktop.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    qt_i18n.install(app)
    install_wheel_guard(app)
    lang.language_bus()
    if settings.language != i18n.current_language():
        lang.set_language(settings.language)
    apply_font_scale(settings.font_scale)
    sys.excepthook = excepthook


def run(argv: list[str], *, no_screen: Callable[[], int] | None = None) -> int:
    """The window; without a screen, `no_screen` (the entry point's text demo) instead, since
    Qt would abort. The window never imports the entry point: it is handed what to run."""
    args = parse_args(argv)
    if not has_display():
        print(_("No hay pantalla gráfica: se muestra la demostración en la línea de comandos."),
              file=sys.stderr)
        return no_screen() if no_screen else 1
    # Sharp text at 125 % and 150 % scaling (no rounding of the device pixel ratio).
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "cpc-desktop",
                                                   *argv])
    settings = Settings.load()
    if args.lang:
        settings.language = args.lang
    configure(app, settings)
    window = MainWindow(settings)
    window.start(args.vault)
    window.show()
    # Without a window manager (Xvfb, a kiosk) nothing would give it the keyboard.
    window.raise_()
    window.activateWindow()
    window.session.system_lock.watch_window(window)  # Windows: screen-lock messages
    return app.exec()
