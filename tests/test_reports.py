"""Report indicators against brute-force counts, computed here from vault.records().

The vault: demo residents (fixed seed and `today`) plus a few handcrafted ones with missing
fields, a place known only to the department, a foreign child, a plan with an objective
without status and follow-ups without a completion date. The expected numbers are counted
in this file from the records themselves, with none of the report code.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict

import pytest

from cpc_desktop import demo
from cpc_desktop.core import forms, i18n
from cpc_desktop.core.errors import PermissionDenied
from cpc_desktop.core.users import Role
from cpc_desktop.core.vault import Vault
from cpc_desktop.reports import (ReportError, ReportRequest, build_report, csv_files, protect,
                                 render_pdf)
from cpc_desktop.reports.compute import problem_of
from cpc_desktop.reports.suppression import derivable, pinned

TODAY = dt.date(2026, 6, 30)
START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
PASS = "frase ficticia de prueba 2024"
NR, NA = "__not_recorded__", "__not_applicable__"


# ====================================================================== the vault

def _handcrafted(vault: Vault) -> dict[str, str]:
    """Fictional residents built to hit every "not recorded" path; returns name -> id."""
    ids = {}
    # Only the required intake fields: no birth date, age, place, language, exploitation.
    ids["bare"] = vault.add("ficha_ingreso", {
        "admission_date": "2026-02-10", "name_first": "Prueba", "name_last": "Sin Datos",
        "sex": "female", "referral_source": "upe", "risk_level": "low"})
    # Place known to the department only; estimated age; discharged in the period.
    ids["dept_only"] = vault.add("ficha_ingreso", {
        "admission_date": "2025-11-03", "name_first": "Ficticio", "name_last": "Departamento",
        "sex": "male", "referral_source": "fistrap", "risk_level": "high", "age": 16,
        "age_estimated": True, "place_of_residence": "16", "mother_tongue": "awajun",
        "exploitation_types": ["labour", "begging"]})
    vault.add("ficha_egreso", {"discharge_date": "2026-03-15",
                               "discharge_reason": "family_reintegration",
                               "first_followup_date": "2026-04-15"}, ids["dept_only"])
    # Discharged on the first day of the period: in care at its start, and discharged in it.
    ids["first_day"] = vault.add("ficha_ingreso", {
        "admission_date": "2025-10-01", "name_first": "Ficticia", "name_last": "Primer Día",
        "sex": "female", "referral_source": "demuna", "risk_level": "low", "age": 13})
    vault.add("ficha_egreso", {"discharge_date": "2026-01-01", "discharge_reason": "transfer"},
              ids["first_day"])
    # Foreign child with no place in Peru.
    ids["abroad"] = vault.add("ficha_ingreso", {
        "admission_date": "2026-05-20", "name_first": "Ficticia", "name_last": "Extranjera",
        "sex": "female", "referral_source": "upe", "risk_level": "medium",
        "date_of_birth": "2012-01-05", "country_of_origin": "colombia",
        "nationality": "colombia"})
    # Services with and without a date in the period, one of an area with few services.
    for day, area in (("2026-02-11", "repatriation"), ("2026-02-12", "legal"),
                      ("2025-12-31", "legal")):
        vault.add("registro_atenciones", {"service_date": day, "service_area": area,
                                          "professional": "Lic. Demo Prueba"}, ids["bare"])
    # A plan with an objective without status, and follow-ups due without completion.
    vault.add("pti", {"period_start": "2026-02-20", "cp_case_plan": [
        {"area": "legal", "objective": "Objetivo ficticio"},
        {"status": "achieved", "objective": "Otro objetivo ficticio"}]}, ids["bare"])
    vault.add("informe_seguimiento", {"followup_type": "in_care", "child_seen": True,
                                      "due_date": "2026-03-01"}, ids["bare"])
    vault.add("informe_seguimiento", {"followup_type": "in_care", "child_seen": True,
                                      "due_date": "2026-03-10", "actual_date": "2026-03-20",
                                      "next_visit_needed": True,
                                      "next_visit_date": "2026-05-01"}, ids["bare"])
    # A record deleted later: it must count nowhere.
    gone = vault.add("ficha_ingreso", {
        "admission_date": "2026-03-01", "name_first": "Borrada", "name_last": "Ficticia",
        "sex": "male", "referral_source": "upe", "risk_level": "low"})
    vault.delete(gone)
    return ids


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("reports") / "vault"
    vault, _key = Vault.create(path, shelter_code="LOR-09", shelter_name="Casa Ficticia",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    vault.add_user("prof", Role.PROFESSIONAL, PASS)
    vault.add_user("super", Role.SUPERVISOR, PASS)
    demo.populate(vault, residents=70, seed=11, services_per_resident=12, today=TODAY)
    ids = _handcrafted(vault)
    yield vault, path, ids
    vault.lock()


@pytest.fixture(scope="module")
def vault(built):
    return built[0]


@pytest.fixture(scope="module")
def full(vault):
    return build_report(vault, ReportRequest(START, END), today=TODAY)


# ====================================================================== brute force

def _d(text):
    return dt.date.fromisoformat(text) if text else None


class Brute:
    """Every indicator, counted directly from vault.records() (no report code)."""

    def __init__(self, vault: Vault, start: dt.date, end: dt.date):
        self.reg = forms.registry()
        self.intake, self.discharge, self.records = {}, {}, defaultdict(list)
        for r in vault.residents():
            self.intake[r.id] = vault.records(r.id, "ficha_ingreso")[0].values
            dis = vault.records(r.id, "ficha_egreso")
            if dis:
                self.discharge[r.id] = dis[-1].values
            for form in ("registro_atenciones", "pti", "informe_seguimiento"):
                self.records[form] += [(r.id, rec.values) for rec in vault.records(r.id, form)]
        self.start, self.end = start, end
        self.at_start, self.admitted, self.discharged, self.at_end = set(), set(), set(), set()
        for rid, v in self.intake.items():
            a = _d(v["admission_date"])
            d = _d(self.discharge.get(rid, {}).get("discharge_date"))
            if a < start and (d is None or d >= start):
                self.at_start.add(rid)
            if start <= a <= end:
                self.admitted.add(rid)
            if a <= end and (d is None or d > end):
                self.at_end.add(rid)
            if d is not None and start <= d <= end and a <= end:
                self.discharged.add(rid)
        self.served = self.at_start | self.admitted

    def age_band(self, rid):
        v = self.intake[rid]
        a = _d(v["admission_date"])
        if v.get("date_of_birth"):
            b = _d(v["date_of_birth"])
            age = a.year - b.year - ((a.month, a.day) < (b.month, b.day))
        elif "age" in v:
            age = v["age"]
        else:
            return NR
        return "0_11" if age <= 11 else "12_14" if age <= 14 else "15_17" if age <= 17 \
            else "18_plus"

    def category(self, fld, values):
        cond = fld.show_when
        if cond is not None:
            cur = values.get(cond.field)
            ok = (cur == cond.value if cond.op == "equals" else cur in cond.value
                  if cond.op == "in" else isinstance(cur, list) and cond.value in cur)
            if not ok:
                return [NA]
        raw = values.get(fld.id)
        if fld.type == "multichoice":
            return list(raw) if raw else [NR]
        return [raw] if raw else [NR]

    def axis(self, form_id, field_id, population):
        fld = self.reg.get(form_id).field(field_id)
        c = Counter()
        for values in population:
            c.update(self.category(fld, values))
        return c


@pytest.fixture(scope="module")
def brute(vault):
    return Brute(vault, START, END)


# ====================================================================== indicators

def test_summary_counts_match_a_count_by_hand(full, brute, built):
    t = full.table("resumen")
    assert t.value("at_start") == len(brute.at_start)
    assert t.value("admitted") == len(brute.admitted), "admissions of the period miscounted"
    assert t.value("discharged") == len(brute.discharged)
    assert t.value("at_end") == len(brute.at_end)
    assert t.value("served") == len(brute.served)
    assert t.value("undated") == 0
    assert built[2]["first_day"] in brute.at_start & brute.discharged
    assert len(brute.served) > 40 and len(brute.discharged) > 3, "fixture too small to test"


def test_age_bands_by_sex_match_a_count_by_hand(full, brute):
    t = full.table("edad_al_ingreso")
    c = Counter((brute.age_band(r), brute.intake[r].get("sex") or NR) for r in brute.served)
    for band in ("0_11", "12_14", "15_17", "18_plus", NR):
        for sex in ("female", "male", NR):
            assert t.value(band, sex) == c[(band, sex)], (band, sex)
        assert t.value(band, "total") == sum(c[(band, s)] for s in ("female", "male", NR))
    assert t.value(NR, "female") >= 1, "the resident without birth date or age vanished"
    assert t.value("total", "total") == len(brute.served)


def _intake_axes():
    reg = forms.registry()
    return [f.id for f in reg.intake.fields if f.type in ("choice", "multichoice")
            and f.id != "completed_by_role"]


@pytest.mark.parametrize("field_id", _intake_axes())
def test_every_intake_choice_field_is_tabulated_and_matches(full, brute, field_id):
    fld = forms.registry().intake.field(field_id)
    t = full.table(f"ingreso_{field_id}")
    expected = brute.axis("ficha_ingreso", field_id, [brute.intake[r] for r in brute.served])
    labels = [r.label(lambda s: s) for r in t.rows]
    assert [c.label for c in fld.choices] == labels[:len(fld.choices)], \
        "rows must follow the form's choices and order"
    for choice in [c.value for c in fld.choices] + [NR]:
        assert t.value(choice) == expected[choice], (field_id, choice)
    if fld.show_when is not None:
        assert t.value(NA) == expected[NA]
    assert t.value("total") == len(brute.served)
    assert sum(r.cells[0].value for r in t.rows if not r.total) == sum(expected.values())


def test_missing_fields_are_counted_as_not_recorded(full, brute, built):
    bare = built[2]["bare"]
    assert bare in brute.served
    for field_id in ("mother_tongue", "exploitation_types", "ethnicity"):
        assert full.table(f"ingreso_{field_id}").value(NR) >= 1, field_id


def test_origin_uses_residence_then_birthplace(full, brute):
    dept, prov = Counter(), Counter()
    for rid in brute.served:
        v = brute.intake[rid]
        code = v.get("place_of_residence") or v.get("place_of_birth")
        if code:
            dept[code[:2]] += 1
            prov[code[:4] if len(code) >= 4 else code[:2] + "?"] += 1
        elif v.get("country_of_origin") not in (None, "peru", "unknown"):
            dept["abroad"] += 1
        else:
            dept["nr"] += 1
    t = full.table("origen_departamento")
    for code, n in dept.items():
        row = {"abroad": "__abroad__", "nr": NR}.get(code, code)
        assert t.value(row) == n, code
    assert t.value("__abroad__") >= 1
    p = full.table("origen_provincia")
    for code, n in prov.items():
        row = code if not code.endswith("?") else code[:2] + NR
        assert p.value(row) == n, code
    assert p.value("16" + NR) >= 1, "a place known only to the department vanished"
    assert "Loreto" in p.row("16" + NR).label(lambda s: s)


def test_services_by_area_count_services_and_distinct_children(full, brute):
    s, e = START.isoformat(), END.isoformat()
    n, kids = Counter(), defaultdict(set)
    for rid, v in brute.records["registro_atenciones"]:
        if s <= v["service_date"] <= e:
            n[v["service_area"]] += 1
            kids[v["service_area"]].add(rid)
    t = full.table("atenciones_service_area")
    for area in [c.value for c in forms.registry().get("registro_atenciones")
                 .field("service_area").choices]:
        assert t.value(area, "services") == n[area], area
        assert t.value(area, "children") == len(kids[area]), area
    assert t.value("total", "services") == sum(n.values())
    assert t.value("total", "children") == len(set().union(*kids.values()))


def test_pti_objectives_by_area_and_status(full, brute):
    e = END.isoformat()
    s = (END - dt.timedelta(days=365)).isoformat()
    latest = {}
    for rid, v in brute.records["pti"]:
        if rid in brute.served and s <= v["period_start"] <= e:
            if rid not in latest or v["period_start"] >= latest[rid]["period_start"]:
                latest[rid] = v
    c = Counter()
    for v in latest.values():
        for row in v.get("cp_case_plan", []):
            c[(row.get("area", NR), row.get("status", NR))] += 1
    t = full.table("pti_cp_case_plan")
    for (area, status), n in c.items():
        assert t.value(area, status) == n, (area, status)
    assert t.value(NR, "achieved") >= 1 and t.value("legal", NR) >= 1
    assert t.value("total", "total") == sum(c.values())


def test_followups_due_and_overdue(full, brute):
    s, e = START.isoformat(), END.isoformat()
    c = Counter()
    done = defaultdict(list)
    for rid, v in brute.records["informe_seguimiento"]:
        if v.get("actual_date"):
            done[rid].append(v["actual_date"])
        due = v.get("due_date")
        if due and s <= due <= e:
            act = v.get("actual_date")
            c["not_done" if not act else "on_time" if act <= due else "late"] += 1
    t = full.table("seguimientos_previstos")
    for k in ("on_time", "late", "not_done"):
        assert t.value(k) == c[k], k
    assert t.value("not_done") >= 1
    planned = []
    for rid, v in brute.records["informe_seguimiento"]:
        nxt = v.get("next_visit_date")
        if v.get("next_visit_needed") and nxt and s <= nxt <= e:
            planned.append((rid, v.get("actual_date") or v.get("due_date")))
    for rid, v in brute.discharge.items():
        f = v.get("first_followup_date")
        if f and s <= f <= e:
            planned.append((rid, v["discharge_date"]))
    visits = Counter("done" if any(since < d <= e for d in done[rid]) else "overdue"
                     for rid, since in planned)
    v = full.table("visitas_programadas")
    assert (v.value("done"), v.value("overdue")) == (visits["done"], visits["overdue"])
    assert v.value("total") == len(planned) > 0


def test_discharges_reasons_and_length_of_stay(full, brute):
    t = full.table("egreso_discharge_reason")
    c = Counter(brute.discharge[r]["discharge_reason"] for r in brute.discharged)
    for reason, n in c.items():
        assert t.value(reason) == n
    assert t.value("total") == len(brute.discharged)
    stays = [(_d(brute.discharge[r]["discharge_date"])
              - _d(brute.intake[r]["admission_date"])).days for r in brute.discharged]
    st = full.table("duracion_estadia")
    assert st.value("discharged", "median") == statistics.median(stays)
    assert (st.value("discharged", "min"), st.value("discharged", "max")) == (min(stays),
                                                                              max(stays))
    ongoing = [(END - _d(brute.intake[r]["admission_date"])).days for r in brute.at_end]
    assert st.value("at_end", "median") == statistics.median(ongoing)


def test_admissions_per_month(full, brute):
    t = full.table("ingresos_egresos_por_mes")
    months = Counter(brute.intake[r]["admission_date"][:7] for r in brute.admitted)
    for m in range(1, 7):
        assert t.value(f"2026-{m:02d}", "admitted") == months[f"2026-{m:02d}"]
    assert t.value("total", "admitted") == len(brute.admitted)


# ====================================================================== who sees what

def test_only_coordinators_and_supervisors_see_full_counts_on_screen(built):
    _v, path, _ids = built
    req = ReportRequest(START, END)
    for user, protected in (("coord", False), ("super", False), ("prof", True)):
        v = Vault.open(path, user, PASS)
        try:
            assert build_report(v, req, today=TODAY).protected is protected, user
            assert build_report(v, req, today=TODAY, purpose="export").protected, \
                f"an export made by {user} would carry full counts"
        finally:
            v.lock()


def test_exports_refuse_a_report_with_full_counts(full):
    with pytest.raises(ReportError):
        render_pdf(full)
    with pytest.raises(ReportError):
        csv_files(full)


def test_protected_report_leaves_no_hidden_count_derivable(full):
    report = protect(full)
    problem = problem_of(report)
    marks = {c.key: c.mark for t in report.tables for r in t.rows for c in r.cells
             if c.key is not None and c.mark is not None and not (
                 isinstance(c.key, tuple) and c.key[0] == "stat_of")}
    small = {k for k, v in problem.values.items() if 0 < v < 5}
    assert small and small <= set(marks), "a count under 5 is printed"
    assert not marks.keys() & problem.fixed, "a headline count was hidden in a large shelter"
    assert not derivable(problem, marks), "a hidden count follows from the totals"
    assert not pinned(problem, marks)
    # A quantity shown in two tables is hidden in both or in neither.
    seen = defaultdict(set)
    for t in report.tables:
        for r in t.rows:
            for c in r.cells:
                if c.key is not None:
                    seen[c.key].add(c.mark)
    assert all(len(m) == 1 for m in seen.values())


# ====================================================================== bad input

def test_bad_periods_are_refused_with_clear_messages(vault):
    with pytest.raises(ReportError, match="posterior"):
        build_report(vault, ReportRequest(END, START), today=TODAY)
    with pytest.raises(ReportError, match="futura"):
        build_report(vault, ReportRequest(START, TODAY + dt.timedelta(days=1)), today=TODAY)
    with pytest.raises(ReportError, match="NADA-1"):
        build_report(vault, ReportRequest(START, END, "NADA-1"), today=TODAY)


def test_bad_period_message_is_translated(vault):
    i18n.set_language("qu")
    try:
        with pytest.raises(ReportError) as err:
            build_report(vault, ReportRequest(END, START), today=TODAY)
        expected = i18n.gettext_for("qu")(
            "La fecha de inicio ({start}) es posterior a la fecha de fin ({end}): corrija el "
            "periodo.")
        assert str(err.value) == expected.format(start="30/06/2026", end="01/01/2026")
    finally:
        i18n.set_language("es")


def test_an_empty_period_gives_zeros_and_says_so(vault):
    r = build_report(vault, ReportRequest(dt.date(2000, 1, 1), dt.date(2000, 6, 30)),
                     today=TODAY)
    assert r.table("resumen").value("served") == 0
    assert r.messages, "an empty report must say why it is empty"
    assert all(c.value in (0, None) for t in r.tables for row in t.rows for c in row.cells)


def test_one_shelter_only(vault, full):
    own = build_report(vault, ReportRequest(START, END, "LOR-09"), today=TODAY)
    assert own.table("resumen").value("served") == full.table("resumen").value("served")
    assert "Casa Ficticia" in own.shelter_label(lambda s: s)


# ====================================================================== the vault method

def test_iter_values_reads_only_the_asked_fields(vault, built):
    bare = built[2]["bare"]
    rows = list(vault.iter_values("ficha_ingreso", ["sex", "exploitation_types",
                                                    "age_estimated"]))
    assert len(rows) == len(vault.residents()), "deleted intakes must not be listed"
    by_id = {rid: values for rid, _day, values in rows}
    assert by_id[bare] == {"sex": "female"}
    dept_only = by_id[built[2]["dept_only"]]
    assert dept_only["age_estimated"] is True
    assert dept_only["exploitation_types"] == ["labour", "begging"]
    dates = [day for _r, day, _v in rows]
    assert dates == sorted(dates)
    some = list(vault.iter_values("registro_atenciones", ["service_area"],
                                  since="2026-02-11", until="2026-02-12"))
    assert all("2026-02-11" <= d <= "2026-02-12" for _r, d, _v in some) and some
    assert list(vault.iter_values("ficha_ingreso", ["sex"], shelter="NADA-1")) == []
    with pytest.raises(Exception, match="no tiene el campo"):
        vault.iter_values("ficha_ingreso", ["no_such_field"])


def test_iter_values_needs_read_permission(vault):
    from cpc_desktop.core.users import User
    saved = vault.user
    vault.user = User(saved.name, saved.display_name, saved.role, active=False)
    try:
        with pytest.raises(PermissionDenied):
            vault.iter_values("ficha_ingreso", ["sex"])
    finally:
        vault.user = saved
