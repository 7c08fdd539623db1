"""Which fields a report breaks counts down by: read from the form definitions.

Every choice and multiple-choice field of the intake, the discharge and the services log is
an axis, in form order, except fields the form marks "tabulate": false (about staff or
paperwork, not about the child). Forms are found by their declared role, never by id.
Choice columns of the care plan's tables (objective area × status) give its 2-D table.
Labels, choices and their order all come from the definitions, so a field added to a form
appears in the report without code.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core import forms

# The roles (core/forms.py ROLES) of the forms a report reads.
INTAKE, DISCHARGE, SERVICES, PTI, FOLLOWUP = ("intake", "discharge", "services_log",
                                              "care_plan", "followup")
# The Compact's own axes come first in the profile section; the rest follow in form order.
COMPACT_FIRST = ("sex", "exploitation_types", "referral_source", "mother_tongue")
# The intake field crossed with age bands (the Compact's age × sex table).
CROSS_FIELD = "sex"

# Place of origin: the habitual residence, else the place of birth (ubigeo); a child with
# neither and a foreign country of origin counts as "outside Peru"; otherwise "not recorded".
# Residence first because it is where the child was living when recruited, which is what
# the Compact's "place of origin" tracks; the place of birth fills in when it is missing.
ORIGIN_PLACE_FIELDS = ("place_of_residence", "place_of_birth")
ORIGIN_COUNTRY_FIELD = "country_of_origin"
HOME_COUNTRY = "peru"

# Follow-up dates: the form cannot say which date means what, so this list does.
FOLLOWUP_DUE, FOLLOWUP_DONE = "due_date", "actual_date"
FOLLOWUP_NEXT_NEEDED, FOLLOWUP_NEXT_DATE = "next_visit_needed", "next_visit_date"
DISCHARGE_FIRST_FOLLOWUP = "first_followup_date"

# Age bands at admission: (lowest age, highest age or None, id); labels are msgids.
AGE_BANDS = ((0, 11, "0_11"), (12, 14, "12_14"), (15, 17, "15_17"), (18, None, "18_plus"))


@dataclass(frozen=True)
class Axis:
    form: str
    field: forms.Field

    @property
    def multi(self) -> bool:
        return self.field.type == "multichoice"


@dataclass(frozen=True)
class GridAxis:
    """A table field's two choice columns: rows × columns of a 2-D count of its rows."""
    form: str
    table: forms.Field
    row: forms.Field
    column: forms.Field


# Roles whose choice fields are tabulated one by one, and roles whose tables give 2-D grids.
AXIS_ROLES = (INTAKE, DISCHARGE, SERVICES)
GRID_ROLES = (PTI,)


def form_id(role: str, reg: forms.FormRegistry | None = None) -> str | None:
    """The id of the form with this role, or None when the deployment has none."""
    form = (reg or forms.registry()).by_role(role)
    return form.form if form else None


def axes(role: str, reg: forms.FormRegistry | None = None) -> list[Axis]:
    """The choice fields of the form with this role that the report tabulates, in order."""
    reg = reg or forms.registry()
    form = reg.by_role(role)
    if form is None or role not in AXIS_ROLES:
        return []
    found = [Axis(form.form, f) for f in form.fields
             if f.type in ("choice", "multichoice") and f.tabulate]
    if role == INTAKE:
        first = {fid: n for n, fid in enumerate(COMPACT_FIRST)}
        found.sort(key=lambda a: first.get(a.field.id, len(first)))  # stable: form order
    return found


def grid_axes(role: str, reg: forms.FormRegistry | None = None) -> list[GridAxis]:
    """Table fields with at least two choice columns: the first two make a 2-D table."""
    reg = reg or forms.registry()
    form = reg.by_role(role)
    if form is None or role not in GRID_ROLES:
        return []
    out = []
    for f in form.fields:
        if f.type != "table":
            continue
        choice_cols = [c for c in f.columns if c.type == "choice"]
        if len(choice_cols) >= 2:
            out.append(GridAxis(form.form, f, choice_cols[0], choice_cols[1]))
    return out


def fields_needed(role: str, reg: forms.FormRegistry | None = None) -> list[str]:
    """Field ids a report reads from the form with this role: its axes and the fields their
    conditions look at (so "not applicable" can be told from "not recorded")."""
    reg = reg or forms.registry()
    form = reg.by_role(role)
    if form is None:
        return []
    return _needed(form, axes(role, reg), [g.table.id for g in grid_axes(role, reg)])


def _needed(form: forms.Form, found: list[Axis], tables: list[str]) -> list[str]:
    out = [form.date_field]
    for a in found:
        out.append(a.field.id)
        if a.field.show_when is not None:
            out.append(a.field.show_when.field)
    out += tables
    return [f for f in dict.fromkeys(out) if form.has_field(f)]


# Roles a report reads in sections of their own (or never counts: consent). Every other form
# kept many times per resident — a register (visits, incidents) or a dated report (informe
# social, protection measure…) — gets one table per tabulated choice field: its records
# dated in the period. So a form added to resources/forms is counted without code.
OWN_SECTION_ROLES = (INTAKE, DISCHARGE, SERVICES, PTI, FOLLOWUP, "consent")


def record_forms(reg: forms.FormRegistry | None = None) -> list[forms.Form]:
    """The forms counted as records, in the order of their printed codes."""
    reg = reg or forms.registry()
    return sorted((f for f in reg if f.per_resident == "many"
                   and f.role not in OWN_SECTION_ROLES), key=lambda f: (f.code, f.form))


def record_axes(form: forms.Form) -> list[Axis]:
    """The choice fields of a record form that the report tabulates, in form order."""
    return [Axis(form.form, f) for f in form.fields
            if f.type in ("choice", "multichoice") and f.tabulate]


def record_fields_needed(form: forms.Form) -> list[str]:
    return _needed(form, record_axes(form), [])
