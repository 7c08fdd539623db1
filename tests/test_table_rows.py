"""Table fields merge by row (issue 19 B): each row has an id; rows added, edited and removed
on two laptops merge; only one cell changed on both is a conflict. Everyone is fictional."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_support import Template, snapshot, sync_rounds
from test_cli import PASS as CLI_PASS
from test_cli import run
from test_sync_merge import Network

from cpc_desktop.core import tables, wording
from cpc_desktop.core.errors import CpcError
from cpc_desktop.sync import TAKE_KEPT, conflicts, resolve

TABLE = "family_details"


def _row(name: str, **more) -> dict:
    return {"name": name, "relationship": "mother", **more}


def _rows(vault, rid) -> list[dict]:
    return vault.get(rid).values.get(TABLE, [])


def _names(vault, rid) -> set[str]:
    return {r.get("name") for r in _rows(vault, rid)}


def test_rows_get_ids_and_an_edit_of_one_row_logs_only_its_cells(vault, intake_values):
    rid = vault.add("ficha_ingreso", intake_values(**{TABLE: [_row("Rosa Ficticia"),
                                                             _row("Juan Ficticio")]}))
    rows = _rows(vault, rid)
    assert all(tables.valid_id(r[tables.ROW_ID]) for r in rows)
    assert [r["name"] for r in rows] == ["Rosa Ficticia", "Juan Ficticio"], "row order changed"
    rows[1] = {**rows[1], "phone": "999000111"}
    vault.update(rid, {TABLE: rows + [_row("Ana Ficticia")]})
    after = _rows(vault, rid)
    assert [r["name"] for r in after] == ["Rosa Ficticia", "Juan Ficticio", "Ana Ficticia"]
    assert [r[tables.ROW_ID] for r in after[:2]] == [r[tables.ROW_ID] for r in rows]
    logged = [c.field for c in vault.history(rid) if c.seq > 1]
    assert TABLE not in logged, "a table edit was logged as one whole value"
    assert tables.cell_key(TABLE, rows[1][tables.ROW_ID], "phone") in logged
    assert not any(rows[0][tables.ROW_ID] in f for f in logged), "an untouched row was written"


def test_history_and_conflicts_name_a_cell_readably(vault, intake_values):
    rid = vault.add("ficha_ingreso", intake_values(**{TABLE: [_row("Rosa Ficticia")]}))
    row = _rows(vault, rid)[0]
    vault.update(rid, {TABLE: [{**row, "phone": "999000111"}]})
    change = [c for c in vault.history(rid) if c.field.startswith(TABLE + tables.SEP)][-1]
    label = wording.change_field(vault.forms, "ficha_ingreso", change.field)
    assert "Familiares y personas de contacto" in label and "Teléfono" in label, label
    assert wording.change_value(vault.forms, "ficha_ingreso", change.field,
                                change.value) == "999000111"


def _edit(vault, rid, change) -> None:
    rows = [dict(r) for r in _rows(vault, rid)]
    change(rows)
    vault.update(rid, {TABLE: rows or None})


def test_rows_added_edited_and_removed_on_two_laptops_merge(hub_pair, intake_values):
    a, b, hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(**{TABLE: [_row("Rosa Ficticia"),
                                                         _row("Juan Ficticio")]}))
    sync_rounds(hub, a, b)
    _edit(a, rid, lambda rows: rows.append(_row("Ana Ficticia")))
    _edit(b, rid, lambda rows: rows.append(_row("Luz Ficticia")))
    _edit(a, rid, lambda rows: rows[0].update(phone="999000111"))
    _edit(b, rid, lambda rows: rows[0].update(notes="Vive en Iquitos ficticio"))
    _edit(b, rid, lambda rows: rows.pop(1))          # Juan Ficticio removed on b
    sync_rounds(hub, a, b)
    assert _rows(a, rid) == _rows(b, rid)
    assert _names(a, rid) == {"Rosa Ficticia", "Ana Ficticia", "Luz Ficticia"}
    first = _rows(a, rid)[0]
    assert first["phone"] == "999000111" and first["notes"] == "Vive en Iquitos ficticio"
    assert conflicts(a) == [] and conflicts(b) == [], \
        "rows added or edited in different cells were shown as a conflict"


def test_the_same_cell_changed_on_both_is_one_conflict(hub_pair, intake_values):
    a, b, hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(**{TABLE: [_row("Rosa Ficticia")]}))
    sync_rounds(hub, a, b)
    _edit(a, rid, lambda rows: rows[0].update(phone="111"))
    _edit(b, rid, lambda rows: rows[0].update(phone="222", notes="Otra nota"))
    sync_rounds(hub, a, b)
    assert _rows(a, rid) == _rows(b, rid)
    for v in (a, b):
        found = conflicts(v)
        assert len(found) == 1, "the cell both changed is not (only) one conflict"
        assert found[0].field.endswith(tables.SEP + "phone")
        assert {found[0].kept_value, found[0].current_value} == {"111", "222"}
    assert _rows(a, rid)[0]["notes"] == "Otra nota"
    # Resolved like any field, on one laptop: the other closes it too.
    loser = conflicts(b)[0].kept_value
    resolve(b, conflicts(b)[0].id, TAKE_KEPT)
    sync_rounds(hub, a, b)
    assert conflicts(a) == [] and conflicts(b) == []
    assert _rows(a, rid) == _rows(b, rid) and _rows(a, rid)[0]["phone"] == loser


def test_rows_stored_without_ids_get_the_same_ids_on_both_laptops(hub_pair, intake_values):
    a, b, hub = hub_pair
    rid = a.add("ficha_ingreso", intake_values(**{TABLE: [_row("Rosa Ficticia"),
                                                         _row("Juan Ficticio")]}))
    sync_rounds(hub, a, b)
    for v in (a, b):    # as a record written before rows had ids is stored
        data = json.loads(v.conn.execute("SELECT data FROM records WHERE id=?",
                                         (rid,)).fetchone()[0])
        data[TABLE] = [{k: x for k, x in r.items() if k != tables.ROW_ID} for r in data[TABLE]]
        v.conn.execute("UPDATE records SET data=? WHERE id=?", (json.dumps(data), rid))
    assert [r[tables.ROW_ID] for r in _rows(a, rid)] == [r[tables.ROW_ID] for r in _rows(b, rid)]
    _edit(a, rid, lambda rows: rows[1].update(phone="999000111"))
    _edit(b, rid, lambda rows: rows.append(_row("Luz Ficticia")))
    sync_rounds(hub, a, b)
    assert _rows(a, rid) == _rows(b, rid)
    assert [r["name"] for r in _rows(a, rid)] == ["Rosa Ficticia", "Juan Ficticio",
                                                  "Luz Ficticia"]
    assert _rows(a, rid)[1]["phone"] == "999000111"
    assert conflicts(a) == []


def test_cli_update_with_shown_rows_plus_one_adds_that_row(tmp_path):
    path = tmp_path / "vault"
    pw = tmp_path / "pw"
    pw.write_text(CLI_PASS)
    assert run("init", "--vault", path, "--shelter", "CUS-03", "--shelter-name", "Centro",
               "--user", "coord", "--passphrase-file", pw, "--kdf-seconds", "0").returncode == 0
    values = {"admission_date": "2025-03-10", "name_first": "Killa", "name_last": "Prueba",
              "sex": "female", "referral_source": "fistrap", "risk_level": "medium",
              TABLE: [_row("Rosa Ficticia"), _row("Juan Ficticio", phone="999")]}
    r = run("add", "--vault", path, "ficha_ingreso", "--json", "-", stdin=json.dumps(values))
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    shown = json.loads(run("show", "--vault", path, rid, "--json").stdout)["values"][TABLE]
    assert all(tables.ROW_ID in row for row in shown), "cpc show --json hides the row ids"
    r = run("update", "--vault", path, rid, "--json", "-",
            stdin=json.dumps({TABLE: shown + [_row("Ana Ficticia")]}))
    assert r.returncode == 0, r.stderr
    after = json.loads(run("show", "--vault", path, rid, "--json").stdout)["values"][TABLE]
    assert after[:2] == shown, "the rows given back unchanged were changed"
    assert after[2]["name"] == "Ana Ficticia" and tables.valid_id(after[2][tables.ROW_ID])
    history = run("history", "--vault", path, rid).stdout
    assert "Familiares y personas de contacto" in history and "Ana Ficticia" in history
    assert tables.SEP + "name" not in history, "history shows a raw cell key"


# ---------------------------------------------------------------- property: random row edits

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return Template.build(tmp_path_factory.mktemp("rows-template"), 2)


op = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 1)),
    st.tuples(st.just("edit"), st.integers(0, 1), st.integers(0, 9),
              st.sampled_from(["phone", "notes", "age"]), st.integers(0, 3)),
    st.tuples(st.just("remove"), st.integers(0, 1), st.integers(0, 9)),
    st.tuples(st.just("export"), st.integers(0, 1)),
    st.tuples(st.just("deliver"), st.integers(0, 1), st.integers(0, 50)),
)
CELL_VALUES = {"phone": ["111", "222", "333", None], "notes": ["Nota A", "Nota B", None, "C"],
               "age": [30, 41, None, 52]}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=2, max_size=25), seed=st.integers(0, 2**16))
def test_random_row_edits_on_two_laptops_converge_and_keep_added_rows(
        template, tmp_path_factory, intake_values, ops, seed):
    a, b = vaults = template.copy(tmp_path_factory.mktemp("rows"), 2)
    try:
        net = Network(vaults)
        rid = a.add("ficha_ingreso", intake_values(**{TABLE: [_row("Base Ficticia")]}))
        net.settle(random.Random(seed))
        added: set[str] = set()
        removed: set[str] = {"never"}
        counter = 0
        for o in ops:
            v = vaults[o[1]]
            try:
                if o[0] == "add":
                    counter += 1
                    name = f"Persona Ficticia {counter}"
                    added.add(name)
                    _edit(v, rid, lambda rows, n=name: rows.append(_row(n)))
                elif o[0] == "edit" and _rows(v, rid):
                    def change(rows, o=o):
                        rows[o[2] % len(rows)][o[3]] = CELL_VALUES[o[3]][o[4]]
                    _edit(v, rid, change)
                elif o[0] == "remove" and _rows(v, rid):
                    rows = _rows(v, rid)
                    gone = rows[o[2] % len(rows)]
                    removed.add(gone.get("name", ""))
                    _edit(v, rid, lambda rows, g=gone: rows.remove(g))
                elif o[0] == "export":
                    net.export(o[1])
                elif o[0] == "deliver" and net.pool:
                    net.deliver(o[1], net.pool[o[2] % len(net.pool)])
            except CpcError:
                pass   # e.g. a row left with a required cell emptied: refused as on screen
        net.settle(random.Random(seed + 1))
        assert snapshot(a) == snapshot(b), "two laptops show different rows after syncing"
        for name in added - removed:
            assert name in _names(a, rid), f"a row added on one laptop was lost: {name}"
        ids = [r[tables.ROW_ID] for r in _rows(a, rid)]
        assert ids == sorted(set(ids)), "rows repeat or are out of order"
    finally:
        for v in vaults:
            v.lock()


def test_an_incoming_cell_is_checked_against_its_column(vault):
    from cpc_desktop.sync import validate

    key = tables.cell_key(TABLE, tables.new_id(), "age")
    assert validate.bad_field(vault.forms, "ficha_ingreso", key, 41) is None
    assert validate.bad_field(vault.forms, "ficha_ingreso", key, "banana") == TABLE, \
        "a table cell of the wrong type would be applied"
    assert validate.bad_field(vault.forms, "ficha_ingreso", TABLE,
                              [{"_id": "no válido!", "name": "x"}]) == TABLE
    # A column this program does not know (a newer form): kept as it came.
    other = tables.cell_key(TABLE, tables.new_id(), "column_of_a_newer_form")
    assert validate.bad_field(vault.forms, "ficha_ingreso", other, {"any": 1}) is None
