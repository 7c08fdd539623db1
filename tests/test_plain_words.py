"""Sync jargon stays out of what a social worker reads: no Spanish text of the program, and no
sentence of the user guide, says "hub" or "lote" ("punto de intercambio", "paquete de
cambios" instead). Code names (--hub, {hub}, CPC_HUB_PASSWORD) are not words people read."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parent.parent
JARGON = re.compile(r"(?<![{\-\w])(hubs?|lotes?)(?![}\w\-])", re.IGNORECASE)


def _jargon_in(text: str) -> list[str]:
    return [m.group(0) for m in JARGON.finditer(text)]


def test_the_check_sees_the_words_and_leaves_code_names_alone():
    assert _jargon_in("Ajustes del hub") == ["hub"]
    assert _jargon_in("{n} lotes rechazados") == ["lotes"]
    assert _jargon_in("Sincronizado con {hub}; use --hub o --hub-ca; CPC_HUB_PASSWORD") == []


def test_no_spanish_text_of_the_program_says_hub_or_lote():
    with (REPO / "i18n" / "cpc.pot").open("rb") as fh:
        catalog = read_po(fh)
    found = [i for m in catalog for i in (m.id if isinstance(m.id, tuple) else (m.id,))
             if i and _jargon_in(i)]
    assert found == [], found[:5]


def test_the_user_guide_says_it_in_plain_words():
    guide = (REPO / "docs" / "user-guide.md").read_text(encoding="utf-8")
    prose = re.sub(r"`[^`]*`|\]\([^)]*\)", " ", guide)   # commands and file names aside
    assert _jargon_in(prose) == []
