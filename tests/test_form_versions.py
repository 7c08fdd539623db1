"""Declared form versions: a form that changes (a renamed field, a removed choice) loses no
data — old records show and print as written, editing upgrades them the same way on every
laptop, a newer laptop's change is kept untouched, and a hidden value survives a save.

The "version 2" intake here is made in a temporary folder from the shipped one; everyone is
fictional."""
from __future__ import annotations

import json
import shutil

import pytest
from printing_helpers import need_poppler, pdf_text
from sync_support import sync_rounds
from version_support import newer_forms

from cpc_desktop.core import forms, formversions
from cpc_desktop.core.errors import VaultError
from cpc_desktop.core.records_store import RecordsStore
from cpc_desktop.paths import resource_path
from cpc_desktop.printing import render_form
from cpc_desktop.sync import conflicts

OLD_LABEL = "Persona que la o lo acompañó al ingresar"
NEW_LABEL = "Acompañante al ingreso (versión 2)"


def _intake_v2(tmp_path):
    """The shipped forms with the intake a version up: `arrival_escort` renamed to
    `arrival_companion` (new label) and the risk level "medium" removed, mapped to "high"."""
    return newer_forms(tmp_path, "ficha_ingreso", {"arrival_escort": "arrival_companion"},
                       labels={"arrival_companion": NEW_LABEL},
                       choices={"risk_level": ({"medium": "high"},
                                               [{"value": "high", "label": "Alto"},
                                                {"value": "low", "label": "Bajo"}])})


def _install(vault, registry) -> None:
    """This laptop updated CPC Desktop to a program with these forms."""
    vault.forms = registry
    vault.store = RecordsStore(registry)


@pytest.fixture
def v2(tmp_path):
    return _intake_v2(tmp_path)


def test_the_version_history_is_checked_when_loaded(v2):
    form = v2.get("ficha_ingreso")
    assert form.version == 2 and form.steps[0].renames == (("arrival_escort",
                                                            "arrival_companion"),)
    assert v2.at_version("ficha_ingreso", 1).field("arrival_escort").label == OLD_LABEL
    assert v2.label_any("ficha_ingreso", "arrival_escort") == OLD_LABEL


