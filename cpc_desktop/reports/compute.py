"""The indicators of a period, computed from the vault, and their protected version.

Definitions (printed as notes in the report, relied on by the tests):

* A stay runs from the admission date (intake) to the discharge date (discharge form).
  In care at the start: admitted before the first day and not discharged before it.
  Admitted / discharged: the date falls within the period (both ends included).
  In care at the end: admitted by the last day and not discharged by it.
  Served: in care at the start or admitted during the period — the population of every
  profile and origin table. Residents without an admission date cannot be placed in time:
  they are counted in their own summary row, never dropped.
* Age at admission: from the date of birth, else the recorded (estimated) age.
* Services: service records dated within the period; children = distinct residents.
* PTI objectives: the rows of each served child's latest plan dated in the 12 months up to
  the end of the period (an older plan is no longer current).
* Follow-up reports due: a due date within the period; on time if done on or before it,
  late if done after it, not done if there is no date of completion.
* Visits planned: a next visit date (follow-up report) or a first follow-up date (discharge)
  within the period; done if a follow-up report of that child was completed after the day
  it was planned and by the end of the period; overdue otherwise.
* Length of stay, in days: admission to discharge (discharged in the period), admission to
  the last day (in care at the end).
"""
from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import hashlib
import operator
import statistics
import weakref
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import cast

from .. import __version__
from ..core import forms, profile, ubigeo
from ..core.forms import parse_date
from ..core.i18n import N_
from ..core.users import Action
from ..core.vault import Vault
from . import axes as ax
from . import suppression
from .model import (
    FULL_COUNT_ROLES,
    NOT_APPLICABLE,
    NOT_RECORDED,
    SECTIONS,
    TOTAL,
    Cell,
    Column,
    Label,
    Report,
    ReportError,
    ReportRequest,
    Row,
    Table,
)

NR = "__not_recorded__"
NA = "__not_applicable__"
ABROAD = "__abroad__"

MONTHS = (N_("enero"), N_("febrero"), N_("marzo"), N_("abril"), N_("mayo"), N_("junio"),
          N_("julio"), N_("agosto"), N_("setiembre"), N_("octubre"), N_("noviembre"),
          N_("diciembre"))
AGE_LABELS = {"0_11": N_("0 a 11 años"), "12_14": N_("12 a 14 años"),
              "15_17": N_("15 a 17 años"), "18_plus": N_("18 años o más")}

SERVED_NOTE = N_("Niñas, niños y adolescentes atendidos en el periodo: en acogida al inicio "
                 "o ingresados durante el periodo.")
MULTI_NOTE = N_("Respuesta múltiple: cada niña, niño o adolescente se cuenta en cada opción "
                "registrada, así que la suma de las filas puede superar el total.")
DISCHARGED_NOTE = N_("Niñas, niños y adolescentes egresados en el periodo.")
# A care plan older than this at the end of the period is no longer the child's current plan
# (plans are reviewed every six months); reading only recent plans also keeps reports fast.
PLAN_VALID_DAYS = 365


# ====================================================================== loading

@dataclass
class ReportData:
    """What a report reads from the vault, decoded once (the window may keep it and
    recompute other periods without reading again)."""
    shelter: str | None
    intakes: dict[str, dict]                         # resident id -> intake values
    discharges: dict[str, dict]                      # resident id -> latest discharge
    services: list[tuple[str, str | None, dict]]     # (resident, date, values)
    plans: dict[str, list[tuple[str | None, dict]]]  # resident -> [(date, values)]
    followups: list[tuple[str, str | None, dict]]
    services_range: tuple[str | None, str | None] = (None, None)
    plans_since: str | None = None
    # form id -> [(resident, date, values)] of the other forms counted as records (axes.py),
    # read over the same dates as the services
    records: dict[str, list[tuple[str, str | None, dict]]] = dc_field(default_factory=dict)


def load(vault: Vault, shelter: str | None = None, *, services_since: dt.date | None = None,
         services_until: dt.date | None = None) -> ReportData:
    """Reads every record a report needs, once, through Vault.iter_values."""
    reg = vault.forms
    intake_fields = ax.fields_needed(ax.INTAKE, reg) + [
        *profile.AGE_FIELDS, *ax.ORIGIN_PLACE_FIELDS, ax.ORIGIN_COUNTRY_FIELD]
    intake_fields = [f for f in dict.fromkeys(intake_fields) if reg.intake.has_field(f)]
    intakes = {rid: values for rid, _d, values in
               vault.iter_values(reg.intake.form, intake_fields, shelter=shelter)}
    discharges: dict[str, dict] = {}
    if (discharge := ax.form_id(ax.DISCHARGE, reg)) is not None:
        fields = _existing(reg, discharge, ax.fields_needed(ax.DISCHARGE, reg)
                           + [ax.DISCHARGE_FIRST_FOLLOWUP])
        for rid, _d, values in vault.iter_values(discharge, fields, shelter=shelter):
            discharges[rid] = values      # by date: the latest one wins
    services = []
    since = first = services_since.isoformat() if services_since else None
    until = services_until.isoformat() if services_until else None
    if (log := ax.form_id(ax.SERVICES, reg)) is not None:
        # The service date is the record date iter_values gives: not decoded again.
        date_field = reg.get(log).date_field
        fields = [f for f in ax.fields_needed(ax.SERVICES, reg) if f != date_field]
        services = list(vault.iter_values(log, fields, shelter=shelter, since=since,
                                          until=until))
    plans: dict[str, list] = defaultdict(list)
    if (plan := ax.form_id(ax.PTI, reg)) is not None:
        since = (services_since - dt.timedelta(days=PLAN_VALID_DAYS)).isoformat() \
            if services_since else None
        for rid, day, values in vault.iter_values(plan, ax.fields_needed(ax.PTI, reg),
                                                  shelter=shelter, since=since):
            plans[rid].append((day, values))
    followups = []
    if (followup := ax.form_id(ax.FOLLOWUP, reg)) is not None:
        fields = _existing(reg, followup, [ax.FOLLOWUP_DUE, ax.FOLLOWUP_DONE,
                                           ax.FOLLOWUP_NEXT_NEEDED, ax.FOLLOWUP_NEXT_DATE])
        followups = list(vault.iter_values(followup, fields, shelter=shelter))
    records = {}
    for form in ax.record_forms(reg):
        fields = [f for f in ax.record_fields_needed(form) if f != form.date_field]
        records[form.form] = list(vault.iter_values(form.form, fields, shelter=shelter,
                                                    since=first, until=until))
    return ReportData(shelter, intakes, discharges, services, dict(plans), followups,
                      (first, until), since, records)


