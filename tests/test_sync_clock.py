"""Laptops with wrong dates: a year ahead then corrected (nothing lost, nothing stuck), 20 hours
ahead (flagged, the receiver's clock not dragged, the concurrent edit listed), and the sender
told by the hub's own clock before it sends more."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import make_intake_values
from cpc_desktop.core.clock import Stamp
from cpc_desktop.sync import FolderHub, SyncEngine, WebDavHub, conflicts
from cpc_desktop.sync.clockguard import ADOPT_MS
from sync_support import Template, WebDavServer, shelter_of, snapshot

DAY = 24 * 3600 * 1000


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("clock")
    a, b = shelter_of(root / "v", 2)
    hub = root / "hub"
    hub.mkdir()
    rid = b.add("ficha_ingreso", make_intake_values(name_first="Compartida Ficticia"))
    for v in (a, b, a, b):
        SyncEngine(v).sync(FolderHub(hub))
    return Template.from_vaults([a, b]), hub, rid


@pytest.fixture
def pair(base, tmp_path):
    template, hub, rid = base
    a, b = template.copy(tmp_path, 2)
    shutil.copytree(hub, tmp_path / "hub")
    yield a, b, tmp_path / "hub", rid
    a.lock()
    b.lock()


def _sync(v, hub: Path):
    return SyncEngine(v).sync(FolderHub(hub))


def _text(items) -> str:
    return " | ".join(str(x) for x in items)


def _clock_notices(report) -> str:
    return _text(n for n in report.notices if n.kind == "clock")


def _names(v) -> set[str]:
    return {r.name_first for r in v.residents()}


def _not_dragged(v) -> None:
    lead = Stamp.parse(v.clock.last).ms - v.clock.wall()
    assert lead <= ADOPT_MS, f"this laptop's clock was dragged {lead / 3.6e6:.1f} h ahead"


def test_clock_a_year_ahead_is_refused_told_and_flows_once_fixed(pair):
    a, b, hub, rid = pair
    real = a.clock._wall
    a.clock._wall = lambda: real() + 365 * DAY
    year = a.add("ficha_ingreso", make_intake_values(name_first="Reloj Ficticio"))
    _sync(a, hub)
    report = _sync(b, hub)
    refused = _text(report.refused)
    assert "adelantadas 365 días" in refused and a.device_id[-8:] in refused, refused
    assert "Reloj Ficticio" not in _names(b)
    _not_dragged(b)
    _sync(b, hub)            # b's next batch tells a
    report = _sync(a, hub)
    told = _clock_notices(report)
    assert "rechazó cambios de este equipo" in told and b.device_id[-8:] in told, \
        f"the laptop with the wrong date was never told: {_text(report.notices)!r}"
    # The date is corrected; edits made afterwards (one on the refused record) flow, and so
    # does the refused one, stamped again.
    a.clock._wall = real
    later = a.add("ficha_ingreso", make_intake_values(name_first="Despues Ficticia"))
    a.update(year, {"risk_level": "low"})
    report = _sync(a, hub)
    assert "se volvieron a fechar" in _clock_notices(report), _text(report.notices)
    _not_dragged(a)
    report = _sync(b, hub)
    assert report.ok, _text(report.refused)
    assert {"Reloj Ficticio", "Despues Ficticia"} <= _names(b), \
        "edits made after the clock was fixed are stuck behind the refused batch"
    assert b.get(year).values["risk_level"] == "low" and b.get(later)
    _sync(a, hub)
    assert snapshot(a)["records"] == snapshot(b)["records"]


def test_clock_twenty_hours_ahead_is_flagged_not_adopted_and_listed(pair):
    a, b, hub, rid = pair
    b.update(rid, {"risk_level": "medium"})
    _sync(b, hub)
    real = a.clock._wall
    a.clock._wall = lambda: real() + 20 * 3600 * 1000
    a.update(rid, {"risk_level": "low"})        # concurrent with b's edit, 20 h "later"
    _sync(a, hub)
    report = _sync(b, hub)
    flagged = _clock_notices(report)
    assert "20 horas" in flagged and a.device_id[-8:] in flagged, \
        f"a clock 20 h ahead went unflagged: {_text(report.notices)!r}"
    _not_dragged(b)
    assert b.get(rid).values["risk_level"] == "low"
    assert any(c.record_id == rid and c.field == "risk_level" and c.kept_value == "medium"
               for c in conflicts(b)), "the edit the skewed clock beat is not listed"
    # A later edit on b, made after seeing the skewed one, still wins everywhere.
    b.update(rid, {"risk_level": "high"})
    _sync(b, hub)
    _sync(a, hub)
    assert a.get(rid).values["risk_level"] == "high"
    assert b.get(rid).values["risk_level"] == "high"


def test_sender_is_told_by_the_hub_clock_before_it_sends(pair, tmp_path):
    a, _b, _hub, _rid = pair
    server = WebDavServer(tmp_path / "dav")
    try:
        real = a.clock._wall
        a.clock._wall = lambda: real() + 365 * DAY
        report = SyncEngine(a).sync(WebDavHub(server.url, server.user, server.password))
        told = _clock_notices(report)
        assert "adelantadas 365 días respecto al punto de intercambio" in told, \
            _text(report.notices)
    finally:
        server.stop()
