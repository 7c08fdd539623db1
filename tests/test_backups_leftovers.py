"""Interrupted backups leave nothing for long (the next backup of the same vault removes its
leftovers, and only its own), and `restore` checks a backup exactly as `verify-backup` does and
refuses another vault's backup unless asked to restore it as a new vault. All fictional."""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from cpc_desktop.core import backups
from cpc_desktop.core.errors import BackupError
from cpc_desktop.core.vault import Vault

PREFIXES = (".cpc-pending-", ".cpc-backup-", ".cpc-verify-")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(PREFIXES))


def tree(folder: Path) -> dict[str, str]:
    """Every file under folder with its digest: what "nothing changed" means."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def usb(tmp_path) -> Path:
    folder = tmp_path / "USB"
    folder.mkdir()
    return folder


_CHILD = r"""
import sys, time
from pathlib import Path
from cpc_desktop.core import backups, vault as vaultmod
from cpc_desktop.core.vault import Vault
path, usb, user, pw, where = sys.argv[1:]
v = Vault.open(Path(path), user, pw)
if where == "export":
    real = vaultmod.backup_file.export_db
    def slow(*a):
        real(*a)
        print("inside", flush=True)
        time.sleep(60)
    vaultmod.backup_file.export_db = slow
else:
    real = backups._extract
    def slow(*a):
        real(*a)
        print("inside", flush=True)
        time.sleep(60)
    backups._extract = slow
