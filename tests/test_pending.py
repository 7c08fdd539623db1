"""Pendientes (core/pending.py) on a vault whose due dates are known, relative to today.

Fictional residents, each built to hit one rule: a plan review overdue, an objective due
soon and one already achieved, a plan superseded by a newer one, a planned visit, a
post-discharge follow-up overdue and one done, a protection measure review recurring, no
service for 45 days, no consent record, turning 18 within 90 days.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from cpc_desktop.cli.main import main
from cpc_desktop.core import pending, profile
from tests.conftest import COORDINATOR, create_vault, make_intake_values

TODAY = dt.date.today()
ROSA, JUAN = "Lic. Rosa Ficticia", "Lic. Juan Ficticio"


def d(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


def _service(vault, rid, day, who=ROSA):
    vault.add("registro_atenciones", {"service_date": day, "service_area": "legal",
                                      "professional": who}, rid)


def _consent(vault, rid, day):
    vault.add("consentimiento", {"consent_date": day}, rid)


def _plan(vault, rid, start, review, rows=(), who=ROSA):
    vault.add("pti", {"period_start": start, "review_date": review, "completed_by": who,
                      "cp_case_plan": [dict(r, objective="Objetivo ficticio") for r in rows]},
              rid)


@pytest.fixture(scope="module")
def shelter(tmp_path_factory):
    created = create_vault(tmp_path_factory.mktemp("pending") / "vault")
    vault = created.vault
    born = dt.date(TODAY.year - 18, TODAY.month, min(TODAY.day, 28)) + dt.timedelta(days=30)
    ids = {}
    ids["ana"] = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-100), internal_code="P-ANA", completed_by=ROSA,
        date_of_birth=born.isoformat(), protection_measure_date=d(-175)))
    ids["ana_adult"] = profile.birthday(born, 18).isoformat()
    _consent(vault, ids["ana"], d(-99))
    _service(vault, ids["ana"], d(-2))
    _plan(vault, ids["ana"], d(-60), d(-3), rows=[
        {"deadline": d(4), "status": "pending"},
        {"deadline": d(-10), "status": "achieved"},
        {"deadline": d(20), "status": "in_progress"}])

    ids["beto"] = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-200), internal_code="P-BETO", completed_by=JUAN, sex="male"))
    _service(vault, ids["beto"], d(-45), JUAN)
    _plan(vault, ids["beto"], d(-150), d(-90), who=JUAN)     # superseded by the next plan
    _plan(vault, ids["beto"], d(-20), d(60), who=JUAN)
    vault.add("informe_seguimiento", {"followup_type": "in_care", "child_seen": True,
                                      "actual_date": d(-10), "next_visit_needed": True,
                                      "next_visit_date": d(2), "completed_by": JUAN},
              ids["beto"])

    ids["carla"] = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-300), internal_code="P-CARLA", completed_by=ROSA))
    _plan(vault, ids["carla"], d(-250), d(-1))                # discharged: no longer counts
    vault.add("ficha_egreso", {"discharge_date": d(-30), "discharge_reason": "transfer",
                               "first_followup_date": d(-5), "completed_by": ROSA},
              ids["carla"])

    ids["dora"] = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-300), internal_code="P-DORA", completed_by=JUAN))
    vault.add("ficha_egreso", {"discharge_date": d(-40), "discharge_reason": "transfer",
                               "first_followup_date": d(-8), "completed_by": JUAN}, ids["dora"])
    vault.add("informe_seguimiento", {"followup_type": "after_reintegration", "child_seen": True,
                                      "actual_date": d(-7), "completed_by": JUAN}, ids["dora"])
    yield created, ids
    vault.lock()


def _found(result) -> set[tuple]:
    return {(i.internal_code, i.kind, i.state, i.due, i.owner) for i in result.items}


def test_every_rule_gives_exactly_the_items_known_in_advance(shelter):
    created, ids = shelter
    result = pending.compute(created.vault, TODAY)
    assert _found(result) == {
        ("P-ANA", "plan_review", "overdue", d(-3), ROSA),
        ("P-ANA", "objective_deadline", "soon", d(4), ROSA),
        ("P-ANA", "protection_measure_review", "soon", d(5), ROSA),
        ("P-ANA", "turning_adult", "soon", ids["ana_adult"], ROSA),
        ("P-BETO", "followup_visit", "soon", d(2), JUAN),
        ("P-BETO", "no_service", "overdue", d(-15), JUAN),
        ("P-BETO", "missing_consent", "overdue", d(-200), JUAN),
        ("P-CARLA", "post_discharge_followup", "overdue", d(-5), ROSA),
    }
    assert result.items[0].state == "overdue" and result.items[-1].state == "soon"
    review = next(i for i in result.items if i.kind == "plan_review")
    assert (review.form, review.record_date, review.field) == ("pti", d(-60), "review_date")


def test_counts_per_professional_and_for_the_shelter(shelter):
    created, _ids = shelter
    result = pending.compute(created.vault, TODAY)
    assert result.counts() == {"overdue": 4, "soon": 4}
    per = {who: result.counts(items) for who, items in result.by_owner().items()}
    assert per == {JUAN: {"overdue": 2, "soon": 1}, ROSA: {"overdue": 2, "soon": 3}}


def test_a_shorter_window_and_quiet_period_change_the_answer(shelter):
    created, _ids = shelter
    result = pending.compute(created.vault, TODAY, window_days=3, quiet_days=60)
    kinds = {(i.internal_code, i.kind) for i in result.items}
    assert ("P-BETO", "followup_visit") in kinds                 # in 2 days
    assert ("P-ANA", "objective_deadline") not in kinds          # in 4 days
    assert ("P-BETO", "no_service") not in kinds                 # 45 days < 60


def test_cli_pending_json_matches_the_core(shelter, monkeypatch, capsys):
    created, _ids = shelter
    monkeypatch.setenv("CPC_USER", COORDINATOR.user)
    monkeypatch.setenv("CPC_PASSPHRASE", COORDINATOR.passphrase)
    monkeypatch.setenv("CPC_LANG", "es")
    created.vault.lock()
    try:
        assert main(["pending", "--vault", str(created.path), "--json", "--days", "3"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["window_days"] == 3 and out["today"] == TODAY.isoformat()
        assert out["shelter"] == {"overdue": 4, "soon": 2}
        assert out["by_professional"][JUAN] == {"overdue": 2, "soon": 1}
        assert main(["pending", "--vault", str(created.path)]) == 0
        text = capsys.readouterr().out
        assert "Revisión del PTI" in text and JUAN in text and "P-BETO" in text
        assert "Niña Prueba" not in text, "the list names residents by code, not by name"
    finally:
        created.vault = type(created.vault).open(created.path, COORDINATOR.user,
                                                 COORDINATOR.passphrase)


def test_appointments_and_hearings_are_due_until_what_happened_is_written(tmp_path):
    created = create_vault(tmp_path / "vault")
    vault = created.vault
    rid = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-60), internal_code="P-ELSA", completed_by=ROSA))
    vault.add("ficha_salud", {"opened_date": d(-50), "completed_by": ROSA, "appointments": [
        {"appointment_date": d(3), "specialty": "Odontología"},
        {"appointment_date": d(-6), "specialty": "Pediatría"},             # not written down
        {"appointment_date": d(-9), "specialty": "Oftalmología", "attended": False},
        {"appointment_date": d(30), "specialty": "Control"}]}, rid)
    vault.add("caso_legal", {"opened_date": d(-50), "responsible": JUAN, "hearings": [
        {"hearing_date": d(5), "hearing_type": "Juicio oral"},
        {"hearing_date": d(-4), "hearing_type": "Control de acusación"},   # no outcome yet
        {"hearing_date": d(-20), "hearing_type": "Prisión preventiva",
         "outcome": "Audiencia realizada (texto ficticio)."}]}, rid)
    found = {(i.kind, i.state, i.due, i.owner, i.field, i.row)
             for i in pending.compute(vault, TODAY).items if i.kind in {"appointment", "hearing"}}
    assert found == {
        ("appointment", "soon", d(3), ROSA, "appointment_date", 0),
        ("appointment", "overdue", d(-6), ROSA, "appointment_date", 1),
        ("hearing", "soon", d(5), JUAN, "hearing_date", 0),
        ("hearing", "overdue", d(-4), JUAN, "hearing_date", 1),
    }
    vault.lock()


def test_reading_only_the_listable_dates_finds_what_reading_every_date_finds(shelter,
                                                                            monkeypatch):
    """The indexed read (a row's first listable day, a repeating date's day in its cycle)
    against a read of every stored date, over a year and a half of days."""
    created, _ids = shelter
    days = [TODAY + dt.timedelta(days=n) for n in range(-200, 400, 3)]
    fast = [pending.compute(created.vault, day).items for day in days]
    monkeypatch.setattr(pending, "_LISTABLE", pending._ALL)
    assert [pending.compute(created.vault, day).items for day in days] == fast
    assert any(i.kind == "protection_measure_review" for items in fast for i in items)
    assert sum(map(len, fast)) > 3 * len(days)


def test_a_first_screen_is_the_top_of_the_whole_list_with_every_count(shelter):
    created, _ids = shelter
    vault = created.vault
    if not any(u.name == "juan.ficticio" for u in vault.users()):
        vault.add_user("juan.ficticio", "professional", "otra frase ficticia 2024",
                       display_name="Juan Ficticio")
    whole = pending.compute(vault, TODAY)
    first = pending.compute(vault, TODAY, first=3)
    assert whole.complete and not first.complete
    assert first.items == whole.items[:3]
    assert first.owner_counts() == whole.owner_counts() == {
        JUAN: {"overdue": 2, "soon": 1}, ROSA: {"overdue": 2, "soon": 3}}
    juan = [i for i in whole.items if i.user == "juan.ficticio"]
    assert len(juan) == 3
    assert pending.compute(vault, TODAY, first=2, owned_by="juan.ficticio").items == juan[:2]
    assert first.counts_of("juan.ficticio") == whole.counts_of("juan.ficticio") == {
        "overdue": 2, "soon": 1}
    assert first.counts_of() == whole.counts_of() == whole.counts()
    assert pending.compute(vault, TODAY, first=2, owned_by="nadie").items == []
