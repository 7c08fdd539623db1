"""The Pendientes dock of the main window on a vault whose due dates are known (relative to
today): shown after unlock, overdue first, "Mis pendientes" / "Todo el centro", opening the
resident at the item's form. Everyone here is fictional.
"""
from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from tests.conftest import COORDINATOR, create_vault, make_intake_values

TODAY = dt.date.today()
JUAN = "Lic. Juan Ficticio"


def d(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def pending_vault(tmp_path):
    """Ana (the coordinator's): plan review 3 days overdue, objective due in 4 days.
    Beto (Juan's): plan review due in 2 days. Both consented and seen recently."""
    created = create_vault(tmp_path / "vault")
    vault, ids = created.vault, {}
    for key, code, first, owner, review, rows in (
            ("ana", "P-ANA", "Ana", COORDINATOR.display_name, d(-3),
             [{"deadline": d(4), "status": "pending"}]),
            ("beto", "P-BETO", "Beto", JUAN, d(2), [])):
        rid = vault.add("ficha_ingreso", make_intake_values(
            admission_date=d(-60), internal_code=code, name_first=first,
            name_last="Ficticio Prueba", completed_by=owner))
        vault.add("consentimiento", {"consent_date": d(-59)}, rid)
        vault.add("registro_atenciones", {"service_date": d(-1), "service_area": "legal",
                                          "professional": owner}, rid)
        vault.add("pti", {"period_start": d(-50), "review_date": review, "completed_by": owner,
                          "cp_case_plan": [dict(r, objective="Objetivo ficticio")
                                           for r in rows]}, rid)
        ids[key] = rid
    vault.lock()
    return created.path, ids


def _rows(view):
    m = view.model
    return [tuple(m.data(m.index(r, c)) for c in range(m.columnCount()))
            for r in range(m.rowCount())]


@pytest.fixture
def shown(qtbot, pending_vault, unlock):
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    path, ids = pending_vault
    window = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(window)
    window.start(path)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.pending_view.loaded, timeout=10_000):
        unlock(window, COORDINATOR.user, COORDINATOR.passphrase)
    # the first screen, then the whole list
    qtbot.waitUntil(lambda: window.pending_view.model.result.complete, timeout=10_000)
    yield window, ids
    from cpc_desktop.ui.resident_window import open_windows
    for w in open_windows():
        w.close()
    window.session.lock()


def test_shown_after_unlock_overdue_first_mine_only(shown):
    window, _ids = shown
    view = window.pending_view
    assert window.pending_dock.isVisible() and view.table.isVisible()
    assert view.mine_button.isChecked()
    rows = _rows(view)
    assert [r[1] for r in rows] == ["P-ANA", "P-ANA"]          # Beto is Juan's
    assert rows[0][0] == "⚠ Vencido" and rows[0][3] == "Revisión del PTI"
    assert rows[0][2] == "Ana Ficticio Prueba"
    assert rows[0][5] == "3 días de atraso"
    assert view.model.data(view.model.index(0, 0), Qt.ItemDataRole.ForegroundRole) is not None
    assert rows[1][0] == "Próximo" and rows[1][5] == "faltan 4 días"
    assert view.model.data(view.model.index(1, 0), Qt.ItemDataRole.ForegroundRole) is None
    assert "1 vencido" in view.count.text() and "1 próximo" in view.count.text()


def test_toggle_shows_whole_shelter(shown):
    window, ids = shown
    view = window.pending_view
    view.all_button.click()
    rows = _rows(view)
    # Overdue first, then by date: Beto's review (2 days) before Ana's objective (4 days).
    assert [(r[1], r[5]) for r in rows] == [("P-ANA", "3 días de atraso"),
                                            ("P-BETO", "faltan 2 días"),
                                            ("P-ANA", "faltan 4 días")]
    view.mine_button.click()
    assert len(_rows(view)) == 2


