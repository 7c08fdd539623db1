"""Issue 7: a family reading a form printed in Quechua meets no Spanish label on it, except the
loanwords and names the catalog keeps in Spanish on purpose (Fiscalía, DNI, departamento …).

Each form of resources/forms is printed blank with lang="qu" and read back with pdftotext;
every text of its definition (title, sections, help, labels, choices, columns) whose Quechua
differs from the Spanish must not appear in its Spanish form.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from babel.messages.pofile import read_po

from cpc_desktop import printing
from cpc_desktop.core import translations
from cpc_desktop.core.i18n import gettext_for

from printing_helpers import need_poppler, norm, pdf_text, registry

FORM_IDS = sorted(f.form for f in registry())
KEPT = "kept in Spanish on purpose"


@pytest.fixture(scope="module")
def blank_vault(tmp_path_factory, vault_factory):
    need_poppler()
    created = vault_factory(tmp_path_factory.mktemp("qu-print") / "vault")
    yield created.vault
    created.vault.lock()


@pytest.fixture(scope="module")
def kept_in_spanish() -> set[str]:
    with translations.po_file("qu").open("rb") as fh:
        po = read_po(fh, locale="qu")
    return {m.id for m in po if m.id and any(c.startswith(KEPT) for c in m.user_comments)}


def definition_msgids(form) -> list[str]:
    """Every Spanish text of a form's definition that a blank print can show."""
    texts = [form.title]
    for section in form.sections:
        texts.append(section.title)
        if section.help:
            texts.append(section.help)
        for fld in section.fields:
            texts.append(fld.label)
            if fld.help:
                texts.append(fld.help)
            texts.extend(c.label for c in fld.choices)
            for col in fld.columns:
                texts.append(col.label)
                texts.extend(c.label for c in col.choices)
    return [t for t in dict.fromkeys(texts) if t]


def spanish_left(text: str, msgids: list[str], kept: set[str]) -> list[str]:
    """The msgids printed in Spanish although their Quechua differs. A Spanish text that is
    also part of some printed Quechua text (a loanword inside a translation) is not evidence."""
    qu = gettext_for("qu")
    quechua = [norm(qu(m)) for m in msgids]
    left = []
    for msgid in msgids:
        spanish = norm(msgid)
        if msgid in kept or norm(qu(msgid)) == spanish:
            continue
        if any(spanish in q for q in quechua):
            continue
        if re.search(r"(?<!\w)" + re.escape(spanish) + r"(?!\w)", text):
            left.append(msgid)
    return left


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_quechua_form_prints_no_spanish_label(blank_vault, kept_in_spanish, tmp_path, form_id):
    form = registry().get(form_id)
    data = printing.render_form(blank_vault, form_id, blank=True, lang="qu",
                                today=dt.date(2024, 6, 30))
    text = pdf_text(data, tmp_path, f"{form_id}-qu.pdf")
    msgids = definition_msgids(form)
    assert gettext_for("qu")(form.title) in text, "premise: the Quechua title is printed"
    left = spanish_left(text, msgids, kept_in_spanish)
    assert left == [], (f"a family reading the Quechua {form_id} would meet these Spanish "
                        f"labels (translate them in i18n/qu/LC_MESSAGES/cpc.po): {left[:8]}")


def test_the_check_finds_a_spanish_label_left_on_the_page():
    msgids = ["Nombres", "Fiscalía"]
    assert spanish_left("Sutikuna: Nombres", msgids, {"Fiscalía"}) == ["Nombres"]
    assert spanish_left("Sutikuna: Fiscalía", msgids, {"Fiscalía"}) == []
    assert spanish_left("NombresX", msgids, set()) == []  # whole texts only
