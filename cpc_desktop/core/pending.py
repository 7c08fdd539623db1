"""Pendientes: what is overdue or due soon, per professional and for the whole shelter.

Two halves. `due_rows()` derives, for one resident, the dates that can make something due
from the forms' declarations ("due" in their JSON, docs/forms-format.md): core/records_store.py
calls it on every write of the resident's records (local or synced) and keeps the rows in the
due_dates table. `compute()` reads that table through Vault's public reading API and compares
the dates with today: one query, no pass over the records. No form is named here: forms are
found by role. Besides declared dates, three checks on every resident in care: no service for
`quiet_days`, no consent record, turning 18 within `adult_days`.

An item belongs to the professional named in its record's `owner_field` (a table row: its
record's); resident-wide items to the intake's. "" means nobody is named; `owner_users()`
matches that name to a vault user for "Mis pendientes".
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from . import forms, formversions, profile
from .i18n import N_
from .users import Action, without_title

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
    "appointment": N_("Cita de salud"),
    "hearing": N_("Audiencia"),
    NO_SERVICE: N_("Sin atenciones recientes"),
    NO_CONSENT: N_("Falta el consentimiento informado"),
    COMES_OF_AGE: N_("Cumple 18 años"),
}
STATE_LABELS = {OVERDUE: N_("Vencido"), SOON: N_("Próximo")}


class Item(NamedTuple):    # a tuple: 12,000 of them are made in a few milliseconds
    kind: str                 # a forms.DUE_KINDS value or NO_SERVICE | NO_CONSENT | COMES_OF_AGE
    state: str                # OVERDUE | SOON
    due: str                  # ISO date the thing was or is due
    resident_id: str
    internal_code: str
    owner: str                # the professional named on the record; "" if none
    form: str | None = None   # where to open it: form id, record date and field
    record_date: str | None = None
    field: str | None = None
    record_id: str | None = None  # the record holding the date (None: resident-wide)
    row: int | None = None        # its table row, for a date in a table
    user: str = ""                # the vault user `owner` names (see owner_users); "" if none


@dataclass
class Pending:
    today: str
    window_days: int
    items: list[Item] = field(default_factory=list)
    # {resident id: (first name, last name, nickname)} of the residents listed, for a window
    # that shows names (never in as_json: the CLI lists codes).
    names: dict[str, tuple[str, str, str]] = field(default_factory=dict, repr=False)
    # A first screen (compute(first=n)): `items` are only the first ones, and `totals`
    # counts every item per owner name and state. None: `items` are all of them.
    totals: dict[str, dict[str, int]] | None = None
    owner_user: dict[str, str] = field(default_factory=dict, repr=False)  # of totals' owners

    @property
    def complete(self) -> bool:
        return self.totals is None

    def owner_counts(self) -> dict[str, dict[str, int]]:
        """{owner name: {state: n}} of every item, also of a first screen's."""
        if self.totals is not None:
            return self.totals
        out: dict[str, dict[str, int]] = defaultdict(lambda: {OVERDUE: 0, SOON: 0})
        for item in self.items:
            out[item.owner][item.state] += 1
        return dict(out)

    def counts_of(self, user: str | None = None) -> dict[str, int]:
        """The counts of every item (of those whose owner names the vault user `user`),
        also of a first screen's."""
        if self.totals is None:
            return self.counts(self.items if user is None else
                               [i for i in self.items if i.user == user])
        out = {OVERDUE: 0, SOON: 0}
        for owner, counts in self.totals.items():
            if user is None or self.owner_user.get(owner) == user:
                for state in out:
                    out[state] += counts[state]
        return out

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
                "items": [i._asdict() for i in self.items]}


