"""The one place that says which fonts reports print with.

If the printed-forms work ships TrueType fonts in resources/fonts/ (a regular and a bold
face), reports use them too, so Quechua letters print the same everywhere; until then,
reportlab's built-in Helvetica (Latin-1: Spanish and the Quechua alphabet's ñ and ').
"""
from __future__ import annotations

from ..paths import resource_path

REGULAR, BOLD = "Helvetica", "Helvetica-Bold"


def _register() -> tuple[str, str]:
    folder = resource_path("fonts")
    if not folder.is_dir():
        return REGULAR, BOLD
    faces = sorted(folder.glob("*.ttf"))
    plain = [f for f in faces if not any(w in f.stem for w in ("Bold", "Italic", "Oblique"))]
    bold = [f for f in faces if "Bold" in f.stem and not any(w in f.stem for w in
                                                              ("Italic", "Oblique"))]
    if not plain or not bold:
        return REGULAR, BOLD
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.registerFont(TTFont("CPC-Regular", str(plain[0])))
        pdfmetrics.registerFont(TTFont("CPC-Bold", str(bold[0])))
    except Exception:  # noqa: BLE001 - a broken font file must not stop a report
        return REGULAR, BOLD
    return "CPC-Regular", "CPC-Bold"


REGULAR, BOLD = _register()
