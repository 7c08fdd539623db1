"""Printed forms (cpc_desktop.printing): what a coordinator, a family reading Quechua and a
supervisor find on paper, read back from the PDF with poppler's pdftotext/pdffonts/pdfinfo.

One vault per module holds a fictional resident with every field of every form filled.
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import re

import pytest
from pypdf import PdfReader

from cpc_desktop import __version__, printing
from cpc_desktop.core import display
from cpc_desktop.core.errors import BadRecoveryKey, CpcError, UnknownForm
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.printing.formflow import is_register

from printing_helpers import (QUECHUA_NOTE, full_values, need_poppler, norm, pdf_fonts,
                              pdf_pages, pdf_text, registry)

TODAY = dt.date(2024, 6, 30)
LANGS = ["es", "qu", "es+qu"]
FORM_IDS = sorted(f.form for f in registry())


@pytest.fixture(scope="module", autouse=True)
def _poppler():
    need_poppler()


@pytest.fixture(scope="module")
def printed(tmp_path_factory, vault_factory):
    """A vault with one resident whose every form is filled in full (record ids by form)."""
    created = vault_factory(tmp_path_factory.mktemp("print") / "vault")
    vault = created.vault
    reg = registry()
    intake = reg.intake
    resident = vault.add(intake.form, {**full_values(intake), "internal_code": "LOR-01-PR-0001"})
    ids = {intake.form: resident}
    for form in reg:
        if form is not intake:
            ids[form.form] = vault.add(form.form, full_values(form), resident)
    yield vault, resident, ids, created
    vault.lock()


def translations(lang: str) -> list:
    if lang == "es":
        return [gettext_for("es")]
    if lang == "qu":
        return [gettext_for("qu")]
    return [gettext_for("es"), gettext_for("qu")]


def whole_words(text: str) -> str:
    """The printed text with words broken by a hyphen at a line's end joined again."""
    return re.sub(r"(\w)- (\w)", r"\1\2", text)


def missing_texts(text: str, msgids, lang: str) -> list[str]:
    """The msgids whose translation(s) in `lang` are not in the printed text (a word broken
    with a hyphen at a line's end counts as whole)."""
    text = whole_words(text)
    gone = []
    for msgid in msgids:
        for tr in translations(lang):
            if norm(tr(msgid)) not in text:
                gone.append(f"{msgid!r} → {tr(msgid)!r}")
    return gone


def definition_texts(form, *, values: dict | None) -> list[str]:
    """Title, section titles and help, labels, choices and column labels printed for `form`:
    every field when blank (values None), the visible ones when filled."""
    texts = [form.title]
    for section in form.sections:
        fields = [f for f in section.fields if values is None or form.visible(f, values)]
        if not fields and not section.help:
            continue
        if not is_register(form):   # a register is one table: its columns are its sections
            texts.append(section.title)
        if section.help:
            texts.append(section.help)
        for fld in fields:
            texts.append(fld.label)
            if values is None and fld.help and fld.type != "table":
                texts.append(fld.help)
            # A filled register prints the chosen option only (a recorded value, below).
            if fld.type in ("choice", "multichoice") and not (values and is_register(form)):
                texts.extend(c.label for c in fld.choices)
            for col in fld.columns:
                texts.append(col.label)
                if values is None and col.type == "choice":
                    texts.extend(c.label for c in col.choices)
    return texts


def recorded_texts(form, values: dict, tr) -> list[str]:
    """Each recorded value as people read it (format_value), item by item for lists/rows."""
    out = []
    for fld in form.fields:
        value = values.get(fld.id)
        if value is None or not form.visible(fld, values):
            continue
        if fld.type == "multichoice":
            out.extend(tr(fld.choice_label(v)) for v in value)
        elif fld.type == "table":
            for row in value:
                out.extend(display.format_value(c, row.get(c.id), tr) for c in fld.columns
                           if row.get(c.id) is not None)
        else:
            out.append(display.format_value(fld, value, tr))
    return [norm(t) for t in out if t]


# ---------------------------------------------------------------- every form, every language

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form_id", FORM_IDS)
def test_blank_form_prints_every_label_of_its_definition(printed, tmp_path, form_id, lang):
    vault, _resident, _ids, _c = printed
    form = registry().get(form_id)
    data = printing.render_form(vault, form_id, blank=True, lang=lang, today=TODAY)
    text = pdf_text(data, tmp_path)
    gone = missing_texts(text, definition_texts(form, values=None), lang)
    assert not gone, f"a team filling the blank {form_id} ({lang}) on paper would not see: {gone}"
    for tr in translations(lang):
        assert norm(tr("Página {page} de {pages}").format(page=1, pages=pdf_pages(
            data, tmp_path))) in text, "each page must say which page of how many it is"
    assert "30/06/2024" in text, "the print date, dd/mm/aaaa"
    assert __version__ in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form_id", FORM_IDS)