# What the last reports of each open vault read, kept while the vault has not changed: a
# PDF after the screen view, or the same report again, does not read and decode it twice.
_KEPT: "weakref.WeakKeyDictionary[Vault, tuple[tuple, list[ReportData]]]" = \
    weakref.WeakKeyDictionary()
_KEEP = 2


def vault_state(vault: Vault) -> tuple:
    """Changes whenever anything is written to the vault: by this connection (any row it
    inserts, updates or deletes counts, meta included) or by another one (data_version)."""
    conn = vault.conn
    with vault.reading():
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        return id(conn), conn.total_changes, version


def _covers(data: ReportData, shelter: str | None, since: str | None,
            until: str | None) -> bool:
    lo, hi = data.services_range
    plans = None if since is None else \
        (dt.date.fromisoformat(since) - dt.timedelta(days=PLAN_VALID_DAYS)).isoformat()
    return (data.shelter == shelter
            and (lo is None or (since is not None and lo <= since))
            and (hi is None or (until is not None and hi >= until))
            and (data.plans_since is None or (plans is not None and data.plans_since <= plans)))


def load_kept(vault: Vault, shelter: str | None = None, *,
              services_since: dt.date | None = None,
              services_until: dt.date | None = None) -> ReportData:
    """load(), or what an earlier load of the same vault state read when it covers the
    request. The vault's permission check runs every time (a read through iter_values)."""
    vault.require(Action.READ)
    since = services_since.isoformat() if services_since else None
    until = services_until.isoformat() if services_until else None
    state = vault_state(vault)
    kept_state, kept = _KEPT.get(vault, (None, []))
    if kept_state == state:
        for data in kept:
            if _covers(data, shelter, since, until):
                return data
    else:
        kept = []
    data = load(vault, shelter, services_since=services_since, services_until=services_until)
    _KEPT[vault] = (vault_state(vault), ([data] + kept)[:_KEEP])
    return data


def _existing(reg, form_id: str, ids: Iterable[str]) -> list[str]:
    form = reg.get(form_id)
    return [f for f in dict.fromkeys(ids) if form.has_field(f)]


# ====================================================================== the public entry points

def check_request(request: ReportRequest, today: dt.date) -> None:
    if request.start > request.end:
        raise ReportError(_t(N_("La fecha de inicio ({start}) es posterior a la fecha de fin "
                                "({end}): corrija el periodo.")).format(
            start=request.start.strftime("%d/%m/%Y"), end=request.end.strftime("%d/%m/%Y")))
    if request.end > today:
        raise ReportError(_t(N_("El periodo termina el {end}, una fecha futura: un informe "
                                "solo puede contar días que ya pasaron.")).format(
            end=request.end.strftime("%d/%m/%Y")))


def build_report(vault: Vault, request: ReportRequest, *, purpose: str = "screen",
                 today: dt.date | None = None, data: ReportData | None = None,
                 tables: Iterable[str] | None = None) -> Report:
    """The report of a period.

    purpose "export" (PDF, CSV, anything leaving the shelter) always gives protected
    counts, for a calendar period only (periods.classify), checked against the release log
    (releases.control: more counts hidden, or ReleaseRefused); `tables`: the ids of the
    tables the export will print (default: all). "screen" gives full counts only to
    FULL_COUNT_ROLES, protected ones otherwise. `data` may be a ReportData loaded earlier
    (covering the period's services). Raises ReportError for a period that ends in the
    future or starts after it ends, or a shelter the vault holds nothing of.
    """
    from . import periods, releases

    if purpose not in ("screen", "export"):
        raise ValueError(purpose)
    today = today or dt.date.today()
    check_request(request, today)
    period = releases.check_shareable(request, today) if purpose == "export" \
        else periods.classify(request.start, request.end, today)
    role = vault.user.role
    with _quiet_gc():
        if data is None:
            data = load_kept(vault, request.shelter, services_since=request.start,
                             services_until=request.end)
        if request.shelter is not None and request.shelter != vault.shelter_code \
                and not data.intakes:
            raise ReportError(_t(N_("Esta bóveda no tiene registros del centro «{code}».")
                                 ).format(code=request.shelter))
        full = replace(compute(data, request, vault.forms,
                               shelter_label=_shelter_label(vault, request), role=role,
                               populations=purpose == "export"),
                       period=period)
        if purpose == "export":
            return releases.control(vault, full, tables)
    if role in FULL_COUNT_ROLES:
        return full
    return protect(full)


