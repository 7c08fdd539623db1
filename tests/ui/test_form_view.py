"""The form editor generated from the definitions: values in and out, conditions, tables,
errors, read-only and language switching."""
from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from cpc_desktop import demo
from cpc_desktop.core import forms
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.ui.form_view import FormView, TableEditor
from cpc_desktop.ui.lang import set_language
from cpc_desktop.ui.widgets.place import PlaceEditor
from printing_helpers import full_values

REGISTRY = forms.registry()


@pytest.fixture
def view_of(qtbot):
    def make(form_id: str) -> FormView:
        view = FormView(REGISTRY.get(form_id))
        qtbot.addWidget(view)
        return view
    return make


@pytest.fixture
def quechua():
    set_language("qu")
    yield gettext_for("qu")
    set_language("es")


def test_every_form_shows_demo_records_and_gives_back_exactly_what_was_stored(view_of):
    views = {form.form: view_of(form.form) for form in REGISTRY}
    seen = {form_id: 0 for form_id in views}
    for resident in demo.generate(seed=7, residents=10, services_per_resident=3,
                                  today=dt.date(2026, 6, 1)):
        for form_id, values in resident.items():
            _gives_back(views[form_id], form_id, values)
            seen[form_id] += 1
    # Forms the demo leaves empty (health, legal case, psychological report) are checked with
    # every field filled at once.
    for form_id in (f for f, n in seen.items() if not n):
        _gives_back(views[form_id], form_id, full_values(REGISTRY.get(form_id)))
        seen[form_id] += 1
    assert all(seen.values()), f"some forms got no record to check: {seen}"


def _gives_back(view: FormView, form_id: str, values: dict) -> None:
    view.set_values(values)
    assert view.values() == values, (
        f"{form_id}: opening and saving a record unchanged would alter it")
    assert not view.dirty, f"{form_id}: an untouched record is reported as changed"


def test_signature_boxes_are_not_on_screen(view_of):
    view = view_of("ficha_ingreso")
    signatures = [f.id for f in REGISTRY.get("ficha_ingreso").fields if f.type == "signature"]
    assert signatures
    for fid in signatures:
        assert view.findChild(object, f"field_{fid}") is None


def test_conditional_field_appears_when_its_condition_holds_and_its_value_is_dropped_when_not(
        view_of, qtbot):
    view = view_of("ficha_ingreso")
    view.show()
    form = REGISTRY.get("ficha_ingreso")
    dependent = form.field("arrival_way_other")
    assert dependent.show_when.field == "arrival_way"
    other_box = view.fields.boxes["arrival_way_other"]
    assert not other_box.isVisible(), "the 'other: which?' field shows before 'other' is chosen"

    combo = view.editor("arrival_way").combo
    combo.setCurrentIndex(combo.findData(dependent.show_when.value))
    assert other_box.isVisible(), "choosing 'other' does not show the field to say which"
    qtbot.keyClicks(view.editor("arrival_way_other").edit, "En bote ficticio")
    assert view.values()["arrival_way_other"] == "En bote ficticio"

    first_other = next(c.value for c in form.field("arrival_way").choices
                       if c.value != dependent.show_when.value)
    combo.setCurrentIndex(combo.findData(first_other))
    assert not other_box.isVisible()
    assert "arrival_way_other" not in view.values(), (
        "a hidden field's text would be stored although its question no longer applies")


def test_dirty_follows_edits_and_is_cleared_by_set_values(view_of, qtbot):
    view = view_of("registro_atenciones")
    view.set_values({"service_date": "2024-03-05"})
    changes = []
    view.dirty_changed.connect(changes.append)
    qtbot.keyClicks(view.editor("professional").edit, "Profesional Ficticia")
    assert view.dirty and changes == [True]
    view.editor("professional").edit.clear()
    view.editor("professional").changed.emit()
    assert not view.dirty and changes == [True, False], "undoing an edit still asks to save"
    qtbot.keyClicks(view.editor("professional").edit, "Otra")
    view.set_values({"service_date": "2024-03-05"})
    assert not view.dirty


def test_date_field_takes_typed_dates_and_may_stay_empty(view_of, qtbot):
    view = view_of("ficha_ingreso")
    edit = view.editor("date_of_birth").edit
    assert "date_of_birth" not in view.values(), "an empty date must stay empty"
    qtbot.keyClicks(edit, "1/3/2012")
    assert view.values()["date_of_birth"] == "2012-03-01"
    edit.editingFinished.emit()
    assert edit.text() == "01/03/2012"
    edit.clear()
    qtbot.keyClicks(edit, "31/02/2012")
    assert view.values()["date_of_birth"] == "31/02/2012", (
        "an impossible date must reach the validator as typed, not vanish")
    with pytest.raises(forms.ValidationError) as err:
        REGISTRY.get("ficha_ingreso").validate(view.values())
    assert any(e.field == "date_of_birth" for e in err.value.errors)


