"""The audit log: every write leaves an entry, entries hold no personal data, and `verify`
finds any entry that was edited, removed, reordered or cut off."""
from __future__ import annotations

import json

import pytest

from cpc_desktop.core import audit

CANARY = "Zzyzxcanaria Ficticia"


@pytest.fixture(scope="module")
def logged(tmp_path_factory, vault_factory, intake_values, service_values):
    """A vault with a few writes of each kind, so the chain has entries to tamper with."""
    created = vault_factory(tmp_path_factory.mktemp("audit") / "vault")
    v = created.vault
    rid = v.add("ficha_ingreso", intake_values(name_first=CANARY))
    sid = v.add("registro_atenciones", service_values(note=f"Nota sobre {CANARY}"), rid)
    v.update(rid, {"risk_level": "low"})
    v.update(sid, {"duration_minutes": 60})
    v.delete(sid)
    v.save_draft("borrador", {"name_first": CANARY})
    yield v
    v.lock()


@pytest.fixture
def tampered(logged):
    """The logged vault inside a transaction rolled back after the test: tamper freely."""
    conn = logged.conn
    conn.execute("BEGIN IMMEDIATE")
    yield logged
    conn.execute("ROLLBACK")
    assert logged.verify_audit().ok, "a tamper test leaked into the shared vault"


def last_seq(conn) -> int:
    return conn.execute("SELECT max(seq) FROM audit").fetchone()[0]


# ---------------------------------------------------------------- what is logged

def test_every_write_appends_one_entry(vault, intake_values, service_values, coordinator):
    def actions_after(write):
        before = len(vault.audit_log())
        result = write()
        new = vault.audit_log()[before:]
        return result, [(e.action, e.record_id) for e in new]

    rid, new = actions_after(lambda: vault.add("ficha_ingreso", intake_values()))
    assert new == [("record.add", rid)], "adding a child's file would leave no trace"
    sid, new = actions_after(lambda: vault.add("registro_atenciones", service_values(), rid))
    assert new == [("record.add", sid)]
    _, new = actions_after(lambda: vault.update(rid, {"risk_level": "low"}))
    assert new == [("record.update", rid)], "an edit would leave no trace"
    _, new = actions_after(lambda: vault.delete(sid))
    assert new == [("record.delete", sid)], "a deletion would leave no trace"
    _, new = actions_after(lambda: vault.add_user("ana.huaman", "professional",
                                                  "frase ficticia de ana"))
    assert new == [("user.add", None)], "a new account would appear without a trace"
    _, new = actions_after(lambda: vault.set_role("ana.huaman", "supervisor"))
    assert new == [("user.role", None)]
    assert {e.user for e in vault.audit_log()} == {coordinator.user}, (
        "the log would not say who did it")


def test_failed_writes_append_nothing(vault, intake_values):
    before = len(vault.audit_log())
    with pytest.raises(Exception):
        vault.add("ficha_ingreso", intake_values(sex="desconocido"))
    assert len(vault.audit_log()) == before, "a refused save would be logged as done"


def test_entries_hold_ids_and_field_names_never_values(logged):
    text = json.dumps([e.__dict__ for e in logged.audit_log()], ensure_ascii=False)
    assert CANARY not in text and "Zzyzx" not in text, (
        "a child's name would be copied into the audit log, which supervisors may export")
    adds = [e for e in logged.audit_log() if e.action == "record.add"]
    assert "name_first" in adds[0].detail["fields"], "the log would not say which fields changed"


def test_entries_for_one_record_and_the_last_few(logged):
    rid = next(e.record_id for e in logged.audit_log() if e.action == "record.add")
    mine = logged.audit_log(record_id=rid)
    assert [e.action for e in mine] == ["record.add", "record.update"]
    everything = logged.audit_log()
    assert logged.audit_log(limit=2) == everything[-2:], "the newest entries would not be shown"


# ---------------------------------------------------------------- verify

def test_fresh_chain_verifies(created_vault):
    result = created_vault.vault.verify_audit()
    assert result.ok and result.checked == 1 and result.broken_at is None, (
        f"a brand-new vault would be reported as tampered with: {result}")


def test_chain_of_many_writes_verifies(logged):
    result = logged.verify_audit()
    assert result.ok and result.checked == len(logged.audit_log()) >= 6


def test_edited_detail_is_found(tampered):
    tampered.conn.execute("UPDATE audit SET detail=? WHERE seq=3",
                          (json.dumps({"form": "otro"}),))
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at, result.reason) == (False, 3, "edited"), (
        f"someone rewriting what an entry says would go unnoticed: {result}")


@pytest.mark.parametrize("column, value", [("user", "otra.persona"), ("action", "vault.unlock"),
                                           ("at", "2020-01-01T00:00:00.000+00:00"),
                                           ("record_id", None), ("detail", "{not json")])
def test_edited_column_is_found(tampered, column, value):
    tampered.conn.execute(f"UPDATE audit SET {column}=? WHERE seq=4", (value,))
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at) == (False, 4), (
        f"an entry with a changed {column} would pass as genuine: {result}")


def test_edited_and_rehashed_entry_is_found_at_the_next(tampered):
    conn = tampered.conn
    seq, at, user, action, record_id, _detail, prev, _h = conn.execute(
        "SELECT * FROM audit WHERE seq=3").fetchone()
    forged = {"form": "otro"}
    conn.execute("UPDATE audit SET detail=?, hash=? WHERE seq=3",
                 (json.dumps(forged), audit.entry_hash(seq, at, user, action, record_id, forged,
                                                      prev)))
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at) == (False, 4), (
        f"a forger who recomputes one hash would go unnoticed: {result}")


def test_deleted_middle_entry_is_found(tampered):
    tampered.conn.execute("DELETE FROM audit WHERE seq=3")
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at, result.reason) == (False, 3, "missing"), (
        f"removing an entry (say, a deletion) would go unnoticed: {result}")


def test_deleted_last_entry_is_found(tampered):
    last = last_seq(tampered.conn)
    tampered.conn.execute("DELETE FROM audit WHERE seq=?", (last,))
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at, result.reason) == (False, last, "truncated"), (
        f"removing the newest entry would go unnoticed: {result}")


def test_deleting_every_entry_is_found(tampered):
    tampered.conn.execute("DELETE FROM audit")
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at) == (False, 1), (
        f"wiping the whole audit log would pass verification: {result}")


def test_swapped_entries_are_found(tampered):
    conn = tampered.conn
    conn.execute("UPDATE audit SET seq=-2 WHERE seq=2")
    conn.execute("UPDATE audit SET seq=2 WHERE seq=5")
    conn.execute("UPDATE audit SET seq=5 WHERE seq=-2")
    result = tampered.verify_audit()
    assert (result.ok, result.broken_at, result.reason) == (False, 2, "reordered"), (
        f"reordering entries would hide what happened first: {result}")


def test_check_reports_a_broken_chain(tampered):
    tampered.conn.execute("DELETE FROM audit WHERE seq=2")
    report = tampered.check()
    assert not report.ok and ("audit", False) in {(n, ok) for n, ok, _m in report.items}, (
        "the vault check would not warn about a tampered audit log")
