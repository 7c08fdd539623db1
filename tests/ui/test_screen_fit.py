"""Safe editing and small screens: the wheel never edits a field without focus (a resident's
birthplace once changed while a coordinator only scrolled), windows fit a 1280×720 laptop,
Escape and Ctrl+W close a resident window."""
from __future__ import annotations

import contextlib

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (QApplication, QComboBox, QPushButton, QScrollArea, QSpinBox,
                               QVBoxLayout, QWidget)

from cpc_desktop.ui import screen_fit
from cpc_desktop.ui.lang import set_language
from cpc_desktop.ui.resident_window import open_resident, open_windows
from cpc_desktop.ui.session import Session


@contextlib.contextmanager
def opened_resident(qtbot, tmp_path, vault_factory, intake_values, services: int = 0,
                    service_values=None, new: bool = False):
    """A resident window on a fresh vault (a new, empty intake with new=True); closed after."""
    created = vault_factory(tmp_path / "vault")
    rid = None if new else created.vault.add("ficha_ingreso",
                                             intake_values(name_first="Nina Prueba"))
    for _ in range(services):
        created.vault.add("registro_atenciones", service_values(), rid)
    session = Session(created.path)
    session.attach(created.vault)
    try:
        window = open_resident(session, rid)
        if not new:
            qtbot.waitUntil(lambda: window.is_loaded, timeout=5000)
        yield window
    finally:
        for w in open_windows():
            w._force_close = True
            w.close()
        session.lock()


@pytest.fixture(autouse=True)
def guard(qapp):
    return screen_fit.install_wheel_guard(qapp)


def wheel(widget, steps: int = -3) -> None:
    """A real wheel event over the widget's centre (down by default), as Qt delivers it."""
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def scrolling_form(qtbot):
    page = QWidget()
    layout = QVBoxLayout(page)
    combo, spin = QComboBox(), QSpinBox()
    combo.addItems([f"opción {i}" for i in range(10)])
    spin.setRange(0, 100)
    spin.setValue(50)
    layout.addWidget(combo)
    layout.addWidget(spin)
    layout.addSpacing(3000)
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.resize(400, 300)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    return area, combo, spin


def test_the_wheel_over_an_unfocused_field_scrolls_the_page_and_changes_nothing(qtbot):
    area, combo, spin = scrolling_form(qtbot)
    area.setFocus()
    wheel(combo)
    wheel(spin)
    wheel(spin.lineEdit() if hasattr(spin, "lineEdit") else spin)
    assert (combo.currentIndex(), spin.value()) == (0, 50)
    assert area.verticalScrollBar().value() > 0, "the page scrolls instead"


def test_the_wheel_still_changes_the_field_that_has_focus(qtbot):
    """Where the person chose the field (clicked or tabbed into it), the wheel is theirs."""
    area, combo, spin = scrolling_form(qtbot)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    wheel(spin, steps=1)
    assert spin.value() != 50


def test_the_wheel_over_an_existing_residents_birthplace_changes_nothing(
        qtbot, tmp_path, vault_factory, intake_values):
    with opened_resident(qtbot, tmp_path, vault_factory, intake_values) as window:
        window.intake_tab.editor.start_editing()     # reading changes nothing anyway
        combos = [c for c in window.findChildren(QComboBox) if c.isEnabled()]
        spins = window.findChildren(QSpinBox)
        assert len(combos) > 10
        window.setFocus()
        for widget in combos + spins:
            if not widget.hasFocus():
                wheel(widget)      # Qt moves a drop-down one item per event, whatever
                wheel(widget)      # the delta: two events down, never back
        assert not window.dirty, "scrolling marked the record as changed"


@pytest.mark.parametrize("screen", [(1280, 720), (1366, 768)])
@pytest.mark.parametrize("language", ["es", "qu"])
def test_resident_window_fits_a_small_laptop_screen(
        qtbot, tmp_path, vault_factory, intake_values, monkeypatch, screen, language):
    """The free area of a 1280×720 or 1366×768 screen with a 40 px taskbar: the window, its
    Guardar and Cerrar buttons inside it — also in Quechua, whose labels are longer."""
    free = QRect(0, 0, screen[0], screen[1] - 40)
    monkeypatch.setattr(screen_fit, "available_geometry", lambda widget=None: free)
    set_language(language)
    try:
        _check_resident_window_fits(qtbot, tmp_path, vault_factory, intake_values, free)
    finally:
        set_language("es")


def _check_resident_window_fits(qtbot, tmp_path, vault_factory, intake_values, free):
    with opened_resident(qtbot, tmp_path, vault_factory, intake_values) as window:
        qtbot.waitUntil(lambda: window.intake_tab.editor is not None, timeout=5000)
        window.intake_tab.editor.start_editing()
        save = window.findChild(QPushButton, "saveButton")
        qtbot.waitUntil(lambda: save is not None and save.isVisible(), timeout=5000)
        frame_w = window.width() + screen_fit.FRAME_MARGIN[0]
        frame_h = window.height() + screen_fit.FRAME_MARGIN[1]
        assert frame_w <= free.width() and frame_h <= free.height(), window.size()
        assert window.minimumSizeHint().height() <= window.height()
        assert free.contains(QRect(window.pos(), window.size()))
        # Buttons of the window itself (Guardar, Cerrar…), not those a form scrolls to.
        buttons = [b for b in window.findChildren(QPushButton)
                   if b.isVisible() and screen_fit._scroll_area(b) is None]
        assert save in buttons, [b.text() for b in buttons]
        for button in buttons:
            top_left = button.mapTo(window, QPoint(0, 0))
            assert window.rect().contains(QRect(top_left, button.size())), button.text()


