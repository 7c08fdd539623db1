"""Printed forms, supervision packets and the recovery key sheet, as PDF (reportlab; no Qt).

Everything is drawn from the form definitions (resources/forms/*.json) by one renderer:
A4 portrait, 18 mm margins, DejaVu Sans embedded and subset, a header with the shelter, the
form's title, code and version and the resident's internal code on every page, and a footer
with "Página X de Y", the print date, the CPC Desktop version and a confidentiality notice.

The API the window and the CLI call (all return the PDF as bytes, made in memory):

    render_form(vault, form_id, *, record_id=None, resident_id=None, blank=False,
                lang="es", period=None) -> bytes
    render_packet(vault, resident_ids, form_ids, *, lang="es", period=None,
                  prepared_by="", progress=None, cancel=None) -> bytes
    render_values(form_id, values, *, shelter_code, shelter_name, resident_code=None,
                  lang="es") -> bytes    # a form being edited / not stored (print preview)
    render_recovery_sheet(shelter_code, shelter_name, recovery_key, *, lang="es+qu") -> bytes
    write_pdf(data, path) -> Path          # atomic; the only function that writes a file
    check_destination(path)                # raises write_pdf's error early (before a packet)
    language_choices() -> [(code, name)]   # "es", "qu", "es+qu" for a menu
    sensitive_notice() -> str              # the reminder a print dialog shows

Errors are CpcError subclasses with translated messages: UnknownForm, UnknownLanguage,
NotFound, PrintError (nothing to print, cannot save), PrintCancelled (the person cancelled),
BadRecoveryKey.
"""
from __future__ import annotations

from ..core.i18n import N_, _
from .language import LANGUAGES, PrintCancelled, PrintError, UnknownLanguage, language_choices
from .output import check_destination, write_pdf
from .recovery import render_recovery_sheet
from .render import Period, render_form, render_packet, render_values

SENSITIVE_NOTICE = N_("Las hojas impresas contienen datos confidenciales de niñas, niños y "
                      "adolescentes. Recójalas de la impresora en seguida, no las deje a la "
                      "vista y guárdelas bajo llave.")


def sensitive_notice() -> str:
    """The reminder a print or save dialog shows before printing (in the UI language)."""
    return _(SENSITIVE_NOTICE)


__all__ = ["LANGUAGES", "Period", "PrintCancelled", "PrintError", "UnknownLanguage",
           "check_destination", "language_choices", "render_form", "render_packet",
           "render_recovery_sheet", "render_values", "sensitive_notice", "write_pdf"]
