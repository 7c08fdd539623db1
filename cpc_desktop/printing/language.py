"""Print languages (Spanish, Quechua, or both) and the errors printing can raise.

The language of a printed form changes only how labels, choices and fixed texts read; the
recorded values are printed as recorded (dates dd/mm/aaaa in every language).
"""
from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import escape

from ..core.errors import CpcError
from ..core.i18n import N_, _, gettext_for

# Code → name shown in the print dialog (names as speakers write them).
LANGUAGES: dict[str, str] = {
    "es": N_("Español"),
    "qu": N_("Runasimi (quechua)"),
    "es+qu": N_("Español y runasimi (bilingüe)"),
}


class PrintError(CpcError):
    """A PDF cannot be made or saved as asked (the message says why, without personal data)."""


class UnknownLanguage(PrintError):
    pass


class PrintCancelled(PrintError):
    """The person cancelled a long print job; nothing was written."""


def language_choices() -> list[tuple[str, str]]:
    """(code, translated name) for a language menu, in the order to show them."""
    return [(code, _(name)) for code, name in LANGUAGES.items()]


class Lang:
    """Translators for one print language: `primary` for the main text, `secondary` (Quechua
    under Spanish) only in bilingual printing."""

    def __init__(self, code: str):
        if code not in LANGUAGES:
            raise UnknownLanguage(_("Idioma de impresión desconocido: «{lang}». Use uno de: "
                                    "{known}.").format(lang=code, known=", ".join(LANGUAGES)))
        self.code = code
        self.primary: Callable[[str], str] = gettext_for("qu" if code == "qu" else "es")
        self.secondary: Callable[[str], str] | None = (
            gettext_for("qu") if code == "es+qu" else None)

    def pair(self, msgid: str) -> tuple[str, str | None]:
        """The text in the print language, and its Quechua under it when bilingual (None when
        there is nothing different to add, e.g. a term not yet translated)."""
        if not msgid:
            return "", None
        first = self.primary(msgid)
        if self.secondary is None:
            return first, None
        second = self.secondary(msgid)
        return first, (second if second != first else None)

    def inline(self, msgid: str, **kw) -> str:
        """One line: "Spanish / Quechua" when bilingual and different, else the text alone."""
        first, second = self.pair(msgid)
        first = first.format(**kw) if kw else first
        if second is None:
            return first
        return f"{first} / {second.format(**kw) if kw else second}"


def esc(text: str) -> str:
    """Text for reportlab's paragraph markup: &, < and > escaped, line breaks kept."""
    return escape(text).replace("\n", "<br/>")