def test_filled_form_prints_every_label_and_recorded_value(printed, tmp_path, form_id, lang):
    vault, _resident, ids, _c = printed
    form = registry().get(form_id)
    record = vault.get(ids[form_id])
    data = printing.render_form(vault, form_id, record_id=record.id, lang=lang, today=TODAY)
    text = pdf_text(data, tmp_path)
    gone = missing_texts(text, definition_texts(form, values=record.values), lang)
    assert not gone, f"the printed {form_id} ({lang}) lacks labels: {gone}"
    primary = translations(lang)[0]
    values = [v for v in recorded_texts(form, record.values, primary)
              if v not in text and whole_words(v) not in whole_words(text)]
    assert not values, f"recorded values missing from the printed {form_id} ({lang}): {values}"
    assert "LOR-01-PR-0001" in text, "the resident's internal code identifies every page"


def test_labels_language_never_changes_what_was_recorded(printed, tmp_path):
    vault, _resident, ids, _c = printed
    texts = {lang: pdf_text(printing.render_form(vault, "ficha_ingreso",
                                                 record_id=ids["ficha_ingreso"], lang=lang),
                            tmp_path, f"{lang}.pdf") for lang in LANGS}
    for lang, text in texts.items():
        assert "10/03/2024" in text, f"dates print dd/mm/aaaa in {lang}"
        assert norm(QUECHUA_NOTE) in text, \
            f"Quechua ejectives/aspirates and Spanish accents must survive printing ({lang})"
        assert "Valor" in text and "Ñuñoa" in text


def test_bilingual_labels_put_the_quechua_under_the_spanish(printed, tmp_path):
    vault, *_ = printed
    qu = gettext_for("qu")
    assert qu("Nombres") != "Nombres", "the catalog should translate this label (test premise)"
    text = pdf_text(printing.render_form(vault, "ficha_ingreso", blank=True, lang="es+qu"),
                    tmp_path)
    spanish, quechua = text.find("Nombres"), text.find(qu("Nombres"))
    assert 0 <= spanish < quechua, "the Quechua label follows its Spanish label"
    only_qu = pdf_text(printing.render_form(vault, "ficha_ingreso", blank=True, lang="qu"),
                       tmp_path, "qu.pdf")
    assert qu("Nombres") in only_qu and "Nombres *" not in only_qu


# ---------------------------------------------------------------- fonts, pages, long texts

def test_every_font_is_embedded_and_subset(printed, tmp_path):
    vault, resident, _ids, created = printed
    pdfs = {
        "blank bilingual intake": printing.render_form(vault, "ficha_ingreso", blank=True,
                                                       lang="es+qu"),
        "packet": printing.render_packet(vault, [resident], ["pti", "registro_atenciones"]),
        "recovery sheet": printing.render_recovery_sheet("LOR-01", "Casa Ficticia",
                                                         created.recovery_key),
    }
    for what, data in pdfs.items():
        fonts = pdf_fonts(data, tmp_path)
        assert fonts, what
        bad = [f for f in fonts if f["emb"] != "yes" or f["sub"] != "yes" or f["uni"] != "yes"]
        assert not bad, (f"{what}: fonts not embedded+subset print differently on another "
                         f"computer: {bad}")
        assert all("DejaVuSans" in f["name"] for f in fonts), fonts


def test_a_long_note_flows_onto_more_pages_and_is_printed_whole(printed, tmp_path):
    vault, resident, _ids, _c = printed
    form = registry().get("pti")
    words = [f"palabra{i:04d}" for i in range(700)]   # ≈ 6,300 characters
    long_note = " ".join(words)
    assert 6000 <= len(long_note) <= form.field("assessment_personal").max_length
    short_id = vault.add("pti", {**full_values(form), "assessment_personal": "Breve."}, resident)
    long_id = vault.add("pti", {**full_values(form), "assessment_personal": long_note}, resident)
    short = printing.render_form(vault, "pti", record_id=short_id)
    long = printing.render_form(vault, "pti", record_id=long_id)
    assert pdf_pages(long, tmp_path, "l.pdf") > pdf_pages(short, tmp_path, "s.pdf"), \
        "a 6,000-character note must flow onto more pages, not be cut"
    text = pdf_text(long, tmp_path)
    assert all(w in text for w in words), "every word of a long note must be printed"
    assert text.index("palabra0000") < text.index("palabra0699")
    assert "(continuación)" in text, "a text continued on the next page says so"
    for rid in (short_id, long_id):
        vault.delete(rid)


