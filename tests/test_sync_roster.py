"""Membership attacks, each through the sync API as the adversary would use it: a stolen and
revoked laptop that tries to keep authority over the roster, an intercepted invitation, an
enrolment under someone else's id, a forged batch, a restored backup.

Everyone here is fictional.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from cpc_desktop.core.vault import Vault
from cpc_desktop.sync import FolderHub, InvitationError, SyncEngine, devices, invitations
from cpc_desktop.sync import batch as batchfmt
from cpc_desktop.sync.errors import DeviceError
from sync_support import PASS, approve, invite, join_new, new_vault, snapshot


def _sync(hub, *vaults):
    reports = []
    for v in vaults:
        reports.append(SyncEngine(v).sync(FolderHub(hub)))
    return reports


def _members(v: Vault, shelter: str = "LOR-01") -> dict[str, devices.Member]:
    with v.reading():
        return devices.roster(v.conn, shelter).members


@pytest.fixture
def trio(tmp_path):
    """Founder A (coordinator), B (coordinator device), T (coordinator device, to be stolen)."""
    a = new_vault(tmp_path / "a")
    b = join_new(a, tmp_path / "b")
    t = join_new(a, tmp_path / "t")
    hub = tmp_path / "hub"
    hub.mkdir()
    _sync(hub, a, b, t, a, b)
    yield a, b, t, hub
    for v in (a, b, t):
        v.lock()


def test_revoked_device_cannot_enrol_a_new_identity_nor_rekey(trio, tmp_path, intake_values):
    a, b, t, hub = trio
    devices.revoke(a, t.device_id)
    _sync(hub, a)
    # The thief keeps the laptop offline: it invites an accomplice's laptop, approves it, and
    # publishes a key epoch of its own (by revoking B), then reaches the hub.
    out, code = invite(t, tmp_path)
    accomplice, _r = invitations.join_new_vault(
        tmp_path / "x", invitations.read_invitation(out, code), user="coord",
        passphrase=PASS, kdf_seconds=0)
    approve(t, accomplice, tmp_path)
    devices.revoke(t, b.device_id)
    with t.reading():
        thief_kid = devices.current_key(t.conn, "LOR-01").kid
    accomplice.add("ficha_ingreso", intake_values(name_first="Intrusa Ficticia"))
    _sync(hub, t, accomplice)
    for order in ((b,), (a, b)):
        reports = _sync(hub, *order)
    members = _members(b)
    assert accomplice.device_id not in members, "a revoked laptop enrolled a new identity"
    assert members[b.device_id].cut is None, "a revoked laptop revoked a remaining one"
    assert members[t.device_id].cut is not None
    with b.reading():
        assert devices.current_key(b.conn, "LOR-01").kid != thief_kid, \
            "the others would encrypt the next intakes to a key the thief chose"
    assert "Intrusa Ficticia" not in json.dumps(snapshot(b)["records"])
    assert any(r.device == accomplice.device_id for r in reports[-1].refused)
    # And what B writes now the thief cannot read.
    b.add("ficha_ingreso", intake_values(name_first="Nueva Ficticia"))
    _sync(hub, b, t)
    assert "Nueva Ficticia" not in json.dumps(snapshot(t)["records"])
    accomplice.lock()


@pytest.mark.parametrize("thief_first", [True, False])
def test_revoked_device_cannot_revoke_the_coordinator(trio, thief_first):
    a, b, t, hub = trio
    devices.revoke(a, t.device_id)
    # Offline, the thief had not seen its revocation: it revokes the coordinator's laptop.
    devices.revoke(t, a.device_id)
    first, second = (t, a) if thief_first else (a, t)
    _sync(hub, first, second, b, a, b)
    for v in (a, b):
        m = _members(v)
        assert m[a.device_id].cut is None, "a revoked laptop revoked the coordinator's"
        assert m[t.device_id].cut is not None
    # The thief learns of its revocation, and tries again, now knowingly.
    _sync(hub, t)
    with pytest.raises(DeviceError):
        devices.revoke(t, b.device_id)


def test_the_last_coordinator_device_cannot_be_revoked(tmp_path):
    a = new_vault(tmp_path / "a")
    b = join_new(a, tmp_path / "b", role=devices.MEMBER)
    with pytest.raises(DeviceError, match="equipo de coordinación"):
        devices.revoke(b, a.device_id)       # a member device decides nothing
    with pytest.raises(DeviceError, match="sí mismo"):
        devices.revoke(a, a.device_id)
    # Evaluated from statements alone: a revocation leaving no coordinator does not count.
    with a.reading():
        r = devices.roster(a.conn, "LOR-01")
    assert r.coordinators() == [a.device_id]
    for v in (a, b):
        v.lock()


def test_invitation_file_and_code_give_no_keys_no_roster_no_hub_password(tmp_path):
    a = new_vault(tmp_path / "a")
    SyncEngine(a).export()
    hub = {"url": "https://nube.invalid/dav/", "user": "centro", "password": "clave-ficticia"}
    out, code = invite(a, tmp_path, hub=hub)
    payload = invitations.read_invitation(out, code)
    text = json.dumps(payload)
    with a.reading():
        keys = [k.key for k in devices.shelter_keys(a.conn, "LOR-01")]
        sign = devices._meta(a.conn, "sync_sign_key")
    for secret in [devices.crypto.b64(k) for k in keys] + [sign, "clave-ficticia"]:
        assert secret not in text, "the invitation carries a secret of the shelter"
    assert payload["hub"]["password"] is None
    assert "statements" not in payload and "keys" not in payload
    # Only when the coordinator chooses it.
    out2 = tmp_path / "con-clave.cpci"
    code2 = invitations.create_invitation(a, out2, hub=hub, with_hub_password=True)
    assert invitations.read_invitation(out2, code2)["hub"]["password"] == "clave-ficticia"
    a.lock()


def _request(coordinator: Vault, joiner: Vault, stick) -> invitations.JoinRequest:
    hub = FolderHub(stick)
    stick.mkdir(exist_ok=True)
    invitations.exchange(joiner, hub)
    invitations.exchange(coordinator, hub)
    [req] = [r for r in invitations.list_requests(coordinator)
             if r.device == joiner.device_id]
    return req


def test_invitation_serves_one_device_and_can_be_cancelled(tmp_path):
    a = new_vault(tmp_path / "a")
    out, code = invite(a, tmp_path)
    payload = invitations.read_invitation(out, code)
    first, _r = invitations.join_new_vault(tmp_path / "j1", payload, user="coord",
                                           passphrase=PASS, kdf_seconds=0)
    second, _r = invitations.join_new_vault(tmp_path / "j2", payload, user="coord",
                                            passphrase=PASS, kdf_seconds=0)
    stick = tmp_path / "stick"
    r1, r2 = _request(a, first, stick), _request(a, second, stick)
    assert {r1.state, r2.state} == {"pending"}
    fp1 = invitations.pending_joins(first)[0].fingerprint
    fp2 = invitations.pending_joins(second)[0].fingerprint
    with pytest.raises(InvitationError, match="huella no coincide"):
        invitations.approve_request(a, r2.id, fp1)     # the wrong laptop's fingerprint
    invitations.approve_request(a, r1.id, fp1)
    with pytest.raises(InvitationError, match="ya fue aprobada o rechazada"):
        invitations.approve_request(a, r2.id, fp2)     # reused invitation
    assert [i.state for i in invitations.list_invitations(a)] == ["used"]
    hub = FolderHub(stick)
    invitations.exchange(a, hub)
    invitations.exchange(first, hub)
    notices = invitations.exchange(second, hub)
    assert any("rechazó" in n for n in notices)
    assert not invitations.pending_joins(second)
    assert second.device_id not in _members(a)
    assert first.device_id in _members(first)
    # Cancelled: a request that arrives afterwards cannot be approved.
    out3, code3 = invite(a, tmp_path)
    inv_id = [i.id for i in invitations.list_invitations(a) if i.state == "open"][0]
    invitations.cancel_invitation(a, inv_id)
    third, _r = invitations.join_new_vault(tmp_path / "j3",
                                           invitations.read_invitation(out3, code3),
                                           user="coord", passphrase=PASS, kdf_seconds=0)
    stick3 = tmp_path / "stick3"
    stick3.mkdir()
    invitations.exchange(third, FolderHub(stick3))
    invitations.exchange(a, FolderHub(stick3))
    assert not [r for r in invitations.list_requests(a) if r.device == third.device_id
                and r.state == "pending"]
    for v in (a, first, second, third):
        v.lock()


def test_expired_invitation_is_refused_on_both_sides(tmp_path, monkeypatch):
    a = new_vault(tmp_path / "a")
    out, code = invite(a, tmp_path, hours=1)
    payload = invitations.read_invitation(out, code)
    j, _r = invitations.join_new_vault(tmp_path / "j", payload, user="coord",
                                       passphrase=PASS, kdf_seconds=0)
    req = _request(a, j, tmp_path / "stick")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    monkeypatch.setattr(invitations, "_now", lambda: later)
    with pytest.raises(InvitationError, match="venció"):
        invitations.read_invitation(out, code)
    with pytest.raises(InvitationError, match="venció"):
        invitations.approve_request(a, req.id, invitations.pending_joins(j)[0].fingerprint)
    assert [i.state for i in invitations.list_invitations(a)] == ["expired"]
    for v in (a, j):
        v.lock()


def test_join_request_under_an_existing_id_is_not_even_listed(tmp_path):
    """With the file and its code, an intruder asks to join as the coordinator's laptop."""
    a = new_vault(tmp_path / "a")
    out, code = invite(a, tmp_path)
    payload = invitations.read_invitation(out, code)
    intruder, _r = invitations.join_new_vault(tmp_path / "x", payload, user="coord",
                                              passphrase=PASS, kdf_seconds=0)
    intruder.device_id = a.device_id          # its request claims A's id with its own key
    stick = tmp_path / "stick"
    stick.mkdir()
    invitations.exchange(intruder, FolderHub(stick))
    invitations.exchange(a, FolderHub(stick))
    assert invitations.list_requests(a) == []
    # Even a genuine coordinator's statement enrolling a second key under a taken id does not
    # count anywhere: an id keeps the key it was enrolled with.
    ident = devices.load_identity(intruder)
    with a.reading():
        with a.transaction() as conn:
            me = devices.load_identity(a, conn)
            stmt = devices.sign_statement(me, {
                "kind": "approve", "v": 2, "shelter": "LOR-01", "device": a.device_id,
                "sign_pub": ident.sign_pub, "kx_pub": ident.kx_pub, "role": "coordinator",
                "request": "x", "keys": [], "at": devices.now_iso()})
            devices.store_statement(conn, stmt)
            r = devices.refresh(conn, "LOR-01", me)
    assert r.members[a.device_id].sign_pub == devices.load_identity(a).sign_pub
    for v in (a, intruder):
        v.lock()


