"""`cpc attach`, `cpc attachments`, `cpc export-attachment`, `cpc remove-attachment`:
photos and scanned documents of a resident, kept encrypted in the vault."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..core import attachments, display
from ..core.i18n import _
from .common import add_vault_args, open_vault, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attach", help=_("adjunta una foto (JPEG, PNG) o un PDF a un residente; "
                                        "imprime el identificador del adjunto"))
    add_vault_args(p)
    p.add_argument("--resident", required=True, help=_("identificador o código del residente"))
    p.add_argument("file", type=Path, metavar=_("ARCHIVO"),
                   help=_("la foto (JPEG, PNG) o el documento escaneado (PDF), hasta 25 MB"))
    p.add_argument("--type", dest="kind", default="otro", metavar=_("TIPO"),
                   help=_("tipo de adjunto: {kinds}; por defecto, {default}").format(
                       kinds=", ".join(k for k, _label in attachments.kinds()),
                       default="otro"))
    p.add_argument("--record", default=None,
                   help=_("identificador del registro al que pertenece (opcional)"))
    p.add_argument("--note", default="", metavar=_("TEXTO"), help=_("una nota breve"))
    p.add_argument("--date", default=None, metavar=_("AAAA-MM-DD"),
                   help=_("fecha del documento (por defecto: hoy)"))
    p.add_argument("--keep-original", action="store_true",
                   help=_("guarda la foto tal cual, sin reducirla ni quitarle los metadatos "
                          "(EXIF, ubicación GPS)"))
    p.set_defaults(func=cmd_attach)

    p = sub.add_parser("attachments", help=_("lista los adjuntos de un residente"))
    add_vault_args(p)
    p.add_argument("--resident", required=True, help=_("identificador o código del residente"))
    p.add_argument("--record", default=None, help=_("solo los de este registro"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_attachments)

    p = sub.add_parser("export-attachment",
                       help=_("guarda el contenido de un adjunto en un archivo (queda anotado "
                              "en el registro de divulgaciones)"))
    add_vault_args(p)
    p.add_argument("id", metavar="ID", help=_("identificador del adjunto"))
    p.add_argument("-o", "--out", type=Path, required=True, metavar=_("SALIDA"),
                   help=_("archivo (o carpeta) de salida"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("remove-attachment", help=_("elimina un adjunto (también de los demás "
                                                   "equipos al sincronizar)"))
    add_vault_args(p)
    p.add_argument("id", metavar="ID", help=_("identificador del adjunto"))
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("sync-attachments",
                       help=_("cómo viajan los adjuntos por un punto de intercambio en red (WebDAV): todos, "
                              "solo por memoria USB, o solo los de hasta cierto tamaño"))
    add_vault_args(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--usb-only", action="store_true",
                     help=_("adjuntos solo por memoria USB (o carpeta), nunca por la red"))
    how.add_argument("--network", action="store_true",
                     help=_("adjuntos también por la red"))
    p.add_argument("--max-mb", type=float, default=None, metavar="N",
                   help=_("por la red, solo adjuntos de hasta N MB (0: sin límite)"))
    p.set_defaults(func=cmd_sync_attachments)


def cmd_attach(args) -> int:
    with open_vault(args) as vault:
        resident = vault.find_resident(args.resident).id
        att = attachments.add(vault, resident, args.file, kind=args.kind,
                              record_id=args.record, note=args.note, date=args.date,
                              keep_original=args.keep_original)
    print(att.id)
    return 0


def cmd_attachments(args) -> int:
    with open_vault(args) as vault:
        resident = vault.find_resident(args.resident).id
        found = attachments.list_for(vault, resident, record_id=args.record)
        labels = dict(attachments.kinds())
    if args.json:
        print_json([dataclasses.asdict(a) for a in found])
        return 0
    if not found:
        print(_("Este residente no tiene adjuntos."))
    for a in found:
        state = "" if a.present else "  (" + attachments.missing_text() + ")"
        print(f"{a.id}  {display.format_date(a.date)}  {labels.get(a.kind, a.kind)}  "
              f"{a.filename}  {_size(a.size)}{state}")
    return 0


def _size(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MB" if n >= 2 ** 20 else f"{max(1, round(n / 1024))} KB"


def cmd_export(args) -> int:
    with open_vault(args) as vault:
        out = attachments.export(vault, args.id, args.out)
    print(out)
    return 0


def cmd_sync_attachments(args) -> int:
    from ..sync import attachments as attach_sync

    with open_vault(args) as vault:
        pol = attach_sync.policy(vault)
        if args.usb_only or args.network or args.max_mb is not None:
            usb_only = args.usb_only or (pol.usb_only and not args.network)
            max_bytes = pol.max_bytes if args.max_mb is None else (
                int(args.max_mb * 2 ** 20) or None)
            attach_sync.set_policy(vault, usb_only=usb_only, max_bytes=max_bytes)
            pol = attach_sync.policy(vault)
    if pol.usb_only:
        print(_("Adjuntos: solo por memoria USB o carpeta; por la red viajan solo sus datos "
                "(tipo, fecha, nota)."))
    elif pol.max_bytes:
        print(_("Adjuntos: por la red, los de hasta {size}; los más grandes, por memoria "
                "USB.").format(size=_size(pol.max_bytes)))
    else:
        print(_("Adjuntos: por la red y por memoria USB."))
    return 0


def cmd_remove(args) -> int:
    with open_vault(args) as vault:
        attachments.remove(vault, args.id)
    return 0