@contextlib.contextmanager
def _quiet_gc():
    """No cyclic garbage collection while 100,000s of small objects are made and kept: the
    collector would walk them again and again (a third of the time) and find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _shelter_label(vault: Vault, request: ReportRequest) -> Label:
    if request.shelter is None:
        return Label(N_("Todos los centros registrados en esta bóveda"))
    if request.shelter == vault.shelter_code:
        return Label.literal(f"{vault.shelter_name} ({vault.shelter_code})")
    return Label.literal(request.shelter)


def _t(msgid: str) -> str:
    from ..core.i18n import _
    return _(msgid)


# ====================================================================== computing

class _Builder:
    """Collects tables and the sums that tie their counts (for the protection step)."""

    def __init__(self):
        self.tables: list[Table] = []
        self.sums: list[tuple[Hashable, tuple[Hashable, ...]]] = []
        self.links: list[tuple[Hashable, Hashable]] = []
        self.values: dict[Hashable, int] = {}

    def count(self, key: Hashable, value: int) -> Cell:
        old = self.values.setdefault(key, value)
        if old != value:  # the same quantity computed two ways: a bug, never print it
            raise AssertionError(f"inconsistent report quantity {key!r}: {old} != {value}")
        return Cell(value, key)

    def add_sum(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        parts = tuple(parts)
        if parts:
            self.sums.append((total, parts))


def _choice_label(fld: forms.Field, value: str) -> Label:
    if value == NR:
        return Label(NOT_RECORDED)
    if value == NA:
        return Label(NOT_APPLICABLE)
    for c in fld.choices:
        if c.value == value:
            return Label(c.label)
    return Label.literal(value)   # a value no longer offered by the form: shown as stored


def _categories(fld: forms.Field, seen: Iterable[str], conditional: bool) -> list[str]:
    known = [c.value for c in fld.choices]
    extra = sorted(set(seen) - set(known) - {NR, NA})
    return known + extra + ([NA] if conditional else []) + [NR]


def _value_of(fld: forms.Field, values: dict):
    """The category (or list of them, multichoice) of one record for one field."""
    if fld.show_when is not None and not fld.show_when.holds(values):
        return NA
    raw = values.get(fld.id)
    if fld.type == "multichoice":
        return list(raw) if isinstance(raw, list) and raw else NR
    return raw if isinstance(raw, str) and raw else NR


def _count_axis(fld: forms.Field, records) -> Counter:
    """Records per category; a multichoice record counts once in each of its choices."""
    per: Counter = Counter()
    if fld.show_when is None and fld.type == "choice":   # the common case, made cheap
        get = operator.methodcaller("get", fld.id)
        per.update(map(get, records))                    # counted in C, then None/"" → NR
        missing = per.pop(None, 0) + per.pop("", 0)
        if missing:
            per[NR] += missing
        return per
    for values in records:
        cat = _value_of(fld, values)
        if isinstance(cat, list):
            per.update(set(cat))
        else:
            per[cat] += 1
    return per


def compute(data: ReportData, request: ReportRequest, reg: forms.FormRegistry, *,
            shelter_label: Label, role=None, now: dt.datetime | None = None,
            populations: bool = False) -> Report:
    """Full counts for the period (not for export: see protect()); with `populations`, who
    each family of counts is about (for the release log)."""
    start, end = request.start, request.end
    b = _Builder()
    intake = reg.intake
    discharge_form = reg.by_role(ax.DISCHARGE)

    # ------------------------------------------------------------ stays
    admission: dict[str, dt.date | None] = {rid: _day(v.get(intake.date_field))
                                            for rid, v in data.intakes.items()}
    leave: dict[str, dt.date | None] = {}
    for rid, v in data.discharges.items():
        if rid in data.intakes and discharge_form is not None:
            leave[rid] = _day(v.get(discharge_form.date_field))
    undated = [rid for rid, d in admission.items() if d is None]
    at_start, admitted, discharged, at_end = set(), set(), set(), set()
    for rid, a in admission.items():
        if a is None:
            continue
        d = leave.get(rid)
        if a < start and (d is None or d >= start):
            at_start.add(rid)
        if start <= a <= end:
            admitted.add(rid)
    served = at_start | admitted
    for rid in served:
        d = leave.get(rid)
        if d is not None and start <= d <= end:
            discharged.add(rid)
    at_end = served - discharged
    pops = Populations(populations)
    for name, members in (("at_start", at_start), ("admitted", admitted),
                          ("discharged", discharged), ("at_end", at_end), ("served", served),
                          ("undated", undated)):
        pops.add_all(name, members)

    summary_rows = []
    for rid_set, row_id, label in (
            (at_start, "at_start", N_("En acogida al inicio del periodo")),
            (admitted, "admitted", N_("Ingresaron en el periodo")),
            (discharged, "discharged", N_("Egresaron en el periodo")),
            (at_end, "at_end", N_("En acogida al final del periodo")),
            (served, "served", N_("Atendidos en el periodo (en acogida al inicio o "
                                  "ingresados)")),
            (undated, "undated", N_("Residentes sin fecha de ingreso registrada (no se "
                                    "pueden ubicar en el periodo)"))):
        summary_rows.append(Row(row_id, Label(label), (b.count(("summary", row_id),
                                                               len(rid_set)),)))
    b.add_sum(("summary", "served"), [("summary", "at_start"), ("summary", "admitted")])
    b.add_sum(("summary", "served"), [("summary", "at_end"), ("summary", "discharged")])
    n_col = (Column("n", Label(N_("Niñas, niños y adolescentes"))),)
    b.tables.append(Table("resumen", SECTIONS.SUMMARY, Label(N_("Resumen del periodo")),
                          Label(N_("Indicador")), n_col, tuple(summary_rows), chart=None))
    served_key = ("summary", "served")

    # ------------------------------------------------------------ admissions per month
    _monthly(b, data, admission, leave, admitted, discharged, start, end)

    # ------------------------------------------------------------ age band × sex
    served_sorted = sorted(served)
    _age_by_cross(b, intake, data, served_sorted, admission, served_key)

    # ------------------------------------------------------------ intake axes
    intake_axes = ax.axes(ax.INTAKE, reg)
    axis_ids = {a.field.id for a in intake_axes}
    served_records = [data.intakes[r] for r in served_sorted]
    for axis in intake_axes:
        _axis_table(b, axis, served_records, served_key, "ingreso", SECTIONS.PROFILE,
                    Label(SERVED_NOTE), axis_ids)
    # ------------------------------------------------------------ origin
    _origin(b, intake, served_records, served_key)

    # ------------------------------------------------------------ services
    _services(b, data, start, end, pops)

    # ------------------------------------------------------------ other records
    _records(b, reg, data, start, end, pops)

    # ------------------------------------------------------------ PTI
    _plans(b, reg, data, served_sorted, end, pops)

    # ------------------------------------------------------------ follow-ups
    _followups(b, data, start, end, pops)

    # ------------------------------------------------------------ discharges
    if discharge_form is not None:
        d_axes = ax.axes(ax.DISCHARGE, reg)
        d_ids = {a.field.id for a in d_axes}
        rows = [data.discharges[r] for r in sorted(discharged)]
        for axis in d_axes:
            _axis_table(b, axis, rows, ("summary", "discharged"), "egreso", SECTIONS.DISCHARGE,
                        Label(DISCHARGED_NOTE), d_ids)
    _stays(b, admission, leave, discharged, at_end, end)

    messages = []
    if not served and not undated:
        messages.append(Label(N_("No hay niñas, niños ni adolescentes en acogida en este "
                                 "periodo: las tablas muestran ceros.")))
    if undated:
        messages.append(Label(N_("Hay residentes sin fecha de ingreso registrada: no se pueden "
                                 "ubicar en el periodo (vea el resumen). Complete su ficha de "
                                 "ingreso.")))
    report = Report(request=request, shelter_label=shelter_label,
                    generated_at=now or dt.datetime.now().replace(microsecond=0),
                    version=__version__, protected=False, tables=tuple(b.tables),
                    messages=tuple(messages), user_role=role, sums=tuple(b.sums),
                    links=tuple(b.links), populations=pops.members)
    return report


def _monthly(b: _Builder, data, admission, leave, admitted, discharged, start, end) -> None:
    months = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    adm = Counter((admission[r].year, admission[r].month) for r in admitted)
    dis = Counter((leave[r].year, leave[r].month) for r in discharged)
    rows = []
    for ym in months:
        label = Label.fmt(N_("{month} {year}"), month=Label(MONTHS[ym[1] - 1]), year=ym[0])
        rows.append(Row(f"{ym[0]:04d}-{ym[1]:02d}", label,
                        (b.count(("month_in", ym), adm[ym]), b.count(("month_out", ym),
                                                                     dis[ym]))))
    rows.append(Row("total", Label(TOTAL), (b.count(("summary", "admitted"), len(admitted)),
                                            b.count(("summary", "discharged"),
                                                    len(discharged))), total=True))
    b.add_sum(("summary", "admitted"), [("month_in", ym) for ym in months])
    b.add_sum(("summary", "discharged"), [("month_out", ym) for ym in months])
    cols = (Column("admitted", Label(N_("Ingresos"))), Column("discharged",
                                                               Label(N_("Egresos"))))
    b.tables.append(Table("ingresos_egresos_por_mes", SECTIONS.SUMMARY,
                          Label(N_("Ingresos y egresos por mes")), Label(N_("Mes")), cols,
                          tuple(rows), chart="line"))


def _age_band(age: int | None) -> str:
    if age is None or age < 0:
        return NR
    for lo, hi, band in ax.AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return band
    return NR


def _age_by_cross(b: _Builder, intake: forms.Form, data, served, admission, served_key):
    cross = intake.field(ax.CROSS_FIELD) if intake.has_field(ax.CROSS_FIELD) else None
    bands = [band for _lo, _hi, band in ax.AGE_BANDS] + [NR]
    counts: Counter = Counter()
    seen = set()
    for rid in served:
        v = data.intakes[rid]
        # Dates parsed here (fromisoformat) spare age_on a strptime per child.
        band = _age_band(profile.age_on({
            profile.DATE_OF_BIRTH: _day(v.get(profile.DATE_OF_BIRTH)),
            profile.AGE: v.get(profile.AGE)}, admission[rid]))
        c = _value_of(cross, v) if cross is not None else "all"
        seen.add(c)
        counts[(band, c)] += 1
    if cross is not None:
        cats = _categories(cross, seen, cross.show_when is not None)
        col_keys = {c: ("axis", intake.form, cross.id, c) for c in cats}
        cols = tuple(Column(c, _choice_label(cross, c)) for c in cats) + (
            Column("total", Label(TOTAL)),)
    else:
        cats, col_keys = ["all"], {"all": served_key}
        cols = (Column("total", Label(TOTAL)),)
    rows = []
    for band in bands:
        cells = []
        for c in cats:
            cells.append(b.count(("age", band, c), counts[(band, c)]))
        row_total = sum(counts[(band, c)] for c in cats)
        if cross is not None:
            cells.append(b.count(("age", band), row_total))
            b.add_sum(("age", band), [("age", band, c) for c in cats])
        label = Label(AGE_LABELS[band]) if band != NR else Label(NOT_RECORDED)
        rows.append(Row(band, label, tuple(cells)))
    total_cells = []
    for c in cats:
        n = sum(counts[(band, c)] for band in bands)
        if cross is not None:
            total_cells.append(b.count(col_keys[c], n))
            b.add_sum(col_keys[c], [("age", band, c) for band in bands])
    total_cells.append(b.count(served_key, len(served)))
    rows.append(Row("total", Label(TOTAL), tuple(total_cells), total=True))
    if cross is not None:
        b.add_sum(served_key, [("age", band) for band in bands])
        b.add_sum(served_key, [col_keys[c] for c in cats])
    else:
        b.add_sum(served_key, [("age", band, "all") for band in bands])
    title = Label.fmt(N_("Edad al ingreso por {field}"), field=Label(cross.label)) \
        if cross is not None else Label(N_("Edad al ingreso"))
    b.tables.append(Table("edad_al_ingreso", SECTIONS.PROFILE, title,
                          Label(N_("Edad al ingreso")), cols, tuple(rows),
                          note=Label(N_("Edad calculada con la fecha de nacimiento o, si falta, "
                                        "con la edad registrada (estimada).")),
                          chart="bar"))


def _axis_table(b: _Builder, axis: ax.Axis, records: list[dict], total_key, prefix: str,
                section: Label, note: Label, axis_ids: set[str]) -> None:
    fld = axis.field
    per = _count_axis(fld, records)
    cats = _categories(fld, per, fld.show_when is not None)
    key = lambda c: ("axis", axis.form, fld.id, c)  # noqa: E731
    rows = [Row(c, _choice_label(fld, c), (b.count(key(c), per[c]),)) for c in cats]
    rows.append(Row("total", Label(TOTAL), (b.count(total_key, len(records)),), total=True))
    if not axis.multi:
        b.add_sum(total_key, [key(c) for c in cats])
    cond = fld.show_when
    if cond is not None and cond.field in axis_ids:
        # "Not applicable" counts are the other table's counts that fail the condition:
        # written down so protection sees that link between the two tables.
        cond_fld = _form_field(axis.form, cond.field)
        if cond_fld is not None and cond_fld.type == "choice" and cond.op in ("equals", "in"):
            ok = set(cond.value) if cond.op == "in" else {cond.value}
            parts = [("axis", axis.form, cond.field, c)
                     for c in _categories(cond_fld, (), cond_fld.show_when is not None)
                     if c not in ok]
            b.add_sum(key(NA), parts)
        elif cond_fld is not None and cond_fld.type == "multichoice" and cond.op == "includes":
            b.add_sum(total_key, [key(NA), ("axis", axis.form, cond.field, cond.value)])
    notes = [note] + ([Label(MULTI_NOTE)] if axis.multi else [])
    b.tables.append(Table(f"{prefix}_{fld.id}", section, Label(fld.label), Label(fld.label),
                          (Column("n", Label(N_("Niñas, niños y adolescentes"))),),
                          tuple(rows), note=_join(notes)))


def _form_field(form_id: str, field_id: str) -> forms.Field | None:
    form = forms.registry().forms.get(form_id)
    return form.field(field_id) if form is not None and form.has_field(field_id) else None


def _join(notes: list[Label]) -> Label:
    if len(notes) == 1:
        return notes[0]
    return Label.fmt("{a} {b}", a=notes[0], b=_join(notes[1:]))


def _origin(b: _Builder, intake: forms.Form, records: list[dict], served_key) -> None:
    dept: Counter = Counter()
    prov: Counter = Counter()
    for v in records:
        code = next((v[f] for f in ax.ORIGIN_PLACE_FIELDS
                     if isinstance(v.get(f), str) and v.get(f)), None)
        if code:
            dept[code[:2]] += 1
            prov[code[:4] if len(code) >= 4 else code[:2] + NR] += 1
        elif v.get(ax.ORIGIN_COUNTRY_FIELD) not in (None, "", ax.HOME_COUNTRY, "unknown"):
            dept[ABROAD] += 1
            prov[ABROAD] += 1
        else:
            dept[NR] += 1
            prov[NR] += 1
    order = {p.code: n for n, p in enumerate(ubigeo.departments())}
    depts = sorted((d for d in dept if d not in (ABROAD, NR)), key=lambda d: (order.get(d, 99), d))
    tail = [ABROAD, NR]

    def place_name(code: str) -> str:
        place = ubigeo.get(code)
        return place.name if place else code

    def tail_label(c: str) -> Label:
        return Label(N_("Fuera del Perú")) if c == ABROAD else Label(NOT_RECORDED)

    note = Label.fmt("{a} {b}", a=Label(SERVED_NOTE), b=Label(N_(
        "Lugar de residencia habitual; si no está registrado, lugar de nacimiento (ubigeo del "
        "INEI). «Fuera del Perú»: sin lugar en el Perú y con país de origen extranjero.")))
    col = (Column("n", Label(N_("Niñas, niños y adolescentes"))),)
    rows = [Row(d, Label.literal(place_name(d)), (b.count(("dept", d), dept[d]),))
            for d in depts]
    rows += [Row(c, tail_label(c), (b.count(("origin", c), dept[c]),)) for c in tail]
    rows.append(Row("total", Label(TOTAL), (b.count(served_key, len(records)),), total=True))
    b.add_sum(served_key, [("dept", d) for d in depts] + [("origin", c) for c in tail])
    b.tables.append(Table("origen_departamento", SECTIONS.ORIGIN,
                          Label(N_("Departamento de origen")), Label(N_("Departamento")), col,
                          tuple(rows), note=note))

    prow = []
    for d in depts:
        provs = sorted((p for p in prov if p.startswith(d) and p != d + NR),
                       key=lambda p: (place_name(p), p))
        if prov[d + NR]:
            provs.append(d + NR)
        for p in provs:
            label = (Label.fmt(N_("{department}: provincia no registrada"),
                               department=place_name(d)) if p.endswith(NR)
                     else Label.literal(f"{place_name(p)} ({place_name(d)})"))
            prow.append(Row(p, label, (b.count(("prov", p), prov[p]),)))
        b.add_sum(("dept", d), [("prov", p) for p in provs])
    prow += [Row(c, tail_label(c), (b.count(("origin", c), prov[c]),)) for c in tail]
    prow.append(Row("total", Label(TOTAL), (b.count(served_key, len(records)),), total=True))
    b.tables.append(Table("origen_provincia", SECTIONS.ORIGIN, Label(N_("Provincia de origen")),
                          Label(N_("Provincia (departamento)")), col, tuple(prow), note=note,
                          chart=None))   # too many bars to read; the departments are charted


def _in_period(rows: list[tuple[str, str | None, dict]], data: ReportData, start: dt.date,
               end: dt.date) -> list[tuple[str, str, dict]]:
    """The records dated within the period, of residents the report knows."""
    s, e = start.isoformat(), end.isoformat()
    lo, hi = data.services_range
    if (lo is not None and lo > s) or (hi is not None and hi < e):
        raise ValueError("the loaded records do not cover the period")
    # Records come sorted by date (iter_values): the period is one slice, found by bisection.
    days = [day or "" for _r, day, _v in rows]
    lo_i, hi_i = bisect.bisect_left(days, s), bisect.bisect_right(days, e)
    if days != sorted(days):
        lo_i, hi_i = 0, len(days)
    return [(rid, day, v) for rid, day, v in rows[lo_i:hi_i]
            if day is not None and s <= day <= e and rid in data.intakes]


def _services(b: _Builder, data: ReportData, start: dt.date, end: dt.date,
              pops: "Populations") -> None:
    span = _in_period(data.services, data, start, end)
    cols = (Column("services", Label(N_("Atenciones"))),
            Column("children", Label(N_("Niñas, niños y adolescentes atendidos"))))
    note = Label(N_("Atenciones registradas con fecha dentro del periodo. Una niña, niño o "
                    "adolescente se cuenta una vez por fila aunque haya recibido varias "
                    "atenciones; por eso la columna no suma el total."))
    _count_tables(b, ax.axes(ax.SERVICES, forms.registry()), span, pops,
                  ("svc", "svc_kids", "svc_total", "svc_children"), (),
                  ("services", "svc_children"), "atenciones", SECTIONS.SERVICES, cols, note)


def _records(b: _Builder, reg: forms.FormRegistry, data: ReportData, start: dt.date,
             end: dt.date, pops: "Populations") -> None:
    """The other forms kept many times per resident (axes.record_forms): records dated in
    the period by each tabulated choice field — e.g. incidents by type, absences included."""
    cols = (Column("records", Label(N_("Registros"))),
            Column("children", Label(N_("Niñas, niños y adolescentes"))))
    note = Label(N_("Registros con fecha dentro del periodo. Una niña, niño o adolescente se "
                    "cuenta una vez por fila aunque tenga varios registros; por eso la columna "
                    "no suma el total."))
    for form in ax.record_forms(reg):
        found = ax.record_axes(form)
        if not found:
            continue
        span = _in_period(data.records.get(form.form, []), data, start, end)
        _count_tables(b, found, span, pops, ("rec", "rec_kids", "rec_total", "rec_children"),
                      (form.form,), (f"records:{form.form}", f"children_of_records:{form.form}"),
                      form.form, Label(form.title), cols, note)


def _count_tables(b: _Builder, found: list[ax.Axis], span: list[tuple[str, str, dict]],
                  pops: "Populations", heads: tuple[str, str, str, str], scope: tuple,
                  families: tuple[str, str], prefix: str, section: Label,
                  cols: tuple[Column, ...], note: Label) -> None:
    """One table per axis: records and distinct children per category. `heads` name the
    count keys (records, children per category; their two totals), `scope` tells one
    form's keys from another's; `families` name who the counts are about (release log)."""
    n_head, kids_head, total_head, kids_total_head = heads
    rows_in = [(rid, v) for rid, _day, v in span]
    total_key, kids_key = (total_head, *scope), (kids_total_head, *scope)
    kid_ids = {rid for rid, _v in rows_in}
    kids_total = len(kid_ids)
    pops.add_all(families[1], kid_ids)
    if pops.enabled:
        for rid, day, _v in span:
            pops.add(families[0], f"{rid}|{day}")
    for axis in found:
        fld = axis.field
        n: Counter = Counter()
        kids: dict[str, set] = defaultdict(set)
        if fld.show_when is None and fld.type == "choice":   # the common case, made cheap
            fid = fld.id
            for rid, v in rows_in:
                c = v.get(fid) or NR
                n[c] += 1
                kids[c].add(rid)
        else:
            for rid, v in rows_in:
                cat = _value_of(fld, v)
                for c in (set(cat) if isinstance(cat, list) else (cat,)):
                    n[c] += 1
                    kids[c].add(rid)
        cats = _categories(fld, n, fld.show_when is not None)
        rows = []
        for c in cats:
            k1, k2 = (n_head, *scope, fld.id, c), (kids_head, *scope, fld.id, c)
            rows.append(Row(c, _choice_label(fld, c), (b.count(k1, n[c]),
                                                       b.count(k2, len(kids[c])))))
            b.links.append((k2, k1))
        rows.append(Row("total", Label(TOTAL), (b.count(total_key, len(rows_in)),
                                                b.count(kids_key, kids_total)), total=True))
        if not axis.multi:
            b.add_sum(total_key, [(n_head, *scope, fld.id, c) for c in cats])
        notes = [note] + ([Label(MULTI_NOTE)] if axis.multi else [])
        b.tables.append(Table(f"{prefix}_{fld.id}", section, Label(fld.label),
                              Label(fld.label), cols, tuple(rows), note=_join(notes),
                              chart_columns=(0,)))


def _plans(b: _Builder, reg, data: ReportData, served: list[str], end: dt.date,
           pops: "Populations") -> None:
    if reg.by_role(ax.PTI) is None:
        return
    e = end.isoformat()
    s = (end - dt.timedelta(days=PLAN_VALID_DAYS)).isoformat()
    if data.plans_since is not None and data.plans_since > s:
        raise ValueError("the loaded plans do not cover the period")
    latest = {}
    for rid in served:
        dated = [(day, v) for day, v in data.plans.get(rid, ())
                 if day is not None and s <= day <= e]
        if dated:
            latest[rid] = max(dated, key=lambda p: p[0])[1]
    for grid in ax.grid_axes(ax.PTI, reg):
        counts: Counter = Counter()
        for rid in sorted(latest):
            for row in latest[rid].get(grid.table.id) or ():
                pops.add("pti", f"{rid}|{grid.table.id}")
                r = row.get(grid.row.id) or NR
                c = row.get(grid.column.id) or NR
                counts[(r, c)] += 1
        rcats = _categories(grid.row, {r for r, _c in counts}, False)
        ccats = _categories(grid.column, {c for _r, c in counts}, False)
        t = grid.table.id
        rows = []
        for r in rcats:
            cells = [b.count(("pti", t, r, c), counts[(r, c)]) for c in ccats]
            cells.append(b.count(("pti_row", t, r), sum(counts[(r, c)] for c in ccats)))
            b.add_sum(("pti_row", t, r), [("pti", t, r, c) for c in ccats])
            rows.append(Row(r, _choice_label(grid.row, r), tuple(cells)))
        cells = []
        for c in ccats:
            cells.append(b.count(("pti_col", t, c), sum(counts[(r, c)] for r in rcats)))
            b.add_sum(("pti_col", t, c), [("pti", t, r, c) for r in rcats])
        cells.append(b.count(("pti_total", t), sum(counts.values())))
        b.add_sum(("pti_total", t), [("pti_row", t, r) for r in rcats])
        b.add_sum(("pti_total", t), [("pti_col", t, c) for c in ccats])
        rows.append(Row("total", Label(TOTAL), tuple(cells), total=True))
        cols = tuple(Column(c, _choice_label(grid.column, c)) for c in ccats) + (
            Column("total", Label(TOTAL)),)
        b.tables.append(Table(
            f"pti_{t}", SECTIONS.PTI,
            Label.fmt(N_("{table}: {row} por {column}"), table=Label(grid.table.label),
                      row=Label(grid.row.label), column=Label(grid.column.label)),
            Label(grid.row.label), cols, tuple(rows),
            note=Label(N_("Objetivos (no personas) del último PTI de cada niña, niño o "
                          "adolescente atendido, con fecha dentro de los 12 meses anteriores "
                          "al final del periodo."))))


def _followups(b: _Builder, data: ReportData, start: dt.date, end: dt.date,
               pops: "Populations") -> None:
    s, e = start.isoformat(), end.isoformat()
    outcome: Counter = Counter()
    done_dates: dict[str, list[str]] = defaultdict(list)
    for rid, _day, v in data.followups:
        if rid not in data.intakes:
            continue
        done = _iso(v.get(ax.FOLLOWUP_DONE))
        if done:
            done_dates[rid].append(done)
    planned: list[tuple[str, str, str | None]] = []   # (resident, planned day, planned on)
    for rid, _day, v in data.followups:
        if rid not in data.intakes:
            continue
        due, done = _iso(v.get(ax.FOLLOWUP_DUE)), _iso(v.get(ax.FOLLOWUP_DONE))
        if due and s <= due <= e:
            pops.add("followups", f"{rid}|{due}")
            outcome["on_time" if done and done <= due else "late" if done else "not_done"] += 1
        nxt = _iso(v.get(ax.FOLLOWUP_NEXT_DATE))
        if v.get(ax.FOLLOWUP_NEXT_NEEDED) is not False and nxt and s <= nxt <= e:
            planned.append((rid, nxt, done or due))
    for rid, v in data.discharges.items():
        first = _iso(v.get(ax.DISCHARGE_FIRST_FOLLOWUP))
        if rid in data.intakes and first and s <= first <= e:
            planned.append((rid, first, _discharge_day(v)))
    visits: Counter = Counter()
    for rid, _day, since in planned:
        pops.add("visits", f"{rid}|{_day}")
        ok = any((since is None or d > since) and d <= e for d in done_dates.get(rid, ()))
        visits["done" if ok else "overdue"] += 1

    col = (Column("n", Label(N_("Informes"))),)
    specs = [("on_time", N_("Realizado en la fecha prevista o antes")),
             ("late", N_("Vencido: realizado después de la fecha prevista")),
             ("not_done", N_("Vencido o pendiente: sin fecha de realización"))]
    rows = [Row(k, Label(lbl), (b.count(("fu", k), outcome[k]),)) for k, lbl in specs]
    rows.append(Row("total", Label(N_("Total previstos en el periodo")),
                    (b.count(("fu_total",), sum(outcome.values())),), total=True))
    b.add_sum(("fu_total",), [("fu", k) for k, _l in specs])
    b.tables.append(Table("seguimientos_previstos", SECTIONS.FOLLOWUP,
                          Label(N_("Informes de seguimiento con fecha prevista en el periodo")),
                          Label(N_("Situación")), col, tuple(rows),
                          note=Label(N_("Vencidos: los realizados después de la fecha "
                                        "prevista y los que no tienen fecha de realización."))))
    vspecs = [("done", N_("Realizada: hay un informe de seguimiento posterior")),
              ("overdue", N_("Vencida: sin informe de seguimiento posterior"))]
    rows = [Row(k, Label(lbl), (b.count(("visit", k), visits[k]),)) for k, lbl in vspecs]
    rows.append(Row("total", Label(N_("Total programadas en el periodo")),
                    (b.count(("visit_total",), len(planned)),), total=True))
    b.add_sum(("visit_total",), [("visit", k) for k, _l in vspecs])
    b.tables.append(Table("visitas_programadas", SECTIONS.FOLLOWUP,
                          Label(N_("Visitas de seguimiento programadas en el periodo")),
                          Label(N_("Situación")), (Column("n", Label(N_("Visitas"))),),
                          tuple(rows),
                          note=Label(N_("Próximas visitas anotadas en los informes de "
                                        "seguimiento y primeros seguimientos de las fichas de "
                                        "egreso con fecha dentro del periodo. Realizada: la "
                                        "niña, niño o adolescente tiene un informe completado "
                                        "después de la fecha en que se programó y hasta el "
                                        "final del periodo."))))


def _discharge_day(values: dict) -> str | None:
    form = forms.registry().by_role(ax.DISCHARGE)
    return _iso(values.get(form.date_field)) if form else None


def _iso(value) -> str | None:
    """A stored date as "YYYY-MM-DD" (comparable as text), or None."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value   # what validation stores: checked once, not parsed 100,000 times
    d = parse_date(value) if value else None
    return d.isoformat() if d else None


