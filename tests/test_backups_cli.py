"""The backup commands as support staff use them, in real subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PASS = "frase de prueba de copias"


def run(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, CPC_USER="coord", CPC_PASSPHRASE=PASS, CPC_LANG="es")
    return subprocess.run([sys.executable, "-m", "cpc_desktop.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def cli_vault(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-copias") / "vault"
    pw = path.parent / "pw.txt"
    pw.write_text(PASS + "\n")
    r = run("init", "--vault", path, "--shelter", "CUS-03", "--shelter-name", "Centro Ficticio",
            "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    assert r.returncode == 0, r.stderr
    return path


def test_backup_without_a_folder_explains_how_to_set_one(cli_vault):
    r = run("backup", "--vault", cli_vault)
    assert r.returncode == 1
    assert "backup-settings --folder" in r.stderr, r.stderr


def test_configured_folder_backup_verify_rotate_list_and_verify_again(cli_vault, tmp_path):
    usb = tmp_path / "USB"
    r = run("backup-settings", "--vault", cli_vault, "--folder", usb, "--keep", "2",
            "--remind-days", "5")
    assert r.returncode == 0, r.stderr
    assert "Se conservan: 2" in r.stdout and "5 días" in r.stdout

    made = []
    for _ in range(3):
        r = run("backup", "--vault", cli_vault, "--verify")
        assert r.returncode == 0, r.stderr
        assert "Copia comprobada" in r.stdout
        first_line = r.stdout.splitlines()[0]
        made.append(Path(first_line.split(" en ", 1)[1].rstrip(".")))
    assert "Copia antigua eliminada" in r.stdout, "the third backup must rotate the first out"
    assert sorted(p.name for p in usb.glob("*.cpcbackup")) == sorted(p.name for p in made[1:])

    r = run("backups", "--vault", cli_vault, "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert listed["keep"] == 2 and listed["remind_days"] == 5 and listed["due"] is False
    assert [b["file"] for b in listed["backups"]] == [made[2].name, made[1].name]
    assert listed["last_file"] == made[2].name and listed["next_reminder"]

    r = run("backups", "--vault", cli_vault)
    assert r.returncode == 0 and "Próximo recordatorio" in r.stdout and made[2].name in r.stdout

    r = run("verify-backup", made[2])
    assert r.returncode == 0, r.stderr
    assert "Sirve para restaurar" in r.stdout

    bad = usb / "rota.cpcbackup"
    bad.write_bytes(made[2].read_bytes()[:5000])
    r = run("verify-backup", bad)
    assert r.returncode == 1 and "dañada o incompleta" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, "a failure is one line for a person"


def test_backup_to_a_named_file_still_works(cli_vault, tmp_path):
    out = tmp_path / "copia.cpcbackup"
    r = run("backup", "--vault", cli_vault, out)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and not list(tmp_path.glob(".cpc-*"))
