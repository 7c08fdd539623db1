"""Printing speed, as ratios to plain reportlab pages with the same amount of text.

The baseline is built in the same run: a SimpleDocTemplate of plain paragraphs in the same
bundled font, with as many characters per page as the printed form has (counted from the PDF
with pdftotext) and the same number of pages — so a ratio is the cost of the form layout
(fields, boxes, check boxes, tables, header and footer, page X of Y) over laying out text.
Run:

    .venv/bin/python benchmarks/bench_printing.py [--residents 100] [--samples 20]

Targets (printing issue): a filled intake ≤ 100 ms per page; a packet of 100 residents ×
3 forms (intake, PTI, services log) ≤ 15 s.
"""
from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

from cpc_desktop import printing
from cpc_desktop import demo
from cpc_desktop.printing import fonts

PACKET_FORMS = ["ficha_ingreso", "pti", "registro_atenciones"]
WORDS = ("atención niña corazón q'ipi ch'aska k'anchay phuyu qhatu Ñuñoa registro "
         "servicio familia educación salud").split()


def pdf_facts(data: bytes) -> tuple[int, int]:
    """(pages, characters of text) of a PDF, read back with poppler."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(data)
        fh.flush()
        info = subprocess.run(["pdfinfo", fh.name], capture_output=True, text=True).stdout
        text = subprocess.run(["pdftotext", fh.name, "-"], capture_output=True,
                              text=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines()
                     if line.startswith("Pages:")))
    return pages, len("".join(text.split()))


def plain_pages(pages: int, chars_per_page: int) -> bytes:
    """The baseline: plain paragraphs, `chars_per_page` non-space characters on each page."""
    fonts.register()
    style = ParagraphStyle("plain", fontName=fonts.REGULAR, fontSize=8.5, leading=10.4)
    words, count, i = [], 0, 0
    while count < chars_per_page:
        w = WORDS[i % len(WORDS)]
        words.append(w)
        count += len(w)
        i += 1
    page_text = " ".join(words)
    paragraphs = [page_text[k:k + 600] for k in range(0, len(page_text), 600)]
    story = []
    for p in range(pages):
        story.extend(Paragraph(t, style) for t in paragraphs)
        if p < pages - 1:
            story.append(PageBreak())
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                      topMargin=18 * mm, bottomMargin=18 * mm).build(story)
    return buf.getvalue()


def timed(fn, *args, **kw):
    """(wall seconds, result); CPU seconds of the last call in timed.cpu (a busy shared
    machine stretches wall time, not CPU time)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kw)
    timed.cpu = time.process_time() - cpu
    return time.perf_counter() - start, result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=100)
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    fonts.register()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vault, _key = demo.create_demo_vault(Path(tmp) / "vault", residents=args.residents,
                                             kdf_seconds=0)
        residents = vault.residents()
        print(f"demo vault: {len(residents)} residents in {time.perf_counter() - t0:.1f} s")
        printing.render_form(vault, "ficha_ingreso", resident_id=residents[0].id)  # warm-up

        # ---- a filled intake, per page
        per_page, base_per_page, pages_seen = [], [], []
        for r in residents[:args.samples]:
            seconds, data = timed(printing.render_form, vault, "ficha_ingreso",
                                  resident_id=r.id)
            pages, chars = pdf_facts(data)
            base, _ = timed(plain_pages, pages, chars // pages)
            per_page.append(seconds / pages)
            base_per_page.append(base / pages)
            pages_seen.append(pages)
        ms = statistics.median(per_page) * 1000
        base_ms = statistics.median(base_per_page) * 1000
        print(f"filled intake: {ms:.1f} ms/page (median of {len(per_page)}, "
              f"{min(pages_seen)}–{max(pages_seen)} pages); plain reportlab "
              f"{base_ms:.1f} ms/page; ratio {ms / base_ms:.2f}×; target ≤ 100 ms/page: "
              f"{'OK' if ms <= 100 else 'MISSED'}")

        # ---- a packet of N residents × 3 forms
        ids = [r.id for r in residents]
        calls = []
        seconds, data = timed(printing.render_packet, vault, ids, PACKET_FORMS, lang="es",
                              prepared_by="Coordinación (demo)",
                              progress=lambda d, t: calls.append(d))
        cpu = timed.cpu
        pages, chars = pdf_facts(data)
        base, _ = timed(plain_pages, pages, chars // pages)
        base_cpu = timed.cpu
        print(f"packet {len(ids)} residents × {len(PACKET_FORMS)} forms: {seconds:.2f} s, "
              f"{pages} pages, {len(data) / 1e6:.1f} MB ({seconds / pages * 1000:.1f} ms/page); "
              f"plain reportlab {base:.2f} s; ratio {seconds / base:.2f}×; target ≤ 15 s: "
              f"{'OK' if seconds <= 15 else 'MISSED'}")
        print(f"  CPU time: packet {cpu:.2f} s, plain reportlab {base_cpu:.2f} s, "
              f"ratio {cpu / base_cpu:.2f}×")
        vault.lock()
    return 0


if __name__ == "__main__":
    sys.exit(main())
