"""Backups a shelter actually makes: to a chosen folder or USB stick, rotated, verified with the
key, restored, and reminded when they are late. Everyone here is fictional."""
from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
from pathlib import Path

import pytest

from cpc_desktop.core import backups
from cpc_desktop.core.errors import BackupError, PermissionDenied, WrongPassphrase
from cpc_desktop.core.vault import Vault

CANARY = "Canaria Ficticia Respaldo"


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()
            if p.name.startswith((".cpc-pending-", ".cpc-backup-", ".cpc-verify-"))]


@pytest.fixture
def usb(tmp_path) -> Path:
    folder = tmp_path / "USB" / "copias"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def shared(tmp_path_factory, vault_factory, intake_values):
    """One vault with a resident named CANARY, shared by the tests that do not depend on its
    settings or last-backup time (each writes to its own folder): Argon2id's floor makes every
    new vault cost about a second."""
    created = vault_factory(tmp_path_factory.mktemp("shared") / "vault")
    created.vault.add("ficha_ingreso", intake_values(name_first=CANARY))
    yield created.vault
    created.vault.lock()


@pytest.fixture(scope="module")
def other(tmp_path_factory, vault_factory):
    """Another vault of the same shelter code (a second laptop)."""
    created = vault_factory(tmp_path_factory.mktemp("other") / "vault")
    yield created.vault
    created.vault.lock()


@pytest.fixture
def filled(vault, intake_values):
    """A fresh vault with a resident named CANARY, for tests of settings and last backup."""
    vault.add("ficha_ingreso", intake_values(name_first=CANARY))
    return vault


# ---------------------------------------------------------------- settings

def test_settings_default_to_ten_copies_and_a_weekly_reminder(other):
    s = backups.get_settings(other)
    assert (s.folder, s.keep, s.remind_days) == (None, 10, 7)


def test_settings_are_kept_inside_the_vault_across_a_lock(created_vault, usb, coordinator):
    v = created_vault.vault
    backups.set_settings(v, folder=usb, keep=3, remind_days=2)
    v.lock()
    assert str(usb) not in (created_vault.path / "keyslots.json").read_text(), \
        "the backup folder's name must not sit in clear beside the vault"
    with Vault.open(created_vault.path, coordinator.user, coordinator.passphrase) as again:
        s = backups.get_settings(again)
        assert (s.folder, s.keep, s.remind_days) == (usb, 3, 2), \
            "a coordinator's backup settings would be forgotten at the next unlock"
        assert any(e.action == "backup.settings" for e in again.audit_log()), \
            "a change of where backups go must be in the audit log"


@pytest.mark.parametrize("kwargs", [{"keep": 0}, {"keep": 5000}, {"remind_days": 0}])
def test_settings_out_of_range_are_refused(shared, kwargs):
    before = backups.get_settings(shared)
    with pytest.raises(BackupError):
        backups.set_settings(shared, **kwargs)
    assert backups.get_settings(shared) == before


def test_supervisor_cannot_change_where_backups_go(vault, usb):
    vault.add_user("supervision.prueba", "supervisor", "frase ficticia de supervision")
    with Vault.open(vault.path, "supervision.prueba", "frase ficticia de supervision") as sup:
        with pytest.raises(PermissionDenied):
            backups.set_settings(sup, folder=usb)
    assert backups.get_settings(vault).folder is None


# ---------------------------------------------------------------- making one

def test_backup_now_writes_to_the_configured_folder_and_remembers_it(filled, usb):
    backups.set_settings(filled, folder=usb)
    result = backups.backup_now(filled)
    assert result.path.parent == usb and result.path.name.startswith("LOR-01-")
    assert result.path.name.endswith(".cpcbackup")
    assert CANARY.encode() not in result.path.read_bytes(), \
        "a lost USB stick would expose a child's name"
    when, name = backups.last_backup(filled)
    assert name == result.path.name
    assert abs(dt.datetime.now(dt.timezone.utc) - when) < dt.timedelta(minutes=1)
    assert not _leftovers(usb), "a backup must leave no temporary files on the stick"


def test_backup_now_without_a_folder_asks_for_one(shared):
    assert backups.get_settings(shared).folder is None
    with pytest.raises(BackupError, match="carpeta"):
        backups.backup_now(shared)


def test_backup_now_reports_progress_and_can_verify(shared, usb):
    seen = []
    result = backups.backup_now(shared, usb, verify=True,
                                progress=lambda d, t, label: seen.append((d, t, label)))
    assert result.verified
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == 4, seen
    assert all(label for _d, _t, label in seen), "every step needs a label for the window"


def test_cancel_leaves_no_backup_behind(shared, usb):
    before = _names(usb)
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) >= 3   # after the copy is written, before it gets its name

    last = backups.last_backup(shared)
    with pytest.raises(backups.BackupCancelled):
        backups.backup_now(shared, usb, cancel=cancel)
    assert _names(usb) == before, "a cancelled backup must not leave a file on the stick"
    assert backups.last_backup(shared) == last, "a cancelled backup must not count as made"


