"""Transport limits: https only (http to this machine alone), TLS verified with an optional CA
of a self-hosted server, decompression and downloads bounded, values checked against the
forms, and a full or missing hub folder named as such — leaving no empty file under a batch's
name. The hubs are real WebDAV servers on 127.0.0.1."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import tracemalloc
from pathlib import Path

import pytest

from conftest import make_intake_values
from cpc_desktop.cli.main import main
from cpc_desktop.core import crypto
from cpc_desktop.sync import (FolderHub, HubError, HubFull, HubGarbage, SyncEngine, WebDavHub,
                              devices, open_hub)
from cpc_desktop.sync import batch as batchfmt
from cpc_desktop.sync.changes import encode_payload
from sync_support import PASS, Template, WebDavServer, hub_files, shelter_of, snapshot


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("transport")
    a, b = shelter_of(root / "v", 2)
    hub = root / "hub"
    hub.mkdir()
    a.add("ficha_ingreso", make_intake_values(name_first="Primera Ficticia"))
    for v in (a, b, a, b):
        SyncEngine(v).sync(FolderHub(hub))
    return Template.from_vaults([a, b]), hub


@pytest.fixture
def pair(base, tmp_path):
    template, hub = base
    a, b = template.copy(tmp_path, 2)
    shutil.copytree(hub, tmp_path / "hub")
    yield a, b, tmp_path / "hub"
    a.lock()
    b.lock()


def _text(items) -> str:
    return " | ".join(str(x) for x in items)


# ---------------------------------------------------------------- https only

@pytest.mark.parametrize("url", ["http://hub.example.org/remote.php/dav/files/casa/",
                                 "dav://hub.example.org/cpc/", "http://192.0.2.7/"])
def test_plain_http_to_another_machine_is_refused_before_any_traffic(url):
    with pytest.raises(HubError, match="https://"):
        open_hub(url, "casa", "clave-ficticia")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://localhost:9/",
                                 "http://[::1]:9/"])
def test_plain_http_to_this_machine_is_allowed(url):
    open_hub(url, "casa", "clave-ficticia").close()


def _self_signed(where: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub ficticio")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = where / "hub-cert.pem", where / "hub-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_is_verified_and_a_self_hosted_ca_can_be_given_and_saved(pair, tmp_path,
                                                                    monkeypatch, capsys):
    a, _b, _hub = pair
    cert, key = _self_signed(tmp_path)
    server = WebDavServer(tmp_path / "dav", ssl_cert=cert, ssl_key=key)
    try:
        hub = WebDavHub(server.url, server.user, server.password)
        hub.retries = 1
        with pytest.raises(HubError, match="certificado del punto de intercambio no es"):
            SyncEngine(a).sync(hub)
        assert not hub_files(tmp_path / "dav"), "something was sent to an unverified server"
        report = SyncEngine(a).sync(WebDavHub(server.url, server.user, server.password,
                                              ca_file=cert))
        assert report.ok and report.sent_batches
        # The command line: --hub-ca, saved with --save-hub, then used without it.
        path = a.path
        a.lock()
        monkeypatch.setenv("CPC_PASSPHRASE", PASS)
        monkeypatch.setenv("CPC_USER", "coord")
        monkeypatch.setenv("CPC_LANG", "es")
        monkeypatch.setenv("CPC_HUB_PASSWORD", server.password)
        args = ["sync", "--vault", str(path)]
        assert main(args + ["--hub", server.url, "--user-hub", server.user, "--hub-ca",
                            str(cert), "--save-hub"]) == 0
        capsys.readouterr()
        assert main(args) == 0, capsys.readouterr().err
        assert "Sincronizado" in capsys.readouterr().out
    finally:
        server.stop()


# ---------------------------------------------------------------- bounded inputs

def _forge(a, b, payload_ct: bytes | None = None, payload: bytes | None = None,
           codec: str = "zstd") -> tuple[str, bytes]:
    """The next batch of a, as a's own (hostile or broken) program could write it."""
    ident = devices.load_identity(a)
    key = devices.current_key(a.conn, "LOR-01")
    seq, prev = b.conn.execute("SELECT seq, hash FROM sync_batches WHERE device=? ORDER BY seq "
                               "DESC LIMIT 1", (a.device_id,)).fetchone()
    if payload is not None:
        data = batchfmt.seal(ident, key, shelter="LOR-01", seq=seq + 1, prev=prev,
                             payload=payload)
    else:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        header = batchfmt.Header(batchfmt.FORMAT, "LOR-01", a.device_id, seq + 1, prev,
                                 key.epoch, key.kid, crypto.b64(os.urandom(16)), codec, ())
        hbytes = devices.canonical(header.fields())
        head = batchfmt.MAGIC + bytes([batchfmt.FORMAT]) + len(hbytes).to_bytes(2, "big") + \
            hbytes
        nonce = os.urandom(12)
        signed = head + nonce + AESGCM(batchfmt._batch_key(key, header)).encrypt(
            nonce, payload_ct, head)
        data = signed + ident.sign(signed)
    return batchfmt.batch_name(seq + 1, batchfmt.sha256(data)), data


def _plant(hub: Path, a, name: str, data: bytes) -> None:
    folder = hub / "cpc" / "LOR-01" / a.device_id
    (folder / name).write_bytes(data)
    (folder / batchfmt.HEAD_NAME).unlink()      # so the folder is listed