def test_forged_batch_under_a_taken_over_id_is_refused_and_the_genuine_one_applies(
        tmp_path, intake_values):
    a = new_vault(tmp_path / "a")
    b = join_new(a, tmp_path / "b")
    rid = a.add("ficha_ingreso", intake_values(risk_level="high"))
    hub = tmp_path / "hub"
    hub.mkdir()
    _sync(hub, a, b)
    # The intruder holds the invitation and its code: no key of the shelter, so it signs and
    # encrypts with its own and files the batch as A's next one.
    out, code = invite(a, tmp_path)
    intruder, _r = invitations.join_new_vault(tmp_path / "x", invitations.read_invitation(
        out, code), user="coord", passphrase=PASS, kdf_seconds=0)
    ident = devices.Identity(a.device_id, devices.load_identity(intruder).sign_key,
                             devices.load_identity(intruder).kx_key)
    seq, prev = SyncEngine(a)._applied("LOR-01", a.device_id)
    fake_key = devices.ShelterKey("LOR-01", 1, "00000000", b"\0" * 32)
    ms = int(dt.datetime.now().timestamp() * 1000) + 1000
    change = [rid, "ficha_ingreso", rid, "risk_level", "low", f"{ms:013d}-0000", [], "coord"]
    data = batchfmt.seal(ident, fake_key, shelter="LOR-01", seq=seq + 1, prev=prev,
                         payload=json.dumps({"v": 1, "c": [change], "s": []}).encode(),
                         codec=batchfmt.DEFAULT_CODEC)
    name = batchfmt.batch_name(seq + 1, batchfmt.sha256(data))
    (hub / "cpc" / "LOR-01" / a.device_id / name).write_bytes(data)
    SyncEngine(b).sync(FolderHub(hub))
    assert b.get(rid).values["risk_level"] == "high", "a forged batch lowered a risk level"
    a.update(rid, {"risk_level": "medium"})
    _sync(hub, a, b)
    assert b.get(rid).values["risk_level"] == "medium", "the genuine batch was refused"
    assert _members(b)[a.device_id].sign_pub == devices.load_identity(a).sign_pub
    for v in (a, b, intruder):
        v.lock()


