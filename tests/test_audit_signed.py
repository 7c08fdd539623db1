"""The audit log is signed with the device key and witnessed by other laptops: deleting an entry
and rebuilding the hash chain (which needs no key) no longer passes `check`; an entry rewritten
and re-signed with this laptop's key is still caught by a laptop that saw the old head."""
from __future__ import annotations

import json

import pytest

from cpc_desktop.core import audit


def rebuild_chain(conn, start: int = 1) -> None:
    """What a tamperer with the database key and no signing code does: recompute every hash
    and the head after removing or changing entries (seq renumbered to stay contiguous)."""
    rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    conn.execute("DELETE FROM audit")
    prev = audit.GENESIS
    for n, (_seq, at, user, action, record_id, detail, _prev, _h) in enumerate(rows, start=1):
        h = audit.entry_hash(n, at, user, action, record_id, json.loads(detail), prev)
        conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)",
                     (n, at, user, action, record_id, detail, prev, h))
        prev = h
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('audit_head', ?)", (f"{len(rows)}:{prev}",))


@pytest.fixture(scope="module")
def logged(tmp_path_factory, vault_factory, intake_values, service_values):
    created = vault_factory(tmp_path_factory.mktemp("signed") / "vault")
    v = created.vault
    rid = v.add("ficha_ingreso", intake_values())
    sid = v.add("registro_atenciones", service_values(), rid)
    v.delete(sid)
    v.update(rid, {"risk_level": "low"})
    yield v
    v.lock()


@pytest.fixture
def tampered(logged):
    conn = logged.conn
    conn.execute("BEGIN IMMEDIATE")
    yield logged
    conn.execute("ROLLBACK")
    assert logged.check().ok, "a tamper test leaked into the shared vault"


def test_deleted_entry_with_the_chain_rebuilt_is_found(tampered):
    conn = tampered.conn
    deletion = conn.execute("SELECT seq FROM audit WHERE action='record.delete'").fetchone()[0]
    conn.execute("DELETE FROM audit WHERE seq=?", (deletion,))
    conn.execute("UPDATE audit SET seq=seq-1 WHERE seq>?", (deletion,))
    rebuild_chain(conn)
    report = tampered.check()
    items = {name: (ok, msg) for name, ok, msg in report.items}
    assert not items["audit"][0], (
        "removing the record of a deletion and rebuilding the hashes would pass the check")
    assert tampered.verify_audit().reason == "signature"


def test_rewritten_entry_with_the_chain_rebuilt_is_found(tampered):
    conn = tampered.conn
    conn.execute("UPDATE audit SET user='otra.persona' WHERE action='record.delete'")
    rebuild_chain(conn)
    assert not tampered.verify_audit().ok, "an entry blamed on someone else would pass"


def test_stripping_the_signatures_is_found(tampered):
    tampered.conn.execute("DELETE FROM audit_sig")
    result = tampered.verify_audit()
    assert (result.ok, result.reason) == (False, "unsigned"), result


def test_every_new_entry_is_signed_by_the_device_key(logged):
    result = logged.verify_audit()
    assert result.ok and result.unsigned == 0 and result.checked == len(logged.audit_log())
    signed = logged.conn.execute("SELECT count(*) FROM audit_sig").fetchone()[0]
    assert signed == result.checked


def test_old_unsigned_entries_still_verify_and_are_marked(tmp_path, vault_factory, intake_values):
    """A vault of today's main: entries without signatures, no signing key."""
    created = vault_factory(tmp_path / "v")
    v = created.vault
    v.add("ficha_ingreso", intake_values())
    with v.transaction() as conn:   # make it look like an old vault
        conn.execute("DROP TABLE audit_sig")
        conn.execute("DELETE FROM meta WHERE key IN ('audit_signed_from', 'sync_sign_key')")
    old = len(v.audit_log())   # includes the transaction's own entries, unsigned now
    result = v.verify_audit()
    assert result.ok and result.unsigned == old, result
    v.add("ficha_ingreso", intake_values(name_first="Otra Ficticia"))
    result = v.verify_audit()
    assert result.ok and result.unsigned == old and result.checked == len(v.audit_log()), result
    v.lock()


def test_the_sync_identity_reuses_the_audit_signing_key(vault):
    from cpc_desktop.sync import devices

    before = audit.signing_key(vault.conn).public_key()
    ident = devices.ensure_identity(vault)
    assert ident.sign_pub == audit.public_key_b64(before), (
        "the device would sign its audit log and its batches with two different keys")
    assert vault.verify_audit().ok


# ---------------------------------------------------------------- witnessed by another laptop

@pytest.fixture
def pair(tmp_path, intake_values):
    """Laptop A and laptop B of one shelter, synced once through a folder hub: B has seen
    A's audit head."""
    from cpc_desktop.sync.engine import SyncEngine
    from cpc_desktop.sync.transports import FolderHub
    from sync_support import shelter_of

    a, b = shelter_of(tmp_path / "laptops", 2)
    (tmp_path / "hub").mkdir()
    hub = FolderHub(tmp_path / "hub")
    a.add("ficha_ingreso", intake_values())
    a.add("ficha_ingreso", intake_values(name_first="Otra Ficticia"))
    SyncEngine(a).sync(hub)
    SyncEngine(b).sync(hub)
    yield a, b, hub, lambda v: SyncEngine(v).sync(hub)
    a.lock()
    b.lock()


