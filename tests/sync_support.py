"""Helpers of the sync tests: shelters of several laptops made through real invitations, fast
copies of them for property tests, and snapshots of what a person would see.

Everyone here is fictional; the canary names exist only to be looked for on the hub.
"""
from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from cpc_desktop.core.keyslots import KeySlots
from cpc_desktop.core.vault import SLOTS_NAME, Vault
from cpc_desktop.sync import FolderHub, devices, invitations

PASS = "frase ficticia de prueba 2024"


def new_vault(path: Path, shelter: str = "LOR-01", user: str = "coord",
              name: str = "Casa de Acogida Ficticia") -> Vault:
    vault, _recovery = Vault.create(path, shelter_code=shelter, shelter_name=name, user=user,
                                    passphrase=PASS, kdf_seconds=0)
    return vault


def invite(inviter: Vault, where: Path, *, hub: dict | None = None, hours: float = 72
           ) -> tuple[Path, str]:
    out = where / f"invitacion-{inviter.shelter_code}-{len(list(where.glob('inv*')))}.cpci"
    code = invitations.create_invitation(inviter, out, hub=hub, hours=hours)
    return out, code


def approve(inviter: Vault, joiner: Vault, where: Path, *,
            role: str = devices.COORDINATOR) -> None:
    """The join request of `joiner` travels to `inviter` through a folder hub (a USB stick
    in the same room), is approved with the fingerprint its person reads out, and the answer
    travels back."""
    hub = FolderHub(where / "join-stick")
    hub.root.mkdir(parents=True, exist_ok=True)
    invitations.exchange(joiner, hub)
    invitations.exchange(inviter, hub)
    for pending in invitations.pending_joins(joiner):
        invitations.approve_request(inviter, pending.request, pending.fingerprint, role=role)
    invitations.exchange(inviter, hub)
    invitations.exchange(joiner, hub)
    assert not invitations.pending_joins(joiner), "the approval did not reach the new device"


def join_new(inviter: Vault, path: Path, *, user: str = "coord", hub: dict | None = None,
             role: str = devices.COORDINATOR) -> Vault:
    out, code = invite(inviter, path.parent, hub=hub)
    payload = invitations.read_invitation(out, code)
    vault, _recovery = invitations.join_new_vault(path, payload, user=user, passphrase=PASS,
                                                  kdf_seconds=0)
    approve(inviter, vault, path.parent, role=role)
    return vault


def join_existing(inviter: Vault, vault: Vault, where: Path) -> str:
    out, code = invite(inviter, where)
    pending = invitations.join(vault, invitations.read_invitation(out, code))
    approve(inviter, vault, where)
    return pending.shelter


def shelter_of(base: Path, n: int, shelter: str = "LOR-01") -> list[Vault]:
    """n laptops of one shelter: the founder and n-1 joined by invitation."""
    base.mkdir(parents=True, exist_ok=True)
    founder = new_vault(base / "v0", shelter)
    return [founder] + [join_new(founder, base / f"v{i}") for i in range(1, n)]


@dataclass
class Template:
    """Locked vaults and their raw keys: copied and opened without Argon2id per example."""
    paths: list[Path]
    keys: list[bytes]
    user: str = "coord"

    @classmethod
    def build(cls, base: Path, n: int) -> "Template":
        return cls.from_vaults(shelter_of(base, n))

    @classmethod
    def from_vaults(cls, vaults: list[Vault]) -> "Template":
        paths = [v.path for v in vaults]
        for v in vaults:
            v.lock()
        keys = [KeySlots.load(p / SLOTS_NAME).unlock_user("coord", PASS) for p in paths]
        return cls(paths, keys)

    def copy(self, dest: Path, n: int) -> list[Vault]:
        out = []
        for i in range(n):
            target = dest / f"r{i}"
            shutil.copytree(self.paths[i], target)
            out.append(Vault._open_with_key(target, KeySlots.load(target / SLOTS_NAME),
                                            self.keys[i], self.user))
        return out


def snapshot(vault: Vault) -> dict:
    """What must be identical on converged laptops: every record (values, deletion, clocks),
    the resident list and search rows, and the open conflicts."""
    conn = vault.conn
    records = {r[0]: (r[1], r[2], r[3], json.loads(r[4]), bool(r[5]), json.loads(r[6]), r[7])
               for r in conn.execute("SELECT id, form, resident_id, shelter, data, deleted, "
                                     "clocks, created_hlc FROM records")}
    residents = sorted(tuple(r) for r in conn.execute(
        "SELECT id, internal_code, name_first, name_last, name_nickname, sex, date_of_birth, "
        "age, admission_date, risk_level, status, discharge_date, last_service, deleted, "
        "search_text FROM residents"))
    conflicts = sorted(conn.execute("SELECT record_id, field, hlc, value FROM sync_conflicts "
                                    "WHERE open=1").fetchall())
    return {"records": records, "residents": residents, "conflicts": conflicts}


