"""Attachments between two laptops of a shelter: over a folder hub and a real WebDAV server,
byte for byte; never in clear on the hub; deduplicated; resumed after an interruption; kept
off a network hub set to "USB only"; a hub cannot swap or alter chunks. Everyone is fictional."""
from __future__ import annotations

import hashlib
import os

import pytest

from cpc_desktop.core import attachments
from cpc_desktop.sync import FolderHub, SyncEngine, WebDavHub, devices
from cpc_desktop.sync import attachments as attach_sync
from cpc_desktop.sync.errors import HubUnreachable
from conftest import make_intake_values
from sync_support import WebDavServer, hub_files, shelter_of
from test_attachments import CANARY, jpeg_with_gps, pdf_bytes


@pytest.fixture(scope="module")
def pair_template(tmp_path_factory):
    from sync_support import Template

    return Template.build(tmp_path_factory.mktemp("att-pair"), 2)


@pytest.fixture
def pair(pair_template, tmp_path):
    a, b = pair_template.copy(tmp_path / "laptops", 2)
    yield a, b
    a.lock()
    b.lock()


@pytest.fixture
def usb(tmp_path):
    """A folder hub's root (a USB stick)."""
    root = tmp_path / "usb"
    root.mkdir()
    return root


def _one_doc(a, kind: str = "otro"):
    rid = a.add(a.forms.intake.form, make_intake_values())
    return rid, attachments.add(a, rid, big_pdf(), kind=kind, filename="doc.pdf")


def big_pdf(n: int = 300_000) -> bytes:
    return pdf_bytes(CANARY + os.urandom(n).hex().encode())     # ~9 chunks, incompressible


def _attach_two(a):
    rid = a.add(a.forms.intake.form, make_intake_values())
    doc = attachments.add(a, rid, big_pdf(), kind="resolucion", filename="res.pdf")
    photo = attachments.add(a, rid, jpeg_with_gps(), kind="foto", filename="foto.jpg")
    return rid, doc, photo


def _same(b, att) -> bool:
    got = attachments.get(b, att.id)
    return got.present and hashlib.sha256(attachments.content(b, att.id)).hexdigest() == att.sha256


def _round_trip(a, b, hub_a, hub_b, hub_root):
    rid, doc, photo = _attach_two(a)
    sent = SyncEngine(a).sync(hub_a)
    assert sent.ok and sent.attachment_chunks_sent == len(
        set(attachments.split(attachments.content(a, doc.id))) | {
            c for c in attachments.split(attachments.content(a, photo.id))})
    got = SyncEngine(b).sync(hub_b)
    assert got.ok and got.attachments_completed == 2 and got.attachments_waiting == 0
    assert _same(b, doc) and _same(b, photo)
    assert {x.id for x in attachments.list_for(b, rid)} == {doc.id, photo.id}
    # Never in clear on the hub, and its file names do not reveal the chunks' hashes.
    files = hub_files(hub_root)
    assert not [f for f in files if CANARY in f.read_bytes()]
    hashes = {attachments.sha256(c) for c in attachments.split(attachments.content(a, doc.id))}
    assert not [f for f in files if any(h in f.name for h in hashes)]
    # Nothing new: nothing sent again (deduplicated), nothing fetched again.
    again = SyncEngine(a).sync(hub_a)
    assert again.attachment_chunks_sent == 0
    assert SyncEngine(b).sync(hub_b).attachment_chunks_received == 0
    # A deletion travels as a tombstone and takes the content with it.
    attachments.remove(b, doc.id)
    SyncEngine(b).sync(hub_b)
    SyncEngine(a).sync(hub_a)
    assert [x.id for x in attachments.list_for(a, rid)] == [photo.id]
    assert a.read("SELECT deleted FROM attachments WHERE id=?", (doc.id,)) == [(1,)]
    return rid


def test_round_trip_over_a_folder_hub(pair, usb):
    a, b = pair
    _round_trip(a, b, FolderHub(usb), FolderHub(usb), usb)


def test_round_trip_over_webdav(pair, tmp_path):
    a, b = pair
    server = WebDavServer(tmp_path / "dav")
    try:
        def hub():
            return WebDavHub(server.url, server.user, server.password)
        _round_trip(a, b, hub(), hub(), tmp_path / "dav")
    finally:
        server.stop()


