"""The "Sincronizar" menu and panel: status, "Sincronizar ahora", "Sincronizar con memoria
USB…" with progress and Cancel, the conflict review list, possible duplicate residents and the
shelter's devices.

Permissions are the core's: buttons are disabled with `session.can(Action…)` for what the
sync package would refuse (resolving needs WRITE; hub settings, revoking and invitations need
MANAGE_USERS; joining duplicates needs JOIN), and the sync package checks again whatever calls
it. Locking the vault closes the panel: conflict values and names are decrypted data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QFormLayout, QFrame,
                               QHBoxLayout, QHeaderView, QLabel, QListWidget, QMenu,
                               QProgressBar, QPushButton, QTabWidget, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ..core import display, wording
from ..core.errors import CpcError, NotFound
from ..core.i18n import N_, _, ngettext
from ..core.users import Action
from ..sync import KEEP_CURRENT, TAKE_KEPT, Conflict, conflicts, devices, invitations
from ..sync import JoinSide, alerts, duplicate_residents, join_side, resolve
from .lang import language_bus
from .screen_fit import fit_to_screen
from .session import Session
from .sync_controller import SyncController, SyncOutcome, SyncStatusLine, summary_text
from .tasks import error_text, run_task, show_error
from .widgets.fields import tint

ID_ROLE = Qt.ItemDataRole.UserRole
GROUP_ROLE = Qt.ItemDataRole.UserRole + 1     # a duplicate row's resident ids
ERROR_COLOR = "#a4000f"
NOTICE_COLOR = "#8a4b00"

# ====================================================================== what the panel shows

@dataclass
class ConflictRow:
    conflict: Conflict
    resident: str          # "LOR-01-2026-0003 — María Huamán"
    form: str              # translated form title
    field: str             # translated field label
    current: str           # formatted with core.display
    kept: str
    who: str               # display name of who wrote the kept value (or the login)
    when: str              # dd/mm/aaaa hh:mm of the kept value


@dataclass(frozen=True)
class DuplicateSet:
    """Residents that may be one child, with every reason found (document, names…)."""
    resident_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    sides: tuple[JoinSide, ...] = ()     # what the join dialog shows of each


@dataclass
class PanelData:
    conflicts: list[ConflictRow]
    duplicates: list[tuple[DuplicateSet, list[str]]]   # the set, "code — name" per resident
    devices: list[devices.Device]
    hub_url: str | None            # never the password
    hub_user: str | None
    requests: list = field(default_factory=list)      # join requests (coordinators)
    invitations: list = field(default_factory=list)   # invitations made here (coordinators)
    waiting: list = field(default_factory=list)       # this vault's own requests


def _form_title(vault, form_id: str) -> str:
    try:
        return _(vault.forms.get(form_id).title)
    except Exception:  # noqa: BLE001 - a form this version does not know
        return form_id


def _resident_text(vault, resident_id: str, cache: dict) -> str:
    if resident_id not in cache:
        try:
            r = vault.resident(resident_id)
            name = " ".join(p for p in (r.name_first, r.name_last) if p)
            cache[resident_id] = f"{r.internal_code} — {name}" if name else r.internal_code
        except NotFound:
            cache[resident_id] = resident_id[-8:]
    return cache[resident_id]


def gather(vault, engine) -> PanelData:
    """Reads everything the panel lists (on a worker)."""
    users = {u.name: u.display_name for u in vault.users()}
    names: dict[str, str] = {}
    rows = []
    for c in conflicts(vault):
        rows.append(ConflictRow(
            c, _resident_text(vault, c.resident_id, names), _form_title(vault, c.form),
            wording.change_field(vault.forms, c.form, c.field),
            wording.change_value(vault.forms, c.form, c.field, c.current_value),
            wording.change_value(vault.forms, c.form, c.field, c.kept_value),
            users.get(c.kept_user, c.kept_user) or _("(desconocido)"),
            wording.stamp_moment(c.kept_stamp)))
    reasons: dict[tuple[str, ...], list[str]] = {}
    for d in duplicate_residents(vault):
        reasons.setdefault(d.resident_ids, []).append(d.reason)
    dups = [(DuplicateSet(ids, tuple(why), tuple(join_side(vault, rid) for rid in ids)),
             [_resident_text(vault, rid, names) for rid in ids])
            for ids, why in reasons.items()]
    hub = engine.hub_settings() or {}
    coordinator = vault.user.can(Action.MANAGE_USERS)
    return PanelData(rows, dups, devices.devices(vault), hub.get("url"), hub.get("user"),
                     invitations.list_requests(vault) if coordinator else [],
                     invitations.list_invitations(vault) if coordinator else [],
                     invitations.pending_joins(vault))


# ====================================================================== the panel

def _tree(name: str, columns: int) -> QTreeWidget:
    tree = QTreeWidget(objectName=name)
    tree.setRootIsDecorated(False)
    tree.setAlternatingRowColors(True)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.setColumnCount(columns)
    tree.setWordWrap(True)
    tree.setUniformRowHeights(False)
    return tree


def _intro() -> QLabel:
    label = QLabel(wordWrap=True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


class SyncPanel(QWidget):
    """The "Sincronizar" window. Use open_panel()."""

    loaded = Signal()           # the lists were read again

    def __init__(self, controller: SyncController, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("syncPanel")
        self.controller = controller
        self.session: Session = controller.session
        self.data: PanelData | None = None
        self._closed = False
        self._generation = 0

        self.tabs = QTabWidget(objectName="syncTabs")
        self.tabs.addTab(self._status_tab(), "")
        self.tabs.addTab(self._conflicts_tab(), "")
        self.tabs.addTab(self._duplicates_tab(), "")
        self.tabs.addTab(self._devices_tab(), "")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.tabs)
        fit_to_screen(self, 1000, 560)

        controller.status_changed.connect(self._status_changed)
        controller.busy_changed.connect(self._busy_changed)
        controller.progressed.connect(self._progressed)
        controller.finished.connect(self._finished)
        self.session.locked.connect(self.close_for_lock)
        self.session.changed.connect(self._vault_changed)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()
        self._busy_changed(controller.busy)
        if controller.last_outcome is not None:
            self._show_outcome(controller.last_outcome)

    # ------------------------------------------------------------ building
    def _status_tab(self) -> QWidget:
        page = QWidget()
        self.status_labels = {k: QLabel() for k in ("last", "hub", "waiting", "conflicts")}
        self.status_values = {k: QLabel(objectName=f"sync_{k}") for k in self.status_labels}
        self.status_intro = _intro()
        form = QFormLayout()
        for key, label in self.status_labels.items():
            self.status_values[key].setWordWrap(True)
            form.addRow(label, self.status_values[key])
        self.sync_button = QPushButton(objectName="syncNowButton")
        self.usb_button = QPushButton(objectName="syncUsbButton")
        self.hub_button = QPushButton(objectName="hubSettingsButton")
        self.sync_button.clicked.connect(self.sync_now)
        self.usb_button.clicked.connect(self.sync_usb)
        self.hub_button.clicked.connect(self.edit_hub)
        buttons = QHBoxLayout()
        for b in (self.sync_button, self.usb_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.hub_button)
        self.hint = _intro()
        tint(self.hint, "#555555", smaller=True)

        self.progress_box = QFrame(objectName="syncProgressBox")
        self.progress_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.progress_bar = QProgressBar(objectName="syncProgress")
        self.progress_bar.setTextVisible(False)
        self.progress_label = QLabel(objectName="syncProgressText")
        self.cancel_button = QPushButton(objectName="syncCancelButton")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        box = QVBoxLayout(self.progress_box)
        box.addWidget(self.progress_label)
        box.addLayout(row)

        self.result_label = QLabel(wordWrap=True, objectName="syncResult")
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.messages = QListWidget(objectName="syncMessages")
        self.messages.setWordWrap(True)
        self.messages.setMaximumHeight(140)
        self.messages.hide()

        layout = QVBoxLayout(page)
        layout.addWidget(self.status_intro)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.result_label)
        layout.addWidget(self.messages)
        layout.addStretch(1)
        return page

    def _conflicts_tab(self) -> QWidget:
        page = QWidget()
        self.conflicts_intro = _intro()
        self.conflict_tree = _tree("conflictList", 5)
        self.conflict_tree.itemSelectionChanged.connect(self._update_buttons)
        self.conflict_tree.itemDoubleClicked.connect(self._open_conflict_resident)
        header = self.conflict_tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((230, 240, 110, 110)):
            self.conflict_tree.setColumnWidth(col, width)
        self.conflict_detail = QLabel(wordWrap=True, objectName="conflictDetail")
        self.conflict_detail.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keep_button = QPushButton(objectName="keepCurrentButton")
        self.take_button = QPushButton(objectName="takeOtherButton")
        self.keep_button.clicked.connect(lambda: self.resolve_selected(KEEP_CURRENT))
        self.take_button.clicked.connect(lambda: self.resolve_selected(TAKE_KEPT))
        self.conflicts_hint = _intro()
        tint(self.conflicts_hint, "#555555", smaller=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.conflicts_hint, 1)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.take_button)
        layout = QVBoxLayout(page)
        layout.addWidget(self.conflicts_intro)
        layout.addWidget(self.conflict_tree, 1)
        layout.addWidget(self.conflict_detail)
        layout.addLayout(buttons)
        return page

    def _duplicates_tab(self) -> QWidget:
        page = QWidget()
        self.duplicates_intro = _intro()
        self.duplicate_tree = _tree("duplicateList", 2)
        self.duplicate_tree.setColumnWidth(0, 260)
        self.duplicate_tree.itemDoubleClicked.connect(self._open_duplicate_resident)
        self.duplicate_tree.itemSelectionChanged.connect(self._update_buttons)
        self.join_residents_button = QPushButton(objectName="joinResidentsButton")
        self.join_residents_button.clicked.connect(self.join_selected)
        self.duplicates_hint = _intro()
        tint(self.duplicates_hint, "#555555", smaller=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.duplicates_hint, 1)
        buttons.addWidget(self.join_residents_button)
        layout = QVBoxLayout(page)
        layout.addWidget(self.duplicates_intro)
        layout.addWidget(self.duplicate_tree, 1)
        layout.addLayout(buttons)
        return page

    def _devices_tab(self) -> QWidget:
        page = QWidget()
        self.devices_intro = _intro()
        self.device_tree = _tree("deviceList", 5)
        self.device_tree.itemSelectionChanged.connect(self._update_buttons)
        for col, width in enumerate((110, 240, 110, 120)):
            self.device_tree.setColumnWidth(col, width)
        self.revoke_button = QPushButton(objectName="revokeDeviceButton")
        self.invite_button = QPushButton(objectName="inviteDeviceButton")
        self.join_button = QPushButton(objectName="joinShelterButton")
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.invite_button.clicked.connect(self.invite)
        self.join_button.clicked.connect(self.join_shelter)
        self.devices_hint = _intro()
        tint(self.devices_hint, "#555555", smaller=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.revoke_button)
        buttons.addStretch(1)
        buttons.addWidget(self.join_button)
        buttons.addWidget(self.invite_button)
        # Join requests waiting for a coordinator, and the invitations made on this laptop.
        self.requests_intro = _intro()
        self.request_tree = _tree("joinRequestList", 3)
        self.request_tree.itemSelectionChanged.connect(self._update_buttons)
        for col, width in enumerate((300, 110)):
            self.request_tree.setColumnWidth(col, width)
        self.approve_button = QPushButton(objectName="approveRequestButton")
        self.refuse_button = QPushButton(objectName="refuseRequestButton")
        self.cancel_invite_button = QPushButton(objectName="cancelInvitationButton")
        self.approve_button.clicked.connect(self.approve_selected)
        self.refuse_button.clicked.connect(self.refuse_selected)
        self.cancel_invite_button.clicked.connect(self.cancel_selected_invitation)
        request_buttons = QHBoxLayout()
        request_buttons.addWidget(self.approve_button)
        request_buttons.addWidget(self.refuse_button)
        request_buttons.addStretch(1)
        request_buttons.addWidget(self.cancel_invite_button)
        self.waiting_label = QLabel(wordWrap=True, objectName="waitingApproval")
        self.waiting_label.hide()
        layout = QVBoxLayout(page)
        layout.addWidget(self.devices_intro)
        layout.addWidget(self.waiting_label)
        layout.addWidget(self.device_tree, 2)
        layout.addWidget(self.devices_hint)
        layout.addLayout(buttons)
        layout.addWidget(self.requests_intro)
        layout.addWidget(self.request_tree, 1)
        layout.addLayout(request_buttons)
        return page

    # ------------------------------------------------------------ texts
    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Sincronizar — CPC Desktop"))
        self.status_intro.setText(_(
            "Los equipos del centro intercambian sus cambios en paquetes de cambios cifrados: por "
            "el punto de intercambio "
            "(el programa lo intenta solo cada pocos minutos) o llevando una memoria USB de un "
            "equipo a otro. Quien tenga la memoria o el punto de intercambio no puede leer nada."))
        self.status_labels["last"].setText(_("Última sincronización:"))
        self.status_labels["hub"].setText(_("Punto de intercambio:"))
        self.status_labels["waiting"].setText(_("Cambios en espera:"))
        self.status_labels["conflicts"].setText(_("Conflictos por revisar:"))
        self.sync_button.setText(_("&Sincronizar ahora"))
        self.usb_button.setText(_("Sincronizar con &memoria USB…"))
        self.hub_button.setText(_("&Ajustes del punto de intercambio…"))
        self.cancel_button.setText(_("&Cancelar"))
        self.conflicts_intro.setText(_(
            "Cuando dos equipos cambian el mismo dato sin haberse sincronizado entre sí, queda "
            "el cambio más reciente y el otro valor se guarda aquí para que una persona decida. "
            "Su decisión es un cambio más: se envía a los demás equipos en la próxima "
            "sincronización. Doble clic abre la ficha del residente."))
        self.conflict_tree.setHeaderLabels([_("Código y nombre"), _("Formulario y campo"),
                                            _("Valor actual"), _("El otro valor"),
                                            _("Escrito por, cuándo")])
        self.keep_button.setText(_("&Mantener el actual"))
        self.take_button.setText(_("&Usar el otro"))
        self.duplicates_intro.setText(_(
            "Estos residentes podrían ser la misma niña, niño o adolescente registrado en dos "
            "equipos. El programa no los une solo: si son la misma persona, una persona "
            "coordinadora elige la fila y pulsa «Unir…»; si solo comparten el código interno, "
            "cambia el código en la ficha de ingreso de una de ellas. Doble clic abre la "
            "ficha."))
        self.duplicate_tree.setHeaderLabels([_("Coincidencia"), _("Residentes")])
        self.join_residents_button.setText(_("U&nir…"))
        self.devices_intro.setText(_(
            "Los equipos (computadoras) que sincronizan los datos de este centro. Si se pierde "
            "o roban uno, revóquelo desde cualquier otro equipo del centro."))
        self.device_tree.setHeaderLabels([_("Centro"), _("Equipo"), _("Estado"), _("Desde"),
                                          _("Último paquete de cambios")])
        self.revoke_button.setText(_("&Revocar el equipo…"))
        self.invite_button.setText(_("&Invitar un equipo…"))
        self.join_button.setText(_("Agregar un &centro con una invitación…"))
        self.requests_intro.setText(_(
            "Solicitudes para unirse e invitaciones hechas en este equipo. Apruebe una "
            "solicitud solo con la huella que le lee la persona frente al equipo nuevo; cada "
            "invitación sirve para un solo equipo y vence sola."))
        self.request_tree.setHeaderLabels([_("Solicitud o invitación"), _("Centro"),
                                           _("Estado")])
        self.approve_button.setText(_("A&probar…"))
        self.refuse_button.setText(_("Rec&hazar"))
        self.cancel_invite_button.setText(_("Cancelar la in&vitación"))
        self._retitle_tabs()
        self._status_changed(self.controller.status)
        self._fill()
        self._update_buttons()
        if self.controller.last_progress is not None and self.controller.busy:
            self._progressed(self.controller.last_progress)
        if self.controller.last_outcome is not None and not self.controller.busy:
            self._show_outcome(self.controller.last_outcome)

    def _retitle_tabs(self) -> None:
        n_conf = len(self.data.conflicts) if self.data else 0
        n_dup = len(self.data.duplicates) if self.data else 0
        self.tabs.setTabText(0, _("Estado"))
        self.tabs.setTabText(1, _("Conflictos ({n})").format(n=n_conf) if n_conf
                             else _("Conflictos"))
        self.tabs.setTabText(2, _("Posibles duplicados ({n})").format(n=n_dup) if n_dup
                             else _("Posibles duplicados"))
        self.tabs.setTabText(3, _("Equipos"))

    # ------------------------------------------------------------ loading
    def reload(self) -> None:
        """Reads the lists again on a worker."""
        if not self.session.is_unlocked or self._closed:
            return
        self._generation += 1
        gen = self._generation
        vault, engine = self.session.vault, self.controller.engine()

        def done(data: PanelData) -> None:
            if gen != self._generation or self._closed or not self.session.is_unlocked:
                return
            self.data = data
            self._fill()
            self._status_changed(self.controller.status)
            self._update_buttons()
            self.loaded.emit()

        def failed(exc: BaseException) -> None:
            if not self._closed and self.session.is_unlocked:
                self.result_label.setText(error_text(exc))

        run_task(self, lambda _p: gather(vault, engine), on_success=done, on_failure=failed,
                 show_progress=False)

    def _vault_changed(self, _change) -> None:
        if not self.controller.busy:
            self.reload()

    def _fill(self) -> None:
        d = self.data
        keep = self._selected(self.conflict_tree)
        keep_dup = self.duplicate_tree.selectedItems()
        keep_dup = tuple(keep_dup[0].data(0, GROUP_ROLE) or ()) if keep_dup else None
        self.conflict_tree.clear()
        self.duplicate_tree.clear()
        self.device_tree.clear()
        if d is None:
            self._retitle_tabs()
            return
        for row in d.conflicts:
            item = QTreeWidgetItem([row.resident, f"{row.form} · {row.field}", row.current,
                                    row.kept, _("{who}, {when}").format(who=row.who,
                                                                        when=row.when)])
            item.setData(0, ID_ROLE, row.conflict.id)
            for col in range(5):
                item.setToolTip(col, item.text(col))
            self.conflict_tree.addTopLevelItem(item)
            if row.conflict.id == keep:
                item.setSelected(True)
        if d.conflicts and not self.conflict_tree.selectedItems():
            self.conflict_tree.topLevelItem(0).setSelected(True)
        if not d.conflicts:
            self._add_empty(self.conflict_tree, _("No hay conflictos por revisar."))
        for group, residents in d.duplicates:
            item = QTreeWidgetItem(["; ".join(wording.duplicate_reason(r)
                                              for r in group.reasons), "\n".join(residents)])
            item.setData(0, ID_ROLE, group.resident_ids[0])
            item.setData(0, GROUP_ROLE, list(group.resident_ids))
            self.duplicate_tree.addTopLevelItem(item)
            if group.resident_ids == keep_dup:
                item.setSelected(True)
        if not d.duplicates:
            self._add_empty(self.duplicate_tree, _("No hay residentes que parezcan "
                                                   "duplicados."))
        for dev in d.devices:
            name = dev.device[-8:]
            if dev.this_device:
                name = _("{device} (este equipo)").format(device=name)
            state = _("revocado") if dev.revoked else _("activo")
            item = QTreeWidgetItem([dev.shelter, name, state,
                                    display.format_date(dev.added_at[:10]),
                                    str(dev.last_seq)])
            item.setToolTip(1, dev.device)
            item.setData(0, ID_ROLE, dev.device)
            if dev.revoked:
                tint_item(item, "#777777")
            self.device_tree.addTopLevelItem(item)
        self._fill_requests(d)
        if not d.devices:
            self._add_empty(self.device_tree, _(
                "Este equipo aún no ha sincronizado: la lista aparece después de la primera "
                "sincronización o invitación."))
        self._retitle_tabs()
        self._show_conflict_detail()

    def _fill_requests(self, d: PanelData) -> None:
        self.request_tree.clear()
        states = {"pending": _("por aprobar"), "approved": _("aprobada"),
                  "refused": _("rechazada"), "open": _("abierta"), "used": _("usada"),
                  "cancelled": _("cancelada"), "expired": _("vencida")}
        for r in d.requests:
            if r.state != "pending":
                continue
            item = QTreeWidgetItem([_("Solicitud del equipo {device}").format(
                device=r.device[-8:]), r.shelter, states[r.state]])
            item.setData(0, ID_ROLE, "request:" + r.id)
            self.request_tree.addTopLevelItem(item)
        for i in d.invitations:
            item = QTreeWidgetItem([_("Invitación {id}, vence {when}").format(
                id=i.id, when=display.format_moment(i.expires_at)), i.shelter, states[i.state]])
            item.setData(0, ID_ROLE, "invite:" + i.id)
            if i.state != "open":
                tint_item(item, "#777777")
            self.request_tree.addTopLevelItem(item)
        from .sync_dialogs import waiting_text

        texts = [waiting_text(p) for p in d.waiting]
        self.waiting_label.setText("\n".join(texts))
        self.waiting_label.setVisible(bool(texts))

    def _selected_request(self, kind: str):
        ref = self._selected(self.request_tree)
        if not ref or not ref.startswith(kind + ":") or self.data is None:
            return None
        ref = ref.split(":", 1)[1]
        pool = self.data.requests if kind == "request" else self.data.invitations
        return next((x for x in pool if x.id == ref), None)

    def approve_selected(self):
        from .sync_dialogs import ApproveDialog

        req = self._selected_request("request")
        if req is None:
            return None
        dialog = ApproveDialog(self.controller, req, self)
        self.approve_dialog = dialog
        dialog.accepted.connect(lambda: self.result_label.setText(dialog.result_text))
        dialog.accepted.connect(self.reload)
        dialog.accepted.connect(self.controller.scheduler.request)
        dialog.open()
        return dialog

    def refuse_selected(self):
        from .resident_window import confirm

        req = self._selected_request("request")
        if req is None:
            return None

        def refuse() -> None:
            if not self.session.is_unlocked:
                return
            try:
                invitations.refuse_request(self.session.vault, req.id)
            except CpcError as exc:
                show_error(self, exc)
                return
            self.result_label.setText(_("Solicitud rechazada; el equipo lo sabrá en la "
                                        "próxima sincronización."))
            self.reload()

        return confirm(self, _("Rechazar una solicitud"), _(
            "¿Rechazar la solicitud del equipo {device}? No recibirá nada del centro.").format(
            device=req.device[-8:]), _("Rechazar"), refuse)

    def cancel_selected_invitation(self):
        from .resident_window import confirm

        inv = self._selected_request("invite")
        if inv is None:
            return None

        def cancel() -> None:
            if not self.session.is_unlocked:
                return
            try:
                invitations.cancel_invitation(self.session.vault, inv.id)
            except CpcError as exc:
                show_error(self, exc)
                return
            self.result_label.setText(_("Invitación {id} cancelada: ya no sirve para "
                                        "unirse.").format(id=inv.id))
            self.reload()

        return confirm(self, _("Cancelar una invitación"), _(
            "¿Cancelar la invitación {id}? Quien tenga el archivo y el código ya no podrá "
            "pedir unirse con ella.").format(id=inv.id), _("Cancelar la invitación"), cancel)

    @staticmethod
    def _add_empty(tree: QTreeWidget, text: str) -> None:
        item = QTreeWidgetItem([text])
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        tree.addTopLevelItem(item)
        item.setFirstColumnSpanned(True)      # only works once the item is in the tree

    @staticmethod
    def _selected(tree: QTreeWidget):
        items = tree.selectedItems()
        return items[0].data(0, ID_ROLE) if items else None

    # ------------------------------------------------------------ status
    def _status_changed(self, status) -> None:
        v = self.status_values
        if status is None:
            for label in v.values():
                label.setText("…")
        else:
            v["last"].setText(display.format_moment(status.last_sync_at) if status.last_sync_at else
                              _("nunca"))
            waiting = ngettext("{n} cambio", "{n} cambios",
                               status.waiting_changes).format(n=status.waiting_changes) \
                if status.waiting_changes else _("ninguno")
            if status.waiting_batches:
                waiting += " " + ngettext("(y {n} paquete de cambios listo para enviar)",
                                          "(y {n} paquetes de cambios listos para enviar)",
                                          status.waiting_batches).format(
                    n=status.waiting_batches)
            v["waiting"].setText(waiting)
            v["conflicts"].setText(str(status.open_conflicts))
        d = self.data
        if d is not None and d.hub_url:
            hub = d.hub_url
            if d.hub_user:
                hub = _("{url} (usuario {user})").format(url=hub, user=d.hub_user)
            v["hub"].setText(hub)
        elif d is not None or (status is not None and not status.hub_configured):
            v["hub"].setText(_("ninguno configurado"))
        self._update_buttons()

    def _busy_changed(self, busy: bool) -> None:
        self.progress_box.setVisible(busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText(_("Preparando…"))
            self.cancel_button.setEnabled(True)
            self.result_label.clear()
            self.messages.clear()
            self.messages.hide()
        self._update_buttons()

    def _progressed(self, p) -> None:
        if p.batches_total:
            self.progress_bar.setRange(0, p.batches_total)
            self.progress_bar.setValue(min(p.batches_done, p.batches_total))
        else:
            self.progress_bar.setRange(0, 0 if p.phase != "done" else 1)
            if p.phase == "done":
                self.progress_bar.setValue(1)
        self.progress_label.setText(wording.progress_text(p))

    def _finished(self, outcome: SyncOutcome) -> None:
        self._show_outcome(outcome)
        self.reload()

    def _show_outcome(self, o: SyncOutcome) -> None:
        self.result_label.setText(summary_text(o))
        color = ERROR_COLOR if (o.error and not o.cancelled) else (
            NOTICE_COLOR if o.cancelled or (o.report and not o.report.ok) else "#1b5e20")
        tint(self.result_label, color, bold=True)
        self.messages.clear()
        if o.report is not None:
            for refusal in o.report.refused:
                self.messages.addItem(_("Rechazado: {message}").format(message=str(refusal)))
            warn = {id(n) for n in alerts(o.report)}
            for notice in sorted(o.report.notices, key=lambda n: id(n) not in warn):
                # The hub hiding something, or a wrong clock, first and marked.
                mark = "⚠ " if id(notice) in warn else ""
                self.messages.addItem(mark + _("Aviso: {message}").format(message=notice))
        self.messages.setVisible(self.messages.count() > 0)

    # ------------------------------------------------------------ buttons
    def _update_buttons(self) -> None:
        c, s = self.controller, self.session
        unlocked = s.is_unlocked
        hub = c.hub_configured() if unlocked else False
        self.sync_button.setEnabled(unlocked and hub and not c.busy)
        self.usb_button.setEnabled(unlocked and not c.busy)
        coordinator = s.can(Action.MANAGE_USERS)
        self.hub_button.setEnabled(coordinator)
        hints = []
        if not hub:
            hints.append(_("No hay un punto de intercambio configurado: sincronice con una memoria "
                           "USB o pida "
                           "a la coordinación que configure el punto de intercambio."))
        if not coordinator:
            hints.append(_("Solo la coordinación cambia los ajustes del punto de intercambio y "
                           "administra los "
                           "equipos."))
        self.hint.setText(" ".join(hints))
        self.hint.setVisible(bool(hints))

        conflict = self._selected(self.conflict_tree)
        can_write = s.can(Action.WRITE)
        for b in (self.keep_button, self.take_button):
            b.setEnabled(conflict is not None and can_write)
        self.conflicts_hint.setText("" if can_write else _(
            "Su usuario es de solo lectura: puede ver los conflictos, pero no resolverlos."))

        device = self._selected_device()
        self.revoke_button.setEnabled(coordinator and device is not None
                                      and not device.this_device and not device.revoked)
        self.invite_button.setEnabled(coordinator)
        self.join_button.setEnabled(coordinator)
        req = self._selected_request("request")
        inv = self._selected_request("invite")
        self.approve_button.setEnabled(coordinator and req is not None)
        self.refuse_button.setEnabled(coordinator and req is not None)
        self.cancel_invite_button.setEnabled(coordinator and inv is not None
                                             and inv.state == "open")
        self.devices_hint.setText("" if coordinator else _(
            "Solo la coordinación invita, agrega centros o revoca equipos."))
        self.devices_hint.setVisible(not coordinator)
        can_join = s.can(Action.JOIN)
        self.join_residents_button.setEnabled(can_join and self._selected_duplicate() is not None)
        self.duplicates_hint.setText("" if can_join else _(
            "Solo la coordinación une residentes duplicados."))
        self._show_conflict_detail()

    def _selected_device(self) -> devices.Device | None:
        dev_id = self._selected(self.device_tree)
        if dev_id is None or self.data is None:
            return None
        return next((d for d in self.data.devices if d.device == dev_id), None)

    def _selected_duplicate(self) -> DuplicateSet | None:
        items = self.duplicate_tree.selectedItems()
        ids = tuple(items[0].data(0, GROUP_ROLE) or ()) if items else ()
        if not ids or self.data is None:
            return None
        return next((g for g, _names in self.data.duplicates if g.resident_ids == ids), None)

    def _selected_conflict(self) -> ConflictRow | None:
        cid = self._selected(self.conflict_tree)
        if cid is None or self.data is None:
            return None
        return next((r for r in self.data.conflicts if r.conflict.id == cid), None)

    def _show_conflict_detail(self) -> None:
        row = self._selected_conflict()
        if row is None:
            self.conflict_detail.clear()
            self.conflict_detail.hide()
            return
        self.conflict_detail.setText(_(
            "«{field}» de {form}, {resident}.\nValor actual: {current}\nEl otro valor: {kept} "
            "(escrito por {who} el {when}).").format(
            field=row.field, form=row.form, resident=row.resident, current=row.current,
            kept=row.kept, who=row.who, when=row.when))
        self.conflict_detail.show()

    # ------------------------------------------------------------ actions
    def sync_now(self) -> None:
        self.controller.sync_now()

    def sync_usb(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, _("Elija la carpeta de la memoria USB"), str(Path.home()))
        if folder:
            self.controller.sync_folder(folder)

    def cancel(self) -> None:
        self.controller.cancel()
        self.cancel_button.setEnabled(False)
        self.progress_label.setText(_("Cancelando… lo ya hecho queda guardado."))

    def edit_hub(self):
        from .sync_dialogs import HubSettingsDialog

        dialog = HubSettingsDialog(self.controller, self)
        dialog.accepted.connect(self.reload)
        dialog.open()
        return dialog

    def resolve_selected(self, choice) -> None:
        row = self._selected_conflict()
        if row is None or not self.session.is_unlocked:
            return
        c = row.conflict
        try:
            resolve(self.session.vault, c.id, choice)
        except CpcError as exc:
            show_error(self, exc)
            self.reload()
            return
        # The decision is a change like any edit: it goes out at the next try of the hub.
        self.controller.scheduler.request()
        self.session.notify(records={c.record_id}, residents={c.resident_id})

    def join_selected(self):
        """Opens the join dialog for the selected possible duplicate."""
        group = self._selected_duplicate()
        if group is None or not self.session.is_unlocked:
            return None
        from .join_dialog import JoinResidentsDialog

        dialog = JoinResidentsDialog(self.session, list(group.sides), self)

        def joined(keep: str, others: list) -> None:
            # The join is a change like any edit: it goes out at the next try of the hub.
            self.controller.scheduler.request()
            self.session.notify(residents={keep, *others})

        dialog.joined.connect(joined)
        dialog.open()
        return dialog

    def _open_conflict_resident(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        row = self._selected_conflict()
        if row is not None:
            self._open_resident(row.conflict.resident_id)

    def _open_duplicate_resident(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        rid = item.data(0, ID_ROLE)
        if rid:
            self._open_resident(rid)

    def _open_resident(self, resident_id: str) -> None:
        from .resident_window import open_resident

        open_resident(self.session, resident_id, self.parentWidget())

    def revoke_selected(self):
        from .resident_window import confirm

        device = self._selected_device()
        if device is None:
            return None

        def revoke() -> None:
            if not self.session.is_unlocked:
                return
            try:
                epoch = devices.revoke(self.session.vault, device.device)
            except CpcError as exc:
                show_error(self, exc)
                return
            self.result_label.setText(_(
                "Equipo revocado. Nueva época de llaves {epoch}: se enviará a los demás equipos "
                "en la próxima sincronización; el equipo revocado no la recibirá.").format(
                epoch=epoch))
            self.controller.scheduler.request()
            self.controller.refresh_status()
            self.reload()

        return confirm(self, _("Revocar un equipo"), _(
            "¿Revocar el equipo {device}?\n\nHágalo si se perdió o lo robaron. Desde ahora, "
            "todos los equipos rechazarán los paquetes de cambios nuevos que lleguen de él, y "
            "empieza una "
            "nueva época de llaves: los datos que se escriban desde ahora se cifran con una "
            "llave nueva que ese equipo nunca recibirá. Lo que ya tenía sigue protegido por "
            "las contraseñas de sus usuarios.\n\nLas invitaciones hechas antes deben hacerse "
            "de nuevo. No se puede deshacer.").format(device=device.device[-8:]),
            _("Revocar el equipo"), revoke)

    def invite(self):
        from .sync_dialogs import create_invitation

        return create_invitation(self.controller, self)

    def join_shelter(self):
        from .sync_dialogs import JoinShelterDialog

        dialog = JoinShelterDialog(self.controller, self)
        dialog.accepted.connect(lambda: self.result_label.setText(dialog.result_text))
        dialog.accepted.connect(self.reload)
        dialog.open()
        return dialog

    # ------------------------------------------------------------ closing
    def close_for_lock(self) -> None:
        """The vault locked: nothing read from it may stay on screen."""
        self.data = None
        self._fill()
        self.result_label.clear()
        self.messages.clear()
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._closed = True
        for signal, slot in ((self.session.locked, self.close_for_lock),
                             (self.session.changed, self._vault_changed),
                             (language_bus().changed, self.retranslate_ui),
                             (self.controller.status_changed, self._status_changed),
                             (self.controller.busy_changed, self._busy_changed),
                             (self.controller.progressed, self._progressed),
                             (self.controller.finished, self._finished)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        if self.controller.panel is self:
            self.controller.panel = None
        QTimer.singleShot(0, self.deleteLater)
        event.accept()


def tint_item(item: QTreeWidgetItem, color: str) -> None:
    from PySide6.QtGui import QBrush, QColor

    for col in range(item.columnCount()):
        item.setForeground(col, QBrush(QColor(color)))


def open_panel(controller: SyncController, parent: QWidget | None = None,
               tab: int = 0) -> SyncPanel | None:
    """Opens the panel (or brings it forward) on `tab`; None while the vault is locked."""
    if not controller.session.is_unlocked:
        return None
    panel = controller.panel
    if panel is None:
        panel = controller.panel = SyncPanel(controller, parent)
        panel.reload()
        controller.refresh_status()
    panel.tabs.setCurrentIndex(tab)
    panel.show()
    panel.raise_()
    panel.activateWindow()
    return panel


# ====================================================================== the menu

class _SyncMenu(QObject):
    """The "Sincronizar" menu of a main window, its controller and its status-bar line. A
    child QObject, so the application-wide language signal lets go of it with the window."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = SyncController(window.session, self)
        self.menu = QMenu(window, objectName="menuSync")
        self.act_panel = self._action("actSyncPanel", lambda: self.open(0))
        self.act_now = self._action("actSyncNow", self.sync_now, "F9")
        self.act_usb = self._action("actSyncUsb", self.sync_usb)
        self.act_conflicts = self._action("actSyncConflicts", lambda: self.open(1))
        self.act_devices = self._action("actSyncDevices", lambda: self.open(3))
        self.act_hub = self._action("actHubSettings", self.edit_hub)
        for a in (self.act_panel, None, self.act_now, self.act_usb, None, self.act_conflicts,
                  self.act_devices, self.act_hub):
            self.menu.addSeparator() if a is None else self.menu.addAction(a)
        window.menuBar().insertMenu(window.menu_view.menuAction(), self.menu)
        self.status_line = SyncStatusLine(self.controller, window)
        window.statusBar().addWidget(self.status_line, 1)
        window.start_view.join_requested.connect(self.join_with_invitation)
        language_bus().changed.connect(self.retranslate)
        window.session.unlocked.connect(self.update)
        window.session.locked.connect(self.update)
        window.session.changed.connect(lambda _c: self.update())
        self.controller.busy_changed.connect(lambda _b: self.update())
        self.controller.status_changed.connect(lambda _s: self.update())
        self.retranslate()

    def _action(self, name: str, slot, shortcut: str | None = None) -> QAction:
        action = QAction(self.window, objectName=name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)
        return action

    def open(self, tab: int) -> SyncPanel | None:
        return open_panel(self.controller, self.window, tab)

    def sync_now(self) -> None:
        panel = self.open(0)
        if panel is not None:
            panel.sync_now()

    def sync_usb(self) -> None:
        panel = self.open(0)
        if panel is not None:
            panel.sync_usb()

    def edit_hub(self):
        panel = self.open(0)
        return panel.edit_hub() if panel is not None else None

    def join_with_invitation(self):
        from .sync_dialogs import JoinDialog

        dialog = JoinDialog(self.window, kdf_seconds=self.window.kdf_seconds)
        dialog.created.connect(self.window._vault_created)
        dialog.open()
        self.join_dialog = dialog
        return dialog

    def retranslate(self, _lang: str = "") -> None:
        self.menu.setTitle(_("&Sincronizar"))
        self.act_panel.setText(_("&Estado de la sincronización…"))
        self.act_now.setText(_("Sincronizar &ahora"))
        self.act_usb.setText(_("Sincronizar con &memoria USB…"))
        self.act_conflicts.setText(_("&Conflictos por revisar…"))
        self.act_devices.setText(_("&Equipos del centro…"))
        self.act_hub.setText(_("Ajustes del &punto de intercambio…"))
        self.update()

    def update(self) -> None:
        s, c = self.window.session, self.controller
        unlocked = s.is_unlocked
        for a in (self.act_panel, self.act_conflicts, self.act_devices):
            a.setEnabled(unlocked)
        self.act_usb.setEnabled(unlocked and not c.busy)
        self.act_now.setEnabled(unlocked and not c.busy and c.hub_configured())
        self.act_hub.setEnabled(s.can(Action.MANAGE_USERS))


def install_menu(window) -> SyncController:
    """Adds the "Sincronizar" menu (before "Ver"), the sync line of the status bar, the
    background tries of the saved hub, and "Unirse con una invitación…" on the start
    screen. Returns the window's controller (also `window.sync_controller`)."""
    helper = _SyncMenu(window)
    window.menu_sync, window.sync_controller = helper.menu, helper.controller
    window.sync_menu = helper
    return helper.controller
