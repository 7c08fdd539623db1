"""One writer: only core/records_store.py writes records (and their facts), the change log and
the resident cache; code outside core uses the vault's public reading()/writing() contexts,
never its private members."""
from __future__ import annotations

import re
from pathlib import Path

import cpc_desktop

ROOT = Path(cpc_desktop.__file__).parent
STORE = ROOT / "core" / "records_store.py"
ATTACHMENTS = ROOT / "core" / "attachments.py"
TABLES = r"(records|changes|residents|resident_search|due_dates)"
ATTACHMENT_TABLES = r"(attachments|attachment_chunks)"
_SQL_WRITE = re.compile(
    r"\b(INSERT(\s+OR\s+[A-Z]+)?\s+INTO|REPLACE\s+INTO|UPDATE(\s+OR\s+[A-Z]+)?|DELETE\s+FROM)"
    rf"\s+{TABLES}\b")
_UTILS_WRITE = re.compile(rf"""\[["']{TABLES}["']\]\s*\.\s*(insert|upsert|update|delete)""")
_ATT_WRITE = re.compile(
    r"\b(INSERT(\s+OR\s+[A-Z]+)?\s+INTO|REPLACE\s+INTO|UPDATE(\s+OR\s+[A-Z]+)?|DELETE\s+FROM)"
    rf"\s+{ATTACHMENT_TABLES}\b")
# Private members of Vault that other modules once reached into.
_PRIVATE = re.compile(r"\b(?!self\b)\w+\._(lock|read|require|tx|meta|key|damaged)\b(?!_)")


def writes(source: str) -> list[str]:
    return [m.group(0) for rx in (_SQL_WRITE, _UTILS_WRITE) for m in rx.finditer(source)]


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        yield path, path.read_text(encoding="utf-8")


def test_the_scan_finds_writes_in_every_shape_used_before():
    # What sync/merge.py, sync/clockguard.py and a migration wrote before the store existed.
    assert writes('conn.executemany("UPDATE records SET data=?, facts=? WHERE id=?", rows)')
    assert writes('"INSERT INTO changes(record_id, form) VALUES (?,?)"')
    assert writes('conn.execute("INSERT OR REPLACE INTO residents VALUES (?)")')
    assert writes('conn.execute("DELETE FROM resident_search WHERE rowid=?")')
    assert writes('db["records"].insert({"id": 1})')
    assert not writes('"SELECT id FROM records WHERE deleted=0"')
    assert not writes('"INSERT INTO sync_conflicts(record_id) VALUES (?)"')


def test_only_the_records_store_writes_records_changes_and_the_resident_cache():
    found = {str(path.relative_to(ROOT)): hits for path, text in _sources()
             if path != STORE and (hits := writes(text))}
    assert found == {}, f"only core/records_store.py may write these tables: {found}"
    assert writes(STORE.read_text(encoding="utf-8")), "the store itself must be scanned"


def test_only_core_attachments_writes_the_attachment_tables():
    assert _ATT_WRITE.search('conn.execute("DELETE FROM attachment_chunks WHERE id=?")')
    assert not _ATT_WRITE.search('"SELECT data FROM attachment_chunks"')
    found = {str(path.relative_to(ROOT)): hits for path, text in _sources()
             if path != ATTACHMENTS and (hits := [m.group(0) for m in _ATT_WRITE.finditer(text)])}
    assert found == {}, f"only core/attachments.py may write these tables: {found}"
    assert _ATT_WRITE.search(ATTACHMENTS.read_text(encoding="utf-8"))


def test_no_module_reaches_into_the_vaults_private_members():
    allowed = {ROOT / "core" / "vault.py", ROOT / "core" / "rekey.py"}  # rekey swaps the key
    found = {}
    for path, text in _sources():
        if path in allowed:
            continue
        hits = [m.group(0) for m in _PRIVATE.finditer(text)
                if not m.group(0).startswith(("devices._meta", "_vault._"))]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}, f"use Vault.reading()/writing()/read()/require()/meta(): {found}"
    assert _PRIVATE.search("with vault._lock:") and _PRIVATE.search("v._tx()")