@pytest.mark.parametrize("key", ["escape", "ctrl+w"])
def test_escape_and_ctrl_w_close_a_resident_window(
        qtbot, tmp_path, vault_factory, intake_values, key):
    with opened_resident(qtbot, tmp_path, vault_factory, intake_values) as window:
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=3000)
        if key == "escape":
            qtbot.keyClick(window, Qt.Key.Key_Escape)
        else:
            qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)


def test_letters_typed_in_a_number_field_are_explained_not_silently_dropped(qtbot):
    """"una hora" in Duración: the validator refuses the letters; the person is told why."""
    from PySide6.QtWidgets import QToolTip

    from cpc_desktop.core import forms
    from cpc_desktop.ui.widgets.fields import editor_for

    duration = forms.registry().get("registro_atenciones").field("duration_minutes")
    editor = editor_for(duration, None)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    qtbot.keyClicks(editor.edit, "una hora")
    assert editor.value() is None
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    assert "solo van números" in QToolTip.text()


def test_a_corrected_field_loses_its_error_at_once(
        qtbot, tmp_path, vault_factory, intake_values):
    import datetime as dt

    with opened_resident(qtbot, tmp_path, vault_factory, intake_values, new=True) as window:
        view = window.intake_tab.editor.view
        tomorrow = (dt.date.today() + dt.timedelta(days=1)).strftime("%d/%m/%Y")
        qtbot.keyClicks(view.editor("admission_date").edit, tomorrow)
        qtbot.mouseClick(window.intake_tab.editor.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "admission_date" in view.errors_shown(), timeout=5000)
        assert "name_last" in view.errors_shown()
        edit = view.editor("admission_date").edit
        edit.clear()
        qtbot.keyClicks(edit, dt.date.today().strftime("%d/%m/%Y"))
        shown = view.errors_shown()
        assert "admission_date" not in shown and "name_last" in shown, shown
        assert not view.banner.isHidden(), "other fields still need a look"


def test_clicking_a_service_shows_it_beside_the_list(
        qtbot, tmp_path, vault_factory, intake_values, service_values):
    with opened_resident(qtbot, tmp_path, vault_factory, intake_values, services=3,
                         service_values=service_values) as window:
        tab = window.tab_for("registro_atenciones")
        window.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(lambda: tab.built and tab.model.rowCount() == 3, timeout=5000)
        rect = tab.table.visualRect(tab.model.index(1, 0))
        qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.waitUntil(lambda: tab.editor is not None and tab.editor.record is not None,
                        timeout=3000)
        assert tab.editor.record_id == tab.model.records[1].id


@pytest.mark.parametrize("screen", [(1280, 720), (1366, 768)])
def test_report_window_fits_a_small_laptop_screen(qtbot, ui_vault, monkeypatch, screen):
    """The report window asked for 1280×760 whatever the screen: on a 1280×720 laptop its
    export and close buttons fell below the taskbar."""
    from cpc_desktop.core.vault import Vault
    from cpc_desktop.ui.report_window import ReportWindow

    free = QRect(0, 0, screen[0], screen[1] - 40)
    monkeypatch.setattr(screen_fit, "available_geometry", lambda widget=None: free)
    session = Session(ui_vault.path)
    session.attach(Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase))
    try:
        window = ReportWindow(session)
        window.show()
        qtbot.waitExposed(window)
        assert window.width() + screen_fit.FRAME_MARGIN[0] <= free.width(), window.size()
        assert window.height() + screen_fit.FRAME_MARGIN[1] <= free.height(), window.size()
        for button in (window.pdf_button, window.csv_button, window.close_button):
            top_left = button.mapTo(window, QPoint(0, 0))
            assert window.rect().contains(QRect(top_left, button.size())), button.text()
        window.close()
    finally:
        session.lock()


@pytest.mark.parametrize("language", ["es", "qu"])
def test_the_services_register_uses_the_width_with_whole_titles_and_the_note(
        qtbot, tmp_path, vault_factory, intake_values, service_values, monkeypatch, language):
    from cpc_desktop.ui import lang

    free = QRect(0, 0, 1280, 680)
    monkeypatch.setattr(screen_fit, "available_geometry", lambda widget=None: free)
    with opened_resident(qtbot, tmp_path, vault_factory, intake_values, services=3,
                         service_values=service_values) as window:
        lang.set_language(language)
        tab = window.tab_for("registro_atenciones")
        window.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(lambda: tab.built and tab.model.rowCount() == 3, timeout=5000)
        qtbot.wait(20)
        table, header = tab.table, tab.table.horizontalHeader()
        assert table.width() > window.width() * 0.8, "the right half is left empty"
        fm = header.fontMetrics()
        last = tab.model.columnCount() - 1
        for col in range(last):
            title = tab.model.headerData(col, Qt.Orientation.Horizontal)
            assert header.sectionSize(col) >= fm.horizontalAdvance(title) + 12, title
        assert not table.horizontalScrollBar().isVisible(), "the note is behind a scroll bar"
        assert header.sectionSize(last) >= 150, "the note column is squeezed out"
        rect = table.visualRect(tab.model.index(0, 0))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.waitUntil(lambda: tab.editor is not None and tab.right.isVisible(), timeout=3000)
