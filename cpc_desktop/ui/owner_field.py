"""The professional a record names (its form's `owner_field`): on a new record the signed-in
person, and while typing, the vault's users offered — so the name written matches a user and
the item shows under "Mis pendientes" (core/pending.owner_users)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCompleter, QLineEdit

from ..core.forms import Form
from .tasks import run_task


_TOKEN = "cpcOwnerOffer"
_offers = 0


def owner_default(form: Form, vault) -> dict:
    """{owner field: the signed-in user's name} for a new record, {} without one."""
    fid = form.owner_field
    if vault is None or not fid or not form.has_field(fid) or form.field(fid).type != "text":
        return {}
    return {fid: vault.user.display_name}


def offer_users(form: Form, editor_of, vault) -> None:
    """Completes the owner field with the active users' names (any part of a name); the
    users are read on a worker (a sync may hold the vault)."""
    edit = _line(form, editor_of)
    if edit is None or vault is None:
        return
    global _offers
    _offers += 1
    token = _offers
    edit.setProperty(_TOKEN, token)

    def names(_p) -> list[str]:
        return sorted({u.display_name or u.name for u in vault.users() if u.active},
                      key=str.casefold)

    def offer(found: list[str]) -> None:
        # Not once the view went back to the pool (drop_users) or to another window.
        if vault.is_open and edit.property(_TOKEN) == token:
            completer = QCompleter(found, edit)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            edit.setCompleter(completer)

    run_task(edit, names, on_success=offer, on_failure=lambda _exc: None, show_progress=False)


def drop_users(form: Form, editor_of) -> None:
    """Before a view is kept for reuse: no user list of this vault stays in it."""
    edit = _line(form, editor_of)
    if edit is not None:
        edit.setProperty(_TOKEN, 0)
    if edit is not None and edit.completer() is not None:
        edit.completer().deleteLater()
        edit.setCompleter(None)


def _line(form: Form, editor_of) -> QLineEdit | None:
    fid = form.owner_field
    if not fid or not form.has_field(fid):
        return None
    try:
        editor = editor_of(fid)
    except (KeyError, RuntimeError):
        return None
    edit = getattr(editor, "edit", None)
    return edit if isinstance(edit, QLineEdit) else None
