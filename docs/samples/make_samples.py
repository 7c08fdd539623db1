"""Regenerates the sample PDFs in this folder from a throwaway demo vault (fictional people).

    .venv/bin/python docs/samples/make_samples.py

Dates are fixed (demo "today" and print date 04/05/2026) so the samples only change when the
layout or the forms do.
"""
from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from cpc_desktop import printing  # noqa: E402
from cpc_desktop import demo  # noqa: E402

TODAY = dt.date(2026, 5, 4)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vault, key = demo.create_demo_vault(Path(tmp) / "vault", residents=6, kdf_seconds=0,
                                            today=TODAY)
        residents = vault.residents()
        first = residents[0].id
        samples = {
            "ficha_ingreso-en-blanco-es+qu.pdf": printing.render_form(
                vault, "ficha_ingreso", blank=True, lang="es+qu", today=TODAY),
            "ficha_ingreso-llena-es.pdf": printing.render_form(
                vault, "ficha_ingreso", resident_id=first, lang="es", today=TODAY),
            "pti-en-blanco-qu.pdf": printing.render_form(
                vault, "pti", blank=True, lang="qu", today=TODAY),
            "paquete-supervision-3-residentes.pdf": printing.render_packet(
                vault, [r.id for r in residents[:3]],
                ["ficha_ingreso", "pti", "registro_atenciones"], lang="es",
                period=(TODAY.replace(year=TODAY.year - 1), TODAY),
                prepared_by="Coordinación (demo)", today=TODAY),
            "hoja-clave-recuperacion.pdf": printing.render_recovery_sheet(
                vault.shelter_code, vault.shelter_name, key, today=TODAY),
        }
        vault.lock()
    for name, data in samples.items():
        printing.write_pdf(data, HERE / name)
        print(f"{name}: {len(data) // 1024} KiB")


if __name__ == "__main__":
    main()
