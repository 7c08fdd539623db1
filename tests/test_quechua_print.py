"""Issue 7: a family reading a form printed in Quechua meets no Spanish label on it, except the
loanwords and names the catalog keeps in Spanish on purpose (Fiscalía, DNI, departamento …).

Each form of resources/forms is printed blank with lang="qu" and read back with pdftotext;
every text of its definition (title, sections, help, labels, choices, columns) whose Quechua
differs from the Spanish must not appear in its Spanish form.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from babel.messages.pofile import read_po

from cpc_desktop import printing
from cpc_desktop.i18n_tools import translations
from cpc_desktop.core.i18n import gettext_for

from printing_helpers import need_poppler, norm, pdf_pages, pdf_text, registry

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


def test_bilingual_packet_pages_keep_their_whole_sheet_number(blank_vault, intake_values,
                                                              tmp_path):
    """A supervisor sorting a dropped bilingual packet reads "Paquete: hoja 3 de 12 /
    Q'ipi: p'anqa 3/12" on every sheet; it once fell off the footer's right end."""
    ids = [blank_vault.add("ficha_ingreso", intake_values(name_first=f"Prueba {n}"))
           for n in (1, 2)]
    data = printing.render_packet(blank_vault, ids, ["ficha_ingreso"], lang="es+qu",
                                  today=dt.date(2024, 6, 30))
    path = tmp_path / "packet.pdf"
    path.write_bytes(data)
    pages = pdf_pages(data, tmp_path)
    es, qu = gettext_for("es"), gettext_for("qu")
    cut = []
    for page in range(1, pages + 1):
        text = norm(subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-raw",
                                    "-enc", "UTF-8", str(path), "-"], capture_output=True,
                                   text=True, check=True).stdout)
        for tr in (es, qu):
            sheet = norm(tr("Paquete: hoja {page} de {pages}").format(page=page, pages=pages))
            if sheet not in text:
                cut.append(sheet)
    assert cut == [], f"sheet numbers missing or cut off in the bilingual packet: {cut[:4]}"


def test_quechua_report_prints_every_column_title_with_whole_words(blank_vault, tmp_path):
    """Count columns are narrow: a long Quechua word ("Rurachkan", "sipaskunapas") must
    print whole (smaller if needed), never split in the middle across two lines."""
    from cpc_desktop.reports import ReportRequest, build_report, render_pdf

    report = build_report(blank_vault, ReportRequest(dt.date(2024, 1, 1), dt.date(2024, 6, 30)),
                          today=dt.date(2024, 6, 30), purpose="export")
    text = pdf_text(render_pdf(report, "qu"), tmp_path, "report-qu.pdf")
    qu = gettext_for("qu")
    broken = sorted({word for table in report.tables for column in table.columns
                     for word in column.label(qu).split()
                     if not re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text)})
    assert broken == [], f"column titles split mid-word in the Quechua report: {broken}"
