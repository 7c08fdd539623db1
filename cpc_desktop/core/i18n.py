"""Run-time translation through gettext catalogs in i18n/<lang>/LC_MESSAGES/cpc.po.

Spanish is the source language: msgids are Spanish, so Spanish needs no catalog to work.
A compiled .mo is used when it is newer than its .po; otherwise the .po is read directly,
so a translator's edit shows on the next start even before `cpc i18n compile`.
"""
from __future__ import annotations

import gettext
import io
import threading
from collections.abc import Callable
from pathlib import Path

from ..paths import i18n_path

DOMAIN = "cpc"
SOURCE_LANGUAGE = "es"
# Names as speakers write them; shown in language menus untranslated.
LANGUAGE_NAMES = {"es": "Español", "qu": "Runasimi (Qusqu–Qullaw)"}

_lock = threading.Lock()
_cache: dict[str, gettext.NullTranslations] = {}
_current = SOURCE_LANGUAGE
_listeners: list[Callable[[str], None]] = []


def catalog_file(lang: str, suffix: str = ".po") -> Path:
    return i18n_path(lang, "LC_MESSAGES", DOMAIN + suffix)


def available_languages() -> list[str]:
    """Source language first, then every language with a catalog folder."""
    root = i18n_path()
    found = sorted(p.name for p in root.iterdir()
                   if (p / "LC_MESSAGES").is_dir()) if root.is_dir() else []
    return [SOURCE_LANGUAGE] + [lang for lang in found if lang != SOURCE_LANGUAGE]


def _load(lang: str) -> gettext.NullTranslations:
    po, mo = catalog_file(lang), catalog_file(lang, ".mo")
    if lang == SOURCE_LANGUAGE and not po.exists():
        return gettext.NullTranslations()
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    data = compile_po(po, lang)
    if data is not None:
        return gettext.GNUTranslations(io.BytesIO(data))
    return gettext.NullTranslations()


def compile_po(po: Path, lang: str) -> bytes | None:
    """The .mo form of a .po, or None when it is missing. Needs Babel: a source checkout reads
    its .po files this way; the bundles ship compiled .mo files (`cpc i18n compile`)."""
    if not po.exists():
        return None
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN, ignore_obsolete=False,
                          abort_invalid=False)
    # A plural entry with an empty form would make ngettext return "" — leave it out so
    # gettext falls back to the Spanish msgid, as it does for untranslated singular entries.
    for msg in list(catalog):
        if msg.id and isinstance(msg.string, (list, tuple)) and not all(msg.string):
            catalog.delete(msg.id)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def translations(lang: str | None = None) -> gettext.NullTranslations:
    lang = lang or _current
    with _lock:
        if lang not in _cache:
            _cache[lang] = _load(lang)
        return _cache[lang]


def reload() -> None:
    """Forget loaded catalogs (after a translator's edit or `cpc i18n compile`)."""
    with _lock:
        _cache.clear()


def set_language(lang: str) -> None:
    global _current
    if lang not in available_languages():
        raise ValueError(f"unknown language {lang!r}")
    _current = lang
    for listener in list(_listeners):
        listener(lang)


def current_language() -> str:
    return _current


def on_language_changed(listener: Callable[[str], None]) -> None:
    _listeners.append(listener)


def gettext_for(lang: str) -> Callable[[str], str]:
    """A translator bound to one language, e.g. for bilingual printing."""
    t = translations(lang)
    return t.gettext


def _(msgid: str) -> str:
    return translations().gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


def N_(msgid: str) -> str:
    """Marks a string for extraction; it is translated later, where it is shown."""
    return msgid
