"""Three shelters' vaults (two shelters and the central office) synced end to end through the
`cpc` command line, over a real WebDAV server with authentication and over a folder hub (a USB
stick), until they converge; the hub never holds a readable record."""
from __future__ import annotations

import json

import pytest

from cpc_desktop.cli.main import main
from sync_support import PASS, WebDavServer, hub_files, snapshot

CANARIES = ("Zorzalina Canariovich", "Quiltramaca Petirrojez", "Nota-canario-7741")


@pytest.fixture
def cli(monkeypatch, capsys):
    monkeypatch.setenv("CPC_PASSPHRASE", PASS)
    monkeypatch.setenv("CPC_USER", "coord")
    monkeypatch.setenv("CPC_LANG", "es")
    monkeypatch.delenv("CPC_HUB_PASSWORD", raising=False)

    def run(*args, code_ok=(0,), env=None):
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        for k in env or {}:
            monkeypatch.delenv(k)
        assert rc in code_ok, f"cpc {' '.join(map(str, args))} failed: {out.err}"
        return out.out, out.err, rc
    return run


def _init(cli, path, shelter, name):
    cli("init", "--vault", path, "--shelter", shelter, "--shelter-name", name, "--user", "coord",
        "--kdf-seconds", "0")


def _add(cli, tmp_path, vault, form, values, resident=None):
    f = tmp_path / "values.json"
    f.write_text(json.dumps(values), encoding="utf-8")
    args = ["add", "--vault", vault, form, "--json", f]
    if resident:
        args += ["--resident", resident]
    out, _err, _rc = cli(*args)
    return out.strip()


def _invite_and_join(cli, tmp_path, inviter, joiner, name):
    """The coordinator invites, the new laptop asks to join through a USB stick in the same
    room, the coordinator approves with the fingerprint read out, the answer goes back."""
    inv = tmp_path / f"{name}.cpci"
    out, _e, _r = cli("invite", "--vault", inviter, "-o", inv, "--expires", "2")
    code = out.strip().splitlines()[-1].strip()
    code_file = tmp_path / f"{name}.code"
    code_file.write_text(code)
    stick = tmp_path / f"{name}-stick"
    stick.mkdir()
    out, _e, _r = cli("join", inv, "--vault", joiner, "--code-file", code_file,
                      "--hub", stick, "--kdf-seconds", "0", env={"CPC_NEW_PASSPHRASE": PASS})
    lines = out.splitlines()
    fingerprint = lines[[i for i, line in enumerate(lines) if "HUELLA" in line][0] + 1].strip()
    cli("sync", "--vault", inviter, "--hub", stick)
    listed = json.loads(cli("devices", "--vault", inviter, "--json")[0])
    [request] = [r for r in listed["requests"] if r["state"] == "pending"]
    cli("devices", "--vault", inviter, "--approve", request["id"], "--fingerprint", fingerprint)
    cli("sync", "--vault", inviter, "--hub", stick)
    cli("sync", "--vault", joiner, "--hub", stick)
    return out


def _open(path):
    from cpc_desktop.core.vault import Vault

    return Vault.open(path, "coord", PASS)


