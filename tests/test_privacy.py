"""A stolen laptop or a lost USB stick must reveal nothing: canary names, places and notes written
through the CLI must not appear, as bytes, in any file the program leaves behind."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PASS = "frase de prueba larga"
# Clearly fictional canaries, with accents so every encoding is searched.
CANARIES = ["Canaryquilla", "Zzyzxpúa", "Huancanárido", "Comunidad Qanariqocha",
            "NotaCanario confidencial"]


def encodings(text: str) -> list[bytes]:
    forms = {text, text.lower(), text.upper()}
    out = []
    for f in forms:
        out += [f.encode("utf-8"), f.encode("utf-16-le"), f.encode("latin-1", "ignore")]
        out.append(json.dumps(f).encode())  # \u escapes as json.dumps writes them
    return [b for b in out if len(b) >= 6]


def scan(folder: Path) -> list[tuple[str, str]]:
    hits = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for canary in CANARIES:
            if any(enc in data for enc in encodings(canary)):
                hits.append((str(path.relative_to(folder)), canary))
    return hits


def test_canaries_never_reach_disk_logs_or_temp_files(tmp_path):
    home, tmp, vault = tmp_path / "home", tmp_path / "tmp", tmp_path / "home" / "vault"
    home.mkdir()
    tmp.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "XDG_DATA_HOME": str(home / "d"),
           "XDG_CONFIG_HOME": str(home / "c"), "XDG_CACHE_HOME": str(home / "k"),
           "CPC_USER": "coord", "CPC_PASSPHRASE": PASS, "CPC_LANG": "es"}
    logs = []

    def cpc(*args, stdin=None, ok=True):
        r = subprocess.run([sys.executable, "-m", "cpc_desktop.cli", *map(str, args)],
                           capture_output=True, text=True, input=stdin, env=env, timeout=120)
        logs.append(r.stderr)
        assert (r.returncode == 0) == ok, r.stderr
        return r

    pw = tmp / "pw"
    pw.write_text(PASS)
    cpc("init", "--vault", vault, "--shelter", "LOR-07", "--shelter-name", "Centro Ficticio",
        "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    pw.unlink()
    intake = {"admission_date": "2025-06-01", "name_first": CANARIES[0],
              "name_last": CANARIES[1], "name_nickname": CANARIES[2], "sex": "female",
              "referral_source": "fistrap", "risk_level": "high", "community": CANARIES[3],
              "health_on_arrival": CANARIES[4]}
    rid = cpc("add", "--vault", vault, "ficha_ingreso", "--json", "-",
              stdin=json.dumps(intake)).stdout.strip()
    for i in range(15):  # enough writes that pages spill through the WAL
        cpc("add", "--vault", vault, "registro_atenciones", "--json", "-", "--resident", rid,
            stdin=json.dumps({"service_date": "2025-07-01", "service_area": "legal",
                              "professional": "Abog. Ficticio", "note": f"{CANARIES[4]} {i}"}))
        if i == 0:
            # A wrong type with a canary in it: the error must name the field, not echo it.
            bad = cpc("add", "--vault", vault, "registro_atenciones", "--json", "-", "--resident",
                      rid, stdin=json.dumps({"service_date": "2025-07-01",
                                             "service_area": CANARIES[0],
                                             "professional": 7}), ok=False)
            assert CANARIES[0] not in bad.stderr
    cpc("update", "--vault", vault, rid, "--json", "-",
        stdin=json.dumps({"name_nickname": CANARIES[2] + " bis"}))
    found = json.loads(cpc("list", "--vault", vault, "--search", "canaryquilla",
                           "--json").stdout)
    assert [r["id"] for r in found] == [rid], "the canary resident must be findable (sanity)"
    cpc("backup", "--vault", vault, home / "usb" / "copia.cpcbackup")
    # Rotated, verified backups to a configured folder, checked again and restored as a new
    # vault: their work files (.cpc-backup-, .cpc-verify-, .cpc-pending-, .cpc-restore-) sit
    # beside them while they run and must hold nothing readable either.
    cpc("backup-settings", "--vault", vault, "--folder", home / "usb2")
    cpc("backup", "--vault", vault, "--verify")
    made = next((home / "usb2").glob("*.cpcbackup"))
    cpc("verify-backup", made)
    cpc("restore", made, "--vault", home / "copia", "--as-new-vault")
    cpc("check", "--vault", home / "copia")
    cpc("audit", "--vault", vault, "--verify")
    cpc("check", "--vault", vault)

    assert (vault / "vault.db").exists()
    hits = scan(home) + scan(tmp)
    assert not hits, f"personal data readable in clear on disk: {hits}"
    leaked = [c for c in CANARIES for log in logs if c in log]
    assert not leaked, f"personal data in error output: {leaked}"
    leftovers = [p.name for p in tmp.rglob("*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_wal_and_shm_hold_no_clear_text_while_open(tmp_path):
    from cpc_desktop.core.vault import Vault

    vault, _key = Vault.create(tmp_path / "v", shelter_code="CUS-05", shelter_name="Ficticio",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    rid = vault.add("ficha_ingreso", {"admission_date": "2025-06-01", "name_first": CANARIES[0],
                                      "name_last": CANARIES[1], "sex": "male",
                                      "referral_source": "upe", "risk_level": "low"})
    vault.add("registro_atenciones", {"service_date": "2025-07-01", "service_area": "medical",
                                      "professional": "Dr. Ficticio", "note": CANARIES[4]},
              resident_id=rid)
    try:
        files = {p.name for p in (tmp_path / "v").iterdir()}
        assert "vault.db-wal" in files, "the test must see a live WAL to mean anything"
        assert (tmp_path / "v" / "vault.db-wal").stat().st_size > 0
        hits = scan(tmp_path)
        assert not hits, f"clear text in a live vault's files: {hits}"
        header = (tmp_path / "v" / "vault.db").read_bytes()[:16]
        assert header != b"SQLite format 3\x00", "the database header must be encrypted too"
    finally:
        vault.lock()


KILL_AT = """
import os, signal, sys
from cpc_desktop.core import rekey
from cpc_desktop.core.vault import Vault
v = Vault.open(sys.argv[1], "coord", sys.argv[3])
rekey.rekey(v, on_step=lambda name: name == sys.argv[2] and os.kill(os.getpid(),
                                                                     signal.SIGKILL))