def test_a_version_without_its_steps_is_refused(tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(resource_path("forms"), folder)
    raw = json.loads((folder / "pti.json").read_text(encoding="utf-8"))
    raw["version"] = 3
    raw["versions"] = [{"version": 2}]
    (folder / "pti.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(forms.FormDefinitionError, match="last step"):
        forms.load_registry(folder, resource_path("catalogs", "choices.json"))


def test_upgrade_is_deterministic_and_keeps_what_it_cannot_place(v2):
    form = v2.get("ficha_ingreso")
    up = form.upgrade({"arrival_escort": "Tía Ficticia", "risk_level": "medium"})
    assert up.values == {"arrival_companion": "Tía Ficticia", "risk_level": "high",
                         formversions.FORM_VERSION: 2}
    assert len(up.notes) == 2
    assert form.upgrade(up.values).values == up.values, "upgrading twice changed the values"
    # Both names hold different values (an old laptop edited the old one): nothing dropped.
    both = form.upgrade({"arrival_escort": "A", "arrival_companion": "B"}).values
    assert both["arrival_escort"] == "A" and both["arrival_companion"] == "B"
    assert form.kept(both) == {"arrival_escort": "A"}


@pytest.mark.parametrize("order", ["a_upgrades_first", "b_upgrades_first", "both_then_sync"])
def test_a_migration_converges_on_two_laptops_whatever_the_order(hub_pair, v2, intake_values,
                                                                  order):
    a, b, hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(arrival_escort="Tía Ficticia",
                                               risk_level="medium"))
    sync_rounds(hub, a, b)
    _install(a, v2)
    _install(b, v2)
    if order == "a_upgrades_first":
        a.update(rid, {"name_nickname": "Flor"})
        sync_rounds(hub, a, b)
        b.update(rid, {"received_by": "Rosa Ficticia"})
    elif order == "b_upgrades_first":
        b.update(rid, {"received_by": "Rosa Ficticia"})
        sync_rounds(hub, b, a)
        a.update(rid, {"name_nickname": "Flor"})
    else:   # each upgrades before seeing the other's upgrade
        a.update(rid, {"name_nickname": "Flor"})
        b.update(rid, {"received_by": "Rosa Ficticia"})
    sync_rounds(hub, a, b)
    ra, rb = a.get(rid), b.get(rid)
    assert ra.values == rb.values, "two hub_pair upgraded one record differently"
    assert ra.form_version == rb.form_version == 2
    assert ra.values["arrival_companion"] == "Tía Ficticia", "the renamed field's data is lost"
    assert "arrival_escort" not in ra.values
    assert ra.values["risk_level"] == "high"
    assert ra.values["name_nickname"] == "Flor" and ra.values["received_by"] == "Rosa Ficticia"
    assert conflicts(a) == [] and conflicts(b) == [], \
        "the same upgrade made on two hub_pair was shown as a conflict"


def test_an_old_record_keeps_its_version_and_prints_as_written(hub_pair, v2, intake_values,
                                                               tmp_path):
    need_poppler()
    a, _b, _hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(arrival_escort="Tía Ficticia"))
    _install(a, v2)
    record = a.get(rid)
    assert record.form_version == 1 and record.values["arrival_escort"] == "Tía Ficticia"
    text = pdf_text(render_form(a, "ficha_ingreso", record_id=rid), tmp_path)
    assert OLD_LABEL in text and "Tía Ficticia" in text, "an old record printed in a new form"
    assert NEW_LABEL not in text
    assert a.upgrade_notes(record), "editing an old record does not say what it changes"
    a.update(rid, {"name_nickname": "Flor"})
    assert a.get(rid).form_version == 2
    text = pdf_text(render_form(a, "ficha_ingreso", record_id=rid), tmp_path, "new.pdf")
    assert NEW_LABEL in text and "Tía Ficticia" in text


def test_a_register_prints_each_entry_in_the_version_it_was_written(vault, tmp_path,
                                                                   intake_values):
    need_poppler()
    newer = newer_forms(tmp_path, "registro_atenciones", {"place": "service_place"},
                        labels={"service_place": "Sitio de la atención (v2)"})
    rid = vault.add("ficha_ingreso", intake_values())
    vault.add("registro_atenciones", {"service_date": "2024-03-01", "service_area": "legal",
                                      "professional": "Lic. Rosa Ficticia", "place": "Sala Ficticia Amarilla"}, rid)
    _install(vault, newer)
    vault.add("registro_atenciones", {"service_date": "2024-04-01", "service_area": "legal",
                                      "professional": "Lic. Rosa Ficticia", "service_place": "Patio Ficticio Verde"}, rid)
    text = pdf_text(render_form(vault, "registro_atenciones", resident_id=rid), tmp_path)
    assert "Sala Ficticia Amarilla" in text, "the older entry's value was left off the register"
    assert "Patio Ficticio Verde" in text
    assert "Lugar de la atención" in text and "Sitio de la atención (v2)" in text


def test_a_newer_laptops_change_is_kept_and_read_only(hub_pair, v2, intake_values):
    a, b, hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(arrival_escort="Tía Ficticia"))
    sync_rounds(hub, a, b)
    _install(b, v2)                     # b updated the program; a did not
    b.update(rid, {"arrival_companion": "Abuela Ficticia"})
    new = b.add("ficha_ingreso", intake_values(name_first="Otra Ficticia",
                                               arrival_companion="Prima Ficticia"))
    sync_rounds(hub, b, a)
    old_side = a.get(rid)
    assert old_side.form_version == 2
    assert old_side.values["arrival_companion"] == "Abuela Ficticia", "a newer change was dropped"
    assert a.get(new).values["arrival_companion"] == "Prima Ficticia"
    assert a.get(new).form_version == 2
    with pytest.raises(VaultError, match="versión 2"):
        a.update(rid, {"name_nickname": "Flor"})
    assert a.get(rid).values == old_side.values, "a refused edit changed the record"
    # Once a updates, the record is editable and nothing was lost on the way.
    _install(a, v2)
    a.update(rid, {"name_nickname": "Flor"})
    sync_rounds(hub, a, b)
    assert b.get(rid).values["arrival_companion"] == "Abuela Ficticia"
    assert b.get(rid).values["name_nickname"] == "Flor"


