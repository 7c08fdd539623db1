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
from cpc_desktop import demo
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


REFUSALS = ("ya compartido", "no ha terminado")


def test_two_month_to_date_exports_a_day_apart_reveal_nothing(demo_vault, cli, tmp_path):
    path, admissions = demo_vault
    days = [d for m in (6, 5, 4) for d in _days_with_one_admission(admissions, m)][:3]
    assert days, "the demo vault has no day with exactly one admission: change the seed"
    written: list[tuple[dt.date, dict]] = []
    refused = 0
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
                assert any(r in err for r in REFUSALS), err
                refused += 1
    assert refused, "no export was refused"
    for i, (end_a, a) in enumerate(written):
        for end_b, b in written[i + 1:]:
            if end_b - end_a == dt.timedelta(days=1) and end_a.month == end_b.month:
                assert not readable_attributes(a, b), \
                    f"exports to {end_a} and {end_b} reveal the child admitted on {end_b}"


def _steady_shelter(path: Path, size: int = 12) -> Vault:
    """`size` children in care all through 2026 (admitted in 2025): a steady shelter."""
    vault, _key = Vault.create(path, shelter_code=SHELTER, shelter_name="Casa Ficticia Estable",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    for n in range(size):
        vault.add("ficha_ingreso", {"admission_date": f"2025-0{1 + n % 9}-1{n % 10}",
                                    "name_first": "Ficticia", "name_last": f"Estable {n}",
                                    "sex": ("female", "male")[n % 3 == 0],
                                    "referral_source": "upe", "risk_level": "medium",
                                    "age": 13, "place_of_residence": "08"})
    return vault


def _passing_child(vault: Vault, admitted: str, discharged: str | None = None, *,
                   sex: str = "male", place: str = "21", risk: str = "high") -> str:
    rid = vault.add("ficha_ingreso", {"admission_date": admitted, "name_first": "Ficticio",
                                      "name_last": "De Paso", "sex": sex,
                                      "referral_source": "fistrap", "risk_level": risk,
                                      "age": 16, "place_of_residence": place,
                                      "mother_tongue": "aymara"})
    if discharged:
        vault.add("ficha_egreso", {"discharge_date": discharged,
                                   "discharge_reason": "family_reintegration"}, rid)
    return rid


def test_a_month_and_its_quarter_differing_by_one_child_reveal_nothing(tmp_path, cli):
    path = tmp_path / "steady" / "vault"
    vault = _steady_shelter(path)
    _passing_child(vault, "2026-02-10", "2026-02-20")   # in the quarter, not in January
    vault.lock()
    rc, january, err = cli(path, "--from", "01/01/2026", "--to", "31/01/2026")
    assert rc == 0, err
    rc, quarter, err = cli(path, "--from", "01/01/2026", "--to", "31/03/2026")
    if rc != 0:
        assert not quarter.exists() and "ya compartido" in err, err
        assert "01/01/2026 al 31/01/2026" in err, err   # names the earlier release
        return
    assert not readable_attributes(read_export(january), read_export(quarter))


def test_the_release_log_survives_a_restart_and_sees_what_sync_brought(tmp_path):
    from cpc_desktop.reports import ReportRequest, releases
    from cpc_desktop.sync.engine import SyncEngine
    from cpc_desktop.sync.transports import FolderHub
    from sync_support import join_new

    a = _steady_shelter(tmp_path / "a")
    b = join_new(a, tmp_path / "b")
    hub = tmp_path / "hub"
    hub.mkdir()
    SyncEngine(a).sync(FolderHub(hub))
    SyncEngine(b).sync(FolderHub(hub))
    q1 = ReportRequest(dt.date(2026, 1, 1), dt.date(2026, 3, 31), SHELTER)
    first, _r = releases.export(a, q1, tmp_path / "q1.csv", "csv", table_id="ingreso_sex")
    a.lock()
    _passing_child(b, "2026-03-02")           # entered on the other laptop
    SyncEngine(b).sync(FolderHub(hub))
    a = Vault.open(tmp_path / "a", "coord", PASS)    # a restart
    SyncEngine(a).sync(FolderHub(hub))
    assert len(releases.releases(a)) == 1
    with pytest.raises(releases.ReleaseRefused) as refused:
        releases.export(a, q1, tmp_path / "q1-again.csv", "csv", table_id="ingreso_sex")
    assert refused.value.family == "served"
    assert not (tmp_path / "q1-again.csv").exists()
    # The same export again, before anything changed, is the same release: allowed.
    a.lock()


@pytest.mark.parametrize("part_chars", [40_000, 300])
def test_another_laptops_shared_export_counts_after_sync(tmp_path, monkeypatch, part_chars):
    """Laptop A shares the first quarter and syncs; a child is entered on B; B's export of
    the same quarter (one child more) is refused, and so is any table of it. With small parts
    the release crosses in several batches, as a large shelter's does."""
    from cpc_desktop.core import release_log
    from cpc_desktop.reports import ReportRequest, releases
    from cpc_desktop.sync.engine import SyncEngine
    from cpc_desktop.sync.transports import FolderHub
    from sync_support import join_new

    monkeypatch.setattr(release_log, "PART_CHARS", part_chars)
    a = _steady_shelter(tmp_path / "a")
    b = join_new(a, tmp_path / "b")
    hub = tmp_path / "hub"
    hub.mkdir()
    SyncEngine(a).sync(FolderHub(hub))
    SyncEngine(b).sync(FolderHub(hub))
    q1 = ReportRequest(dt.date(2026, 1, 1), dt.date(2026, 3, 31), SHELTER)
    shared, _r = releases.export(a, q1, tmp_path / "a-q1.zip", "csv")
    made = SyncEngine(a).export()
    assert made >= (2 if part_chars < 1000 else 1)
    SyncEngine(a).sync(FolderHub(hub))
    _passing_child(b, "2026-03-02")           # entered on B only
    SyncEngine(b).sync(FolderHub(hub))
    assert [r.id for r in releases.releases(b)] == [r.id for r in releases.releases(a)]
    b.lock()
    b = Vault.open(tmp_path / "b", "coord", PASS)    # and across a restart of B
    for table in (None, "ingreso_sex"):
        out = tmp_path / f"b-q1-{table}.csv"
        with pytest.raises(releases.ReleaseRefused) as refused:
            releases.export(b, q1, out, "csv", table_id=table)
        assert refused.value.family in ("served", "admitted")
        assert "01/01/2026 al 31/03/2026" in str(refused.value)
        assert not out.exists()
    # Nothing half-received stays behind, and A's own release is not sent again.
    parts = b.conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'report_release_part:%'")
    assert parts.fetchone()[0] == 0
    queued = a.conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'report_release_outbox:%'")
    assert queued.fetchone()[0] == 0
    a.lock()
    b.lock()


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
    day = [d for m in (3, 2, 1, 4, 5, 6) for d in _days_with_one_admission(admissions, m)][0]
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


def test_a_month_and_its_quarter_five_children_apart_hide_every_small_difference(tmp_path,
                                                                                 cli):
    path = tmp_path / "five" / "vault"
    vault = _steady_shelter(path, 30)       # 20 girls, 10 boys
    for n, day in enumerate(("2026-02-03", "2026-02-09", "2026-02-14", "2026-03-02",
                             "2026-03-20", "2026-03-25")):
        # One girl and five boys: the girls' row of the difference is 1.
        _passing_child(vault, day, sex="female" if n == 0 else "male")
    vault.lock()
    rc, january, err = cli(path, "--from", "01/01/2026", "--to", "31/01/2026")
    assert rc == 0, err
    rc, quarter, err = cli(path, "--from", "01/01/2026", "--to", "31/03/2026")
    assert rc == 0, err     # six newcomers: a group, not a child
    a, b = read_export(january), read_export(quarter)
    assert not readable_attributes(a, b)
    # Hidden because of the difference, not because of the quarter alone: the quarter's
    # 12 + 6 children, exported first in another vault, would show more.
    shown_q = [c for rows in b.values() for cells in rows.values() for c in cells
               if _num(c) is not None]
    assert shown_q, "the quarter export shows nothing at all"


def test_free_dates_and_unfinished_periods_are_not_shared(demo_vault, cli):
    path, _adm = demo_vault
    rc, out, err = cli(path, "--from", "05/01/2026", "--to", "20/02/2026")
    assert rc == 1 and not out.exists() and "mes, un trimestre" in err, err
    rc, out, err = cli(path, "--from", "01/01/2026", "--to", "15/05/2026")
    assert rc == 1 and not out.exists() and "no ha terminado" in err, err


def test_a_shared_report_prints_no_single_child_statistic(demo_vault, tmp_path):
    from cpc_desktop.reports import ReportRequest, build_report
    path, _adm = demo_vault
    vault = Vault.open(path, "coord", PASS)
    try:
        request = ReportRequest(dt.date(2026, 1, 1), dt.date(2026, 6, 30))
        screen = build_report(vault, request, today=TODAY)
        export = build_report(vault, request, today=TODAY, purpose="export")
    finally:
        vault.lock()
    assert {c.id for c in screen.table("duracion_estadia").columns} >= {"min", "max"}
    assert [c.id for c in export.table("duracion_estadia").columns] == ["median"]


def test_cpc_report_takes_named_periods_and_lists_what_was_shared(tmp_path, cli, capsys):
    path = tmp_path / "named" / "vault"
    _steady_shelter(path).lock()
    rc, out, err = cli(path, "--period", "2026-T1")
    assert rc == 0 and out.exists(), err
    rc, out2, err = cli(path, "--period", "2026-T1", "--from", "01/01/2026")
    assert rc == 1 and "no ambos" in err
    rc, out2, err = cli(path, "--period", "2026-T5")
    assert rc == 1 and "Periodo no válido" in err
    assert main(["report-log", "--vault", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "del 01/01/2026 al 31/03/2026" in lines[0] and "CSV" in lines[0]


def test_periods_cover_what_a_coordinator_asks_for():
    from cpc_desktop.reports import periods

    today = dt.date(2026, 8, 14)
    got = {pid: periods.preset(pid, today) for pid, *_r in periods.PRESETS}
    assert (got["mes-actual"].start, got["mes-actual"].end, got["mes-actual"].partial) == (
        dt.date(2026, 8, 1), today, True)
    assert (got["semestre-actual"].start, got["semestre-actual"].partial) == (
        dt.date(2026, 7, 1), True)
    assert (got["mes-anterior"].start, got["mes-anterior"].end) == (dt.date(2026, 7, 1),
                                                                   dt.date(2026, 7, 31))
    assert (got["trimestre-anterior"].start, got["trimestre-anterior"].end) == (
        dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert (got["semestre-anterior"].start, got["semestre-anterior"].end) == (
        dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert (got["anio-anterior"].start, got["anio-anterior"].end) == (dt.date(2025, 1, 1),
                                                                     dt.date(2025, 12, 31))
    assert not any(got[p].partial for p in got if p.endswith("anterior"))
    assert periods.classify(dt.date(2026, 1, 1), dt.date(2026, 3, 31), today).kind == "quarter"
    assert periods.classify(dt.date(2026, 2, 1), dt.date(2026, 3, 31), today) is None
    assert periods.parse("2026-S2", today).partial
