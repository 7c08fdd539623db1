"""What a report reads is kept while the vault does not change (the PDF after the screen view
reads nothing again), and never outlives a write: a kept read must not hide a new child."""
from __future__ import annotations

import datetime as dt

import pytest

from cpc_desktop import demo
from cpc_desktop.core.errors import PermissionDenied
from cpc_desktop.core.users import User
from cpc_desktop.core.vault import Vault
from cpc_desktop.reports import ReportRequest, build_report
from cpc_desktop.reports import compute as report_compute

TODAY = dt.date(2026, 6, 30)
PASS = "frase ficticia de prueba 2024"
SEMESTER = ReportRequest(dt.date(2026, 1, 1), TODAY)


@pytest.fixture
def vault(tmp_path):
    v, _key = Vault.create(tmp_path / "vault", shelter_code="LOR-09",
                           shelter_name="Casa Ficticia Guardada", user="coord", passphrase=PASS,
                           kdf_seconds=0)
    demo.populate(v, residents=20, seed=4, services_per_resident=2, today=TODAY)
    yield v
    v.lock()


@pytest.fixture
def loads(monkeypatch):
    calls = []
    real = report_compute.load

    def counting(*args, **kwargs):
        calls.append(kwargs.get("services_since"))
        return real(*args, **kwargs)

    monkeypatch.setattr(report_compute, "load", counting)
    return calls


def served(report) -> int:
    return report.table("resumen").value("served")


def test_the_export_after_the_screen_view_reads_the_vault_once(vault, loads):
    screen = build_report(vault, SEMESTER, today=TODAY)
    again = build_report(vault, SEMESTER, today=TODAY)
    quarter = build_report(vault, ReportRequest(dt.date(2026, 4, 1), TODAY), today=TODAY)
    assert len(loads) == 1, "the same vault state was read again"
    assert served(again) == served(screen) and served(quarter) <= served(screen)
    # A wider period is not covered by what was read for the semester.
    build_report(vault, ReportRequest(dt.date(2025, 7, 1), TODAY), today=TODAY)
    assert len(loads) == 2


def test_any_write_makes_the_next_report_read_again(vault, loads):
    before = served(build_report(vault, SEMESTER, today=TODAY))
    rid = vault.add("ficha_ingreso", {"admission_date": "2026-03-03", "name_first": "Ficticia",
                                      "name_last": "Recién Llegada", "sex": "female",
                                      "referral_source": "upe", "risk_level": "low"})
    assert served(build_report(vault, SEMESTER, today=TODAY)) == before + 1
    vault.delete(rid)
    assert served(build_report(vault, SEMESTER, today=TODAY)) == before
    assert len(loads) == 3


def test_a_kept_read_still_checks_the_readers_permission(vault):
    build_report(vault, SEMESTER, today=TODAY)
    saved = vault.user
    vault.user = User(saved.name, saved.display_name, saved.role, active=False)
    try:
        with pytest.raises(PermissionDenied):
            build_report(vault, SEMESTER, today=TODAY)
    finally:
        vault.user = saved