"""


def test_rekey_leaves_no_clear_text_in_any_file_including_its_copy(tmp_path):
    home, tmp, vault = tmp_path / "home", tmp_path / "tmp", tmp_path / "home" / "vault"
    home.mkdir()
    tmp.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "XDG_DATA_HOME": str(home / "d"),
           "XDG_CONFIG_HOME": str(home / "c"), "XDG_CACHE_HOME": str(home / "k"),
           "CPC_USER": "coord", "CPC_PASSPHRASE": PASS, "CPC_LANG": "es",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    logs = []

    def cpc(*args, stdin=None, extra=None):
        r = subprocess.run([sys.executable, "-m", "cpc_desktop.cli", *map(str, args)],
                           capture_output=True, text=True, input=stdin,
                           env={**env, **(extra or {})}, timeout=120)
        logs.append(r.stderr + r.stdout)
        assert r.returncode == 0, r.stderr
        return r

    pw = tmp / "pw"
    pw.write_text(PASS)
    cpc("init", "--vault", vault, "--shelter", "LOR-07", "--shelter-name", "Centro Ficticio",
        "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    pw.unlink()
    rid = cpc("add", "--vault", vault, "ficha_ingreso", "--json", "-", stdin=json.dumps(
        {"admission_date": "2025-06-01", "name_first": CANARIES[0], "name_last": CANARIES[1],
         "name_nickname": CANARIES[2], "sex": "female", "referral_source": "fistrap",
         "risk_level": "high", "community": CANARIES[3],
         "health_on_arrival": CANARIES[4]})).stdout.strip()
    for i in range(10):
        cpc("add", "--vault", vault, "registro_atenciones", "--json", "-", "--resident", rid,
            stdin=json.dumps({"service_date": "2025-07-01", "service_area": "legal",
                              "professional": "Abog. Ficticio", "note": f"{CANARIES[4]} {i}"}))
    cpc("user", "add", "--vault", vault, "zzyzxpua.ficticia", "--role", "professional",
        extra={"CPC_NEW_PASSPHRASE": "frase ficticia de la profesional"})
    cpc("user", "disable", "--vault", vault, "zzyzxpua.ficticia")
    cpc("rekey", "--vault", vault, "--recovery-sheet", home / "hoja.pdf")
    # A re-key killed with its copy complete but not swapped in: the copy is on disk.
    r = subprocess.run([sys.executable, "-c", KILL_AT, str(vault), "slots", PASS], env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == -9, r.stderr
    assert (vault / "vault.db.rekey").exists(), "the test must see the re-key's copy"
    hits = scan(home) + scan(tmp)
    assert not hits, f"personal data readable in clear after a re-key: {hits}"
    assert not any(b"zzyzxpua" in p.read_bytes() for p in vault.iterdir() if p.is_file()), (
        "a user's name is readable beside the vault")
    leaked = [c for c in CANARIES for log in logs if c in log]
    assert not leaked, f"personal data in the output: {leaked}"
    assert not [p.name for p in tmp.rglob("*")], "temporary files left behind"
    # The next unlock removes the copy.
    found = json.loads(cpc("list", "--vault", vault, "--json").stdout)
    assert [x["id"] for x in found] == [rid]
    assert not (vault / "vault.db.rekey").exists()


def test_audit_signatures_and_witnessed_heads_hold_no_personal_data(tmp_path):
    """Inside the vault too: what the audit log signs, the signatures, the heads put in sync
    batches and those witnessed from other laptops are hashes and counts, never values."""
    from cpc_desktop.core import audit
    from cpc_desktop.core.vault import Vault

    vault, _key = Vault.create(tmp_path / "v", shelter_code="CUS-05", shelter_name="Ficticio",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    try:
        rid = vault.add("ficha_ingreso", {"admission_date": "2025-06-01",
                                          "name_first": CANARIES[0], "name_last": CANARIES[1],
                                          "sex": "male", "referral_source": "upe",
                                          "risk_level": "low"})
        vault.update(rid, {"name_nickname": CANARIES[2]})
        with vault.transaction() as conn:
            head = audit.head_for_batch(conn, "CUS-05")
            audit.witness(conn, "CUS-05", "otro-equipo", head)
        conn = vault.conn
        signed = [row for row in conn.execute("SELECT * FROM audit_sig")]
        assert len(signed) == len(vault.audit_log()) >= 3, "every entry must be signed"
        rows = [json.dumps(r, ensure_ascii=False) for r in (
            *conn.execute("SELECT * FROM audit"), *signed,
            *conn.execute("SELECT key, value FROM meta WHERE key LIKE 'audit%'"))]
        rows.append(json.dumps(head, ensure_ascii=False))
        text = "\n".join(rows)
        leaked = [c for c in CANARIES if c.casefold() in text.casefold()]
        assert not leaked, f"personal data in the audit log, its signatures or heads: {leaked}"
        assert set(head) <= {"n", "h", "p"}, head
    finally:
        vault.lock()