backups.backup_now(v, Path(usb), verify=True)
"""


def _kill_mid_backup(created, usb: Path, where: str) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(created.path), str(usb),
                             created.coordinator.user, created.coordinator.passphrase, where],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "inside", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return leftovers(usb)


def test_backups_killed_mid_write_leave_nothing_after_the_next_one(tmp_path, usb,
                                                                   vault_factory):
    created = vault_factory(tmp_path / "vault")
    created.vault.lock()
    left = _kill_mid_backup(created, usb, "export") + _kill_mid_backup(created, usb, "verify")
    kinds = {name.split("-")[1] for name in left}
    assert kinds == {"backup", "pending", "verify"}, \
        f"the kills must have left each kind of leftover to mean anything: {left}"
    (usb / ".oculto-del-usuario").write_text("no es nuestro")
    (usb / "notas.txt").write_text("tampoco")
    with Vault.open(created.path, created.coordinator.user,
                    created.coordinator.passphrase) as v:
        made = backups.backup_now(v, usb, verify=True).path
    assert leftovers(usb) == [], "leftovers of killed backups would fill the USB stick"
    assert {p.name for p in usb.iterdir()} == {made.name, ".oculto-del-usuario", "notas.txt"}


def test_leftovers_of_another_vault_are_left_for_that_vault(tmp_path, usb, vault_factory):
    mine = vault_factory(tmp_path / "mine")
    theirs = vault_factory(tmp_path / "theirs")
    # Another vault's backup was cut short on this stick (its names carry its own tag).
    theirs_left = [usb / n for n in backups.leftover_names(theirs.vault.vault_id)]
    mine_left = [usb / n for n in backups.leftover_names(mine.vault.vault_id)]
    for p in theirs_left + mine_left:
        if p.name.startswith(".cpc-pending-"):
            p.write_bytes(b"cifrado")
        else:
            p.mkdir()
            (p / "vault.db").write_bytes(b"cifrado")
    backups.backup_now(mine.vault, usb)
    assert not any(p.exists() for p in mine_left), "this vault's own leftovers must go"
    assert all(p.exists() for p in theirs_left), (
        "another vault's leftovers may be a backup in progress on another laptop: never ours "
        "to delete")
    mine.vault.lock()
    theirs.vault.lock()


def test_leftovers_of_a_backup_in_progress_of_this_vault_are_left_alone(tmp_path, usb,
                                                                        vault_factory):
    """A second window of the same vault making a backup right now: its files are alive."""
    created = vault_factory(tmp_path / "vault")
    with backups._backup_lock(created.vault):
        with pytest.raises(BackupError, match="otra copia"):
            backups.backup_now(created.vault, usb)
    created.vault.lock()


# ---------------------------------------------------------------- restore

def _retar(src: Path, out: Path, manifest_change) -> Path:
    with tarfile.open(src) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    manifest = json.loads(members["manifest.json"])
    manifest_change(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w") as tar:
        for name in ("manifest.json", "keyslots.json", "vault.db"):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    return out


def test_restore_refuses_another_vaults_backup_and_changes_nothing(tmp_path, usb,
                                                                   vault_factory):
    mine = vault_factory(tmp_path / "mine")
    theirs = vault_factory(tmp_path / "theirs")
    their_backup = backups.backup_now(theirs.vault, usb).path
    theirs.vault.lock()
    mine.vault.lock()
    before, usb_before = tree(tmp_path / "mine"), tree(usb)
    with pytest.raises(BackupError) as err:
        backups.restore(their_backup, mine.path, mine.coordinator.user,
                        mine.coordinator.passphrase)
    message = str(err.value)
    assert "otra bóveda" in message and "bóveda nueva" in message, message
    assert "dañad" not in message
    assert tree(tmp_path / "mine") == before, "a refused restore must change nothing"
    assert tree(usb) == usb_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["USB", "mine", "theirs"], \
        "no folder kept aside, no work folder left"


def test_restore_as_a_new_vault_goes_to_a_new_folder_only(tmp_path, usb, vault_factory):
    mine = vault_factory(tmp_path / "mine")
    theirs = vault_factory(tmp_path / "theirs")
    rid = theirs.vault.add("ficha_ingreso", {
        "admission_date": "2024-03-01", "name_first": "Niña Prueba", "name_last": "Ficticia",
        "sex": "female", "referral_source": "upe", "risk_level": "high"})
    their_backup = backups.backup_now(theirs.vault, usb).path
    mine.vault.lock()
    before = tree(tmp_path / "mine")
    with pytest.raises(BackupError, match="carpeta nueva"):
        backups.restore(their_backup, mine.path, theirs.coordinator.user,
                        theirs.coordinator.passphrase, as_new=True)
    assert tree(tmp_path / "mine") == before
    new = tmp_path / "copia-aparte"
    assert backups.restore(their_backup, new, theirs.coordinator.user,
                           theirs.coordinator.passphrase, as_new=True) is None
    with Vault.open(new, theirs.coordinator.user, theirs.coordinator.passphrase) as v:
        assert v.get(rid).values["name_first"] == "Niña Prueba"
        assert v.check().ok
    theirs.vault.lock()


def test_restore_refuses_what_verify_backup_refuses(tmp_path, usb, vault_factory):
    """A backup whose manifest names another vault than its key slots: verify-backup calls it
    damaged; restore used to take it."""
    created = vault_factory(tmp_path / "vault")
    good = backups.backup_now(created.vault, usb).path
    created.vault.lock()
    odd = _retar(good, usb / "rara.cpcbackup",
                 lambda m: m.update(vault_id="01900000-0000-7000-8000-000000000000"))
    login = created.coordinator
    with pytest.raises(BackupError) as verify_err:
        backups.verify_backup(odd, login.user, login.passphrase)
    before = tree(created.path)
    with pytest.raises(BackupError) as restore_err:
        backups.restore(odd, tmp_path / "otra", login.user, login.passphrase)
    assert str(restore_err.value) == str(verify_err.value), "one check, one verdict"
    assert tree(created.path) == before and not (tmp_path / "otra").exists()
    assert leftovers(usb) == [] and not [p for p in tmp_path.iterdir()
                                         if p.name.startswith(".cpc-")]


def test_cli_restore_another_vaults_backup_refused_then_as_new_vault(tmp_path, usb,
                                                                     vault_factory, capsys,
                                                                     monkeypatch):
    from cpc_desktop.cli.main import main

    mine = vault_factory(tmp_path / "mine")
    theirs = vault_factory(tmp_path / "theirs")
    their_backup = backups.backup_now(theirs.vault, usb).path
    theirs.vault.lock()
    mine.vault.lock()
    monkeypatch.setenv("CPC_USER", mine.coordinator.user)
    monkeypatch.setenv("CPC_PASSPHRASE", mine.coordinator.passphrase)
    monkeypatch.setenv("CPC_LANG", "es")
    rc = main(["restore", str(their_backup), "--vault", str(mine.path)])
    err = capsys.readouterr().err
    assert rc == 1 and "--as-new-vault" in err and len(err.strip().splitlines()) == 1, err
    rc = main(["restore", str(their_backup), "--vault", str(tmp_path / "nueva"),
               "--as-new-vault"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert (tmp_path / "nueva" / "vault.db").exists()