def test_restore_then_sync_loses_nothing_and_forks_nothing(tmp_path, intake_values):
    a = new_vault(tmp_path / "a")
    b = join_new(a, tmp_path / "b")
    hub = tmp_path / "hub"
    hub.mkdir()
    _sync(hub, a, b)
    backup = a.backup(tmp_path / "copia.cpcbak")
    r1 = a.add("ficha_ingreso", intake_values(name_first="Antes Ficticia"))
    _sync(hub, a)                                # on the hub, not in the backup
    a.lock()
    Vault.restore(backup, tmp_path / "a", "coord", PASS)
    a = Vault.open(tmp_path / "a", "coord", PASS)
    r2 = a.add("ficha_ingreso", intake_values(name_first="Despues Ficticia"))
    report_a = SyncEngine(a).sync(FolderHub(hub))
    report_b = SyncEngine(b).sync(FolderHub(hub))
    assert report_a.ok and report_b.ok, [str(r) for r in report_a.refused + report_b.refused]
    assert any("restaurada" in str(n) for n in report_a.notices)
    for v in (a, b):
        assert {v.get(r1).values["name_first"], v.get(r2).values["name_first"]} == {
            "Antes Ficticia", "Despues Ficticia"}
    SyncEngine(a).sync(FolderHub(hub))
    assert snapshot(a) == snapshot(b)
    for v in (a, b):
        v.lock()


