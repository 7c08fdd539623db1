"""A resident's attachments in the window: the Adjuntos tab (thumbnails, the placeholder for
content not arrived yet, drag and drop, errors, delete), the header photo hidden until
clicked, the viewer for images and PDFs, and the packet's list and (only when ticked) photo.

Every image is a coloured shape made here; every person is fictional."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from cpc_desktop.core import attachments, disclosure
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui.attachments_view import AddAttachmentsDialog
from test_resident_window import opened as opened_window
from test_resident_window import world  # noqa: F401 — shared fixture


def shape_jpeg(color=(40, 90, 200), size=(640, 480)) -> bytes:
    im = Image.new("RGB", size, color)
    ImageDraw.Draw(im).ellipse((80, 60, 400, 380), fill=(250, 210, 0))
    out = io.BytesIO()
    im.save(out, "JPEG")
    return out.getvalue()


def tiny_pdf(text: str = "Documento ficticio de prueba") -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return out.getvalue()


def opened(qtbot, world):
    return opened_window(qtbot, world.session, world.resident_id)


def show_tab(qtbot, window):
    tab = window.attachments_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.built, timeout=3000)
    return tab


def not_arrived(vault: Vault, resident_id: str) -> str:
    """An attachment row as another laptop's batch brings it, before its content came."""
    data = b"%PDF-1.4 contenido que no llego todavia %%EOF"
    digest = attachments.sha256(data)
    with vault.writing() as conn:
        shelter = conn.execute("SELECT r.shelter FROM records r WHERE r.id=?",
                               (resident_id,)).fetchone()[0]
        item = {"id": "att-remoto-1", "resident_id": resident_id, "record_id": None,
                "kind": "resolucion", "date": "2024-05-02", "note": "Llega por el hub",
                "filename": "resolucion.pdf", "mime": "application/pdf", "size": len(data),
                "sha256": digest, "width": None, "height": None,
                "created_at": "2024-05-02T10:00:00Z", "created_by": "otra.laptop",
                "chunks": [digest], "deleted": False, "hlc": "0000000000001-0000-otra",
                "deleted_hlc": None}
        attachments.receive(conn, [item], shelter)
    return item["id"]


def table_texts(tab) -> list[list[str]]:
    t = tab.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_tab_lists_thumbnails_and_a_placeholder_for_content_not_arrived(world, qtbot):
    photo = attachments.add(world.vault, world.resident_id, shape_jpeg(), kind="foto",
                            filename="foto.jpg", note="Foto del ingreso", date="2024-05-01")
    attachments.add(world.vault, world.resident_id, tiny_pdf(), kind="informe_medico",
                    filename="informe.pdf", note="Control de rutina", date="2024-04-01")
    missing = not_arrived(world.vault, world.resident_id)
    window = opened(qtbot, world)
    assert window.tabs.tabText(window.tabs.indexOf(window.attachments_tab)) == "Adjuntos (3)"
    assert not window.attachments_tab.built, "the tab is built only when first shown"
    assert window.attachments_tab.thumbs == {}, "thumbnails made while the window opened"
    tab = show_tab(qtbot, window)
    rows = table_texts(tab)
    assert [r[1] for r in rows] == ["Resolución judicial o de la UPE", "Foto reciente",
                                    "Informe médico"], rows
    assert rows[1][2] == "01/05/2024" and rows[1][3] == "Foto del ingreso"
    assert attachments.missing_text() in rows[0][5], "no placeholder for the missing one"
    assert not tab.error.isVisible(), "content not arrived yet is not an error"
    qtbot.waitUntil(lambda: photo.id in tab.thumbs, timeout=5000)
    assert tab.thumbs[photo.id].width() <= 96 and tab.thumbs[photo.id].height() <= 96
    assert missing not in tab.thumbs

    tab.table.selectRow(0)
    assert tab.view_selected() is None, "no viewer for content that is not here"
    assert tab.status.text() == attachments.missing_text()


