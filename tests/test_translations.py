"""The translation pipeline (cpc_desktop.i18n_tools.translations).

Tests that write catalogs work on a copy of the repository in tmp_path (the functions take a
`root`); the real catalogs are only read — except by the check that they are in step with the
code, which reads them too.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cpc_desktop.core import i18n
from cpc_desktop.i18n_tools import translations
from cpc_desktop.i18n_tools.translations import Problem

REPO = Path(__file__).resolve().parent.parent
INTAKE = REPO / "resources" / "forms" / "ficha_ingreso.json"


def _intake() -> dict:
    return json.loads(INTAKE.read_text(encoding="utf-8"))


def _field(form: dict, field_id: str) -> dict:
    for section in form["sections"]:
        for fld in section["fields"]:
            if fld["id"] == field_id:
                return fld
    raise KeyError(field_id)


def _copy_repo(dest: Path) -> Path:
    """The parts the pipeline reads: sources, forms, shared choices and the catalogs."""
    shutil.copytree(REPO / "cpc_desktop", dest / "cpc_desktop",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / "resources" / "forms", dest / "resources" / "forms")
    (dest / "resources" / "catalogs").mkdir(parents=True)
    shutil.copy2(REPO / "resources" / "catalogs" / "choices.json",
                 dest / "resources" / "catalogs" / "choices.json")
    if (REPO / "i18n").is_dir():
        shutil.copytree(REPO / "i18n", dest / "i18n", ignore=shutil.ignore_patterns("*.mo"))
    return dest


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "i18n").rglob("*")) if p.is_file()}


def _read(path: Path, lang: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def extracted():
    return translations.extract()


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    return _copy_repo(tmp_path / "repo")


@pytest.fixture
def fresh_copy(tmp_path) -> Path:
    """A copy without any catalog: everything is created by update_catalogs()."""
    root = _copy_repo(tmp_path / "fresh")
    shutil.rmtree(root / "i18n", ignore_errors=True)
    return root


# --- extraction --------------------------------------------------------------------------

def test_extracts_python_msgid_with_location(extracted):
    msg = extracted.get("Usuario o contraseña incorrectos.")
    assert msg is not None
    assert any(f == "cpc_desktop/core/keyslots.py" for f, _line in msg.locations)


def test_extracts_n_marked_msgids(extracted):
    # N_() in users.py and forms.py: marked where defined, translated where shown
    assert extracted.get("Coordinador(a)") is not None
    assert extracted.get("es obligatorio.") is not None


def test_extracts_form_label_with_json_path_and_line(extracted):
    label = _field(_intake(), "name_first")["label"]
    msg = extracted.get(label)
    assert msg is not None
    assert "field name_first label" in msg.auto_comments
    lines = [line for f, line in msg.locations if f == "resources/forms/ficha_ingreso.json"]
    assert lines, msg.locations
    text_lines = INTAKE.read_text(encoding="utf-8").splitlines()
    assert any(json.dumps(label, ensure_ascii=False) in text_lines[n - 1] for n in lines)


def test_extracts_form_title_section_help_and_unit(extracted):
    form = _intake()
    assert "form title" in extracted.get(form["title"]).auto_comments
    assert extracted.get(form["description"]) is not None
    assert extracted.get(form["sections"][0]["title"]) is not None
    age = _field(form, "age")
    assert extracted.get(age["unit"]) is not None
    assert extracted.get(age["help"]) is not None


def test_extracts_inline_and_shared_choice_labels(extracted):
    form = _intake()
    inline = _field(form, "arrival_way")["choices"][0]
    msg = extracted.get(inline["label"])
    assert msg is not None
    assert f"field arrival_way choice {inline['value']}" in msg.auto_comments
    choices = json.loads((REPO / "resources/catalogs/choices.json").read_text(encoding="utf-8"))
    shared = choices["document_types"][1]
    msg = extracted.get(shared["label"])
    assert msg is not None
    assert ("resources/catalogs/choices.json" in {f for f, _ in msg.locations})
    assert f"choices document_types {shared['value']}" in msg.auto_comments


def test_extracts_table_columns(extracted):
    table = _field(_intake(), "family_details")
    for col in table["columns"]:
        msg = extracted.get(col["label"])
        assert msg is not None, col["label"]
        assert f"field family_details column {col['id']} label" in msg.auto_comments


def test_brace_placeholders_get_python_brace_format(extracted):
    msg = extracted.get("Rol desconocido: «{role}». Roles: {roles}.")
    assert msg is not None
    assert "python-brace-format" in msg.flags
    assert "python-brace-format" not in extracted.get("Usuario o contraseña incorrectos.").flags


def test_extraction_from_json_uses_the_given_root(repo_copy):
    form_file = repo_copy / "resources" / "forms" / "ficha_ingreso.json"
    form = json.loads(form_file.read_text(encoding="utf-8"))
    form["sections"][0]["help"] = "Texto de ayuda nuevo para {centro}."
    form_file.write_text(json.dumps(form, ensure_ascii=False, indent=2), encoding="utf-8")
    catalog = translations.extract(repo_copy)
    msg = catalog.get("Texto de ayuda nuevo para {centro}.")
    assert msg is not None and "python-brace-format" in msg.flags
    assert f"section {form['sections'][0]['id']} help" in msg.auto_comments
    assert translations.extract().get("Texto de ayuda nuevo para {centro}.") is None


# --- update ------------------------------------------------------------------------------

def test_update_creates_catalogs_with_headers(fresh_copy):
    result = translations.update_catalogs(root=fresh_copy)
    assert set(result) >= {"es", "qu"}
    total = len([m for m in translations.extract(fresh_copy) if m.id])
    assert result["qu"] == (total, 0)
    assert (fresh_copy / "i18n" / "cpc.pot").exists()
    qu = _read(translations.po_file("qu", fresh_copy), "qu")
    headers = dict(qu.mime_headers)
    assert headers["Language"] == "qu"
    assert headers["Language-Team"] == "Runasimi (Qusqu–Qullaw)"
    assert headers["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    es = _read(translations.po_file("es", fresh_copy), "es")
    for msg in es:
        if msg.id:
            assert msg.string == msg.id
    for msg in qu:
        if msg.id:
            assert _untranslated(msg)
            assert "review: missing" in msg.user_comments
            assert not msg.fuzzy


def test_update_is_idempotent_from_scratch(fresh_copy):
    translations.update_catalogs(root=fresh_copy)
    first = _snapshot(fresh_copy)
    assert translations.update_catalogs(root=fresh_copy) == {"es": (0, 0), "qu": (0, 0)}
    assert _snapshot(fresh_copy) == first


def test_update_is_idempotent_on_real_catalogs(repo_copy):
    translations.update_catalogs(root=repo_copy)
    first = _snapshot(repo_copy)
    translations.update_catalogs(root=repo_copy)
    assert _snapshot(repo_copy) == first


def test_update_keeps_translations_and_moves_removed_msgids_to_obsolete(fresh_copy):
    translations.update_catalogs(root=fresh_copy)
    po = translations.po_file("qu", fresh_copy)
    catalog = _read(po, "qu")
    catalog.get("Apellidos").string = "Prueba-apellidos"
    catalog.get("Apellidos").user_comments = ["review: reviewed"]
    catalog.get("Sexo").string = "Prueba-sexo"  # translated by hand, no review comment
    catalog.get("Sexo").user_comments = []
    po.write_bytes(translations._render(catalog))

    translations.update_catalogs(root=fresh_copy)
    catalog = _read(po, "qu")
    assert catalog.get("Apellidos").string == "Prueba-apellidos"
    assert "review: reviewed" in catalog.get("Apellidos").user_comments
    assert "review: unreviewed" in catalog.get("Sexo").user_comments

    form_file = fresh_copy / "resources" / "forms" / "ficha_ingreso.json"
    original = form_file.read_text(encoding="utf-8")
    assert original.count('"label": "Apellidos"') == 1
    form_file.write_text(original.replace('"label": "Apellidos"', '"label": "Apellidos (nuevo)"'),
                         encoding="utf-8")
    result = translations.update_catalogs(root=fresh_copy)
    assert result["qu"] == (1, 1)
    assert result["es"] == (1, 1)
    catalog = _read(po, "qu")
    assert catalog.get("Apellidos") is None
    assert catalog.obsolete["Apellidos"].string == "Prueba-apellidos"
    assert "#~ msgstr \"Prueba-apellidos\"" in po.read_text(encoding="utf-8")
    assert "review: missing" in catalog.get("Apellidos (nuevo)").user_comments
    assert not [p for p in translations.check("qu", fresh_copy) if p.kind == "stale"]
    es = _read(translations.po_file("es", fresh_copy), "es")
    assert es.get("Apellidos") is None and not es.obsolete

    # the msgid comes back: so does its translation and its review status
    form_file.write_text(original, encoding="utf-8")
    translations.update_catalogs(root=fresh_copy)
    catalog = _read(po, "qu")
    assert catalog.get("Apellidos").string == "Prueba-apellidos"
    assert "review: reviewed" in catalog.get("Apellidos").user_comments
    assert "Apellidos" not in catalog.obsolete


def test_update_output_is_sorted_by_first_location(fresh_copy):
    translations.update_catalogs(root=fresh_copy)
    catalog = _read(fresh_copy / "i18n" / "cpc.pot")
    firsts = [min(m.locations) for m in catalog if m.id]
    assert firsts == sorted(firsts)
    # width 100 (Babel does not count the `msgid ` keyword when it keeps a string on one line)
    lines = (fresh_copy / "i18n" / "cpc.pot").read_text(encoding="utf-8").splitlines()
    assert max(len(line) for line in lines) <= 100 + len("msgid_plural ")
    assert max(len(line) for line in lines) > 76  # not Babel's default width


# --- check -------------------------------------------------------------------------------

PO_HEAD = '''msgid ""
msgstr ""
"Language: qu\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"
"Content-Type: text/plain; charset=utf-8\\n"

'''


def _write_qu(root: Path, body: str) -> None:
    po = translations.po_file("qu", root)
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(PO_HEAD + body, encoding="utf-8")


def test_check_detects_placeholder_mismatch(repo_copy):
    _write_qu(repo_copy, '''#, python-brace-format
msgid "necesita al menos {n} filas."
msgstr "filakunata munan."

#, python-brace-format
msgid "debe ser como máximo {max}."
msgstr "{max} {otro}"

#, python-brace-format
msgid "debe ser como mínimo {min}."
msgstr "{min} pisi"
''')
    problems = translations.check("qu", repo_copy)
    placeholder = {p.msgid: p for p in problems if p.kind == "placeholder"}
    assert set(placeholder) == {"necesita al menos {n} filas.", "debe ser como máximo {max}."}
    assert "{n}" in placeholder["necesita al menos {n} filas."].detail
    assert "{otro}" in placeholder["debe ser como máximo {max}."].detail
    assert isinstance(problems[0], Problem)


def test_check_detects_percent_placeholders_and_plural_forms(repo_copy):
    _write_qu(repo_copy, '''#, python-format
msgid "ya existe otro residente con este código."
msgstr "%(code)s kachkanña"

#, python-brace-format
msgid "{n} páginas con errores de cifrado"
msgid_plural "{n} páginas con errores de cifrado"
msgstr[0] "{n} p'anqa"
''')
    problems = translations.check("qu", repo_copy)
    kinds = {(p.kind, p.msgid) for p in problems}
    assert ("placeholder", "ya existe otro residente con este código.") in kinds
    # a singular msgid in the code, a plural entry in the catalog
    assert ("plural", "{n} páginas con errores de cifrado") in kinds


def test_check_detects_wrong_number_of_plural_forms(repo_copy):
    src = repo_copy / "cpc_desktop" / "core" / "plural_probe.py"
    src.write_text('from .i18n import ngettext\n\n'
                   'def f(n):\n'
                   '    return ngettext("{n} fila", "{n} filas", n).format(n=n)\n',
                   encoding="utf-8")
    _write_qu(repo_copy, '''#, python-brace-format
msgid "{n} fila"
msgid_plural "{n} filas"
msgstr[0] "{n} fila-qu"
msgstr[1] "{n} filas-qu"
msgstr[2] "{n} demás"
''')
    problems = translations.check("qu", repo_copy)
    assert [p for p in problems if p.kind == "plural" and p.msgid == "{n} fila"]
    assert not [p for p in problems if p.kind == "placeholder"]
    assert "{n} fila" not in translations.missing("qu", repo_copy)


def test_check_reports_missing_and_stale(repo_copy):
    _write_qu(repo_copy, '''msgid "Nombres"
msgstr "Sutikuna"

msgid "Apellidos"
msgstr ""

msgid "Un texto que ya no existe en ninguna parte"
msgstr "Mana kanñachu"

#~ msgid "Otro texto viejo"
#~ msgstr "Ñawpa"
''')
    problems = translations.check("qu", repo_copy)
    missing = translations.missing("qu", repo_copy)
    assert "Apellidos" in missing
    assert "Nombres" not in missing
    assert "Usuario o contraseña incorrectos." in missing
    stale = [p.msgid for p in problems if p.kind == "stale"]
    assert stale == ["Un texto que ya no existe en ninguna parte"]


def test_source_language_check_ignores_missing(repo_copy):
    problems = translations.check("es", repo_copy)
    assert not [p for p in problems if p.kind == "missing"]


# --- compile and run time ----------------------------------------------------------------

@pytest.fixture
def i18n_at(monkeypatch):
    """Points the run-time i18n module at another root; restores Spanish afterwards."""
    def use(root: Path) -> None:
        monkeypatch.setattr(i18n, "i18n_path", lambda *parts: root.joinpath("i18n", *parts))
        i18n.reload()

    yield use
    monkeypatch.undo()
    i18n.reload()
    i18n.set_language("es")


def test_compiled_mo_is_used_by_i18n(repo_copy, i18n_at):
    translations.update_catalogs(root=repo_copy)
    po = translations.po_file("qu", repo_copy)
    catalog = _read(po, "qu")
    catalog.get("Usuario o contraseña incorrectos.").string = "Prueba: mana allinchu."
    po.write_bytes(translations._render(catalog))

    i18n_at(repo_copy)
    written = translations.compile_catalogs(root=repo_copy)
    mo = translations.po_file("qu", repo_copy, ".mo")
    assert mo in written and mo.exists()
    po.unlink()  # only the .mo is left: what is read must come from it
    i18n.reload()
    i18n.set_language("qu")
    assert i18n._("Usuario o contraseña incorrectos.") == "Prueba: mana allinchu."
    assert i18n._("Un texto sin traducción") == "Un texto sin traducción"
    i18n.set_language("es")
    assert i18n._("Usuario o contraseña incorrectos.") == "Usuario o contraseña incorrectos."


def test_compile_leaves_out_partial_plurals(repo_copy, i18n_at):
    src = repo_copy / "cpc_desktop" / "core" / "plural_probe.py"
    src.write_text('from .i18n import ngettext\n\n'
                   'def f(n):\n'
                   '    return ngettext("{n} fila", "{n} filas", n).format(n=n)\n',
                   encoding="utf-8")
    translations.update_catalogs(root=repo_copy)
    po = translations.po_file("qu", repo_copy)
    catalog = _read(po, "qu")
    catalog.get("{n} fila").string = ("{n} fila-qu", "")
    po.write_bytes(translations._render(catalog))
    i18n_at(repo_copy)
    translations.compile_catalogs(["qu"], root=repo_copy)
    t = i18n.translations("qu")
    assert t.ngettext("{n} fila", "{n} filas", 3) == "{n} filas"


def test_real_quechua_translations_compile_and_load(tmp_path, i18n_at):
    root = _copy_repo(tmp_path / "repo")
    i18n_at(root)
    translations.compile_catalogs(root=root)
    i18n.set_language("qu")
    assert i18n._("Sí") == "Arí"
    assert i18n._("No") == "Manan"


# --- the real catalogs stay in step with the code ----------------------------------------

def test_real_catalogs_have_no_placeholder_stale_or_plural_problems():
    for lang in translations.languages():
        problems = [p for p in translations.check(lang) if p.kind != "missing"]
        assert problems == [], f"{lang}: run `cpc i18n extract` and fix: {problems[:5]}"


def test_real_es_catalog_is_complete(extracted):
    es = _read(translations.po_file("es"), "es")
    absent = [m.id for m in extracted if m.id and es.get(m.id) is None]
    assert absent == [], f"run `cpc i18n extract`: {absent[:5]}"
    for msg in es:
        if msg.id:
            assert msg.string == msg.id, msg.id


def _untranslated(msg) -> bool:
    """No text in any form: a plural entry's string is a tuple, and ("", "") is untranslated."""
    forms = msg.string if isinstance(msg.string, (list, tuple)) else [msg.string]
    return not any(forms)