def compute(vault, today: dt.date | None = None, *, window_days: int = WINDOW_DAYS,
            quiet_days: int = QUIET_DAYS, adult_days: int = ADULT_DAYS,
            shelter: str | None = None, first: int | None = None,
            owned_by: str | None = None) -> Pending:
    """Every pending item of the vault (or of one shelter code), most overdue first.

    Reads the table of dates the records store keeps (`due_rows`, recomputed per resident on
    each write): one indexed query, with today's date applied here, so an item moves from
    "due soon" to "overdue" as days pass without any write.

    `first`: a first screen — only the first n items (of those whose owner names the vault
    user `owned_by`, when given) and the count of all per owner (`Pending.totals`): what the
    window paints at once, while the whole list (12,000 items at 10,000 residents) is read."""
    today = today or dt.date.today()
    vault.require(Action.READ)
    with vault.reading():   # both reads in one go: a long read elsewhere cannot come between
        stale = vault.meta().get(SIGNATURE_KEY) != signature(vault.forms)
        if stale:
            # The forms' due declarations changed (a program update): rebuild once.
            with vault.writing() as conn:
                vault.store.rebuild_due(conn)
        iso = today.isoformat()
        args = {"today": iso, "quiet": f"+{quiet_days} days",
                "quiet_before": (today - dt.timedelta(days=quiet_days)).isoformat(),
                "adult": (today + dt.timedelta(days=adult_days)).isoformat(),
                "soon": (today + dt.timedelta(days=window_days)).isoformat(),
                "shelter": shelter}
        where = " AND d.shelter = :shelter" if shelter is not None else ""
        if window_days <= WINDOW_DAYS and quiet_days >= QUIET_DAYS and adult_days <= ADULT_DAYS:
            periods = {f.due.repeat_days for form in vault.forms for _t, f in form.due_fields
                       if f.due and f.due.repeat_days}
            args["phases"] = json.dumps(sorted({(today + dt.timedelta(days=n)).toordinal() % p
                                                for p in periods
                                                for n in range(window_days + 1)}))
            sources: tuple[str, ...] = _LISTABLE
        else:
            sources = _ALL

        def select(owners: str = "") -> str:
            return "\nUNION ALL\n".join(_SELECT.format(source=src.format(shelter=where),
                                                       owners=owners) for src in sources)

        totals: dict[str, dict[str, int]] | None = None
        owned, limit = "", ""
        users = owner_users(vault.users())
        if first is not None:
            totals = defaultdict(lambda: {OVERDUE: 0, SOON: 0})
            for owner, state, n in vault.read(f"SELECT owner, state, count(*) FROM "
                                              f"({select()}) GROUP BY owner, state", args):
                totals[owner][state] = n
            if owned_by is not None:
                args["owners"] = json.dumps([o for o in totals if users(o) == owned_by])
                owned = _OWNED
            limit = f" LIMIT {int(first)}"
        rows = vault.read(f"{select(owned)}\n{_ORDER}{limit}", args)
    # (state comes first in SQL)
    items = [Item(r[1], r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], users(r[5]))
             for r in rows]
    names = {r[3]: r[11:14] for r in rows}
    if totals is None:
        return Pending(iso, window_days, items, names)
    return Pending(iso, window_days, items, names, dict(totals),
                   {owner: users(owner) for owner in totals})


def _folded_name(text: str) -> str:
    from .records_store import fold  # (the store imports this module)

    return without_title(fold(text))


def owner_users(users) -> Callable[[str], str]:
    """owner name as typed on a record -> the vault user it names ("" when none or more than
    one): matched on the user's display name or login, ignoring case, accents, spacing and a
    leading title (Lic., Psic., Dra.…). Records keep the typed name, so records written
    before a user existed, or naming someone outside the vault, keep working: they show
    under the name, in "Todo el centro"."""
    by_name: dict[str, set[str]] = defaultdict(set)
    for u in users:
        if u.active:
            for name in (u.display_name, u.name):
                if name:
                    by_name[_folded_name(name)].add(u.name)
    memo: dict[str, str] = {}

    def user_of(owner: str) -> str:
        if owner not in memo:
            found = by_name.get(_folded_name(owner), set()) if owner.strip() else set()
            memo[owner] = next(iter(found)) if len(found) == 1 else ""
        return memo[owner]
    return user_of