def test_a_record_with_odd_values_still_prints(tmp_path):
    """Values an old version, an import or a damaged sync could leave: never a crash."""
    huge = "x " * 20000
    values = {"admission_date": "no es fecha", "sex": "desconocido", "age": "muchos",
              "other_languages": "quechua_cusco", "family_details": "roto",
              "exploitation_types": [1, {"a": 2}], "age_estimated": "sí",
              "place_of_birth": 999999, "risk_reason": huge, "name_first": None,
              "campo_que_no_existe": "x"}
    data = printing.render_values("ficha_ingreso", values, shelter_code="LOR-01",
                                  shelter_name="Casa Ficticia")
    text = pdf_text(data, tmp_path)
    assert "desconocido" in text, "an unknown choice is shown as recorded, not dropped"
    assert pdf_pages(data, tmp_path) > 10, "a 40,000-character text flows on, page after page"


def test_blank_conditional_fields_say_when_they_apply(printed, tmp_path):
    vault, *_ = printed
    text = pdf_text(printing.render_form(vault, "ficha_ingreso", blank=True), tmp_path)
    assert "(solo si en «Forma de llegada» se marcó «Otra forma»)" in text
    consent = pdf_text(printing.render_form(vault, "consentimiento", blank=True), tmp_path,
                       "c.pdf")
    assert "(solo si en «¿Hubo intérprete?» se marcó «Sí»)" in consent, \
        "yes/no conditions name the answer"


# ---------------------------------------------------------------- packet

@pytest.fixture(scope="module")
def packet_vault(tmp_path_factory, vault_factory, intake_values, service_values):
    """Three fictional residents; the first has services inside and outside the period."""
    created = vault_factory(tmp_path_factory.mktemp("packet") / "vault")
    vault = created.vault
    residents = [vault.add("ficha_ingreso", intake_values(
        name_first=f"Niña Prueba {n}", internal_code=f"LOR-01-PK-000{n}")) for n in (1, 2, 3)]
    for day in range(1, 21):
        vault.add("registro_atenciones", service_values(
            service_date=f"2024-04-{day:02d}", note=f"Dentro{day:02d} del periodo."),
            residents[0])
    vault.add("registro_atenciones", service_values(service_date="2024-02-01",
                                                    note="Fuera01 del periodo."), residents[0])
    vault.add("pti", {**full_values(registry().get("pti")), "period_start": "2024-04-15",
                      "review_date": "2024-10-15"}, residents[1])
    vault.add("pti", full_values(registry().get("pti")), residents[1])  # before the period
    yield vault, residents
    vault.lock()


def test_packet_has_a_cover_and_each_residents_forms_with_bookmarks(packet_vault, tmp_path):
    vault, residents = packet_vault
    seen = []
    data = printing.render_packet(
        vault, residents, ["ficha_ingreso", "pti", "registro_atenciones"], lang="es",
        period=("2024-04-01", "2024-04-30"), prepared_by="Rosa Ficticia Quispe",
        progress=lambda done, total: seen.append((done, total)), today=TODAY)
    (tmp_path / "p.pdf").write_bytes(data)
    reader = PdfReader(tmp_path / "p.pdf")
    cover = norm(reader.pages[0].extract_text())
    for expected in ("Paquete para visita de supervisión", "Casa de Acogida Ficticia", "LOR-01",
                     "Preparado por: Rosa Ficticia Quispe", "30/06/2024",
                     "del 01/04/2024 al 30/04/2024", "Contenido", "LOR-01-PK-0001",
                     "LOR-01-PK-0003"):
        assert expected in cover, f"the cover page must show {expected!r}"

    outline = reader.outline
    top = [o.title for o in outline if not isinstance(o, list)]
    assert top == ["Portada", "LOR-01-PK-0001", "LOR-01-PK-0002", "LOR-01-PK-0003"], top
    children = [o for o in outline if isinstance(o, list)]
    assert [c.title for c in children[0]] == ["Ficha de ingreso", "Registro de atenciones"]
    assert [c.title.split(" — ")[0] for c in children[1]] == [
        "Ficha de ingreso", "Plan de Trabajo Individual (PTI)"]
    for group, code in zip(children, ("LOR-01-PK-0001", "LOR-01-PK-0002", "LOR-01-PK-0003")):
        for entry in group:
            page = reader.get_destination_page_number(entry)
            page_text = norm(reader.pages[page].extract_text())
            assert code in page_text and entry.title.split(" — ")[0] in page_text, \
                f"bookmark {entry.title!r} of {code} must open that resident's form"
            assert f"pág. {page + 1}" in cover, "the contents give the page where each form starts"

    text = pdf_text(data, tmp_path)
    assert all(f"Dentro{d:02d}" in text for d in range(1, 21)), "every service in the period"
    assert "Fuera01" not in text, "services outside the period stay out of the packet"
    services_page = reader.get_destination_page_number(children[0][1])
    next_part = len(reader.pages) if len(children) < 2 else reader.get_destination_page_number(
        children[1][0])
    assert next_part - services_page <= 3, \
        "20 services print as one table, not one page per service"
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1], seen
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:])), "progress never goes back"


