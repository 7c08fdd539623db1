"""A record of another form version in the resident window: an older one says it upgrades
on "Editar" and lists what changes; a newer one (from an updated laptop) is read-only."""
from __future__ import annotations


import pytest
from test_resident_window import world  # noqa: F401 - the fixture, shared
from version_support import newer_forms

from cpc_desktop.core import forms
from cpc_desktop.core.records_store import RecordsStore
from cpc_desktop.paths import resource_path
from cpc_desktop.ui.resident_window import open_resident


def _registry(tmp_path):
    """The shipped forms with the intake a version up (arrival_escort renamed)."""
    return newer_forms(tmp_path, "ficha_ingreso", {"arrival_escort": "arrival_companion"})


@pytest.fixture
def versions(world, monkeypatch):  # noqa: F811 - the imported fixture
    """The resident window's world (tests/ui/test_resident_window.py), forms swapped."""
    return world.vault, world.session, monkeypatch


def _use(vault, registry, monkeypatch):
    monkeypatch.setattr(forms, "registry", lambda: registry)
    vault.forms, vault.store = registry, RecordsStore(registry)


def _editor(qtbot, session, rid):
    window = open_resident(session, rid)
    qtbot.waitUntil(lambda: window.is_loaded, timeout=5000)
    return window, window.intake_tab.editor


def _older_record(qtbot, versions, intake_values, tmp_path):
    """An intake written with version 1, opened after this laptop updated to version 2."""
    vault, session, monkeypatch = versions
    rid = vault.add("ficha_ingreso", intake_values(arrival_escort="Tía Ficticia"))
    _use(vault, _registry(tmp_path), monkeypatch)
    return _editor(qtbot, session, rid)


def test_an_older_record_upgrades_on_edit_saying_what_changes(qtbot, versions, intake_values,
                                                              tmp_path):
    window, editor = _older_record(qtbot, versions, intake_values, tmp_path)
    assert not editor.version_note.isHidden() and "versión 1" in editor.version_note.text()
    assert editor.view.editor("arrival_companion").edit.text() == "Tía Ficticia"
    assert "conservados" not in editor.version_note.text(), \
        "a value the upgrade places was shown as left over"
    editor.start_editing()
    box = editor.confirm_box
    assert box is not None and "Actualizar a la versión 2" in box.windowTitle()
    assert "acompañó" in box.text(), "the change is not named by its label"
    assert editor.reading, "editing started before the person agreed to the upgrade"
    box.accept()
    assert not editor.reading


def test_an_older_record_is_read_in_its_own_versions_layout(qtbot, versions, intake_values,
                                                            tmp_path):
    window, editor = _older_record(qtbot, versions, intake_values, tmp_path)
    shown = editor.shown_view
    assert shown is not editor.view and shown.form.version == 1, "shown in the new layout"
    assert shown.isVisible() and not editor.view.isVisible()
    assert shown.editor("arrival_escort").edit.text() == "Tía Ficticia"
    assert "se muestra y se imprime así" in editor.version_note.text()
    editor.start_editing()
    editor.confirm_box.accept()
    assert editor.shown_view is editor.view and editor.view.isVisible()
    assert "se edita en la versión 2" in editor.version_note.text()
    assert editor.view.editor("arrival_companion").edit.text() == "Tía Ficticia"
    assert editor.old_view is None, "the older view kept the values after editing began"
    editor.cancel()                      # nothing saved: back to reading it as written
    assert editor.shown_view.form.version == 1
    old = editor.shown_view
    window.close_for_lock()
    assert editor.old_view is None and old.editor("arrival_escort").edit.text() == "", \
        "a decrypted value stayed in the older view after the lock"


def test_a_newer_record_is_read_only_and_kept(qtbot, versions, intake_values, tmp_path):
    vault, session, monkeypatch = versions
    v2 = _registry(tmp_path)
    _use(vault, v2, monkeypatch)
    rid = vault.add("ficha_ingreso", intake_values(arrival_companion="Prima Ficticia"))
    # This laptop goes back to the shipped (version 1) forms: the record is from a newer one.
    _use(vault, forms.load_registry(resource_path("forms"),
                                    resource_path("catalogs", "choices.json")), monkeypatch)
    window, editor = _editor(qtbot, session, rid)
    assert "versión 2" in editor.version_note.text()
    assert "Prima Ficticia" in editor.version_note.text(), "a newer value is not shown"
    assert not editor.edit_button.isEnabled()
    editor.start_editing()
    assert editor.reading, "a record of a newer form version could be edited"