# What is due today, from the stored dates, in SQL (12,000 items: no Python date work per
# row). `shown` is the date an item shows: a check's anchor moved by its period, a repeating
# date's next occurrence (k ≥ 1 periods on from it, on or after today). The rows hold the
# resident's code and names and only its current status (the store keeps them so): no join.
_SELECT = f"""
SELECT CASE WHEN kind IN ('{NO_SERVICE}', '{NO_CONSENT}') THEN '{OVERDUE}'
            WHEN repeat_days IS NOT NULL OR kind = '{COMES_OF_AGE}' OR shown >= :today
            THEN '{SOON}' ELSE '{OVERDUE}' END AS state,
       kind, shown, resident_id, internal_code, owner, form, record_date, field, record_id,
       row, name_first, name_last, name_nickname
FROM (SELECT d.kind,
             CASE WHEN d.kind = '{NO_SERVICE}' THEN date(d.due, :quiet)
                  WHEN d.due = '' THEN :today
                  WHEN d.repeat_days IS NOT NULL THEN date(d.due, '+' || (d.repeat_days * max(1,
                       (CAST(julianday(:today) - julianday(d.due) AS INTEGER) + d.repeat_days - 1)
                       / d.repeat_days)) || ' days')
                  ELSE d.due END AS shown,
             d.resident_id, d.internal_code, d.owner, d.form, d.record_date, d.field,
             d.record_id, d.row, d.name_first, d.name_last, d.name_nickname, d.due AS stored,
             d.repeat_days
      FROM {{source}})
WHERE CASE WHEN kind = '{NO_SERVICE}' THEN stored <= :quiet_before
           WHEN kind = '{COMES_OF_AGE}' THEN stored BETWEEN :today AND :adult
           ELSE shown <= :soon END{{owners}}"""
# (over a UNION ALL only output columns may be named: "overdue" sorts before "soon")
_ORDER = "ORDER BY state, shown, internal_code, kind, record_id, field, row"
_OWNED = " AND owner IN (SELECT value FROM json_each(:owners))"
# Where the rows come from: every row, or (for the default periods or narrower ones) only
# those that can be listed today, through two indexes: a one-off date from which a row can
# be listed (`listed_from`; the index holds every column read, so only its pages for today's
# rows are decrypted), and for a repeating date its day in the cycle (`phase`).
_ALL = ("due_dates d WHERE 1{shelter}",)
_LISTABLE = ("due_dates d INDEXED BY due_dates_listed WHERE d.repeat_days IS NULL AND "
             "d.listed_from <= :today{shelter}",
             "due_dates d INDEXED BY due_dates_phase WHERE d.repeat_days IS NOT NULL AND "
             "d.phase IN (SELECT value FROM json_each(:phases)){shelter}")


def listed_from(kind: str, due: str, repeat_days: int | None) -> str:
    """The first day a stored date can show (with the default periods); "" for always.
    Repeating dates are found by `phase` instead."""
    day = forms.parse_date(due)
    if day is None or repeat_days is not None:
        return ""
    if kind == NO_SERVICE:
        return (day + dt.timedelta(days=QUIET_DAYS)).isoformat()
    return (day - dt.timedelta(days=ADULT_DAYS if kind == COMES_OF_AGE else WINDOW_DAYS)
            ).isoformat()


def phase(due: str, repeat_days: int | None) -> int | None:
    """A repeating date's day in its cycle: an occurrence falls on a day of the same phase."""
    day = forms.parse_date(due)
    return day.toordinal() % repeat_days if day is not None and repeat_days else None


# ------------------------------------------------------------------ the stored dates
# due_dates columns, as records_store writes them (core/schema.py creates the table).
DUE_COLUMNS = ("resident_id", "kind", "due", "repeat_days", "status", "owner", "form",
               "record_id", "record_date", "field", "row", "shelter", "listed_from", "phase",
               "internal_code", "name_first", "name_last", "name_nickname")
SIGNATURE_KEY = "due_signature"


@dataclass(frozen=True)
class Written:
    """A record as due_rows reads it (the store passes the resident's and those joined into
    it, not deleted)."""
    id: str
    form: str
    record_date: str | None
    shelter: str
    values: dict


