"""Pendientes in the main window: a dock shown on unlock above the resident list, listing what
is overdue (red, first) and what is due within a week, for the signed-in professional or the
whole shelter. Computed by core/pending.py on a worker; refreshed on every vault change
(saves and sync both go through Session.changed).

A dock rather than a page of its own: the resident list stays where it always was.
"""
from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QDockWidget, QHBoxLayout,
                               QHeaderView, QLabel, QRadioButton, QTableView, QVBoxLayout,
                               QWidget)

from ..core import pending
from ..core.display import format_date
from ..core.i18n import N_, _, ngettext
from .lang import language_bus
from .residents import name_text
from .session import Session
from .tasks import run_task, show_error

REFRESH_DELAY_MS = 300   # several saves in a row cost one computation
SIZE_ROWS = 40
# After unlock the first screen comes first (every count, the first rows: a third of the
# time of the whole list at 10,000 residents), and the rest is added under it.
FIRST_ROWS = 200
HEADERS = (N_("Estado"), N_("Código"), N_("Nombre"), N_("Qué vence"), N_("Fecha"),
           N_("Días"))
_RED = QColor("#a4000f")


def days_text(item: pending.Item, today: dt.date) -> str:
    days = (dt.date.fromisoformat(item.due) - today).days
    if days < 0:
        return ngettext("{n} día de atraso", "{n} días de atraso", -days).format(n=-days)
    if days == 0:
        return _("vence hoy")
    return ngettext("falta {n} día", "faltan {n} días", days).format(n=days)


