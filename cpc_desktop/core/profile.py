"""The resident's profile: who the child is (identity) and how old, read from the intake.

The one place that knows the intake's field ids for birth date and age. Identity fields
(those that tell one child from another, for joins and duplicate checks) are declared in the
intake's JSON ("identity"); their labels come from the form, never retyped.
"""
from __future__ import annotations

import datetime as dt

from . import forms
from .forms import parse_date

DATE_OF_BIRTH = "date_of_birth"
AGE = "age"                     # the recorded (estimated) age when the birth date is unknown
AGE_FIELDS = (DATE_OF_BIRTH, AGE)
ADULT_AGE = 18


def age_on(values: dict, on: dt.date) -> int | None:
    """Age in whole years from date of birth, else the recorded (estimated) age."""
    dob = parse_date(values.get(DATE_OF_BIRTH))
    if dob:
        return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
    age = values.get(AGE)
    return int(age) if isinstance(age, (int, float)) and not isinstance(age, bool) else None


def birthday(dob: dt.date, age: int) -> dt.date:
    """The day a child born on dob turns age (29 February: 1 March in common years)."""
    try:
        return dob.replace(year=dob.year + age)
    except ValueError:
        return dt.date(dob.year + age, 3, 1)


def comes_of_age(values: dict) -> dt.date | None:
    """The day the child turns 18, when the birth date is known (an estimated age gives none)."""
    dob = parse_date(values.get(DATE_OF_BIRTH))
    return birthday(dob, ADULT_AGE) if dob else None


def identity_fields(reg: forms.FormRegistry | None = None) -> tuple[str, ...]:
    """The intake fields declared to identify a child, in declared order."""
    return (reg or forms.registry()).intake.identity


def label(field_id: str, reg: forms.FormRegistry | None = None) -> str:
    """The intake's Spanish msgid for one of its fields (translate it with _())."""
    return (reg or forms.registry()).intake.field(field_id).label
