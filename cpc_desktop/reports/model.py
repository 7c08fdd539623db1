"""What a report is made of: the request, its tables (rows × columns of counts), and who may
see full counts. Plain data, no Qt, no rendering: the window, the PDF and the CSV all read it.

Labels are kept as Spanish msgids (or literal place names) and translated where they are
shown, so one computed report can be printed in Spanish or Quechua.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.errors import CpcError
from ..core.i18n import N_
from ..core.users import Role

Translator = Callable[[str], str]

# Roles that may see full counts on screen. A coordinator runs the shelter and a supervisor
# (read-only) audits it: both may already open every record, so exact counts tell them
# nothing new. Professionals see protected counts, as anyone outside the shelter would.
# Exports (PDF, CSV) are protected whoever makes them.
FULL_COUNT_ROLES = frozenset({Role.COORDINATOR, Role.SUPERVISOR})

NOT_RECORDED = N_("No registrado")
NOT_APPLICABLE = N_("No aplica")
TOTAL = N_("Total")
PROTECTION_NOTE = N_("Datos protegidos: valores menores a 5 se muestran como <5")
COMPLEMENT_NOTE = N_("* valor oculto para que no se pueda deducir un valor protegido a partir "
                     "de los totales")
WITHHELD_NOTE = N_("x valor no publicado: las cifras de esa fila o columna son tan pequeñas que "
                   "se podrían deducir unas de otras")
FULL_COUNTS_NOTE = N_("Cifras completas, solo para uso interno del centro: no las copie ni "
                      "las comparta fuera de él.")


class ReportError(CpcError):
    """A report cannot be made as asked (dates, shelter, rights)."""


def write_file(out: Path, data: bytes) -> None:
    """Whole or not at all: a report cut by a full disk must not look complete."""
    from ..core.files import write_private

    try:
        write_private(out, data)
    except OSError:
        from ..core.i18n import _
        # No file name in the message: names of files can hold a child's name.
        raise ReportError(_("No se pudo escribir el archivo: revise la carpeta elegida y el "
                            "espacio libre.")) from None


@dataclass(frozen=True)
class Label:
    """A msgid translated when shown (with format arguments), or a literal (place names)."""
    text: str
    translate: bool = True
    args: tuple[tuple[str, "Label | str | int"], ...] = ()

    def __call__(self, tr: Translator) -> str:
        text = tr(self.text) if self.translate else self.text
        if self.args:
            text = text.format(**{k: v(tr) if isinstance(v, Label) else v
                                  for k, v in self.args})
        return text

    @classmethod
    def literal(cls, text: str) -> "Label":
        return cls(text, translate=False)

    @classmethod
    def fmt(cls, msgid: str, **args) -> "Label":
        return cls(msgid, True, tuple(sorted(args.items())))


@dataclass(frozen=True)
class ReportRequest:
    """A period (both days included) and a shelter code, or None for every shelter."""
    start: dt.date
    end: dt.date
    shelter: str | None = None


@dataclass(frozen=True)
class Column:
    id: str
    label: Label
    # count (suppressible) | stat (days; hidden for small groups) | internal (screen only)
    kind: str = "count"


@dataclass(frozen=True)
class Cell:
    value: float | int | None    # None: nothing to show (no data)
    key: Hashable | None = None  # the quantity's identity for small-cell protection
    mark: str | None = None      # suppression.PRIMARY / COMPLEMENT when hidden

    @property
    def hidden(self) -> bool:
        return self.mark is not None


@dataclass(frozen=True)
class Row:
    id: str
    label: Label
    cells: tuple[Cell, ...]
    total: bool = False          # a total row (printed bold, left out of charts)


@dataclass(frozen=True)
class Table:
    id: str                      # stable; names the CSV file
    section: Label
    title: Label
    row_header: Label
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: Label | None = None
    chart: str | None = "bar"    # bar | line | None
    # The column the chart draws, for 1-D tables with extra columns (services: children).
    chart_columns: tuple[int, ...] | None = None

    def row(self, row_id: str) -> Row:
        return next(r for r in self.rows if r.id == row_id)

    def value(self, row_id: str, column_id: str = "n"):
        """The full count (or statistic) of a cell — for tests and the window."""
        col = next(i for i, c in enumerate(self.columns) if c.id == column_id)
        return self.row(row_id).cells[col].value

    def cell(self, row_id: str, column_id: str = "n") -> Cell:
        col = next(i for i, c in enumerate(self.columns) if c.id == column_id)
        return self.row(row_id).cells[col]


@dataclass(frozen=True)
class Report:
    request: ReportRequest
    shelter_label: Label
    generated_at: dt.datetime
    version: str
    protected: bool
    tables: tuple[Table, ...]
    messages: tuple[Label, ...] = ()   # e.g. "nothing in this period"
    user_role: Role | None = None
    # How counts are tied (total = sum of parts; hide b with a): what protection works on.
    sums: tuple = field(default=(), repr=False, compare=False)
    links: tuple = field(default=(), repr=False, compare=False)
    # family -> {member hash: times}: who each family of counts is about (release log).
    populations: dict = field(default_factory=dict, repr=False, compare=False)
    period: object = None            # periods.Period when the range is a calendar period

    def table(self, table_id: str) -> Table:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)

    def with_tables(self, tables, protected: bool) -> "Report":
        return replace(self, tables=tuple(tables), protected=protected)


@dataclass
class Sections:
    """Section titles, in report order."""
    SUMMARY: Label = field(default_factory=lambda: Label(N_("Resumen del periodo")))
    PROFILE: Label = field(default_factory=lambda: Label(N_("Perfil de las niñas, niños y "
                                                            "adolescentes atendidos")))
    ORIGIN: Label = field(default_factory=lambda: Label(N_("Lugar de origen")))
    SERVICES: Label = field(default_factory=lambda: Label(N_("Atenciones brindadas")))
    PTI: Label = field(default_factory=lambda: Label(N_("Plan de Trabajo Individual (PTI)")))
    FOLLOWUP: Label = field(default_factory=lambda: Label(N_("Seguimiento")))
    DISCHARGE: Label = field(default_factory=lambda: Label(N_("Egresos")))


SECTIONS = Sections()
