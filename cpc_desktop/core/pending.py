"""Pendientes: what is overdue or due soon, per professional and for the whole shelter.

Computed from the forms' declared due dates ("due" in their JSON, docs/forms-format.md) and
from the resident list, through Vault's public reading API only. No form is named here:
forms are found by role. Besides declared dates, three checks on every resident in care:
no service for `quiet_days`, no consent record, turning 18 within `adult_days`.

An item belongs to the professional named in its record's `owner_field` (a table row: its
record's); resident-wide items to the intake's. "" means nobody is named.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from . import forms, profile
from .i18n import N_

WINDOW_DAYS = 7        # "due soon": within this many days from today
QUIET_DAYS = 30        # no service for this many days is worth a look
ADULT_DAYS = 90        # turning 18 within this many days
IN_CARE, DISCHARGED = "in_care", "discharged"

# Resident-wide checks (not declared dates).
NO_SERVICE, NO_CONSENT, COMES_OF_AGE = "no_service", "missing_consent", "turning_adult"
# Kinds counted among residents already discharged; every other kind among those in care.
AFTER_DISCHARGE = {"post_discharge_followup"}
OVERDUE, SOON = "overdue", "soon"

KIND_LABELS = {
    "plan_review": N_("Revisión del PTI"),
    "objective_deadline": N_("Plazo de un objetivo del PTI"),
    "followup_visit": N_("Visita de seguimiento programada"),
    "post_discharge_followup": N_("Seguimiento después del egreso"),
    "protection_measure_review": N_("Revisión de la medida de protección"),
    NO_SERVICE: N_("Sin atenciones recientes"),
    NO_CONSENT: N_("Falta el consentimiento informado"),
    COMES_OF_AGE: N_("Cumple 18 años"),
}
STATE_LABELS = {OVERDUE: N_("Vencido"), SOON: N_("Próximo")}


@dataclass(frozen=True)
class Item:
    kind: str                 # a forms.DUE_KINDS value or NO_SERVICE | NO_CONSENT | COMES_OF_AGE
    state: str                # OVERDUE | SOON
    due: str                  # ISO date the thing was or is due
    resident_id: str
    internal_code: str
    owner: str                # the professional named on the record; "" if none
    form: str | None = None   # where to open it: form id, record date and field
    record_date: str | None = None
    field: str | None = None


@dataclass
class Pending:
    today: str
    window_days: int
    items: list[Item] = field(default_factory=list)

    def of(self, state: str) -> list[Item]:
        return [i for i in self.items if i.state == state]

    def by_owner(self) -> dict[str, list[Item]]:
        """Items per professional, by name ("" last: nobody named)."""
        groups: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            groups[item.owner].append(item)
        return dict(sorted(groups.items(), key=lambda kv: (kv[0] == "", kv[0].casefold())))

    def counts(self, items: list[Item] | None = None) -> dict[str, int]:
        items = self.items if items is None else items
        return {OVERDUE: sum(i.state == OVERDUE for i in items),
                SOON: sum(i.state == SOON for i in items)}

    def as_json(self) -> dict:
        return {"today": self.today, "window_days": self.window_days,
                "shelter": self.counts(),
                "by_professional": {owner: self.counts(items)
                                    for owner, items in self.by_owner().items()},
                "items": [asdict(i) for i in self.items]}


def compute(vault, today: dt.date | None = None, *, window_days: int = WINDOW_DAYS,
            quiet_days: int = QUIET_DAYS, adult_days: int = ADULT_DAYS,
            shelter: str | None = None) -> Pending:
    """Every pending item of the vault (or of one shelter code), most overdue first."""
    today = today or dt.date.today()
    reg: forms.FormRegistry = vault.forms
    residents = {r.id: r for r in vault.residents()}
    soon_until = today + dt.timedelta(days=window_days)
    items: list[Item] = []

    def state_of(due: dt.date) -> str | None:
        if due < today:
            return OVERDUE
        return SOON if due <= soon_until else None

    intake = reg.intake
    intake_owner = _owners(vault, intake, shelter)
    latest = _LatestByRole(vault, reg, shelter)
    for form in reg:
        if not form.due_fields:
            continue
        wanted = [form.date_field, *filter(None, [form.owner_field])]
        for table, fld in form.due_fields:
            wanted.append(table.id if table else fld.id)
            if fld.due.done_when is not None and table is None:
                wanted.append(fld.due.done_when.field)
        for rid, day, values in vault.iter_values(form.form, wanted, shelter=shelter):
            resident = residents.get(rid)
            if resident is None:
                continue
            owner = str(values.get(form.owner_field, "")) if form.owner_field else ""
            for table, fld in form.due_fields:
                due = fld.due
                wanted_status = DISCHARGED if due.kind in AFTER_DISCHARGE else IN_CARE
                if resident.status != wanted_status:
                    continue
                if due.done_by and latest.after(due.done_by, rid, day):
                    continue
                rows = (values.get(table.id) or []) if table else [values]
                for row in rows:
                    when = forms.parse_date(row.get(fld.id)) if isinstance(row, dict) else None
                    if when is None or (due.done_when is not None and due.done_when.holds(row)):
                        continue
                    if due.repeat_days:
                        when = _next_occurrence(when, due.repeat_days, today)
                        state = SOON if when <= soon_until else None
                    else:
                        state = state_of(when)
                    if state:
                        items.append(Item(due.kind, state, when.isoformat(), rid,
                                          resident.internal_code, owner, form.form, day,
                                          fld.id))
    consent, log = reg.by_role("consent"), reg.by_role("services_log")
    consented = latest.residents("consent") if consent else set()
    for r in residents.values():
        if r.status != IN_CARE or r.id not in intake_owner:
            continue
        owner = intake_owner.get(r.id, "")
        here = dict(resident_id=r.id, internal_code=r.internal_code, owner=owner)
        last = forms.parse_date(r.last_service)
        since = last or forms.parse_date(r.admission_date)
        if log and since and (today - since).days >= quiet_days:
            items.append(Item(NO_SERVICE, OVERDUE, (since + dt.timedelta(days=quiet_days))
                              .isoformat(), form=log.form, **here))
        if consent and r.id not in consented:
            admitted = forms.parse_date(r.admission_date) or today
            items.append(Item(NO_CONSENT, OVERDUE, admitted.isoformat(), form=consent.form,
                              **here))
        adult = profile.comes_of_age({profile.DATE_OF_BIRTH: r.date_of_birth})
        if adult and today <= adult <= today + dt.timedelta(days=adult_days):
            items.append(Item(COMES_OF_AGE, SOON, adult.isoformat(), form=intake.form,
                              field=profile.DATE_OF_BIRTH, **here))
    items.sort(key=lambda i: (i.state != OVERDUE, i.due, i.internal_code, i.kind))
    return Pending(today.isoformat(), window_days, items)


def _next_occurrence(start: dt.date, every: int, today: dt.date) -> dt.date:
    """The first date start + k·every (k ≥ 1) on or after today."""
    steps = max(1, -(-(today - start).days // every))
    return start + dt.timedelta(days=steps * every)


def _owners(vault, form: forms.Form, shelter: str | None) -> dict[str, str]:
    """{resident id: the professional named on its intake} for every resident of the shelter."""
    wanted = [form.date_field, *filter(None, [form.owner_field])]
    return {rid: str(v.get(form.owner_field, "")) if form.owner_field else ""
            for rid, _d, v in vault.iter_values(form.form, wanted, shelter=shelter)}


class _LatestByRole:
    """The latest record date per resident of each role's form, read once when first asked."""

    def __init__(self, vault, reg: forms.FormRegistry, shelter: str | None):
        self.vault, self.reg, self.shelter = vault, reg, shelter
        self._dates: dict[str, dict[str, str]] = {}

    def _of(self, role: str) -> dict[str, str]:
        if role not in self._dates:
            form = self.reg.by_role(role)
            latest: dict[str, str] = {}
            if form is not None:
                for rid, day, _v in self.vault.iter_values(form.form, [form.date_field],
                                                           shelter=self.shelter):
                    if day and day > latest.get(rid, ""):
                        latest[rid] = day
            self._dates[role] = latest
        return self._dates[role]

    def after(self, role: str, resident_id: str, day: str | None) -> bool:
        """Whether the resident has a record of this role dated after `day`."""
        return self._of(role).get(resident_id, "") > (day or "")

    def residents(self, role: str) -> set[str]:
        form = self.reg.by_role(role)
        if form is None:
            return set()
        return {rid for rid, _d, _v in self.vault.iter_values(form.form, [form.date_field],
                                                               shelter=self.shelter)}
