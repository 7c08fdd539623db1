"""`cpc` printing commands: print (one form, blank or filled), packet (supervision visit) and
recovery-sheet. Thin shells over cpc_desktop.printing, which the window calls too."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import disclosure
from ..core.i18n import _
from ..core.vault import Vault
from .common import UserError, add_vault_args, open_vault, recovery_key, vault_path

LANG_CHOICES = ["es", "qu", "es+qu"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("print", help=_("imprime un formulario en PDF, lleno o en blanco"))
    add_vault_args(p)
    p.add_argument("form", help=_("formulario, p. ej. ficha_ingreso"))
    p.add_argument("--resident", default=None,
                   help=_("identificador o código interno del residente"))
    p.add_argument("--record", default=None, help=_("identificador de un registro concreto"))
    p.add_argument("--blank", action="store_true",
                   help=_("formulario en blanco, para llenar a mano"))
    _add_common(p)
    p.set_defaults(func=cmd_print)

    p = sub.add_parser("packet", help=_("paquete en PDF para una visita de supervisión"))
    add_vault_args(p)
    p.add_argument("--resident", action="extend", nargs="+", required=True, metavar="ID",
                   help=_("residentes (identificador o código interno), en este orden"))
    p.add_argument("--form", action="extend", nargs="+", required=True, metavar=_("ID_FORMULARIO"),
                   help=_("formularios, en este orden"))
    p.add_argument("--prepared-by", default=None,
                   help=_("quién prepara el paquete (por defecto: el nombre del usuario)"))
    p.add_argument("--photos", action="store_true",
                   help=_("imprime también la foto de cada residente (sin esta opción solo va "
                          "la lista de sus adjuntos)"))
    _add_common(p)
    p.set_defaults(func=cmd_packet)

    p = sub.add_parser("recovery-sheet",
                       help=_("imprime la hoja de la clave de recuperación de la bóveda"))
    add_vault_args(p, unlock=False)
    p.add_argument("--recovery-key-file", type=Path, default=None,
                   help=_("archivo cuya primera línea es la clave (si no: se pregunta)"))
    p.add_argument("--lang", choices=LANG_CHOICES, default="es+qu",
                   help=_("idioma de la hoja (por defecto: es+qu)"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar=_("ARCHIVO.pdf"))
    p.set_defaults(func=cmd_recovery_sheet)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANG_CHOICES, default="es",
                   help=_("idioma de las etiquetas: es, qu o es+qu (bilingüe)"))
    p.add_argument("--from", dest="date_from", default=None, metavar=_("dd/mm/aaaa"),
                   help=_("solo registros desde esta fecha (formularios de varios registros)"))
    p.add_argument("--to", dest="date_to", default=None, metavar=_("dd/mm/aaaa"),
                   help=_("solo registros hasta esta fecha"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar=_("ARCHIVO.pdf"))
    p.add_argument("--reason", default=None, metavar=_("MOTIVO"),
                   help=_("para qué se imprime (queda en el registro de accesos), p. ej. "
                          "«visita de la fiscalía»"))


def _period(args):
    if args.date_from or args.date_to:
        return (args.date_from, args.date_to)
    return None


def cmd_print(args) -> int:
    from .. import printing

    if not (args.blank or args.resident or args.record):
        raise UserError(_("Indique --resident o --record, o pida el formulario con --blank."))
    printing.check_destination(args.output)
    with open_vault(args) as vault:
        data = printing.render_form(vault, args.form, record_id=args.record,
                                    resident_id=args.resident, blank=args.blank,
                                    lang=args.lang, period=_period(args))
        printing.write_pdf(data, args.output)
        if args.record:
            resident = vault.get(args.record).resident_id
        else:
            resident = vault.find_resident(args.resident).id if args.resident else None
        if resident and not args.blank:
            disclosure.record(vault, disclosure.PDF, [resident], form=args.form,
                              lang=args.lang, record=args.record, reason=args.reason)
    print(_("PDF guardado: {path}").format(path=args.output))
    return 0


def cmd_packet(args) -> int:
    from .. import printing

    printing.check_destination(args.output)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            print("\r" + _("Preparando el paquete: {done} de {total}").format(
                done=done, total=total), end="", file=sys.stderr, flush=True)

    with open_vault(args) as vault:
        prepared_by = args.prepared_by or vault.user.display_name
        data = printing.render_packet(vault, args.resident, args.form, lang=args.lang,
                                      period=_period(args), prepared_by=prepared_by,
                                      photos=args.photos, progress=progress)
        if show:
            print(file=sys.stderr)
        printing.write_pdf(data, args.output)
        ids = [vault.find_resident(ref).id for ref in args.resident]
        disclosure.record(vault, disclosure.PACKET, ids, forms=list(args.form), to="pdf",
                          lang=args.lang, reason=args.reason, photos=args.photos or None)
    print(_("PDF guardado: {path}").format(path=args.output))
    return 0


def cmd_recovery_sheet(args) -> int:
    from .. import printing

    key = recovery_key(args)
    printing.check_destination(args.output)
    # Printed only if it really opens this vault: a sheet with a wrong key is worse than none.
    code, name = Vault.check_recovery_key(vault_path(args), key)
    data = printing.render_recovery_sheet(code, name, key, lang=args.lang)
    printing.write_pdf(data, args.output)
    print(_("PDF guardado: {path}").format(path=args.output))
    return 0
