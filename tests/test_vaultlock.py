"""One program at a time per vault: a second window or CLI gets a clear message, slot updates
re-read the file under the lock, and a stale copy never brings back a removed slot."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cpc_desktop.core.errors import VaultBusy, WrongPassphrase
from cpc_desktop.core.keyslots import KeySlots
from cpc_desktop.core.vault import SLOTS_NAME, Vault

from conftest import COORDINATOR, create_vault

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "CPC_LANG": "es",
       "CPC_USER": COORDINATOR.user, "CPC_PASSPHRASE": COORDINATOR.passphrase}

HOLDER = textwrap.dedent("""
    import sys
    from cpc_desktop.core.vault import Vault
    v = Vault.open(sys.argv[1], "rosa.quispe", "frase ficticia de prueba 2024")
    print("open", flush=True)
    sys.stdin.readline()
    v.lock()
""")


@pytest.fixture
def closed_vault(tmp_path):
    created = create_vault(tmp_path / "vault")
    created.vault.lock()
    return created


def test_a_second_program_gets_a_clear_message(closed_vault):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(closed_vault.path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "open"
        r = subprocess.run([sys.executable, "-m", "cpc_desktop.cli", "user", "add", "--vault",
                            str(closed_vault.path), "ana.huaman", "--role", "professional"],
                           capture_output=True, text=True, timeout=120,
                           env={**ENV, "CPC_NEW_PASSPHRASE": "frase de ana ficticia"})
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert "ya está abierta en otra ventana o programa" in r.stderr, r.stderr
        # Reading is refused too (a re-key replaces the file under a reader).
        with pytest.raises(VaultBusy):
            Vault.open(closed_vault.path, COORDINATOR.user, COORDINATOR.passphrase)
    finally:
        holder.communicate("\n", timeout=60)
    # Once the other program has locked, the vault opens here.
    Vault.open(closed_vault.path, COORDINATOR.user, COORDINATOR.passphrase).lock()


ADDER = textwrap.dedent("""
    import sys, time
    from cpc_desktop.core.errors import VaultBusy
    from cpc_desktop.core.vault import Vault
    path, prefix = sys.argv[1], sys.argv[2]
    done = 0
    deadline = time.monotonic() + 90
    while done < 3 and time.monotonic() < deadline:
        try:
            with Vault.open(path, "rosa.quispe", "frase ficticia de prueba 2024") as v:
                v.add_user(f"{prefix}{done}.ficticia", "professional", "frase ficticia larga")
                done += 1
        except VaultBusy:
            time.sleep(0.05)
    print(done)
""")


def test_two_processes_updating_slots_lose_no_update(closed_vault):
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, str(closed_vault.path), prefix],
                              stdout=subprocess.PIPE, text=True, env=ENV)
             for prefix in ("a", "b")]
    outs = [p.communicate(timeout=150)[0].strip() for p in procs]
    assert outs == ["3", "3"], outs
    for prefix in ("a", "b"):
        for i in range(3):
            Vault.open(closed_vault.path, f"{prefix}{i}.ficticia", "frase ficticia larga").lock()


def test_a_stale_session_cannot_bring_back_a_disabled_users_slot(closed_vault):
    path = closed_vault.path
    first = Vault.open(path, COORDINATOR.user, COORDINATOR.passphrase)
    first.add_user("ana.huaman", "professional", "frase de ana ficticia")
    first.add_user("luz.mamani", "coordinator", "frase de luz ficticia")
    # A second session of the same program read the slots before the disable.
    stale = Vault.open(path, "luz.mamani", "frase de luz ficticia")
    stale_file = (path / SLOTS_NAME).read_bytes()
    first.disable_user("ana.huaman")
    stale.add_user("sonia.ficticia", "supervisor", "frase de sonia ficticia")
    stale.reset_passphrase(COORDINATOR.user, "frase nueva de rosa ficticia")
    first.lock()
    stale.lock()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, "ana.huaman", "frase de ana ficticia")
    Vault.open(path, "sonia.ficticia", "frase de sonia ficticia").lock()
    Vault.open(path, COORDINATOR.user, "frase nueva de rosa ficticia").lock()
    # The slot file written back by hand from before the disable does not help either.
    (path / SLOTS_NAME).write_bytes(stale_file)
    with pytest.raises(Exception) as exc:
        Vault.open(path, "ana.huaman", "frase de ana ficticia")
    assert "dañad" not in str(exc.value)
    assert KeySlots.load(path / SLOTS_NAME)


def test_the_lock_is_released_when_the_holder_is_killed(closed_vault):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(closed_vault.path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline().strip() == "open"
    holder.kill()
    holder.wait(timeout=60)
    Vault.open(closed_vault.path, COORDINATOR.user, COORDINATOR.passphrase).lock()


def test_restore_waits_for_the_other_program_to_close(closed_vault, tmp_path):
    with Vault.open(closed_vault.path, COORDINATOR.user, COORDINATOR.passphrase) as v:
        backup = v.backup(tmp_path / "b.cpcbackup")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(closed_vault.path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "open"
        before = sorted(p.name for p in closed_vault.path.parent.iterdir())
        with pytest.raises(VaultBusy):
            Vault.restore(backup, closed_vault.path, COORDINATOR.user, COORDINATOR.passphrase)
        assert sorted(p.name for p in closed_vault.path.parent.iterdir()) == before, (
            "the vault was replaced under the program that has it open")
    finally:
        holder.communicate("\n", timeout=60)
