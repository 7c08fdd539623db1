"""`cpc i18n`: keep translation catalogs in step with the code and the forms."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import CpcError
from ..core.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("i18n", help=_("catálogos de traducción"))
    isub = p.add_subparsers(dest="i18n_command", required=True, metavar=_("COMANDO"))
    q = isub.add_parser("extract", help=_("actualiza cpc.pot y los catálogos .po con los textos "
                                          "del código y de los formularios"))
    q.set_defaults(func=cmd_extract)
    q = isub.add_parser("compile", help=_("compila los .po a .mo (los cambios se ven al "
                                          "reiniciar)"))
    q.set_defaults(func=cmd_compile)
    q = isub.add_parser("check", help=_("lista textos sin traducir, obsoletos o con marcadores "
                                        "rotos"))
    q.add_argument("--lang", default="qu", help=_("idioma del catálogo (por defecto: qu)"))
    q.add_argument("--strict", action="store_true",
                   help=_("falla también si falta alguna traducción"))
    q.set_defaults(func=cmd_check)
    q = isub.add_parser("missing", help=_("lista los textos que faltan traducir"))
    q.add_argument("--lang", default="qu", help=_("idioma del catálogo (por defecto: qu)"))
    q.set_defaults(func=cmd_missing)
    q = isub.add_parser("export-csv", help=_("exporta todos los pares a CSV para revisión"))
    q.add_argument("out", type=Path)
    q.set_defaults(func=cmd_export)


def cmd_extract(args) -> int:
    from ..i18n_tools import translations

    for lang, (added, obsolete) in translations.update_catalogs().items():
        print(_("{lang}: {added} nuevos, {obsolete} obsoletos").format(
            lang=lang, added=added, obsolete=obsolete))
    return 0


def cmd_compile(args) -> int:
    from ..i18n_tools import translations

    for path in translations.compile_catalogs():
        print(path)
    return 0


def cmd_check(args) -> int:
    from ..i18n_tools import translations

    problems = translations.check(args.lang)
    counted = [p for p in problems if args.strict or p.kind != "missing"]
    missing = sum(p.kind == "missing" for p in problems)
    for p in problems:
        if p.kind != "missing":
            print(f"{p.kind}: {p.msgid!r} {p.detail}")
    print(_("{lang}: {n} textos sin traducir").format(lang=args.lang, n=missing))
    if counted:
        raise CpcError(_("El catálogo tiene {n} problemas.").format(n=len(counted)))
    return 0


def cmd_missing(args) -> int:
    from ..i18n_tools import translations

    for msgid in translations.missing(args.lang):
        print(msgid)
    return 0


def cmd_export(args) -> int:
    from ..i18n_tools import translations

    translations.export_csv(args.out)
    return 0
