"""The resident list: columns, search as you type, status filter, sorting, opening a resident
and refreshing when the vault changes."""
from __future__ import annotations

import sys
import threading
import types

import pytest
from PySide6.QtCore import Qt

from cpc_desktop.core import i18n
from cpc_desktop.ui.residents import COLUMN_INDEX, RESIDENT_ID_ROLE


@pytest.fixture
def listed(main_window, ui_vault, unlock):
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    return main_window.residents_view


def _shown(view, column="name") -> list[str]:
    model, col = view.model, COLUMN_INDEX[column]
    return [model.data(model.index(r, col)) for r in range(model.rowCount())]


def _row_of(view, first_name: str) -> dict[str, str]:
    model = view.model
    for r in range(model.rowCount()):
        if model.data(model.index(r, COLUMN_INDEX["name"])).startswith(first_name):
            return {key: model.data(model.index(r, c)) for key, c in COLUMN_INDEX.items()}
    raise AssertionError(f"{first_name} is not listed")


@pytest.fixture
def opened(monkeypatch):
    """Stands in for the resident window: records open_resident(session, id, parent)."""
    calls = []
    module = types.ModuleType("cpc_desktop.ui.resident_window")
    module.open_resident = lambda session, rid, parent: calls.append(rid)
    monkeypatch.setitem(sys.modules, "cpc_desktop.ui.resident_window", module)
    return calls


def test_columns_show_code_name_age_sex_entry_status_risk_as_people_read_them(listed):
    maria = _row_of(listed, "María")
    assert maria["name"] == "María Huamán Prueba"
    assert maria["code"].startswith("LOR-01-2024-")
    assert maria["sex"] == "Femenino" and maria["risk"] == "Alto"
    assert maria["admission"] == "01/03/2024" and maria["status"] == "En acogida"
    assert _row_of(listed, "Killa")["status"] == "Egresado(a)"
    headers = [listed.model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(listed.model.columnCount())]
    assert headers[COLUMN_INDEX["sex"]] == "Sexo", "headers should come from the intake form"
    assert listed.count.text() == "4 residentes"


def test_search_as_you_type_finds_maria_huaman_by_maria_hua(listed, qtbot):
    with qtbot.waitSignal(listed.search_applied, timeout=5_000,
                          check_params_cb=lambda text, n: text == "maria hua"):
        qtbot.keyClicks(listed.search, "maria hua")
    assert _shown(listed) == ["María Huamán Prueba"]
    assert listed.count.text() == "1 de 4 residentes"
    listed.search.clear()
    qtbot.waitUntil(lambda: listed.model.rowCount() == 4, timeout=5_000)


def test_search_waits_for_a_pause_in_typing(listed, qtbot):
    """Debounced: one query for a burst of keystrokes, not one per key."""
    queries = []
    real = listed.session.vault.search_ids

    def counting(text):
        queries.append(text)
        return real(text)

    listed.session.vault.search_ids = counting
    with qtbot.waitSignal(listed.search_applied, timeout=5_000):
        qtbot.keyClicks(listed.search, "rosa")
    assert queries == ["rosa"], f"each keystroke ran a search: {queries}"


def test_a_stale_search_result_is_discarded(listed, qtbot):
    """A slow answer for an old text must not overwrite the answer for what is typed now."""
    real = listed.session.vault.search_ids
    release = threading.Event()

    def slow_for_rosa(text):
        if text == "rosa":
            release.wait(5)
        return real(text)

    listed.session.vault.search_ids = slow_for_rosa
    applied = []
    listed.search_applied.connect(lambda text, n: applied.append(text))
    listed.search.setText("rosa")
    qtbot.waitUntil(lambda: listed._searching, timeout=2_000)
    listed.search.setText("inti")
    qtbot.wait(250)                       # the debounce fires; "inti" waits its turn
    release.set()
    qtbot.waitUntil(lambda: "inti" in applied, timeout=5_000)
    assert applied == ["inti"], f"a stale result was shown: {applied}"
    assert _shown(listed) == ["Inti Prueba Mamani"]


