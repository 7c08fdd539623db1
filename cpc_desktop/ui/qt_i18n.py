"""Qt's own texts (standard buttons, edit context menus) in the user's language.

Qt ships a Spanish catalog (qtbase_es.qm) but no Quechua one. `CatalogTranslator` answers
Qt's English source texts with our Spanish msgids translated through our catalogs, so the
buttons of every QDialogButtonBox and QMessageBox and the Undo/Copy/Paste menus follow the
language menu too. Anything else Qt asks for falls through to qtbase_es, except the file dialog: qtbase_es
misses its Qt 6 labels ("&Look in:", "Files of &type:") and says "fichero" and "directorio";
FILE_DIALOG_ES answers those, and "fichero" becomes "archivo" in the rest. There is no
Quechua catalog of Qt's own: in Quechua the file dialog is in Spanish.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from ..core.i18n import N_, _

# Contexts whose texts we answer; other contexts fall through to the next translator.
CONTEXTS = frozenset({
    "QPlatformTheme", "QGnomeTheme", "QGtk3Theme", "QKdeTheme", "QWindowsTheme",
    "QDialogButtonBox", "QMessageBox", "QLineEdit", "QWidgetTextControl", "QTextControl",
})

# Key names as printed on Spanish keyboards ("Ctrl", not qtbase_es's "Control"), so menus
# show the same "Ctrl+L" as the guide.
KEY_NAMES = frozenset({"Ctrl", "Alt", "Esc", "Tab", "Del", "Ins"})

# Qt's English source text without "&" → our Spanish msgid (translated at call time).
STANDARD_TEXTS = {
    "OK": N_("Aceptar"),
    "Save": N_("Guardar"),
    "Save All": N_("Guardar todo"),
    "Open": N_("Abrir"),
    "Yes": N_("Sí"),
    "Yes to All": N_("Sí a todo"),
    "No": N_("No"),
    "No to All": N_("No a todo"),
    "Abort": N_("Interrumpir"),
    "Retry": N_("Reintentar"),
    "Ignore": N_("Ignorar"),
    "Close": N_("Cerrar"),
    "Cancel": N_("Cancelar"),
    "Discard": N_("Descartar"),
    "Close without Saving": N_("Cerrar sin guardar"),
    "Don't Save": N_("No guardar"),
    "Help": N_("Ayuda"),
    "Apply": N_("Aplicar"),
    "Reset": N_("Restablecer"),
    "Restore Defaults": N_("Restaurar valores predeterminados"),
    "Show Details...": N_("Mostrar detalles…"),
    "Hide Details...": N_("Ocultar detalles…"),
    "Undo": N_("Deshacer"),
    "Redo": N_("Rehacer"),
    "Cut": N_("Cortar"),
    "Copy": N_("Copiar"),
    "Paste": N_("Pegar"),
    "Delete": N_("Eliminar"),
    "Select All": N_("Seleccionar todo"),
    "Copy Link Location": N_("Copiar la dirección del enlace"),
}


FILE_CONTEXTS = frozenset({"QFileDialog", "QFileSystemModel", "QAbstractFileIconProvider",
                           "QFileInfoGatherer"})
# Spanish for a social worker: "archivo" and "carpeta", as everywhere else in the program.
FILE_DIALOG_ES = {
    "&Look in:": "&Buscar en:",
    "Files of &type:": "&Tipo de archivo:",
    "File &name:": "&Nombre del archivo:",
    "Parent Directory": "Carpeta superior",
    "Go to the parent directory": "Ir a la carpeta superior",
    "All Files (*)": "Todos los archivos (*)",
    "Show &hidden files": "Mostrar los archivos &ocultos",
    "Directories": "Carpetas",
    "Directory:": "Carpeta:",
    "Drive": "Unidad",
    "Folder": "Carpeta",
    "File Folder": "Carpeta",
    "&Choose": "&Elegir",
    "Forward": "Adelante",
    "Go forward": "Ir adelante",
    "Go back": "Ir atrás",
    "&Rename": "Cambiar el &nombre",
}
_FICHERO = re.compile(r"\b([Ff])ichero(s?)\b")


def tidy_spanish(text: str) -> str:
    return _FICHERO.sub(lambda m: ("A" if m.group(1) == "F" else "a") + "rchivo" + m.group(2),
                        text)


def translate_file_dialog(context: str, source: str, disambiguation=None, n: int = -1):
    fixed = FILE_DIALOG_ES.get(source)
    if fixed is not None:
        return fixed
    fallback = _installed.get("qtbase_es")
    text = fallback.translate(context, source, disambiguation, n) if fallback else ""
    return tidy_spanish(text) if text else None


def translate_standard(source: str) -> str | None:
    """The current language's text for a Qt source text, or None if we do not know it.

    A source with a mnemonic ("&Yes") gets one at the start of the translation.
    """
    plain = source.replace("&&", "\0").replace("&", "").replace("\0", "&")
    msgid = STANDARD_TEXTS.get(plain)
    if msgid is None:
        return None
    text = _(msgid)
    return "&" + text if "&" in source.replace("&&", "") else text


class CatalogTranslator(QTranslator):
    """A QTranslator answering from our gettext catalogs (see module docstring)."""

    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: N802
        if context == "QShortcut" and source_text in KEY_NAMES:
            return source_text
        if context in FILE_CONTEXTS and source_text:
            return translate_file_dialog(context, source_text, disambiguation, n)
        if context not in CONTEXTS or not source_text:
            return None
        return translate_standard(source_text)

    def isEmpty(self) -> bool:  # noqa: N802 (Qt name) — else installTranslator ignores us
        return False


_installed: dict[str, QTranslator] = {}


def install(app: QCoreApplication) -> None:
    """Installs Qt's Spanish catalog as fallback and our translator in front of it."""
    if "catalog" in _installed:
        return
    fallback = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if fallback.load(QLocale(QLocale.Language.Spanish), "qtbase", "_", folder):
        app.installTranslator(fallback)
        _installed["qtbase_es"] = fallback
    ours = CatalogTranslator(app)
    app.installTranslator(ours)
    _installed["catalog"] = ours


def retranslate(app: QCoreApplication) -> None:
    """After a language switch: reinstalling posts LanguageChange to every widget, so Qt's
    standard buttons pick up the new texts."""
    ours = _installed.get("catalog")
    if ours is None:
        install(app)
        return
    app.removeTranslator(ours)
    app.installTranslator(ours)
