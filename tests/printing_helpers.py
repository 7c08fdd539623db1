"""Helpers for the printing tests: full synthetic records and reading PDFs back with poppler.

Everyone here is fictional. Values carry Spanish accents and Quechua ejectives/aspirates so
the round trip through the PDF checks they print as written.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from cpc_desktop.core import forms
from cpc_desktop.core.forms import Field, Form

QUECHUA_NOTE = ("Ch'aska q'ipi k'anchay phuyu qhatu chhalla thanta: niña, corazón, "
                "atención médica y pequeñas mejoras.")
DAY = "2024-03-10"


def need_poppler() -> None:
    for tool in ("pdftotext", "pdffonts", "pdfinfo"):
        assert shutil.which(tool), (f"{tool} (poppler-utils) is missing: scripts/test.sh "
                                    "installs it; without it printed forms cannot be checked")


def pdf_text(data: bytes, tmp: Path, name: str = "out.pdf") -> str:
    """The text of a PDF as pdftotext reads it, whitespace collapsed (lines wrap anywhere)."""
    path = tmp / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
                         capture_output=True, text=True, check=True).stdout
    return norm(out)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(data: bytes, tmp: Path, name: str = "pages.pdf") -> int:
    path = tmp / name
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def pdf_fonts(data: bytes, tmp: Path, name: str = "fonts.pdf") -> list[dict]:
    path = tmp / name
    path.write_bytes(data)
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    fonts = []
    for line in lines:
        parts = line.split()
        # name type... encoding emb sub uni object ID: the three flags are fixed from the end.
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return fonts


# ---------------------------------------------------------------- full synthetic records

def _needed(later: list[Field], target: Field) -> list:
    """Values of `target` that make later conditional fields visible."""
    wanted = []
    for fld in later:
        cond = fld.show_when
        if cond is None or cond.field != target.id:
            continue
        if cond.op == "in":
            wanted.append(cond.value[0])
        else:
            wanted.append(cond.value)
    return wanted


def field_value(fld: Field, later: list[Field], n: int):
    """A valid value for `fld`, chosen to open the conditional fields that follow it."""
    need = _needed(later, fld)
    t = fld.type
    if t == "text":
        return f"Valor{n} Ñuñoa"
    if t == "longtext":
        return f"Texto{n}. {QUECHUA_NOTE}"
    if t == "date":
        return DAY
    if t == "time":
        return "10:30"
    if t == "number":
        low = fld.min if fld.min is not None else 0
        high = fld.max if fld.max is not None else low + 10
        return int(min(high, max(low, 3)))
    if t == "yesno":
        return need[0] if need else True
    if t == "place":
        return "160101"
    if t == "choice":
        if need:
            return need[0]
        return fld.choices[min(1, len(fld.choices) - 1)].value
    if t == "multichoice":
        picked = {c.value for c in fld.choices[:2]} | set(need)
        return [c.value for c in fld.choices if c.value in picked]
    if t == "table":
        return [full_values_of(fld.columns, n * 100 + r) for r in range(2)]
    raise AssertionError(t)


def full_values_of(fields, n: int) -> dict:
    fields = list(fields)
    values: dict = {}
    for i, fld in enumerate(fields):
        if not fld.stores_value:
            continue
        if fld.show_when is not None and not fld.show_when.holds(values):
            continue
        values[fld.id] = field_value(fld, fields[i + 1:], n + i)
    return values


def full_values(form: Form) -> dict:
    """Every field a record of `form` can hold at once, valid (form.validate passes)."""
    values = full_values_of(form.fields, 1)
    return form.validate(values)


def registry() -> forms.FormRegistry:
    return forms.registry()