def dropped(tab, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(20, 20), *args)
    QApplication.sendEvent(tab, enter)
    assert enter.isAccepted(), "the tab refused the files being dragged"
    drop = QDropEvent(QPointF(20, 20), *args)
    QApplication.sendEvent(tab, drop)
    assert drop.isAccepted(), "the tab refused the dropped files"


def test_dropping_files_on_the_tab_asks_their_type_and_adds_them(world, qtbot, tmp_path):
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    image, pdf = tmp_path / "dibujo.jpg", tmp_path / "oficio.pdf"
    image.write_bytes(shape_jpeg((200, 40, 40)))
    pdf.write_bytes(tiny_pdf())
    dropped(tab, [image, pdf])
    dialog = tab.add_dialog
    assert isinstance(dialog, AddAttachmentsDialog) and dialog.isVisible()
    assert dialog.keep.isVisible() and not dialog.keep.isChecked(), (
        "keeping the original (with its GPS) must be asked for")
    dialog.ok.click()
    assert dialog.error.isVisible() and dialog.isVisible(), "added without a type"
    dialog.kind.setCurrentIndex(dialog.kind.findData("oficio_derivacion"))
    dialog.note.setText("Llegó con la derivación")
    dialog.ok.click()
    qtbot.waitUntil(lambda: len(tab.items) == 2, timeout=10_000)
    stored = attachments.list_for(world.vault, world.resident_id)
    assert sorted(a.filename for a in stored) == ["dibujo.jpg", "oficio.pdf"]
    assert {a.kind for a in stored} == {"oficio_derivacion"}
    assert {a.note for a in stored} == {"Llegó con la derivación"}
    assert window.tabs.tabText(window.tabs.indexOf(tab)) == "Adjuntos (2)"


def test_a_file_that_is_not_what_its_name_says_is_one_clear_line(world, qtbot, tmp_path):
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    fake = tmp_path / "foto.jpg"
    fake.write_bytes(b"solo texto, no una foto\n" * 20)
    tab.import_files([fake], {"kind": "foto", "date": "2024-05-01", "note": "",
                              "record_id": None, "keep_original": False})
    qtbot.waitUntil(lambda: tab.error.isVisible(), timeout=5000)
    text = tab.error.text()
    assert text.startswith("«foto.jpg»: ") and "\n" not in text, text
    assert "JPEG" in text
    assert attachments.list_for(world.vault, world.resident_id) == []


def test_delete_asks_first_then_removes(world, qtbot):
    attachments.add(world.vault, world.resident_id, tiny_pdf(), kind="otro",
                    filename="constancia.pdf")
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    tab.table.selectRow(0)
    box = tab.delete_selected()
    assert attachments.list_for(world.vault, world.resident_id), "deleted before confirming"
    next(b for b in box.buttons() if b.text() == "Eliminar").click()
    qtbot.waitUntil(lambda: not tab.items, timeout=5000)
    assert attachments.list_for(world.vault, world.resident_id) == []


def views(vault: Vault, resident_id: str) -> list:
    return [e for e in vault.audit_log(resident_id) if e.action == disclosure.ATTACHMENT_VIEW]


def test_header_photo_is_hidden_until_clicked_and_hidden_again_on_lock(world, qtbot):
    photo = attachments.add(world.vault, world.resident_id, shape_jpeg(), kind="foto",
                            filename="foto.jpg")
    window = opened(qtbot, world)
    header = window.header_photo
    assert header.isVisible() and header.button.text() == "Ver foto"
    assert not header.picture.isVisible() and header.picture.pixmap().isNull(), (
        "the photo is on screen before anyone asked")
    assert views(world.vault, world.resident_id) == []
    header.button.click()
    qtbot.waitUntil(lambda: header.picture.isVisible(), timeout=5000)
    assert not header.picture.pixmap().isNull()
    assert header.button.text() == "Ocultar foto"
    seen = views(world.vault, world.resident_id)
    assert [e.detail.get("attachment") for e in seen] == [photo.id], "viewing not logged"
    header.button.click()
    assert not header.picture.isVisible() and header.picture.pixmap().isNull()

    header.button.click()
    qtbot.waitUntil(lambda: header.picture.isVisible(), timeout=5000)
    world.session.lock()
    assert header.picture.pixmap().isNull() and not header.shown, "the photo stayed after lock"
    assert window.closed


