"""Joining two residents that are one child registered twice: the kept one shows every record
of both, the other disappears from lists, search, duplicates and reports, nothing is lost, only
a coordinator may do it, and laptops that sync the join (in any order, with records added
offline to the other resident, or joining the pair in opposite directions) end identical."""
from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_intake_values, make_service_values
from cpc_desktop.core.errors import CpcError, PermissionDenied
from cpc_desktop.core.users import Role
from cpc_desktop.core.vault import JOINED, resolve_joins
from cpc_desktop.reports import ReportRequest, build_report
from cpc_desktop.sync import (TAKE_KEPT, conflicts, duplicate_residents, join_residents,
                              resolve)
from sync_support import PASS, Template, new_vault, shelter_of, snapshot
from test_reports import END, START, TODAY, Brute
from test_sync_merge import Network


def twins(v, **other):
    """Two intakes of one fictional child (same names and birth date) and one more child."""
    keep = v.add("ficha_ingreso", make_intake_values(
        name_first="Rosa Ficticia", name_last="Quispe Prueba", date_of_birth="2012-05-01",
        internal_code="A-1", risk_level="high", admission_date="2025-12-01"))
    gone = v.add("ficha_ingreso", make_intake_values(**{
        "name_first": "Rosa Ficticia", "name_last": "Quispe Prueba",
        "date_of_birth": "2012-05-01", "internal_code": "B-1", "risk_level": "low",
        "name_nickname": "Flor", "admission_date": "2025-12-01", **other}))
    third = v.add("ficha_ingreso", make_intake_values(name_first="Otra Ficticia",
                                                      internal_code="C-1"))
    return keep, gone, third


def full_snapshot(v) -> dict:
    snap = snapshot(v)
    snap["joined"] = sorted(v.conn.execute(
        "SELECT id, joined_into FROM residents WHERE joined_into IS NOT NULL").fetchall())
    return snap


# ---------------------------------------------------------------- one laptop

def test_joined_resident_shows_under_the_kept_one_and_disappears_elsewhere(tmp_path):
    v = new_vault(tmp_path / "v")
    keep, gone, third = twins(v)
    v.add("registro_atenciones", make_service_values(service_date="2026-01-05"), keep)
    v.add("registro_atenciones", make_service_values(service_date="2026-02-09"), gone)
    v.add("ficha_egreso", {"discharge_date": "2026-03-01",
                           "discharge_reason": "family_reintegration"}, gone)
    assert len(duplicate_residents(v)) == 1
    result = join_residents(v, keep, gone)

    forms_shown = sorted(r.form for r in v.records(keep))
    assert forms_shown == ["ficha_egreso", "ficha_ingreso", "registro_atenciones",
                           "registro_atenciones"], (
        "the kept resident's file lacks records of the joined one (or shows two intakes)")
    assert v.records(keep, "ficha_ingreso")[0].id == keep
    assert v.records(gone) == v.records(keep), "opening the joined id must show the same file"
    summary = v.resident(keep)
    assert summary.last_service == "2026-02-09" and summary.status == "discharged", (
        "the list row of the kept resident ignores the joined one's services and discharge")
    assert [r.id for r in v.residents()] == sorted([keep, third], key=lambda i: v.resident(
        i).internal_code), "the joined resident still appears in the residents list"
    assert [r.id for r in v.search("Flor")] == [keep], (
        "searching the joined one's nickname must find the kept resident, once")
    assert [r.id for r in v.search("B-1")] == [keep]
    assert gone not in v.search_ids("Rosa") and keep in v.search_ids("Rosa")
    assert duplicate_residents(v) == [], "a joined pair is still flagged as duplicates"
    # Blank fields filled; differing values kept for a person to decide.
    assert v.get(keep).values["name_nickname"] == "Flor" and "name_nickname" in result.filled
    assert v.get(keep).values["risk_level"] == "high", "the kept intake's value was replaced"
    review = {c.field: (c.current_value, c.kept_value) for c in conflicts(v)}
    assert review["risk_level"] == ("high", "low"), (
        "a differing value of the joined intake was lost")
    assert review["internal_code"] == ("A-1", "B-1")
    entry = [a for a in v.audit_log() if a.action == "resident.join"]
    assert len(entry) == 1 and entry[0].record_id == gone and entry[0].detail["into"] == keep
    assert "Flor" not in str(entry[0].detail), "an audit entry must hold field names only"


