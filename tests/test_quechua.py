"""The Quechua catalog (issue 7): complete, in the official alphabet, and using the glossary.

i18n/glossary-qu.md is the reference: its "Terms in use" table (Spanish | Quechua | Root |
Other Spanish forms | …) and its "Loanwords" table are parsed here, so a reviewer who changes a
term in the glossary sees every catalog entry that still uses the old one.
"""
from __future__ import annotations

import re
import shutil
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cpc_desktop.core import i18n
from cpc_desktop.i18n_tools import translations

REPO = Path(__file__).resolve().parent.parent
GLOSSARY = REPO / "i18n" / "glossary-qu.md"
KEPT = "kept in Spanish on purpose"
CURLY = "‘’ʼ‛"
NON_QUECHUA_VOWELS = set("eoéóèòëöêô")


# --- reading the catalog and the glossary ------------------------------------------------

@dataclass(frozen=True)
class Entry:
    msgid: str
    msgstr: str
    kept: bool


@pytest.fixture(scope="module")
def catalog() -> list[Entry]:
    with translations.po_file("qu").open("rb") as fh:
        po = read_po(fh, locale="qu")
    entries = []
    for msg in po:
        if not msg.id:
            continue
        kept = any(c.startswith(KEPT) for c in msg.user_comments)
        if isinstance(msg.id, (list, tuple)):
            # ngettext: the singular and plural Spanish each checked against their own form
            # (plural=(n != 1): msgstr[0] is the singular, msgstr[1] the plural)
            strings = list(msg.string or ("", ""))
            entries += [Entry(msg.id[0], strings[0] or "", kept),
                        Entry(msg.id[1], strings[-1] or "", kept)]
        else:
            entries.append(Entry(msg.id, msg.string or "", kept))
    return entries


def _table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table after a `## heading` line."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## " + heading))
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header


@dataclass(frozen=True)
class Term:
    spanish: str
    quechua: str
    root: tuple[str, ...]  # empty: checked as a whole label only
    forms: tuple[str, ...]  # Spanish forms looked for inside longer msgids


def _terms() -> list[Term]:
    terms = []
    for cells in _table(GLOSSARY.read_text(encoding="utf-8"), "Terms in use"):
        spanish, quechua, root, other = cells[:4]
        words = () if root in ("—", "-", "") else tuple(root.lower().split())
        forms = (spanish, *(f.strip() for f in other.split(" / ") if f.strip()))
        terms.append(Term(spanish, quechua, words, forms if words else ()))
    return terms


def _loanwords() -> list[str]:
    rows = _table(GLOSSARY.read_text(encoding="utf-8"), "Loanwords")
    spellings = (s.strip() for cells in rows for s in cells[0].split(" / "))
    return sorted(spellings, key=len, reverse=True)


TERMS = _terms()
LOANWORDS = _loanwords()


# --- text helpers ------------------------------------------------------------------------

_PERCENT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")


def _without_placeholders(text: str) -> str:
    try:
        text = "".join(lit + " " for lit, *_ in string.Formatter().parse(text))
    except ValueError:
        pass  # broken braces are reported by `cpc i18n check`
    return _PERCENT.sub(" ", text)


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _contains_root(msgstr: str, root: tuple[str, ...]) -> bool:
    words = _words(msgstr)
    return any(all(words[i + j].startswith(part) for j, part in enumerate(root))
               for i in range(len(words) - len(root) + 1))


def _spanish_terms_in(msgid: str) -> list[Term]:
    """Glossary terms whose Spanish form occurs as whole words; longer forms win."""
    text = _without_placeholders(msgid).lower()
    found = []
    pairs = sorted(((form, term) for term in TERMS for form in term.forms),
                   key=lambda pair: len(pair[0]), reverse=True)
    for form, term in pairs:
        pattern = re.compile(r"(?<![\w'])" + re.escape(form.lower()) + r"(?![\w'])")
        if pattern.search(text):
            found.append(term)
            text = pattern.sub(lambda m: " " * len(m.group()), text)
    return found


_CODE_LIKE = re.compile(r"\S*\w[._=]\w\S*|(?<!\w)\.\w+|--\S+|\S*_\S*|\S*\d\S*")