def _bomb(size: int) -> bytes:
    import zstandard

    c = zstandard.ZstdCompressor(level=3).compressobj()
    zeros = bytes(1 << 20)
    out = b"".join(c.compress(zeros) for _ in range(size >> 20))
    return out + c.flush()


def test_a_decompression_bomb_is_stopped_while_streaming(pair):
    a, b, hub = pair
    bomb = _bomb(512 << 20)          # 512 MiB of zeros in a few KiB
    assert len(bomb) < 64 * 1024
    name, data = _forge(a, b, payload_ct=bomb)
    _plant(hub, a, name, data)
    before = snapshot(b)
    tracemalloc.start()
    try:
        report = SyncEngine(b).sync(FolderHub(hub))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert any("dañado" in str(r) for r in report.refused), _text(report.refused)
    assert peak < 64 << 20, f"decompressing took {peak >> 20} MiB before it was stopped"
    assert snapshot(b) == before


def test_a_huge_file_on_the_hub_is_not_downloaded(pair, tmp_path):
    a, b, hub = pair
    shutil.copytree(hub, tmp_path / "dav")
    server = WebDavServer(tmp_path / "dav")
    try:
        ident_seq = b.conn.execute("SELECT max(seq) FROM sync_batches WHERE device=?",
                                   (a.device_id,)).fetchone()[0]
        huge = os.urandom(5 << 20)
        _plant(tmp_path / "dav", a, batchfmt.batch_name(ident_seq + 1, batchfmt.sha256(huge)),
               huge)
        report = SyncEngine(b).sync(WebDavHub(server.url, server.user, server.password))
        assert any("mucho más grande" in str(r) for r in report.refused), \
            _text(report.refused)
        assert report.bytes_moved < 2 << 20, f"{report.bytes_moved} bytes were downloaded"
    finally:
        server.stop()


def test_incoming_values_are_checked_against_the_forms(pair):
    a, b, hub = pair
    rid = b.conn.execute("SELECT id FROM records WHERE form='ficha_ingreso'").fetchone()[0]
    resident = rid
    stamp = f"{a.clock.wall():013d}-0000"

    def change(fld, value):
        return json.dumps([rid, "ficha_ingreso", resident, fld, value, stamp, [], "coord"])
    name, data = _forge(a, b, payload=encode_payload([change("risk_level", "banana")], []))
    _plant(hub, a, name, data)
    before = snapshot(b)
    report = SyncEngine(b).sync(FolderHub(hub))
    refused = _text(report.refused)
    assert "risk_level" in refused and "banana" not in refused, refused
    assert snapshot(b) == before, "a value no form allows was applied"
    # A field this program's forms do not know (a newer form) is kept as it came.
    (hub / "cpc" / "LOR-01" / a.device_id / name).unlink()
    name, data = _forge(a, b, payload=encode_payload(
        [change("campo_de_un_formulario_nuevo", "valor ficticio")], []))
    _plant(hub, a, name, data)
    report = SyncEngine(b).sync(FolderHub(hub))
    assert report.ok, _text(report.refused)
    assert b.get(rid).values.get("campo_de_un_formulario_nuevo") == "valor ficticio"


# ---------------------------------------------------------------- full and missing hubs

class _Full:
    """rclone serving a full disk: the PUT of a batch leaves an empty file and fails."""

    def __init__(self, root: Path, status: str):
        self.root, self.status, self.on = root, status, True

    def __call__(self, app):
        def wrapped(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if self.on and environ["REQUEST_METHOD"] == "PUT" and path.endswith(".cpcb"):
                target = self.root / path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(b"")
                start_response(self.status, [("Content-Length", "0")])
                return [b""]
            return app(environ, start_response)
        return wrapped


@pytest.mark.parametrize("status", ["507 Insufficient Storage", "405 Method Not Allowed"])
def test_full_hub_says_so_and_leaves_no_empty_batch(pair, tmp_path, status):
    a, b, hub = pair
    root = tmp_path / "dav"
    shutil.copytree(hub, root)
    full = _Full(root, status)
    server = WebDavServer(root, wrap=full)
    try:
        a.add("ficha_ingreso", make_intake_values(name_first="Llena Ficticia"))
        with pytest.raises(HubFull, match="El punto de intercambio está lleno"):
            SyncEngine(a).sync(WebDavHub(server.url, server.user, server.password))
        empty = [p for p in hub_files(root) if p.suffix == ".cpcb" and p.stat().st_size == 0]
        assert not empty, f"an empty file was left under a batch name: {empty}"
        full.on = False      # space was freed
        assert SyncEngine(a).sync(WebDavHub(server.url, server.user, server.password)).ok
        report = SyncEngine(b).sync(WebDavHub(server.url, server.user, server.password))
        assert report.ok, _text(report.refused)
        assert "Llena Ficticia" in {r.name_first for r in b.residents()}
    finally:
        server.stop()


def test_missing_hub_folder_is_named(pair, tmp_path):
    a, _b, _hub = pair
    server = WebDavServer(tmp_path / "dav")
    try:
        with pytest.raises(HubGarbage, match="no existe en el servidor"):
            SyncEngine(a).sync(WebDavHub(server.url + "carpeta-que-no-existe/", server.user,
                                         server.password))
        assert not hub_files(tmp_path / "dav")
    finally:
        server.stop()