def test_taking_a_reviewed_value_and_later_edits_keep_the_join(tmp_path):
    v = new_vault(tmp_path / "v")
    keep, gone, _third = twins(v)
    join_residents(v, keep, gone)
    risk = next(c for c in conflicts(v) if c.field == "risk_level")
    resolve(v, risk.id, TAKE_KEPT)
    assert v.get(keep).values["risk_level"] == "low"
    # Ordinary edits of either intake (the window submits the whole form) keep the join.
    v.update(keep, {k: val for k, val in v.get(keep).values.items()}, replace=True)
    v.update(gone, {"risk_level": "medium"})
    assert v.get(gone).values[JOINED] == keep, "editing the joined intake undid the join"
    assert v.resident(gone).joined_into == keep
    assert [r.id for r in v.residents()].count(gone) == 0
    # The internal code of the joined one no longer blocks editing the kept one.
    v.update(keep, {"internal_code": "B-1"})
    assert v.resident(keep).internal_code == "B-1"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.PROFESSIONAL])
def test_only_a_coordinator_may_join(tmp_path, role):
    v = new_vault(tmp_path / "v")
    keep, gone, _third = twins(v)
    v.add_user("otra", role, PASS)
    v.lock()
    from cpc_desktop.core.vault import Vault

    other = Vault.open(tmp_path / "v", "otra", PASS)
    try:
        with pytest.raises(PermissionDenied, match="coordinador"):
            join_residents(other, keep, gone)
        assert len(other.residents()) == 3, "a refused join changed the list"
        assert not [a for a in other.audit_log() if a.action == "resident.join"]
    finally:
        other.lock()


def test_joining_twice_or_with_itself_is_refused(tmp_path):
    v = new_vault(tmp_path / "v")
    keep, gone, third = twins(v)
    with pytest.raises(CpcError):
        join_residents(v, keep, keep)
    join_residents(v, keep, gone)
    with pytest.raises(CpcError):
        join_residents(v, third, gone)


def test_reports_count_a_joined_child_once(tmp_path):
    v = new_vault(tmp_path / "v")
    keep, gone, third = twins(v)
    for rid, day in ((keep, "2026-01-05"), (gone, "2026-02-09"), (third, "2026-03-03")):
        v.add("registro_atenciones", make_service_values(service_date=day), rid)
    request = ReportRequest(START, END)
    before = build_report(v, request, today=TODAY).table("resumen").value("served")
    join_residents(v, keep, gone)
    report = build_report(v, request, today=TODAY)
    brute = Brute(v, START, END)
    assert before == 3 and report.table("resumen").value("served") == len(brute.served) == 2, (
        "a child registered twice is counted twice after the join")
    services = report.table("atenciones_service_area")
    assert services.value("total", "services") == 3, "services of the joined resident vanished"
    assert services.value("total", "children") == 2


def test_cycles_and_chains_resolve_to_one_survivor():
    # Opposite joins: the earlier one holds, whatever the order the edges are given in.
    edges = {"k": ("o", "0002-0000-b"), "o": ("k", "0001-0000-a")}
    assert resolve_joins(edges) == {"o": "k"}
    assert resolve_joins(dict(reversed(list(edges.items())))) == {"o": "k"}
    # A chain ends in its last resident; a cycle of three breaks at its latest join.
    assert resolve_joins({"a": ("b", "1"), "b": ("c", "2")}) == {"a": "c", "b": "c"}
    assert resolve_joins({"a": ("b", "1"), "b": ("c", "3"), "c": ("a", "2"),
                          "d": ("a", "4")}) == {"a": "b", "c": "b", "d": "b"}