def _non_quechua_words(msgid: str, msgstr: str) -> list[str]:
    """Words of a Quechua translation that contain e or o (or é, ó …), after leaving out
    placeholders, file names, command options, numbers, the glossary's loanwords and acronyms
    copied from the Spanish text (INEI, UPEpa → the suffix -pa is still checked)."""
    text = _CODE_LIKE.sub(" ", _without_placeholders(msgstr))
    for loan in LOANWORDS:
        text = re.sub(r"(?<![\w'])" + re.escape(loan), " ", text, flags=re.IGNORECASE)
    spanish_words = set(re.findall(r"[A-ZÁÉÍÓÚÑ]{2,}", msgid))
    bad = []
    for word in _WORD.findall(text):
        caps = re.match(r"[A-ZÁÉÍÓÚÑ]{2,}", word)
        if caps and (caps.group() in spanish_words or word.isupper() and word in msgid):
            word = word[caps.end():]  # an acronym from the Spanish text; check its suffix
        if NON_QUECHUA_VOWELS & set(word.lower()):
            bad.append(word)
    return bad


# --- the checks --------------------------------------------------------------------------

def test_every_msgid_has_a_quechua_translation():
    missing = translations.missing("qu")
    assert missing == [], (
        f"{len(missing)} texts would show in Spanish to a Quechua reader; translate them in "
        f"i18n/qu/LC_MESSAGES/cpc.po (`cpc i18n missing --lang qu`): {missing[:5]}")


def test_cpc_i18n_check_strict_passes_for_quechua(capsys):
    """What README promises CI runs: `cpc i18n check --lang qu --strict` exits 0."""
    from cpc_desktop.cli.main import main

    code = main(["i18n", "check", "--lang", "qu", "--strict"])
    assert code == 0, f"`cpc i18n check --lang qu --strict` failed: {capsys.readouterr()}"


def test_quechua_translations_keep_their_placeholders():
    problems = [p for p in translations.check("qu") if p.kind != "missing"]
    assert problems == [], f"a message would crash or lose its value: {problems[:5]}"


def test_quechua_uses_only_the_ascii_apostrophe(catalog):
    curly = [e.msgid for e in catalog if set(CURLY) & set(e.msgstr)]
    assert curly == [], f"use ' (U+0027) for the glottal stop: {curly[:5]}"
    in_glossary = [t.quechua for t in TERMS if set(CURLY) & set(t.quechua)]
    assert in_glossary == [], "the glossary must show the apostrophe the catalog uses"


def test_quechua_is_written_with_three_vowels(catalog):
    wrong = {}
    for entry in catalog:
        if entry.kept or not entry.msgstr:
            continue
        bad = _non_quechua_words(entry.msgid, entry.msgstr)
        if bad:
            wrong[entry.msgid] = bad
    assert wrong == {}, (
        "Quechua words with e/o (official alphabet: a, i, u) — fix the spelling, or add a "
        f"loanword to i18n/glossary-qu.md if people really say it: {list(wrong.items())[:5]}")


def _in_case_of(msgid: str, spanish: str, quechua: str) -> str:
    """The glossary's Quechua written in the case of the msgid ("sí" → "arí", "ARCHIVO" →
    "WILLAÑIQI" for a command-line placeholder)."""
    if msgid == spanish:
        return quechua
    if msgid.isupper():
        return quechua.upper()
    if msgid == msgid.lower():
        return quechua.lower()
    return quechua


def test_glossary_labels_are_translated_exactly_as_written(catalog):
    by_id: dict[str, list[Entry]] = {}
    for e in catalog:
        by_id.setdefault(e.msgid.lower(), []).append(e)
    wrong = []
    for term in TERMS:
        for entry in by_id.get(term.spanish.lower(), []):
            expected = _in_case_of(entry.msgid, term.spanish, term.quechua)
            # A command-line placeholder is one word: "HUNT'ANA_P'ANQA" is the glossary's term.
            placeholder = entry.msgid.isupper() and " " not in entry.msgid
            if entry.msgstr != expected and not (
                    placeholder and entry.msgstr == expected.replace(" ", "_")):
                wrong.append((entry.msgid, entry.msgstr, expected))
    assert wrong == [], f"(msgid, catalog, glossary) — one thing, one word: {wrong[:5]}"


def test_glossary_terms_are_used_inside_longer_texts(catalog):
    wrong = []
    for entry in catalog:
        if entry.kept or not entry.msgstr:
            continue
        for term in _spanish_terms_in(entry.msgid):
            if entry.msgid.lower() != term.spanish.lower() and \
                    not _contains_root(entry.msgstr, term.root):
                wrong.append((entry.msgid, term.spanish, " ".join(term.root)))
    assert wrong == [], (
        "(msgid, glossary term, Quechua root that is missing) — a reader would meet two words "
        f"for one thing: {wrong[:8]}")


