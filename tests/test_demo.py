"""Demo data: reproducible, valid against the forms, plausible, and loadable in chunks."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter

import pytest

from cpc_desktop import demo
from cpc_desktop.core import forms, ubigeo
from cpc_desktop.core.users import Role
from cpc_desktop.core.vault import Vault, fold

# Generated values depend on the seed, the counts and "today": fix today so runs compare.
TODAY = dt.date(2026, 1, 15)


def gen(seed=1, residents=30, spr=5, today=TODAY):
    return list(demo.generate(seed, residents, spr, today=today))


def all_records(residents):
    return [(form, values) for r in residents for form, values in r.items()]


# ---------------------------------------------------------------- pure generation

def test_same_seed_same_values_and_another_seed_other_values():
    first = gen(seed=7)
    assert gen(seed=7) == first
    other = gen(seed=8)
    assert other != first
    assert [r.intake["name_first"] for r in other] != [r.intake["name_first"] for r in first]


def test_generation_is_lazy_and_pure():
    it = demo.generate(1, 5, 2, today=TODAY)
    assert not isinstance(it, list)
    assert next(iter(it)).number == 1


def test_every_generated_record_validates_unchanged():
    reg = forms.registry()
    for seed in (1, 2, 3):
        for form_id, values in all_records(gen(seed=seed, residents=120, spr=4)):
            clean = reg.get(form_id).validate(values)   # raises on any problem
            # Nothing hidden, empty, unknown or out of order: what is generated is what is stored.
            assert clean == values, form_id


def test_choice_values_are_read_from_the_definitions():
    """Every choice, multichoice and table choice value is one the form offers."""
    reg = forms.registry()

    def check(fields, values):
        for f in fields:
            v = values.get(f.id)
            if v is None:
                continue
            known = {c.value for c in f.choices}
            if f.type == "choice":
                assert v in known, (f.id, v)
            elif f.type == "multichoice":
                assert set(v) <= known, (f.id, v)
            elif f.type == "table":
                for row in v:
                    check(f.columns, row)
            elif f.type == "place":
                assert ubigeo.is_valid(v), (f.id, v)

    for form_id, values in all_records(gen(seed=4, residents=80, spr=3)):
        check(reg.get(form_id).fields, values)


@pytest.mark.parametrize("residents,spr", [(37, 3), (10, 0), (0, 5), (25, None)])
def test_counts_match_parameters(residents, spr):
    people = gen(residents=residents, spr=spr)
    counts = Counter(form for form, _v in all_records(people))
    assert len(people) == counts["ficha_ingreso"] == residents
    expected = residents * (demo.DEFAULT_SERVICES_PER_RESIDENT if spr is None else spr)
    assert counts["registro_atenciones"] == expected
    assert counts["ficha_egreso"] <= residents
    assert [r.number for r in people] == list(range(1, residents + 1))


def test_residents_are_plausible():
    people = gen(seed=5, residents=600, spr=2)
    start = TODAY - dt.timedelta(days=demo.HISTORY_DAYS)
    codes = set()
    female = discharged = with_dob = multi = 0
    for r in people:
        v = r.intake
        admission = dt.date.fromisoformat(v["admission_date"])
        assert start <= admission <= TODAY
        age = forms.age_on(v, admission)
        assert 8 <= age <= 17
        with_dob += "date_of_birth" in v
        female += v["sex"] == "female"
        multi += len(v["exploitation_types"]) > 1
        assert re.fullmatch(rf"DEMO-LOR-{admission.year}-\d{{4}}", v["internal_code"])
        assert v["internal_code"] not in codes
        codes.add(v["internal_code"])
        assert 1 <= len(v["family_details"]) <= 4
        for row in v["family_details"]:
            if row.get("must_not_know_location"):
                assert row.get("may_contact") is False
        end = TODAY
        for form, values in r.records:
            if form == "ficha_egreso":
                discharged += 1
                end = dt.date.fromisoformat(values["discharge_date"])
                assert admission <= end <= TODAY
        for form, values in r.records:
            if form == "registro_atenciones":
                assert admission <= dt.date.fromisoformat(values["service_date"]) <= end
            if form == "pti":
                assert 3 <= len(values["cp_case_plan"]) <= 7
        dates = [dt.date.fromisoformat(vals[forms.registry().get(f).date_field])
                 for f, vals in r.records]
        assert dates == sorted(dates)
        assert all(d <= TODAY for d in dates)
    assert 0.68 < female / len(people) < 0.82
    assert 0.2 < discharged / len(people) < 0.4
    assert 0.7 < with_dob / len(people) < 0.9
    assert multi > 0.1 * len(people)
    mother_tongues = Counter(r.intake["mother_tongue"] for r in people)
    assert {"spanish", "quechua_cusco_collao", "kichwa", "awajun", "shawi"} <= set(mother_tongues)
    departments = Counter(r.intake.get("place_of_birth", "")[:2] for r in people)
    assert departments["16"] + departments["08"] > 0.6 * len(people)
    places = Counter(r.intake.get("place_of_exploitation", "")[:2] for r in people)
    assert places["17"] > 0   # Madre de Dios mining districts


def test_names_exercise_accents_and_are_marked_fictional():
    people = gen(seed=1, residents=200, spr=0)
    names = " ".join(f"{r.intake['name_first']} {r.intake['name_last']}" for r in people)
    assert any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", names))
    assert "ñ" in names.lower()
    for r in people:
        nickname = r.intake.get("name_nickname", "")
        assert nickname == "" or len(nickname) <= 12
        for form, values in r.items():
            if "completed_by" in values:
                assert "Demo" in values["completed_by"]
            for key in ("document_number", "guardian_document_number",
                        "receiving_adult_document_number"):
                if key in values:
                    assert values[key].startswith("DEMO-")


# ---------------------------------------------------------------- writing to a vault

def test_create_demo_vault_opens_for_its_three_users(tmp_path):
    path = tmp_path / "demo"
    vault, recovery = demo.create_demo_vault(path, residents=15, kdf_seconds=0, today=TODAY)
    try:
        assert recovery
        assert (vault.shelter_code, vault.shelter_name) == demo.DEMO_SHELTER
        stats = vault.stats()
        assert stats["ficha_ingreso"] == 15
        assert stats["registro_atenciones"] == 15 * demo.DEFAULT_SERVICES_PER_RESIDENT
        residents = vault.residents()
        assert len({r.internal_code for r in residents}) == 15
        assert all(r.internal_code.startswith("DEMO-LOR-") for r in residents)
        # Search folds accents: an accented generated name is found by its bare form.
        accented = next(word for r in residents
                        for word in f"{r.name_first} {r.name_last}".split()
                        if fold(word) != word.lower() and word.isalpha())
        found = vault.search(fold(accented))
        assert found and all(accented in f"{r.name_first} {r.name_last}" for r in found)
        assert vault.check().ok
    finally:
        vault.lock()
    roles = {"demo": Role.COORDINATOR, "psicologa.demo": Role.PROFESSIONAL,
             "supervision.demo": Role.SUPERVISOR}
    assert {u for u, _r, _d in demo.DEMO_USERS} == set(roles) and demo.DEMO_USER == "demo"
    for user, role in roles.items():
        with Vault.open(path, user, demo.DEMO_PASSPHRASE) as v:
            assert v.user.role == role
            assert len(v.residents()) == 15


def test_populate_reports_progress_and_cancel_leaves_a_sound_vault(tmp_path):
    vault, _key = Vault.create(tmp_path / "v", shelter_code="LOR-01",
                               shelter_name="Casa de Acogida Ficticia", user="coordinacion",
                               passphrase="frase ficticia de prueba", kdf_seconds=0)
    try:
        calls = []

        def progress(done, total):
            calls.append((done, total))

        counts = demo.populate(vault, residents=30, seed=2, services_per_resident=3,
                               progress=progress, cancel=lambda: len(calls) >= 3,
                               chunk_records=20, today=TODAY)
        assert calls[0] == (0, 30)
        done = [d for d, _t in calls]
        assert done == sorted(done) and all(t == 30 for _d, t in calls)
        written = done[-1]
        assert 0 < written < 30
        assert counts["ficha_ingreso"] == written == len(vault.residents())
        assert vault.check().ok
        # Every resident written is complete: same records as generated, codes continue.
        expected = Counter(form for r in list(demo.generate(2, 30, 3, today=TODAY))[:written]
                           for form, _v in r.items())
        assert vault.stats() == {k: v for k, v in expected.items() if v}
        assert {k: v for k, v in counts.items() if v} == vault.stats()
        # Populating again continues the vault's numbering without clashes.
        demo.populate(vault, residents=4, seed=3, services_per_resident=1, today=TODAY)
        codes = [r.internal_code for r in vault.residents()]
        assert len(codes) == len(set(codes)) == written + 4
        assert all(c.startswith("LOR-01-") for c in codes)
        assert vault.check().ok
    finally:
        vault.lock()


def test_cancel_before_the_first_chunk_writes_nothing(tmp_path):
    vault, _key = Vault.create(tmp_path / "v", shelter_code="LOR-01",
                               shelter_name="Casa de Acogida Ficticia", user="coordinacion",
                               passphrase="frase ficticia de prueba", kdf_seconds=0)
    with vault:
        counts = demo.populate(vault, residents=5, services_per_resident=1, cancel=lambda: True,
                               today=TODAY)
        assert sum(counts.values()) == 0
        assert vault.residents() == []
