"""A resident's record window: intake of a new resident, services, care plan, discharge,
drafts across a lock, read-only supervisors, language switching and the unsaved guard."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from cpc_desktop.core import display, forms
from cpc_desktop.core.errors import PermissionDenied, VaultBusy
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui.lang import set_language
from cpc_desktop.ui.resident_window import (ResidentWindow, open_resident, open_windows,
                                            record_drafts)
from cpc_desktop.ui.session import Session

TODAY = dt.date.today()
REGISTRY = forms.registry()


@dataclass
class World:
    session: Session
    vault: Vault
    path: Path
    resident_id: str
    login: object


@pytest.fixture
def world(qtbot, tmp_path, vault_factory, intake_values):
    created = vault_factory(tmp_path / "vault")
    resident_id = created.vault.add("ficha_ingreso", intake_values(name_first="Nina Prueba"))
    session = Session(created.path)
    session.attach(created.vault)
    yield World(session, created.vault, created.path, resident_id, created.coordinator)
    for window in open_windows():
        window._force_close = True
        window.close()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()
    session.lock()
    session.deleteLater()


def opened(qtbot, session, resident_id) -> ResidentWindow:
    window = open_resident(session, resident_id)
    assert window is not None
    qtbot.waitUntil(lambda: window.is_loaded, timeout=5000)
    return window


def find_box(name: str) -> QMessageBox | None:
    return next((w for w in QApplication.topLevelWidgets()
                 if w.objectName() == name and w.isVisible()), None)


def confirm_changes(qtbot) -> None:
    """Saving a stored record lists its changes first: "Guardar" there."""
    qtbot.waitUntil(lambda: find_box("confirmChanges") is not None, timeout=3000)
    click(find_box("confirmChanges"), "Guardar")


def click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


def choose_first(combo) -> None:
    combo.setCurrentIndex(1)


def test_new_resident_intake_shows_validation_errors_inline_then_saves_once_fixed(world, qtbot):
    window = open_resident(world.session, None)
    view = window.intake_tab.editor.view
    qtbot.keyClicks(view.editor("name_first").edit, "Nina Nueva")
    tomorrow = (TODAY + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    qtbot.keyClicks(view.editor("admission_date").edit, tomorrow)
    assert not window.tabs.isTabEnabled(1), "a resident not saved yet cannot have a care plan"

    qtbot.mouseClick(window.intake_tab.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(view.errors_shown()), timeout=5000)
    shown = view.errors_shown()
    assert "futuro" in shown.get("admission_date", ""), f"future date not flagged: {shown}"
    assert "obligatorio" in shown.get("name_last", ""), f"missing surname not flagged: {shown}"
    assert view.editor("name_first").edit.text() == "Nina Nueva", "a failed save lost input"
    assert window.resident_id is None

    view.editor("admission_date").edit.setText(TODAY.strftime("%d/%m/%Y"))
    qtbot.keyClicks(view.editor("name_last").edit, "Ficticia Prueba")
    for fid in ("sex", "referral_source", "risk_level"):
        choose_first(view.editor(fid).combo)
    qtbot.keyClick(view.editor("name_last").edit, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.resident_id is not None, timeout=5000)
    resident = world.vault.resident(window.resident_id)
    assert (resident.name_first, resident.name_last) == ("Nina Nueva", "Ficticia Prueba")
    assert view.errors_shown() == {}
    assert not window.intake_tab.editor.dirty
    assert window.code_label.text() == resident.internal_code
    assert all(window.tabs.isTabEnabled(i) for i in range(window.tabs.count()))
    assert open_resident(world.session, window.resident_id) is window, (
        "opening the same resident again made a second window")


def test_tabs_follow_the_form_definitions(world, qtbot):
    window = opened(qtbot, world.session, world.resident_id)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[0] == REGISTRY.intake.title
    assert titles[-1] == "Adjuntos", "the attachments tab comes after the forms"
    assert sorted(titles[:-1]) == sorted(f.title for f in REGISTRY)
    services = window.tab_for("registro_atenciones")
    headers = [services.model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(services.model.columnCount())]
    form = REGISTRY.get("registro_atenciones")
    assert headers[0] == form.field(form.date_field).label
    assert all(h in {f.label for f in form.fields} for h in headers), headers


def test_quick_add_row_logs_a_service_with_enter(world, qtbot):
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("registro_atenciones")
    window.tabs.setCurrentWidget(tab)
    quick = tab.quick
    assert quick.editors["service_date"].value() == TODAY.isoformat()
    assert quick.editors["professional"].value() == world.login.display_name
    qtbot.keyClick(quick.editors["duration_minutes"].edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: quick.error.isVisible(), timeout=5000)
    assert tab.model.rowCount() == 0, "a service without its area was logged"

    choose_first(quick.editors["service_area"].combo)
    area = quick.editors["service_area"].value()
    qtbot.keyClicks(quick.editors["duration_minutes"].edit, "30")
    qtbot.keyClicks(quick.editors["note"].edit, "Control ficticio")
    qtbot.keyClick(quick.editors["note"].edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=5000)
    [record] = world.vault.records(world.resident_id, "registro_atenciones")
    assert record.values == {"service_date": TODAY.isoformat(), "service_area": area,
                             "professional": world.login.display_name,
                             "duration_minutes": 30, "note": "Control ficticio"}
    assert quick.editors["note"].value() is None and not quick.error.isVisible()
    assert quick.editors["service_date"].value() == TODAY.isoformat()
    assert tab.model.data(tab.model.index(0, 0)) == TODAY.strftime("%d/%m/%Y")


def test_editing_a_pti_objective_in_the_repeating_table_is_saved(world, qtbot):
    pti = REGISTRY.get("pti")
    area = pti.field("cp_case_plan").columns[0].choices[0].value
    pti_id = world.vault.add("pti", {"period_start": "2025-01-10", "cp_case_plan": [
        {"area": area, "objective": "Objetivo ficticio uno"},
        {"area": area, "objective": "Objetivo ficticio dos"}]}, world.resident_id)
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("pti")
    window.tabs.setCurrentWidget(tab)
    tab.select(pti_id)
    tab.open_selected()
    tab.editor.start_editing()
    table = tab.editor.view.editor("cp_case_plan")
    assert len(table.rows) == 2
    cell = table.rows[1].fields.boxes["objective"].editor.edit
    cell.selectAll()
    qtbot.keyClicks(cell, "Objetivo ficticio revisado")
    assert tab.editor.dirty
    qtbot.mouseClick(tab.editor.save_button, Qt.MouseButton.LeftButton)
    confirm_changes(qtbot)
    qtbot.waitUntil(lambda: not tab.editor.dirty and not tab.editor.saving, timeout=5000)
    stored = world.vault.get(pti_id).values["cp_case_plan"]
    assert [r["objective"] for r in stored] == ["Objetivo ficticio uno",
                                               "Objetivo ficticio revisado"]

    tab.editor.history_button.click()
    history = tab.editor.history
    qtbot.waitUntil(lambda: history.table.rowCount() > 0, timeout=5000)
    cells = {history.table.item(r, 2).text() for r in range(history.table.rowCount())}
    assert pti.field("cp_case_plan").label in cells, f"history lacks the table change: {cells}"
    whens = [history.table.item(r, 0).text() for r in range(history.table.rowCount())]
    assert all(len(w) == 16 and w[2] == "/" for w in whens), whens


def test_discharge_form_marks_the_resident_discharged(world, qtbot):
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("ficha_egreso")
    window.tabs.setCurrentWidget(tab)
    editor = tab.editor
    assert editor is not None and editor.record is None
    view = editor.view
    view.editor("discharge_date").edit.setText(TODAY.strftime("%d/%m/%Y"))
    reason = REGISTRY.get("ficha_egreso").field("discharge_reason").choices[0].value
    combo = view.editor("discharge_reason").combo
    combo.setCurrentIndex(combo.findData(reason))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.record is not None, timeout=5000)
    assert world.vault.resident(world.resident_id).status == "discharged"
    assert display.format_status("discharged") in window.status_label.text()


def test_lock_while_editing_keeps_a_draft_clears_the_window_and_unlock_restores_it(
        world, qtbot):
    code = world.vault.resident(world.resident_id).internal_code
    window = opened(qtbot, world.session, world.resident_id)
    window.intake_tab.editor.start_editing()
    view = window.intake_tab.editor.view
    qtbot.keyClicks(view.editor("name_nickname").edit, "Apodo Ficticio")
    tab = window.tab_for("registro_atenciones")
    tab.build()  # its widgets are made when first shown; the intake tab is in front
    qtbot.keyClicks(tab.quick.editors["note"].edit, "Nota a medias")
    world.session.lock()
    assert view.editor("name_nickname").edit.text() == "", "a decrypted value stayed on screen"
    assert window.closed and not open_windows()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)

    vault = Vault.open(world.path, world.login.user, world.login.passphrase)
    drafts = record_drafts(vault)
    assert len(drafts) == 2, f"the lock did not keep both unsaved inputs: {list(drafts)}"
    world.session.attach(vault)
    qtbot.waitUntil(lambda: find_box("draftOffer") is not None, timeout=2000)
    box = find_box("draftOffer")
    assert code in box.text() and REGISTRY.intake.title in box.text(), box.text()
    click(box, "Recuperar")
    qtbot.waitUntil(lambda: bool(open_windows()) and open_windows()[0].is_loaded, timeout=5000)
    restored = open_windows()[0]
    editor = restored.intake_tab.editor
    assert editor.view.editor("name_nickname").edit.text() == "Apodo Ficticio"
    assert editor.dirty, "restored input must still count as unsaved"
    services_editor = restored.tab_for("registro_atenciones").editor
    assert services_editor is not None and services_editor.view.values()["note"] == \
        "Nota a medias"

    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    confirm_changes(qtbot)
    qtbot.waitUntil(lambda: not editor.dirty, timeout=5000)
    assert vault.get(world.resident_id).values["name_nickname"] == "Apodo Ficticio"
    qtbot.waitUntil(lambda: len(record_drafts(vault)) == 1, timeout=5000)
    services_editor.cancel()
    qtbot.waitUntil(lambda: not record_drafts(vault), timeout=5000)


def test_supervisor_sees_everything_read_only_and_the_vault_refuses_anyway(world, qtbot):
    world.vault.add_user("supervision.prueba", "supervisor", "frase ficticia supervisora")
    world.vault.add("registro_atenciones", {"service_date": "2025-02-01",
                                            "service_area": "legal",
                                            "professional": "Abogada Ficticia"},
                    world.resident_id)
    world.session.lock()
    vault = Vault.open(world.path, "supervision.prueba", "frase ficticia supervisora")
    world.session.attach(vault)
    window = opened(qtbot, world.session, world.resident_id)
    assert window.read_only and window.readonly_label.isVisible()
    editor = window.intake_tab.editor
    editable = [fid for fid, box in editor.view.fields.boxes.items() if box.editor.is_editable()]
    assert editable == [], f"a supervisor can type in: {editable}"
    assert not editor.save_button.isEnabled() and not editor.cancel_button.isEnabled()
    tab = window.tab_for("registro_atenciones")
    window.tabs.setCurrentWidget(tab)
    tab.table.selectRow(0)
    assert not tab.new_button.isEnabled() and not tab.delete_button.isEnabled()
    assert tab.open_button.isEnabled(), "a supervisor must still be able to read records"
    assert not tab.quick.add_button.isEnabled() and not tab.quick.isVisible()
    assert not any(e.is_editable() for e in tab.quick.editors.values())
    tab.open_selected()
    assert not tab.editor.save_button.isEnabled()
    assert not tab.editor.view.editor("note").is_editable()
    with pytest.raises(PermissionDenied):
        vault.update(world.resident_id, {"name_nickname": "Cambio"})


def test_language_switch_retranslates_the_window_and_keeps_typed_input(world, qtbot):
    qu = gettext_for("qu")
    window = opened(qtbot, world.session, world.resident_id)
    editor = window.intake_tab.editor
    editor.start_editing()
    qtbot.keyClicks(editor.view.editor("name_nickname").edit, "Apodo")
    try:
        set_language("qu")
        assert qu(REGISTRY.intake.title) != REGISTRY.intake.title
        assert window.tabs.tabText(0) == qu(REGISTRY.intake.title)
        assert editor.save_button.text() == qu("Guardar")
        assert editor.view.editor("name_nickname").edit.text() == "Apodo"
        assert editor.dirty
    finally:
        set_language("es")
    assert window.tabs.tabText(0) == REGISTRY.intake.title


def test_closing_with_unsaved_changes_asks_first(world, qtbot):
    window = opened(qtbot, world.session, world.resident_id)
    window.intake_tab.editor.start_editing()
    qtbot.keyClicks(window.intake_tab.editor.view.editor("name_nickname").edit, "Apodo")
    window.close()
    qtbot.waitUntil(lambda: find_box("unsavedGuard") is not None, timeout=2000)
    assert window.isVisible(), "the window closed without asking about unsaved changes"
    click(find_box("unsavedGuard"), "Cancelar")
    assert window.isVisible() and window.intake_tab.editor.dirty
    window.close()
    qtbot.waitUntil(lambda: find_box("unsavedGuard") is not None, timeout=2000)
    click(find_box("unsavedGuard"), "Guardar")
    confirm_changes(qtbot)
    qtbot.waitUntil(lambda: window.closed, timeout=5000)
    assert world.vault.get(world.resident_id).values["name_nickname"] == "Apodo"


def test_switching_records_with_unsaved_changes_asks_and_discard_drops_them(world, qtbot):
    first = world.vault.add("consentimiento", {"consent_date": "2025-01-02"}, world.resident_id)
    world.vault.add("consentimiento", {"consent_date": "2025-02-03"}, world.resident_id)
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("consentimiento")
    window.tabs.setCurrentWidget(tab)
    tab.select(first)
    tab.open_selected()
    tab.editor.start_editing()
    qtbot.keyClicks(tab.editor.view.editor("completed_by").edit, "Cambio")
    tab.new_button.click()
    qtbot.waitUntil(lambda: find_box("unsavedGuard") is not None, timeout=2000)
    assert tab.editor.record_id == first
    click(find_box("unsavedGuard"), "Descartar")
    assert tab.editor.record is None and not tab.editor.dirty
    assert "completed_by" not in world.vault.get(first).values


def test_a_failed_save_says_why_and_keeps_the_input(world, qtbot, monkeypatch):
    window = opened(qtbot, world.session, world.resident_id)
    editor = window.intake_tab.editor

    def busy(*_a, **_k):
        raise VaultBusy("La bóveda está siendo usada por otro programa.")

    monkeypatch.setattr(world.vault, "update", busy)
    editor.start_editing()
    qtbot.keyClicks(editor.view.editor("name_nickname").edit, "Apodo")
    editor.save_button.click()
    confirm_changes(qtbot)
    qtbot.waitUntil(lambda: find_box("errorBox") is not None, timeout=5000)
    assert "otro programa" in find_box("errorBox").text()
    assert editor.view.editor("name_nickname").edit.text() == "Apodo"
    assert editor.dirty and window.isVisible()


def test_coordinator_deletes_a_service_after_confirming(world, qtbot):
    service = world.vault.add("registro_atenciones", {
        "service_date": "2025-02-01", "service_area": "legal",
        "professional": "Abogada Ficticia"}, world.resident_id)
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("registro_atenciones")
    window.tabs.setCurrentWidget(tab)
    tab.select(service)
    tab.delete_button.click()
    qtbot.waitUntil(lambda: find_box("confirmBox") is not None, timeout=2000)
    click(find_box("confirmBox"), "Eliminar")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 0, timeout=5000)
    assert world.vault.get(service).deleted


def test_forms_kept_for_reuse_hold_no_decrypted_value_after_a_lock(world, qtbot):
    from cpc_desktop.ui import form_view

    window = opened(qtbot, world.session, world.resident_id)
    assert window.intake_tab.editor.view.values()["name_first"] == "Nina Prueba"
    world.session.lock()
    kept = [view for views in form_view._pool.values() for view in views]
    assert kept, "closing the window should keep its forms for the next one"
    leaks = [view.form.form for view in kept if view.values()]
    assert leaks == [], f"forms kept after the lock still hold a resident's values: {leaks}"


def test_reopening_a_resident_reuses_a_kept_form_and_shows_the_right_values(world, qtbot,
                                                                            intake_values):
    other = world.vault.add("ficha_ingreso", intake_values(name_first="Otra Prueba"))
    first = opened(qtbot, world.session, world.resident_id)
    view = first.intake_tab.editor.view
    first.close()
    qtbot.waitUntil(lambda: first.closed, timeout=2000)
    second = opened(qtbot, world.session, other)
    assert second.intake_tab.editor.view is view, "the kept intake form was not reused"
    assert view.values()["name_first"] == "Otra Prueba"
    assert not second.intake_tab.editor.dirty


def test_switching_tabs_with_unsaved_changes_asks_first(world, qtbot):
    window = opened(qtbot, world.session, world.resident_id)
    window.intake_tab.editor.start_editing()
    qtbot.keyClicks(window.intake_tab.editor.view.editor("name_nickname").edit, "Apodo")
    services = window.tab_for("registro_atenciones")
    window.tabs.setCurrentWidget(services)
    qtbot.waitUntil(lambda: find_box("unsavedGuard") is not None, timeout=2000)
    assert window.tabs.currentIndex() == 0, "the tab changed before the question was answered"
    click(find_box("unsavedGuard"), "Cancelar")
    assert window.tabs.currentIndex() == 0 and window.intake_tab.editor.dirty
    window.tabs.setCurrentWidget(services)
    qtbot.waitUntil(lambda: find_box("unsavedGuard") is not None, timeout=2000)
    click(find_box("unsavedGuard"), "Descartar")
    assert window.tabs.currentWidget() is services
    assert not window.intake_tab.editor.dirty
    assert window.intake_tab.editor.view.editor("name_nickname").edit.text() == ""


def test_services_list_headers_fit_after_switching_to_quechua(world, qtbot):
    """Column widths are fitted to the header texts again when the language changes: the
    Quechua date header ("Yanapaypa p'unchawnin") is longer than the Spanish one and was cut."""
    world.vault.add("registro_atenciones", {"service_date": TODAY.isoformat(),
                                            "service_area": "mental_health",
                                            "professional": "Ps. Ficticia Demo"},
                    resident_id=world.resident_id)
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("registro_atenciones")
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.built and tab.model.rowCount() == 1, timeout=5000)
    header = tab.table.horizontalHeader()
    try:
        set_language("qu")
        cut = [(col, tab.model.headerData(col, Qt.Orientation.Horizontal))
               for col in range(tab.model.columnCount() - 1)
               if header.sectionSize(col) < min(header.sectionSizeHint(col), 220)]
        assert cut == [], f"Quechua column headers cut off in the services list: {cut}"
    finally:
        set_language("es")


def test_a_stored_record_opens_for_reading_and_saving_shows_the_changes_first(world, qtbot):
    window = opened(qtbot, world.session, world.resident_id)
    editor = window.intake_tab.editor
    view = editor.view
    before = world.vault.get(world.resident_id).values.get("name_nickname")
    qtbot.waitUntil(editor.isVisible, timeout=3000)
    assert editor.reading and editor.edit_button.isVisibleTo(window)
    assert not editor.save_button.isVisibleTo(window)
    qtbot.keyClicks(view.editor("name_nickname").edit, "Tecla perdida")
    assert not editor.dirty, "typing changed a record opened for reading"

    editor.edit_button.click()
    assert not editor.reading and editor.save_button.isVisibleTo(window)
    view.editor("name_nickname").edit.setText("Apodo Ficticio Nuevo")
    view.refresh()
    editor.save_button.click()
    qtbot.waitUntil(lambda: find_box("confirmChanges") is not None, timeout=3000)
    box = find_box("confirmChanges")
    label = REGISTRY.intake.field("name_nickname").label
    assert f"{label}: {before or '—'} → Apodo Ficticio Nuevo" in box.text(), box.text()
    click(box, "Seguir editando")
    assert world.vault.get(world.resident_id).values.get("name_nickname") == before, \
        "the change was saved before it was confirmed"
    assert editor.dirty and not editor.reading
    editor.save_button.click()
    confirm_changes(qtbot)
    qtbot.waitUntil(lambda: not editor.dirty and editor.reading, timeout=5000)
    assert world.vault.get(world.resident_id).values["name_nickname"] == "Apodo Ficticio Nuevo"

    editor.edit_button.click()
    editor.cancel_button.click()
    assert editor.reading, "Cancelar without changes should go back to reading"


def test_the_professional_a_record_names_starts_as_the_signed_in_user_and_offers_the_others(
        world, qtbot):
    """The owner field (caso_legal's "responsible") names who a hearing is due to: a new
    record starts with the signed-in user and typing offers the vault's active users, so the
    name written is one "Mis pendientes" finds."""
    world.vault.add_user("juan.ficticio", "professional", "otra frase ficticia 2024",
                         display_name="Juan Ficticio Prueba")
    window = opened(qtbot, world.session, world.resident_id)
    tab = window.tab_for("caso_legal")
    window.tabs.setCurrentWidget(tab)
    editor = tab.ensure_editor()            # the resident has no caso legal yet: a new one
    assert editor.record is None
    field = editor.view.editor("responsible")
    assert field.value() == world.login.display_name
    qtbot.waitUntil(lambda: field.edit.completer() is not None, timeout=5000)
    completer = field.edit.completer()
    completer.setCompletionPrefix("ficti")
    found = {completer.completionModel().index(r, 0).data()
             for r in range(completer.completionModel().rowCount())}
    assert found == {world.login.display_name, "Juan Ficticio Prueba"}
    window._force_close = True
    window.close()
    assert field.edit.completer() is None, "a kept form still holds the vault's user names"
