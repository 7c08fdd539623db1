"""Opening a resident's window with 50 attachments, as a ratio to opening the same resident
without any, in the same run (issue 18: within 10 %).

Two copies of one vault (one resident, the same records); in the second copy the resident
gets 50 attachments (photos of coloured shapes, 1600 px, and a few PDFs). The runs alternate
between the two so that machine load hits both alike; the target is read on the median of
the back-to-back pairs' ratios. Measured per run: from open_resident() until every tab has its
records and the window is painted ("open + first paint"). Then, after those runs and not part
of the ratio: switching to the Adjuntos tab and painting it, and the time until every
thumbnail arrived from the worker. Run:

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_attachments_window.py [--runs 15]
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cpc_desktop.ui  # noqa: F401 — PySide6 6.12.0 guard first
from PIL import Image, ImageDraw
from PySide6.QtWidgets import QApplication

from cpc_desktop import demo
from cpc_desktop.core import attachments
from cpc_desktop.core.vault import Vault
from cpc_desktop.ui.resident_window import open_resident
from cpc_desktop.ui.session import Session

PASS = "frase de referencia larga"
USER = "bench"


def shape(i: int) -> bytes:
    im = Image.new("RGB", (1600, 1200), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
    draw = ImageDraw.Draw(im)
    draw.ellipse((200 + i * 7, 150, 1100, 1000), fill=(250, 220, 40))
    draw.rectangle((900, 300 + i * 5, 1500, 900), fill=(30, 30, 120))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def pdf(i: int) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out)
    c.drawString(72, 720, f"Documento ficticio {i}")
    c.showPage()
    c.save()
    return out.getvalue()


def ms(seconds: float) -> float:
    return seconds * 1000


def open_once(app, session, rid) -> tuple[float, object]:
    t0 = time.perf_counter()
    window = open_resident(session, rid)
    while not window.is_loaded:
        app.processEvents()
    window.repaint()
    app.processEvents()
    return time.perf_counter() - t0, window


def close(app, window) -> None:
    window._force_close = True
    window.close()
    app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--attachments", type=int, default=50)
    parser.add_argument("--services", type=int, default=100)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])

    with tempfile.TemporaryDirectory() as tmp:
        plain_path, with_path = Path(tmp) / "plain", Path(tmp) / "with"
        vault, _key = Vault.create(plain_path, shelter_code="BEN-01",
                                   shelter_name="Centro de referencia (ficticio)", user=USER,
                                   passphrase=PASS, kdf_seconds=0)
        demo.populate(vault, residents=1, services_per_resident=args.services)
        rid = vault.residents()[0].id
        vault.lock()
        shutil.copytree(plain_path, with_path)
        other = Vault.open(with_path, USER, PASS)
        t0 = time.perf_counter()
        for i in range(args.attachments):
            if i % 10 == 9:
                attachments.add(other, rid, pdf(i), kind="informe_medico",
                                filename=f"informe-{i}.pdf", note=f"Informe ficticio {i}")
            else:
                attachments.add(other, rid, shape(i), kind="foto" if i == 0 else "otro",
                                filename=f"imagen-{i}.jpg", note=f"Imagen de prueba {i}")
        print(f"{args.attachments} attachments added in {time.perf_counter() - t0:.1f} s")
        # Both opened afresh, as after a restart: the write-ahead log of the import would
        # otherwise slow every read of that copy, which is not what opening a window costs.
        other.lock()
        plain, other = Vault.open(plain_path, USER, PASS), Vault.open(with_path, USER, PASS)
        sessions = {}
        for name, v in (("plain", plain), ("with", other)):
            s = Session(v.path)
            s.attach(v)
            sessions[name] = s

        times: dict[str, list[float]] = {"plain": [], "with": []}
        for run in range(args.runs + 1):       # run 0 builds the forms: left out
            for name in (("plain", "with") if run % 2 else ("with", "plain")):
                elapsed, window = open_once(app, sessions[name], rid)
                if run:
                    times[name].append(elapsed)
                close(app, window)
        # Apart, after the ratio's runs (its freed pixmaps and widgets would otherwise be
        # cleaned up during the next window's opening and counted there).
        tab_paint, thumbs_done = [], []
        for _run in range(max(3, args.runs // 3)):
            _elapsed, window = open_once(app, sessions["with"], rid)
            tab = window.attachments_tab
            t1 = time.perf_counter()
            window.tabs.setCurrentWidget(tab)
            window.repaint()
            app.processEvents()
            t2 = time.perf_counter()
            wanted = sum(1 for a in tab.items if a.present and a.is_image)
            while len(tab.thumbs) < wanted:
                app.processEvents()
            tab_paint.append(t2 - t1)
            thumbs_done.append(time.perf_counter() - t1)
            close(app, window)
        for s in sessions.values():
            s.lock()

    base, loaded = statistics.median(times["plain"]), statistics.median(times["with"])
    print(f"resident with {args.services} service entries, {args.runs} runs each, medians:")
    print(f"  open + first paint, no attachments     {ms(base):7.1f} ms  (1.00x)")
    print(f"  open + first paint, {args.attachments} attachments     {ms(loaded):7.1f} ms  "
          f"({loaded / base:.2f}x)")
    paired = statistics.median(w / p for w, p in zip(times["with"], times["plain"]))
    print(f"  median of the {len(times['with'])} back-to-back pairs' ratios   {paired:.2f}x  "
          f"(the figure for the target: both of a pair see the same machine load)")
    fastest = min(times["with"]) / min(times["plain"])
    print(f"  fastest run of each: {ms(min(times['plain'])):.1f} ms vs "
          f"{ms(min(times['with'])):.1f} ms  ({fastest:.2f}x)")
    print(f"  Adjuntos tab shown + painted           {ms(statistics.median(tab_paint)):7.1f} ms")
    print(f"  ... until every thumbnail is there     {ms(statistics.median(thumbs_done)):7.1f} ms "
          f"(made on a worker; the window answers meanwhile)")
    print(f"target: paired ratio <= 1.10: {'met' if paired <= 1.10 else 'NOT met'}")


if __name__ == "__main__":
    main()
