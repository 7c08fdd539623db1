"""Issue 19: the forms a CAR's team works with besides the first six — informe social and
psicológico, health record, education, protection measure, legal case (with migration),
inventory, family visits, incidents — and the Compact 2.3 services.

Each form loads, refuses bad values, prints blank and filled in es, qu and es+qu with no
Spanish label left in Quechua, counts in a report; a protection measure's review date is
due in `cpc pending`. Everyone here is fictional.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from test_quechua_print import KEPT, definition_msgids, spanish_left

from cpc_desktop import printing
from cpc_desktop.cli.main import main
from cpc_desktop.core import forms, pending
from cpc_desktop.core.errors import ValidationError
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.reports import ReportRequest, build_report, csv_files
from cpc_desktop.reports import axes as ax
from printing_helpers import full_values, need_poppler, norm, pdf_text
from tests.conftest import COORDINATOR, create_vault, make_intake_values

NEW_FORMS = ["informe_social", "informe_psicologico", "ficha_salud", "registro_educacion",
             "medida_proteccion", "caso_legal", "inventario_pertenencias", "registro_visitas",
             "registro_incidentes"]
# Compact objective 2.3: the services each shelter must be able to record and report.
COMPACT_SERVICES = ["medical", "mental_health", "legal", "humanitarian_visa", "repatriation",
                    "education", "vocational", "community_reintegration"]
TODAY = dt.date.today()
ROSA = "Lic. Rosa Ficticia"


def d(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


def _form(form_id: str) -> forms.Form:
    return forms.registry().get(form_id)


def _errors(form_id: str, values: dict) -> set[str]:
    with pytest.raises(ValidationError) as exc:
        _form(form_id).validate(values, today=dt.date(2024, 6, 30))
    return {e.field for e in exc.value.errors}


# ---------------------------------------------------------------- definitions

@pytest.mark.parametrize("form_id", NEW_FORMS)
def test_each_new_form_loads_with_an_owner_a_date_and_quechua(form_id):
    form = _form(form_id)
    qu = gettext_for("qu")
    assert form.owner_field and form.has_field(form.owner_field), (
        f"{form_id}: Pendientes could not name who answers for its records")
    assert form.field(form.date_field).type == "date"
    untranslated = [m for m in definition_msgids(form) if qu(m) == m]
    kept = _kept()
    assert [m for m in untranslated if m not in kept] == [], (
        f"{form_id}: a Quechua reader would see Spanish")


def _kept() -> set[str]:
    from babel.messages.pofile import read_po

    from cpc_desktop.i18n_tools import translations

    with translations.po_file("qu").open("rb") as fh:
        po = read_po(fh, locale="qu")
    return {m.id for m in po if m.id and any(c.startswith(KEPT) for c in m.user_comments)}


def test_codes_are_distinct_and_the_measure_holds_its_role():
    reg = forms.registry()
    codes = [f.code for f in reg]
    assert len(codes) == len(set(codes)), "two forms would print the same code"
    assert reg.by_role("protection_measure").form == "medida_proteccion"
    due = [(t, f.id, f.due.kind) for t, f in _form("medida_proteccion").due_fields]
    assert due == [(None, "review_date", "protection_measure_review")]


def test_the_school_grades_are_one_shared_list():
    intake, school = forms.registry().intake, _form("registro_educacion")
    assert intake.field("last_school_grade").choices == school.field("grade").choices
    assert school.field("grade").choices == forms.registry().choice_lists["school_grades"]


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("form_id", NEW_FORMS)
def test_full_values_validate_and_every_required_field_is_enforced(form_id):
    form = _form(form_id)
    good = full_values(form)
    assert form.validate(good, today=dt.date(2024, 6, 30)) == good
    required = {f.id for f in form.fields if f.required and f.show_when is None}
    assert required, f"{form_id}: nothing required — an empty record could be saved"
    assert _errors(form_id, {}) == required


@pytest.mark.parametrize("form_id, bad, field", [
    ("medida_proteccion", {"resolution_date": "2024-05-10", "review_date": "2024-01-10"},
     "review_date"),
    ("medida_proteccion", {"measure_character": "eterna"}, "measure_character"),
    ("registro_educacion", {"enrolment_status": "enrolled", "school_code": "12A"},
     "school_code"),
    ("registro_educacion", {"period_from": "2024-04-01", "period_to": "2024-03-01"},
     "period_to"),
    ("registro_incidentes", {"incident_date": "2024-05-10", "incident_type":
                             "absence_without_permission", "child_returned": True,
                             "return_date": "2024-05-01"}, "return_date"),
    ("informe_social", {"household_size": 0}, "household_size"),
    ("informe_psicologico", {"self_harm_screened": "quizá"}, "self_harm_screened"),
    ("ficha_salud", {"vaccinations": [{"vaccine": "unknown_vaccine"}]},
     "vaccinations[0].vaccine"),
    ("caso_legal", {"reparation_ordered": True, "reparation_amount": -5}, "reparation_amount"),
    ("inventario_pertenencias", {"items": [{"item": "Mochila", "quantity": 0}]},
     "items[0].quantity"),
    ("registro_visitas", {"visit_date": "2030-01-01"}, "visit_date"),
])
def test_bad_values_are_refused_naming_the_field(form_id, bad, field):
    good = full_values(_form(form_id))
    assert field in _errors(form_id, {**good, **bad})


def test_hidden_answers_are_kept_but_not_asked():
    """A migration status is asked only of a foreign child. When the answer changes, what was
    typed is kept (nothing silently disappears, issue 19), and a Peruvian child's record is
    not asked for it."""
    form = _form("caso_legal")
    values = full_values(form)
    assert values["foreign_child"] is True and "migration_status" in values
    saved = form.validate({**values, "foreign_child": False}, today=dt.date(2024, 6, 30))
    assert saved["migration_status"] == values["migration_status"]
    bare = {k: v for k, v in values.items()
            if k not in ("migration_status", "consulate_notified")}
    form.validate({**bare, "foreign_child": False}, today=dt.date(2024, 6, 30))  # no error


# ---------------------------------------------------------------- printing

@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """A fictional resident with one full record of every new form."""
    need_poppler()
    created = create_vault(tmp_path_factory.mktemp("newforms") / "vault")
    vault = created.vault
    rid = vault.add("ficha_ingreso", make_intake_values(internal_code="NF-01"))
    ids = {f: vault.add(f, full_values(_form(f)), rid) for f in NEW_FORMS}
    yield vault, rid, ids
    vault.lock()


@pytest.mark.parametrize("form_id", NEW_FORMS)
def test_prints_blank_and_filled_in_every_language(printed, tmp_path, form_id):
    vault, _rid, ids = printed
    form = _form(form_id)
    es, qu = gettext_for("es"), gettext_for("qu")
    msgids = definition_msgids(form)
    kept = _kept()
    for blank in (True, False):
        args = {"blank": True} if blank else {"record_id": ids[form_id]}
        texts = {}
        for lang in ("es", "qu", "es+qu"):
            data = printing.render_form(vault, form_id, lang=lang, today=dt.date(2024, 6, 30),
                                        **args)
            texts[lang] = pdf_text(data, tmp_path, f"{form_id}-{lang}-{blank}.pdf")
        assert norm(es(form.title)) in texts["es"]
        assert norm(qu(form.title)) in texts["qu"] and norm(qu(form.title)) in texts["es+qu"]
        assert norm(form.title) in texts["es+qu"]
        left = spanish_left(texts["qu"], msgids, kept)
        assert left == [], (f"{form_id} ({'blank' if blank else 'filled'}) in Quechua still "
                            f"shows Spanish: {left[:6]}")
        if not blank:
            assert "Valor" in texts["qu"], "premise: the filled values are printed"


# ---------------------------------------------------------------- reports

REPORT_START, REPORT_END = dt.date(2024, 1, 1), dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    """Seven children admitted in the period: six ran away once (one of them twice), one had
    a fight; every Compact 2.3 service given once to the first child."""
    created = create_vault(tmp_path_factory.mktemp("newforms-report") / "vault")
    vault = created.vault
    kids = [vault.add("ficha_ingreso", make_intake_values(admission_date="2024-02-01",
                                                          internal_code=f"R-{n}"))
            for n in range(7)]
    incident = {"incident_type": "absence_without_permission", "severity": "high",
                "description": "Salió sin avisar (hecho ficticio).", "reported_by": ROSA}
    for n, rid in enumerate(kids[:6]):
        vault.add("registro_incidentes", {**incident, "incident_date": f"2024-03-{n + 10}"},
                  rid)
    vault.add("registro_incidentes", {**incident, "incident_date": "2024-04-02"}, kids[0])
    vault.add("registro_incidentes", {**incident, "incident_date": "2024-08-02"}, kids[1])
    vault.add("registro_incidentes", {**incident, "incident_type": "conflict",
                                      "severity": "low", "incident_date": "2024-03-20"},
              kids[6])
    for area in COMPACT_SERVICES:
        vault.add("registro_atenciones", {"service_date": "2024-03-05", "service_area": area,
                                          "professional": ROSA}, kids[0])
    yield vault
    vault.lock()


def test_an_absence_counts_in_the_report(counted):
    report = build_report(counted, ReportRequest(REPORT_START, REPORT_END), today=REPORT_END)
    table = report.table("registro_incidentes_incident_type")
    absence = table.row("absence_without_permission")
    # 7 absences in the period (one in August is outside), by 6 distinct children
    assert [c.value for c in absence.cells] == [7, 6]
    assert [c.value for c in table.row("conflict").cells] == [1, 1]
    assert [c.value for c in table.row("total").cells] == [8, 7]
    assert "registro_incidentes_severity" in {t.id for t in report.tables}
    assert "registro_incidentes_reported_by" not in {t.id for t in report.tables}


def test_every_compact_service_is_a_row_of_the_services_table(counted):
    areas = {c.value for c in forms.registry().choice_lists["service_areas"]}
    assert set(COMPACT_SERVICES) <= areas
    report = build_report(counted, ReportRequest(REPORT_START, REPORT_END), today=REPORT_END)
    table = report.table("atenciones_service_area")
    for area in COMPACT_SERVICES:
        assert table.row(area).cells[0].value == 1, f"{area} not counted"


def test_the_exported_report_names_the_new_counts(counted):
    report = build_report(counted, ReportRequest(REPORT_START, REPORT_END), today=REPORT_END,
                          purpose="export")
    files = dict(csv_files(report, "es"))
    name = next(n for n in files if n.endswith("_registro_incidentes_incident_type.csv"))
    text = files[name].decode("utf-8-sig")
    assert "Ausencia sin autorización del centro" in text and "7" in text
    qu = dict(csv_files(report, "qu"))[name].decode("utf-8-sig")
    assert gettext_for("qu")("Ausencia sin autorización del centro") in qu


def test_only_many_forms_without_an_own_section_are_counted_as_records():
    ids = [f.form for f in ax.record_forms()]
    assert "registro_incidentes" in ids and "medida_proteccion" in ids
    assert not {"registro_atenciones", "informe_seguimiento", "pti", "ficha_salud"} & set(ids)


# ---------------------------------------------------------------- pendientes

def _measure(vault, rid, resolution, review, status="in_force"):
    return vault.add("medida_proteccion", {
        "authority": "upe", "resolution_number": "R-001-2024-FICTICIA",
        "resolution_date": resolution, "measure_type": "residential_care",
        "measure_character": "provisional", "measure_status": status,
        "review_date": review, "responsible": ROSA}, rid)


def test_a_measure_review_date_shows_in_cpc_pending(tmp_path, monkeypatch, capsys):
    created = create_vault(tmp_path / "vault")
    vault = created.vault
    ana = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-40), internal_code="M-ANA", protection_measure_date=d(-178)))
    beto = vault.add("ficha_ingreso", make_intake_values(admission_date=d(-40),
                                                         internal_code="M-BETO"))
    cata = vault.add("ficha_ingreso", make_intake_values(admission_date=d(-40),
                                                         internal_code="M-CATA"))
    before = {(i.internal_code, i.kind) for i in pending.compute(vault).items}
    assert ("M-ANA", "protection_measure_review") in before, "premise: the intake's 180 days"
    _measure(vault, ana, d(-30), d(3))
    _measure(vault, beto, d(-200), d(-20))            # superseded by a newer resolution
    _measure(vault, beto, d(-10), d(60))
    _measure(vault, cata, d(-30), d(2), status="ended")
    items = [i for i in pending.compute(vault).items if i.kind == "protection_measure_review"]
    found = {(i.internal_code, i.form, i.field, i.due, i.state, i.owner) for i in items}
    assert found == {("M-ANA", "medida_proteccion", "review_date", d(3), pending.SOON, ROSA)}, (
        "the measure's review must be due; the intake's date, an older measure and an ended "
        "one must not")
    monkeypatch.setenv("CPC_USER", COORDINATOR.user)
    monkeypatch.setenv("CPC_PASSPHRASE", COORDINATOR.passphrase)
    monkeypatch.setenv("CPC_LANG", "es")
    vault.lock()
    assert main(["pending", "--vault", str(created.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(i["internal_code"], i["due"]) for i in out["items"]
            if i["kind"] == "protection_measure_review"] == [("M-ANA", d(3))]
    assert main(["pending", "--vault", str(created.path)]) == 0
    text = capsys.readouterr().out
    assert "Revisión de la medida de protección" in text and "M-ANA" in text


@pytest.mark.parametrize("form_id", ["registro_visitas", "registro_incidentes"])
def test_registers_print_as_one_table_per_resident_in_quechua(printed, tmp_path, form_id):
    vault, rid, _ids = printed
    data = printing.render_form(vault, form_id, resident_id=rid, lang="qu",
                                today=dt.date(2024, 6, 30))
    text = pdf_text(data, tmp_path, f"{form_id}-register-qu.pdf")
    assert "Valor" in text, "premise: the resident's records are printed"
    left = spanish_left(text, definition_msgids(_form(form_id)), _kept())
    assert left == [], f"{form_id} register in Quechua still shows Spanish: {left[:6]}"
