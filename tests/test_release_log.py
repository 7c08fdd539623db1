"""The release log's storage and travel (core/release_log.py): parts from another laptop's
batches are reassembled in any order, anything not shaped as this program writes it is
ignored, and a damaged entry does not stop later exports."""
from __future__ import annotations

import base64
import zlib

import pytest

from cpc_desktop.core import release_log
from cpc_desktop.reports import releases

RID = "2026-07-02T10:00:00:0123456789abcdef"


@pytest.fixture
def vault(vault_factory, tmp_path):
    created = vault_factory(tmp_path / "vault")
    yield created.vault
    created.vault.lock()


def _entry(text: str = "x" * 5000) -> str:
    return base64.b64encode(zlib.compress(text.encode())).decode()


def test_parts_arriving_out_of_order_make_one_entry_and_leave_nothing_behind(vault,
                                                                              monkeypatch):
    monkeypatch.setattr(release_log, "PART_CHARS", 16)
    entry = _entry()
    with vault.transaction() as conn:
        release_log.add(conn, RID, entry)
        parts = list(release_log.take_outgoing(conn))
        conn.execute("DELETE FROM meta WHERE key LIKE 'report_release:%'")   # "elsewhere"
    assert len(parts) > 2 and all(p["n"] == len(parts) for p in parts)
    with vault.transaction() as conn:
        for part in reversed(parts[1:]):
            assert release_log.receive(conn, part)
        assert release_log.entries(conn) == [], "an entry is logged only when whole"
        release_log.receive(conn, parts[0])
        assert release_log.entries(conn) == [(RID, entry)]
        left = conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'report_release_part:%'")
        assert left.fetchone()[0] == 0
        assert list(release_log.take_outgoing(conn)) == [], "received entries are not re-sent"


@pytest.mark.parametrize("part", [
    None, "text", [], {"id": RID, "i": 0, "n": 1},
    {"id": "../../etc", "i": 0, "n": 1, "d": "AAAA"},
    {"id": RID, "i": 2, "n": 2, "d": "AAAA"},
    {"id": RID, "i": 0, "n": 10_000, "d": "AAAA"},
    {"id": RID, "i": 0, "n": 1, "d": "not base64 ☃"},
    {"id": RID, "i": 0, "n": 1, "d": "A" * (release_log.PART_CHARS + 1)},
])
def test_a_part_not_shaped_as_this_program_writes_it_is_ignored(vault, part):
    with vault.transaction() as conn:
        assert release_log.receive(conn, part) is False
        assert release_log.entries(conn) == []


def test_a_damaged_entry_from_elsewhere_does_not_stop_the_log(vault):
    with vault.transaction() as conn:
        release_log.receive(conn, {"id": RID, "i": 0, "n": 1, "d": _entry("{not json")})
    assert releases.releases(vault) == []