def test_usb_pulled_mid_write_leaves_no_partial_file(shared, usb, monkeypatch):
    good = backups.backup_now(shared, usb).path
    good_bytes = good.read_bytes()
    last = backups.last_backup(shared)

    def pulled_out(self, name, *args, **kwargs):
        self.fileobj.write(b"\0" * 4096)           # part of the database reached the stick
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(tarfile.TarFile, "add", pulled_out)
    with pytest.raises(BackupError, match="USB"):
        backups.backup_now(shared, usb)
    monkeypatch.undo()
    assert _names(usb) == {good.name}, \
        "a stick pulled out mid-write must leave no partial file under a backup's name"
    assert good.read_bytes() == good_bytes, "the previous backup must stay intact"
    assert backups.last_backup(shared) == last, "a failed backup must not count as made"


def test_failure_at_the_final_rename_leaves_nothing(shared, usb, monkeypatch):
    import os

    real = os.replace

    def replace(src, dst):
        if not Path(dst).name.startswith(".cpc-pending-"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(BackupError):
        backups.backup_now(shared, usb)
    assert _names(usb) == set(), "a failed rename must not leave the pending copy on the stick"


def test_two_backups_in_the_same_second_do_not_overwrite_each_other(shared, usb):
    paths = [backups.backup_now(shared, usb).path for _ in range(3)]
    assert len(set(paths)) == 3 and all(p.exists() for p in paths)


def test_leftovers_of_a_backup_cut_by_a_power_failure_are_cleared_later(shared, usb):
    import os
    import time

    old_pending = usb / ".cpc-pending-LOR-01-20200101-000000.cpcbackup"
    old_work = usb / ".cpc-backup-abc123"
    fresh_pending = usb / ".cpc-pending-LOR-01-20990101-000000.cpcbackup"   # another laptop now
    for p in (old_pending, fresh_pending):
        p.write_bytes(b"cifrado")
    old_work.mkdir()
    (old_work / "vault.db").write_bytes(b"cifrado")
    (usb / ".oculto-del-usuario").write_text("no es nuestro")
    long_ago = time.time() - 2 * 86400
    for p in (old_pending, old_work):
        os.utime(p, (long_ago, long_ago))
    backups.backup_now(shared, usb)
    assert not old_pending.exists() and not old_work.exists(), \
        "leftovers of an interrupted backup would fill the USB stick over time"
    assert fresh_pending.exists(), "a backup another laptop is writing right now must be left alone"
    assert (usb / ".oculto-del-usuario").exists()


# ---------------------------------------------------------------- rotation

def test_rotation_keeps_the_newest_n_of_this_vault_and_touches_nothing_else(shared, other,
                                                                          usb):
    theirs = backups.backup_now(other, usb, keep=1).path
    (usb / "notas.txt").write_text("lista de útiles")
    (usb / "LOR-01-20200101-000000.cpcbackup").write_bytes(b"no es una copia")
    renamed = usb / "copia-antes-de-viajar.cpcbackup"
    made = [backups.backup_now(shared, usb, keep=10).path]
    renamed.write_bytes(made[0].read_bytes())
    made += [backups.backup_now(shared, usb, keep=2).path for _ in range(3)]
    mine = {b.path for b in backups.list_backups(usb, shared.vault_id)}
    assert mine == {made[-1], made[-2], renamed}, \
        "rotation must keep exactly the newest 2 of this vault's backups"
    assert theirs.exists(), "rotation must never delete another vault's backup"
    assert (usb / "notas.txt").exists() and (usb / "LOR-01-20200101-000000.cpcbackup").exists(), \
        "rotation must never delete files it did not make"


def test_keep_from_settings_applies(filled, usb):
    backups.set_settings(filled, folder=usb, keep=2)
    results = [backups.backup_now(filled) for _ in range(4)]
    assert sum(len(r.removed) for r in results) == 2
    assert [b.path for b in backups.list_backups(usb)] == [results[3].path, results[2].path]


# ---------------------------------------------------------------- listing

def test_list_backups_is_newest_first_and_flags_damaged_files(shared, usb):
    a = backups.backup_now(shared, usb).path
    b = backups.backup_now(shared, usb).path
    (usb / "rota.cpcbackup").write_bytes(b"\0" * 100)
    (usb / ".oculta.cpcbackup").write_bytes(b"")
    listed = backups.list_backups(usb)
    assert [i.path for i in listed] == [b, a, usb / "rota.cpcbackup"]
    assert listed[0].vault_id == shared.vault_id and listed[0].shelter == "LOR-01"
    assert not listed[2].readable
    assert backups.list_backups(usb / "no-conectada") == [], \
        "an unplugged USB stick must list nothing, not fail"


# ---------------------------------------------------------------- verify

def test_verify_opens_a_good_backup_without_plaintext_on_disk(shared, usb, monkeypatch,
                                                             coordinator):
    path = backups.backup_now(shared, usb).path
    looked = []
    real_check = Vault.check

    def check_and_look(self):
        # While the copy is open in its temporary folder, no file there may hold a name.
        for f in self.path.iterdir():
            looked.append(f.name)
            assert CANARY.encode() not in f.read_bytes(), f"plaintext in {f.name}"
        return real_check(self)

    monkeypatch.setattr(Vault, "check", check_and_look)
    checked = backups.verify_backup(path, coordinator.user, coordinator.passphrase)
    assert checked.audit_entries > 0
    assert "vault.db" in looked, "verify must really open the database copy"
    assert backups.verify_backup(path, vault=shared).info.vault_id == shared.vault_id
    assert _names(usb) == {path.name}, "verify must remove its temporary folder"


def _retar(src: Path, out: Path, damage) -> Path:
    """A copy of a backup with vault.db changed by damage(bytes) -> bytes; the manifest's
    checksum is recomputed so only the vault's own check can find the damage."""
    import hashlib

    with tarfile.open(src) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    members["vault.db"] = damage(members["vault.db"])
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"]["vault.db"] = hashlib.sha256(members["vault.db"]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w") as tar:
        for name in ("manifest.json", "keyslots.json", "vault.db"):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    return out


