"""Faults: a 64 kbit/s satellite link with 600 ms round trips that drops connections, a sync
process killed with -9 while applying, and a sync cancelled by a person. The vault stays
consistent and the next sync completes."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from conftest import make_intake_values, make_service_values
from cpc_desktop.core.vault import Vault
from cpc_desktop.sync import (Cancelled, CancelToken, FolderHub, HubError, SyncEngine,
                              SyncScheduler, WebDavHub)
from sync_support import PASS, SlowLink, WebDavServer, shelter_of, snapshot


def _sync_until_done(engine: SyncEngine, make_hub, attempts: int = 8):
    """What the background scheduler does: try again after a dropped link."""
    for _i in range(attempts):
        hub = make_hub()
        try:
            report = engine.sync(hub)
            if report.ok:
                return report
        except HubError:
            continue
        finally:
            hub.close()
    raise AssertionError("the sync never completed over the bad link")


def test_sync_over_a_dropping_satellite_link_converges(tmp_path):
    a, b = shelter_of(tmp_path / "v", 2)
    server = WebDavServer(tmp_path / "dav")
    link = SlowLink(server.port, kbit=64, rtt=0.6, cut=0.01, seed=7, force_cut_at=4)
    try:
        # The laptops meet once on a good link (enrollment); then records cross the bad one.
        for v in (a, b, a):
            SyncEngine(v).sync(WebDavHub(server.url, server.user, server.password))
        rid = a.add("ficha_ingreso", make_intake_values())
        a.add("registro_atenciones", make_service_values(), rid)

        def hub():
            h = WebDavHub(link.url, server.user, server.password, timeout=10)
            h.backoff = 0.2
            return h
        _sync_until_done(SyncEngine(a), hub)
        _sync_until_done(SyncEngine(b), hub)
        assert link.cuts >= 1, "the link never dropped: the test proved nothing"
        assert snapshot(b)["records"] == snapshot(a)["records"], \
            "a dropped link lost or garbled part of the shelter's records"
        on_hub = sorted(p.name for p in (tmp_path / "dav").rglob("*") if p.is_file())
        assert not [n for n in on_hub if n.startswith(".")], "partial uploads left on the hub"
    finally:
        link.stop()
        server.stop()
        a.lock()
        b.lock()


def test_kill_9_mid_apply_leaves_a_consistent_vault_and_resync_completes(tmp_path):
    a, b = shelter_of(tmp_path / "v", 2)
    hub = tmp_path / "hub"
    hub.mkdir()
    SyncEngine(b).sync(FolderHub(hub))
    engine = SyncEngine(a)
    rid = a.add("ficha_ingreso", make_intake_values())
    for i in range(40):   # many small batches, so the kill lands among them
        a.add("registro_atenciones", make_service_values(note=f"Nota ficticia {i}"), rid)
        engine.export()
    engine.sync(FolderHub(hub))
    b_path = b.path
    b.lock()
    env = dict(os.environ, CPC_USER="coord", CPC_PASSPHRASE=PASS, CPC_LANG="es")
    proc = subprocess.Popen([sys.executable, "-m", "cpc_desktop.cli", "sync", "--vault",
                             str(b_path), "--hub", str(hub), "--progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _w, _x = select.select([proc.stderr], [], [], 0.5)
            if ready:
                seen += os.read(proc.stderr.fileno(), 65536)
                if b"Recibiendo: 5 de " in seen or b"Recibiendo: 6 de " in seen:
                    break
        assert proc.poll() is None, "the sync ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    b = Vault.open(b_path, "coord", PASS)
    try:
        report = b.check()
        assert report.ok, f"the vault is damaged after kill -9: {report.items}"
        applied = b.conn.execute("SELECT count(*) FROM sync_batches WHERE device=?",
                                 (a.device_id,)).fetchone()[0]
        services = len(b.records(rid, "registro_atenciones"))
        assert 0 < applied < 41 and services < 40, "the kill did not land mid-apply"
        again = SyncEngine(b).sync(FolderHub(hub))
        assert again.ok
        assert snapshot(b)["records"] == snapshot(a)["records"], \
            "after kill -9 the next sync did not complete the vault"
    finally:
        b.lock()
        a.lock()


def test_cancel_stops_at_once_and_the_next_sync_resumes(tmp_path):
    a, b = shelter_of(tmp_path / "v", 2)
    hub = tmp_path / "hub"
    hub.mkdir()
    SyncEngine(b).sync(FolderHub(hub))
    engine = SyncEngine(a)
    rid = a.add("ficha_ingreso", make_intake_values())
    for i in range(6):
        a.add("registro_atenciones", make_service_values(note=f"Nota {i}"), rid)
        engine.export()
    engine.sync(FolderHub(hub))
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if p.phase == "receive" and p.batches_done >= 2:
            token.cancel()
    with pytest.raises(Cancelled, match="cancelada"):
        SyncEngine(b).sync(FolderHub(hub), progress=progress, cancel=token)
    total = a.conn.execute("SELECT count(*) FROM sync_batches WHERE device=?",
                           (a.device_id,)).fetchone()[0]
    assert any(p.bytes_done > 0 for p in seen), "progress never reported bytes"
    assert seen[-1].batches_total == total, "progress did not announce how many batches"
    applied = b.conn.execute("SELECT count(*) FROM sync_batches WHERE device=?",
                             (a.device_id,)).fetchone()[0]
    assert applied == 2, "cancel did not stop the sync promptly"
    report = SyncEngine(b).sync(FolderHub(hub))
    assert report.received_batches == total - applied, "the resumed sync fetched batches again"
    assert snapshot(b)["records"] == snapshot(a)["records"]
    a.lock()
    b.lock()


def test_scheduler_tries_every_few_minutes_backs_off_and_obeys_sync_now():
    now = [1000.0]
    sched = SyncScheduler(has_hub=lambda: True, interval=300, max_backoff=1800,
                          clock=lambda: now[0])
    assert sched.should_run(), "with a hub configured the first try is at once"
    sched.started()
    assert not sched.should_run(), "two syncs must never run at once"
    sched.finished(ok=True)
    now[0] += 299
    assert not sched.should_run()
    now[0] += 2
    assert sched.should_run()
    sched.started()
    sched.finished(ok=False)
    sched.started()
    sched.finished(ok=False)
    now[0] += 301
    assert not sched.should_run(), "after failures it waits longer (the hub is away)"
    sched.request()
    assert sched.should_run(), "'Sync now' must not wait for the backoff"
    ran = []
    assert sched.tick(lambda: ran.append(1)) and ran == [1] and sched.running
    sched.finished(ok=True)
    assert SyncScheduler(has_hub=lambda: False).should_run() is False