def test_real_quechua_entries_all_have_a_review_status():
    qu = _read(translations.po_file("qu"), "qu")
    for msg in qu:
        if not msg.id:
            continue
        status = translations.review_status(msg)
        assert status in translations.REVIEW_STATES, msg.id
        assert (status == "missing") == _untranslated(msg), msg.id
        assert not msg.fuzzy, msg.id
        if msg.string:
            assert "’" not in msg.string, f"use the ASCII apostrophe: {msg.id}"


def test_real_pot_matches_extraction(extracted):
    pot = _read(translations.pot_file())
    assert {m.id for m in pot if m.id} == {m.id for m in extracted if m.id}


# --- CSV ---------------------------------------------------------------------------------

def test_export_csv_has_bom_and_reads_back(tmp_path):
    root = _copy_repo(tmp_path / "repo")
    po = translations.po_file("qu", root)
    catalog = _read(po, "qu")
    entry = catalog.get("Usuario o contraseña incorrectos.")
    entry.string, entry.user_comments = "", ["review: missing"]  # an untranslated entry
    po.write_bytes(translations._render(catalog))
    out = translations.export_csv(tmp_path / "pares.csv", root)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"msgid", "es", "qu", "context", "location", "review_qu"} <= set(rows[0])
    by_id = {r["msgid"]: r for r in rows}
    assert len(by_id) == len(rows)  # one row per msgid
    assert by_id["Sí"]["qu"] == "Arí" and by_id["Sí"]["review_qu"] == "unreviewed"
    label = _field(_intake(), "name_first")["label"]
    assert by_id[label]["es"] == label
    assert "field name_first label" in by_id[label]["context"]
    assert "resources/forms/ficha_ingreso.json:" in by_id[label]["location"]
    untranslated = by_id["Usuario o contraseña incorrectos."]
    assert untranslated["qu"] == "" and untranslated["review_qu"] == "missing"
