"""Alerts on a resident ("no contactar a…", "riesgo de fuga", "audiencia el …"): the lines
of the intake form's `alerts` field. A form field, so sync carries it like any other and its
history says who wrote each; shown in the resident's header and in the list."""
from __future__ import annotations

FIELD = "alerts"


def lines(text) -> list[str]:
    """The alerts written in the field, one per non-empty line."""
    if not isinstance(text, str):
        return []
    return [line.strip(" •-\t") for line in text.splitlines() if line.strip(" •-\t")]


def by_resident(vault) -> dict[str, list[str]]:
    """{resident id: alerts} for every resident that has any (one read of the field)."""
    intake = vault.forms.intake
    if not intake.has_field(FIELD):
        return {}
    out = {}
    for rid, _day, values in vault.iter_values(intake.form, [FIELD]):
        found = lines(values.get(FIELD))
        if found:
            out[rid] = found
    return out