def _day(value) -> dt.date | None:
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return parse_date(value) if value else None


def _stays(b: _Builder, admission, leave, discharged, at_end, end: dt.date) -> None:
    groups = (("discharged", N_("Egresados en el periodo (del ingreso al egreso)"),
               [(leave[r] - admission[r]).days for r in discharged]),
              ("at_end", N_("En acogida al final (del ingreso al último día del periodo)"),
               [(end - admission[r]).days for r in at_end]))
    rows = []
    for gid, label, days in groups:
        days = [d for d in days if d >= 0]
        if days:
            med = statistics.median(days)
            cells: tuple[Cell, ...] = (Cell(int(med) if med == int(med) else med), Cell(min(days)),
                     Cell(max(days)))
        else:
            cells = (Cell(None), Cell(None), Cell(None))
        # The stats of a group are hidden with its count (protect() reads this key).
        cells = tuple(replace(c, key=("stat_of", ("summary", gid))) for c in cells)
        rows.append(Row(gid, Label(label), cells))
    # Minimum and maximum are one child's stay each: on the internal screen only, never in
    # a protected report (protect() drops "internal" columns).
    cols = (Column("median", Label(N_("Mediana (días)")), "stat"),
            Column("min", Label(N_("Mínimo (días)")), "internal"),
            Column("max", Label(N_("Máximo (días)")), "internal"))
    b.tables.append(Table("duracion_estadia", SECTIONS.DISCHARGE,
                          Label(N_("Duración de la estadía")), Label(N_("Grupo")), cols,
                          tuple(rows), chart=None,
                          note=Label(N_("Con menos de 5 niñas, niños o adolescentes en un "
                                        "grupo, su mediana no se publica. Los informes "
                                        "protegidos no muestran mínimo ni máximo: cada uno "
                                        "es la estadía de una sola persona."))))


