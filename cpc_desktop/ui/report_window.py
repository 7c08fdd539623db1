"""The "Informes" window: a period's statistics on screen (tables and charts) and their
protected PDF and CSV exports.

Every number, every "<5" and every decision about who sees full counts comes from
`cpc_desktop.reports`: this module only shows what `build_report()` returns for the signed-in
user. The vault is read once (`reports.load`) on a worker; another period is then recomputed
from that data in a moment. Texts are translated when shown, so switching the language
redraws the report without computing it again. Locking the vault closes the window.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import textwrap
from pathlib import Path

from PySide6.QtCore import (QAbstractTableModel, QByteArray, QModelIndex, QObject, QRectF, Qt,
                            QTimer, Signal)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QFontDatabase, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QFrame, QHBoxLayout,
                               QLabel, QMenu, QPushButton, QScrollArea, QSizePolicy, QSplitter,
                               QStackedWidget, QTableView, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from ..core import forms, i18n
from ..core.display import format_date
from ..core.i18n import N_, _
from ..paths import resource_path
from ..reports import (ChartSpec, Report, ReportError, ReportRequest, Table, build_report,
                       chart_drawing, chart_of, chart_svg, check_request, load, shown)
from ..reports import fonts as report_fonts
from ..reports import periods, releases
from ..reports.compute import NA, NR
from ..reports.model import (COMPLEMENT_NOTE, FULL_COUNTS_NOTE, PROTECTION_NOTE, WITHHELD_NOTE,
                             Label)
from ..reports.pdf import TITLE, period_text
from ..reports.suppression import COMPLEMENT, PRIMARY, WITHHELD
from .lang import language_bus
from .screen_fit import fit_to_screen
from .session import Session
from .tasks import TaskHandle, error_text, run_task
from .widgets.fields import DateEditor, tint

# Screen pixels per chart point: the charts' 6.5–7.5 pt texts come out at 10–12 px.
CHART_SCALE = 1.6
CHART_MIN_POINTS = 300        # narrower, the category labels would be cut to nothing
LABEL_COLUMN_MAX_PX = 380     # longer row labels wrap instead of pushing the numbers away
HEADER_WRAP_CHARS = 16        # count column titles wrap: "Niñas, niños y adolescentes"
SIDE_BY_SIDE_MAX_COLUMNS = 2  # tables this narrow get their chart beside them, not below

DISPLAY = int(Qt.ItemDataRole.DisplayRole)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
FONT = int(Qt.ItemDataRole.FontRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

HIDDEN_SMALL_TIP = N_("Menos de 5: la cifra se oculta para que nadie pueda reconocer a una "
                      "niña, niño o adolescente.")
STALE_NOTE = N_("Hubo cambios en la bóveda después de calcular este informe: pulse "
                "«Calcular» para ponerlo al día.")

_window: "ReportWindow | None" = None
_last_dir: Path | None = None


# ====================================================================== periods

def last_semester(today: dt.date) -> tuple[dt.date, dt.date]:
    """The latest half-year (January–June or July–December) that has ended by `today`."""
    y = today.year
    if (today.month, today.day) == (12, 31):
        return dt.date(y, 7, 1), dt.date(y, 12, 31)
    if (today.month, today.day) >= (6, 30):
        return dt.date(y, 1, 1), dt.date(y, 6, 30)
    return dt.date(y - 1, 7, 1), dt.date(y - 1, 12, 31)


# ====================================================================== a table on screen

def _not_recorded(row_id: str) -> bool:
    return row_id.endswith(NR) or row_id == NA


class ReportTableModel(QAbstractTableModel):
    """One report table: the row label, then the table's columns as the report shows them
    (`reports.shown`: the count, "<5", "*", "x" or a statistic). Texts are translated when
    read, so `retranslate()` only has to say that they changed."""

    def __init__(self, table: Table, parent=None):
        super().__init__(parent)
        self.table = table
        self._bold, self._italic = QFont(), QFont()
        self._bold.setBold(True)
        self._italic.setItalic(True)
        self._total_bg = QBrush(QColor("#EEF2F6"))
        self._hidden_bg = QBrush(QColor("#FFF3D6"))
        self._muted = QBrush(QColor("#555555"))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else len(self.table.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else 1 + len(self.table.columns)

    def text(self, row: int, column: int) -> str:
        r = self.table.rows[row]
        if column == 0:
            return r.label(_)
        return shown(r.cells[column - 1], self.table.columns[column - 1])

    def data(self, index: QModelIndex, role: int = DISPLAY):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        r = self.table.rows[row]
        if role == DISPLAY:
            return self.text(row, col)
        if role == ALIGN:
            return _LEFT if col == 0 else _RIGHT
        if role == FONT:
            if r.total:
                return self._bold
            if col == 0 and _not_recorded(r.id):
                return self._italic
            return None
        if role == FOREGROUND and col == 0 and _not_recorded(r.id):
            return self._muted
        cell = r.cells[col - 1] if col > 0 else None
        if role == BACKGROUND:
            if cell is not None and cell.mark is not None:
                return self._hidden_bg
            return self._total_bg if r.total else None
        if role == TOOLTIP and cell is not None and cell.mark is not None:
            column = self.table.columns[col - 1]
            if column.kind == "stat" and self.table.note is not None:
                return self.table.note(_)
            return {PRIMARY: _(HIDDEN_SMALL_TIP), COMPLEMENT: _(COMPLEMENT_NOTE),
                    WITHHELD: _(WITHHELD_NOTE)}.get(cell.mark)
        return None

    def headerData(self, section: int, orientation, role: int = DISPLAY):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == DISPLAY:
            if section == 0:
                return self.table.row_header(_)
            return textwrap.fill(self.table.columns[section - 1].label(_), HEADER_WRAP_CHARS,
                                 break_long_words=False)
        if role == ALIGN:
            return _LEFT if section == 0 else _RIGHT
        return None

    def retranslate(self) -> None:
        last = self.columnCount() - 1
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, last)
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, last))


class ReportTableView(QTableView):
    """A table as tall and as wide as its content: the page scrolls, not each table."""

    def __init__(self, model: ReportTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.verticalHeader().hide()
        self.setWordWrap(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignRight
                                                    | Qt.AlignmentFlag.AlignVCenter)
        self.horizontalHeader().setSectionsClickable(False)
        self.horizontalHeader().setHighlightSections(False)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def fit(self) -> None:
        self.resizeColumnsToContents()
        if self.columnWidth(0) > LABEL_COLUMN_MAX_PX:
            self.setColumnWidth(0, LABEL_COLUMN_MAX_PX)
        for c in range(1, self.model().columnCount()):
            self.setColumnWidth(c, self.columnWidth(c) + 10)
        self.resizeRowsToContents()
        frame = 2 * self.frameWidth()
        header = self.horizontalHeader().sizeHint().height()
        rows = sum(self.rowHeight(r) for r in range(self.model().rowCount()))
        cols = sum(self.columnWidth(c) for c in range(self.model().columnCount()))
        self.setFixedSize(cols + frame, header + rows + frame)


# ====================================================================== charts

@functools.cache
def _chart_families() -> tuple[str, str]:
    """The Qt font families of the fonts reports measure their charts with (DejaVu Sans
    when shipped), so labels placed by reportlab land where Qt draws them."""
    families = []
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        path = resource_path("fonts", name)
        found = QFontDatabase.applicationFontFamilies(
            QFontDatabase.addApplicationFont(str(path))) if path.exists() else []
        families.append(found[0] if found else "")
    regular = families[0] or "Helvetica"
    return regular, families[1] or regular


_CLIP = re.compile(rb'<clipPath id="clip">.*?</clipPath>', re.S)


def chart_svg_for_qt(spec: ChartSpec, width_pt: float) -> bytes:
    """chart_svg() as QSvgRenderer draws it right: without reportlab's page-sized clip path
    (QtSvg paints its rectangle black over the whole chart), with "fill: none" spelt in
    lower case, and with reportlab's font names swapped for the families Qt knows."""
    svg = chart_svg(spec, width_pt, title=False)
    svg = _CLIP.sub(b"", svg).replace(b' style="clip-path: url(#clip)"', b"")
    svg = svg.replace(b"fill: None;", b"fill: none;")
    regular, bold = _chart_families()
    svg = svg.replace(f"font-family: {report_fonts.BOLD};".encode(),
                      f"font-family: '{bold}'; font-weight: bold;".encode())
    return svg.replace(f"font-family: {report_fonts.REGULAR};".encode(),
                       f"font-family: '{regular}';".encode())


