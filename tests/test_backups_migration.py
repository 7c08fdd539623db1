"""Opening a vault made by the previous schema version after an update: a backup first, each
migration once, and a failing migration leaves the vault as it was.

The "previous version" is made honestly: a vault is created at today's SCHEMA_VERSION, then the
test registers one more migration and bumps SCHEMA_VERSION, so the vault on disk is one version
behind the program — exactly what the sync branch's real v1→v2 migration will meet.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils

from cpc_desktop.core import backups
from cpc_desktop.core import vault as vault_mod
from cpc_desktop.core.errors import VaultError
from cpc_desktop.core.vault import Vault


@dataclass
class OldVault:
    path: Path
    coordinator: object
    resident_id: str


@pytest.fixture(scope="module")
def source(tmp_path_factory, vault_factory, intake_values):
    """A locked vault of the current schema with one resident (made once: copies are cheap)."""
    created = vault_factory(tmp_path_factory.mktemp("source") / "vault")
    rid = created.vault.add("ficha_ingreso", intake_values(name_first="Migracion Ficticia"))
    created.vault.lock()
    return OldVault(created.path, created.coordinator, rid)


@pytest.fixture
def old_vault(source, tmp_path) -> OldVault:
    """A copy of `source`, for a test that then 'updates the program'."""
    shutil.copytree(source.path, tmp_path / "vault")
    return OldVault(tmp_path / "vault", source.coordinator, source.resident_id)


def _update_program(monkeypatch, step) -> int:
    """Registers `step` as the migration from the current version and bumps SCHEMA_VERSION."""
    old = vault_mod.SCHEMA_VERSION
    monkeypatch.setitem(vault_mod.MIGRATIONS, old, step)
    monkeypatch.setattr(vault_mod.schema, "SCHEMA_VERSION", old + 1)
    return old


def _migration_backups(path):
    return sorted(path.parent.glob(f"{path.name}.before-migration-v*.cpcbackup"))


def _open(created) -> Vault:
    return Vault.open(created.path, created.coordinator.user, created.coordinator.passphrase)


def test_opening_an_older_vault_backs_it_up_then_migrates_once(old_vault, monkeypatch):
    calls = []

    def add_a_column(db):
        calls.append(1)
        db["records"].add_column("priority", int)
        # The kind of change a real migration makes with sqlite-utils (a table rebuilt).
        db["drafts"].transform(rename={"saved_at": "saved"})

    old = _update_program(monkeypatch, add_a_column)
    with _open(old_vault) as v:
        assert v.schema_version == old + 1
        assert "priority" in sqlite_utils.Database(v.conn)["records"].columns_dict
        assert "saved" in sqlite_utils.Database(v.conn)["drafts"].columns_dict
        assert v.get(old_vault.resident_id).values["name_first"] == "Migracion Ficticia"
        assert any(e.action == "vault.migrate" for e in v.audit_log()), \
            "a migration must be visible in the audit log"
    found = _migration_backups(old_vault.path)
    assert len(found) == 1, "opening after an update must make exactly one backup first"
    assert re.fullmatch(rf"vault\.before-migration-v{old}-\d{{8}}-\d{{6}}\.cpcbackup",
                        found[0].name)
    info = backups.read_info(found[0])
    assert info.schema_version == old, "the automatic backup must hold the vault before migrating"
    with _open(old_vault):
        pass
    assert calls == [1], "a migration must run once, not at every unlock"
    assert len(_migration_backups(old_vault.path)) == 1, "no new backup once migrated"


def test_the_automatic_backup_verifies_and_restores_to_the_new_schema(old_vault, monkeypatch,
                                                                      tmp_path):
    old = _update_program(monkeypatch, lambda db: db["records"].add_column("priority", int))
    _open(old_vault).lock()
    copy = _migration_backups(old_vault.path)[0]
    login = old_vault.coordinator
    backups.verify_backup(copy, login.user, login.passphrase)
    target = tmp_path / "restaurada"
    Vault.restore(copy, target, login.user, login.passphrase)
    with Vault.open(target, login.user, login.passphrase) as v:
        assert v.schema_version == old + 1, "restoring an older backup must migrate it"
        assert v.get(old_vault.resident_id).values["name_first"] == "Migracion Ficticia"
    assert not _migration_backups(target), \
        "restoring a backup must not make another backup of that backup"


def test_a_failing_migration_leaves_the_vault_as_it_was(old_vault, monkeypatch):
    def half_done_then_fails(db):
        db.execute("CREATE TABLE half_done (x TEXT)")
        db["records"].add_column("priority", int)
        raise ValueError("Migracion Ficticia")     # a step's own text may quote data

    old = _update_program(monkeypatch, half_done_then_fails)
    with pytest.raises(VaultError) as err:
        _open(old_vault)
    message = str(err.value)
    assert f"versión {old}" in message and "se deshizo" in message
    copy = _migration_backups(old_vault.path)
    assert len(copy) == 1 and str(copy[0]) in message, \
        "the message must say where the backup made before the update is"
    assert "Migracion Ficticia" not in message, "an error text must not carry record values"
    monkeypatch.undo()                                 # the previous program again
    with _open(old_vault) as v:
        assert v.schema_version == old
        assert not sqlite_utils.Database(v.conn)["half_done"].exists(), "a failed migration must be rolled back"
        assert "priority" not in sqlite_utils.Database(v.conn)["records"].columns_dict
        assert v.get(old_vault.resident_id).values["name_first"] == "Migracion Ficticia"
        assert v.check().ok


def test_no_space_for_the_backup_means_no_migration(old_vault, monkeypatch):
    calls = []
    _update_program(monkeypatch, lambda db: calls.append(1))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vault_mod.backup_file, "pack_backup", disk_full)
    with pytest.raises(VaultError, match="copia de seguridad"):
        _open(old_vault)
    assert calls == [], "a vault must not be migrated without its backup"
    assert not list(old_vault.path.parent.glob("*.cpcbackup"))
    assert not list(old_vault.path.parent.glob(".cpc-backup-*"))


def test_a_vault_from_a_newer_program_is_refused_without_a_backup(old_vault, monkeypatch):
    monkeypatch.setattr(vault_mod.schema, "SCHEMA_VERSION", vault_mod.SCHEMA_VERSION - 1)
    with pytest.raises(VaultError, match="más nueva"):
        _open(old_vault)
    assert not _migration_backups(old_vault.path)