# ====================================================================== protection

def problem_of(report: Report) -> suppression.Problem:
    """Every count of the report with the sums that tie them (what protection works on)."""
    p = suppression.Problem()
    for t in report.tables:
        for r in t.rows:
            for c, col in zip(r.cells, t.columns):
                if col.kind == "count" and c.key is not None:
                    p.add(c.key, int(cast(float, c.value)))   # a count cell holds a number
    for total, parts in report.sums:
        p.add_sum(total, parts)
    p.links.extend(report.links)
    # The summary's counts are the report's headline: other cells are hidden before them.
    p.fixed = {k for k in p.values if isinstance(k, tuple) and k[0] == "summary"}
    return p


def protect(report: Report, forced: dict | None = None, *,
            marks: dict | None = None) -> Report:
    """The same report with small cells hidden ("<5") and complements ("*") so no hidden
    count can be worked out from the totals. Statistics of groups under 5 are hidden, and
    single-child statistics (internal columns) dropped. `forced`: counts that must be hidden
    too (key -> mark), e.g. because they differ little from an earlier release; `marks`: the
    result of suppression.suppress() when the caller already has it."""
    if report.protected:
        return report
    problem = problem_of(report)
    if marks is None:
        marks = suppression.suppress(problem, forced)
    tables = []
    for t in report.tables:
        keep = [i for i, col in enumerate(t.columns) if col.kind != "internal"]
        if len(keep) != len(t.columns):
            t = replace(t, columns=tuple(t.columns[i] for i in keep),
                        rows=tuple(replace(r, cells=tuple(r.cells[i] for i in keep))
                                   for r in t.rows))
        rows = []
        for r in t.rows:
            cells = []
            for c, col in zip(r.cells, t.columns):
                if col.kind == "count" and c.key is not None:
                    cells.append(replace(c, mark=marks.get(c.key)))
                elif col.kind == "stat" and isinstance(c.key, tuple) and c.key[0] == "stat_of":
                    n = problem.values.get(c.key[1], 0)
                    small = 0 < n < suppression.THRESHOLD
                    cells.append(replace(c, mark=suppression.PRIMARY if small else None))
                else:
                    cells.append(c)
            rows.append(replace(r, cells=tuple(cells)))
        tables.append(replace(t, rows=tuple(rows)))
    return report.with_tables(tables, protected=True)


