"""Alerts on a resident: written in the intake form, shown in the resident's header and
marked in the list (with the text on hover), in Spanish and Quechua, and refreshed when
the intake is saved."""
from __future__ import annotations

from PySide6.QtCore import Qt

from cpc_desktop.core import case_alerts
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui import lang
from cpc_desktop.ui.residents import COLUMN_INDEX
from cpc_desktop.ui.resident_window import open_resident

ALERTS = "No contactar a su tío materno\n- riesgo de fuga\n\naudiencia el 12/03/2027"


def _row_of(view, rid):
    model = view.model
    return next(r for r in range(model.rowCount()) if model.resident_at(r).id == rid)


def test_alerts_show_in_the_list_and_the_header_in_both_languages(
        main_window, ui_vault, unlock, qtbot, coordinator):
    rid = ui_vault.ids["Rosa"]
    with Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase) as vault:
        vault.update(rid, {case_alerts.FIELD: ALERTS})
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    view = main_window.residents_view
    model = view.model
    row = _row_of(view, rid)
    name = model.index(row, COLUMN_INDEX["name"])
    assert model.data(name).startswith("⚠ "), "the list does not mark the resident's alerts"
    tip = model.data(name, Qt.ItemDataRole.ToolTipRole)
    assert tip == "Alertas: No contactar a su tío materno; riesgo de fuga; audiencia el 12/03/2027"
    other = _row_of(view, ui_vault.ids["Inti"])
    assert not model.data(model.index(other, COLUMN_INDEX["name"])).startswith("⚠")

    window = open_resident(main_window.session, rid, main_window)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.is_loaded, timeout=5000)
    label = window.alerts_label
    assert label.isVisibleTo(window) and "riesgo de fuga" in label.text()
    assert "No contactar a su tío materno · riesgo de fuga · audiencia el 12/03/2027" \
        in label.text()
    lang.set_language("qu")
    assert "Alertas" not in label.text() and "riesgo de fuga" in label.text()
    assert "Alertas" not in model.data(name, Qt.ItemDataRole.ToolTipRole)
    lang.set_language("es")

    # Cleared in the window and saved: header and list follow.
    editor = window.intake_tab.editor
    editor.start_editing()
    editor.view.editor(case_alerts.FIELD).set_value("")
    editor.view.refresh()
    editor.save(confirmed=True)
    qtbot.waitUntil(lambda: not editor.dirty and not editor.saving, timeout=5000)
    assert not label.isVisibleTo(window)
    qtbot.waitUntil(lambda: not model.data(model.index(_row_of(view, rid),
                                                       COLUMN_INDEX["name"])).startswith("⚠"),
                    timeout=5000)
