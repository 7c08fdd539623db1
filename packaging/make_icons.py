"""Renders resources/icons/cpc-desktop.svg into the PNG sizes Linux desktops use, the window's
PNG and the Windows .ico. Run after changing the SVG: `.venv/bin/python packaging/make_icons.py`
(the outputs are committed; building a bundle does not need this)."""
from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "cpc-desktop.svg"
LINUX_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    """An .ico holding PNG images (supported since Windows Vista)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    entries, blobs = b"", b""
    offset = 6 + 16 * len(pngs)
    for size, png in sorted(pngs.items()):
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    pngs = {size: render(size) for size in sorted(set(LINUX_SIZES) | set(ICO_SIZES))}
    hicolor = ROOT / "packaging" / "linux" / "icons" / "hicolor"
    for size in LINUX_SIZES:
        out = hicolor / f"{size}x{size}" / "apps" / "cpc-desktop.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pngs[size])
    scalable = hicolor / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable / "cpc-desktop.svg")
    (ROOT / "resources" / "icons" / "cpc-desktop.png").write_bytes(pngs[256])
    (ROOT / "packaging" / "windows" / "cpc-desktop.ico").write_bytes(
        ico({s: pngs[s] for s in ICO_SIZES}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
