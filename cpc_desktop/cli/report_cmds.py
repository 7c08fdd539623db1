"""`cpc report`: the statistics of a period as a protected PDF or CSV (zip)."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from ..core import forms
from ..core.i18n import _, available_languages
from .common import UserError, add_vault_args, open_vault


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=_("informe estadístico de un periodo (PDF o CSV, con "
                                        "datos protegidos)"))
    add_vault_args(p)
    p.add_argument("--from", dest="start", required=True, metavar=_("FECHA"),
                   help=_("primer día del periodo (dd/mm/aaaa o aaaa-mm-dd)"))
    p.add_argument("--to", dest="end", required=True, metavar=_("FECHA"),
                   help=_("último día del periodo (incluido)"))
    p.add_argument("--shelter", default=None, metavar=_("CÓDIGO"),
                   help=_("solo este centro (por defecto: todos los de la bóveda)"))
    p.add_argument("--format", choices=["pdf", "csv"], required=True)
    p.add_argument("--lang", choices=available_languages(), default="es")
    p.add_argument("--table", default=None, metavar="ID",
                   help=_("con --format csv: solo esta tabla, en un archivo .csv"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar=_("ARCHIVO"))
    p.set_defaults(func=cmd_report)


def _date(text: str) -> dt.date:
    day = forms.parse_date(text)
    if day is None:
        raise UserError(_("Fecha no válida: «{text}» (use dd/mm/aaaa).").format(text=text))
    return day


def cmd_report(args) -> int:
    from ..core.i18n import gettext_for
    from ..reports import ReportRequest, releases

    request = ReportRequest(_date(args.start), _date(args.end),
                            args.shelter.strip().upper() if args.shelter else None)
    if args.table and args.format != "csv":
        raise UserError(_("--table solo se usa con --format csv."))
    vault = open_vault(args)
    try:
        out, report = releases.export(vault, request, args.output, args.format, args.lang,
                                      args.table)
    finally:
        vault.lock()
    tr = gettext_for(args.lang)
    for message in report.messages:
        print(message(tr), file=sys.stderr)
    print(out)
    return 0
