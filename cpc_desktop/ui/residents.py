"""The resident list: a table model over Vault.residents(), a status filter, search as you
type over the core's full-text search, and "Nuevo residente".

The model sorts and filters itself in Python, without a QSortFilterProxyModel: the proxy
calls the Python model once per comparison when sorting (3.3 s for 10,000 rows) and once
per row when filtering, and it made every repaint of the list cost about twice as much
(measured with 1,000 and 10,000 residents; see benchmarks/bench_ui.py). Searches run on a
worker, one at a time, and a result that no longer matches what is typed is dropped.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (QAbstractTableModel, QEvent, QItemSelection, QItemSelectionModel,
                            QModelIndex, Qt, QTimer, Signal)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QTableView, QVBoxLayout,
                               QWidget)

from ..core import case_alerts, forms
from ..core.display import STATUS_LABELS, format_date, format_status, format_value
from ..core.i18n import N_, _
from ..core.users import Action
from ..core.vault import ResidentSummary, fold
from . import memory
from .lang import language_bus
from .session import Change, Session
from .tasks import run_task, show_error

SEARCH_DEBOUNCE_MS = 150
PARTIAL_REFRESH_MAX = 50       # above this many changed residents, reload the whole list
RESIDENT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
DISPLAY, FOREGROUND = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ForegroundRole)
FONT, ALIGNMENT = int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.TextAlignmentRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_STYLE_ROLES = frozenset({FOREGROUND, FONT, ALIGNMENT, RESIDENT_ID_ROLE, TOOLTIP})
ALERT_MARK = "⚠"
HIGH_RISK = "high"


@dataclass(frozen=True)
class Column:
    key: str
    header: str                # Spanish msgid, or "" when the intake field's label is used
    field_id: str | None = None

    def title(self) -> str:
        if self.header:
            return _(self.header)
        return _(forms.registry().intake.field(self.field_id).label)


COLUMNS = (
    Column("code", N_("Código"), "internal_code"),
    Column("name", N_("Nombre"), "name_first"),
    Column("age", "", "age"),
    Column("sex", "", "sex"),
    Column("admission", N_("Ingreso"), "admission_date"),
    Column("status", N_("Situación")),
    Column("risk", N_("Riesgo"), "risk_level"),
    Column("last_service", N_("Última atención")),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
RISK_COLUMN, AGE_COLUMN = COLUMN_INDEX["risk"], COLUMN_INDEX["age"]


def display_name(r: ResidentSummary) -> str:
    return name_text(r.name_first, r.name_last, r.name_nickname)


def name_text(first: str, last: str, nickname: str) -> str:
    name = " ".join(p for p in (first, last) if p)
    if nickname:
        name += f" «{nickname}»"
    return name


@dataclass
class Prepared:
    """Rows with what the model derives from them, computed on the worker that loaded them
    (10,000 ages and name keys on the UI thread froze it for a tenth of a second)."""
    rows: list[ResidentSummary]
    ages: list[int | None]
    name_keys: list[str]
    alerts: dict[str, list[str]] | None = None     # resident id → alerts (case_alerts)


def prepare(rows: list[ResidentSummary], today: dt.date | None = None,
            alerts: dict[str, list[str]] | None = None) -> Prepared:
    today = today or dt.date.today()
    return Prepared(list(rows), [r.age_on(today) for r in rows],
                    [fold(f"{r.name_first} {r.name_last}") for r in rows], alerts)


class ResidentsModel(QAbstractTableModel):
    """All residents in the current sort order, and the rows the filters let through.

    Rows are ResidentSummary; cells are formatted lazily and cached per language.
    `rowCount()` is the number of rows shown; `total` counts every resident loaded.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[ResidentSummary] = []      # every resident, in sort order
        self._cells: list[tuple | None] = []
        self._ages: list[int | None] = []
        self._names: list[str] = []                # folded names: the name column's sort key
        self._shown: list[int] = []                # positions in self.rows, in order
        self.status = ""                           # "" = any status
        self.match: frozenset[str] | None = None   # search result ids; None = no search
        self.alerts: dict[str, list[str]] = {}    # resident id → alerts
        self._today = dt.date.today()
        self._sort: tuple[int, Qt.SortOrder] | None = None
        intake = forms.registry().intake
        self._sex = intake.field("sex")
        self._risk = intake.field("risk_level")
        self._risk_rank = {c.value: i for i, c in enumerate(self._risk.choices)}
        self._bold = QFont()
        self._bold.setBold(True)
        self._high = QBrush(QColor("#a4000f"))
        self._muted = QBrush(QColor("#666666"))
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        language_bus().changed.connect(self.retranslate)

    @property
    def total(self) -> int:
        return len(self.rows)

    # ------------------------------------------------------------ content
    def set_rows(self, rows: list[ResidentSummary] | Prepared) -> None:
        """Replaces every row; give a Prepared (made on a worker) for big lists."""
        prepared = rows if isinstance(rows, Prepared) else prepare(rows)
        self.beginResetModel()
        self._today = dt.date.today()
        self.rows, self._ages, self._names = prepared.rows, prepared.ages, prepared.name_keys
        self.alerts = dict(prepared.alerts or {})
        self._cells = [None] * len(self.rows)
        if self._sort is not None:
            self._apply_order(*self._sort)
        self._shown = self._filtered()
        self.endResetModel()

    def clear(self) -> None:
        """Drops every decrypted value (on lock)."""
        self.beginResetModel()
        self.rows, self._cells, self._ages, self._names, self._shown = [], [], [], [], []
        self.alerts = {}
        self.match = None
        self.endResetModel()

    def upsert(self, summaries: list[ResidentSummary],
               alerts: dict[str, list[str]] | None = None) -> None:
        """Updates changed residents (and, given, their alerts) and adds new ones, keeping
        order and filters."""
        if alerts is not None:
            for s in summaries:
                self.alerts.pop(s.id, None)
            self.alerts.update(alerts)
        where = {r.id: i for i, r in enumerate(self.rows)}
        self.beginResetModel()
        for s in summaries:
            i = where.get(s.id)
            name = fold(f"{s.name_first} {s.name_last}")
            if i is None:
                self.rows.append(s)
                self._ages.append(s.age_on(self._today))
                self._names.append(name)
                self._cells.append(None)
            else:
                self.rows[i] = s
                self._ages[i] = s.age_on(self._today)
                self._names[i] = name
                self._cells[i] = None
        if self._sort is not None:
            self._apply_order(*self._sort)
        self._shown = self._filtered()
        self.endResetModel()

    def retranslate(self, _lang: str = "") -> None:
        self._cells = [None] * len(self.rows)
        if self._shown:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._shown) - 1, len(COLUMNS) - 1))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)

    # ------------------------------------------------------------ filtering
    def _filtered(self) -> list[int]:
        status, match, rows = self.status, self.match, self.rows
        if not status and match is None:
            return list(range(len(rows)))
        return [i for i, r in enumerate(rows)
                if (not status or r.status == status) and (match is None or r.id in match)]

    def set_filter(self, *, status: str | None = None,
                   match: frozenset[str] | None | bool = False) -> None:
        """Changes the status filter and/or the search matches (None = no search)."""
        if status is not None:
            self.status = status
        if match is not False:
            self.match = match
        shown = self._filtered()
        if shown != self._shown:
            self.beginResetModel()
            self._shown = shown
            self.endResetModel()

    # ------------------------------------------------------------ Qt model API
    def index(self, row: int, column: int, parent=QModelIndex()):
        # Overridden: Qt's version asks rowCount() and columnCount() through Python for
        # every cell painted, which doubled the cost of painting the list.
        if 0 <= row < len(self._shown) and 0 <= column < len(COLUMNS) and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def _row_cells(self, i: int) -> tuple:
        cells = self._cells[i]
        if cells is None:
            r = self.rows[i]
            age = self._ages[i]
            name = display_name(r)
            if r.id in self.alerts:
                name = f"{ALERT_MARK} {name}"
            cells = (r.internal_code, name, "" if age is None else str(age),
                     format_value(self._sex, r.sex), format_date(r.admission_date),
                     format_status(r.status), format_value(self._risk, r.risk_level),
                     format_date(r.last_service))
            self._cells[i] = cells
        return cells

    def resident_at(self, row: int) -> ResidentSummary:
        return self.rows[self._shown[row]]

    def data(self, index, role=DISPLAY):
        # Called thousands of times per repaint: roles compared as plain ints, cheapest first.
        if role == DISPLAY:
            return self._row_cells(self._shown[index.row()])[index.column()]
        if role not in _STYLE_ROLES:
            return None
        if role == RESIDENT_ID_ROLE:
            return self.rows[self._shown[index.row()]].id
        if role == ALIGNMENT:
            return self._right if index.column() == AGE_COLUMN else None
        r = self.rows[self._shown[index.row()]]
        if role == TOOLTIP:
            found = self.alerts.get(r.id)
            return _("Alertas: {alerts}").format(alerts="; ".join(found)) if found else None
        high = index.column() == RISK_COLUMN and r.risk_level == HIGH_RISK
        if role == FOREGROUND:
            return self._high if high else (self._muted if r.status == "discharged" else None)
        return self._bold if high else None          # FONT

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        col = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.title()
        if role == Qt.ItemDataRole.ToolTipRole and col.field_id:
            return _(forms.registry().intake.field(col.field_id).label)
        return None

    # ------------------------------------------------------------ sorting (in Python)
    def _key(self, column: int) -> Callable[[int], object]:
        rows, ages = self.rows, self._ages
        key = COLUMNS[column].key
        if key == "code":
            return lambda i: rows[i].internal_code
        if key == "name":
            names = self._names
            return names.__getitem__
        if key == "age":
            return lambda i: -1 if ages[i] is None else ages[i]
        if key == "sex":
            return lambda i: rows[i].sex or ""
        if key == "admission":
            return lambda i: rows[i].admission_date or ""
        if key == "status":
            return lambda i: rows[i].status
        if key == "risk":
            rank = self._risk_rank
            return lambda i: rank.get(rows[i].risk_level, len(rank))  # high first
        return lambda i: rows[i].last_service or ""

    def _apply_order(self, column: int, order: Qt.SortOrder) -> None:
        perm = sorted(range(len(self.rows)), key=self._key(column),
                      reverse=order == Qt.SortOrder.DescendingOrder)
        self.rows = [self.rows[i] for i in perm]
        self._ages = [self._ages[i] for i in perm]
        self._names = [self._names[i] for i in perm]
        self._cells = [self._cells[i] for i in perm]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Python's sort on precomputed keys: a QSortFilterProxyModel would call data()
        through Python for every comparison (over 3 s for 10,000 rows, measured)."""
        if not 0 <= column < len(COLUMNS):
            return
        self._sort = (column, order)
        if not self.rows:
            return
        self.beginResetModel()
        self._apply_order(column, order)
        self._shown = self._filtered()
        self.endResetModel()


# ====================================================================== the view

class ResidentsView(QWidget):
    """The main list. Emits `list_loaded(n)` and `search_applied(text, n)` (benchmarks)."""

    list_loaded = Signal(int)
    search_applied = Signal(str, int)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("residentsView")
        self.session = session
        self._generation = 0          # bumps on every new search text and on lock
        self._searching = False
        self._pending: tuple[int, str] | None = None
        self._load_generation = 0

        self.model = ResidentsModel(self)
        self._keep_id: str | None = None
        self._keep_ids: set[str] = set()

        self.search = QLineEdit(objectName="residentSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_text_changed)
        self.search.returnPressed.connect(self._search_entered)
        self.search.installEventFilter(self)
        self.search_label = QLabel()
        self.search_label.setBuddy(self.search)
        self.status = QComboBox(objectName="statusFilter")
        self.status.currentIndexChanged.connect(self._status_changed)
        self.status_label = QLabel()
        self.status_label.setBuddy(self.status)
        self.new_button = QPushButton(objectName="newResidentButton")
        self.new_button.clicked.connect(self.new_resident)
        self.count = QLabel(objectName="residentCount")
        self.empty = QLabel(objectName="residentsEmpty", wordWrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()

        self.table = QTableView(objectName="residentsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Several rows (Ctrl/Shift+click) for a supervision packet; Enter opens the current one.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMN_INDEX["code"], Qt.SortOrder.AscendingOrder)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.activated.connect(self._activated)
        vh = self.table.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh = self.table.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setSortIndicatorShown(True)
        hh.setSectionsMovable(True)
        hh.setStretchLastSection(False)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._run_search)

        bar = QHBoxLayout()
        bar.addWidget(self.search_label)
        bar.addWidget(self.search, 3)
        bar.addSpacing(12)
        bar.addWidget(self.status_label)
        bar.addWidget(self.status, 1)
        bar.addStretch(1)
        bar.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        self.setTabOrder(self.search, self.status)
        self.setTabOrder(self.status, self.new_button)
        self.setTabOrder(self.new_button, self.table)

        # Filtering and sorting reset the model: keep the selected resident selected.
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.modelReset.connect(self._update_count)
        session.changed.connect(self._vault_changed)
        session.locked.connect(self.clear)
        session.settled.connect(self.reload)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        self._size_columns()
        self.update_permissions()

    # ------------------------------------------------------------ texts and layout
    def retranslate_ui(self, _lang: str = "") -> None:
        self.search_label.setText(_("&Buscar:"))
        self.search.setPlaceholderText(_("Nombre, apodo o código (Ctrl+F)"))
        self.status_label.setText(_("&Mostrar:"))
        current = self.status.currentData() or ""
        self.status.blockSignals(True)
        self.status.clear()
        self.status.addItem(_("Todos"), "")
        for value, label in STATUS_LABELS.items():
            self.status.addItem(_(label), value)
        self.status.setCurrentIndex(max(0, self.status.findData(current)))
        self.status.blockSignals(False)
        self.new_button.setText(_("&Nuevo residente"))
        self.new_button.setToolTip(_("Abre la ficha de ingreso de un residente nuevo (Ctrl+N)"))
        self._update_count()
        if _lang:
            self._size_columns(grow_only=True)

    def _size_columns(self, grow_only: bool = False) -> None:
        """Widths from the font and the headers. With grow_only (a language switch) a column
        a person widened is only ever widened; the others follow the new headers both ways,
        so a longer header in one language leaves no narrower name column in the other."""
        fm = self.table.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(fm.height() + 10)
        hh = self.table.horizontalHeader()
        samples = {"code": "DEMO-LOR-2026-0000", "age": "000", "sex": "Masculino",
                   "admission": "00/00/0000", "status": "Egresado(a)", "risk": "Medio",
                   "last_service": "00/00/0000"}
        auto = getattr(self, "_auto_widths", {})
        for i, col in enumerate(COLUMNS):
            if col.key == "name":
                hh.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
                continue
            text_w = max(fm.horizontalAdvance(samples.get(col.key, "")),
                         fm.horizontalAdvance(col.title()) + 24) + 20
            widened = grow_only and hh.sectionSize(i) != auto.get(i, hh.sectionSize(i))
            if not widened or hh.sectionSize(i) < text_w:
                hh.resizeSection(i, text_w)
                auto[i] = text_w
        self._auto_widths = auto

    def changeEvent(self, event) -> None:  # noqa: N802
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.FontChange:
            self._size_columns()
        super().changeEvent(event)

    def update_permissions(self) -> None:
        can_write = self.session.can(Action.WRITE)
        self.new_button.setEnabled(can_write)
        if self.session.is_unlocked and not can_write:
            self.new_button.setToolTip(_("Su usuario es de solo lectura."))

    def _update_count(self, *args) -> None:
        shown, total = self.model.rowCount(), self.model.total
        if total == shown:
            text = _("{n} residentes").format(n=total)
        else:
            text = _("{shown} de {total} residentes").format(shown=shown, total=total)
        self.count.setText(text)
        if not self.session.is_unlocked:
            self.empty.hide()
        elif total == 0 and self._load_generation and not self._loading:
            self.empty.setText(_("Aún no hay residentes. Use «Nuevo residente» para registrar "
                                 "el primer ingreso."))
            self.empty.show()
        elif shown == 0 and total:
            self.empty.setText(_("Ningún residente coincide con la búsqueda o el filtro."))
            self.empty.show()
        else:
            self.empty.hide()

    _loading = False

    # ------------------------------------------------------------ loading
    def reload(self) -> None:
        """Loads the whole list on a worker (after unlock, or after big changes)."""
        if not self.session.is_unlocked:
            return
        self.update_permissions()
        self._load_generation += 1
        gen = self._load_generation
        self._loading = True
        vault = self.session.vault

        def loaded(rows) -> None:
            if gen != self._load_generation or not self.session.is_unlocked:
                return
            self._loading = False
            self.model.set_rows(rows)
            # The worker's scratch heap and the dropped page cache go back to the system.
            QTimer.singleShot(0, memory.trim)
            self._update_count()
            if self.search.text().strip():
                self._generation += 1
                self._queue_search(self._generation, self.search.text())
            self.list_loaded.emit(len(rows.rows))

        def load(_p) -> Prepared:
            prepared = prepare(vault.residents(), alerts=case_alerts.by_resident(vault))
            memory.shrink_vault(vault)
            return prepared

        run_task(self, load, on_success=loaded,
                 on_failure=self._load_failed, show_progress=True,
                 label=_("Cargando la lista de residentes…"))

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        if self.session.is_unlocked:
            show_error(self, exc)

    def clear(self) -> None:
        """On lock: no decrypted value stays in the model, the search box or the labels."""
        self._generation += 1
        self._load_generation += 1
        self._pending = None
        self._debounce.stop()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.model.set_filter(match=None)
        self.model.clear()
        self.empty.hide()
        self._update_count()

    def _vault_changed(self, change: Change) -> None:
        if not self.session.is_unlocked:
            return
        self.update_permissions()
        ids = change.residents
        if not ids or len(ids) > PARTIAL_REFRESH_MAX or not self.model.rows:
            self.reload()
            return
        vault, gen = self.session.vault, self._load_generation

        def fetch(_p):
            out, alerts = [], {}
            for rid in ids:
                try:
                    out.append(vault.resident(rid))
                    intake = vault.records(rid, vault.forms.intake.form)
                except Exception:  # noqa: BLE001 — a resident gone meanwhile: reload instead
                    return None
                found = case_alerts.lines(intake[0].values.get(case_alerts.FIELD)) \
                    if intake else []
                if found:
                    alerts[rid] = found
            return out, alerts

        def done(summaries) -> None:
            if gen != self._load_generation or not self.session.is_unlocked:
                return
            if summaries is None:
                self.reload()
                return
            summaries, alerts = summaries
            # A resident joined into another leaves the list like a deleted one.
            self.model.upsert([s for s in summaries if not s.deleted and not s.joined_into],
                              alerts)
            gone = [s.id for s in summaries if s.deleted or s.joined_into]
            if gone:
                self.reload()
            elif self.search.text().strip():
                self._generation += 1
                self._queue_search(self._generation, self.search.text())

        run_task(self, fetch, on_success=done, on_failure=self._load_failed,
                 show_progress=False)

    # ------------------------------------------------------------ search
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _search_text_changed(self, _text: str) -> None:
        self._debounce.start()

    def _run_search(self) -> None:
        self._generation += 1
        text = self.search.text()
        if not text.strip():
            self._pending = None
            self.model.set_filter(match=None)
            self._update_count()
            self.search_applied.emit(text, self.model.rowCount())
            return
        self._queue_search(self._generation, text)

    def _queue_search(self, gen: int, text: str) -> None:
        if self._searching:
            self._pending = (gen, text)   # only the newest waiting text is kept
            return
        if not self.session.is_unlocked:
            return
        self._searching = True
        vault = self.session.vault

        def work(_p):
            return vault.search_ids(text)

        def done(ids) -> None:
            self._searching = False
            if gen == self._generation and self.session.is_unlocked:
                self.model.set_filter(match=ids)
                self._update_count()
                self.search_applied.emit(text, self.model.rowCount())
            self._next_search()

        def failed(exc: BaseException) -> None:
            self._searching = False
            if gen == self._generation and self.session.is_unlocked:
                show_error(self, exc)
            self._next_search()

        run_task(self, work, on_success=done, on_failure=failed, show_progress=False)

    def _next_search(self) -> None:
        if self._pending is not None:
            gen, text = self._pending
            self._pending = None
            if gen == self._generation:
                self._queue_search(gen, text)

    def _status_changed(self, _index: int) -> None:
        self.model.set_filter(status=self.status.currentData() or "")
        self._update_count()

    def _remember_selection(self) -> None:
        self._keep_id = self.selected_resident_id()
        self._keep_ids = set(self.selected_resident_ids())

    def _restore_selection(self) -> None:
        rid, self._keep_id = self._keep_id, None
        keep, self._keep_ids = self._keep_ids, set()
        if rid is None and not keep:
            return
        selection = QItemSelection()
        current = None
        last = self.model.columnCount() - 1
        for row, i in enumerate(self.model._shown):
            row_id = self.model.rows[i].id
            if row_id in keep:
                selection.select(self.model.index(row, 0), self.model.index(row, last))
            if row_id == rid:
                current = row
        flags = QItemSelectionModel.SelectionFlag
        if current is not None:
            self.table.selectionModel().setCurrentIndex(self.model.index(current, 0),
                                                        flags.NoUpdate)
        self.table.selectionModel().select(selection, flags.ClearAndSelect | flags.Rows)

    def _focus_first(self) -> None:
        if self.model.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)

    def _search_entered(self) -> None:
        """Enter in the search opens the only match; with several, the list takes the focus
        on the first (Down does the same), and the next Enter opens it."""
        if self.model.rowCount() == 1:
            self._focus_first()
            self.open_selected()
        else:
            self._focus_first()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.search and event.type() == QEvent.Type.KeyPress and \
                event.key() == Qt.Key.Key_Down and self.model.rowCount():
            self._focus_first()
            return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------ opening
    def selected_resident_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.data(index, RESIDENT_ID_ROLE)

    def selected_resident_ids(self) -> list[str]:
        """The residents chosen in the list, in the order shown."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.resident_at(r).id for r in rows]

    def _activated(self, index) -> None:
        rid = self.model.data(index, RESIDENT_ID_ROLE)
        if rid:
            self.open_resident(rid)

    def open_selected(self) -> None:
        rid = self.selected_resident_id()
        if rid:
            self.open_resident(rid)

    def new_resident(self) -> None:
        if not self.session.can(Action.WRITE):
            return
        self.open_resident(None)

    def open_resident(self, resident_id: str | None) -> None:
        if not self.session.is_unlocked:
            return
        try:
            from .resident_window import open_resident
        except ImportError:
            box = QMessageBox(QMessageBox.Icon.Information, _("Todavía no disponible"),
                              _("La ficha del residente todavía no está disponible en esta "
                                "versión."), QMessageBox.StandardButton.Ok, self)
            box.setObjectName("notAvailableBox")
            box.open()
            return
        open_resident(self.session, resident_id, self.window())

    # ------------------------------------------------------------ header state
    def header_state(self) -> bytes:
        return bytes(self.table.horizontalHeader().saveState())

    def restore_header_state(self, state: bytes) -> None:
        if state:
            self.table.horizontalHeader().restoreState(state)


__all__ = ["ResidentsModel", "ResidentsView", "COLUMNS", "COLUMN_INDEX", "RESIDENT_ID_ROLE"]
