"""Setting sync up: the schema migration from version 1, invitations and their one-time code,
keys kept inside the vault, and the batch size limit."""
from __future__ import annotations

import json

import pytest

from cpc_desktop.core import vault as vault_mod
from cpc_desktop.core.vault import DB_NAME, SLOTS_NAME, Vault
from cpc_desktop.sync import FolderHub, InvitationError, SyncEngine, invitations
from cpc_desktop.sync import batch as batchfmt
from sync_support import PASS, invite, join_existing, new_vault, shelter_of, snapshot


def test_vault_of_schema_1_migrates_and_syncs_its_old_records(tmp_path):
    """A laptop still on the first version (tests/data/vault-schema1, made by that version)
    updates: the vault migrates and its old records go out in its first batch."""
    import shutil
    from pathlib import Path

    path = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "vault-schema1", path)
    v = Vault.open(path, "coord", "frase de prueba larga")
    try:
        assert v.schema_version == vault_mod.SCHEMA_VERSION
        before = snapshot_records(v)
        hub = tmp_path / "hub"
        hub.mkdir()
        assert SyncEngine(v).sync(FolderHub(hub)).sent_batches >= 1
        assert snapshot_records(v) == before, "syncing changed a record"
        assert not [p for p in hub.rglob("*") if p.is_file() and b"Demo" in p.read_bytes()], (
            "the first batch of a migrated vault would reveal names on the hub")
    finally:
        v.lock()


def snapshot_records(v: Vault):
    return [(r[0], r[1], r[2]) for r in v.conn.execute("SELECT id, data, clocks FROM records")]


def test_invitation_code_catches_typos_and_wrong_codes(tmp_path):
    a = new_vault(tmp_path / "a")
    out, code = invite(a, tmp_path)
    assert len(code.replace("-", "")) == 12
    typo = ("1" if code[0] != "1" else "2") + code[1:]
    with pytest.raises(InvitationError, match="error de escritura"):
        invitations.read_invitation(out, typo)
    other = invitations.new_code()
    with pytest.raises(InvitationError, match="no corresponde"):
        invitations.read_invitation(out, other)
    # Case, spaces and look-alike letters are forgiven.
    payload = invitations.read_invitation(out, " " + code.lower().replace("-", " ") + " ")
    assert payload["offer"]["shelter"] == "LOR-01"
    with pytest.raises(InvitationError, match="no es una invitación"):
        (tmp_path / "junk").write_bytes(b"no soy una invitacion")
        invitations.read_invitation(tmp_path / "junk", code)
    a.lock()


def test_invitation_file_holds_no_readable_secret(tmp_path):
    a = new_vault(tmp_path / "a")
    hub = {"url": "https://nube.invalid/remote.php/dav/files/centro/", "user": "centro",
           "password": "clave-del-hub-ficticia"}
    out, code = invite(a, tmp_path, hub=hub)
    data = out.read_bytes()
    for secret in (b"clave-del-hub-ficticia", b"nube.invalid", b"LOR-01", code.encode()):
        assert secret not in data, "an invitation file readable without its code"
    a.lock()


def test_sync_keys_live_inside_the_encrypted_vault(tmp_path):
    a = new_vault(tmp_path / "a")
    SyncEngine(a).export()
    key = a.conn.execute("SELECT key FROM sync_keys").fetchone()[0]
    sign = a.conn.execute("SELECT value FROM meta WHERE key='sync_sign_key'").fetchone()[0]
    raw = (tmp_path / "a" / DB_NAME).read_bytes() + (tmp_path / "a" / SLOTS_NAME).read_bytes()
    wal = tmp_path / "a" / (DB_NAME + "-wal")
    if wal.exists():
        raw += wal.read_bytes()
    for secret in (key, sign):
        assert secret.encode() not in raw, "a sync key is stored in clear on disk"
    a.lock()


