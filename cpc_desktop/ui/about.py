"""Help menu: the About box (version, licence) and the user guide (docs/user-guide.md)."""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImageReader, QTextCursor
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QLabel,
                               QTextBrowser, QVBoxLayout, QWidget)

from .. import __version__
from ..core import i18n
from ..core.i18n import _
from ..paths import resource_path
from .screen_fit import fit_to_screen

LICENSE = "GPL-3.0-or-later"
IMAGE_WIDTH = 760
LICENSE_URL = "https://www.gnu.org/licenses/gpl-3.0.html"


def guide_path() -> Path:
    """docs/user-guide.md beside resources/ (checkout and frozen build alike)."""
    return resource_path().parent / "docs" / "user-guide.md"


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(_("Acerca de CPC Desktop"))
        text = QLabel(wordWrap=True, objectName="aboutText")
        text.setOpenExternalLinks(True)
        version = _("Versión {version}").format(version=__version__)
        purpose = _("Registros cifrados, formularios estandarizados y sincronización para los "
                    "centros de acogida residencial.")
        licence = _("Licencia: {license}. Puede usar, estudiar, compartir y modificar este "
                    "programa según esa licencia; se entrega sin ninguna garantía.").format(
            license=LICENSE)
        text.setText(f"<h2>CPC Desktop</h2><p>{html.escape(version)}</p>"
                     f"<p>{html.escape(purpose)}</p><p>{html.escape(licence)} "
                     f"<a href='{LICENSE_URL}'>{LICENSE_URL}</a></p>")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        icon = QLabel()
        icon.setPixmap(QApplication.windowIcon().pixmap(72, 72))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addWidget(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)


class UserGuideDialog(QDialog):
    """The Spanish user guide, read from Markdown with its screenshots, offline."""

    def __init__(self, parent: QWidget | None = None, path: Path | None = None):
        super().__init__(parent)
        self.setObjectName("userGuideDialog")
        self.setWindowTitle(_("Guía de uso"))
        self.browser = QTextBrowser(objectName="userGuide")
        self.browser.setOpenExternalLinks(True)
        path = path or guide_path()
        self._folder = path.parent
        try:
            markdown = path.read_text(encoding="utf-8")
        except OSError:
            markdown = _("No se encontró la guía de uso ({path}).").format(path=path.name)
        # Relative image paths (img/…) resolve against the guide's folder.
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(path.parent) + "/"))
        self.browser.setSearchPaths([str(path.parent)])
        self.browser.setMarkdown(markdown)
        self._fit_images(IMAGE_WIDTH)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        # There is one guide, in Spanish: a reader of another language is told before it.
        self.language_note = QLabel(_("Esta guía de uso está en castellano."),
                                    objectName="guideLanguageNote", wordWrap=True)
        self.language_note.setVisible(i18n.current_language() != "es")
        layout.addWidget(self.language_note)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        fit_to_screen(self, IMAGE_WIDTH + 80, 640)

    def _fit_images(self, width: int) -> None:
        """Screenshots are full windows: shown at a readable width, proportions kept."""
        doc = self.browser.document()
        cursor = QTextCursor(doc)
        block = doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                if fmt.isImageFormat():
                    image = fmt.toImageFormat()
                    size = QImageReader(QUrl(image.name()).toLocalFile()
                                        if image.name().startswith("file:")
                                        else str(Path(self._folder) / image.name())).size()
                    if size.width() > width:
                        image.setWidth(width)
                        image.setHeight(size.height() * width / size.width())
                        cursor.setPosition(fragment.position())
                        cursor.setPosition(fragment.position() + fragment.length(),
                                           QTextCursor.MoveMode.KeepAnchor)
                        cursor.setCharFormat(image)
                it += 1
            block = block.next()