def test_double_click_and_enter_open_the_resident_at_the_form(qtbot, shown):
    window, ids = shown
    view = window.pending_view
    from cpc_desktop.ui.resident_window import open_windows

    view.all_button.click()
    table = view.table
    rect = table.visualRect(view.model.index(1, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: any(w.resident_id == ids["beto"] for w in open_windows()))
    beto = next(w for w in open_windows() if w.resident_id == ids["beto"])
    assert beto.tabs.currentWidget().form.form == "pti"

    table.setFocus()
    table.setCurrentIndex(view.model.index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(w.resident_id == ids["ana"] for w in open_windows()))


def test_refreshed_after_a_save_and_cleared_on_lock(qtbot, shown):
    window, ids = shown
    view = window.pending_view
    vault = window.session.vault
    vault.add("pti", {"period_start": d(-1), "review_date": d(90),
                      "completed_by": COORDINATOR.display_name}, ids["ana"])
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        window.session.notify(residents={ids["ana"]})
    kinds = [i.kind for i in view.model.items]
    assert "plan_review" not in kinds          # the newer plan superseded the overdue one
    window.session.lock()
    assert view.model.rowCount() == 0 and not window.pending_dock.isVisible()


def test_nothing_of_mine_points_to_the_whole_shelter(qtbot, shown):
    window, _ids = shown
    view = window.pending_view
    result = view.model.result
    view.model.set_result(result, "otra.persona")
    view._update_count()
    assert view.model.rowCount() == 0
    assert "Todo el centro" in view.count.text() and COORDINATOR.display_name in view.count.text()
    view.all_button.click()
    assert view.model.rowCount() == 3 and "vencido" in view.count.text()


def test_an_item_opens_its_exact_record_at_its_field(qtbot, shown):
    window, ids = shown
    view = window.pending_view
    vault = window.session.vault
    # An older plan of Ana's: her window lists two plans; the item is about the newer one.
    vault.add("pti", {"period_start": d(-300), "review_date": d(-200),
                      "completed_by": COORDINATOR.display_name}, ids["ana"])
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        window.session.notify(residents={ids["ana"]})
    from PySide6.QtWidgets import QApplication

    from cpc_desktop.ui.resident_window import open_windows

    row = next(n for n, i in enumerate(view.model.items) if i.kind == "objective_deadline")
    item = view.model.item_at(row)
    newer = max(vault.records(ids["ana"], "pti"), key=lambda r: r.values["period_start"])
    assert item.record_id == newer.id and item.row == 0
    view.open_item(row)
    qtbot.waitUntil(lambda: any(w.resident_id == ids["ana"] and w.is_loaded
                                for w in open_windows()))
    ana = next(w for w in open_windows() if w.resident_id == ids["ana"])
    tab = ana.tabs.currentWidget()
    assert tab.form.form == "pti" and len(tab.model.records) == 2
    qtbot.waitUntil(lambda: tab.editor is not None and tab.editor.record_id == newer.id)
    cell = tab.editor.view.box("cp_case_plan[0].deadline")
    assert cell is not None
    ana.activateWindow()
    qtbot.waitUntil(lambda: cell.isAncestorOf(QApplication.focusWidget()), timeout=3000)


def _window(qtbot, path):
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    window = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(window)
    window.start(path)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.mark.parametrize("fails", [False, True])
def test_the_list_loads_after_pendientes_even_when_it_fails(qtbot, pending_vault, unlock,
                                                            monkeypatch, fails):
    """Pendientes is the first screen: the list's long read waits for it instead of holding
    the vault and the CPU while it computes; a failed Pendientes must not keep the list away."""
    from cpc_desktop.core import pending
    from cpc_desktop.core.errors import VaultError

    if fails:
        def broken(*_a, **_kw):
            raise VaultError("fallo de prueba")
        monkeypatch.setattr(pending, "compute", broken)
    path, _ids = pending_vault
    window = _window(qtbot, path)
    order: list[str] = []
    window.pending_view.loaded.connect(lambda _n: order.append("pendientes"))
    window.residents_view.list_loaded.connect(lambda *_a: order.append("list"))
    real_reload = window.residents_view.reload
    monkeypatch.setattr(window.residents_view, "reload",
                        lambda *a: order.append("list starts") or real_reload(*a))
    window.session.settled.disconnect()
    window.session.settled.connect(window.residents_view.reload)
    with qtbot.waitSignal(window.residents_view.list_loaded, timeout=10_000):
        unlock(window, COORDINATOR.user, COORDINATOR.passphrase)
    if fails:
        from PySide6.QtWidgets import QApplication, QMessageBox
        for box in QApplication.topLevelWidgets():
            if isinstance(box, QMessageBox):
                box.close()
        assert order == ["list starts", "list"]
    else:   # (the whole Pendientes list may come before or after the list)
        assert order[:2] == ["pendientes", "list starts"] and "list" in order
    assert window.residents_view.model.rowCount() == 2
    window.session.lock()


def test_the_first_screen_counts_everything_and_the_rest_comes_under_it(
        qtbot, pending_vault, unlock, monkeypatch):
    from cpc_desktop.ui import pending_view
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    monkeypatch.setattr(pending_view, "FIRST_ROWS", 1)
    path, _ids = pending_vault
    window = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(window)
    window.start(path)
    window.show()
    view = window.pending_view
    view.all_button.setChecked(True)
    seen = []
    view.loaded.connect(lambda n: seen.append((n, view.model.result.complete,
                                               view.count.text())))
    inserted = []
    view.model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    unlock(window, COORDINATOR.user, COORDINATOR.passphrase)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
    try:
        assert seen[0] == (1, False, "1 vencido · 2 próximos"), "the first screen's counts"
        assert seen[1] == (3, True, "1 vencido · 2 próximos")
        assert inserted == [(1, 2)], "the whole list replaced the first screen"
        assert [r[1] for r in _rows(view)] == ["P-ANA", "P-BETO", "P-ANA"]
    finally:
        window.session.lock()


def test_a_change_right_after_unlock_does_not_keep_the_list_away(qtbot, pending_vault,
                                                                 unlock):
    """A save or a sync just after unlock replaces the first screen's computation by a whole
    one: that one must release the list all the same."""
    path, _ids = pending_vault
    window = _window(qtbot, path)
    view = window.pending_view
    window.session.unlocked.connect(view.reload)      # after the first screen's request
    with qtbot.waitSignal(window.residents_view.list_loaded, timeout=10_000):
        unlock(window, COORDINATOR.user, COORDINATOR.passphrase)
    assert view.model.result.complete and window.residents_view.model.rowCount() == 2
    window.session.lock()