class PendingModel(QAbstractTableModel):
    """The items shown (all of the shelter, or the signed-in professional's)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: pending.Pending | None = None
        self.mine = ""                    # the signed-in user's login
        self.only_mine = True
        self.items: list[pending.Item] = []
        self._red, self._bold = QBrush(_RED), QFont()
        self._bold.setBold(True)

    def set_result(self, result: pending.Pending | None, mine: str) -> None:
        self.result, self.mine = result, mine
        self._refilter()

    def set_only_mine(self, only_mine: bool) -> None:
        self.only_mine = only_mine
        self._refilter()

    def _refilter(self) -> None:
        items = self.result.items if self.result else []
        if self.only_mine:
            items = [i for i in items if i.user == self.mine]
        old = self.items
        if old and len(items) > len(old) and items[:len(old)] == old:
            # The whole list after the first screen: added under it (the view stays put).
            self.beginInsertRows(QModelIndex(), len(old), len(items) - 1)
            self.items = items
            self.endInsertRows()
            return
        self.beginResetModel()
        self.items = items                 # core's order: overdue first, then by date
        self.endResetModel()

    def clear(self) -> None:
        self.set_result(None, "")

    def retranslate(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(HEADERS)

    def item_at(self, row: int) -> pending.Item:
        return self.items[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self.items[index.row()]
        overdue = item.state == pending.OVERDUE
        if role == Qt.ItemDataRole.DisplayRole:
            today = dt.date.fromisoformat(self.result.today)
            return (("⚠ " if overdue else "") + _(pending.STATE_LABELS[item.state]),
                    item.internal_code, name_text(*self.result.names.get(
                        item.resident_id, ("", "", ""))),
                    _(pending.KIND_LABELS.get(item.kind, item.kind)), format_date(item.due),
                    days_text(item, today))[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._red if overdue else None
        if role == Qt.ItemDataRole.FontRole:
            return self._bold if overdue and index.column() == 0 else None
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(HEADERS):
            return _(HEADERS[section])
        return None


class PendingTable(QTableView):
    activated_item = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_item.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


class PendingView(QWidget):
    # A result shown (the number of its items): after unlock first the first screen
    # (model.result.complete False), then the whole list.
    loaded = Signal(int)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pendingView")
        self.session = session
        self._generation = 0
        # Its own thread: on unlock the shared pool is busy with the list, the sync status
        # and the backup check, and the first screen would wait seconds behind them.
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.model = PendingModel(self)
        self.mine_button = QRadioButton(objectName="pendingMine")
        self.all_button = QRadioButton(objectName="pendingAll")
        self.mine_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.mine_button)
        group.addButton(self.all_button)
        self.mine_button.toggled.connect(lambda on: self.model.set_only_mine(on)
                                         or self._update_count())
        self.count = QLabel(objectName="pendingCount")
        self.table = PendingTable(objectName="pendingTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Widths from the first rows only: measuring 1,000 rows (Qt's default) cost 0.3 s
        # on the UI thread with 12,000 items.
        header.setResizeContentsPrecision(SIZE_ROWS)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda index: self.open_item(index.row()))
        self.table.activated_item.connect(self.open_item)

        top = QHBoxLayout()
        top.addWidget(self.mine_button)
        top.addWidget(self.all_button)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)

        self._timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.reload)
        session.changed.connect(lambda _c: self._timer.start())
        session.unlocked.connect(lambda: self.reload(first_screen=True))
        session.hold_first_screen()
        session.locked.connect(self.clear)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()

    def retranslate_ui(self, _lang: str = "") -> None:
        self.mine_button.setText(_("Mis pendientes"))
        self.all_button.setText(_("Todo el centro"))
        self.model.retranslate()
        self._update_count()

    def _update_count(self) -> None:
        result = self.model.result
        counts = result.counts_of(self.model.mine if self.model.only_mine else None) \
            if result is not None else {}
        self.table.setVisible(bool(self.model.items))
        if result is None:
            self.count.setText("")
        elif not self.model.items and self.model.only_mine and any(result.counts_of().values()):
            # The owner is the name typed on the record; it may not be the login's name.
            self.count.setText(_("Nada a nombre de «{name}»; vea «Todo el centro».").format(
                name=self.session.user.display_name if self.session.is_unlocked else ""))
        elif not self.model.items:
            self.count.setText(_("Nada vencido ni por vencer en {n} días.").format(
                n=self.model.result.window_days))
        else:
            self.count.setText(_("{overdue} · {soon}").format(
                overdue=ngettext("{n} vencido", "{n} vencidos", counts[pending.OVERDUE])
                .format(n=counts[pending.OVERDUE]),
                soon=ngettext("{n} próximo", "{n} próximos", counts[pending.SOON])
                .format(n=counts[pending.SOON])))

    def reload(self, first_screen: bool = False) -> None:
        if not self.session.is_unlocked:
            return
        self._generation += 1
        gen, vault = self._generation, self.session.vault
        mine = vault.user.name
        owned_by = mine if self.model.only_mine else None

        def work(_p):
            if first_screen:
                return pending.compute(vault, first=FIRST_ROWS, owned_by=owned_by)
            return pending.compute(vault)

        def done(result) -> None:
            if gen != self._generation or not self.session.is_unlocked:
                return
            self.model.set_result(result, mine)
            self._update_count()
            self.loaded.emit(len(result.items))
            # Any result shown releases the rest of unlock (a change may have replaced the
            # first screen's computation by a whole one).
            self.session.first_screen_shown()
            if first_screen:
                self.reload()

        def failed(exc: BaseException) -> None:
            if gen == self._generation and self.session.is_unlocked:
                self.session.first_screen_shown()
                show_error(self, exc)

        run_task(self, work, on_success=done, on_failure=failed, show_progress=False,
                 pool=self.pool)

    def clear(self) -> None:
        self._generation += 1
        self._timer.stop()
        self.model.clear()
        self._update_count()

    def open_item(self, row: int):
        """The resident's window at the item's record and field (for a resident-wide item,
        the tab of its form)."""
        if not self.session.is_unlocked or not 0 <= row < self.model.rowCount():
            return None
        item = self.model.item_at(row)
        from .resident_window import open_resident

        window = open_resident(self.session, item.resident_id, self.window())
        if window is not None and item.form:
            window.show_item(item.form, item.record_id, item.field, item.row)
        return window


class PendingDock(QDockWidget):
    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Pendientes"))


def install(window) -> PendingView:
    """Adds the Pendientes dock to the main window: shown with the resident list, hidden
    on the start and unlock screens."""
    view = PendingView(window.session, window)
    dock = PendingDock(window, objectName="pendingDock")
    dock.setWidget(view)
    dock.setAllowedAreas(Qt.DockWidgetArea.TopDockWidgetArea
                         | Qt.DockWidgetArea.BottomDockWidgetArea)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetMovable)
    window.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
    dock.hide()
    toggle = dock.toggleViewAction()
    toggle.setObjectName("actPending")
    window.menu_view.addSeparator()
    window.menu_view.addAction(toggle)

    def page(name: str) -> None:
        dock.setVisible(name == "residents")
        toggle.setEnabled(name == "residents")

    dock.retranslate_ui()
    # A bound method: Qt drops the connection when the window (and its dock) goes.
    language_bus().changed.connect(dock.retranslate_ui)
    window.page_changed.connect(page)
    window.pending_view, window.pending_dock = view, dock
    return view