def test_number_allows_empty_and_keeps_integers(view_of, qtbot):
    view = view_of("registro_atenciones")
    assert "duration_minutes" not in view.values()
    qtbot.keyClicks(view.editor("duration_minutes").edit, "45")
    assert view.values()["duration_minutes"] == 45


def test_yes_no_has_three_states(view_of, qtbot):
    view = view_of("registro_atenciones")
    editor = view.editor("referred")
    assert "referred" not in view.values(), "an unanswered yes/no must not be stored as 'no'"
    editor.no.click()
    assert view.values()["referred"] is False
    editor.yes.click()
    assert view.values()["referred"] is True
    editor.unknown.click()
    assert "referred" not in view.values()


def test_multichoice_gives_values_in_definition_order(view_of):
    view = view_of("ficha_ingreso")
    editor = view.editor("exploitation_types")
    editor.boxes[2][1].setChecked(True)
    editor.boxes[0][1].setChecked(True)
    assert view.values()["exploitation_types"] == [editor.boxes[0][0], editor.boxes[2][0]]


def test_place_picker_cascades_and_understands_names_typed_without_accents(view_of, qtbot):
    view = view_of("ficha_egreso")
    view.show()
    picker: PlaceEditor = view.editor("receiving_adult_place")
    assert not picker.province.isEnabled(), "a province cannot be chosen before a department"
    completer = picker.department.completer()
    completer.setCompletionPrefix("huanuco")
    assert completer.completionCount() == 1
    assert completer.currentCompletion() == "Huánuco"

    line = picker.department.lineEdit()
    line.setText("loreto")
    picker.department.resolve_typed()
    assert picker.value() == "16"
    assert picker.province.isEnabled()
    picker.province.lineEdit().setText("maynas")
    picker.province.resolve_typed()
    picker.district.lineEdit().setText("belen")
    picker.district.resolve_typed()
    assert picker.value() == "160112"
    assert view.values()["receiving_adult_place"] == "160112"

    picker.department.lineEdit().setText("cusco")
    picker.department.resolve_typed()
    assert picker.value() == "08", "changing the department keeps a district of another one"