class _Breaking(FolderHub):
    """A stick pulled out after `after` chunk files were read or written."""

    def __init__(self, root, *, after: int, on: str):
        super().__init__(root)
        self.left, self.on = after, on

    def _tick(self, path: str) -> None:
        if "_att/" in path:
            if self.left == 0:
                raise HubUnreachable("se retiró la memoria USB")
            self.left -= 1

    def _get(self, path):
        if self.on == "get":
            self._tick(path)
        return super()._get(path)

    def _put(self, path, data, *, overwrite):
        if self.on == "put":
            self._tick(path)
        return super()._put(path, data, overwrite=overwrite)


def test_an_interrupted_sync_resumes_mid_attachment_on_both_sides(pair, usb):
    a, b = pair
    root = usb
    _rid, doc = _one_doc(a, "informe_medico")
    n = len(attachments.split(attachments.content(a, doc.id)))
    with pytest.raises(HubUnreachable):
        SyncEngine(a).sync(_Breaking(root, after=3, on="put"))
    assert SyncEngine(a).sync(FolderHub(root)).attachment_chunks_sent == n - 3
    with pytest.raises(HubUnreachable):
        SyncEngine(b).sync(_Breaking(root, after=4, on="get"))
    partial = attachments.get(b, doc.id)
    assert not partial.present
    with pytest.raises(attachments.AttachmentMissing, match="próxima sincronización"):
        attachments.content(b, doc.id)
    done = SyncEngine(b).sync(FolderHub(root))
    assert done.attachment_chunks_received == n - 4 and done.attachments_completed == 1
    assert _same(b, doc)


def test_usb_only_keeps_attachments_off_the_network_hub_and_a_stick_brings_them(
        pair, tmp_path):
    a, b = pair
    for v in (a, b):
        attach_sync.set_policy(v, usb_only=True, max_bytes=None)
    rid, doc, photo = _attach_two(a)
    server = WebDavServer(tmp_path / "dav")
    try:
        def hub():
            return WebDavHub(server.url, server.user, server.password)
        sent = SyncEngine(a).sync(hub())
        got = SyncEngine(b).sync(hub())
    finally:
        server.stop()
    assert sent.attachment_chunks_sent == 0
    assert not [f for f in hub_files(tmp_path / "dav") if "_att" in f.parts]
    # The rows came with the records: listed, waiting, never an error.
    waiting = {x.id: x.present for x in attachments.list_for(b, rid)}
    assert waiting == {doc.id: False, photo.id: False}
    assert got.ok and got.attachments_held_back == 2 and got.attachments_waiting == 2
    assert attachments.thumbnail(b, photo.id) is None
    stick = tmp_path / "stick"
    stick.mkdir()
    SyncEngine(a).sync(FolderHub(stick))
    assert SyncEngine(b).sync(FolderHub(stick)).attachments_completed == 2
    assert _same(b, doc) and _same(b, photo)


def test_a_size_threshold_sends_small_attachments_and_holds_big_ones(pair, tmp_path):
    a, b = pair
    for v in (a, b):
        attach_sync.set_policy(v, usb_only=False, max_bytes=100_000)
    rid, doc, photo = _attach_two(a)
    assert doc.size > 100_000 > photo.size
    server = WebDavServer(tmp_path / "dav")
    try:
        SyncEngine(a).sync(WebDavHub(server.url, server.user, server.password))
        got = SyncEngine(b).sync(WebDavHub(server.url, server.user, server.password))
    finally:
        server.stop()
    assert _same(b, photo) and not attachments.get(b, doc.id).present
    assert got.attachments_held_back == 1


def test_a_hub_cannot_swap_alter_or_forge_chunks(pair, usb, monkeypatch):
    a, b = pair
    root = usb
    _rid, doc = _one_doc(a)
    SyncEngine(a).sync(FolderHub(root))
    chunk_files = sorted(p for p in hub_files(root) if p.suffix == attach_sync.SUFFIX)
    assert len(chunk_files) >= 3
    one, two, three = chunk_files[:3]
    blob_one = one.read_bytes()
    one.write_bytes(two.read_bytes())                       # swapped
    flipped = bytearray(two.read_bytes())
    flipped[-1] ^= 1
    two.write_bytes(bytes(flipped))                          # altered
    # Forged by someone holding the shelter key (a hub never does): right name, wrong bytes.
    with b.reading() as conn:
        key = devices.shelter_keys(conn, b.shelter_code)[-1]
    three.write_bytes(attach_sync.seal_chunk(key, three.name, b"\0" * 100))
    got = SyncEngine(b).sync(FolderHub(root))
    assert got.ok, "bad chunks must not refuse the records"
    assert got.attachments_waiting == 1 and got.attachments_completed == 0
    assert not attachments.get(b, doc.id).present
    stored = {r[0] for r in b.read("SELECT id FROM attachment_chunks")}
    wanted = set(attachments.wanted_chunks(b, b.shelter_code)[0][1])
    assert stored.isdisjoint({hashlib.sha256(b"\0" * 100).hexdigest()})
    # The hub repaired: at its weekly listing the sender uploads again what is missing, and
    # the content completes.
    one.write_bytes(blob_one)
    for p in (two, three):
        p.unlink()
    monkeypatch.setattr(attach_sync, "RELIST_DAYS", -1)
    SyncEngine(a).sync(FolderHub(root))
    SyncEngine(b).sync(FolderHub(root))
    assert wanted and _same(b, doc)


