"""Re-keying: when trust changes the database key changes, every remaining slot still opens it,
and nothing older (slot files in backups, a disabled user's passphrase, the old recovery key)
opens today's vault.db. A kill -9 at any point leaves a vault that opens."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from cpc_desktop.core import crypto, keyslots, rekey
from cpc_desktop.core.errors import (BadRecoveryKey, CpcError, PermissionDenied, VaultError,
                                     WrongPassphrase)
from cpc_desktop.core.vault import DB_NAME, SLOTS_NAME, Vault

from conftest import COORDINATOR, create_vault

ANA = ("ana.huaman", "frase de ana ficticia")
LUZ = ("luz.mamani", "frase de luz ficticia")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def staffed(tmp_path, intake_values):
    created = create_vault(tmp_path / "vault")
    v = created.vault
    v.add_user(*ANA[:1], "professional", ANA[1])
    v.add_user(*LUZ[:1], "coordinator", LUZ[1])
    for _i in range(5):
        v.add("ficha_ingreso", intake_values())
    yield created
    v.lock()


def slots_from_backup(backup: Path) -> bytes:
    with tarfile.open(backup) as tar:
        return tar.extractfile(SLOTS_NAME).read()


def test_old_slot_file_and_a_disabled_users_passphrase_do_not_open_the_rekeyed_vault(
        staffed, tmp_path):
    v = staffed.vault
    backup = v.backup(tmp_path / "before.cpcbackup")
    result = v.disable_user(ANA[0])
    v.lock()
    # The attack: today's vault.db, the key slot file from the old backup, Ana's passphrase.
    attack = tmp_path / "attack"
    attack.mkdir()
    (attack / DB_NAME).write_bytes((staffed.path / DB_NAME).read_bytes())
    (attack / SLOTS_NAME).write_bytes(slots_from_backup(backup))
    with pytest.raises(CpcError) as exc:
        Vault.open(attack, *ANA)
    assert "dañad" not in str(exc.value), "an intact vault.db would be called damaged"
    # The old recovery key with the old slots does not open it either.
    with pytest.raises(CpcError):
        Vault.open_with_recovery(attack, staffed.recovery_key, COORDINATOR.user,
                                 "frase nueva ficticia larga")
    # Nor the raw key those slots hold, used directly on today's file.
    old_key = keyslots.KeySlots.load(attack / SLOTS_NAME).unlock_user(*ANA)
    from cpc_desktop.core.connection import connect as _connect

    with pytest.raises(CpcError):
        _connect(attack / DB_NAME, old_key).close()
    # Today's slots: Ana is refused, the others open with their unchanged passphrases.
    with pytest.raises(WrongPassphrase):
        Vault.open(staffed.path, *ANA)
    for user, pw in ((COORDINATOR.user, COORDINATOR.passphrase), LUZ):
        with Vault.open(staffed.path, user, pw) as again:
            assert len(again.residents()) == 5
            assert not {u.name: u for u in again.users()}[ANA[0]].active
    # The new recovery key opens, the old one no longer does.
    assert Vault.check_recovery_key(staffed.path, result.recovery_key)[0] == "LOR-01"
    with pytest.raises(BadRecoveryKey):
        Vault.check_recovery_key(staffed.path, staffed.recovery_key)


def test_old_backups_still_open_with_the_old_credentials(staffed, tmp_path):
    v = staffed.vault
    backup = v.backup(tmp_path / "before.cpcbackup")
    v.disable_user(ANA[0])
    v.lock()
    restored = tmp_path / "restored"
    Vault.restore(backup, restored, *LUZ)
    with Vault.open(restored, *ANA) as old:
        assert len(old.residents()) == 5, "an old backup would be lost after a re-key"


def test_the_database_really_is_re_encrypted(staffed):
    v = staffed.vault
    db = staffed.path / DB_NAME
    before = db.read_bytes()
    v.rekey()
    after = db.read_bytes()
    assert before[:16] != after[:16], "the database salt did not change"
    page = 4096
    same = sum(before[i:i + page] == after[i:i + page] for i in range(0, len(before), page))
    assert same == 0, f"{same} pages kept the old encryption"


def test_rekey_reports_progress_and_a_cancel_changes_nothing(staffed):
    v = staffed.vault
    db, slots = staffed.path / DB_NAME, staffed.path / SLOTS_NAME
    v.lock()
    v = Vault.open(staffed.path, COORDINATOR.user, COORDINATOR.passphrase)
    before = (db.read_bytes(), slots.read_bytes())
    seen = []

    class Stop(Exception):
        pass

    def cancel(done, total):
        seen.append((done, total))
        raise Stop

    with pytest.raises(Stop):
        v.rekey(progress=cancel)
    assert seen and seen[0][1] > 0
    assert slots.read_bytes() == before[1], "a cancelled re-key changed the key slots"
    assert not (staffed.path / (DB_NAME + rekey.TMP_SUFFIX)).exists(), "the copy was left"
    assert v.residents(), "the session stopped working after a cancel"
    steps = []
    v.rekey(progress=lambda done, total: steps.append((done, total)))
    assert steps[-1][0] == steps[-1][1], "the progress never reached the end"
    assert len(v.residents()) == 5
    v.lock()


def test_disabling_the_last_coordinator_is_refused_before_any_change(tmp_path):
    created = create_vault(tmp_path / "vault")
    before = (created.path / SLOTS_NAME).read_bytes()
    with pytest.raises(PermissionDenied):
        created.vault.disable_user(COORDINATOR.user)
    assert (created.path / SLOTS_NAME).read_bytes() == before
    created.vault.lock()


def test_a_session_of_the_disabled_user_in_the_same_program_is_locked(staffed):
    ana = Vault.open(staffed.path, *ANA)
    luz = Vault.open(staffed.path, *LUZ)
    try:
        staffed.vault.disable_user(ANA[0])
        assert not ana.is_open or ana._raw_key is None
        with pytest.raises(CpcError):
            ana.residents()
        assert len(luz.residents()) == 5, "another session must go on with the new key"
        luz.add("ficha_ingreso", {"admission_date": "2024-03-01", "name_first": "Killa",
                                  "name_last": "Ficticia", "sex": "female",
                                  "referral_source": "fistrap", "risk_level": "low"})
    finally:
        ana.lock()
        luz.lock()


# ---------------------------------------------------------------- kill -9 at every step

KILLER = textwrap.dedent("""
    import os, signal, sys
    from cpc_desktop.core.vault import Vault
    path, when = sys.argv[1], sys.argv[2]
    v = Vault.open(path, "rosa.quispe", "frase ficticia de prueba 2024")

    def kill(name):
        if name == when:
            os.kill(os.getpid(), signal.SIGKILL)

    def progress(done, total):
        if when == "copy" and done >= total // 2:
            os.kill(os.getpid(), signal.SIGKILL)

    from cpc_desktop.core import rekey
    rekey.rekey(v, disable="ana.huaman", progress=progress, on_step=kill)
    print("finished")