def test_status_filter_shows_residents_in_care_or_discharged(listed, qtbot):
    combo = listed.status
    combo.setCurrentIndex(combo.findData("discharged"))
    assert _shown(listed) == ["Killa Ficticia Condori"]
    combo.setCurrentIndex(combo.findData("in_care"))
    assert sorted(_shown(listed)) == ["Inti Prueba Mamani", "María Huamán Prueba",
                                      "Rosa Ficticia Quispe"]
    qtbot.keyClicks(listed.search, "killa")
    qtbot.waitSignal(listed.search_applied, timeout=5_000)
    qtbot.waitUntil(lambda: listed.empty.isVisible(), timeout=5_000)
    assert "Ningún residente coincide" in listed.empty.text()


def test_clicking_a_header_sorts_and_keeps_the_selection(listed):
    table = listed.table
    table.sortByColumn(COLUMN_INDEX["name"], Qt.SortOrder.AscendingOrder)
    assert _shown(listed) == sorted(_shown(listed), key=lambda s: s.casefold().replace("í", "i")
                                    .replace("á", "a"))
    table.selectRow(0)
    selected = listed.selected_resident_id()
    table.sortByColumn(COLUMN_INDEX["risk"], Qt.SortOrder.AscendingOrder)
    assert _shown(listed, "risk")[0] == "Alto", "risk should sort by level, high first"
    assert listed.selected_resident_id() == selected, "sorting lost the selected resident"


def test_enter_and_double_click_open_the_resident_and_new_opens_the_intake(listed, qtbot,
                                                                            opened, ui_vault):
    table = listed.table
    table.setFocus()
    table.selectRow(0)
    first = listed.selected_resident_id()
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened == [first]
    index = listed.model.index(1, 0)
    rect = table.visualRect(index)
    # A real double click: press, release, then the double-click event.
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened == [first, listed.model.data(index, RESIDENT_ID_ROLE)]
    listed.new_button.click()
    assert opened[-1] is None, "Nuevo residente should open an empty intake"


def test_list_follows_vault_changes(listed, qtbot, intake_values):
    vault = listed.session.vault
    rid = vault.add("ficha_ingreso", intake_values(name_first="Sumaq", name_last="Prueba Apaza"))
    listed.session.notify(records={rid}, residents={rid})
    qtbot.waitUntil(lambda: listed.model.rowCount() == 5, timeout=5_000)
    assert any(n.startswith("Sumaq") for n in _shown(listed))


def test_choice_labels_follow_the_language(listed, qtbot):
    qu = i18n.gettext_for("qu")
    listed.window().set_language("qu")
    assert _row_of(listed, "María")["sex"] == qu("Femenino")
    assert listed.model.headerData(COLUMN_INDEX["sex"], Qt.Orientation.Horizontal) == qu("Sexo")


def test_search_ids_lists_exactly_the_residents_a_search_lists(listed):
    vault = listed.session.vault
    for text in ("maria hua", "quispe", "ficticia", "lor-01", "zzz", "'"):
        expected = {r.id for r in vault.residents(search=text)}
        assert vault.search_ids(text) == expected, f"search_ids({text!r}) differs"


def test_down_from_the_search_then_enter_opens_the_first_resident(listed, qtbot, opened):
    """Type, Down, Enter: the first Enter opens the resident (it used to be swallowed, only
    moving the focus to the list)."""
    with qtbot.waitSignal(listed.search_applied, timeout=5_000):
        qtbot.keyClicks(listed.search, "maria")
    listed.search.setFocus()
    qtbot.keyClick(listed.search, Qt.Key.Key_Down)
    assert listed.table.hasFocus() or listed.table.currentIndex().row() == 0
    focused = listed.table if listed.table.hasFocus() else listed.search
    qtbot.keyClick(focused, Qt.Key.Key_Return)
    assert len(opened) == 1 and opened[0] == listed.model.data(
        listed.model.index(0, 0), RESIDENT_ID_ROLE)


def test_enter_in_the_search_opens_the_only_match(listed, qtbot, opened):
    with qtbot.waitSignal(listed.search_applied, timeout=5_000):
        qtbot.keyClicks(listed.search, "maria hua")
    qtbot.keyClick(listed.search, Qt.Key.Key_Return)
    assert len(opened) == 1
