"""Errors that point the right way: each failure below is one clear line naming its real cause,
exit code 1, no traceback, nothing lost, and never "dañado" (nor advice to restore a backup) for
an intact vault. Disk states are real where this machine allows it (a read-only or a tiny tmpfs
mount as root, permissions otherwise); where neither works the same SQLite or OS error is
injected at the point the program meets it. Everyone here is fictional."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cpc_desktop.cli.main import main
from cpc_desktop.core import forms
from cpc_desktop.core.errors import ValidationError
from cpc_desktop.core.vault import Vault

PASS = "frase ficticia de prueba 2024"
INTAKE = {"admission_date": "2024-03-01", "name_first": "Niña Prueba",
          "name_last": "Huamán Ficticia", "sex": "female", "referral_source": "upe",
          "risk_level": "high"}


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def cli(monkeypatch, capsys):
    monkeypatch.setenv("CPC_USER", "coord")
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_LANG", "es")
    monkeypatch.delenv("CPC_DEBUG", raising=False)

    def run(*args, stdin: bytes | None = None):
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        return rc, out.out, out.err
    return run


def assert_one_clear_line(rc: int, err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 1, err
    assert len(lines) == 1, f"one line expected: {err!r}"
    assert "Traceback" not in err and "inesperado" not in err, err
    assert "dañad" not in err and "estaure" not in err, f"points the wrong way: {err}"
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"


def make_vault(path: Path, records: int = 1) -> list[str]:
    v, _key = Vault.create(path, shelter_code="LOR-01", shelter_name="Casa Ficticia",
                           user="coord", passphrase=PASS, kdf_seconds=0)
    ids = [v.add("ficha_ingreso", {**INTAKE, "name_first": f"Niña Prueba {i}"})
           for i in range(records)]
    v.lock()
    return ids


def count_residents(path: Path) -> int:
    with Vault.open(path, "coord", PASS) as v:
        assert v.check().ok
        return len(v.residents())


@contextlib.contextmanager
def tmpfs(where: Path, size: str):
    """A real small filesystem when this machine lets us mount one; None otherwise."""
    where.mkdir(parents=True, exist_ok=True)
    if os.name != "posix" or os.geteuid() != 0:
        yield None
        return
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True)
    if r.returncode != 0:
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(folder: Path) -> Path:
    filler = folder / "relleno"
    with open(filler, "wb", buffering=0) as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
    with contextlib.suppress(OSError):   # the last few blocks too
        with open(filler, "ab") as fh:
            while True:
                fh.write(b"\0" * 512)
                fh.flush()
    return filler


# ---------------------------------------------------------------- disk and folder states

def test_read_only_vault_folder_lists_and_refuses_writes_saying_so(tmp_path, cli, monkeypatch):
    with tmpfs(tmp_path / "ro", "8m") as mnt:
        base = mnt or tmp_path / "ro"
        path = base / "v"
        make_vault(path)
        before = tree(path)
        if mnt is not None:
            assert subprocess.run(["mount", "-o", "remount,ro", str(mnt)]).returncode == 0
        elif os.geteuid() != 0:
            for p in (path, *path.iterdir()):
                p.chmod(0o555 if p.is_dir() else 0o444)
        else:   # root without mount: the kernel would let us write; say it does not
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK
                                else real(p, mode, **kw))
        try:
            if mnt is not None or os.geteuid() != 0:
                rc, out, err = cli("list", "--vault", path)
                assert rc == 0, f"reading a read-only vault must work: {err}"
                assert "Niña Prueba 0" in out
            f = tmp_path / "valores.json"
            f.write_text(json.dumps(INTAKE), encoding="utf-8")
            rc, _out, err = cli("add", "--vault", path, "ficha_ingreso", "--json", f)
            if mnt is not None or os.geteuid() != 0:
                assert_one_clear_line(rc, err, "solo lectura")
            assert tree(path) == before, "nothing may change in a read-only vault"
        finally:
            if mnt is not None:
                subprocess.run(["mount", "-o", "remount,rw", str(mnt)])
            elif os.geteuid() != 0:
                for p in (path, *path.iterdir()):
                    p.chmod(0o755 if p.is_dir() else 0o644)
        assert count_residents(path) == 1


def test_read_only_classification_without_a_real_read_only_disk(tmp_path, monkeypatch):
    """The same SQLite errors as a read-only folder gives, whatever this machine allows."""
    from cpc_desktop.core import vault as vaultmod
    from cpc_desktop.core.errors import VaultReadOnly

    import sqlcipher3

    path = tmp_path / "v"
    make_vault(path)
    monkeypatch.setattr(vaultmod.connection, "read_only_place", lambda p: True)
    err = vaultmod.connection.db_error(sqlcipher3.OperationalError("unable to open database file"),
                             path / "vault.db")
    assert isinstance(err, VaultReadOnly) and "solo lectura" in str(err)
    err = vaultmod.connection.db_error(sqlcipher3.OperationalError("attempt to write a readonly database"))
    assert isinstance(err, VaultReadOnly)


def test_full_disk_during_add_says_so_and_loses_nothing(tmp_path, cli, monkeypatch):
    big = {**INTAKE, "risk_reason": "Motivo ficticio. " * 400}
    f = tmp_path / "valores.json"
    f.write_text(json.dumps(big), encoding="utf-8")
    with tmpfs(tmp_path / "mnt", "2m") as mnt:
        path = (mnt or tmp_path) / "v"
        ids = make_vault(path, records=2)
        if mnt is not None:
            filler = fill(mnt)
        else:
            import sqlcipher3

            from cpc_desktop.core import vault as vaultmod

            def full(*_a, **_k):
                raise sqlcipher3.OperationalError("database or disk is full")
            monkeypatch.setattr(vaultmod.Vault, "_write_record", full)
        rc, _out, err = cli("add", "--vault", path, "ficha_ingreso", "--json", f)
        assert_one_clear_line(rc, err, "lleno", "No se perdió nada")
        if mnt is not None:
            filler.unlink()
        monkeypatch.undo()
        with Vault.open(path, "coord", PASS) as v:
            assert v.check().ok, "a full disk must not damage the vault"
            assert {r.id for r in v.residents()} == set(ids), "what was saved must still be there"


def test_backup_onto_a_full_disk_says_so_and_leaves_nothing(tmp_path, cli, monkeypatch):
    path = tmp_path / "v"
    make_vault(path)
    before_count = count_residents(path)
    with tmpfs(tmp_path / "usb", "1m") as mnt:
        usb = mnt or tmp_path / "usb"
        if mnt is not None:
            filler = fill(mnt)
        else:
            import shutil

            real = shutil.copyfileobj

            def full(*_a, **_k):
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr("cpc_desktop.core.backup_file.tarfile.TarFile.add", full)
            del real
        rc, _out, err = cli("backup", "--vault", path, usb)
        assert_one_clear_line(rc, err, "lleno")
        left = [p.name for p in usb.iterdir() if p.name.startswith(".cpc-")]
        assert left == [], f"a failed backup left {left}"
        if mnt is not None:
            filler.unlink()
    monkeypatch.undo()
    assert count_residents(path) == before_count


def test_vault_path_that_is_a_file(tmp_path, cli):
    f = tmp_path / "no-es-carpeta"
    f.write_text("x")
    rc, _out, err = cli("list", "--vault", f)
    assert_one_clear_line(rc, err, "es un archivo")
    assert f.read_text() == "x"


def test_init_onto_a_file(tmp_path, cli):
    f = tmp_path / "no-es-carpeta"
    f.write_text("x")
    pw = tmp_path / "pw"
    pw.write_text(PASS)
    rc, _out, err = cli("init", "--vault", f, "--shelter", "LOR-01", "--shelter-name", "X",
                        "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0")
    assert_one_clear_line(rc, err, "es un archivo")
    assert f.read_text() == "x"


def test_folder_without_a_vault(tmp_path, cli):
    (tmp_path / "vacia").mkdir()
    rc, _out, err = cli("list", "--vault", tmp_path / "vacia")
    assert_one_clear_line(rc, err, "No existe ninguna bóveda")


# ---------------------------------------------------------------- bad input to `cpc add`

@pytest.fixture
def small_vault(tmp_path):
    path = tmp_path / "v"
    make_vault(path)
    return path


BAD_INPUTS = {
    "5000 digits": (b'{"age": ' + b"9" * 5000 + b"}", "número demasiado largo"),
    "nested 200000 deep": (b"[" * 200_000 + b"]" * 200_000, "niveles anidados"),
    "invalid utf-8": (b'{"name_first": "Ni\xf1a"}', "UTF-8"),
    "lone surrogate": (b'{"name_first": "Ni\\ud800a"}', "Unicode"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_bad_json_input_is_one_clear_line(small_vault, cli, tmp_path, case, source):
    data, needle = BAD_INPUTS[case]
    before = tree(small_vault)
    if source == "file":
        f = tmp_path / "valores.json"
        f.write_bytes(data)
        rc, _out, err = cli("add", "--vault", small_vault, "ficha_ingreso", "--json", f)
    else:
        rc, _out, err = cli("add", "--vault", small_vault, "ficha_ingreso", "--json", "-",
                            stdin=data)
    assert_one_clear_line(rc, err, needle)
    assert tree(small_vault) == before


def test_bad_inputs_in_a_real_process_leave_no_traceback(small_vault, tmp_path):
    env = {**os.environ, "CPC_USER": "coord", "CPC_PASSPHRASE": PASS, "CPC_LANG": "es"}
    env.pop("CPC_DEBUG", None)
    for data, needle in BAD_INPUTS.values():
        r = subprocess.run([sys.executable, "-m", "cpc_desktop.cli", "add", "--vault",
                            str(small_vault), "ficha_ingreso", "--json", "-"], input=data,
                           capture_output=True, env=env, timeout=120)
        err = r.stderr.decode("utf-8")
        assert_one_clear_line(r.returncode, err, needle)


def test_nul_and_control_characters_in_a_name_are_refused(small_vault, cli, tmp_path):
    intake = forms.registry().get("ficha_ingreso")
    for bad in ("Niña\x00Prueba", "Niña\x1bPrueba", "Niña\ud800"):
        with pytest.raises(ValidationError) as exc:
            intake.validate({**INTAKE, "name_first": bad})
        assert "carácter no permitido" in str(exc.value) and "Nombres" in str(exc.value)
    assert intake.validate({**INTAKE, "name_first": "Ch'aska Ñusta"})["name_first"]
    f = tmp_path / "valores.json"
    f.write_text(json.dumps({**INTAKE, "name_first": "Niña\u0000Prueba"}), encoding="utf-8")
    rc, _out, err = cli("add", "--vault", small_vault, "ficha_ingreso", "--json", f)
    assert rc == 1 and "carácter no permitido" in err
    assert count_residents(small_vault) == 1


def test_add_help_calls_json_an_input(capsys):
    with pytest.raises(SystemExit):
        main(["add", "--help"])
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert "salida en JSON" not in flat, "--json of add is what it reads, not an output"
    assert "entrada" in flat


def test_init_onto_a_full_disk_says_so_and_leaves_nothing(tmp_path, cli, monkeypatch):
    pw = tmp_path / "pw"
    pw.write_text(PASS)
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        base = mnt or tmp_path
        if mnt is not None:
            filler = fill(mnt)
        else:
            from cpc_desktop.core.keyslots import KeySlots

            def full(*_a, **_k):
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(KeySlots, "save", full)
        rc, _out, err = cli("init", "--vault", base / "v", "--shelter", "LOR-01",
                            "--shelter-name", "Casa Ficticia", "--user", "coord",
                            "--passphrase-file", pw, "--kdf-seconds", "0")
        assert_one_clear_line(rc, err, "lleno")
        left = sorted(p.name for p in (base / "v").iterdir()) if (base / "v").exists() else []
        assert left == [], f"a half-made vault was left (the next init would refuse): {left}"
        if mnt is not None:
            filler.unlink()
