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
    from ..reports.periods import PRESETS
    p.add_argument("--period", default=None, metavar=_("PERIODO"),
                   help=_("un mes (2026-06), trimestre (2026-T2), semestre (2026-S1) o año "
                          "(2026), o uno de: {presets} (en vez de --from y --to)").format(
                       presets=", ".join(pid for pid, *_r in PRESETS)))
    p.add_argument("--from", dest="start", default=None, metavar=_("FECHA"),
                   help=_("primer día del periodo (dd/mm/aaaa o aaaa-mm-dd)"))
    p.add_argument("--to", dest="end", default=None, metavar=_("FECHA"),
                   help=_("último día del periodo (incluido)"))
    p.add_argument("--shelter", default=None, metavar=_("CÓDIGO"),
                   help=_("solo este centro (por defecto: todos los de la bóveda)"))
    p.add_argument("--format", choices=["pdf", "csv"], required=True)
    p.add_argument("--lang", choices=available_languages(), default="es")
    p.add_argument("--table", default=None, metavar="ID",
                   help=_("con --format csv: solo esta tabla, en un archivo .csv"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar=_("ARCHIVO"))
    p.set_defaults(func=cmd_report)
    log = sub.add_parser("report-log", help=_("informes ya compartidos (el registro con el que "
                                              "se revisa cada nuevo informe)"))
    add_vault_args(log)
    log.set_defaults(func=cmd_report_log)


def _date(text: str) -> dt.date:
    day = forms.parse_date(text)
    if day is None:
        raise UserError(_("Fecha no válida: «{text}» (use dd/mm/aaaa).").format(text=text))
    return day


def _period(args) -> tuple[dt.date, dt.date]:
    from ..reports import periods

    if args.period is not None:
        if args.start or args.end:
            raise UserError(_("Use --period o --from y --to, no ambos."))
        period = periods.parse(args.period, dt.date.today())
        if period is None:
            raise UserError(_("Periodo no válido: «{text}» (use 2026-06, 2026-T2, 2026-S1, "
                              "2026 o {example}).").format(text=args.period,
                                                          example="mes-anterior"))
        return period.start, period.end
    if not args.start or not args.end:
        raise UserError(_("Indique el periodo con --period, o con --from y --to."))
    return _date(args.start), _date(args.end)


def cmd_report_log(args) -> int:
    from ..core.display import format_moment
    from ..reports import releases

    vault = open_vault(args)
    try:
        log = releases.releases(vault)
    finally:
        vault.lock()
    if not log:
        print(_("Todavía no se ha compartido ningún informe desde esta bóveda."))
        return 0
    for rel in log:
        tables = _("todas las tablas") if len(rel.tables) != 1 else rel.tables[0]
        print("\t".join([format_moment(rel.made_at), rel.user, rel.fmt.upper(),
                         rel.period_text(), rel.shelter or _("todos los centros"), tables]))
    return 0


def cmd_report(args) -> int:
    from ..core import disclosure
    from ..core.i18n import gettext_for
    from ..reports import ReportRequest, releases

    start, end = _period(args)
    request = ReportRequest(start, end, args.shelter.strip().upper() if args.shelter else None)
    if args.table and args.format != "csv":
        raise UserError(_("--table solo se usa con --format csv."))
    vault = open_vault(args)
    try:
        out, report = releases.export(vault, request, args.output, args.format, args.lang,
                                      args.table)
        disclosure.record(vault, disclosure.REPORT, format=args.format, lang=args.lang,
                          start=start.isoformat(), end=end.isoformat(),
                          shelter=request.shelter, table=args.table)
    finally:
        vault.lock()
    tr = gettext_for(args.lang)
    for message in report.messages:
        print(message(tr), file=sys.stderr)
    print(out)
    return 0