def test_verify_refuses_a_backup_with_a_flipped_byte(shared, usb, coordinator):
    good = backups.backup_now(shared, usb).path
    bad = usb / "dañada.cpcbackup"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="dañada o incompleta"):
        backups.verify_backup(bad, coordinator.user, coordinator.passphrase)
    assert not _leftovers(usb), "a failed verify must remove its temporary folder"


def test_verify_finds_damage_the_checksum_does_not_see(shared, usb, intake_values, coordinator):
    for i in range(20):
        shared.add("ficha_ingreso", intake_values(name_first=f"Prueba {i}",
                                                  risk_reason="Motivo ficticio. " * 80))
    good = backups.backup_now(shared, usb).path

    def flip_a_middle_page(db: bytes) -> bytes:
        data = bytearray(db)
        data[4096 * 5 + 100] ^= 0xFF
        return bytes(data)

    bad = _retar(good, usb / "sutil.cpcbackup", flip_a_middle_page)
    with pytest.raises(BackupError) as err:
        backups.verify_backup(bad, coordinator.user, coordinator.passphrase)
    assert "no sirve para restaurar" in str(err.value)
    assert not _leftovers(usb)


def test_verify_with_a_wrong_passphrase_says_so(shared, usb, coordinator):
    path = backups.backup_now(shared, usb).path
    with pytest.raises(WrongPassphrase):
        backups.verify_backup(path, coordinator.user, "otra frase cualquiera")
    assert not _leftovers(usb)


def test_verify_with_the_open_vault_refuses_another_vaults_backup(shared, other, usb):
    theirs = backups.backup_now(other, usb).path
    with pytest.raises(BackupError, match="otra bóveda"):
        backups.verify_backup(theirs, vault=shared)


# ---------------------------------------------------------------- restore round trip

def test_backup_now_then_restore_brings_back_exactly_that_state(created_vault, usb,
                                                                intake_values):
    v, login = created_vault.vault, created_vault.coordinator
    kept = v.add("ficha_ingreso", intake_values(name_first="Antes Respaldo"))
    path = backups.backup_now(v, usb, verify=True).path
    later = v.add("ficha_ingreso", intake_values(name_first="Despues Respaldo"))
    v.lock()
    Vault.restore(path, created_vault.path, login.user, login.passphrase)
    with Vault.open(created_vault.path, login.user, login.passphrase) as restored:
        assert restored.get(kept).values["name_first"] == "Antes Respaldo"
        assert later not in {r.id for r in restored.residents()}, \
            "a restore must bring back the backed-up state, not the later one"
        assert restored.check().ok


# ---------------------------------------------------------------- reminder

def test_a_vault_never_backed_up_is_due_at_once(vault):
    due = backups.backup_due(vault, dt.date.today())
    assert isinstance(due, str) and "ninguna copia" in due
    assert backups.next_reminder(vault) is None


def test_reminder_is_due_after_the_set_number_of_days(vault, usb):
    backups.set_settings(vault, remind_days=3)
    backups.backup_now(vault, usb)
    today = dt.date.today()
    assert backups.backup_due(vault, today) is False
    assert backups.backup_due(vault, today + dt.timedelta(days=2)) is False
    due = backups.backup_due(vault, today + dt.timedelta(days=3))
    assert isinstance(due, str) and today.strftime("%d/%m/%Y") in due, \
        "the reminder must say when the last backup was made"
    assert backups.next_reminder(vault) == today + dt.timedelta(days=3)
