"""The `cpc` command line end to end, in real subprocesses, as support staff would use it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PASS = "frase de prueba larga"


def run(*args, env_extra=None, stdin=None, env=None) -> subprocess.CompletedProcess:
    e = dict(env if env is not None else os.environ)
    e.update({"CPC_USER": "coord", "CPC_PASSPHRASE": PASS, "CPC_LANG": "es"})
    e.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "cpc_desktop.cli", *map(str, args)],
                          capture_output=True, text=True, input=stdin, env=e, timeout=120)


@pytest.fixture(scope="module")
def cli_vault(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "vault"
    pw = path.parent / "pw.txt"
    pw.write_text(PASS + "\n")
    r = run("init", "--vault", path, "--shelter", "CUS-02", "--shelter-name", "Centro Ficticio",
            "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    assert r.returncode == 0, r.stderr
    return path


def intake(**extra) -> str:
    values = {"admission_date": "2025-03-10", "name_first": "Killa", "name_last": "Prueba Ñañez",
              "sex": "female", "referral_source": "fistrap", "risk_level": "medium"}
    values.update(extra)
    return json.dumps(values)


def test_init_prints_a_recovery_key_once(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASS)
    r = run("init", "--vault", tmp_path / "v", "--shelter", "LOR-09", "--shelter-name", "X",
            "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    assert r.returncode == 0, r.stderr
    groups = [line.strip() for line in r.stdout.splitlines() if line.count("-") == 5]
    assert len(groups) == 1 and len(groups[0]) == 35, "the recovery key must be shown to print"
    assert groups[0] not in (tmp_path / "v" / "keyslots.json").read_text(), \
        "the recovery key must not be stored in clear"
    again = run("init", "--vault", tmp_path / "v", "--shelter", "LOR-09", "--shelter-name", "X",
                "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    assert again.returncode == 1 and "Ya existe" in again.stderr, \
        "init over an existing vault must refuse, not overwrite a shelter's records"


def test_add_list_search_show_round_trip(cli_vault):
    r = run("add", "--vault", cli_vault, "ficha_ingreso", "--json", "-", stdin=intake())
    assert r.returncode == 0, r.stderr
    resident_id = r.stdout.strip()
    assert len(resident_id) == 36
    r = run("list", "--vault", cli_vault, "--search", "killa nanez", "--json")
    found = json.loads(r.stdout)
    assert [x["id"] for x in found] == [resident_id], "search must fold accents and ñ"
    code = found[0]["internal_code"]
    assert code.startswith("CUS-02-2025-")
    service = json.dumps({"service_date": "2025-04-01", "service_area": "mental_health",
                          "professional": "Psic. Ficticia"})
    r = run("add", "--vault", cli_vault, "registro_atenciones", "--json", "-",
            "--resident", code, stdin=service)
    assert r.returncode == 0, r.stderr
    r = run("show", "--vault", cli_vault, code)
    assert "Killa" in r.stdout and "01/04/2025" in r.stdout
    r = run("show", "--vault", cli_vault, resident_id, "--json")
    record = json.loads(r.stdout)
    assert record["values"]["name_first"] == "Killa"


@pytest.mark.parametrize("args,stdin,expect", [
    (["add", "ficha_desconocida", "--json", "-"], "{}", "Formulario desconocido"),
    (["add", "ficha_ingreso", "--json", "-"], "{not json", "JSON no es válido"),
    (["add", "ficha_ingreso", "--json", "-"], json.dumps({"name_first": 5}), "Nombres"),
    (["add", "registro_atenciones", "--json", "-", "--resident", "NO-EXISTE"], "{}",
     "No existe ningún residente"),
    (["show", "00000000-0000-7000-8000-000000000000"], None, "No existe"),
])
def test_bad_input_gets_one_clear_line_and_exit_1(cli_vault, args, stdin, expect):
    r = run(*args[:1], "--vault", cli_vault, *args[1:], stdin=stdin)
    assert r.returncode == 1, r.stdout + r.stderr
    assert expect in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, "a user error is one line"


def test_wrong_passphrase_exit_1_without_noise(cli_vault):
    before = (cli_vault / "vault.db").read_bytes()
    r = run("list", "--vault", cli_vault, env_extra={"CPC_PASSPHRASE": "no es la contraseña"})
    assert r.returncode == 1
    assert r.stderr.strip() == "Error: Usuario o contraseña incorrectos."
    assert (cli_vault / "vault.db").read_bytes() == before, "a failed unlock must change nothing"


def test_usage_errors_exit_2_in_spanish(cli_vault):
    r = run("list", "--vault", cli_vault, "--no-such-flag")
    assert r.returncode == 2 and "argumentos no reconocidos" in r.stderr, r.stderr
    r = run("add", "--vault", cli_vault)
    assert r.returncode == 2 and "faltan estos argumentos" in r.stderr, (
        "argparse's English would reach a Spanish-speaking coordinator")
    assert run().returncode == 2


def test_damaged_vault_message_and_file_untouched(cli_vault, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(cli_vault, copy)
    db = copy / "vault.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 2: len(data) // 2 + 16] = b"\x00" * 16
    db.write_bytes(bytes(data))
    r = run("check", "--vault", copy)
    assert r.returncode == 1
    assert "dañad" in r.stderr and "Traceback" not in r.stderr
    assert "ERROR CORE" not in r.stderr, "SQLCipher's own log must not reach the user"
    assert db.read_bytes() == bytes(data), "a damaged vault must be left exactly as it was"


def test_users_roles_and_supervisor_refused(cli_vault, tmp_path):
    r = run("user", "add", "--vault", cli_vault, "supervisora", "--role", "supervisor",
            env_extra={"CPC_NEW_PASSPHRASE": "otra frase bastante larga"})
    assert r.returncode == 0, r.stderr
    sup = {"CPC_USER": "supervisora", "CPC_PASSPHRASE": "otra frase bastante larga"}
    r = run("list", "--vault", cli_vault, env_extra=sup)
    assert r.returncode == 0, "a supervisor can read"
    r = run("add", "--vault", cli_vault, "ficha_ingreso", "--json", "-", stdin=intake(),
            env_extra=sup)
    assert r.returncode == 1 and "solo lectura" in r.stderr, "a supervisor must not write"
    r = run("user", "list", "--vault", cli_vault, "--json")
    roles = {u["name"]: u["role"] for u in json.loads(r.stdout)}
    assert roles == {"coord": "coordinator", "supervisora": "supervisor"}


def test_audit_verify_and_check(cli_vault):
    r = run("audit", "--vault", cli_vault, "--verify")
    assert r.returncode == 0 and "íntegro" in r.stdout, r.stderr
    r = run("check", "--vault", cli_vault)
    assert r.returncode == 0 and "ERROR" not in r.stdout, r.stdout


def test_passwd_then_old_passphrase_fails(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASS)
    v = tmp_path / "v"
    assert run("init", "--vault", v, "--shelter", "LOR-03", "--shelter-name", "X", "--user",
               "coord", "--passphrase-file", pw, "--kdf-seconds", "0").returncode == 0
    r = run("passwd", "--vault", v, env_extra={"CPC_NEW_PASSPHRASE": "la nueva frase secreta"})
    assert r.returncode == 0, r.stderr
    assert run("list", "--vault", v).returncode == 1
    assert run("list", "--vault", v,
               env_extra={"CPC_PASSPHRASE": "la nueva frase secreta"}).returncode == 0


def test_backup_and_restore_through_cli(cli_vault, tmp_path):
    import shutil

    work = tmp_path / "work"
    shutil.copytree(cli_vault, work)
    out = tmp_path / "copia.cpcbackup"
    r = run("backup", "--vault", work, out)
    assert r.returncode == 0 and out.exists(), r.stderr
    before = json.loads(run("list", "--vault", work, "--json").stdout)
    run("add", "--vault", work, "ficha_ingreso", "--json", "-", stdin=intake(name_first="Otra"))
    r = run("restore", out, "--vault", work)
    assert r.returncode == 0, r.stderr
    after = json.loads(run("list", "--vault", work, "--json").stdout)
    assert after == before, "restore must bring back exactly the backed-up residents"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("work.before-restore-")]
    assert len(kept) == 1, "the replaced vault must be kept, not deleted"
    damaged = tmp_path / "damaged.cpcbackup"
    damaged.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    snapshot = (work / "vault.db").read_bytes()
    r = run("restore", damaged, "--vault", work)
    assert r.returncode == 1 and "dañada" in r.stderr
    assert (work / "vault.db").read_bytes() == snapshot, "a bad backup must not touch the vault"
