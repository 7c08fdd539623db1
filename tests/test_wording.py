"""core/wording.py: the command line and the window say a change, a duplicate reason, a sync
phase, a size and a moment the same way, because neither keeps its own copy."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

from cpc_desktop.core import forms, i18n, wording
from cpc_desktop.core.clock import Stamp
from cpc_desktop.sync.engine import Progress

PACKAGE = Path(__file__).resolve().parent.parent / "cpc_desktop"
SHARED = {wording.DELETED_LABEL, *wording.DELETED_VALUES.values(), wording.EMPTY,
          *wording.DUPLICATE_REASONS.values(), *wording.SYNC_PHASES.values(),
          "{n} KB", "{n} MB"}


def test_neither_face_keeps_a_copy_of_the_shared_wording():
    copies = []
    for face in ("cli", "ui"):
        for path in sorted((PACKAGE / face).rglob("*.py")):
            literals = {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            copies += [f"{path.relative_to(PACKAGE)}: {s!r}" for s in sorted(literals & SHARED)]
    assert copies == [], f"wording copied instead of taken from core/wording.py: {copies}"


def test_a_deletion_reads_eliminado_both_ways():
    reg = forms.registry()
    assert wording.change_field(reg, "x", wording.DELETED_FIELD) == "Registro eliminado"
    assert wording.change_value(reg, "x", wording.DELETED_FIELD, True) == "eliminado"
    assert wording.change_value(reg, "x", wording.DELETED_FIELD, False) == "no eliminado"
    intake = reg.intake
    assert wording.change_field(reg, intake.form, "sex") == intake.field("sex").label
    assert wording.change_field(reg, intake.form, "no_such_field") == "no_such_field"
    assert wording.change_value(reg, intake.form, "sex", None) == "(vacío)"


def test_sizes_phases_and_moments():
    assert wording.format_size(999) == "999 bytes"
    assert wording.format_size(1) == "1 byte"
    assert wording.format_size(48_200) == "48,2 KB"
    assert wording.format_size(12_400_000) == "12,4 MB"
    assert wording.progress_text(Progress("send", 3, 10, 48_200)) == \
        "Enviando: 3 de 10 paquetes de cambios · 48,2 KB"
    assert wording.duplicate_reason("document") == "mismo número de documento"
    assert wording.duplicate_reason("new_reason") == "new_reason"
    assert wording.moment(None) == "?"
    when = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    stamp = str(Stamp(int(when.timestamp() * 1000), 0, "device"))
    assert wording.stamp_moment(stamp) == when.astimezone().strftime("%d/%m/%Y %H:%M")
    assert wording.stamp_moment("not a stamp") == ""


def test_the_shared_wording_is_translated():
    i18n.set_language("qu")
    try:
        assert wording.progress_text(Progress("receive", 1, 2, 10)) != \
            "Recibiendo: 1 de 2 paquetes de cambios · 10 bytes"
    finally:
        i18n.set_language("es")