def test_a_value_hidden_by_show_when_survives_a_save(vault, intake_values):
    rid = vault.add("ficha_ingreso", intake_values(arrival_way="other",
                                                   arrival_way_other="En lancha ficticia"))
    whole = dict(vault.get(rid).values)
    whole["arrival_way"] = "rescue_operation"
    del whole["arrival_way_other"]      # the editor leaves hidden fields out
    vault.update(rid, whole, replace=True)
    assert vault.get(rid).values["arrival_way_other"] == "En lancha ficticia", \
        "a hidden value was dropped on save"
    vault.update(rid, {"arrival_way": "other"})
    assert vault.get(rid).values["arrival_way_other"] == "En lancha ficticia"


def test_a_hidden_value_is_not_counted(vault, intake_values):
    form = vault.forms.intake
    facts = form.facts({"arrival_way": "rescue_operation", "arrival_way_other": "x",
                        "document_type": "none", "document_number": "12345678"})
    assert "document_number" not in facts and "arrival_way_other" not in facts


def test_splits_multichoice_maps_and_removed_fields_keep_every_value():
    steps = formversions.parse_steps([{
        "version": 2, "splits": {"full_name": {"into": ["name_first", "name_last"]}},
        "choices": {"languages": {"quechua_old": "quechua", "qu": "quechua"}},
        "removed": ["old_question"]}], 2, {"name_first", "name_last", "languages"},
        lambda where, msg: pytest.fail(f"{where}: {msg}"))
    up = formversions.upgrade(steps, {"full_name": "Rosa María Ficticia",
                                      "languages": ["qu", "quechua_old", "spanish"],
                                      "old_question": "Respuesta"}, 1, str, 2)
    assert up.values == {"name_first": "Rosa", "name_last": "María Ficticia",
                         "languages": ["quechua", "spanish"], "old_question": "Respuesta",
                         formversions.FORM_VERSION: 2}
    assert len(up.notes) == 3
    # A split onto fields that already hold values leaves the old value where it was.
    kept = formversions.upgrade(steps, {"full_name": "A B", "name_first": "C"}, 1, str, 2)
    assert kept.values["full_name"] == "A B" and kept.values["name_first"] == "C"


def test_an_old_laptop_editing_the_renamed_field_meanwhile_loses_nothing(hub_pair, v2,
                                                                        intake_values):
    a, b, hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(arrival_escort="Tía Ficticia"))
    sync_rounds(hub, a, b)
    _install(a, v2)                                 # a updated, b not yet
    a.update(rid, {"name_nickname": "Flor"})        # upgrades: the value moves
    b.update(rid, {"arrival_escort": "Abuela Ficticia"})   # b edits the old field meanwhile
    sync_rounds(hub, a, b)
    record = a.get(rid)
    assert record.values == b.get(rid).values
    assert record.values["arrival_companion"] == "Tía Ficticia"
    seen = {record.values.get("arrival_escort")} | {c.kept_value for c in conflicts(a)}
    assert "Abuela Ficticia" in seen, "an edit made on the older laptop disappeared"
    if record.values.get("arrival_escort"):
        assert v2.get("ficha_ingreso").kept(record.values) == {
            "arrival_escort": "Abuela Ficticia"}, "the left-over value is not shown apart"


