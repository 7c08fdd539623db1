"""The duplicates tab's "Unir…" dialog (pytest-qt, offscreen): both residents side by side, an
explicit choice and confirmation, then the list shows one child with every record."""
from __future__ import annotations

import pytest

from cpc_desktop.core.vault import Vault
from cpc_desktop.ui.join_dialog import JoinResidentsDialog


def _add_twins(ui_vault, intake_values, service_values) -> tuple[str, str]:
    v = Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase)
    try:
        twins = [v.add("ficha_ingreso", intake_values(
            name_first="Killa Ficticia", name_last="Mamani Prueba", date_of_birth="2011-07-02",
            internal_code=code, admission_date=day)) for code, day in
            (("DUP-1", "2024-02-01"), ("DUP-2", "2024-02-03"))]
        v.add("registro_atenciones", service_values(), twins[1])
    finally:
        v.lock()
    return twins[0], twins[1]


def _open_dialog(qtbot, window) -> JoinResidentsDialog:
    window.sync_menu.open(2)
    panel = window.sync_controller.panel
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.reload()
    item = next(panel.duplicate_tree.topLevelItem(i)
                for i in range(panel.duplicate_tree.topLevelItemCount())
                if "DUP-1" in panel.duplicate_tree.topLevelItem(i).text(1))
    item.setSelected(True)
    assert panel.join_residents_button.isEnabled(), "a coordinator cannot start a join"
    return panel.join_selected()


def test_join_dialog_shows_both_and_joins_after_choice_and_confirmation(
        qtbot, main_window, unlock, ui_vault, intake_values, service_values):
    keep, other = _add_twins(ui_vault, intake_values, service_values)
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    dialog = _open_dialog(qtbot, main_window)
    qtbot.waitExposed(dialog)
    texts = " ".join(w.text() for w in dialog.findChildren(type(dialog.intro)))
    for expected in ("DUP-1", "DUP-2", "Killa Ficticia Mamani Prueba", "02/07/2011",
                     "01/02/2024", "03/02/2024", "1 registro", "2 registros"):
        assert expected in texts, f"the join dialog does not show {expected!r} of both sides"
    assert not dialog.ok.isEnabled(), "joining was possible without choosing which to keep"
    dialog.radios[0].setChecked(True)
    assert not dialog.ok.isEnabled(), "joining was possible without confirming"
    assert "DUP-2" in dialog.effect.text() and "Conflictos" in dialog.effect.text()
    dialog.confirm.setChecked(True)
    assert dialog.ok.isEnabled()
    panel = main_window.sync_controller.panel
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        dialog.ok.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    vault = main_window.session.vault
    assert vault.resident(other).joined_into == keep
    assert not any("DUP-1" in panel.duplicate_tree.topLevelItem(i).text(1)
                   for i in range(panel.duplicate_tree.topLevelItemCount())), (
        "the joined pair is still listed as possible duplicates")
    qtbot.waitUntil(lambda: other not in {r.id for r in main_window.residents_view.model.rows},
                    timeout=10_000)
    assert len(vault.records(keep, "registro_atenciones")) == 1


@pytest.mark.parametrize("who", ["supervisor", "professional"])
def test_only_the_coordination_gets_the_join_button(qtbot, main_window, unlock, ui_vault,
                                                    intake_values, service_values, who):
    _add_twins(ui_vault, intake_values, service_values)
    unlock(main_window, *getattr(ui_vault, who))
    main_window.sync_menu.open(2)
    panel = main_window.sync_controller.panel
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.reload()
    panel.duplicate_tree.topLevelItem(0).setSelected(True)
    assert not panel.join_residents_button.isEnabled()
    assert "coordinación" in panel.duplicates_hint.text()