def shown(cell: Cell, column: Column) -> str:
    """A cell as printed: the count, "<5", "*", or a statistic."""
    if cell.value is None:
        return "—"
    if cell.mark is not None:
        if column.kind == "stat":
            return f"n<{suppression.THRESHOLD}"
        return suppression.display(int(cell.value), cell.mark)
    if isinstance(cell.value, float):
        return f"{cell.value:.1f}"
    return str(cell.value)


# ====================================================================== populations

def member_hash(text: str) -> str:
    """A population member (resident id, or id|date) as 12 hex digits: the release log
    compares populations without holding their ids (collisions: ~1 in 10^9 per pair)."""
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


class Populations:
    """Who (or which records) each family of counts is about: family -> {member: times}.
    Collected only for exports (the release log compares them); a no-op otherwise."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.members: dict[str, Counter] = defaultdict(Counter)
        self._seen: dict[str, dict[str, int]] = defaultdict(dict)

    def add(self, family: str, member: str) -> None:
        """A member that may come more than once (two services the same day): each time is
        its own member ("…#2"), so populations compare as plain sets."""
        if self.enabled:
            fam = self.members[family]
            n = self._seen[family][member] = self._seen[family].get(member, 0) + 1
            fam[member if n == 1 else f"{member}#{n}"] = 1

    def add_all(self, family: str, members: Iterable[str]) -> None:
        if self.enabled:
            self.members[family].update(set(members))


def hashed(populations: dict) -> dict[str, dict[str, int]]:
    """The populations as the release log keeps them: {family: {member hash: times}}."""
    return {fam: dict.fromkeys(map(member_hash, members), 1)
            for fam, members in populations.items()}


def family_of(key) -> str | None:
    """The population a count is about (what two releases are compared on)."""
    if not isinstance(key, tuple) or not key:
        return None
    head = key[0]
    if head == "summary":
        return key[1]
    if head == "stat_of":
        return family_of(key[1])
    if head == "axis":
        return "discharged" if key[1] == ax.form_id(ax.DISCHARGE) else "served"
    if head in ("rec", "rec_total"):
        return f"records:{key[1]}"
    if head in ("rec_kids", "rec_children"):
        return f"children_of_records:{key[1]}"
    return _FAMILIES.get(head)


_FAMILIES = {"month_in": "admitted", "month_out": "discharged", "age": "served",
             "dept": "served", "prov": "served", "origin": "served", "svc": "services",
             "svc_total": "services", "svc_kids": "svc_children",
             "svc_children": "svc_children", "pti": "pti", "pti_row": "pti", "pti_col": "pti",
             "pti_total": "pti", "fu": "followups", "fu_total": "followups",
             "visit": "visits", "visit_total": "visits"}
