"""`cpc print`, `cpc packet` and `cpc recovery-sheet` as a coordinator types them (run
in-process through cli.main, the same code path as the installed command)."""
from __future__ import annotations

import pytest

from cpc_desktop.cli.main import main
from printing_helpers import need_poppler, pdf_pages, pdf_text


@pytest.fixture(scope="module")
def cli_vault(tmp_path_factory, vault_factory, intake_values, service_values):
    make_intake_values, make_service_values = intake_values, service_values
    need_poppler()
    created = vault_factory(tmp_path_factory.mktemp("pcli") / "vault")
    vault = created.vault
    codes = []
    for n in (1, 2, 3):
        rid = vault.add("ficha_ingreso", make_intake_values(internal_code=f"LOR-01-CL-000{n}"))
        vault.add("registro_atenciones", make_service_values(note=f"Atención{n} ficticia."), rid)
        codes.append(f"LOR-01-CL-000{n}")
    name = vault.shelter_name
    vault.lock()
    return created.path, created.recovery_key, codes, name


@pytest.fixture
def env(monkeypatch, coordinator):
    monkeypatch.setenv("CPC_USER", coordinator.user)
    monkeypatch.setenv("CPC_PASSPHRASE", coordinator.passphrase)
    monkeypatch.setenv("CPC_LANG", "es")


def test_cpc_print_makes_a_bilingual_blank_intake(cli_vault, env, tmp_path, capsys):
    path, _key, _codes, _name = cli_vault
    out = tmp_path / "ficha.pdf"
    assert main(["print", "--vault", str(path), "ficha_ingreso", "--blank", "--lang", "es+qu",
                 "-o", str(out)]) == 0, capsys.readouterr().err
    text = pdf_text(out.read_bytes(), tmp_path, "t.pdf")
    assert "Ficha de ingreso" in text and cli_vault[3] in text
    assert pdf_pages(out.read_bytes(), tmp_path) >= 3


def test_cpc_print_fills_a_residents_form_by_internal_code(cli_vault, env, tmp_path, capsys):
    path, _key, codes, _name = cli_vault
    out = tmp_path / "atenciones.pdf"
    assert main(["print", "--vault", str(path), "registro_atenciones", "--resident", codes[1],
                 "-o", str(out)]) == 0, capsys.readouterr().err
    text = pdf_text(out.read_bytes(), tmp_path, "t.pdf")
    assert codes[1] in text and "Atención2 ficticia." in text
    assert "Atención1" not in text, "only that resident's services"


def test_cpc_packet_for_three_residents(cli_vault, env, tmp_path, capsys):
    path, _key, codes, _name = cli_vault
    out = tmp_path / "paquete.pdf"
    assert main(["packet", "--vault", str(path), "--resident", *codes,
                 "--form", "ficha_ingreso", "registro_atenciones", "--lang", "es+qu",
                 "--prepared-by", "Rosa Ficticia Quispe", "-o", str(out)]) == 0, \
        capsys.readouterr().err
    text = pdf_text(out.read_bytes(), tmp_path, "t.pdf")
    assert "Paquete para visita de supervisión" in text and "Rosa Ficticia Quispe" in text
    assert all(code in text for code in codes)


def test_cpc_packet_lists_attachments_and_prints_the_photo_only_with_photos(
        tmp_path, vault_factory, intake_values, coordinator, monkeypatch, capsys):
    import io

    from PIL import Image
    from pypdf import PdfReader

    from cpc_desktop.core import attachments, disclosure
    from cpc_desktop.core.vault import Vault

    created = vault_factory(tmp_path / "vault")
    rid = created.vault.add("ficha_ingreso", intake_values(internal_code="LOR-01-CL-0009"))
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (20, 120, 60)).save(buf, "JPEG")
    attachments.add(created.vault, rid, buf.getvalue(), kind="foto", filename="cara.jpg",
                    note="Foto ficticia")
    created.vault.lock()
    for var, value in (("CPC_USER", coordinator.user), ("CPC_PASSPHRASE", coordinator.passphrase),
                       ("CPC_LANG", "es")):
        monkeypatch.setenv(var, value)
    for extra, images in (([], 0), (["--photos"], 1)):
        out = tmp_path / f"paquete{len(extra)}.pdf"
        assert main(["packet", "--vault", str(created.path), "--resident", "LOR-01-CL-0009",
                     "--form", "ficha_ingreso", "-o", str(out), *extra]) == 0, \
            capsys.readouterr().err
        reader = PdfReader(out)
        assert sum(len(page.images) for page in reader.pages) == images, extra
        text = " ".join(page.extract_text() for page in reader.pages)
        assert "cara.jpg" in text and "Foto ficticia" in text
    vault = Vault.open(created.path, coordinator.user, coordinator.passphrase)
    packets = [e for e in vault.audit_log(rid) if e.action == disclosure.PACKET]
    assert [bool(e.detail.get("photos")) for e in packets] == [False, True]
    vault.lock()


def test_cpc_print_refuses_an_unknown_form_and_an_unwritable_path(cli_vault, env, tmp_path,
                                                                 capsys):
    path, _key, _codes, _name = cli_vault
    assert main(["print", "--vault", str(path), "ficha_rara", "--blank",
                 "-o", str(tmp_path / "x.pdf")]) == 1
    assert "Formulario desconocido" in capsys.readouterr().err
    assert main(["print", "--vault", str(path), "ficha_ingreso", "--blank",
                 "-o", str(tmp_path / "nope" / "x.pdf")]) == 1
    assert "no existe" in capsys.readouterr().err
    assert main(["print", "--vault", str(path), "ficha_ingreso",
                 "-o", str(tmp_path / "x.pdf")]) == 1, "filled needs a resident or a record"
    assert list(tmp_path.iterdir()) == [], "a refused command leaves no file"


def test_cpc_recovery_sheet_checks_the_key_against_the_vault(cli_vault, tmp_path, capsys,
                                                             monkeypatch):
    path, key, _codes, _name = cli_vault
    monkeypatch.delenv("CPC_PASSPHRASE", raising=False)
    good, wrong = tmp_path / "good.txt", tmp_path / "wrong.txt"
    good.write_text(key.lower() + "\n")
    from cpc_desktop.core import crypto

    wrong.write_text(crypto.new_recovery_key()[1] + "\n")
    out = tmp_path / "clave.pdf"
    assert main(["recovery-sheet", "--vault", str(path), "--recovery-key-file", str(wrong),
                 "-o", str(out)]) == 1
    assert "no corresponde" in capsys.readouterr().err
    assert not out.exists(), "a key of another vault must never be printed as this one's"
    assert main(["recovery-sheet", "--vault", str(path), "--recovery-key-file", str(good),
                 "-o", str(out)]) == 0, capsys.readouterr().err
    text = pdf_text(out.read_bytes(), tmp_path, "t.pdf")
    assert all(group in text for group in key.split("-")) and cli_vault[3] in text
    assert pdf_pages(out.read_bytes(), tmp_path) == 1


def test_print_commands_are_registered():
    from cpc_desktop.cli.main import COMMAND_MODULES, build_parser

    assert "print_cmds" in COMMAND_MODULES
    parser = build_parser()
    args = parser.parse_args(["packet", "--resident", "A", "B", "--resident", "C",
                              "--form", "pti", "-o", "x.pdf"])
    assert args.resident == ["A", "B", "C"], "--resident can be given many times and with many ids"