def hub_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


# ---------------------------------------------------------------- a real WebDAV server

class WebDavServer:
    """wsgidav on 127.0.0.1 (random port) with basic authentication, serving `root`."""

    def __init__(self, root: Path, user: str = "hub", password: str = "clave-ficticia-del-hub",
                 *, wrap=None, ssl_cert: Path | None = None, ssl_key: Path | None = None):
        from cheroot import wsgi
        from wsgidav.wsgidav_app import WsgiDAVApp

        self.root, self.user, self.password = Path(root), user, password
        self.root.mkdir(parents=True, exist_ok=True)
        config = {
            "provider_mapping": {"/": str(self.root)},
            "http_authenticator": {"domain_controller": None, "accept_basic": True,
                                   "accept_digest": False, "default_to_digest": False,
                                   "trusted_auth_header": None},
            "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
            "verbose": 0,
            "logging": {"enable": False, "enable_loggers": []},
            "property_manager": True,
            "lock_storage": True,
        }
        app = WsgiDAVApp(config)
        self.server = wsgi.Server(("127.0.0.1", 0), wrap(app) if wrap else app, numthreads=8)
        self.scheme = "http"
        if ssl_cert:
            from cheroot.ssl.builtin import BuiltinSSLAdapter

            self.server.ssl_adapter = BuiltinSSLAdapter(str(ssl_cert), str(ssl_key))
            self.scheme = "https"
        self.server.prepare()
        self.port = self.server.bind_addr[1]
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------- a bad link

class SlowLink:
    """A loopback TCP proxy that behaves like a satellite link: `kbit` kbit/s each way,
    `rtt` seconds of round trip, each chunk may cut the connection (probability `cut`) or be
    "lost" (probability `loss`: it and what follows wait one more round trip, as a TCP
    retransmission would)."""

    def __init__(self, upstream_port: int, *, kbit: float = 64, rtt: float = 0.6,
                 cut: float = 0.0, seed: int = 1, force_cut_at: int | None = None,
                 loss: float = 0.0):
        import random
        import socket

        self.upstream = ("127.0.0.1", upstream_port)
        self.bytes_per_s = kbit * 1000 / 8
        self.delay = rtt / 2
        self.cut = cut
        self.loss = loss
        self.rng = random.Random(seed)
        self.cuts = 0
        self.bytes = 0
        self.chunks = 0
        self.force_cut_at = force_cut_at   # the n-th chunk cuts, so a test always sees one
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.sockets: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _accept(self) -> None:
        import socket

        while not self.stopped.is_set():
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            self.sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(src, dst, client, server),
                                 daemon=True).start()

    def _pipe(self, src, dst, a, b) -> None:
        import queue
        import time

        q: queue.Queue = queue.Queue()

        def writer():
            while True:
                item = q.get()
                if item is None:
                    break
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    dst.sendall(data)
                except OSError:
                    break
                self.bytes += len(data)
                time.sleep(len(data) / self.bytes_per_s)   # the link's bandwidth
            _kill(a, b)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        while not self.stopped.is_set():
            try:
                data = src.recv(1024)
            except OSError:
                break
            if not data:
                break
            self.chunks += 1
            if self.chunks == self.force_cut_at or (self.cut and self.rng.random() < self.cut):
                self.cuts += 1   # the link drops: both ends see the connection die
                _kill(a, b)
                break
            extra = self.delay * 2 if self.loss and self.rng.random() < self.loss else 0.0
            q.put((time.monotonic() + self.delay + extra, data))
        q.put(None)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        _kill(*self.sockets)


def _kill(*socks) -> None:
    """shutdown() first: close() alone does not wake a thread blocked in recv on Linux, and
    the peer would wait for its timeout instead of seeing the link drop."""
    import socket

    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


def sync_rounds(hub, *vaults) -> None:
    """Each laptop syncs with the hub, twice round (the second round brings the answers)."""
    from cpc_desktop.sync.engine import SyncEngine

    for v in (*vaults, *vaults):
        SyncEngine(v).sync(hub)
