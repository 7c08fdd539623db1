"""Bad batches and bad hubs: each gets a message that says what happened, applies nothing, and
the next sync picks up cleanly once the hub holds the right files again."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import make_intake_values, make_service_values
from cpc_desktop.core.vault import Vault
from cpc_desktop.sync import (FolderHub, HubFull, HubGarbage, HubUnreachable, SyncEngine,
                              WebDavHub)
from cpc_desktop.sync import batch as batchfmt
from cpc_desktop.sync import devices
from cpc_desktop.sync.changes import encode_payload
from cpc_desktop.sync.devices import Identity, ShelterKey
from sync_support import Template, shelter_of, snapshot


@dataclass
class Base:
    template: Template
    hub: Path
    held: list[tuple[str, bytes]]   # a's last two batches, kept off the hub
    device_a: str


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("refusals")
    a, b, c = shelter_of(root / "v", 3)
    hub = root / "hub"
    hub.mkdir()
    for v in (b, c, a):
        SyncEngine(v).sync(FolderHub(hub))
    rid = a.add("ficha_ingreso", make_intake_values(name_first="Niña Ficticia"))
    SyncEngine(a).sync(FolderHub(hub))
    for v in (b, c):
        SyncEngine(v).sync(FolderHub(hub))
    a.update(rid, {"risk_level": "low"})
    SyncEngine(a).export()
    a.add("registro_atenciones", make_service_values(), rid)
    SyncEngine(a).sync(FolderHub(hub))
    folder = hub / "cpc" / "LOR-01" / a.device_id
    names = sorted(n.name for n in folder.glob("*.cpcb"))[-2:]
    held = [(n, (folder / n).read_bytes()) for n in names]
    for n in names:
        (folder / n).unlink()
    device_a = a.device_id
    return Base(Template.from_vaults([a, b, c]), hub, held, device_a)


@dataclass
class World:
    a: Vault
    b: Vault
    c: Vault
    hub: Path
    held: list[tuple[str, bytes]]

    @property
    def folder(self) -> Path:
        return self.hub / "cpc" / "LOR-01" / self.a.device_id

    def put(self, name: str, data: bytes, device: str | None = None) -> Path:
        folder = self.hub / "cpc" / "LOR-01" / (device or self.a.device_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        return folder / name

    def sync_b(self):
        return SyncEngine(self.b).sync(FolderHub(self.hub))

    def restore_and_check(self, *bad: Path) -> None:
        """The hub gets the right files back: the next sync applies them, as if nothing."""
        for p in bad:
            if p.exists():
                p.unlink()
        for name, data in self.held:
            self.put(name, data)
        report = self.sync_b()
        assert report.ok, [str(r) for r in report.refused]
        assert snapshot(self.b)["records"] == snapshot(self.a)["records"], \
            "after the hub was repaired the laptop did not catch up"


@pytest.fixture
def world(base, tmp_path) -> World:
    a, b, c = base.template.copy(tmp_path, 3)
    hub = tmp_path / "hub"
    shutil.copytree(base.hub, hub)
    w = World(a, b, c, hub, base.held)
    yield w
    for v in (a, b, c):
        v.lock()


def _refused(world: World, bad: list[tuple[str, bytes]] | None = None, device=None,
             expect: str = "") -> None:
    paths = [world.put(n, d, device) for n, d in (bad or [])]
    before = snapshot(world.b)
    report = world.sync_b()
    messages = " | ".join(str(r) for r in report.refused)
    assert report.refused, "a bad batch was accepted without a word"
    assert expect in messages, f"the message does not say what happened: {messages}"
    assert snapshot(world.b) == before, "a refused batch changed the vault"
    world.restore_and_check(*paths)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def _renamed(data: bytes, seq: int) -> tuple[str, bytes]:
    return batchfmt.batch_name(seq, batchfmt.sha256(data)), data


def _seq(name: str) -> int:
    return int(name.split("-")[0])


def test_tampered_batch_is_refused(world):
    name, data = world.held[0]
    _refused(world, [(name, _flip(data, len(data) // 2))], expect="alterado")


def test_tampered_batch_with_a_matching_name_fails_its_signature(world):
    name, data = world.held[0]
    _refused(world, [_renamed(_flip(data, len(data) - 70), _seq(name))],
             expect="firma")


def test_altered_ciphertext_signed_again_cannot_be_decrypted(world):
    name, data = world.held[0]
    ident = devices.load_identity(world.a)
    body = _flip(data, len(data) - 80)[:-batchfmt.SIG_BYTES]
    forged = body + ident.sign(body)
    _refused(world, [_renamed(forged, _seq(name))], expect="descifrar")


def test_truncated_batch_is_refused(world):
    name, data = world.held[0]
    _refused(world, [(name, data[: len(data) // 2])], expect="incompleto")


def test_batch_replayed_in_another_devices_folder_is_refused(world):
    _name, data = world.held[0]
    c = world.c.device_id
    # Next after what the hub holds of c (c's batches carrying only its view may be there
    # and not yet applied here).
    folder = world.hub / "cpc" / "LOR-01" / c
    nxt = max(int(p.name[:8]) for p in folder.glob("*.cpcb")) + 1
    # Whoever planted it also removed c's signed head (which would not lead to it at all).
    (world.hub / "cpc" / "LOR-01" / c / batchfmt.HEAD_NAME).unlink()
    _refused(world, [_renamed(data, nxt)], device=c, expect="fuera de su lugar")


def test_other_batch_under_an_applied_number_is_refused(world):
    ident = devices.load_identity(world.a)
    key = devices.current_key(world.a.conn, "LOR-01")
    forged = batchfmt.seal(ident, key, shelter="LOR-01", seq=1, prev="",
                           payload=encode_payload([], []))
    _refused(world, [_renamed(forged, 1)], expect="repetición")


def test_gap_refuses_later_batches_until_the_missing_one_arrives(world):
    (_n1, _d1), (n2, d2) = world.held
    _refused(world, [(n2, d2)], expect="Falta el paquete de cambios")


def test_batch_signed_by_an_unknown_device_is_refused(world):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    stranger = Identity("01900000-0000-7000-8000-00000000dead", Ed25519PrivateKey.generate(),
                        X25519PrivateKey.generate())
    key = devices.current_key(world.a.conn, "LOR-01")   # even holding the shelter's key
    forged = batchfmt.seal(stranger, key, shelter="LOR-01", seq=1, prev="",
                           payload=encode_payload([], []))
    _refused(world, [_renamed(forged, 1)], device=stranger.device, expect="no figura")


def test_batch_under_an_unknown_key_epoch_is_refused(world):
    name, _data = world.held[0]
    ident = devices.load_identity(world.a)
    prev = world.b.conn.execute("SELECT hash FROM sync_batches WHERE device=? ORDER BY seq "
                                "DESC LIMIT 1", (world.a.device_id,)).fetchone()[0]
    stranger_key = ShelterKey("LOR-01", 9, "0badbeef", os.urandom(32))
    forged = batchfmt.seal(ident, stranger_key, shelter="LOR-01", seq=_seq(name), prev=prev,
                           payload=encode_payload([], []))
    _refused(world, [_renamed(forged, _seq(name))], expect="llave que este equipo no tiene")


def test_batch_of_another_shelter_is_refused(world):
    name, _data = world.held[0]
    ident = devices.load_identity(world.a)
    key = ShelterKey("CUS-01", 1, "00000000", os.urandom(32))
    forged = batchfmt.seal(ident, key, shelter="CUS-01", seq=_seq(name), prev="",
                           payload=encode_payload([], []))
    _refused(world, [_renamed(forged, _seq(name))], expect="otro centro")


def test_batch_of_a_future_format_is_refused(world):
    name, data = world.held[0]
    future = data[:4] + bytes([batchfmt.FORMAT + 1]) + data[5:]
    _refused(world, [_renamed(future, _seq(name))], expect="versión más nueva")


def test_garbage_under_a_batch_name_is_refused(world):
    name, _data = world.held[0]
    junk = os.urandom(3000)
    _refused(world, [_renamed(junk, _seq(name))], expect="no es un paquete de cambios")


def test_changes_from_a_clock_days_ahead_are_refused(world, intake_values):
    real = world.a.clock._wall
    world.a.clock._wall = lambda: real() + 3 * 24 * 3600 * 1000
    world.a.add("ficha_ingreso", intake_values(name_first="Reloj Ficticio"))
    for name, data in world.held:
        world.put(name, data)
    SyncEngine(world.a).sync(FolderHub(world.hub))    # still ahead (test_sync_clock: fixed)
    world.a.clock._wall = real
    before = snapshot(world.b)
    report = world.sync_b()
    assert any("adelantada" in str(r) for r in report.refused), \
        "a laptop with a wrong date would silently win every edit"
    after = snapshot(world.b)
    assert len(after["records"]) == len(snapshot(world.a)["records"]) - 1
    assert before != after  # the batches before the bad one did apply


def test_revoked_device_cannot_send_nor_read_new_batches(world, intake_values):
    a, b, c = world.a, world.b, world.c
    for name, data in world.held:
        world.put(name, data)
    for v in (a, b, c):
        SyncEngine(v).sync(FolderHub(world.hub))
    epoch = devices.revoke(a, c.device_id)
    assert epoch == 2
    SyncEngine(a).sync(FolderHub(world.hub))
    SyncEngine(b).sync(FolderHub(world.hub))
    assert devices.current_key(b.conn, "LOR-01").epoch == 2, \
        "a remaining laptop did not receive the new key"
    # The lost laptop keeps writing; the others refuse what it signs from now on.
    c.add("ficha_ingreso", intake_values(name_first="Robada Ficticia"))
    SyncEngine(c).sync(FolderHub(world.hub))
    before = snapshot(b)
    report = SyncEngine(b).sync(FolderHub(world.hub))
    assert any("revocado" in str(r) for r in report.refused)
    assert snapshot(b) == before
    # And it cannot read what the shelter writes after the revocation.
    a.add("ficha_ingreso", intake_values(name_first="Nueva Ficticia"))
    SyncEngine(a).sync(FolderHub(world.hub))
    report = SyncEngine(c).sync(FolderHub(world.hub))
    assert devices.current_key(c.conn, "LOR-01").epoch == 1
    assert any("revocó este equipo" in str(r) for r in report.refused)
    assert "Nueva Ficticia" not in {r.name_first for r in c.residents()}


# ---------------------------------------------------------------- bad hubs

def test_stick_pulled_mid_write_leaves_no_half_batch(world, monkeypatch, intake_values):
    world.a.add("ficha_ingreso", intake_values())
    before = {p.name for p in world.folder.iterdir()}

    def pulled(*_a, **_k):
        raise OSError(errno.EIO, "I/O error")
    monkeypatch.setattr("cpc_desktop.sync.transports.os.fsync", pulled)
    with pytest.raises(HubUnreachable, match="retiró la memoria USB"):
        SyncEngine(world.a).sync(FolderHub(world.hub))
    monkeypatch.undo()
    after = {p.name for p in world.folder.iterdir()}
    assert after == before, "a half-written batch was left on the stick"
    assert SyncEngine(world.a).status().waiting_batches >= 1, "the unsent batch was lost"
    assert SyncEngine(world.a).sync(FolderHub(world.hub)).sent_batches >= 1


def test_half_batch_left_by_a_stick_is_replaced_by_its_author(world):
    name, data = world.held[0]
    world.put(name, data[:100])       # what a filesystem without a journal may leave
    report = world.sync_b()
    assert any("incompleto" in str(r) for r in report.refused)
    # The next sync of the laptop that made it puts the whole batch back.
    SyncEngine(world.a).sync(FolderHub(world.hub))
    assert (world.folder / name).read_bytes() == data
    world.restore_and_check()


def test_full_stick_says_so_and_loses_nothing(world, monkeypatch, intake_values):
    world.a.add("ficha_ingreso", intake_values())

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("cpc_desktop.sync.transports.os.fsync", full)
    with pytest.raises(HubFull, match="llena"):
        SyncEngine(world.a).sync(FolderHub(world.hub))
    monkeypatch.undo()
    assert not [p for p in world.folder.iterdir() if p.name.startswith(".tmp")]
    assert SyncEngine(world.a).sync(FolderHub(world.hub)).sent_batches >= 1


def test_missing_stick_is_named_clearly(world, tmp_path):
    with pytest.raises(HubUnreachable, match="memoria USB"):
        SyncEngine(world.b).sync(FolderHub(tmp_path / "no-stick"))


class _Nonsense(BaseHTTPRequestHandler):
    def _answer(self):
        body = b"<html>hola, esto no es WebDAV</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_PROPFIND = do_MKCOL = _answer

    def log_message(self, *args):
        pass


def test_hub_answering_garbage_changes_nothing(world):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nonsense)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        before = snapshot(world.b)
        with pytest.raises(HubGarbage):
            SyncEngine(world.b).sync(WebDavHub(f"http://127.0.0.1:{server.server_port}/"))
        assert snapshot(world.b) == before
    finally:
        server.shutdown()
        server.server_close()


def test_silent_hub_times_out(world):
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])   # and never answer
            except OSError:
                continue
    threading.Thread(target=accept, daemon=True).start()
    try:
        hub = WebDavHub(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=0.5,
                        connect_timeout=0.5)
        hub.retries, hub.backoff = 1, 0.05
        before = snapshot(world.b)
        with pytest.raises(HubUnreachable, match="no responde"):
            SyncEngine(world.b).sync(hub)
        assert snapshot(world.b) == before
    finally:
        stop.set()
        listener.close()
        for s in accepted:
            s.close()