_ACCELERATOR = re.compile(r"(?<!&)&(?!&)")


def test_menu_accelerators_start_a_quechua_word(catalog):
    """Alt+letter: the & of a menu or button text sits at the start of a Quechua word (so
    the glossary check reads the word whole, and the underlined letter is where a reader
    expects it), once per text, and only where the Spanish has one."""
    wrong = []
    for entry in catalog:
        if entry.kept or not entry.msgstr:
            continue
        spanish, quechua = _ACCELERATOR.findall(entry.msgid), _ACCELERATOR.findall(entry.msgstr)
        if len(quechua) != len(spanish) or len(quechua) > 1:
            wrong.append((entry.msgid, entry.msgstr))
            continue
        for m in _ACCELERATOR.finditer(entry.msgstr):
            before = entry.msgstr[m.start() - 1] if m.start() else " "
            after = entry.msgstr[m.end():m.end() + 1]
            if before.isalnum() or before == "'" or not after.isalnum():
                wrong.append((entry.msgid, entry.msgstr))
    assert wrong == [], f"(msgid, msgstr) with a misplaced or missing & accelerator: {wrong[:5]}"


def _cli_placeholders(lang: str) -> list[tuple[str, str | None, str]]:
    """(command path, explicit metavar, help of --version) of every `cpc` argument in lang."""
    import argparse

    from cpc_desktop.cli.main import build_parser

    previous = i18n.current_language()
    i18n.set_language(lang)
    try:
        parser = build_parser()
    finally:
        i18n.set_language(previous)
    found = []

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for action in p._actions:
            found.append((path, action.metavar, action.help or ""))
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}")

    walk(parser, "cpc")
    return found


def test_command_line_placeholders_follow_the_language():
    spanish, quechua = _cli_placeholders("es"), _cli_placeholders("qu")
    assert len(spanish) == len(quechua)
    english = {"COMMAND", "FORM", "FILE|-", "OUT.pdf", "NAME", "DIR|URL",
               "show program's version number and exit"}
    assert not english & ({m for _p, m, _h in spanish} | {h for _p, _m, h in spanish}), \
        "a Spanish reader would meet English words in `cpc --help`"
    same_in_both = {None, "ID", "N", "CÓDIGO", "dd/mm/aaaa"}  # names or formats people use as they are
    untranslated = sorted({(p, es) for (p, es, _h), (_q, qu, _h2) in zip(spanish, quechua)
                           if es == qu and es not in same_in_both})
    assert untranslated == [], f"`CPC_LANG=qu cpc … --help` shows Spanish placeholders: {untranslated}"


# --- the checks themselves catch what they should ----------------------------------------

def test_glossary_has_the_key_terms_of_issue_7():
    spanish = {t.spanish.lower() for t in TERMS}
    for key in ("nombre", "apellidos", "fecha de nacimiento", "edad", "sexo", "niña", "niño",
                "adolescente", "centro de acogida", "familia", "tutora o tutor legal", "firma",
                "fecha", "lugar", "plan", "objetivo", "seguimiento", "egreso", "consentimiento",
                "imprimir", "guardar", "buscar", "cancelar", "sí", "no", "contraseña",
                "bloquear", "sincronizar", "informe", "trata", "explotación", "derivación",
                "riesgo", "profesional", "coordinador(a)", "psicología", "trabajo social",
                "abogacía", "intérprete", "lengua materna", "grado de estudios", "discapacidad",
                "gestante", "seguro de salud", "contacto", "no debe saber dónde está",
                "clave de recuperación", "copia de seguridad", "bóveda", "servicio", "salud",
                "educación"):
        assert key in spanish, f"glossary row missing for {key!r}"
    assert len(LOANWORDS) > 20


def test_orthography_check_flags_five_vowel_spelling_but_not_loans_or_acronyms():
    assert _non_quechua_words("Volver", "Qhepa lloqsiy") == ["Qhepa", "lloqsiy"]
    assert _non_quechua_words("Fiscalía del INEI", "INEIpa Fiscalíanman riy") == []
    assert _non_quechua_words("x", "UPEpa") == ["UPEpa"]  # not in the Spanish: not an acronym
    assert _non_quechua_words("INEI", "INEIpo") == ["po"]  # the suffix is still checked
    assert _non_quechua_words("{name} en {path}", "{name} {path} nisqapi") == []
    assert _non_quechua_words("use --user-file", "--user-file nisqata llamk'achiy") == []
    assert _non_quechua_words("MANA", "MANA YACHANANCHU") == []
    assert _non_quechua_words("x", "NO DEBE") == ["NO", "DEBE"]


