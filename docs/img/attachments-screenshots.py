"""Screenshot of issue 18's Adjuntos tab at 1280×720 (docs/img/adjuntos.png): a demo resident
with a few synthetic images (coloured shapes), a PDF and one attachment whose content has not
arrived by sync yet; and the supervision packet's attachments page as a PDF.

    Xvfb :72 -screen 0 1280x720x24 &
    DISPLAY=:72 QT_QPA_PLATFORM=xcb .venv/bin/python docs/img/attachments-screenshots.py /tmp/shots [qu]

Then look at the PNG and copy it here. Everyone shown is fictional (demo data).
"""
import io
import os
import sys
import tempfile
import time
from pathlib import Path

tmp = Path(tempfile.mkdtemp())
os.environ["CPC_CONFIG_DIR"] = str(tmp / "config")
os.environ["CPC_DATA_DIR"] = str(tmp / "data")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import cpc_desktop.ui  # noqa: E402,F401 — its PySide6 guard first
from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

app = QApplication([])
from cpc_desktop import demo, printing  # noqa: E402
from cpc_desktop.core import attachments  # noqa: E402
from cpc_desktop.ui import qt_i18n  # noqa: E402
from cpc_desktop.ui.resident_window import open_resident  # noqa: E402
from cpc_desktop.ui.session import Session  # noqa: E402

qt_i18n.install(app)
QU = sys.argv[2:] == ["qu"]
if QU:
    from cpc_desktop.ui.lang import set_language

    set_language("qu")
SUFFIX = "-qu" if QU else ""
out = Path(sys.argv[1])
out.mkdir(exist_ok=True)


def shapes(back, front, size=(1200, 900), kind="circle") -> bytes:
    im = Image.new("RGB", size, back)
    draw = ImageDraw.Draw(im)
    if kind == "circle":
        draw.ellipse((250, 150, 950, 800), fill=front)
    else:   # a "scanned page": grey lines on white
        for y in range(120, 820, 60):
            draw.rectangle((120, y, 1080 - (y * 3) % 300, y + 18), fill=front)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def pdf() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(72, 720, "Documento ficticio")
    c.showPage()
    c.save()
    return buf.getvalue()


vault, _ = demo.create_demo_vault(tmp / "data" / "vault", residents=3, kdf_seconds=0)
rid = vault.residents()[0].id
attachments.add(vault, rid, shapes((40, 90, 200), (250, 210, 0)), kind="foto",
                filename="foto-ingreso.jpg", note="Foto tomada al ingreso", date="2026-11-20")
attachments.add(vault, rid, shapes((255, 255, 255), (90, 90, 90), kind="page"),
                kind="documento_identidad", filename="dni-escaneo.jpg",
                note="Copia simple, ambas caras", date="2026-11-18")
intake = vault.records(rid, vault.forms.intake.form)[0].id
attachments.add(vault, rid, pdf(), kind="oficio_derivacion", filename="oficio-upe.pdf",
                note="Llegó con la derivación", date="2026-11-17", record_id=intake)
attachments.add(vault, rid, shapes((20, 140, 90), (240, 240, 240), kind="page"),
                kind="constancia_escolar", filename="constancia.jpg", date="2026-10-02")
with vault.writing() as conn:      # one row from another laptop whose content is on its way
    shelter = conn.execute("SELECT shelter FROM records WHERE id=?", (rid,)).fetchone()[0]
    digest = attachments.sha256(b"%PDF- en camino %%EOF")
    attachments.receive(conn, [{
        "id": "remoto-1", "resident_id": rid, "record_id": None, "kind": "resolucion",
        "date": "2026-11-25", "note": "Resolución de la UPE", "filename": "resolucion.pdf",
        "mime": "application/pdf", "size": 21, "sha256": digest, "width": None,
        "height": None, "created_at": "2026-11-25T10:00:00Z", "created_by": "otra.laptop",
        "chunks": [digest], "deleted": False, "hlc": "0000000000001-0000-otra",
        "deleted_hlc": None}], shelter)

session = Session(vault.path)
session.attach(vault)
window = open_resident(session, rid)
window.setGeometry(0, 0, 1280, 720)   # no window manager under Xvfb: no maximising
while not window.is_loaded:
    app.processEvents()
window.tabs.setCurrentWidget(window.attachments_tab)
tab = window.attachments_tab
end = time.time() + 10
while len(tab.thumbs) < 3 and time.time() < end:
    app.processEvents()
for _ in range(50):
    app.processEvents()
    time.sleep(0.02)
QApplication.primaryScreen().grabWindow(0).save(str(out / f"adjuntos{SUFFIX}.png"))
print("saved adjuntos.png")


def settle(until=lambda: True):
    end = time.time() + 10
    while not until() and time.time() < end:
        app.processEvents()
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)


window.header_photo.button.click()           # what a click on «Ver foto» shows
settle(lambda: window.header_photo.shown)
QApplication.primaryScreen().grabWindow(0).save(str(out / f"adjuntos-foto{SUFFIX}.png"))
window.header_photo.button.click()
tab.table.selectRow(3)                       # the PDF, in the viewer
viewer = tab.view_selected()
viewer.setGeometry(100, 40, 900, 640)
settle(lambda: viewer.showing == "pdf")
QApplication.primaryScreen().grabWindow(0).save(str(out / f"adjuntos-visor{SUFFIX}.png"))
viewer.reject()
print("saved adjuntos-foto.png, adjuntos-visor.png")
data = printing.render_packet(vault, [rid], [f.form for f in vault.forms], photos=True)
(out / "packet.pdf").write_bytes(data)
print("saved packet.pdf")
window._force_close = True
window.close()
session.lock()