class ChartView(QWidget):
    """One report chart (bars or a line), drawn from reports' own SVG at the widget's width.

    Its height follows the data (a bar per category), its width the layout; the SVG is made
    again only when the width changes, so texts keep their size instead of stretching."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.spec: ChartSpec | None = None
        self._renderer = QSvgRenderer(self)
        self._made_for: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(int(CHART_MIN_POINTS * CHART_SCALE))

    def set_spec(self, spec: ChartSpec | None) -> None:
        self.spec = spec
        self._made_for = None
        if spec is None or not spec.categories:
            self.setFixedHeight(0)
            self.hide()
            return
        self.setFixedHeight(int(chart_drawing(spec, 453).height * CHART_SCALE) + 2)
        self.show()
        self.update()

    def svg_width(self) -> float:
        return max(CHART_MIN_POINTS, self.width() / CHART_SCALE)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        if self.spec is None or not self.spec.categories:
            return
        width = self.svg_width()
        if self._made_for is None or abs(self._made_for - width) > 2:
            self._renderer.load(QByteArray(chart_svg_for_qt(self.spec, width)))
            self._made_for = width
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        size = self._renderer.defaultSize()
        scale = self.width() / max(size.width(), 1)
        self._renderer.render(painter, QRectF(0, 0, self.width(), size.height() * scale))
        painter.end()


class TableBlock(QFrame):
    """A table's title, the table, its chart (beside a narrow table, under a wide one) and
    its note."""

    def __init__(self, table: Table, parent=None):
        super().__init__(parent)
        self.table = table
        self.setObjectName(f"reportTable_{table.id}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 14)
        layout.setSpacing(6)
        self.title = QLabel(self, objectName="tableTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        layout.addWidget(self.title)
        self.model = ReportTableModel(table, self)
        self.view = ReportTableView(self.model, self)
        self.chart = ChartView(self)
        beside = len(table.columns) <= SIDE_BY_SIDE_MAX_COLUMNS
        body = QHBoxLayout() if beside else QVBoxLayout()
        body.setSpacing(16)
        body.addWidget(self.view, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        body.addWidget(self.chart, 1, Qt.AlignmentFlag.AlignTop)
        if not beside:
            self.chart.setMaximumWidth(int(560 * CHART_SCALE))
        layout.addLayout(body)
        self.note = QLabel(self, objectName="tableNote")
        self.note.setWordWrap(True)
        tint(self.note, "#444444", smaller=True)
        layout.addWidget(self.note)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.table.title(_))
        self.model.retranslate()
        self.view.fit()
        self.chart.set_spec(chart_of(self.table, _))
        self.note.setText(self.table.note(_) if self.table.note is not None else "")
        self.note.setVisible(self.table.note is not None)


class SectionPage(QScrollArea):
    """The tables of one section of the report, one under another."""

    def __init__(self, section: Label, tables: list[Table], parent=None):
        super().__init__(parent)
        self.section = section
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget(self)
        inner.setObjectName("reportPage")
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(12, 8, 16, 16)
        self.heading = QLabel(inner, objectName="sectionHeading")
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.heading.setFont(font)
        tint(self.heading, "#0B3C5D")
        layout.addWidget(self.heading)
        self.blocks = {t.id: TableBlock(t, inner) for t in tables}
        for block in self.blocks.values():
            layout.addWidget(block)
        layout.addStretch(1)
        self.setWidget(inner)
        self.heading.setText(section(_))    # the blocks translated themselves

    def retranslate(self) -> None:
        self.heading.setText(self.section(_))
        for block in self.blocks.values():
            block.retranslate()


# ====================================================================== the window

class ReportWindow(QWidget):
    """Period inputs, the report's contents on the left, one section at a time on the right,
    and the protected exports. Use open_reports()."""

    computed = Signal(object)      # the Report now shown
    failed = Signal(str)           # the message shown for a report that could not be made

    def __init__(self, session: Session, parent: QWidget | None = None, *,
                 today: dt.date | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("reportWindow")
        self.session = session
        self._today = today
        self.report: Report | None = None
        self._data = None                    # reports.ReportData of _data_shelter
        self._data_shelter: str | None = None
        self._codes: list[str] | None = None  # shelter codes the vault holds
        self._task: TaskHandle | None = None
        self._error = None                   # () -> message, so it follows the language
        self._notice = None                  # () -> message
        self._stale = False
        self._closed = False
        self.pages: dict[int, SectionPage] = {}
        self._sections: list[tuple[Label, list[Table]]] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(self._period_row())
        self.error_label = QLabel(self, objectName="reportError")
        self.error_label.setWordWrap(True)
        tint(self.error_label, "#B00020", bold=True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.title_label = QLabel(self, objectName="reportTitle")
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title_label.setFont(font)
        layout.addWidget(self.title_label)
        self.meta_label = QLabel(self, objectName="reportMeta")
        self.meta_label.setWordWrap(True)
        layout.addWidget(self.meta_label)
        self.legend = QLabel(self, objectName="reportLegend")
        self.legend.setWordWrap(True)
        self.legend.setFrameShape(QFrame.Shape.StyledPanel)
        self.legend.setMargin(6)
        layout.addWidget(self.legend)
        self.notice_label = QLabel(self, objectName="reportNotice")
        self.notice_label.setWordWrap(True)
        tint(self.notice_label, "#8a4b00", bold=True)
        self.notice_label.hide()
        layout.addWidget(self.notice_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.contents = QTreeWidget(self.splitter, objectName="reportContents")
        self.contents.setHeaderHidden(True)
        self.contents.setWordWrap(True)
        self.contents.itemSelectionChanged.connect(self._contents_clicked)
        self.stack = QStackedWidget(self.splitter)
        self.placeholder = QLabel(self.stack, objectName="reportPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.placeholder)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 1000])
        layout.addWidget(self.splitter, 1)

        buttons = QHBoxLayout()
        self.pdf_button = QPushButton(self, objectName="exportPdf")
        self.pdf_button.clicked.connect(self.export_pdf)
        self.csv_button = QPushButton(self, objectName="exportCsv")
        self.csv_button.clicked.connect(self.export_csv)
        self.export_hint = QLabel(self, objectName="exportHint")
        tint(self.export_hint, "#444444", smaller=True)
        self.close_button = QPushButton(self, objectName="closeReports")
        self.close_button.clicked.connect(self.close)
        buttons.addWidget(self.pdf_button)
        buttons.addWidget(self.csv_button)
        buttons.addWidget(self.export_hint, 1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        self.set_period(*last_semester(self.today))
        session.locked.connect(self.close_for_lock)
        session.changed.connect(self._vault_changed)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        self._update_buttons()
        fit_to_screen(self, 1280, 760)

    # ------------------------------------------------------------ building
    def _period_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.start_label = QLabel(self)
        self.start_edit = DateEditor(forms.Field("report_start", "date", N_("Desde")), self)
        self.start_edit.setObjectName("periodStart")
        self.end_label = QLabel(self)
        self.end_edit = DateEditor(forms.Field("report_end", "date", N_("Hasta")), self)
        self.end_edit.setObjectName("periodEnd")
        for label, editor in ((self.start_label, self.start_edit),
                              (self.end_label, self.end_edit)):
            label.setBuddy(editor.edit)
            editor.edit.returnPressed.connect(self.compute)
            row.addWidget(label)
            row.addWidget(editor)
        # Every period a coordinator asks for; choosing one computes it at once.
        self.period_label = QLabel(self)
        self.period_combo = QComboBox(self, objectName="periodChoice")
        self.period_label.setBuddy(self.period_combo)
        self.period_combo.activated.connect(self._period_chosen)
        row.addSpacing(8)
        row.addWidget(self.period_label)
        row.addWidget(self.period_combo)
        self.shelter_label = QLabel(self)
        self.shelter_combo = QComboBox(self, objectName="shelterChoice")
        self.shelter_label.setBuddy(self.shelter_combo)
        self.shelter_label.hide()
        self.shelter_combo.hide()
        row.addSpacing(8)
        row.addWidget(self.shelter_label)
        row.addWidget(self.shelter_combo)
        row.addStretch(1)
        self.compute_button = QPushButton(self, objectName="computeReport")
        self.compute_button.clicked.connect(self.compute)
        row.addWidget(self.compute_button)
        return row

    @property
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    # ------------------------------------------------------------ texts
    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Informes") + " — CPC")
        self.start_label.setText(_("&Desde:"))
        self.end_label.setText(_("&Hasta:"))
        self.start_edit.retranslate()
        self.end_edit.retranslate()
        self.period_label.setText(_("Pe&riodo:"))
        self._fill_periods()
        self.shelter_label.setText(_("&Centro:"))
        self._fill_shelters()
        self.compute_button.setText(_("C&alcular"))
        self.pdf_button.setText(_("Exportar &PDF…"))
        self.csv_button.setText(_("Exportar C&SV…"))
        self._show_export_hint()
        self.close_button.setText(_("Cerrar"))
        self.placeholder.setText(_("Elija el periodo y pulse «Calcular».")
                                 if self.report is None else "")
        self._show_error()
        self._show_notice()
        self._show_header()
        self._fill_contents()
        for page in self.pages.values():
            page.retranslate()

    def _show_error(self) -> None:
        text = self._error() if self._error is not None else ""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _show_notice(self) -> None:
        lines = []
        if self.report is not None:
            lines += [m(_) for m in self.report.messages]
        if self._stale:
            lines.append(_(STALE_NOTE))
        if self._notice is not None:
            lines.append(self._notice())
        self.notice_label.setText("\n".join(lines))
        self.notice_label.setVisible(bool(lines))

    def _show_header(self) -> None:
        report = self.report
        self.title_label.setText(_(TITLE))
        if report is None:
            self.meta_label.setText("")
            self.legend.hide()
            return
        period = period_text(report, _)
        if report.period is not None:
            period = f"{report.period.label()(_)}, {period}"
        self.meta_label.setText(_("Periodo: {period} · Centro: {shelter} · Calculado el "
                                  "{when}").format(
            period=period, shelter=report.shelter_label(_),
            when=report.generated_at.strftime("%d/%m/%Y %H:%M")))
        if report.protected:
            self.legend.setText("\n".join(_(n) for n in (PROTECTION_NOTE, COMPLEMENT_NOTE,
                                                         WITHHELD_NOTE)))
            tint(self.legend, "#333333")
        else:
            self.legend.setText(_(FULL_COUNTS_NOTE))
            tint(self.legend, "#B00020", bold=True)
        self.legend.show()

    def _fill_shelters(self) -> None:
        codes = self._codes or []
        several = len(codes) > 1
        self.shelter_label.setVisible(several)
        self.shelter_combo.setVisible(several)
        if not several:
            return
        current = self.shelter_combo.currentData()
        vault = self.session.vault
        self.shelter_combo.blockSignals(True)
        self.shelter_combo.clear()
        self.shelter_combo.addItem(_("Todos los centros"), None)
        for code in codes:
            name = f"{vault.shelter_name} ({code})" if vault is not None \
                and code == vault.shelter_code else code
            self.shelter_combo.addItem(name, code)
        self.shelter_combo.setCurrentIndex(max(0, self.shelter_combo.findData(current)))
        self.shelter_combo.blockSignals(False)

    # ------------------------------------------------------------ contents and pages
    def _fill_contents(self) -> None:
        tree = self.contents
        selected = self.current_table_id()
        tree.blockSignals(True)
        tree.clear()
        for n, (section, tables) in enumerate(self._sections):
            top = QTreeWidgetItem(tree, [section(_)])
            top.setData(0, Qt.ItemDataRole.UserRole, (n, None))
            top.setToolTip(0, section(_))
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for t in tables:
                item = QTreeWidgetItem(top, [t.title(_)])
                item.setData(0, Qt.ItemDataRole.UserRole, (n, t.id))
                item.setToolTip(0, t.title(_))
                if t.id == selected:
                    tree.setCurrentItem(item)
        tree.expandAll()
        tree.blockSignals(False)

    def current_table_id(self) -> str | None:
        item = self.contents.currentItem()
        if item is None:
            return None
        _n, table_id = item.data(0, Qt.ItemDataRole.UserRole)
        return table_id

    def _contents_clicked(self) -> None:
        item = self.contents.currentItem()
        if item is None:
            return
        n, table_id = item.data(0, Qt.ItemDataRole.UserRole)
        if n < len(self._sections):
            self._show_section(n, table_id)

    def _page(self, n: int) -> SectionPage:
        if n not in self.pages:   # built when first shown: 30 tables at once take a while
            section, tables = self._sections[n]
            self.pages[n] = SectionPage(section, tables, self.stack)
            self.stack.addWidget(self.pages[n])
        return self.pages[n]

    def _show_section(self, n: int, table_id: str | None) -> None:
        page = self._page(n)
        self.stack.setCurrentWidget(page)
        if table_id is None:
            page.verticalScrollBar().setValue(0)
            return
        block = page.blocks[table_id]
        # After the page is laid out, so the block's position is known.
        QTimer.singleShot(0, lambda: self._scroll_to(page, block))

    @staticmethod
    def _scroll_to(page: SectionPage, block: TableBlock) -> None:
        try:
            page.verticalScrollBar().setValue(block.y())
        except RuntimeError:   # the page was replaced meanwhile
            pass

    def show_table(self, table_id: str) -> TableBlock:
        """Shows the table (its section's page, scrolled to it) and returns its block."""
        for n, (_section, tables) in enumerate(self._sections):
            if any(t.id == table_id for t in tables):
                it = self.contents.topLevelItem(n)
                for i in range(it.childCount()):
                    if it.child(i).data(0, Qt.ItemDataRole.UserRole)[1] == table_id:
                        self.contents.setCurrentItem(it.child(i))
                self._show_section(n, table_id)
                return self.pages[n].blocks[table_id]
        raise KeyError(table_id)

    def _set_report(self, report: Report) -> None:
        selected = self.current_table_id()
        self.report = report
        sections: list[tuple[Label, list[Table]]] = []
        for t in report.tables:
            if not sections or sections[-1][0] != t.section:
                sections.append((t.section, []))
            sections[-1][1].append(t)
        for page in self.pages.values():
            self.stack.removeWidget(page)
            page.deleteLater()
        self.pages = {}
        self._sections = sections
        self._stale = False
        self.retranslate_ui()
        if selected is not None and any(t.id == selected for t in report.tables):
            self.show_table(selected)
        elif sections:
            self.contents.setCurrentItem(self.contents.topLevelItem(0))
        self._update_buttons()

    def _clear(self) -> None:
        """Drops the report and what was read from the vault (lock, close)."""
        self.report, self._data, self._codes = None, None, None
        for page in self.pages.values():
            self.stack.removeWidget(page)
            page.deleteLater()
        self.pages, self._sections = {}, []
        self.contents.blockSignals(True)
        self.contents.clear()
        self.contents.blockSignals(False)

    # ------------------------------------------------------------ period
    def set_period(self, start: dt.date, end: dt.date) -> None:
        self.start_edit.set_value(start.isoformat())
        self.end_edit.set_value(end.isoformat())

    def _fill_periods(self) -> None:
        current = self.period_combo.currentData()
        self.period_combo.blockSignals(True)
        self.period_combo.clear()
        for pid, label, _kind, _offset in periods.PRESETS:
            p = periods.preset(pid, self.today)
            self.period_combo.addItem(f"{_(label)} — {p.label()(_)}", pid)
            self.period_combo.setItemData(
                self.period_combo.count() - 1, _("Del {start} al {end}").format(
                    start=format_date(p.start), end=format_date(p.end)),
                Qt.ItemDataRole.ToolTipRole)
        self.period_combo.addItem(_("Otras fechas (escríbalas)"), "")
        index = self.period_combo.findData(current if current is not None else "")
        self.period_combo.setCurrentIndex(max(index, 0))
        self.period_combo.blockSignals(False)

    def _show_preset(self, start: dt.date, end: dt.date) -> None:
        """The choice names the dates typed when a preset has them (else "Otras fechas"), so
        the list never says "other dates" over the last semester."""
        for index in range(self.period_combo.count()):
            pid = self.period_combo.itemData(index)
            p = periods.preset(pid, self.today) if pid else None
            if p is None or (p.start, p.end) == (start, end):
                self.period_combo.setCurrentIndex(index)
                return

    def choose_period(self, preset_id: str) -> None:
        """Sets the dates of a preset (periods.PRESETS id) and computes."""
        index = self.period_combo.findData(preset_id)
        self.period_combo.setCurrentIndex(index)
        self._period_chosen(index)

    def _period_chosen(self, index: int) -> None:
        pid = self.period_combo.itemData(index)
        if not pid:
            self.start_edit.edit.setFocus()
            return
        p = periods.preset(pid, self.today)
        self.set_period(p.start, p.end)
        self.compute()

    def _show_export_hint(self) -> None:
        reason = self._share_problem()
        if reason:
            self.export_hint.setText(reason)
            tint(self.export_hint, "#8a4b00", smaller=True)
        else:
            self.export_hint.setText(_("Lo exportado lleva siempre datos protegidos (valores "
                                       "menores a 5 ocultos), en el idioma del programa, y "
                                       "queda anotado en el registro de informes compartidos."))
            tint(self.export_hint, "#444444", smaller=True)

    def _share_problem(self) -> str:
        """Why the report shown cannot be exported ("" if it can)."""
        if self.report is None:
            return ""
        try:
            releases.check_shareable(self.report.request, self.today)
        except ReportError as exc:
            return str(exc)
        return ""

    def _read_date(self, editor: DateEditor, which: str) -> dt.date | None:
        value = editor.value()
        day = forms.parse_date(value) if value else None
        if day is None:
            typed = editor.edit.text().strip()
            if typed:
                self._set_error(lambda: _("La fecha «{text}» no es válida: escríbala como "
                                          "dd/mm/aaaa, por ejemplo 30/06/2026.").format(
                    text=typed))
            elif which == "start":
                self._set_error(lambda: _("Escriba el primer día del periodo (dd/mm/aaaa)."))
            else:
                self._set_error(lambda: _("Escriba el último día del periodo (dd/mm/aaaa)."))
            editor.edit.setFocus()
        return day

    def _request(self) -> ReportRequest | None:
        start = self._read_date(self.start_edit, "start")
        if start is None:
            return None
        end = self._read_date(self.end_edit, "end")
        if end is None:
            return None
        if self._codes and len(self._codes) > 1:
            shelter = self.shelter_combo.currentData()
        else:
            vault = self.session.vault
            # One shelter: name it, so the report says which one (not "every shelter").
            shelter = self._codes[0] if self._codes else (vault.shelter_code if vault else None)
        return ReportRequest(start, end, shelter)

    def _set_error(self, message) -> None:
        self._error = message
        self._show_error()
        if message is not None:
            self.failed.emit(message())

    # ------------------------------------------------------------ computing
    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.finished

    def compute(self) -> None:
        """Reads the inputs and computes the report on a worker (the vault is read only the
        first time, or when the shelter changed or records changed since)."""
        if self.busy or self.session.vault is None:
            return
        self._set_error(None)
        self._notice = None
        if self._codes is None:
            self._find_shelters()
            return
        request = self._request()
        if request is None:
            return
        self._show_preset(request.start, request.end)
        today = self.today
        try:
            check_request(request, today)
        except ReportError:
            # Asked again when shown, so the message follows a language switch.
            self._set_error(lambda: self._check_text(request, today))
            return
        vault = self.session.vault
        data = self._data if self._data is not None \
            and self._data_shelter == request.shelter else None
        reading, computing = _("Leyendo los registros de la bóveda…"), \
            _("Calculando el informe…")

        def work(progress):
            loaded = data
            if loaded is None:
                progress.update(0, 0, reading)
                loaded = load(vault, request.shelter)
                progress.check()
            progress.update(0, 0, computing)
            report = build_report(vault, request, today=today, data=loaded)
            progress.check()
            return loaded, report

        self._task = run_task(self, work, on_success=self._computed,
                              on_failure=self._compute_failed, on_cancel=self._cancelled,
                              label=reading if data is None else computing, cancellable=True)
        self._update_buttons()

    @staticmethod
    def _check_text(request: ReportRequest, today: dt.date) -> str:
        try:
            check_request(request, today)
        except ReportError as exc:
            return str(exc)
        return ""

    def _find_shelters(self) -> None:
        vault = self.session.vault

        def found(codes) -> None:
            if self._closed:
                return
            self._codes = list(codes)
            self._fill_shelters()
            self._task = None
            self.compute()

        self._task = run_task(self, lambda _p: vault.shelter_codes(), on_success=found,
                              on_failure=self._compute_failed,
                              label=_("Leyendo los registros de la bóveda…"))
        self._update_buttons()

    def _computed(self, result) -> None:
        if self._closed:
            return
        self._data, report = result
        self._data_shelter = report.request.shelter
        self._task = None
        self._set_report(report)
        self.computed.emit(report)

    def _compute_failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        self._task = None
        text = error_text(exc)
        self._set_error(lambda: text)
        self._update_buttons()

    def _cancelled(self) -> None:
        if self._closed:
            return
        self._task = None
        self._notice = lambda: _("Se canceló el cálculo.")
        self._show_notice()
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = self.report is not None and not self.busy and not self._share_problem()
        self._show_export_hint()
        self.pdf_button.setEnabled(ready)
        self.csv_button.setEnabled(ready)
        self.compute_button.setEnabled(not self.busy)

    # ------------------------------------------------------------ exports
    def _export_name(self, suffix: str) -> str:
        request = self.report.request
        code = request.shelter or _("todos")
        return f"informe-{code}-{request.start.isoformat()}_{request.end.isoformat()}{suffix}"

    def _ask_path(self, title: str, suffix: str, filters: str) -> Path | None:
        start = (_last_dir or Path.home()) / self._export_name(suffix)
        path, _chosen = QFileDialog.getSaveFileName(self, title, str(start), filters)
        if not path:
            return None
        out = Path(path)
        if not out.suffix:
            out = out.with_name(out.name + suffix)
        return out

    def export_pdf(self) -> None:
        if self.report is None or self.busy:
            return
        out = self._ask_path(_("Exportar el informe en PDF"), ".pdf",
                             _("Documento PDF (*.pdf)"))
        if out is not None:
            self._export(out, "pdf", None, _("Generando el PDF…"))

    def export_csv(self) -> None:
        """All tables as CSV files in a .zip; a name ending in .csv writes the table shown."""
        if self.report is None or self.busy:
            return
        out = self._ask_path(_("Exportar el informe en CSV"), ".zip",
                             _("Todas las tablas, un CSV por tabla en un ZIP (*.zip);;"
                               "Solo la tabla seleccionada (*.csv)"))
        if out is None:
            return
        table_id = None
        if out.suffix.lower() == ".csv":
            table_id = self.current_table_id() or self.report.tables[0].id
        self._export(out, "csv", table_id, _("Generando los CSV…"))

    def _export(self, out: Path, fmt: str, table_id: str | None, label: str) -> None:
        global _last_dir
        _last_dir = out.parent
        request, lang, today = self.report.request, i18n.current_language(), self.today
        vault = self.session.vault
        data = self._data if self._data_shelter == request.shelter else None

        def work(_p):
            # Whatever the role, what leaves the screen is protected, checked against the
            # release log, and logged (reports.releases.export).
            return releases.export(vault, request, out, fmt, lang, table_id, today=today,
                                   data=data)[0]

        def done(path: Path) -> None:
            if self._closed:
                return
            self._task = None
            self._notice = lambda: _("Guardado en «{path}».").format(path=str(path))
            self._show_notice()
            self._update_buttons()

        self._set_error(None)
        self._task = run_task(self, work, on_success=done, on_failure=self._compute_failed,
                              label=label)
        self._update_buttons()

    # ------------------------------------------------------------ vault life
    def _vault_changed(self, _change) -> None:
        self._data = None
        if self.report is not None and not self._stale:
            self._stale = True
            self._show_notice()

    def close_for_lock(self) -> None:
        """The vault locked: nothing read from it may stay on screen or in memory."""
        self._clear()
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        global _window
        self._closed = True
        if self._task is not None and not self._task.finished:
            self._task.cancel()
            # The task's progress dialog is our child: delete us once it has finished.
            self._task.done.connect(self.deleteLater)
        else:
            QTimer.singleShot(0, self.deleteLater)
        self._clear()
        for signal, slot in ((self.session.locked, self.close_for_lock),
                             (self.session.changed, self._vault_changed),
                             (language_bus().changed, self.retranslate_ui)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        if _window is self:
            _window = None
        event.accept()


def open_reports(session: Session, parent: QWidget | None = None, *,
                 today: dt.date | None = None) -> ReportWindow | None:
    """Opens the reports window (or brings it forward) and computes the last semester's
    report. Returns None while the vault is locked."""
    global _window
    if not session.is_unlocked:
        return None
    if _window is not None and not _window._closed:
        _window.show()
        _window.raise_()
        _window.activateWindow()
        return _window
    _window = ReportWindow(session, parent, today=today)
    _window.show()
    _window.compute()
    return _window


class _ReportsMenu(QObject):
    """The "Informes" menu of a main window. A child QObject, so the application-wide
    language signal lets go of it when the window is destroyed."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.menu = QMenu(window, objectName="menuReports")
        self.action = QAction(window, objectName="actReports")
        self.action.triggered.connect(self.open)
        self.menu.addAction(self.action)
        window.menuBar().insertMenu(window.menu_view.menuAction(), self.menu)
        language_bus().changed.connect(self.retranslate)
        window.session.unlocked.connect(self.update)
        window.session.locked.connect(self.update)
        self.retranslate()
        self.update()

    def open(self) -> None:
        open_reports(self.window.session, self.window)

    def retranslate(self, _lang: str = "") -> None:
        self.menu.setTitle(_("In&formes"))
        self.action.setText(_("&Informe estadístico del periodo…"))

    def update(self) -> None:
        self.action.setEnabled(self.window.session.is_unlocked)


def install_menu(window) -> QAction:
    """Adds the "Informes" menu to the main window, before "Ver"; enabled while unlocked."""
    helper = _ReportsMenu(window)
    window.menu_reports, window.act_reports = helper.menu, helper.action
    return helper.action
