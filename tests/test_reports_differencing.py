"""The differencing attack, mounted through `cpc report` on a demo vault.

Whoever receives two shared exports can subtract them. When the two cover populations that
differ by exactly one child — two periods a day apart, a shelter and "every shelter", one
table of each — the difference is that child's row of every table. Each test makes the
exports a coordinator could make, in the order she could make them, reads back what was
written, and plays the attacker: for every pair of exports that differ by one child, no
attribute of that child may be readable from the difference. An export the program refuses
gives the attacker nothing (and must say why).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from cpc_desktop.cli.main import main
from cpc_desktop.core import demo
from cpc_desktop.core.vault import Vault

PASS = "frase ficticia de prueba 2024"
TODAY = dt.date(2026, 6, 30)
SHELTER = "CUS-07"
# Tables of children (one row per category a child is counted in): where a child shows.
PERSON_TABLES = ("ingreso_", "egreso_", "edad_al_ingreso", "origen_", "resumen",
                 "ingresos_egresos_por_mes")


@pytest.fixture(scope="module")
def demo_vault(tmp_path_factory):
    path = tmp_path_factory.mktemp("diff") / "vault"
    vault, _key = Vault.create(path, shelter_code=SHELTER, shelter_name="Casa Ficticia Diferencia",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    demo.populate(vault, residents=70, seed=11, services_per_resident=4, today=TODAY)
    admissions = Counter(d for _r, d, _v in vault.iter_values("ficha_ingreso", []))
    vault.lock()
    return path, admissions


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")

    def run(vault: Path, *args: str) -> tuple[int, Path, str]:
        out = tmp_path / f"export-{len(list(tmp_path.iterdir()))}.zip"
        rc = main(["report", "--vault", str(vault), "--format", "csv", "-o", str(out), *args])
        err = capsys.readouterr().err
        return rc, out, err
    return run


def read_export(path: Path) -> dict[str, dict[str, list[str]]]:
    """{table id: {row label: [cells as printed]}} from a zip or a single-table CSV."""
    def rows(data: bytes) -> list[list[str]]:
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))

    out: dict[str, dict[str, list[str]]] = {}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("00_"):
                    continue
                table = name[3:-4]
                body = rows(zf.read(name))[2:]   # title, header
                out[table] = {r[0]: r[1:] for r in body if len(r) > 1}
    else:
        body = rows(path.read_bytes())
        table = path.stem.split("__", 1)[1] if "__" in path.stem else path.stem
        out[table] = {r[0]: r[1:] for r in body[1:] if len(r) > 1 and r[0]}
    return out


def _num(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


def readable_attributes(a: dict, b: dict) -> list[tuple[str, str, int]]:
    """What subtracting export `a` from export `b` tells about the few children who differ:
    every (table, row, column) of a person table whose difference is known and small but
    not zero — the category that child is in. Empty when nothing can be read."""
    found = []
    for table, rows_b in b.items():
        if not table.startswith(PERSON_TABLES) or table not in a:
            continue
        for label, cells_b in rows_b.items():
            cells_a = a[table].get(label)
            if cells_a is None:
                continue
            for col, (x, y) in enumerate(zip(cells_a, cells_b)):
                xa, yb = _num(x), _num(y)
                if xa is not None and yb is not None and 0 < abs(yb - xa) < 5:
                    found.append((table, label, col))
    return found


def _days_with_one_admission(admissions: Counter, month: int) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(d) for d, n in admissions.items()
                  if n == 1 and d.startswith(f"2026-{month:02d}-")
                  and dt.date.fromisoformat(d).day > 1)


def test_two_month_to_date_exports_a_day_apart_reveal_nothing(demo_vault, cli, tmp_path):
    path, admissions = demo_vault
    days = [d for m in (6, 5, 4) for d in _days_with_one_admission(admissions, m)][:3]
    assert days, "the demo vault has no day with exactly one admission: change the seed"
    written: list[tuple[dt.date, dict]] = []
    for day in days:
        before = day - dt.timedelta(days=1)
        start = day.replace(day=1).strftime("%d/%m/%Y")
        for end in (before, day):
            rc, out, err = cli(path, "--from", start, "--to", end.strftime("%d/%m/%Y"))
            if rc == 0:
                written.append((end, read_export(out)))
            else:
                # Refused: with the reason, and nothing written.
                assert not out.exists()
                assert "menos de 5" in err and "ya compartido" in err, err
    assert written, "every export was refused: the first of a period must be allowed"
    for i, (end_a, a) in enumerate(written):
        for end_b, b in written[i + 1:]:
            if end_b - end_a == dt.timedelta(days=1) and end_a.month == end_b.month:
                assert not readable_attributes(a, b), \
                    f"exports to {end_a} and {end_b} reveal the child admitted on {end_b}"


def test_a_late_entered_child_is_not_revealed_by_exporting_the_month_again(tmp_path, cli):
    path = tmp_path / "late" / "vault"
    vault, _key = Vault.create(path, shelter_code=SHELTER, shelter_name="Casa Ficticia Tardía",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    demo.populate(vault, residents=50, seed=3, services_per_resident=2, today=TODAY)
    vault.lock()
    rc, first, err = cli(path, "--from", "01/05/2026", "--to", "31/05/2026")
    assert rc == 0, err
    vault = Vault.open(path, "coord", PASS)
    vault.add("ficha_ingreso", {"admission_date": "2026-05-20", "name_first": "Ficticia",
                                "name_last": "Tardía", "sex": "female",
                                "referral_source": "upe", "risk_level": "high", "age": 14,
                                "place_of_residence": "08"})
    vault.lock()
    rc, second, err = cli(path, "--from", "01/05/2026", "--to", "31/05/2026")
    if rc != 0:
        assert not second.exists() and "ya compartido" in err, err
        return
    assert not readable_attributes(read_export(first), read_export(second))


def test_one_table_exports_of_two_periods_a_day_apart_reveal_nothing(demo_vault, tmp_path,
                                                                     monkeypatch, capsys):
    path, admissions = demo_vault
    day = _days_with_one_admission(admissions, 3)[0]
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    got = []
    for end in (day - dt.timedelta(days=1), day):
        out = tmp_path / f"t{end:%d}__ingreso_sex.csv"
        rc = main(["report", "--vault", str(path), "--format", "csv", "--table", "ingreso_sex",
                   "--from", day.replace(day=1).strftime("%d/%m/%Y"),
                   "--to", end.strftime("%d/%m/%Y"), "-o", str(out)])
        capsys.readouterr()
        if rc == 0:
            got.append(read_export(out))
    if len(got) == 2:
        assert not readable_attributes(*got)


def test_a_shelter_and_every_shelter_differing_by_one_child_reveal_nothing(tmp_path, cli):
    path = tmp_path / "two" / "vault"
    vault, _key = Vault.create(path, shelter_code=SHELTER, shelter_name="Casa Ficticia Una",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    demo.populate(vault, residents=40, seed=5, services_per_resident=2, today=TODAY)
    lone = vault.add("ficha_ingreso", {"admission_date": "2026-02-03", "name_first": "Ficticio",
                                       "name_last": "Otro Centro", "sex": "male",
                                       "referral_source": "fistrap", "risk_level": "low",
                                       "age": 16, "place_of_residence": "21"})
    # This child's records came from another shelter (as sync would bring them).
    with vault.transaction() as conn:
        conn.execute("UPDATE records SET shelter='PUN-02' WHERE resident_id=?", (lone,))
    vault.lock()
    rc, mine, err = cli(path, "--from", "01/01/2026", "--to", "30/06/2026",
                        "--shelter", SHELTER)
    assert rc == 0, err
    rc, every, err = cli(path, "--from", "01/01/2026", "--to", "30/06/2026")
    if rc != 0:
        assert not every.exists() and "ya compartido" in err, err
        return
    assert not readable_attributes(read_export(mine), read_export(every))
