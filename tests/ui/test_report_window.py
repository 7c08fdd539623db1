"""The reports window: a period's report on screen, who sees full counts, bad periods,
exports, the shelter choice and the language (pytest-qt, offscreen).

Two vaults: a small demo vault (fixed seed and today) for numbers worth comparing, and the
four-resident `ui_vault` for counts small enough to be hidden ("<5"). Expected numbers come
from `cpc_desktop.reports` itself: the window must show what the reports package decides.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import zipfile

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from cpc_desktop import demo
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.core.vault import Vault
from cpc_desktop.reports import ReportRequest, build_report, check_request, protect, shown
from cpc_desktop.reports.model import FULL_COUNTS_NOTE, PROTECTION_NOTE, ReportError
from cpc_desktop.ui import lang, report_window
from cpc_desktop.ui.report_window import ReportWindow, last_semester
from cpc_desktop.ui.session import Session

TODAY = dt.date(2026, 6, 30)
PASS = "frase ficticia de prueba 2024"
SMALL_START, SMALL_END = dt.date(2024, 1, 1), dt.date(2024, 6, 30)   # ui_vault's residents


@pytest.fixture(scope="session")
def demo_vault_path(tmp_path_factory):
    """30 demo residents, seed 5, `today` fixed: the same numbers on every run."""
    path = tmp_path_factory.mktemp("report-ui") / "vault"
    vault, _key = demo.create_demo_vault(path, residents=30, seed=5, kdf_seconds=0,
                                         services_per_resident=4, today=TODAY)
    vault.lock()
    return path


@pytest.fixture
def open_window(qtbot):
    """open_window(path, user, passphrase, compute=True) → a ReportWindow on that vault,
    with its first report computed; every vault is locked (and its window closed) after."""
    sessions = []

    def make(path, user, passphrase, compute=True):
        session = Session(path)
        session.attach(Vault.open(path, user, passphrase))
        sessions.append(session)
        window = ReportWindow(session, today=TODAY)
        window.show()
        if compute:
            with qtbot.waitSignal(window.computed, timeout=10_000):
                window.compute()
        return window

    yield make
    for session in sessions:
        session.lock()


def _model_text(block, row_id: str, column: int) -> str:
    model = block.model
    row = next(i for i, r in enumerate(model.table.rows) if r.id == row_id)
    return model.data(model.index(row, column))


def _set_period(window, start: str, end: str) -> None:
    window.start_edit.edit.setText(start)
    window.end_edit.edit.setText(end)


# ====================================================================== numbers

def test_a_computed_table_total_is_the_reports_packages_own_total(open_window,
                                                                  demo_vault_path):
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    start, end = last_semester(TODAY)
    vault = Vault.open(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    try:
        expected = build_report(vault, ReportRequest(start, end, vault.shelter_code),
                                today=TODAY)
    finally:
        vault.lock()
    assert window.report.request.start == start and window.report.request.end == end
    block = window.show_table("ingreso_sex")
    total = expected.table("ingreso_sex").value("total")
    assert total > 0, "the demo vault should have children in care in the semester"
    assert _model_text(block, "total", 1) == str(total), \
        "the table's total on screen differs from the report's: a coordinator would " \
        "report a wrong number"
    summary = window.show_table("resumen")
    assert _model_text(summary, "served", 1) == str(expected.table("resumen").value("served"))
    # "No registrado" rows stay visible, and counts are right-aligned.
    assert _model_text(block, "__not_recorded__", 0) == "No registrado", \
        "the 'not recorded' row is missing: missing data would silently vanish"
    model = block.model
    align = model.data(model.index(0, 1), Qt.ItemDataRole.TextAlignmentRole)
    assert align & int(Qt.AlignmentFlag.AlignRight), "counts must be right-aligned"
    assert block.chart.spec is not None and block.chart.spec.kind == "bar"
    assert window.show_table("ingresos_egresos_por_mes").chart.spec.kind == "line"


def test_changing_only_the_period_reuses_the_records_already_read(open_window, qtbot,
                                                                   demo_vault_path,
                                                                   monkeypatch):
    calls = []
    real_load = report_window.load
    monkeypatch.setattr(report_window, "load",
                        lambda *a, **k: calls.append(1) or real_load(*a, **k))
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    first = window.report.table("resumen").value("served")
    with qtbot.waitSignal(window.computed, timeout=10_000):
        window.choose_period("anio-actual")
    assert window.report.request.start == dt.date(TODAY.year, 1, 1)
    with qtbot.waitSignal(window.computed, timeout=10_000):
        _set_period(window, "01/01/2025", "31/12/2025")
        window.compute_button.click()
    assert len(calls) == 1, f"the vault was read {len(calls)} times for three periods"
    assert window.report.request.end == dt.date(2025, 12, 31)
    assert first > 0


def test_coordinator_sees_full_counts_and_a_professional_sees_protected_ones(
        open_window, ui_vault, qtbot):
    coordinator = open_window(ui_vault.path, ui_vault.user, ui_vault.passphrase,
                              compute=False)
    _set_period(coordinator, "01/01/2024", "30/06/2024")
    coordinator.compute()
    coordinator_report = _wait_report(qtbot, coordinator)
    block = coordinator.show_table("ingreso_sex")
    assert _model_text(block, "female", 1) == "3", "a coordinator must see the exact count"
    assert coordinator.legend.text() == FULL_COUNTS_NOTE
    coordinator.session.lock()

    professional = open_window(ui_vault.path, *ui_vault.professional, compute=False)
    _set_period(professional, "01/01/2024", "30/06/2024")
    professional.compute()
    report = _wait_report(qtbot, professional)
    assert report.protected and not coordinator_report.protected
    block = professional.show_table("ingreso_sex")
    assert _model_text(block, "female", 1) == "<5", \
        "a professional saw an exact small count: a child could be recognised"
    assert PROTECTION_NOTE in professional.legend.text(), "the '<5' legend is missing"
    assert "Menos de 5" in block.model.data(block.model.index(0, 1),
                                            Qt.ItemDataRole.ToolTipRole)


def _wait_report(qtbot, window):
    qtbot.waitUntil(lambda: window.report is not None and not window.busy, timeout=10_000)
    return window.report


def test_the_charts_draw_on_white_with_their_labels(open_window, demo_vault_path, qtbot):
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    window.resize(1280, 760)
    chart = window.show_table("ingresos_egresos_por_mes").chart
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 300, timeout=3_000)
    image = chart.grab().toImage()
    dark = sum(1 for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
               if image.pixelColor(x, y).lightness() < 60)
    total = len(range(0, image.width(), 7)) * len(range(0, image.height(), 7))
    assert dark / total < 0.05, "the chart is drawn on black: nobody could read it"
    svg = report_window.chart_svg_for_qt(chart.spec, 500)
    assert b"clipPath" not in svg and b"CPC-Regular" not in svg


@pytest.mark.parametrize("today, start, end", [
    ((2026, 6, 29), (2025, 7, 1), (2025, 12, 31)),
    ((2026, 6, 30), (2026, 1, 1), (2026, 6, 30)),
    ((2026, 11, 23), (2026, 1, 1), (2026, 6, 30)),
    ((2026, 12, 31), (2026, 7, 1), (2026, 12, 31)),
    ((2027, 1, 1), (2026, 7, 1), (2026, 12, 31)),
])
def test_last_semester_is_the_latest_half_year_that_has_ended(today, start, end):
    assert last_semester(dt.date(*today)) == (dt.date(*start), dt.date(*end))


# ====================================================================== bad input

def test_start_after_end_shows_the_error_and_keeps_the_inputs(open_window, demo_vault_path,
                                                               qtbot):
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    before = window.report
    _set_period(window, "01/07/2026", "30/06/2026")
    with qtbot.waitSignal(window.failed, timeout=2_000) as failed:
        window.compute_button.click()
    with pytest.raises(ReportError) as expected:
        check_request(ReportRequest(dt.date(2026, 7, 1), dt.date(2026, 6, 30)), TODAY)
    assert window.error_label.isVisible()
    assert window.error_label.text() == failed.args[0] == str(expected.value), \
        "the window must say what the reports package says about the period"
    assert window.start_edit.edit.text() == "01/07/2026" and \
        window.end_edit.edit.text() == "30/06/2026", "the typed dates were lost"
    assert window.report is before, "a refused period must not replace the report"

    _set_period(window, "01/01/2026", "31/12/2030")
    window.compute_button.click()
    assert "futura" in window.error_label.text()
    _set_period(window, "31/02/2026", "30/06/2026")
    window.compute_button.click()
    assert "31/02/2026" in window.error_label.text(), "an impossible date must be named"
    assert window.start_edit.edit.text() == "31/02/2026"


def test_an_empty_period_says_so(open_window, demo_vault_path, qtbot):
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    with qtbot.waitSignal(window.computed, timeout=10_000):
        _set_period(window, "01/01/2015", "31/12/2015")
        window.compute_button.click()
    assert not window.error_label.isVisible()
    assert window.notice_label.isVisible() and "No hay" in window.notice_label.text(), \
        "an all-zero report without a word of why would look like lost data"


def test_cancelling_the_first_read_leaves_no_report(open_window, demo_vault_path, qtbot,
                                                    monkeypatch):
    release = threading.Event()
    real_load = report_window.load

    def slow_load(*args, **kwargs):
        release.wait(5)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(report_window, "load", slow_load)
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE,
                         compute=False)
    window.compute()
    qtbot.waitUntil(lambda: window._task is not None and window._codes is not None
                    and window.busy and window.compute_button.isEnabled() is False,
                    timeout=5_000)
    window._task.cancel()
    release.set()
    qtbot.waitUntil(lambda: not window.busy, timeout=5_000)
    assert window.report is None
    assert "cancel" in window.notice_label.text().lower()
    assert window.compute_button.isEnabled(), "after a cancel one must be able to try again"


# ====================================================================== exports

def test_export_csv_writes_a_protected_zip_at_the_chosen_path(open_window, ui_vault, qtbot,
                                                              tmp_path, monkeypatch):
    window = open_window(ui_vault.path, ui_vault.user, ui_vault.passphrase, compute=False)
    _set_period(window, "01/01/2024", "30/06/2024")
    window.compute()
    report = _wait_report(qtbot, window)
    assert not report.protected, "the coordinator's screen report should be full"
    out = tmp_path / "salida" / "informe"
    out.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    window.csv_button.click()
    written = out.with_name("informe.zip")
    qtbot.waitUntil(lambda: written.exists() and not window.busy, timeout=10_000)
    with zipfile.ZipFile(written) as zf:
        name = next(n for n in zf.namelist() if n.endswith("_ingreso_sex.csv"))
        text = zf.read(name).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    female = next(r for r in rows if r and r[0] == "Femenino")
    expected = protect(report).table("ingreso_sex").cell("female")
    assert female[1] == shown(expected, report.table("ingreso_sex").columns[0]) == "<5", \
        "an export carried an exact small count: exports must always be protected"
    assert not list(out.parent.glob(".*.part")), "a half-written file was left behind"
    assert "informe.zip" in window.notice_label.text()

    # A name ending in .csv: only the table shown.
    window.show_table("ingreso_sex")
    single = tmp_path / "salida" / "sexo.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(single), "")))
    window.csv_button.click()
    qtbot.waitUntil(lambda: single.exists() and not window.busy, timeout=10_000)
    rows = list(csv.reader(io.StringIO(single.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "Sexo" and any(r and r[0] == "Femenino" for r in rows)


def test_export_pdf_writes_a_pdf_at_the_chosen_path(open_window, ui_vault, qtbot, tmp_path,
                                                    monkeypatch):
    window = open_window(ui_vault.path, *ui_vault.professional, compute=False)
    _set_period(window, "01/01/2024", "30/06/2024")
    window.compute()
    _wait_report(qtbot, window)
    out = tmp_path / "informe.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    window.pdf_button.click()
    qtbot.waitUntil(lambda: out.exists() and not window.busy, timeout=15_000)
    assert out.read_bytes().startswith(b"%PDF"), "the export is not a PDF"


# ====================================================================== shelters, language, menu

def test_the_shelter_choice_appears_only_when_the_vault_holds_several(open_window, ui_vault,
                                                                      qtbot):
    window = open_window(ui_vault.path, ui_vault.user, ui_vault.passphrase, compute=False)
    _set_period(window, "01/01/2024", "30/06/2024")
    window.compute()
    _wait_report(qtbot, window)
    assert not window.shelter_combo.isVisible(), "one shelter: nothing to choose"
    window.session.lock()

    # Records of a second shelter, as sync would bring them.
    vault = Vault.open(ui_vault.path, ui_vault.user, ui_vault.passphrase)
    with vault.writing() as conn:
        conn.execute("UPDATE records SET shelter='CUS-02' WHERE resident_id=?",
                     (ui_vault.ids["Inti"],))
    vault.lock()
    window = open_window(ui_vault.path, ui_vault.user, ui_vault.passphrase, compute=False)
    _set_period(window, "01/01/2024", "30/06/2024")
    window.compute()
    _wait_report(qtbot, window)
    assert window.shelter_combo.isVisible()
    assert window.shelter_combo.count() == 3, "expected 'all' and the two shelters"
    window.shelter_combo.setCurrentIndex(window.shelter_combo.findData("CUS-02"))
    with qtbot.waitSignal(window.computed, timeout=10_000):
        window.compute_button.click()
    assert window.report.request.shelter == "CUS-02"
    assert window.report.table("resumen").value("served") == 1, \
        "the report of one shelter counted children of another"


def test_switching_language_changes_the_headings_without_recomputing(open_window,
                                                                     demo_vault_path,
                                                                     monkeypatch):
    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    calls = []
    real_build = report_window.build_report
    monkeypatch.setattr(report_window, "build_report",
                        lambda *a, **k: calls.append(1) or real_build(*a, **k))
    block = window.show_table("ingreso_sex")
    assert block.title.text() == "Sexo"
    quechua = gettext_for("qu")("Sexo")
    assert quechua != "Sexo", "the catalog should translate this heading for the test"
    lang.set_language("qu")
    assert block.title.text() == quechua, "the heading did not follow the language"
    assert window.contents.findItems(quechua, Qt.MatchFlag.MatchRecursive)
    assert block.model.headerData(0, Qt.Orientation.Horizontal) == quechua
    assert not calls, "switching the language computed the report again"


def test_the_menu_opens_reports_and_locking_closes_them(main_window, ui_vault, unlock, qtbot):
    action = main_window.act_reports
    assert not action.isEnabled(), "reports must not open on a locked vault"
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    assert action.isEnabled()
    action.trigger()
    window = report_window._window
    assert window is not None and window.isVisible()
    qtbot.waitUntil(lambda: window.report is not None or window.error_label.isVisible(),
                    timeout=10_000)
    main_window.lock()
    assert window._closed and window.report is None and window._data is None, \
        "the report stayed on screen after the vault locked"
    assert report_window._window is None
    assert not action.isEnabled()


# ====================================================================== periods and the release log

def test_every_period_a_coordinator_needs_is_offered_and_partial_ones_say_so(
        demo_vault_path, qtbot):
    from cpc_desktop.reports import periods

    session = Session(demo_vault_path)
    session.attach(Vault.open(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE))
    try:
        window = ReportWindow(session, today=dt.date(2026, 6, 18))
        window.show()
        offered = [window.period_combo.itemData(i) for i in range(window.period_combo.count())]
        assert offered[:-1] == [pid for pid, *_r in periods.PRESETS] and offered[-1] == ""
        with qtbot.waitSignal(window.computed, timeout=10_000):
            window.choose_period("mes-anterior")
        assert (window.report.request.start, window.report.request.end) == (
            dt.date(2026, 5, 1), dt.date(2026, 5, 31))
        assert "mayo 2026" in window.meta_label.text()
        assert window.pdf_button.isEnabled() and window.csv_button.isEnabled()
        with qtbot.waitSignal(window.computed, timeout=10_000):
            window.choose_period("semestre-actual")
        assert (window.report.request.start, window.report.request.end) == (
            dt.date(2026, 1, 1), dt.date(2026, 6, 18))
        assert "parcial, hasta el 18/06/2026" in window.meta_label.text()
        # A partial period is for the screen: exporting it is off, and the hint says why.
        assert not window.pdf_button.isEnabled() and not window.csv_button.isEnabled()
        assert "no ha terminado" in window.export_hint.text()
        # Quechua: the choice and the partial mark follow the language.
        lang.set_language("qu")
        try:
            assert window.period_combo.itemText(0) != "Este mes hasta hoy — junio 2026 " \
                "(parcial, hasta el 18/06/2026)"
        finally:
            lang.set_language("es")
        window.close()
    finally:
        session.lock()


def test_an_export_the_release_log_refuses_shows_why_and_writes_nothing(
        qtbot, tmp_path, monkeypatch):
    path = tmp_path / "vault"
    vault, _key = Vault.create(path, shelter_code="CUS-09", shelter_name="Casa Ficticia UI",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    for n in range(12):
        vault.add("ficha_ingreso", {"admission_date": f"2025-0{1 + n % 9}-1{n % 10}",
                                    "name_first": "Ficticia", "name_last": f"Estable {n}",
                                    "sex": "female", "referral_source": "upe",
                                    "risk_level": "medium", "age": 13})
    vault.add("ficha_ingreso", {"admission_date": "2026-02-10", "name_first": "Ficticio",
                                "name_last": "De Paso", "sex": "male",
                                "referral_source": "upe", "risk_level": "high", "age": 16})
    vault.lock()
    session = Session(path)
    session.attach(Vault.open(path, "coord", PASS))
    try:
        window = ReportWindow(session, today=dt.date(2026, 6, 30))
        window.show()
        for n, (start, end) in enumerate((("01/01/2026", "31/01/2026"),
                                          ("01/01/2026", "31/03/2026"))):
            _set_period(window, start, end)
            with qtbot.waitSignal(window.computed, timeout=10_000):
                window.compute()
            out = tmp_path / f"informe-{n}.zip"
            monkeypatch.setattr(QFileDialog, "getSaveFileName",
                                staticmethod(lambda *a, _o=out, **k: (str(_o), "")))
            window.csv_button.click()
            qtbot.waitUntil(lambda: not window.busy, timeout=10_000)
        assert (tmp_path / "informe-0.zip").exists()
        assert not (tmp_path / "informe-1.zip").exists(), \
            "the quarter was written: with January it tells the child admitted in February"
        assert "ya compartido" in window.error_label.text()
        assert window.error_label.isVisible()
        window.close()
    finally:
        session.lock()


def test_the_period_choice_names_the_dates_shown_not_other_dates(open_window,
                                                                 demo_vault_path, qtbot):
    """The window opened on the last semester with "Otras fechas" in the choice."""
    from cpc_desktop.reports import periods

    window = open_window(demo_vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    pid = window.period_combo.currentData()
    assert pid, window.period_combo.currentText()
    p = periods.preset(pid, TODAY)
    assert (p.start, p.end) == (window.report.request.start, window.report.request.end)
    _set_period(window, "03/02/2026", "17/03/2026")
    with qtbot.waitSignal(window.computed, timeout=10_000):
        window.compute()
    assert window.period_combo.currentData() == ""
