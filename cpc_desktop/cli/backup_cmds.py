"""`cpc` commands for backups: backup (with verify and rotation), backups, backup-settings,
verify-backup. `cpc restore` stays with the vault commands."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core import backups, display, wording
from ..core.i18n import _
from .common import UserError, add_vault_args, open_vault, passphrase, print_json, user_name


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help=_("copia de seguridad cifrada (a la carpeta configurada, "
                                        "o a la indicada)"))
    add_vault_args(p)
    p.add_argument("out", type=Path, nargs="?", default=None,
                   help=_("carpeta de destino, o archivo .cpcbackup (por defecto: la carpeta "
                          "configurada con backup-settings)"))
    p.add_argument("--verify", action="store_true",
                   help=_("abre la copia con la clave y la comprueba antes de darla por buena"))
    p.add_argument("--keep", type=int, default=None,
                   help=_("cuántas copias de esta bóveda se conservan en la carpeta (por "
                          "defecto: la configuración, {n} si no se cambió)").format(
                       n=backups.DEFAULT_KEEP))
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("backups", help=_("lista las copias, la última y el próximo "
                                         "recordatorio"))
    add_vault_args(p)
    p.add_argument("--folder", type=Path, default=None,
                   help=_("otra carpeta que revisar (por defecto: la configurada)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backups)

    p = sub.add_parser("backup-settings", help=_("carpeta de las copias, cuántas se conservan "
                                                 "y cada cuántos días recordar"))
    add_vault_args(p)
    p.add_argument("--folder", type=Path, default=None,
                   help=_("carpeta o memoria USB donde guardar las copias"))
    p.add_argument("--keep", type=int, default=None,
                   help=_("cuántas copias de esta bóveda se conservan"))
    p.add_argument("--remind-days", type=int, default=None,
                   help=_("recordar cuando la última copia tenga estos días"))
    p.set_defaults(func=cmd_settings)

    p = sub.add_parser("verify-backup", help=_("abre una copia con su contraseña y la comprueba "
                                               "(no modifica nada)"))
    p.add_argument("backup", type=Path)
    p.add_argument("--user", default=None, help=_("usuario (por defecto: la variable CPC_USER)"))
    p.add_argument("--passphrase-file", type=Path, default=None,
                   help=_("archivo cuya primera línea es la contraseña"))
    p.set_defaults(func=cmd_verify)


def cmd_backup(args) -> int:
    with open_vault(args) as vault:
        if args.out is not None and args.out.suffix == backups.SUFFIX and not args.out.is_dir():
            path, removed = backups.backup_to_file(vault, args.out, verify=args.verify), []
        else:
            if args.out is None and backups.get_settings(vault).folder is None:
                raise UserError(_("No hay carpeta de copias configurada: indíquela con «cpc "
                                  "backup-settings --folder CARPETA» o dé el destino."))
            result = backups.backup_now(vault, args.out, keep=args.keep, verify=args.verify)
            path, removed = result.path, result.removed
    print(_("Copia de seguridad cifrada escrita en {path}.").format(path=path))
    if args.verify:
        print(_("Copia comprobada: se abre con la clave y pasa la comprobación."))
    for old in removed:
        print(_("Copia antigua eliminada: {name}").format(name=old.name))
    return 0


def cmd_backups(args) -> int:
    with open_vault(args) as vault:
        settings = backups.get_settings(vault)
        last = backups.last_backup(vault)
        due = backups.backup_due(vault)
        reminder = backups.next_reminder(vault)
        folder = args.folder or settings.folder
        found = backups.list_backups(folder) if folder else []
        ours = [b for b in found if b.vault_id == vault.vault_id]
        unreadable = [b for b in found if not b.readable]
    if args.json:
        print_json({"folder": str(folder) if folder else None, "keep": settings.keep,
                    "remind_days": settings.remind_days,
                    "last_backup": last[0].isoformat() if last else None,
                    "last_file": last[1] if last else None,
                    "next_reminder": reminder.isoformat() if reminder else None,
                    "due": bool(due),
                    "backups": [{"file": b.path.name, "created_at": b.created_at,
                                 "size": b.size, "schema_version": b.schema_version}
                                for b in ours],
                    "unreadable": [b.path.name for b in unreadable]})
        return 0
    if folder:
        print(_("Carpeta de copias: {folder} (se conservan las {n} más recientes)").format(
            folder=folder, n=settings.keep))
    else:
        print(_("Carpeta de copias: sin elegir (cpc backup-settings --folder CARPETA)"))
    if last:
        print(_("Última copia: {when} ({name})").format(when=wording.moment(last[0]),
                                                      name=last[1]))
    else:
        print(_("Última copia: ninguna"))
    if due:
        print(_("Recordatorio: {message}").format(message=due))
    elif reminder:
        print(_("Próximo recordatorio: {date}").format(date=display.format_date(reminder)))
    if folder:
        print()
        if not ours:
            print(_("No hay copias de esta bóveda en la carpeta."))
        for b in ours:
            print(f"  {wording.moment(b.created)}  {wording.format_size(b.size):>9}  {b.path.name}")
        for b in unreadable:
            print(_("  ¡Dañada o no es una copia!  {name}").format(name=b.path.name))
    return 0


def cmd_settings(args) -> int:
    with open_vault(args) as vault:
        if args.folder is not None or args.keep is not None or args.remind_days is not None:
            settings = backups.set_settings(vault, folder=args.folder, keep=args.keep,
                                            remind_days=args.remind_days)
            print(_("Configuración de copias guardada."))
        else:
            settings = backups.get_settings(vault)
    print(_("Carpeta: {folder}").format(folder=settings.folder or _("sin elegir")))
    print(_("Se conservan: {n} copias").format(n=settings.keep))
    print(_("Recordar cada: {n} días").format(n=settings.remind_days))
    return 0


def cmd_verify(args) -> int:
    checked = backups.verify_backup(args.backup, user_name(args), passphrase(args))
    print(_("Copia comprobada: {name} (del {when}, {n} entradas de auditoría íntegras). Sirve "
            "para restaurar.").format(name=checked.path.name,
                                      when=wording.moment(checked.info.created),
                                      n=checked.audit_entries))
    return 0