def test_new_device_ids_are_derived_from_their_key(tmp_path):
    a = new_vault(tmp_path / "a")
    ident = devices.load_identity(a)
    assert a.device_id == devices.crypto.device_id_for(devices.crypto.unb64(ident.sign_pub))
    a.lock()


def _copy_legacy(tmp_path):
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "data" / "sync-legacy"
    dest = tmp_path / "legacy"
    shutil.copytree(src, dest)
    return dest


def test_a_shelter_made_by_the_previous_version_keeps_syncing(tmp_path, intake_values):
    """Rule for old rosters: the statements an older version made and this vault held when it
    first ran this version keep counting; the first coordinator device to upgrade starts a new
    key epoch (old invitation files held every key)."""
    base = _copy_legacy(tmp_path)
    a = Vault.open(base / "a", "coord", PASS)
    b = Vault.open(base / "b", "coord", PASS)
    hub = base / "hub"
    with a.reading():
        old_kids = {k.kid for k in devices.shelter_keys(a.conn, "LOR-01")}
    b.add("ficha_ingreso", intake_values(name_first="Nueva Ficticia", internal_code="N-1"))
    reports = _sync(hub, a, b, a, b)
    assert all(r.ok for r in reports), [str(x) for r in reports for x in r.refused]
    assert sorted(r.internal_code for r in a.residents()) == ["LEG-1", "N-1"]
    assert sorted(r.internal_code for r in b.residents()) == ["LEG-1", "N-1"]
    assert set(_members(a)) == set(_members(b)) == {a.device_id, b.device_id}
    with a.reading(), b.reading():
        ka, kb = devices.current_key(a.conn, "LOR-01"), devices.current_key(b.conn, "LOR-01")
    assert ka.kid == kb.kid and ka.kid not in old_kids, \
        "new intakes would be encrypted with a key an old invitation file holds"
    # A new laptop still joins, through the new flow.
    c = join_new(a, tmp_path / "c")
    _sync(hub, c)
    assert sorted(r.internal_code for r in c.residents()) == ["LEG-1", "N-1"]
    for v in (a, b, c):
        v.lock()