# ---------------------------------------------------------------- sync

def test_join_syncs_and_a_service_added_offline_shows_under_the_kept_one(tmp_path):
    a, b, c = shelter_of(tmp_path, 3)
    net = Network([a, b, c])
    keep, gone, _third = twins(a)
    net.settle(random.Random(1))
    join_residents(a, keep, gone)
    # b has not received the join: a week of services logged on the other resident.
    offline = b.add("registro_atenciones", make_service_values(service_date="2026-02-20"), gone)
    net.settle(random.Random(2))
    snaps = [full_snapshot(v) for v in (a, b, c)]
    assert snaps[1] == snaps[0] and snaps[2] == snaps[0], "laptops differ after syncing a join"
    for v in (a, b, c):
        assert offline in {r.id for r in v.records(keep)}, (
            "a service logged offline on the other resident is hidden after the join")
        assert gone not in {r.id for r in v.residents()}
        assert v.resident(keep).last_service == "2026-02-20"
        assert {x.field for x in conflicts(v)} >= {"risk_level"}, (
            "the differing values are reviewable only on the laptop that joined")


def test_opposite_concurrent_joins_converge_to_one_survivor(tmp_path):
    a, b = shelter_of(tmp_path, 2)
    net = Network([a, b])
    keep, gone, _third = twins(a)
    net.settle(random.Random(1))
    join_residents(a, keep, gone)       # first decision
    join_residents(b, gone, keep)       # the opposite, before syncing
    net.settle(random.Random(2))
    assert full_snapshot(a) == full_snapshot(b)
    for v in (a, b):
        shown = [r.id for r in v.residents() if r.id in (keep, gone)]
        assert shown == [keep], "opposite joins must leave exactly one resident: the first kept"
        assert len(v.records(keep, "registro_atenciones")) == len(
            v.records(gone, "registro_atenciones"))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return Template.build(tmp_path_factory.mktemp("join-template"), 3)


