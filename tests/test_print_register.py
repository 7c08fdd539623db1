"""Issue 19: the services log on paper is a register — a table with a row per entry, room to
write each by hand and a signature per entry (or one at the end), as its form JSON declares
in its "print" block. Only fictional people.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess

import pytest
from pypdf import PdfReader

from cpc_desktop import printing
from cpc_desktop.core import forms
from cpc_desktop.core.errors import FormDefinitionError
from cpc_desktop.core.i18n import gettext_for
from cpc_desktop.paths import resource_path
from cpc_desktop.printing.flowables import SignatureBox
from cpc_desktop.printing.formflow import FormRenderer, is_register
from cpc_desktop.printing.language import Lang

from printing_helpers import full_values, need_poppler, pdf_text, registry

TODAY = dt.date(2024, 6, 30)
MM = 72 / 25.4


@pytest.fixture(scope="module")
def services(tmp_path_factory, vault_factory):
    """A fictional resident with five services and a PTI (vault, resident id)."""
    need_poppler()
    created = vault_factory(tmp_path_factory.mktemp("register") / "vault")
    vault = created.vault
    reg = registry()
    resident = vault.add(reg.intake.form, {**full_values(reg.intake),
                                           "internal_code": "LOR-01-PR-0007"})
    log = reg.by_role("services_log")
    for n in range(5):
        vault.add(log.form, {**full_values(log), "professional": f"Profesional Ficticia {n}"},
                  resident)
    vault.add(reg.by_role("care_plan").form, full_values(reg.by_role("care_plan")), resident)
    yield vault, resident
    vault.lock()


def log_form() -> forms.Form:
    return registry().by_role("services_log")


def page_sizes(data: bytes, tmp_path) -> list[tuple[float, float]]:
    path = tmp_path / "sizes.pdf"
    path.write_bytes(data)
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(path).pages]


def row_numbers(data: bytes, tmp_path, page: int | None = None) -> list[tuple[int, float]]:
    """(number, top y) of the entry numbers in a register's first column (on `page`, or on
    every page in order)."""
    path = tmp_path / "rows.pdf"
    path.write_bytes(data)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    html = subprocess.run(["pdftotext", "-bbox", *pages, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    out = []
    for x0, y0, word in re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" '
                                   r'yMax="[\d.]+">(\d+)<', html):
        if float(x0) < 18 * MM + 9 * MM:   # inside the number column
            out.append((int(word), float(y0)))
    return out


def test_the_registers_declare_rows_to_write_on_and_a_signature_per_entry():
    # which forms are registers: tests/test_printing.py (services, visits, incidents)
    registers = [f for f in registry() if is_register(f)]
    assert log_form() in registers
    for form in registers:
        layout = form.print_layout
        assert layout.signature == "per_entry" and layout.orientation == "landscape", form.form
        assert layout.row_mm >= 8, form.form


def test_the_blank_register_has_many_rows_to_write_on_and_a_signature_column(tmp_path):
    data = printing.render_values(log_form().form, None, shelter_code="LOR-01",
                                  shelter_name="Casa Ficticia", today=TODAY)
    sizes = page_sizes(data, tmp_path)
    assert len(sizes) == log_form().print_layout.blank_pages
    assert all(w > h for w, h in sizes), "a register with many columns prints in landscape"
    rows = row_numbers(data, tmp_path, page=1)
    numbers = [n for n, _y in rows]
    assert numbers[:8] == list(range(1, 9)), f"numbered entries on the first page: {numbers}"
    gaps = [b[1] - a[1] for a, b in zip(rows, rows[1:])]
    assert min(gaps) >= 8 * MM - 0.5, f"rows must fit handwriting (≥ 8 mm): {gaps}"
    text = pdf_text(data, tmp_path)
    assert "Firma" in text
    for fld in log_form().fields:
        if fld.stores_value:
            assert re.sub(r"\s+", " ", fld.label) in re.sub(r"(\w)- (\w)", r"\1\2", text), \
                f"the column of {fld.id!r} is not headed by its label"
    last = row_numbers(data, tmp_path, page=len(sizes))
    assert last and last[-1][0] >= 18, "two pages of entries"


def test_the_filled_register_is_one_table_of_the_residents_entries(services, tmp_path):
    vault, resident = services
    data = printing.render_form(vault, log_form().form, resident_id=resident, today=TODAY)
    text = pdf_text(data, tmp_path)
    for n in range(5):
        assert f"Profesional Ficticia {n}" in text
    assert [n for n, _y in row_numbers(data, tmp_path)][:5] == [1, 2, 3, 4, 5]
    assert "Firma" in text and text.count("?:") == 0
    assert all(w > h for w, h in page_sizes(data, tmp_path))


@pytest.mark.parametrize("lang", ["es", "qu", "es+qu"])
def test_the_register_prints_in_every_language(services, tmp_path, lang):
    vault, resident = services
    data = printing.render_form(vault, log_form().form, resident_id=resident, lang=lang,
                                today=TODAY)
    text = pdf_text(data, tmp_path)
    for tr in ([gettext_for("es"), gettext_for("qu")] if lang == "es+qu"
               else [gettext_for(lang)]):
        assert tr("Firma") in text and tr(log_form().title) in text


def test_a_packet_turns_only_the_register_pages(services, tmp_path):
    vault, resident = services
    reg = registry()
    data = printing.render_packet(vault, [resident], [reg.intake.form, log_form().form,
                                                      reg.by_role("care_plan").form],
                                  today=TODAY)
    path = tmp_path / "packet.pdf"
    path.write_bytes(data)
    turned = []
    for i, page in enumerate(PdfReader(path).pages, 1):
        text = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(path), "-"],
                              capture_output=True, text=True, check=True).stdout
        landscape = float(page.mediabox.width) > float(page.mediabox.height)
        turned.append((landscape, "Profesional Ficticia" in text))   # a register entry
    assert any(land for land, _r in turned) and not turned[0][0], "the cover stays portrait"
    assert all(land == is_log for land, is_log in turned[1:]), list(enumerate(turned))


def test_a_register_signed_at_the_end_prints_the_forms_signature_boxes():
    form = log_form()
    end = dataclasses.replace(form, print_layout=dataclasses.replace(form.print_layout,
                                                                     signature="end"))
    renderer = FormRenderer(Lang("es"))
    per_entry = renderer.register(form, [full_values(form)])
    at_end = renderer.register(end, [full_values(form)])

    def boxes(flowables):
        found = []
        for f in flowables:
            found += [f] if isinstance(f, SignatureBox) else [
                c for c in getattr(f, "cells", []) if isinstance(c, SignatureBox)]
        return found

    assert not boxes(per_entry), "signed per entry: a column, no box at the end"
    assert boxes(at_end), "signed at the end: the form's signature box after the table"
    assert len(per_entry[-1]._colWidths) == len(at_end[0]._colWidths) + 1


# ---------------------------------------------------------------- the declaration

def load_mutated(tmp_path, mutate) -> forms.Form:
    raw = json.loads(resource_path("forms", "registro_atenciones.json").read_text("utf-8"))
    mutate(raw)
    path = tmp_path / "registro_atenciones.json"
    path.write_text(json.dumps(raw), "utf-8")
    lists = forms.load_choice_lists(resource_path("catalogs", "choices.json"))
    return forms.load_form(path, lists)


@pytest.mark.parametrize("mutate, says", [
    (lambda r: r["print"]["columns"].pop(), "without a column"),
    (lambda r: r["print"].update(row_mm=6), "row_mm"),
    (lambda r: r["print"].update(signature="sometimes"), "signature"),
    (lambda r: r["print"].update(orientation="sideways"), "orientation"),
    (lambda r: r["print"]["columns"].append({"fields": ["nope"]}), "'nope'"),
    (lambda r: r["print"]["columns"].append({"fields": ["note"]}), "two columns"),
    (lambda r: r.update(per_resident="one"), "many"),
    (lambda r: r["print"].update(colour="red"), "unknown keys"),
])
def test_a_bad_register_declaration_is_refused_naming_the_place(tmp_path, mutate, says):
    with pytest.raises(FormDefinitionError) as exc:
        load_mutated(tmp_path, mutate)
    assert "registro_atenciones.json: print" in str(exc.value) and says in str(exc.value)


def test_a_form_without_a_print_block_prints_as_a_form(tmp_path):
    form = load_mutated(tmp_path, lambda r: r.pop("print"))
    assert form.print_layout is None and not is_register(form)