def signature(reg: forms.FormRegistry) -> str:
    """What the stored dates were derived from: when it changes, they are derived again."""
    parts = [VERSION]
    for form in sorted(reg, key=lambda f: f.form):
        parts.append(repr((form.form, form.version, form.steps, form.role, form.owner_field,
                           form.date_field, form.opens_resident,
                           [(t.id if t else None, f.id, f.due) for t, f in form.due_fields])))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


VERSION = "2"   # of the derivation below


def due_forms(reg: forms.FormRegistry) -> list[str]:
    """The forms whose records due_rows reads."""
    wanted = {f.form for f in reg if f.due_fields}
    for form in reg:
        for _t, fld in form.due_fields:
            done_by = reg.by_role(fld.due.done_by) if fld.due and fld.due.done_by else None
            if done_by is not None:
                wanted.add(done_by.form)
    consent = reg.by_role("consent")
    if consent is not None:
        wanted.add(consent.form)
    return sorted(wanted)


def due_rows(reg: forms.FormRegistry, resident_id: str, intake: Written,
             last_service: str | None, records: list[Written], status: str,
             names: tuple[str, str, str, str]) -> list[tuple]:
    """The due_dates rows of one resident (DUE_COLUMNS), from its intake and the records of
    it and of the residents joined into it: every declared date not already done (a later
    record of the `done_by` role, a row meeting `done_when`), and the anchors of the
    resident-wide checks — those that count for its `status` (in care or discharged), with
    its (code, first name, last name, nickname). Dates are compared with today when read."""
    latest: dict[str, str] = {}
    for rec in records:
        if (rec.record_date or "") > latest.get(rec.form, ""):
            latest[rec.form] = rec.record_date or ""
    out: list[tuple] = []
    for rec in records:
        form = reg.forms.get(rec.form)
        if form is None or not form.due_fields:
            continue
        values = rec.values
        if form.moves_values and formversions.version_of(values) < form.version:
            values = form.upgrade(values).values   # its dates may have other names
        owner = str(values.get(form.owner_field, "")) if form.owner_field else ""
        for table, fld in form.due_fields:
            due = fld.due
            if due is None:
                continue
            if due.done_by:
                by = reg.by_role(due.done_by)
                if by is not None and latest.get(by.form, "") > (rec.record_date or ""):
                    continue
            rows = (values.get(table.id) or []) if table else [values]
            for n, row in enumerate(rows):
                when = forms.parse_date(row.get(fld.id)) if isinstance(row, dict) else None
                if when is None or (due.done_when is not None and due.done_when.holds(row)):
                    continue
                out.append((resident_id, due.kind, when.isoformat(), due.repeat_days,
                            DISCHARGED if due.kind in AFTER_DISCHARGE else IN_CARE, owner,
                            form.form, rec.id, rec.record_date, fld.id,
                            n if table else None, rec.shelter))
    form = reg.intake
    owner = str(intake.values.get(form.owner_field, "")) if form.owner_field else ""

    def wide(kind: str, day: str, form_id: str | None, fld: str | None = None) -> tuple:
        return (resident_id, kind, day, None, IN_CARE, owner, form_id, None, None, fld, None,
                intake.shelter)

    consent, log = reg.by_role("consent"), reg.by_role("services_log")
    admitted = forms.parse_date(intake.values.get("admission_date"))
    since = forms.parse_date(last_service) or admitted
    if log and since:
        out.append(wide(NO_SERVICE, since.isoformat(), log.form))
    if consent and not any(r.form == consent.form for r in records):
        out.append(wide(NO_CONSENT, admitted.isoformat() if admitted else "", consent.form))
    adult = profile.comes_of_age(intake.values)
    if adult:
        out.append(wide(COMES_OF_AGE, adult.isoformat(), form.form, profile.DATE_OF_BIRTH))
    return [(*row, listed_from(row[1], row[2], row[3]), phase(row[2], row[3]), *names)
            for row in out if row[4] == status]


def _next_occurrence(start: dt.date, every: int, today: dt.date) -> dt.date:
    """The first date start + k·every (k ≥ 1) on or after today."""
    steps = max(1, -(-(today - start).days // every))
    return start + dt.timedelta(days=steps * every)
