"""Wording the command line and the window share, written once so the two faces cannot drift:
labels of changes (a field or a deletion), reasons two residents may be one child, sync phases
and progress, sizes and moments. Values of form fields are core/display.py's.
"""
from __future__ import annotations

import datetime as dt

from . import display, tables
from .clock import Stamp
from .i18n import N_, _, ngettext
from .vault import DELETED as DELETED_FIELD

DELETED_LABEL = N_("Registro eliminado")
DELETED_VALUES = {True: N_("eliminado"), False: N_("no eliminado")}
EMPTY = N_("(vacío)")

# sync/merge.py DuplicateGroup.reason → why two residents may be one child.
DUPLICATE_REASONS = {"document": N_("mismo número de documento"),
                     "name_birth": N_("mismos nombres y fecha de nacimiento"),
                     "code": N_("mismo código interno")}

# A resident's attachments: the window's tab and the sync phase that moves them.
ATTACHMENTS = N_("Adjuntos")

# sync.Progress.phase → what is happening.
SYNC_PHASES = {"prepare": N_("Preparando"), "send": N_("Enviando"), "receive": N_("Recibiendo"),
               "attachments": ATTACHMENTS, "done": N_("Listo")}


def change_field(registry, form_id: str, field_id: str) -> str:
    """The label of a changed field; a field of a form version this program lacks: its id."""
    if field_id == DELETED_FIELD:
        return _(DELETED_LABEL)
    cell = tables.parse_key(field_id)
    try:
        if cell is not None:    # one cell of a table row: "Table › Column"
            table, col = registry.get(form_id).field(cell[0]), cell[2]
            return _("{table} › {column}").format(table=_(table.label), column=next(
                _(c.label) for c in table.columns if c.id == col))
        return _(registry.get(form_id).field(field_id).label)
    except Exception:  # noqa: BLE001 - a form or field of another version
        return field_id


def change_value(registry, form_id: str, field_id: str, value) -> str:
    """A changed value as people read it (a deletion: eliminado / no eliminado)."""
    if value is None or value == "" or value == []:
        return _(EMPTY)
    if field_id == DELETED_FIELD:
        return _(DELETED_VALUES[bool(value)])
    cell = tables.parse_key(field_id)
    try:
        if cell is not None:
            table = registry.get(form_id).field(cell[0])
            return display.format_value(next(c for c in table.columns if c.id == cell[2]),
                                        value)
        return display.format_value(registry.get(form_id).field(field_id), value)
    except Exception:  # noqa: BLE001 - a form or field of another version
        return str(value)


def duplicate_reason(reason: str) -> str:
    return _(DUPLICATE_REASONS[reason]) if reason in DUPLICATE_REASONS else reason


def format_size(n: int) -> str:
    """Sizes as a coordinator reads them on a phone plan: bytes, KB, MB (decimal comma)."""
    if n < 1000:
        return ngettext("{n} byte", "{n} bytes", n).format(n=n)
    if n < 1_000_000:
        return _("{n} KB").format(n=f"{n / 1000:.1f}".replace(".", ","))
    return _("{n} MB").format(n=f"{n / 1_000_000:.1f}".replace(".", ","))


def progress_text(p) -> str:
    """"Enviando: 3 de 10 lotes · 48,2 KB" from a sync.Progress."""
    phase = _(SYNC_PHASES.get(p.phase, p.phase))
    if p.batches_total:
        return _("{phase}: {done} de {total} paquetes de cambios · {size}").format(
            phase=phase, done=p.batches_done, total=p.batches_total,
            size=format_size(p.bytes_done))
    return _("{phase}… · {size}").format(phase=phase, size=format_size(p.bytes_done))


def moment(value) -> str:
    """dd/mm/aaaa hh:mm local, or "?" when unknown (a backup, a release, a sync)."""
    return display.format_moment(value) or "?"


def stamp_moment(stamp: str) -> str:
    """When a stamped change was made, local dd/mm/aaaa hh:mm; "" if the stamp is unreadable."""
    try:
        ms = Stamp.parse(stamp).ms
    except (ValueError, TypeError):
        return ""
    return display.format_moment(dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc))