def resign(conn) -> None:
    """The attacker who also holds A's database key re-signs the rebuilt chain with A's key."""
    key = audit.signing_key(conn)
    conn.execute("DELETE FROM audit_sig")
    for seq, h in conn.execute("SELECT seq, hash FROM audit").fetchall():
        conn.execute("INSERT INTO audit_sig VALUES (?,?)",
                     (seq, audit.crypto.b64(key.sign(audit.SIGN_CONTEXT + h.encode()))))
    conn.execute("UPDATE meta SET value='1' WHERE key='audit_signed_from'")


def test_b_witnesses_a_head_and_both_check_clean(pair):
    a, b, _hub, _sync = pair
    seen = audit.witnessed(b.conn)
    assert (a.shelter_code, a.device_id) in seen, "B did not keep A's audit head"
    n, _h = seen[(a.shelter_code, a.device_id)]
    assert n >= 3
    assert a.check().ok and b.check().ok


def test_entries_removed_and_resigned_on_a_are_caught_by_b(pair, intake_values):
    a, b, _hub, sync = pair
    with a.transaction() as conn:   # removes A's record.add entries, rebuilds and re-signs
        conn.execute("DELETE FROM audit WHERE action='record.add'")
        rebuild_chain(conn)
        resign(conn)
    assert a.verify_audit().ok, "sanity: with A's keys the local chain can be made whole again"
    a.add("ficha_ingreso", intake_values(name_first="Tercera Ficticia"))   # A syncs on as usual
    sync(a)
    sync(b)
    report = b.check()
    items = {name: (ok, msg) for name, ok, msg in report.items}
    assert not items["witness"][0], "B saw A's old log and did not notice it was rewritten"
    assert a.device_id[-8:] in items["witness"][1]
    assert all(ok for name, (ok, _m) in items.items() if name != "witness"), \
        "B's own vault is intact: only the witness item may fail"
    assert not b._damaged, "an alarm about A must not stop B from writing"


def test_a_log_cut_short_is_caught_by_b(pair, intake_values):
    a, b, _hub, sync = pair
    with a.transaction() as conn:
        rows = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
        conn.execute("DELETE FROM audit WHERE seq>2")
        rebuild_chain(conn)
        resign(conn)
    assert rows > 2
    # A only writes through sync now: the next batch carries a head with fewer entries.
    a.add("ficha_ingreso", intake_values(name_first="Cuarta Ficticia"))
    with a.transaction() as conn:
        conn.execute("DELETE FROM audit WHERE seq>2")
        rebuild_chain(conn)
        resign(conn)
    sync(a)
    sync(b)
    alarms = audit.witness_problems(b.conn)
    assert [(x.device, x.kind) for x in alarms] == [(a.device_id, "fewer")], alarms


def test_cli_check_on_b_names_the_other_laptop_and_does_not_advise_restoring(pair, capsys,
                                                                           monkeypatch):
    from cpc_desktop.cli.main import main
    from sync_support import PASS

    a, b, _hub, sync = pair
    with b.transaction() as conn:
        audit.witness(conn, a.shelter_code, a.device_id, {"n": 1, "h": "a" * 64})
    path = b.path
    b.lock()
    monkeypatch.setenv("CPC_USER", "coord")
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_LANG", "es")
    rc = main(["check", "--vault", str(path)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "otro equipo" in err and "restaur" not in err.replace("No restaure", ""), err
    assert "dañad" not in err


def test_malformed_heads_are_ignored(vault):
    with vault.transaction() as conn:
        for bad in ({"n": "3", "h": "0" * 64}, {"n": -1, "h": "0" * 64}, {"n": 2, "h": "x"},
                    {"n": 2, "h": "0" * 64, "p": "zz"}, [], None, {"n": True, "h": "0" * 64}):
            audit.witness(conn, "LOR-01", "dev", bad)
    assert audit.witnessed(vault.conn) == {} and audit.witness_problems(vault.conn) == []


@pytest.mark.parametrize("version", [1, 2])
def test_a_real_old_vault_verifies_its_unsigned_past_and_signs_from_now_on(tmp_path, version,
                                                                           intake_values):
    import shutil
    from pathlib import Path

    from cpc_desktop.core.keyslots import KeySlots
    from cpc_desktop.core.connection import connect as _connect
    from cpc_desktop.core.vault import DB_NAME, SLOTS_NAME, Vault

    path = tmp_path / "vault"
    shutil.copytree(Path(__file__).parent / "data" / f"vault-schema{version}", path)
    conn = _connect(path / DB_NAME, KeySlots.load(path / SLOTS_NAME).unlock_user(
        "coord", "frase de prueba larga"))
    old = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    conn.close()
    assert old > 10
    with Vault.open(path, "coord", "frase de prueba larga") as v:   # migrates: signed entries
        v.add("ficha_ingreso", intake_values())
        result = v.verify_audit()
        assert result.ok and result.unsigned == old, result
        assert result.checked > old
        assert v.check().ok
