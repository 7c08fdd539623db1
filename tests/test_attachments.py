"""Attachments in one vault: import checks, photos made sensible, nothing half-stored, nothing in
clear on disk, backups, re-keying, `cpc check` and the command line. Everyone is fictional."""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from cpc_desktop.cli.main import main
from cpc_desktop.core import attachments, disclosure, i18n, rekey
from cpc_desktop.core.errors import NotFound, PermissionDenied
from cpc_desktop.core.vault import Vault
from conftest import COORDINATOR, make_intake_values

CANARY = b"Canario-Adjunto-Zorzalina-7741"
GPS_IFD = 0x8825


def pdf_bytes(extra: bytes = CANARY) -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + extra +
            b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def jpeg_with_gps(size=(3000, 2000), comment: bytes = b"") -> bytes:
    im = Image.new("RGB", size, (180, 40, 40))
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "S", 2: (12.0, 3.0, 0.0), 3: "W", 4: (77.0, 2.0, 0.0)}
    exif[0x010F] = "Camara Ficticia"
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, comment=comment)
    return out.getvalue()


def png_bytes(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def resident(vault) -> str:
    return vault.add(vault.forms.intake.form, make_intake_values())


def stored_counts(vault) -> tuple[int, int]:
    return (vault.read("SELECT count(*) FROM attachments")[0][0],
            vault.read("SELECT count(*) FROM attachment_chunks")[0][0])


def test_a_pdf_comes_back_byte_for_byte_and_is_listed(vault, resident):
    data = pdf_bytes(os.urandom(200_000).hex().encode())      # several chunks
    att = attachments.add(vault, resident, data, kind="resolucion", filename="res.pdf",
                          note="oficio", date="2024-05-02")
    assert att.mime == "application/pdf" and att.size == len(data) and att.present
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert attachments.content(vault, att.id) == data
    assert stored_counts(vault) == (1, -(-len(data) // attachments.CHUNK_BYTES))
    assert [a.id for a in attachments.list_for(vault, resident)] == [att.id]
    assert attachments.thumbnail(vault, att.id) is None
    assert attachments.photo_of(vault, resident) is None


def test_photos_are_downscaled_and_lose_their_exif_gps_unless_the_original_is_kept(
        vault, resident):
    original = jpeg_with_gps()
    assert GPS_IFD in Image.open(io.BytesIO(original)).getexif()
    att = attachments.add(vault, resident, original, kind="foto", filename="f.JPG")
    stored = Image.open(io.BytesIO(attachments.content(vault, att.id)))
    assert max(stored.size) == attachments.PHOTO_LONG_SIDE == max(att.width, att.height)
    assert not stored.getexif(), "the stored photo still carries EXIF"
    assert b"Exif" not in attachments.content(vault, att.id)
    kept = attachments.add(vault, resident, original, kind="foto", filename="f.jpg",
                           keep_original=True)
    assert attachments.content(vault, kept.id) == original
    assert attachments.photo_of(vault, resident).id in (att.id, kept.id)
    thumb = Image.open(io.BytesIO(attachments.thumbnail(vault, att.id, 128)))
    assert thumb.format == "PNG" and max(thumb.size) == 128


def test_the_same_bytes_twice_share_their_chunks_and_removing_one_keeps_the_other(
        vault, resident):
    data = pdf_bytes()
    one = attachments.add(vault, resident, data, kind="otro", filename="a.pdf")
    two = attachments.add(vault, resident, data, kind="otro", filename="b.pdf")
    assert stored_counts(vault) == (2, 1)
    attachments.remove(vault, one.id)
    assert attachments.content(vault, two.id) == data
    attachments.remove(vault, two.id)
    assert stored_counts(vault) == (2, 0), "a removed attachment's content stays in the vault"
    assert attachments.list_for(vault, resident) == []
    with pytest.raises(NotFound):
        attachments.content(vault, two.id)


def pixel_bomb() -> bytes:
    """A PNG whose header claims 40000 x 40000 pixels (1.6 gigapixels): a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


CAUSES = {"name_lies": "no es lo que su nombre dice", "not_supported": "Solo se pueden adjuntar",
          "heic": "HEIC", "corrupt_jpeg": "JPEG está dañado", "corrupt_png": "PNG está dañado",
          "corrupt_pdf": "PDF está dañado", "empty": "vacío", "pixel_bomb": "demasiados píxeles",
          "a_folder": "es una carpeta"}


def _bad_inputs(tmp_path: Path):
    truncated = jpeg_with_gps((800, 600))
    yield "name_lies", jpeg_with_gps((50, 40)), "escaneo.pdf"
    yield "not_supported", b"hola, soy un texto\n" * 10, "nota.txt"
    yield "heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64, "IMG_0001.HEIC"
    yield "corrupt_jpeg", truncated[: len(truncated) // 2], "foto.jpg"
    yield "corrupt_png", png_bytes()[:60], "foto.png"
    yield "corrupt_pdf", pdf_bytes()[:-8], "doc.pdf"
    yield "empty", b"", "vacio.pdf"
    yield "pixel_bomb", pixel_bomb(), "foto.png"
    yield "a_folder", None, "carpeta.pdf"


@pytest.mark.parametrize("case", [c[0] for c in _bad_inputs(Path("."))])
def test_bad_input_is_one_clear_line_and_nothing_is_stored(vault, resident, tmp_path, case):
    _name, data, filename = next(c for c in _bad_inputs(tmp_path) if c[0] == case)
    src = tmp_path / filename
    if data is None:
        src.mkdir()
    else:
        src.write_bytes(data)
    with pytest.raises(attachments.AttachmentError) as err:
        attachments.add(vault, resident, src, kind="otro")
    text = str(err.value)
    assert "\n" not in text and "No se guardó nada" in text
    assert CAUSES[case] in text, "the message must name the real cause"
    assert stored_counts(vault) == (0, 0)


def test_bad_input_is_said_in_quechua_too(vault, resident, tmp_path):
    src = tmp_path / "doc.pdf"
    src.write_bytes(pdf_bytes()[:-8])
    with pytest.raises(attachments.AttachmentError) as es:
        attachments.add(vault, resident, src, kind="otro")
    previous = i18n.current_language()
    i18n.set_language("qu")
    try:
        with pytest.raises(attachments.AttachmentError) as eq:
            attachments.add(vault, resident, src, kind="otro")
    finally:
        i18n.set_language(previous)
    assert str(eq.value) != str(es.value) and "PDF" in str(eq.value)


def test_a_2_gb_file_is_refused_before_it_is_read(vault, resident, tmp_path, monkeypatch):
    big = tmp_path / "video.pdf"
    with open(big, "wb") as fh:
        fh.truncate(2 * 2 ** 30)        # sparse: no disk used
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    with pytest.raises(attachments.AttachmentError, match="2048 MB; el máximo es 25 MB"):
        attachments.add(vault, resident, big, kind="otro")
    assert big not in opened
    assert stored_counts(vault) == (0, 0)


def test_a_file_removed_while_importing(vault, resident, tmp_path, monkeypatch):
    src = tmp_path / "foto.jpg"
    src.write_bytes(jpeg_with_gps((60, 40)))
    real_open = open

    def vanishing(path, *a, **k):
        if Path(path) == src:
            src.unlink()        # gone between the size check and the read
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", vanishing)
    with pytest.raises(attachments.AttachmentError, match="se movió o borró"):
        attachments.add(vault, resident, src, kind="foto")
    assert stored_counts(vault) == (0, 0)


def test_a_full_disk_or_a_cancel_mid_import_leaves_nothing_half_stored(vault, resident):
    data = pdf_bytes(os.urandom(300_000).hex().encode())
    seen = []

    def full(done, total):
        seen.append(done)
        if len(seen) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(attachments.AttachmentError, match="disco está lleno"):
        attachments.add(vault, resident, data, kind="otro", filename="a.pdf", progress=full)
    assert len(seen) == 3 and stored_counts(vault) == (0, 0)
    calls = iter([False, False, True])
    with pytest.raises(attachments.AttachmentError, match="canceló"):
        attachments.add(vault, resident, data, kind="otro", filename="a.pdf",
                        cancelled=lambda: next(calls))
    assert stored_counts(vault) == (0, 0)
    # The vault works on: the same file goes in whole.
    att = attachments.add(vault, resident, data, kind="otro", filename="a.pdf")
    assert attachments.content(vault, att.id) == data


def test_unknown_kind_resident_or_record_are_refused(vault, resident):
    with pytest.raises(attachments.AttachmentError, match="Tipo de adjunto desconocido"):
        attachments.add(vault, resident, pdf_bytes(), kind="video", filename="a.pdf")
    with pytest.raises(NotFound):
        attachments.add(vault, "no-existe", pdf_bytes(), kind="otro", filename="a.pdf")
    with pytest.raises(NotFound):
        attachments.add(vault, resident, pdf_bytes(), kind="otro", filename="a.pdf",
                        record_id="no-existe")
    assert stored_counts(vault) == (0, 0)


def test_a_supervisor_reads_but_cannot_attach_or_remove(vault, resident):
    att = attachments.add(vault, resident, pdf_bytes(), kind="otro", filename="a.pdf")
    vault.add_user("supervisora", "supervisor", "frase ficticia de la supervisora 1")
    with Vault.open(vault.path, "supervisora", "frase ficticia de la supervisora 1") as sup:
        assert attachments.content(sup, att.id) == pdf_bytes()
        with pytest.raises(PermissionDenied):
            attachments.add(sup, resident, pdf_bytes(), kind="otro", filename="a.pdf")
        with pytest.raises(PermissionDenied):
            attachments.remove(sup, att.id)


def _files_holding(root: Path, needle: bytes, since: float | None = None,
                   skip: Path | None = None) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            try:
                if skip is not None and p.is_relative_to(skip):
                    continue
                if since is not None and p.stat().st_mtime < since:
                    continue
                if needle in p.read_bytes():
                    found.append(p)
            except OSError:
                continue
    return found


def test_attached_bytes_never_appear_in_clear_in_the_vault_backups_or_tmp(
        created_vault, tmp_path):
    import tempfile

    vault = created_vault.vault
    started = time.time() - 1
    resident = vault.add(vault.forms.intake.form, make_intake_values())
    src = tmp_path / "src"
    src.mkdir()
    (src / "oficio.pdf").write_bytes(pdf_bytes())
    (src / "foto.jpg").write_bytes(jpeg_with_gps((300, 200), comment=CANARY))
    assert _files_holding(src, CANARY), "the test's own sources must hold the canary"
    pdf = attachments.add(vault, resident, src / "oficio.pdf", kind="oficio_derivacion")
    photo = attachments.add(vault, resident, src / "foto.jpg", kind="foto", keep_original=True)
    assert CANARY in attachments.content(vault, photo.id)
    attachments.thumbnail(vault, photo.id)
    backup = vault.backup(tmp_path / "copias")
    vault.lock()
    assert _files_holding(created_vault.path, CANARY) == []
    assert CANARY not in backup.read_bytes()
    assert _files_holding(Path(tempfile.gettempdir()), CANARY, since=started, skip=src) == []
    restored = tmp_path / "restaurada"
    Vault.restore(backup, restored, COORDINATOR.user, COORDINATOR.passphrase, as_new=True)
    with Vault.open(restored, COORDINATOR.user, COORDINATOR.passphrase) as again:
        assert attachments.content(again, pdf.id) == pdf_bytes()
        assert again.check().ok


def test_check_finds_a_missing_or_altered_chunk(vault, resident):
    att = attachments.add(vault, resident, pdf_bytes(os.urandom(100_000).hex().encode()),
                          kind="otro", filename="a.pdf")
    assert dict((n, ok) for n, ok, _m in vault.check().items)["attachments"]
    first = json.loads(vault.read("SELECT chunks FROM attachments")[0][0])[0]
    with vault.writing() as conn:       # damage, as a bad disk sector would
        conn.execute("UPDATE attachment_chunks SET data=? WHERE id=?", (b"x" * 10, first))
    report = {n: (ok, m) for n, ok, m in vault.check().items}
    assert report["attachments"][0] is False and "SHA-256" in report["attachments"][1]
    with pytest.raises(attachments.AttachmentError, match="dañado"):
        attachments.content(vault, att.id)
    with vault.writing() as conn:
        conn.execute("DELETE FROM attachment_chunks WHERE id=?", (first,))
    report = {n: (ok, m) for n, ok, m in vault.check().items}
    assert report["attachments"][0] is False and "faltan" in report["attachments"][1]


def test_rekeying_keeps_the_attachments(created_vault, resident):
    vault = created_vault.vault
    att = attachments.add(vault, resident, pdf_bytes(), kind="otro", filename="a.pdf")
    rekey.rekey(vault)
    vault.lock()
    with Vault.open(created_vault.path, COORDINATOR.user, COORDINATOR.passphrase) as again:
        assert attachments.content(again, att.id) == pdf_bytes()
        assert again.check().ok


# ---------------------------------------------------------------- the command line

@pytest.fixture
def cli(monkeypatch, capsys):
    monkeypatch.setenv("CPC_PASSPHRASE", COORDINATOR.passphrase)
    monkeypatch.setenv("CPC_USER", COORDINATOR.user)
    monkeypatch.setenv("CPC_LANG", "es")

    def run(*args, code=0):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        assert rc == code, out.err
        return out.out, out.err
    return run


def test_cli_attach_list_export_and_the_disclosure_entry(created_vault, tmp_path, cli):
    vault = created_vault.vault
    resident = vault.add(vault.forms.intake.form, make_intake_values())
    code = vault.find_resident(resident).internal_code
    vault.lock()
    path = created_vault.path
    (tmp_path / "res.pdf").write_bytes(pdf_bytes())
    out, _e = cli("attach", "--vault", path, "--resident", code, tmp_path / "res.pdf",
                  "--type", "resolucion", "--note", "de la UPE")
    att_id = out.strip()
    out, _e = cli("attachments", "--vault", path, "--resident", resident, "--json")
    listed = json.loads(out)
    assert [a["id"] for a in listed] == [att_id] and listed[0]["kind"] == "resolucion"
    assert listed[0]["note"] == "de la UPE" and listed[0]["present"] is True
    out, _e = cli("attachments", "--vault", path, "--resident", resident)
    assert "Resolución judicial o de la UPE" in out and "res.pdf" in out
    cli("export-attachment", "--vault", path, att_id, "-o", tmp_path / "salida.pdf")
    assert (tmp_path / "salida.pdf").read_bytes() == pdf_bytes()
    _o, err = cli("attach", "--vault", path, "--resident", resident, tmp_path / "nada.pdf",
                  code=1)
    assert err.count("\n") == 1 and "No se guardó nada" in err
    with Vault.open(path, COORDINATOR.user, COORDINATOR.passphrase) as again:
        done = [e for e in disclosure.entries(again, resident)
                if e.action == disclosure.ATTACHMENT_EXPORT]
        assert len(done) == 1 and done[0].detail["attachment"] == att_id
        assert disclosure.describe(done[0])[:2] == ("Exportó un adjunto",
                                                    "Resolución judicial o de la UPE")
    out, _e = cli("check", "--vault", path)
    assert "OK    attachments" in out


def test_a_joined_residents_attachments_show_under_the_kept_one(vault):
    from cpc_desktop.sync import join_residents

    keep = vault.add(vault.forms.intake.form, make_intake_values())
    gone = vault.add(vault.forms.intake.form, make_intake_values())
    mine = attachments.add(vault, keep, pdf_bytes(b"a"), kind="otro", filename="a.pdf")
    theirs = attachments.add(vault, gone, jpeg_with_gps((80, 60)), kind="foto",
                             filename="f.jpg")
    assert [a.id for a in attachments.list_for(vault, keep)] == [mine.id]
    join_residents(vault, keep, gone)
    assert {a.id for a in attachments.list_for(vault, keep)} == {mine.id, theirs.id}
    assert attachments.photo_of(vault, keep).id == theirs.id
