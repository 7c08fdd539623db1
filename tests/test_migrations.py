"""Vaults made by earlier versions of the program open after an update: migrated once, with an
automatic backup first, every record kept (tests/data holds real vaults of schemas 1 and 2)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cpc_desktop.core import vault as vault_mod
from cpc_desktop.core.vault import Vault, facts_json

DATA = Path(__file__).parent / "data"
PASS = "frase de prueba larga"


def raw_records(path: Path, version: int) -> list[tuple]:
    """The records as the old program stored them, read without migrating."""
    slots = vault_mod.KeySlots.load(path / vault_mod.SLOTS_NAME)
    conn = vault_mod.connection.connect(path / vault_mod.DB_NAME, slots.unlock_user("coord", PASS))
    try:
        assert int(conn.execute("SELECT value FROM meta WHERE key='schema_version'"
                                ).fetchone()[0]) == version
        return conn.execute("SELECT id, form, resident_id, data, clocks, deleted, created_hlc "
                            "FROM records ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_vault_migrates_once_and_keeps_every_record(tmp_path, version):
    path = tmp_path / "vault"
    shutil.copytree(DATA / f"vault-schema{version}", path)
    before = raw_records(path, version)
    assert len(before) > 20, "the fixture vault must hold records to mean anything"
    v = Vault.open(path, "coord", PASS)
    try:
        assert v.schema_version == vault_mod.SCHEMA_VERSION
        assert v.check().ok, "a migrated vault fails its check"
        after = v.conn.execute("SELECT id, form, resident_id, data, clocks, deleted, "
                               "created_hlc FROM records ORDER BY id").fetchall()
        assert after == before, "an update would have changed or lost a child's records"
        for rid, form, data, facts in v.conn.execute(
                "SELECT id, form, data, facts FROM records"):
            assert facts == facts_json(v.forms, form, json.loads(data)), (
                f"reports would miscount record {rid}: its facts were not filled in")
        assert [a.action for a in v.audit_log() if a.action == "vault.migrate"], (
            "the migration must be in the audit log")
    finally:
        v.lock()
    backups = list(tmp_path.glob("vault.before-migration-*.cpcbackup"))
    assert len(backups) == 1, "an automatic backup must be made before migrating"
    again = Vault.open(path, "coord", PASS)
    again.lock()
    assert len(list(tmp_path.glob("vault.before-migration-*.cpcbackup"))) == 1, (
        "a migrated vault must not migrate (nor back up) again")
