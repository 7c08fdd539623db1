"""Pendientes kept on write (core/records_store.py → due_dates, core/pending.py): a change
arriving by sync updates them like a local one; days passing with no write move an item from
"due soon" to "overdue"; a vault from before the table gets it on migration, and a change in
the forms' due declarations rebuilds it. Everyone here is fictional."""
from __future__ import annotations

import datetime as dt

from conftest import make_intake_values
from cpc_desktop.core import pending, schema
from cpc_desktop.sync import SyncEngine
from sync_support import shelter_of

TODAY = dt.date.today()
ROSA = "Lic. Rosa Ficticia"


def d(days: int, since: dt.date = TODAY) -> str:
    return (since + dt.timedelta(days=days)).isoformat()


def _send(src, dst) -> None:
    """Every batch src made, applied on dst in order (the hub, by hand)."""
    SyncEngine(src).export()
    engine = SyncEngine(dst)
    for shelter, seq, digest, data in src.conn.execute(
            "SELECT shelter, seq, hash, data FROM sync_batches WHERE device=? ORDER BY seq",
            (src.device_id,)).fetchall():
        engine.apply_batch(shelter, src.device_id, f"{seq:08d}-{digest}.cpcb", data)


def _items(vault, today=TODAY, **kw):
    return {(i.internal_code, i.kind, i.state, i.due)
            for i in pending.compute(vault, today, **kw).items
            if i.kind in ("plan_review", "objective_deadline")}


def _resident(vault, code="P-SYNC"):
    rid = vault.add("ficha_ingreso", make_intake_values(
        admission_date=d(-90), internal_code=code, completed_by=ROSA))
    vault.add("consentimiento", {"consent_date": d(-89)}, rid)
    return rid


def test_a_synced_change_updates_pendientes_on_the_other_laptop(tmp_path):
    a, b = shelter_of(tmp_path, 2)
    rid = _resident(a)
    plan = a.add("pti", {"period_start": d(-60), "review_date": d(-3), "completed_by": ROSA,
                         "cp_case_plan": [{"objective": "Objetivo ficticio", "deadline": d(4),
                                           "status": "pending"}]}, rid)
    _send(a, b)
    assert _items(b) == {("P-SYNC", "plan_review", "overdue", d(-3)),
                         ("P-SYNC", "objective_deadline", "soon", d(4))}
    # An edit of the dates on a: b's list follows.
    a.update(plan, {"review_date": d(6)})
    _send(a, b)
    assert ("P-SYNC", "plan_review", "soon", d(6)) in _items(b)
    # A newer plan made on a clears the old plan's dates on b (done_by).
    a.add("pti", {"period_start": d(-1), "review_date": d(120), "completed_by": ROSA}, rid)
    _send(a, b)
    assert _items(b) == set() == _items(a)
    # Both laptops agree on the whole list, resident-wide checks included.
    assert pending.compute(a, TODAY).items == pending.compute(b, TODAY).items


def test_days_passing_move_an_item_from_due_soon_to_overdue_without_a_write(tmp_path):
    (a,) = shelter_of(tmp_path, 1)
    rid = _resident(a)
    a.add("pti", {"period_start": d(-60), "review_date": d(3), "completed_by": ROSA}, rid)
    writes = a.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    assert _items(a) == {("P-SYNC", "plan_review", "soon", d(3))}
    later = TODAY + dt.timedelta(days=5)
    assert _items(a, later) == {("P-SYNC", "plan_review", "overdue", d(3))}
    # Eight days before: not yet within the 7-day window.
    assert _items(a, TODAY - dt.timedelta(days=5)) == set()
    # The no-service check moves too: 29 days without a service is nothing, 31 is overdue.
    a.add("registro_atenciones", {"service_date": d(0), "service_area": "legal",
                                  "professional": ROSA}, rid)
    quiet = {(i.kind, i.state, i.due) for i in pending.compute(
        a, TODAY + dt.timedelta(days=31)).items if i.kind == pending.NO_SERVICE}
    assert quiet == {(pending.NO_SERVICE, pending.OVERDUE, d(30))}
    assert not [i for i in pending.compute(a, TODAY + dt.timedelta(days=29)).items
                if i.kind == pending.NO_SERVICE]
    assert a.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == writes + 1


def test_a_vault_from_before_the_table_gets_it_on_migration(tmp_path):
    (a,) = shelter_of(tmp_path, 1)
    rid = _resident(a)
    a.add("pti", {"period_start": d(-60), "review_date": d(-3), "completed_by": ROSA}, rid)
    expected = pending.compute(a, TODAY).items
    assert expected
    conn = a.conn
    for table in ("due_dates", "attachments", "attachment_chunks"):  # tables of schema 5, 6
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DELETE FROM meta WHERE key=?", (pending.SIGNATURE_KEY,))
    conn.execute("UPDATE meta SET value='4' WHERE key='schema_version'")
    schema.migrate(conn)
    assert pending.compute(a, TODAY).items == expected


def test_changed_due_declarations_rebuild_the_stored_dates(tmp_path, monkeypatch):
    (a,) = shelter_of(tmp_path, 1)
    rid = _resident(a)
    a.add("pti", {"period_start": d(-60), "review_date": d(-3), "completed_by": ROSA}, rid)
    expected = pending.compute(a, TODAY).items
    a.conn.execute("DELETE FROM due_dates")     # stale, as after a program update
    assert pending.compute(a, TODAY).items == [], "the stale table is what is read"
    monkeypatch.setattr(pending, "VERSION", pending.VERSION + "-next")
    assert pending.compute(a, TODAY).items == expected


def test_a_joined_residents_dates_count_under_the_kept_one(tmp_path):
    from cpc_desktop.sync.joins import join_residents

    a, b = shelter_of(tmp_path, 2)
    keep, gone = _resident(a, "P-KEEP"), _resident(a, "P-GONE")
    a.add("pti", {"period_start": d(-60), "review_date": d(-3), "completed_by": ROSA}, keep)
    a.add("pti", {"period_start": d(-30), "review_date": d(2), "completed_by": ROSA}, gone)
    assert _items(a) == {("P-KEEP", "plan_review", "overdue", d(-3)),
                         ("P-GONE", "plan_review", "soon", d(2))}
    join_residents(a, keep, gone)
    # One child: the newer plan (registered under the other code) supersedes the older one.
    assert _items(a) == {("P-KEEP", "plan_review", "soon", d(2))}
    _send(a, b)
    assert _items(b) == _items(a)


def test_the_owner_typed_on_a_record_is_matched_to_a_vault_user():
    from cpc_desktop.core.users import Role, User

    users = [User("rosa.quispe", "Rosa Ficticia Quispe", Role.COORDINATOR, True, ""),
             User("juan", "Juan Ficticio", Role.COORDINATOR, True, ""),
             User("juan2", "Juan Ficticio", Role.COORDINATOR, True, ""),
             User("ida", "Ida Inactiva", Role.COORDINATOR, False, "")]
    user_of = pending.owner_users(users)
    for typed in ("Rosa Ficticia Quispe", "Lic. rosa  ficticia QUISPE", "Psic. Rósa Ficticia "
                  "Quispe", "lic.rosa ficticia quispe", "rosa.quispe"):
        assert user_of(typed) == "rosa.quispe", typed
    assert user_of("Rosa Ficticia") == "", "a part of a name is not the user"
    assert user_of("Juan Ficticio") == "", "two users of that name: neither is assumed"
    assert user_of("Ida Inactiva") == "" and user_of("") == "" and user_of("Otra Persona") == ""