def test_malformed_attachment_rows_refuse_their_batch():
    for bad in ([{"id": "x"}], {"id": "x"}, [dict(_row(), sha256="zz")],
                [dict(_row(), chunks=["0" * 64] * 5)], [dict(_row(), size=-1)]):
        with pytest.raises(ValueError):
            attachments.receive(None, bad, "LOR-01")


def _row() -> dict:
    return {"id": "i", "resident_id": "r", "record_id": None, "kind": "otro",
            "date": "2024-01-01", "note": "", "filename": "a.pdf", "mime": "application/pdf",
            "size": 10, "sha256": "a" * 64, "width": None, "height": None,
            "created_at": "t", "created_by": "u", "chunks": ["b" * 64], "deleted": False,
            "hlc": "h", "deleted_hlc": None}


def test_laptops_joined_just_now_exchange_attachments_too(tmp_path, usb):
    # Not copies of a template: laptops made by invitation in this test.
    a, b = shelter_of(tmp_path / "s", 2)
    _rid, att = _one_doc(a)
    SyncEngine(a).sync(FolderHub(usb))
    SyncEngine(b).sync(FolderHub(usb))
    assert _same(b, att)


def test_cli_sets_usb_only_and_sync_says_what_waits(pair, tmp_path, monkeypatch, capsys):
    from cpc_desktop.cli.main import main
    from sync_support import PASS

    a, b = pair
    _rid, doc = _one_doc(a)
    paths = [a.path, b.path]
    a.lock()
    b.lock()
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    monkeypatch.setenv("CPC_LANG", "es")

    def cli(*args):
        capsys.readouterr()
        rc = main([str(x) for x in args])
        out = capsys.readouterr()
        assert rc == 0, out.err
        return out.out

    for p in paths:
        assert "solo por memoria USB" in cli("sync-attachments", "--vault", p, "--usb-only")
    server = WebDavServer(tmp_path / "dav")
    monkeypatch.setenv("CPC_HUB_PASSWORD", server.password)
    try:
        for p in paths:
            out = cli("sync", "--vault", p, "--hub", server.url, "--user-hub", server.user)
    finally:
        server.stop()
    assert "1 adjunto queda para la memoria USB" in out
    (tmp_path / "usb-cli").mkdir()
    for p in paths:
        out = cli("sync", "--vault", p, "--hub", tmp_path / "usb-cli")
    assert "Adjuntos recibidos completos: 1." in out
    assert "por la red, los de hasta 2.0 MB" in cli("sync-attachments", "--vault", paths[0],
                                                    "--network", "--max-mb", "2")


class _Counting(FolderHub):
    def __init__(self, root):
        super().__init__(root)
        self.att_listings = 0

    def _list(self, folder):
        self.att_listings += "_att" in folder
        return super()._list(folder)


def test_nothing_to_do_costs_no_listing_and_a_wiped_hub_is_refilled_within_a_week(
        pair, usb, monkeypatch):
    import shutil

    a, b = pair
    _rid, doc = _one_doc(a)
    SyncEngine(a).sync(FolderHub(usb))
    SyncEngine(b).sync(FolderHub(usb))
    quiet = _Counting(usb)
    SyncEngine(a).sync(quiet)
    SyncEngine(b).sync(quiet)
    assert quiet.att_listings == 0, "a slow link paid for a listing with nothing to move"
    shutil.rmtree(usb / "cpc" / "_att")         # the hub lost the files
    monkeypatch.setattr(attach_sync, "RELIST_DAYS", -1)     # a week later
    assert SyncEngine(a).sync(FolderHub(usb)).attachment_chunks_sent == len(
        attachments.split(attachments.content(a, doc.id)))