def test_header_without_a_photo_offers_nothing(world, qtbot):
    attachments.add(world.vault, world.resident_id, tiny_pdf(), kind="informe_medico",
                    filename="informe.pdf")
    window = opened(qtbot, world)
    assert not window.header_photo.isVisible()


@pytest.mark.parametrize("kind", ["image", "pdf"])
def test_viewer_shows_an_image_or_a_pdf_from_memory_and_logs_it(world, qtbot, kind, tmp_path,
                                                                 monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    data = shape_jpeg() if kind == "image" else tiny_pdf()
    att = attachments.add(world.vault, world.resident_id, data,
                          kind="foto" if kind == "image" else "resolucion",
                          filename="f.jpg" if kind == "image" else "r.pdf")
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    tab.table.selectRow(0)
    viewer = tab.view_selected()
    qtbot.waitUntil(lambda: viewer.showing == kind, timeout=5000)
    if kind == "image":
        assert not viewer.picture.pixmap().isNull()
    else:
        assert viewer.document.pageCount() == 1
    assert [e.detail.get("attachment") for e in views(world.vault, world.resident_id)] == [
        att.id]
    assert list((tmp_path / "tmp").iterdir()) == [], "the viewer wrote a temporary file"
    world.session.lock()
    assert viewer.image is None and viewer.document is None, "kept after lock"


def packet_pdf(world, photos: bool) -> tuple[bytes, dict]:
    from cpc_desktop.ui.print_dialogs import PacketDialog

    code = world.vault.resident(world.resident_id).internal_code
    dialog = PacketDialog(world.session, [world.resident_id], [code])
    assert not dialog.photos.isChecked(), "the photo must be off unless ticked"
    dialog.photos.setChecked(photos)

    class Quiet:
        cancelled = False

        def update(self, *_a):
            pass

    data = dialog.maker()(Quiet())
    detail = dialog.disclosed("pdf")[2]
    dialog.reject()
    return data, detail


def test_packet_lists_the_attachments_and_prints_the_photo_only_when_ticked(world, qtbot):
    attachments.add(world.vault, world.resident_id, shape_jpeg(), kind="foto",
                    filename="foto-ingreso.jpg", note="Tomada al ingreso")
    attachments.add(world.vault, world.resident_id, tiny_pdf("CONTENIDO-SECRETO-DEL-PDF"),
                    kind="resolucion", filename="resolucion-upe.pdf", note="Copia simple")
    for photos in (False, True):
        data, detail = packet_pdf(world, photos)
        reader = PdfReader(io.BytesIO(data))
        text = " ".join(p.extract_text() for p in reader.pages)
        images = sum(len(p.images) for p in reader.pages)
        assert "Adjuntos del expediente" in text
        for shown in ("foto-ingreso.jpg", "resolucion-upe.pdf", "Tomada al ingreso",
                      "Copia simple", "Resolución judicial o de la UPE"):
            assert shown in text, f"{shown!r} missing from the packet's list"
        assert "CONTENIDO-SECRETO-DEL-PDF" not in text, "an attachment's content was printed"
        assert images == (1 if photos else 0), (photos, images)
        assert bool(detail.get("photos")) is photos
    json.dumps(detail)   # the disclosure detail is plain data


def test_a_supervisor_sees_the_attachments_but_cannot_add_or_delete(world, qtbot, tmp_path):
    from cpc_desktop.core.users import Role

    attachments.add(world.vault, world.resident_id, tiny_pdf(), kind="otro",
                    filename="constancia.pdf")
    world.vault.add_user("supervision.prueba", Role.SUPERVISOR, "frase ficticia del supervisor",
                         "Supervisión Prueba")
    path = world.vault.path
    world.session.lock()
    reader = Vault.open(path, "supervision.prueba", "frase ficticia del supervisor")
    world.session.attach(reader)
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    assert [r[5].split(" · ")[0] for r in table_texts(tab)] == ["constancia.pdf"]
    assert not tab.add_button.isVisible() and not tab.delete_button.isVisible()
    image = tmp_path / "dibujo.png"
    Image.new("RGB", (50, 50), (0, 0, 200)).save(image)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, enter)
    assert not enter.isAccepted(), "a read-only user could drop files to attach"
    assert tab.ask_about([image]) is None