def test_an_old_invitation_no_longer_enrols_anyone(tmp_path, intake_values):
    """The intruder kept an unused invitation of the previous version, file and code: it
    enrols a laptop the old way (a statement signed with the invite key) and sends a batch."""
    import json as _json

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    base = _copy_legacy(tmp_path)
    code = (base / "vieja.code").read_text().strip()
    with pytest.raises(InvitationError, match="versión anterior"):
        invitations.read_invitation(base / "vieja.cpci", code)
    raw = (base / "vieja.cpci").read_bytes()
    size = int.from_bytes(raw[5:7], "big")
    header = _json.loads(raw[7:7 + size])
    old = _json.loads(AESGCM(invitations._kek(code, header["kdf"])).decrypt(
        devices.crypto.unb64(header["nonce"]), raw[7 + size:], raw[:7 + size]))
    a = Vault.open(base / "a", "coord", PASS)
    SyncEngine(a).sync(FolderHub(base / "hub"))          # a upgrades first
    x = new_vault(tmp_path / "x")
    ident = devices.load_identity(x)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    invite_key = Ed25519PrivateKey.from_private_bytes(devices.crypto.unb64(old["invite_key"]))
    body = {"kind": "enroll", "shelter": "LOR-01", "device": ident.device,
            "sign_pub": ident.sign_pub, "kx_pub": ident.kx_pub,
            "invite": old["invite"]["body"]["invite"], "at": devices.now_iso()}
    enroll = devices.sign_statement(ident, body, key=invite_key,
                                    by="invite:" + old["invite"]["body"]["invite"])
    key = devices.ShelterKey("LOR-01", old["keys"][-1]["epoch"], old["keys"][-1]["kid"],
                             devices.crypto.unb64(old["keys"][-1]["key"]))
    ms = int(dt.datetime.now().timestamp() * 1000)
    rid = a.residents()[0].id
    change = [rid, "ficha_ingreso", rid, "risk_level", "low", f"{ms:013d}-0000", [], "coord"]
    payload = _json.dumps({"v": 1, "c": [change], "s": old["statements"] + [old["invite"],
                                                                          enroll]}).encode()
    data = batchfmt.seal(ident, key, shelter="LOR-01", seq=1, prev="", payload=payload,
                         codec=batchfmt.DEFAULT_CODEC)
    folder = base / "hub" / "cpc" / "LOR-01" / ident.device
    folder.mkdir(parents=True)
    (folder / batchfmt.batch_name(1, batchfmt.sha256(data))).write_bytes(data)
    report = SyncEngine(a).sync(FolderHub(base / "hub"))
    assert any(r.device == ident.device for r in report.refused)
    assert ident.device not in _members(a)
    assert a.get(rid).values["risk_level"] == "high", "an old invitation let an intruder write"
    for v in (a, x):
        v.lock()


def test_whoever_reads_the_request_off_the_hub_cannot_answer_it_with_a_roster_of_its_own(
        tmp_path):
    """The intruder has the invitation and its code (so the request token) and the hub: it
    answers the new laptop's request with a forged approval — its own genesis, enrolling the
    inviter's public key and the new laptop — to have the new laptop encrypt to its key."""
    from cpc_desktop.core import crypto

    a = new_vault(tmp_path / "a")
    out, code = invite(a, tmp_path)
    payload = invitations.read_invitation(out, code)
    j, _r = invitations.join_new_vault(tmp_path / "j", payload, user="coord",
                                       passphrase=PASS, kdf_seconds=0)
    stick = tmp_path / "stick"
    stick.mkdir()
    invitations.exchange(j, FolderHub(stick))
    [req_file] = list((stick / "cpc" / "_join" / "LOR-01").glob("*.req"))
    body = invitations._open_request(crypto.unb64(payload["token"]), req_file.read_bytes())
    assert body is not None                          # the intruder can read it
    x = new_vault(tmp_path / "x")
    evil = devices.load_identity(x)

    def signed(b):
        return devices.sign_statement(evil, {**b, "v": 2, "shelter": "LOR-01", "at": "t"})

    offer = payload["offer"]
    key = b"\x07" * 32                                # the key the intruder wants used
    kid = devices.key_id(key)
    wrap = devices._wrap_key(body["kx_pub"], {"shelter": "LOR-01", "epoch": 1, "kid": kid}, key)
    stmts = [signed({"kind": "genesis", "device": evil.device, "sign_pub": evil.sign_pub,
                     "kx_pub": evil.kx_pub, "kid": kid}),
             signed({"kind": "approve", "device": offer["inviter"], "role": "coordinator",
                     "sign_pub": offer["inviter_sign_pub"], "kx_pub": evil.kx_pub,
                     "request": "r", "keys": []}),
             signed({"kind": "approve", "device": body["device"], "role": "member",
                     "sign_pub": body["sign_pub"], "kx_pub": body["kx_pub"], "request": "r",
                     "keys": [{"epoch": 1, "kid": kid, "wrap": wrap}]})]
    rid = req_file.name[:-4]
    package = devices.canonical({"shelter": "LOR-01", "statements": stmts, "legacy": []})
    (req_file.parent / f"{rid}.ok").write_bytes(invitations._seal_to(
        body["kx_pub"], package, b"cpc-approval|" + rid.encode()))
    invitations.exchange(j, FolderHub(stick))
    assert invitations.pending_joins(j), "a forged approval was installed"
    with j.reading():
        assert devices.shelter_keys(j.conn, "LOR-01") == []
    for v in (a, j, x):
        v.lock()