def test_two_shelters_and_central_office_converge_over_webdav_and_a_folder(cli, tmp_path):
    server = WebDavServer(tmp_path / "dav-root")
    hub_pw = tmp_path / "hub-password"
    hub_pw.write_text(server.password + "\n")
    usb = tmp_path / "usb-stick"
    usb.mkdir()
    lor, lor2, cus, central = (tmp_path / n for n in ("lor", "lor2", "cus", "central"))
    try:
        _init(cli, lor, "LOR-01", "Casa Ficticia Loreto")
        _init(cli, cus, "CUS-01", "Casa Ficticia Cusco")
        _init(cli, central, "CENTRAL", "Oficina Central Ficticia")
        out = _invite_and_join(cli, tmp_path, lor, lor2, "lor2")
        assert "LOR-01" in out
        _invite_and_join(cli, tmp_path, lor, central, "central-lor")
        _invite_and_join(cli, tmp_path, cus, central, "central-cus")

        first, last = CANARIES[0].split()
        r_lor = _add(cli, tmp_path, lor, "ficha_ingreso", {
            "admission_date": "2024-02-01", "name_first": first, "name_last": last,
            "sex": "female", "referral_source": "upe", "risk_level": "high",
            "internal_code": "LOR-01-2024-0001"})
        _add(cli, tmp_path, lor, "registro_atenciones", {
            "service_date": "2024-02-03", "service_area": "legal", "professional": "Ficticia",
            "note": CANARIES[2]}, r_lor)
        first, last = CANARIES[1].split()
        _add(cli, tmp_path, cus, "ficha_ingreso", {
            "admission_date": "2024-02-05", "name_first": first, "name_last": last,
            "sex": "female", "referral_source": "fistrap", "risk_level": "medium",
            "internal_code": "CUS-01-2024-0001"})

        dav = ["--hub", server.url, "--user-hub", server.user, "--hub-password-file", hub_pw]
        # A wrong hub password is refused with a message, and nothing is sent.
        bad_pw = tmp_path / "bad"
        bad_pw.write_text("otra-clave")
        _o, err, rc = cli("sync", "--vault", lor, "--hub", server.url, "--user-hub", server.user,
                          "--hub-password-file", bad_pw, code_ok=(1,))
        assert "rechazó el usuario o la contraseña" in err

        for vault in (lor, cus, central, lor2, lor, cus, central):
            cli("sync", "--vault", vault, *dav)
        # The central office sees both shelters; each shelter only its own.
        out, _e, _r = cli("list", "--vault", central, "--json")
        codes = sorted(r["internal_code"] for r in json.loads(out))
        assert codes == ["CUS-01-2024-0001", "LOR-01-2024-0001"], \
            "the central office must receive the residents of every shelter it supervises"
        out, _e, _r = cli("list", "--vault", lor2, "--json")
        assert [r["internal_code"] for r in json.loads(out)] == ["LOR-01-2024-0001"]
        out, _e, _r = cli("list", "--vault", cus, "--json")
        assert [r["internal_code"] for r in json.loads(out)] == ["CUS-01-2024-0001"], \
            "a shelter must never receive another shelter's children"

        # Concurrent edits on two laptops of one shelter, then the review list.
        upd = tmp_path / "upd.json"
        upd.write_text(json.dumps({"risk_level": "low"}))
        cli("update", "--vault", lor, r_lor, "--json", upd)
        upd.write_text(json.dumps({"risk_level": "medium"}))
        cli("update", "--vault", lor2, r_lor, "--json", upd)
        cli("sync", "--vault", lor, *dav)
        out, _e, _r = cli("sync", "--vault", lor2, *dav, "--save-hub")
        assert "Conflictos nuevos: 1" in out
        out, _e, _r = cli("conflicts", "--vault", lor2)
        assert "Nivel de riesgo" in out, "the review list must name the field as the form does"
        assert "Bajo" in out and "Medio" in out, "values must read as the form's labels"
        conflict_id = json.loads(cli("conflicts", "--vault", lor2, "--json")[0])[
            "conflicts"][0]["id"]
        cli("conflicts", "--vault", lor2, "--resolve", conflict_id, "--keep-current")

        # The same vaults then meet through a USB stick: lor2 (hub saved, no --hub needed)
        # and the folder carry the resolution to the central office and on to lor.
        cli("sync", "--vault", lor2)
        cli("sync", "--vault", lor2, "--hub", usb)
        cli("sync", "--vault", central, "--hub", usb)
        cli("sync", "--vault", central, *dav)
        cli("sync", "--vault", lor, *dav)
        cli("sync", "--vault", lor2, *dav)

        out, _e, _r = cli("devices", "--vault", lor)
        assert out.count("LOR-01") == 3, "the roster must list the three LOR-01 devices"

        vaults = {name: _open(p) for name, p in (("lor", lor), ("lor2", lor2),
                                                  ("cus", cus), ("central", central))}
        try:
            s_lor, s_lor2 = snapshot(vaults["lor"]), snapshot(vaults["lor2"])
            assert s_lor == s_lor2, "two laptops of one shelter differ after syncing"
            s_central = snapshot(vaults["central"])
            lor_records = {k: v for k, v in s_central["records"].items() if v[2] == "LOR-01"}
            assert lor_records == s_lor["records"], \
                "the central office's copy of a shelter differs from the shelter's"
            assert vaults["central"].get(r_lor).values["risk_level"] == \
                vaults["lor"].get(r_lor).values["risk_level"]
            assert s_lor["conflicts"] == [] and s_central["conflicts"] == [], \
                "a resolved conflict came back on another device"
        finally:
            for v in vaults.values():
                v.lock()

        # Privacy: nothing readable on either hub.
        files = hub_files(server.root) + hub_files(usb)
        assert any(p.suffix == ".cpcb" for p in files)
        for p in files:
            data = p.read_bytes()
            for canary in CANARIES:
                for word in canary.split():
                    assert word.encode() not in data and word.lower().encode() not in data, \
                        f"a record's text is readable on the hub in {p.name}"
    finally:
        server.stop()