op = st.one_of(
    st.tuples(st.just("service"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("join"), st.integers(0, 2), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("delete"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("export"), st.integers(0, 2)),
    st.tuples(st.just("deliver"), st.integers(0, 2), st.integers(0, 100)),
)


@settings(max_examples=int(os.environ.get("JOIN_EXAMPLES", 25)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=3, max_size=18), seed=st.integers(0, 2**16))
def test_replicas_with_joins_converge_whatever_the_delivery_order(template, tmp_path_factory,
                                                                  ops, seed):
    rng = random.Random(seed)
    vaults = template.copy(tmp_path_factory.mktemp("join-replicas"), 3)
    try:
        net = Network(vaults)
        ids = [vaults[0].add("ficha_ingreso", make_intake_values(
            name_first="Niña Ficticia", internal_code=f"R-{n}", risk_level=risk))
            for n, risk in enumerate(["low", "high", "medium", "low"])]
        net.settle(rng)
        for o in ops:
            v = vaults[o[1]]
            try:
                if o[0] == "service":
                    v.add("registro_atenciones", make_service_values(), ids[o[2] % 4])
                elif o[0] == "join":
                    join_residents(v, ids[o[2] % 4], ids[o[3] % 4])
                elif o[0] == "edit":
                    v.update(ids[o[2] % 4], {"risk_level": ["low", "high"][o[2] % 2]})
                elif o[0] == "delete":
                    # Services, and now and then a whole resident (a join into it then ends).
                    form = "ficha_ingreso" if o[2] == 5 else "registro_atenciones"
                    rows = v.conn.execute("SELECT id FROM records WHERE form=? AND deleted=0 "
                                          "ORDER BY id", (form,)).fetchall()
                    if rows:
                        v.delete(rows[o[2] % len(rows)][0])
                elif o[0] == "export":
                    net.export(o[1])
                elif net.pool:
                    net.deliver(o[1], net.pool[o[2] % len(net.pool)])
            except CpcError:
                pass    # e.g. joining a resident already joined: refused as in the window
        net.settle(rng)
        snaps = [full_snapshot(v) for v in vaults]
        assert snaps[1] == snaps[0] and snaps[2] == snaps[0], (
            "laptops show different residents, joins or records after the same batches")
        services = vaults[0].conn.execute(
            "SELECT id, resident_id FROM records WHERE form='registro_atenciones' AND deleted=0"
            ).fetchall()
        alive = {r[0] for r in vaults[0].conn.execute(
            "SELECT id FROM records WHERE form='ficha_ingreso' AND deleted=0")}
        services = {sid for sid, rid in services if rid in alive}
        shown = {r.id for s in vaults[0].residents()
                 for r in vaults[0].records(s.id, "registro_atenciones")}
        assert shown == services, "a service is hidden: its resident was joined into nobody"
    finally:
        for v in vaults:
            v.lock()


# ---------------------------------------------------------------- command line

def _cpc(*args, user="coord"):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CPC_USER": user, "CPC_PASSPHRASE": PASS, "CPC_LANG": "es"}
    return subprocess.run([sys.executable, "-m", "cpc_desktop.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_lists_duplicates_and_joins_by_internal_code(tmp_path):
    import json

    v = new_vault(tmp_path / "v")
    keep, gone, _third = twins(v)
    v.add("ficha_ingreso", make_intake_values(name_first="Una Ficticia", internal_code="C-9"))
    v.add("ficha_ingreso", make_intake_values(name_first="Dos Ficticia", internal_code="C-8"))
    v.conn.execute("UPDATE residents SET internal_code='C-9' WHERE internal_code='C-8'")
    v.add_user("super", Role.SUPERVISOR, PASS)
    v.lock()
    path = tmp_path / "v"
    listed = _cpc("duplicates", "--vault", path, "--json")
    assert listed.returncode == 0, listed.stderr
    groups = json.loads(listed.stdout)
    pair = next(g for g in groups if set(g["resident_ids"]) == {keep, gone})
    assert {s["internal_code"] for s in pair["residents"]} == {"A-1", "B-1"}
    assert "A-1" in _cpc("duplicates", "--vault", path).stdout

    refused = _cpc("duplicates", "--vault", path, "--join", "A-1", "B-1", user="super")
    assert refused.returncode == 1 and "coordinador" in refused.stderr, (
        "a supervisor could join residents, or was not told why not")
    ambiguous = _cpc("duplicates", "--vault", path, "--join", "C-9", "A-1")
    assert ambiguous.returncode == 1 and "identificador" in ambiguous.stderr
    assert _cpc("duplicates", "--vault", path, "--join", "A-1").returncode == 2

    done = _cpc("duplicates", "--vault", path, "--join", "A-1", "B-1")
    assert done.returncode == 0, done.stderr
    assert "Residentes unidos" in done.stdout and "cpc conflicts" in done.stdout
    shown = _cpc("list", "--vault", path).stdout
    assert "A-1" in shown and "B-1" not in shown, "the joined resident is still listed"
    after = json.loads(_cpc("duplicates", "--vault", path, "--json").stdout)
    assert not any(keep in g["resident_ids"] for g in after)
    again = _cpc("duplicates", "--vault", path, "--join", "A-1", "B-1")
    assert again.returncode == 1 and "ya fue unido" in again.stderr


def test_a_vault_of_an_older_schema_migrates_and_joins(tmp_path):
    import shutil
    from pathlib import Path

    from cpc_desktop.core.vault import SCHEMA_VERSION, Vault

    path = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "vault-schema2", path)
    v = Vault.open(path, "coord", "frase de prueba larga")
    try:
        assert v.schema_version == SCHEMA_VERSION
        first, second = [r.id for r in v.residents()][:2]
        total = len(v.records(first)) + len(v.records(second))
        join_residents(v, first, second)
        assert len(v.records(first)) == total - 1, (
            "after an update, joining lost records of an old vault (or showed two intakes)")
        assert second not in {r.id for r in v.residents()}
        assert v.check().ok
    finally:
        v.lock()
