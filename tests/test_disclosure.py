"""The disclosure log: opening, printing, packets and exports leave signed audit entries that a
coordinator lists per resident (`cpc access-log`); others may not read them."""
from __future__ import annotations

import json

import pytest

from cpc_desktop.cli.main import main
from cpc_desktop.core import disclosure
from cpc_desktop.core.errors import PermissionDenied
from cpc_desktop.core.vault import Vault


@pytest.fixture
def cli_vault(tmp_path, vault_factory, intake_values, service_values, monkeypatch, coordinator):
    created = vault_factory(tmp_path / "vault")
    vault = created.vault
    codes = []
    for n in (1, 2):
        rid = vault.add("ficha_ingreso", intake_values(internal_code=f"LOR-01-DL-000{n}"))
        vault.add("registro_atenciones", service_values(note="Atención ficticia."), rid)
        codes.append(f"LOR-01-DL-000{n}")
    vault.lock()
    monkeypatch.setenv("CPC_USER", coordinator.user)
    monkeypatch.setenv("CPC_PASSPHRASE", coordinator.passphrase)
    monkeypatch.setenv("CPC_LANG", "es")
    return created.path, codes


def _log(path, capsys, *extra) -> list[dict]:
    capsys.readouterr()
    assert main(["access-log", "--vault", str(path), *extra, "--json"]) == 0, \
        capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_show_print_packet_and_report_each_leave_an_entry(cli_vault, tmp_path, capsys,
                                                         coordinator):
    path, codes = cli_vault
    assert _log(path, capsys, "--resident", codes[0]) == []
    assert main(["show", "--vault", str(path), codes[0]]) == 0
    assert main(["print", "--vault", str(path), "registro_atenciones", "--resident", codes[0],
                 "--reason", "visita de la fiscalía", "-o", str(tmp_path / "a.pdf")]) == 0
    assert main(["print", "--vault", str(path), "ficha_ingreso", "--blank",
                 "-o", str(tmp_path / "blank.pdf")]) == 0
    assert main(["packet", "--vault", str(path), "--resident", *codes, "--form",
                 "ficha_ingreso", "-o", str(tmp_path / "p.pdf")]) == 0
    assert main(["report", "--vault", str(path), "--from", "01/01/2025", "--to", "31/12/2025",
                 "--format", "csv", "-o", str(tmp_path / "r.zip")]) == 0, capsys.readouterr().err

    first = _log(path, capsys, "--resident", codes[0])
    assert [e["action"] for e in first] == [disclosure.OPEN, disclosure.PDF, disclosure.PACKET]
    assert all(e["user"] == coordinator.user and e["at"] for e in first)
    assert first[1]["form"] == "registro_atenciones"
    assert first[1]["reason"] == "visita de la fiscalía"
    assert first[2]["forms"] == ["ficha_ingreso"] and first[2]["to"] == "pdf"
    # The second resident was only in the packet; the blank form disclosed nobody.
    assert [e["action"] for e in _log(path, capsys, "--resident", codes[1])] == [
        disclosure.PACKET]
    everything = _log(path, capsys)
    assert [e["action"] for e in everything].count(disclosure.REPORT) == 1
    assert len(everything) == 5

    assert main(["access-log", "--vault", str(path), "--resident", codes[0]]) == 0
    text = capsys.readouterr().out
    assert "Abrió el expediente" in text and "motivo: visita de la fiscalía" in text
    assert "Registro de atenciones" in text
    # The entries are part of the signed chain.
    assert main(["audit", "--vault", str(path), "--verify"]) == 0


def test_only_a_coordinator_lists_disclosures(cli_vault, capsys, coordinator):
    path, codes = cli_vault
    with Vault.open(path, coordinator.user, coordinator.passphrase) as vault:
        vault.add_user("super.ficticia", "supervisor", "frase ficticia del supervisor")
    with Vault.open(path, "super.ficticia", "frase ficticia del supervisor") as vault:
        rid = vault.find_resident(codes[0]).id
        # A supervisor's reading is recorded, but the log is not theirs to read.
        assert disclosure.record(vault, disclosure.OPEN, [rid]) == 1
        with pytest.raises(PermissionDenied, match="coordinador"):
            disclosure.entries(vault, rid)
    with Vault.open(path, coordinator.user, coordinator.passphrase) as vault:
        got = disclosure.entries(vault, rid)
    assert [(e.user, e.action) for e in got] == [("super.ficticia", disclosure.OPEN)]
