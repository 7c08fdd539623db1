"""Disclosure log: who opened, printed, packed or exported a resident's file, when, and why
when a reason was asked. Paper is how data leaves a shelter; changes were already audited.

The entries are ordinary entries of the signed audit log (core/audit.py), one per resident
(keyed by the resident's id, so listing them per resident uses the log's index), with these
actions. Like every audit entry they hold ids, form ids and codes, never a record's values.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import audit
from .errors import PermissionDenied
from .i18n import N_, _
from .users import Action

OPEN = "disclosure.open"        # a resident's file opened on screen (window or `cpc show`)
PRINT = "disclosure.print"      # a form sent to a printer
PDF = "disclosure.pdf"          # a form saved as a PDF file
PACKET = "disclosure.packet"    # part of a supervision packet ("to": printer or pdf)
REPORT = "disclosure.report"    # a statistical report exported (no resident: aggregates)
ATTACHMENT_VIEW = "disclosure.attachment_view"      # an attachment shown on screen
ATTACHMENT_EXPORT = "disclosure.attachment_export"  # an attachment saved to a file

LABELS = {OPEN: N_("Abrió el expediente"), PRINT: N_("Imprimió"),
          PDF: N_("Guardó como PDF"), PACKET: N_("Paquete de supervisión"),
          REPORT: N_("Exportó un informe"), ATTACHMENT_VIEW: N_("Vio un adjunto"),
          ATTACHMENT_EXPORT: N_("Exportó un adjunto")}
ACTIONS = frozenset(LABELS)
REASON_MAX = 200   # a reason is a short phrase ("visita de la fiscalía"), not a report


def record(vault, action: str, resident_ids: Iterable[str] = (), **detail) -> int:
    """Writes one entry per resident (one without a resident when none is given) in one
    transaction; returns how many were written. Empty detail values are left out."""
    if action not in ACTIONS:
        raise ValueError(action)
    clean = {k: v for k, v in detail.items() if v not in (None, "", [], ())}
    if isinstance(clean.get("reason"), str):
        clean["reason"] = clean["reason"].strip()[:REASON_MAX]
    ids: list[str | None] = list(dict.fromkeys(r for r in resident_ids if r)) or [None]
    if action != REPORT and ids == [None]:
        return 0        # a blank form discloses nobody
    with vault.transaction() as conn:
        for rid in ids:
            audit.append(conn, vault.user.name, action, rid, clean)
    return len(ids)


def can_list(vault) -> bool:
    """Who may read the log of disclosures: the coordinator (who manages the team)."""
    return vault.user.can(Action.MANAGE_USERS)


def entries(vault, resident_id: str | None = None) -> list[audit.Entry]:
    """The disclosures of one resident (or of the whole vault), oldest first."""
    if not can_list(vault):
        raise PermissionDenied(_("Solo un(a) coordinador(a) puede ver quién abrió, imprimió o "
                                 "exportó los expedientes."))
    return [e for e in vault.audit_log(resident_id) if e.action in ACTIONS]


def what(entry: audit.Entry) -> str:
    """What was disclosed, in the user's language: forms, language, destination."""
    from . import forms

    d = entry.detail
    registry = forms.registry()

    def title(form_id: str) -> str:
        form = registry.forms.get(form_id)
        return _(form.title) if form is not None else form_id

    parts = []
    form_ids = d.get("forms") or ([d["form"]] if d.get("form") else [])
    if form_ids:
        parts.append(", ".join(title(f) for f in form_ids))
    if entry.action == PACKET:
        parts.append(_("a la impresora") if d.get("to") == "printer" else _("en PDF"))
    if entry.action == REPORT:
        parts.append(f"{d.get('format', '').upper()} {d.get('start', '')} – {d.get('end', '')}")
    if entry.action in (ATTACHMENT_VIEW, ATTACHMENT_EXPORT) and d.get("kind"):
        from .attachments import kinds  # (attachments writes these entries)

        parts.append(dict(kinds()).get(d["kind"], d["kind"]))
    if d.get("lang"):
        parts.append(_("idioma: {lang}").format(lang=d["lang"]))
    return "; ".join(p for p in parts if p)


def describe(entry: audit.Entry) -> tuple[str, str, str]:
    """(action, what, why) as shown to a coordinator."""
    return _(LABELS.get(entry.action, entry.action)), what(entry), entry.detail.get("reason", "")