""")


@pytest.mark.parametrize("when", ["copy", "slots", "closed", "swapped", "pruned", "never"])
def test_kill_9_at_any_step_leaves_old_or_new_vault_both_openable(staffed, when):
    staffed.vault.lock()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", KILLER, str(staffed.path), when],
                       capture_output=True, text=True, env=env, timeout=120)
    assert (r.returncode == -signal.SIGKILL) == (when != "never"), r.stderr
    with Vault.open(staffed.path, COORDINATOR.user, COORDINATOR.passphrase) as v:
        assert len(v.residents()) == 5, "records were lost"
        assert v.check().ok
        disabled = not {u.name: u for u in v.users()}[ANA[0]].active
    new = when in ("swapped", "pruned", "never")
    assert disabled == new, "the disable and the new key must land together"
    if new:
        with pytest.raises(WrongPassphrase):
            Vault.open(staffed.path, *ANA)
    else:
        Vault.open(staffed.path, *ANA).lock()
    with Vault.open(staffed.path, *LUZ) as v:
        assert len(v.residents()) == 5
    left = sorted(p.name for p in staffed.path.iterdir())
    assert not [n for n in left if n.endswith(rekey.TMP_SUFFIX) or ".part" in n], left
    boxes = {b["gen"] for s in json.loads((staffed.path / SLOTS_NAME).read_text())["slots"]
             for b in s.get("boxes", [])}
    assert len(boxes) == 1, "boxes of an unused key were left in the slot file"


# ---------------------------------------------------------------- through the CLI

def cli(*args, env_extra=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CPC_LANG": "es",
           "CPC_USER": COORDINATOR.user, "CPC_PASSPHRASE": COORDINATOR.passphrase,
           **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "cpc_desktop.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_rekey_prints_a_new_recovery_key_and_sheet(staffed, tmp_path):
    staffed.vault.lock()
    sheet = tmp_path / "hoja.pdf"
    r = cli("rekey", "--vault", staffed.path, "--recovery-sheet", sheet)
    assert r.returncode == 0, r.stderr
    keys = [line.strip() for line in r.stdout.splitlines() if line.strip().count("-") == 5]
    assert len(keys) == 1
    assert "copias de seguridad anteriores" in r.stdout
    assert sheet.read_bytes().startswith(b"%PDF")
    Vault.check_recovery_key(staffed.path, keys[0])
    with pytest.raises(BadRecoveryKey):
        Vault.check_recovery_key(staffed.path, staffed.recovery_key)


def test_cli_user_disable_re_keys(staffed, tmp_path):
    v = staffed.vault
    backup = v.backup(tmp_path / "b.cpcbackup")
    v.lock()
    r = cli("user", "disable", "--vault", staffed.path, ANA[0])
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stdout.splitlines() if line.strip().count("-") == 5]
    (staffed.path / SLOTS_NAME).write_bytes(slots_from_backup(backup))
    r = cli("list", "--vault", staffed.path, env_extra={"CPC_USER": ANA[0],
                                                        "CPC_PASSPHRASE": ANA[1]})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "keyslots.json" in r.stderr and "dañad" not in r.stderr, r.stderr


# ---------------------------------------------------------------- older slot files

def test_a_format_1_slot_file_opens_and_is_migrated_on_first_unlock(tmp_path):
    import shutil

    path = tmp_path / "vault"
    shutil.copytree(Path(__file__).parent / "data" / "vault-schema2", path)
    old = (path / SLOTS_NAME).read_bytes()
    assert json.loads(old)["format"] == 1
    Vault.open(path, "coord", "frase de prueba larga").lock()
    new = json.loads((path / SLOTS_NAME).read_text())
    assert new["format"] == 2 and "user_salt" not in new and "legacy_salt" not in new
    assert not any(s["id"].startswith("u-") or s.get("v") == 1 for s in new["slots"]
                   if s["kdf"]["alg"] == "argon2id"), "the HMAC-named slot was kept"
    Vault.open(path, "coord", "frase de prueba larga").lock()
    # The format-1 file copied back is refused: it is no longer this user's slot.
    (path / SLOTS_NAME).write_bytes(old)
    with pytest.raises(WrongPassphrase):
        Vault.open(path, "coord", "frase de prueba larga")


def test_a_migrated_vault_re_keys_and_its_old_recovery_key_stops(tmp_path):
    import shutil

    path = tmp_path / "vault"
    shutil.copytree(Path(__file__).parent / "data" / "vault-schema2", path)
    with Vault.open(path, "coord", "frase de prueba larga") as v:
        n = len(v.residents())
        result = v.rekey()
    with Vault.open(path, "coord", "frase de prueba larga") as v:
        assert len(v.residents()) == n
    Vault.check_recovery_key(path, result.recovery_key)
    assert not any(s.get("v") == 1 for s in json.loads((path / SLOTS_NAME).read_text())["slots"])


# ---------------------------------------------------------------- slots that say nothing

def test_slot_ids_are_unlinkable_to_names_and_the_count_says_nothing(tmp_path):
    one = create_vault(tmp_path / "a")
    two = create_vault(tmp_path / "b")
    two.vault.add_user(*ANA[:1], "professional", ANA[1])
    two.vault.add_user(*LUZ[:1], "professional", LUZ[1])
    files = [json.loads((c.path / SLOTS_NAME).read_text()) for c in (one, two)]
    one.vault.lock()
    two.vault.lock()
    assert len(files[0]["slots"]) == len(files[1]["slots"]), (
        "the slot count tells how many people work at the shelter")
    ids = [{s["id"] for s in f["slots"]} for f in files]
    assert not ids[0] & ids[1], "the same user has the same slot id in two vaults"
    import hashlib
    import hmac

    for f in files:
        assert set(f) == {"format", "vault_id", "slots"}, f"metadata in clear: {set(f)}"
        salts = [s["kdf"]["salt"] for s in f["slots"]]
        for name in (COORDINATOR.user, ANA[0], LUZ[0]):
            for salt in salts:
                digest = hmac.new(crypto.unb64(salt), name.encode(), hashlib.sha256).hexdigest()
                assert not any(digest[:32] in sid for sid in {s["id"] for s in f["slots"]}), (
                    "one HMAC confirms a guessed user name")


def _tamper(path: Path, **changes) -> None:
    data = json.loads((path / SLOTS_NAME).read_text())
    for s in data["slots"]:
        if s["kdf"]["alg"] == "argon2id":
            s["kdf"].update(changes)
    (path / SLOTS_NAME).write_text(json.dumps(data))


def test_kdf_parameters_below_the_floor_are_refused_with_a_clear_message(created_vault):
    created_vault.vault.lock()
    _tamper(created_vault.path, memory_kib=8 * 1024, iterations=1)
    with pytest.raises(keyslots.WeakKeySlot) as exc:
        Vault.open(created_vault.path, COORDINATOR.user, COORDINATOR.passphrase)
    assert "modificarlo" in str(exc.value) and "dañad" not in str(exc.value)


def test_kdf_parameters_are_bound_into_the_slot(created_vault):
    created_vault.vault.lock()
    _tamper(created_vault.path, iterations=4)   # above the floor, but not what was wrapped
    with pytest.raises(WrongPassphrase):
        Vault.open(created_vault.path, COORDINATOR.user, COORDINATOR.passphrase)
    # The AEAD data carries the parameters: the same key with other parameters fails.
    slots = keyslots.KeySlots.load(created_vault.path / SLOTS_NAME)
    slot = next(s for s in slots.slots.values() if s["kdf"]["alg"] == "argon2id"
                and s["kdf"]["iterations"] == 4)
    assert slots._aad(slot["id"], slot["kdf"]) != slots._aad(slot["id"], {**slot["kdf"],
                                                                          "iterations": 3})


def test_the_user_list_is_only_inside_the_encrypted_database(staffed):
    text = (staffed.path / SLOTS_NAME).read_text().lower()
    for name in (COORDINATOR.user, ANA[0], LUZ[0], "professional", "coordinator"):
        assert name not in text
    reg = keyslots.registry(staffed.vault.conn)
    assert {u for u, _pub in reg.values()} == {COORDINATOR.user, ANA[0], LUZ[0], None}


def test_rekey_refuses_a_professional(staffed):
    ana = Vault.open(staffed.path, *ANA)
    try:
        with pytest.raises(PermissionDenied):
            ana.rekey()
    finally:
        ana.lock()


def test_a_wrong_key_file_is_not_called_damage(staffed, tmp_path):
    other = create_vault(tmp_path / "other")
    other.vault.lock()
    staffed.vault.lock()
    (staffed.path / SLOTS_NAME).write_bytes((other.path / SLOTS_NAME).read_bytes())
    with pytest.raises(VaultError) as exc:
        Vault.open(staffed.path, COORDINATOR.user, COORDINATOR.passphrase)
    assert "dañad" not in str(exc.value)
