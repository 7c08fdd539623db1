"""A hub that hides things: an older head put back, a device's folder or latest batch deleted,
the coordinator's folder rolled back to before a revocation. Each batch carries its author's
signed view of the heads it has seen, so a laptop served less than another laptop has already
seen says so — in the sync report and in `cpc sync --json`."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import make_intake_values
from cpc_desktop.cli.main import main
from cpc_desktop.core.vault import Vault
from cpc_desktop.sync import FolderHub, SyncEngine, devices
from cpc_desktop.sync import batch as batchfmt
from sync_support import PASS, Template, shelter_of


@dataclass
class World:
    a: Vault       # the coordinator (founded the shelter)
    b: Vault       # the laptop the hub lies to
    c: Vault       # a witness
    d: Vault       # a laptop that gets lost (revoked)
    hub: Path

    def folder(self, v: Vault) -> Path:
        return self.hub / "cpc" / "LOR-01" / v.device_id

    def sync(self, v: Vault):
        return SyncEngine(v).sync(FolderHub(self.hub))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("witness")
    vaults = shelter_of(root / "v", 4)
    hub = root / "hub"
    hub.mkdir()
    for v in vaults + vaults:
        SyncEngine(v).sync(FolderHub(hub))
    return Template.from_vaults(vaults), hub


@pytest.fixture
def world(base, tmp_path):
    template, hub = base
    vaults = template.copy(tmp_path, 4)
    shutil.copytree(hub, tmp_path / "hub")
    w = World(*vaults, tmp_path / "hub")
    yield w
    for v in vaults:
        v.lock()


def _notices(report, kind: str | None = None) -> str:
    return " | ".join(str(n) for n in report.notices if kind is None or n.kind == kind)


def _a_writes_and_c_sees(w: World, name: str = "Testigo Ficticia") -> str:
    rid = w.a.add("ficha_ingreso", make_intake_values(name_first=name))
    w.sync(w.a)
    w.sync(w.c)     # c receives a's batch…
    w.sync(w.c)     # …and its next batch tells the hub's readers what it saw
    return rid


def _names(v: Vault) -> set[str]:
    return {r.name_first for r in v.residents()}


def _assert_withheld(report, w: World) -> None:
    text = _notices(report, "withholding")
    assert "no muestra cambios que otro equipo ya vio" in text, \
        f"the hub hid a laptop's batches and nobody said so: {_notices(report)!r}"
    assert w.a.device_id[-8:] in text, "the notice must name the device whose batches are hidden"
    assert "Testigo" not in text, "a notice must carry no personal data"


def test_an_honest_hub_gives_no_withholding_notice(world):
    w = world
    _a_writes_and_c_sees(w)
    report = w.sync(w.b)
    assert report.ok and not _notices(report, "withholding"), _notices(report)
    assert not _notices(report, "silence"), _notices(report)
    assert "Testigo Ficticia" in _names(w.b)


def test_older_head_put_back_is_noticed_and_the_batch_still_found(world):
    w = world
    old_head = (w.folder(w.a) / batchfmt.HEAD_NAME).read_bytes()
    _a_writes_and_c_sees(w)
    (w.folder(w.a) / batchfmt.HEAD_NAME).write_bytes(old_head)
    report = w.sync(w.b)
    text = _notices(report, "withholding")
    assert w.a.device_id[-8:] in text, f"an older head put back went unnoticed: {text!r}"
    # The folder still had the batch: this laptop found it anyway.
    assert "Testigo Ficticia" in _names(w.b)


@pytest.mark.parametrize("head", ["kept", "rolled back"])
def test_latest_batch_deleted_is_noticed(world, head):
    w = world
    old_head = (w.folder(w.a) / batchfmt.HEAD_NAME).read_bytes()
    _a_writes_and_c_sees(w)
    latest = sorted(w.folder(w.a).glob("*.cpcb"))[-1]
    latest.unlink()
    if head == "rolled back":
        (w.folder(w.a) / batchfmt.HEAD_NAME).write_bytes(old_head)
    report = w.sync(w.b)
    _assert_withheld(report, w)
    assert "Testigo Ficticia" not in _names(w.b)
    # Once the hub holds the batch again (its author puts it back), the notice goes away.
    w.sync(w.a)
    report = w.sync(w.b)
    assert "Testigo Ficticia" in _names(w.b)
    assert not _notices(report, "withholding"), _notices(report)


def test_deleted_device_folder_is_noticed(world):
    w = world
    _a_writes_and_c_sees(w)
    shutil.rmtree(w.folder(w.a))
    report = w.sync(w.b)
    _assert_withheld(report, w)


def test_coordinator_folder_rolled_back_to_hide_a_revocation_is_noticed(world, tmp_path):
    w = world
    before = tmp_path / "a-before"
    shutil.copytree(w.folder(w.a), before)
    devices.revoke(w.a, w.d.device_id)
    w.sync(w.a)
    w.sync(w.c)
    w.sync(w.c)
    # The hub operator puts the coordinator's folder back as it was before the revocation.
    shutil.rmtree(w.folder(w.a))
    shutil.copytree(before, w.folder(w.a))
    report = w.sync(w.b)
    _assert_withheld(report, w)


def _weeks_pass(v: Vault, days: int) -> None:
    """What the vault received was received `days` ago (the clock moved on)."""
    with v._lock, v.transaction() as conn:
        for dev, seq, at in conn.execute("SELECT device, seq, received_at FROM sync_batches"
                                         ).fetchall():
            moved = (dt.datetime.fromisoformat(at) - dt.timedelta(days=days)).isoformat()
            conn.execute("UPDATE sync_batches SET received_at=? WHERE device=? AND seq=?",
                         (moved, dev, seq))


def test_a_frozen_hub_is_named_after_two_weeks_of_silence(world, tmp_path):
    w = world
    # The hub operator serves laptop b a copy frozen today; the others go on working.
    frozen = tmp_path / "frozen"
    shutil.copytree(w.hub, frozen)
    _a_writes_and_c_sees(w)
    report = SyncEngine(w.b).sync(FolderHub(frozen))
    assert not _notices(report), "nothing can be seen yet: a frozen copy is consistent"
    _weeks_pass(w.b, 15)
    report = SyncEngine(w.b).sync(FolderHub(frozen))
    text = _notices(report, "silence")
    assert "Hace 15 días que no llega nada nuevo" in text and "memoria USB" in text, \
        f"a hub frozen for two weeks went unnoticed: {_notices(report)!r}"
    # The honest hub brings the news, and the notice goes away.
    report = w.sync(w.b)
    assert "Testigo Ficticia" in _names(w.b)
    assert not _notices(report, "silence"), _notices(report)


def test_cli_sync_json_carries_the_notices(world, monkeypatch, capsys):
    w = world
    _a_writes_and_c_sees(w)
    shutil.rmtree(w.folder(w.a))
    path = w.b.path
    w.b.lock()
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    monkeypatch.setenv("CPC_LANG", "es")
    capsys.readouterr()
    rc = main(["sync", "--vault", str(path), "--hub", str(w.hub), "--json"])
    out = json.loads(capsys.readouterr().out)
    kinds = {n["kind"] for n in out["notices"]}
    assert "withholding" in kinds, out["notices"]
    notice = next(n for n in out["notices"] if n["kind"] == "withholding")
    assert notice["device"] == w.a.device_id and "no muestra" in notice["message"]
    assert rc == 0, "a hub that hides batches is reported, the sync itself worked"
    w.b = Vault.open(path, "coord", PASS)