def test_join_adds_a_second_shelter_to_an_existing_vault(tmp_path, intake_values):
    lor = new_vault(tmp_path / "lor", "LOR-01")
    cus = new_vault(tmp_path / "cus", "CUS-01")
    central = new_vault(tmp_path / "central", "CENTRAL")
    for shelter_vault in (lor, cus):
        join_existing(shelter_vault, central, tmp_path)
    lor.add("ficha_ingreso", intake_values(internal_code="L-1"))
    cus.add("ficha_ingreso", intake_values(internal_code="C-1"))
    hub = tmp_path / "hub"
    hub.mkdir()
    for v in (lor, cus, central):
        SyncEngine(v).sync(FolderHub(hub))
    assert sorted(r.internal_code for r in central.residents()) == ["C-1", "L-1"]
    shelters = dict(central.conn.execute("SELECT internal_code, s.shelter FROM residents "
                                         "JOIN records s USING (id)").fetchall())
    assert shelters == {"L-1": "LOR-01", "C-1": "CUS-01"}, \
        "records lost the shelter they belong to"
    for v in (lor, cus, central):
        v.lock()


def test_batches_stay_under_64_kib_and_records_keep_their_ids(tmp_path, intake_values):
    a, b = shelter_of(tmp_path / "v", 2)
    import random

    rng = random.Random(5)
    # Letters at random compress poorly: 150 such notes need several batches.
    notes = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _c in range(1900))
             for _i in range(150)]
    rid = a.add("ficha_ingreso", intake_values())
    ids = [rid] + a.add_many([("registro_atenciones", {
        "service_date": "2024-03-05", "service_area": "legal", "professional": "Ficticia",
        "note": note}, rid) for note in notes])
    hub = tmp_path / "hub"
    hub.mkdir()
    for v in (a, b):
        SyncEngine(v).sync(FolderHub(hub))
    sizes = [p.stat().st_size for p in hub.rglob("*.cpcb")]
    assert len(sizes) > 3 and max(sizes) <= batchfmt.MAX_BATCH_BYTES, \
        "a batch over 64 KiB costs too much on a dropped satellite link"
    for record_id in ids:
        ra, rb = a.get(record_id), b.get(record_id)
        assert (ra.form, ra.resident_id, ra.created_hlc, ra.values) == \
               (rb.form, rb.resident_id, rb.created_hlc, rb.values)
    assert snapshot(a)["residents"] == snapshot(b)["residents"]
    a.lock()
    b.lock()


def test_saved_hub_credentials_are_inside_the_vault(tmp_path):
    a = new_vault(tmp_path / "a")
    SyncEngine(a).save_hub("https://nube.invalid/dav/", "centro", "clave-ficticia-hub")
    assert SyncEngine(a).hub_settings()["password"] == "clave-ficticia-hub"
    files = b"".join(p.read_bytes() for p in (tmp_path / "a").iterdir())
    assert b"clave-ficticia-hub" not in files
    assert json.loads(a.conn.execute("SELECT value FROM meta WHERE key='sync_hub'"
                                     ).fetchone()[0])["user"] == "centro"
    a.lock()


def test_failed_join_leaves_no_half_made_vault(tmp_path):
    a = new_vault(tmp_path / "a")
    out, code = invite(a, tmp_path)
    payload = invitations.read_invitation(out, code)
    payload["token"] = "AAAA"   # damaged: no join request can be sealed with it
    with pytest.raises(Exception):
        invitations.join_new_vault(tmp_path / "b", payload, user="coord", passphrase=PASS,
                                   kdf_seconds=0)
    assert not (tmp_path / "b").exists(), "a failed join left a vault behind"
    a.lock()


def test_hub_password_in_the_address_is_refused(tmp_path, monkeypatch, capsys):
    from cpc_desktop.cli.main import main

    a = new_vault(tmp_path / "a")
    a.lock()
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    rc = main(["sync", "--vault", str(tmp_path / "a"), "--hub",
               "https://centro:secreto@nube.invalid/dav/"])
    assert rc == 1 and ("contraseña del punto de intercambio en la dirección"
                        in capsys.readouterr().err)