def test_an_old_record_counts_in_the_new_versions_terms(vault, v2, intake_values):
    rid = vault.add("ficha_ingreso", intake_values(risk_level="medium"))
    _install(vault, v2)
    from cpc_desktop.core.records_store import facts_json

    facts = json.loads(facts_json(v2, "ficha_ingreso", vault.get(rid).values))
    assert facts["risk_level"] == "high", "a removed choice is counted as it was written"
    assert vault.get(rid).values["risk_level"] == "medium", "counting changed the record"


def test_a_report_reads_an_old_record_in_the_new_versions_terms(vault, v2, intake_values):
    from cpc_desktop.reports import compute

    rid = vault.add("ficha_ingreso", intake_values(risk_level="medium",
                                                   arrival_escort="Tía Ficticia"))
    newer = vault.add("ficha_ingreso", intake_values(risk_level="low"))
    _install(vault, v2)   # the program updated; the stored facts were counted by version 1

    def read(*fields):
        return {r: values for r, _d, values in vault.iter_values("ficha_ingreso", fields)}

    assert read("risk_level")[rid] == {"risk_level": "high"}, "counted as written"
    assert read("risk_level", "arrival_companion")[rid] == {
        "risk_level": "high", "arrival_companion": "Tía Ficticia"}, "a renamed field is lost"
    assert read("risk_level")[newer] == {"risk_level": "low"}
    assert compute.load(vault).intakes[rid]["risk_level"] == "high"
    assert vault.get(rid).values["risk_level"] == "medium", "reading changed the record"


def test_a_due_date_renamed_in_a_new_version_stays_due(vault, tmp_path, intake_values):
    import datetime as dt

    from cpc_desktop.core import pending

    rid = vault.add("ficha_ingreso", intake_values())
    overdue = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    vault.add("pti", {"period_start": "2024-01-10", "review_date": overdue}, rid)
    _install(vault, newer_forms(tmp_path, "pti", {"review_date": "review_on"}))
    found = [(i.kind, i.due, i.field) for i in pending.compute(vault).items
             if i.resident_id == rid and i.kind == "plan_review"]
    assert found == [("plan_review", overdue, "review_on")], "the old plan's review vanished"


def test_cpc_show_prints_an_old_record_as_written(vault, v2, intake_values, capsys):
    from cpc_desktop.cli import vault_cmds

    rid = vault.add("ficha_ingreso", intake_values(arrival_escort="Tía Ficticia"))
    _install(vault, v2)
    vault_cmds._print_record(vault, vault.get(rid))
    out = capsys.readouterr().out
    assert f"{OLD_LABEL}: Tía Ficticia" in out and "v1" in out
    # A value no field of its version holds is printed apart, never left out.
    vault.conn.execute("UPDATE records SET data=json_set(data, '$.campo_futuro', 'x') "
                       "WHERE id=?", (rid,))
    vault_cmds._print_record(vault, vault.get(rid))
    assert "Datos conservados de otra versión" in capsys.readouterr().out


def test_a_version_without_steps_only_changes_the_records_version(vault, intake_values,
                                                                 tmp_path):
    folder = tmp_path / "relabelled"
    shutil.copytree(resource_path("forms"), folder)
    raw = json.loads((folder / "ficha_ingreso.json").read_text(encoding="utf-8"))
    raw["version"] = 2       # a new label, say: nothing a record holds changes
    (folder / "ficha_ingreso.json").write_text(json.dumps(raw), encoding="utf-8")
    rid = vault.add("ficha_ingreso", intake_values())
    _install(vault, forms.load_registry(folder, resource_path("catalogs", "choices.json")))
    assert vault.upgrade_notes(vault.get(rid)) == ()
    vault.update(rid, {"name_nickname": "Flor"})
    assert vault.get(rid).form_version == 2


def test_every_earlier_version_of_a_shipped_form_is_kept():
    """An old record prints and shows as written only if its version's definition ships."""
    reg = forms.registry()
    changed = [f for f in reg if f.version > 1]
    assert {f.form for f in changed} >= {"pti", "medida_proteccion", "informe_social"}
    for form in changed:
        for version in range(1, form.version):
            old = reg.at_version(form.form, version)
            assert old is not form and old.version == version, (form.form, version)