def test_glossary_check_finds_terms_as_whole_words_longest_first():
    found = {t.spanish for t in _spanish_terms_in("Fecha de nacimiento de la niña")}
    assert "Fecha de nacimiento" in found and "Fecha" not in found and "Niña" in found
    assert not {t.spanish for t in _spanish_terms_in("Egresado(a)")} & {"Egreso"}  # words only
    assert {t.spanish for t in _spanish_terms_in("%(error)s")} == set()  # not in placeholders
    root = next(t for t in TERMS if t.spanish == "Fecha de nacimiento").root
    assert _contains_root("Paqarisqan p'unchawninta qillqay", root)
    assert not _contains_root("P'unchaw paqarisqan", root)


def test_exact_labels_are_compared_in_the_case_of_the_msgid():
    assert _in_case_of("Archivo", "Archivo", "Willañiqi") == "Willañiqi"
    assert _in_case_of("ARCHIVO", "Archivo", "Willañiqi") == "WILLAÑIQI"
    assert _in_case_of("sí", "Sí", "Arí") == "arí"


def test_plural_entries_are_checked_in_both_forms(catalog):
    ids = {e.msgid for e in catalog}
    assert {"{n} paquete de cambios", "{n} paquetes de cambios"} <= ids, \
        "ngettext entries must reach the glossary checks"


def test_glossary_parser_reads_the_tables():
    sure = {t.spanish: t for t in TERMS}
    assert sure["Contraseña"].quechua == "Yaykuna rima"
    assert sure["Sí"].root == ()  # checked as a whole label only
    assert "fechas" in sure["Fecha"].forms
    assert "institucion" in LOANWORDS and "institución" in LOANWORDS
    assert "Perú" in LOANWORDS


# --- the review workflow -----------------------------------------------------------------

def test_a_reviewer_edit_to_the_po_shows_at_next_start(tmp_path, monkeypatch):
    """The .po is read when it is newer than the .mo, without `cpc i18n compile`."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "i18n", root / "i18n", ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "i18n_path", lambda *parts: root.joinpath("i18n", *parts))
    i18n.reload()
    try:
        po = translations.po_file("qu", root)
        assert i18n.gettext_for("qu")("Sí") == "Arí"
        text = po.read_text(encoding="utf-8")
        assert text.count('msgid "Sí"\nmsgstr "Arí"\n') == 1
        po.write_text(text.replace('msgid "Sí"\nmsgstr "Arí"\n',
                                   'msgid "Sí"\nmsgstr "Arí (allichasqa)"\n'), encoding="utf-8")
        i18n.reload()  # what a restart does
        assert i18n.gettext_for("qu")("Sí") == "Arí (allichasqa)"
    finally:
        i18n.reload()


def test_a_new_language_folder_gets_its_own_catalog(tmp_path):
    """Adding Kichwa, Awajún or Shawi is making i18n/<code>/LC_MESSAGES and running extract."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "cpc_desktop", root / "cpc_desktop",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / "resources" / "forms", root / "resources" / "forms")
    (root / "resources" / "catalogs").mkdir(parents=True)
    shutil.copy2(REPO / "resources" / "catalogs" / "choices.json",
                 root / "resources" / "catalogs" / "choices.json")
    shutil.copytree(REPO / "i18n", root / "i18n", ignore=shutil.ignore_patterns("*.mo"))
    (root / "i18n" / "qup" / "LC_MESSAGES").mkdir(parents=True)

    result = translations.update_catalogs(root=root)

    assert "qup" in translations.languages(root)
    po = translations.po_file("qup", root)
    assert po.exists(), "a translator would have nothing to fill in"
    with po.open("rb") as fh:
        new = read_po(fh, locale=None)
    ids = {m.id for m in new if m.id}
    assert ids and result["qup"] == (len(ids), 0)
    assert all(translations.review_status(m) == "missing" for m in new if m.id)
    problems = translations.check("qup", root)
    assert {p.kind for p in problems} == {"missing"}