def test_cancelling_a_packet_stops_it_and_returns_nothing(packet_vault):
    vault, residents = packet_vault
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(printing.PrintCancelled):
        printing.render_packet(vault, residents * 3, ["ficha_ingreso", "registro_atenciones"],
                               cancel=cancel)


def test_printing_writes_nothing_but_the_chosen_file(packet_vault, tmp_path, monkeypatch):
    import tempfile

    vault, residents = packet_vault
    spare = tmp_path / "tmp"
    spare.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    out = tmp_path / "out"
    out.mkdir()
    data = printing.render_packet(vault, residents, ["ficha_ingreso", "registro_atenciones"])
    printing.write_pdf(data, out / "paquete.pdf")
    assert list(spare.iterdir()) == [], "no temporary file may hold a child's data"
    assert [p.name for p in out.iterdir()] == ["paquete.pdf"]
    assert (out / "paquete.pdf").read_bytes() == data


# ---------------------------------------------------------------- errors a person may meet

def test_unknown_form_or_language_is_a_clear_error(packet_vault):
    vault, residents = packet_vault
    with pytest.raises(UnknownForm, match="ficha_ingreso"):
        printing.render_form(vault, "ficha_inexistente", blank=True)
    with pytest.raises(printing.UnknownLanguage, match="es\\+qu"):
        printing.render_form(vault, "ficha_ingreso", blank=True, lang="fr")
    with pytest.raises(CpcError):
        printing.render_packet(vault, residents, ["no_existe"])
    with pytest.raises(printing.PrintError):
        printing.render_form(vault, "ficha_egreso", resident_id=residents[0])


def test_write_pdf_on_an_unusable_path_fails_clearly_and_leaves_nothing(tmp_path, monkeypatch):
    data = b"%PDF-1.4 fake"
    with pytest.raises(printing.PrintError, match="no existe"):
        printing.write_pdf(data, tmp_path / "no" / "such" / "x.pdf")
    (tmp_path / "folder.pdf").mkdir()
    with pytest.raises(printing.PrintError):
        printing.write_pdf(data, tmp_path / "folder.pdf")
    old = tmp_path / "old.pdf"
    old.write_bytes(b"previous")

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(printing.PrintError, match="lleno"):
        printing.write_pdf(data, old)
    assert old.read_bytes() == b"previous", "a failed save must keep the previous file whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.pdf", "old.pdf"], \
        "no partial or temporary file may be left behind"
    assert list((tmp_path / "folder.pdf").iterdir()) == []


def test_saved_pdf_is_readable_by_its_owner_only(tmp_path):
    path = printing.write_pdf(b"%PDF-1.4", tmp_path / "a.pdf")
    assert path.stat().st_mode & 0o077 == 0, "other accounts on a shared laptop cannot read it"


# ---------------------------------------------------------------- recovery key sheet

def test_recovery_sheet_prints_the_key_and_where_to_keep_it(printed, tmp_path):
    _vault, _resident, _ids, created = printed
    key = created.recovery_key
    data = printing.render_recovery_sheet("LOR-01", "Casa de Acogida Ficticia",
                                          key.lower().replace("-", " "), today=TODAY)
    assert pdf_pages(data, tmp_path) == 1, "the recovery key sheet is one page"
    text = pdf_text(data, tmp_path)
    for group in key.split("-"):
        assert group in text, "every group of the key must be on the sheet"
    for expected in ("Casa de Acogida Ficticia", "LOR-01", "Dónde guardarla", "bajo llave",
                     "30/06/2024"):
        assert expected in text
    with pytest.raises(BadRecoveryKey):
        printing.render_recovery_sheet("LOR-01", "X", key[:-1] + ("0" if key[-1] != "0" else "1"))


def test_register_layout_is_chosen_from_the_definition():
    reg = registry()
    # the registers: one section of stored fields, no table (services, visits, incidents)
    registers = {"registro_atenciones", "registro_visitas", "registro_incidentes"}
    assert {f for f in FORM_IDS if is_register(reg.get(f))} == registers


def test_language_menu_lists_the_three_print_languages():
    assert [code for code, _name in printing.language_choices()] == ["es", "qu", "es+qu"]
    assert printing.sensitive_notice()