def test_repeating_table_adds_edits_and_removes_rows(view_of, qtbot):
    view = view_of("ficha_ingreso")
    table: TableEditor = view.editor("family_details")
    assert "family_details" not in view.values()
    qtbot.mouseClick(table.add_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(table.add_button, Qt.MouseButton.LeftButton)
    first, second = table.rows
    qtbot.keyClicks(first.fields.boxes["name"].editor.edit, "Tia Ficticia")
    first.fields.boxes["must_not_know_location"].editor.yes.click()
    qtbot.keyClicks(second.fields.boxes["phone"].editor.edit, "000 000 111")
    assert view.values()["family_details"] == [
        {"name": "Tia Ficticia", "must_not_know_location": True}, {"phone": "000 000 111"}]
    qtbot.mouseClick(first.remove_button, Qt.MouseButton.LeftButton)
    assert view.values()["family_details"] == [{"phone": "000 000 111"}]
    assert table.rows[0].title.text().endswith("1"), "rows are renumbered after a removal"


def test_errors_show_under_their_field_and_table_cell_and_the_first_gets_focus(view_of, qtbot):
    view = view_of("ficha_ingreso")
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_values({"family_details": [{"name": "Primo Ficticio"},
                                        {"name": "Abuela Ficticia", "age": 130}]})
    values = view.values()
    with pytest.raises(forms.ValidationError) as err:
        REGISTRY.get("ficha_ingreso").validate(values)
    view.show_errors(err.value.errors)
    shown = view.errors_shown()
    assert "name_first" in shown and "obligatorio" in shown["name_first"]
    assert "family_details[1].age" in shown, (
        f"the impossible age in row 2 is not pointed at its cell: {sorted(shown)}")
    assert view.banner.isVisible()
    first_path = err.value.errors[0].field
    first_box = view.box(first_path)
    qtbot.waitUntil(lambda: first_box.editor.focus_widget().hasFocus(), timeout=2000)
    view.clear_errors()
    assert view.errors_shown() == {} and not view.banner.isVisible()


def test_the_banner_lists_each_field_in_error_and_jumps_to_it(view_of, qtbot):
    view = view_of("ficha_ingreso")
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    with pytest.raises(forms.ValidationError) as err:
        REGISTRY.get("ficha_ingreso").validate({})
    errors = err.value.errors
    assert len(errors) >= 3
    view.show_errors(errors)
    text = view.banner_text()
    for e in errors:
        assert e.label in text, f"{e.label} is not listed in the banner: {text}"
    last = errors[-1]
    box = view.box(last.field)
    view.scroll.verticalScrollBar().setValue(0)
    view.banner.linkActivated.emit(f"#{len(errors) - 1}")
    qtbot.waitUntil(lambda: box.editor.focus_widget().hasFocus(), timeout=2000)
    top = box.mapTo(view.scroll.widget(), box.rect().topLeft()).y()
    bar = view.scroll.verticalScrollBar().value()
    assert bar <= top <= bar + view.scroll.viewport().height(), "the link did not scroll to it"


def test_required_fields_carry_an_asterisk_and_help_is_shown(view_of):
    view = view_of("ficha_ingreso")
    form = REGISTRY.get("ficha_ingreso")
    for fld in form.fields:
        if not fld.stores_value:
            continue
        box = view.fields.boxes[fld.id]
        assert ("*" in box.label.text()) == fld.required, fld.id
        if fld.help:
            assert box.help.text() == fld.help


def test_read_only_view_cannot_be_edited(view_of):
    view = view_of("ficha_ingreso")
    view.set_read_only(True)
    view.editor("family_details").add_row({"name": "Fila Ficticia"})
    editable = [fid for fid, box in view.fields.boxes.items() if box.editor.is_editable()]
    assert editable == [], f"fields still editable for a read-only user: {editable}"
    assert view.editor("name_first").edit.isReadOnly()
    assert not view.editor("sex").combo.isEnabled()
    table = view.editor("family_details")
    assert not table.add_button.isEnabled()
    assert not table.rows[0].remove_button.isEnabled()
    assert not table.rows[0].fields.boxes["name"].editor.is_editable()


def test_language_switch_retranslates_labels_and_choices_and_keeps_input(view_of, qtbot,
                                                                         quechua):
    set_language("es")
    view = view_of("ficha_ingreso")
    qtbot.keyClicks(view.editor("name_first").edit, "Nina Ficticia")
    combo = view.editor("sex").combo
    combo.setCurrentIndex(1)
    chosen = combo.currentData()
    set_language("qu")
    assert quechua("Nombres") != "Nombres", "the Quechua catalog lacks the test's label"
    assert view.fields.boxes["name_first"].label.text().startswith(quechua("Nombres"))
    sex = REGISTRY.get("ficha_ingreso").field("sex")
    assert combo.currentText() == quechua(sex.choice_label(chosen))
    assert view.editor("name_first").edit.text() == "Nina Ficticia"
    assert combo.currentData() == chosen, "switching language lost a chosen answer"
    set_language("es")
    assert view.fields.boxes["name_first"].label.text().startswith("Nombres")


def test_a_table_keeps_its_row_ids_through_edits_and_removals(view_of, vault, intake_values):
    """Issue 19 B: the table editor gives every stored row back with its id, so an edit on
    screen changes that row's cells only (rows merge with other laptops')."""
    rid = vault.add("ficha_ingreso", intake_values(family_details=[
        {"name": "Rosa Ficticia", "relationship": "mother"},
        {"name": "Juan Ficticio", "relationship": "father"},
        {"name": "Ana Ficticia", "relationship": "aunt_uncle"}]))
    stored = vault.get(rid).values["family_details"]
    view = view_of("ficha_ingreso")
    view.set_values(vault.get(rid).values)
    table = view.editor("family_details")
    table.remove_row(table.rows[0])                 # the rows below move up
    table.rows[0].fields.boxes["phone"].editor.edit.setText("999000111")
    table.add_row({"name": "Luz Ficticia", "relationship": "sibling"})
    rows = view.values()["family_details"]
    assert [r.get("_id") for r in rows] == [stored[1]["_id"], stored[2]["_id"], None], \
        "a row lost its id (or took another's) in the editor"
    vault.update(rid, view.values(), replace=True)
    after = vault.get(rid).values["family_details"]
    assert [r["name"] for r in after] == ["Juan Ficticio", "Ana Ficticia", "Luz Ficticia"]
    edited = {c.field for c in vault.history(rid) if c.seq > 1}
    assert not any(stored[2]["_id"] in f for f in edited), "an untouched row was rewritten"