def test_join_through_a_webdav_hub_with_the_password_given_apart(tmp_path, intake_values):
    from cpc_desktop.sync import open_hub
    from sync_support import WebDavServer

    server = WebDavServer(tmp_path / "dav")
    try:
        a = new_vault(tmp_path / "a")
        a.add("ficha_ingreso", intake_values(name_first="Rosa Ficticia"))
        hub = {"url": server.url, "user": server.user, "password": server.password}
        SyncEngine(a).save_hub(**hub)
        out, code = invite(a, tmp_path, hub=hub)
        payload = invitations.read_invitation(out, code)
        assert payload["hub"]["url"] == server.url and payload["hub"]["password"] is None
        j, _r = invitations.join_new_vault(tmp_path / "j", payload, user="coord",
                                           passphrase=PASS, kdf_seconds=0)

        def dav():
            return open_hub(server.url, server.user, server.password)

        r = SyncEngine(j).sync(dav())
        assert any("espera" in str(n) for n in r.notices)
        assert not j.residents()
        r = SyncEngine(a).sync(dav())
        assert any("pide unirse" in str(n) for n in r.notices)
        [req] = invitations.list_requests(a)
        invitations.approve_request(a, req.id, invitations.pending_joins(j)[0].fingerprint)
        SyncEngine(a).sync(dav())
        r = SyncEngine(j).sync(dav())
        assert r.ok and any("aprobó" in str(n) for n in r.notices)
        assert [x.name_first for x in j.residents()] == ["Rosa Ficticia"]
        assert _members(j)[j.device_id].role == devices.MEMBER
        j.add("ficha_ingreso", intake_values(name_first="Killa Ficticia"))
        SyncEngine(j).sync(dav())
        assert SyncEngine(a).sync(dav()).ok
        assert sorted(x.name_first for x in a.residents()) == ["Killa Ficticia", "Rosa Ficticia"]
        for v in (a, j):
            v.lock()
    finally:
        server.stop()


def test_a_revoked_laptop_is_told_so_once_and_stops_writing_batches(trio, intake_values):
    a, b, t, hub = trio
    devices.revoke(a, t.device_id)
    b.add("ficha_ingreso", intake_values(name_first="Otra Ficticia"))
    _sync(hub, a, b)
    t.add("ficha_ingreso", intake_values(name_first="Tras Revocar Ficticia"))
    (report,) = _sync(hub, t)
    texts = [str(r) for r in report.refused]
    assert len(texts) == 1, texts
    assert "revocó este equipo" in texts[0] and "llave" not in texts[0]
    # What it wrote stays in its vault, and nothing more goes up that the others would refuse.
    assert "Tras Revocar Ficticia" in json.dumps(snapshot(t)["records"])
    with t._lock:
        mine = t.conn.execute("SELECT count(*) FROM sync_batches WHERE device=?",
                              (t.device_id,)).fetchone()[0]
    (again,) = _sync(hub, t)
    with t._lock:
        assert t.conn.execute("SELECT count(*) FROM sync_batches WHERE device=?",
                              (t.device_id,)).fetchone()[0] == mine
    assert [str(r) for r in again.refused] == texts