def test_a_sync_that_brought_only_attachments_refreshes_the_windows():
    from cpc_desktop.sync.engine import SyncReport
    from cpc_desktop.ui.sync_controller import SyncOutcome

    assert not SyncOutcome("hub", False, SyncReport()).applied_changes
    assert SyncOutcome("hub", False, SyncReport(attachments_completed=1)).applied_changes, (
        "content that arrived would stay «llegará en la próxima sincronización» on screen")
    assert SyncOutcome("hub", False, SyncReport(received_batches=1)).applied_changes


def test_cancel_stops_an_import_and_keeps_only_whole_files(world, qtbot, tmp_path):
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    files = []
    for i in range(12):
        path = tmp_path / f"hoja-{i}.jpg"
        path.write_bytes(shape_jpeg(((i * 20) % 256, 80, 160), size=(1800, 1400)))
        files.append(path)
    handle = tab.import_files(files, {"kind": "otro", "date": "2024-05-01", "note": "",
                                      "record_id": None, "keep_original": False})
    handle.cancel()
    qtbot.waitUntil(lambda: not tab.busy, timeout=20_000)
    assert tab.status.text().startswith("Cancelado"), tab.status.text()
    stored = attachments.list_for(world.vault, world.resident_id)
    assert len(stored) < len(files), "Cancel did not stop the import"
    for att in stored:      # whatever was kept is whole
        assert attachments.sha256(attachments.content(world.vault, att.id)) == att.sha256


def test_a_file_can_be_attached_to_one_of_the_residents_records(world, qtbot, tmp_path):
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    pdf = tmp_path / "resolucion.pdf"
    pdf.write_bytes(tiny_pdf())
    dialog = tab.ask_about([pdf])
    intake = window.intake_tab.record
    index = dialog.record.findData(intake.id)
    assert index > 0 and dialog.record.itemText(index).startswith("Ficha de ingreso")
    dialog.record.setCurrentIndex(index)
    dialog.kind.setCurrentIndex(dialog.kind.findData("resolucion"))
    dialog.ok.click()
    qtbot.waitUntil(lambda: len(tab.items) == 1, timeout=10_000)
    assert attachments.list_for(world.vault, world.resident_id)[0].record_id == intake.id
    assert table_texts(tab)[0][4].startswith("Ficha de ingreso")


def test_closing_the_viewer_or_the_window_while_it_reads_is_harmless(world, qtbot):
    attachments.add(world.vault, world.resident_id, shape_jpeg(size=(1600, 1200)),
                    kind="foto", filename="foto.jpg")
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    tab.table.selectRow(0)
    viewer = tab.view_selected()
    viewer.reject()                  # before the worker answered
    window.header_photo.button.click()
    window._force_close = True
    window.close()
    qtbot.wait(800)                  # the workers' answers arrive for closed widgets
    assert window.closed


def test_closing_the_window_during_an_import_keeps_the_file_and_no_error(world, qtbot, tmp_path):
    window = opened(qtbot, world)
    tab = show_tab(qtbot, window)
    path = tmp_path / "grande.jpg"
    path.write_bytes(shape_jpeg(size=(2400, 1800)))
    handle = tab.import_files([path], {"kind": "otro", "date": "2024-05-01", "note": "",
                                       "record_id": None, "keep_original": False})
    window._force_close = True
    window.close()
    qtbot.waitUntil(lambda: handle.finished, timeout=20_000)
    qtbot.wait(100)
    assert [a.filename for a in attachments.list_for(world.vault, world.resident_id)] == [
        "grande.jpg"]
