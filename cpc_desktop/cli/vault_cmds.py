"""`cpc` commands on the vault: init, demo, add, update, delete, show, list, history, users,
passwd, rekey, recover, audit, check, restore, forms (backups: backup_cmds.py)."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ..core import backups, disclosure, display, forms, wording
from ..core.errors import CpcError
from ..core.i18n import N_, _, ngettext
from ..core.vault import WITNESS_CHECK, Vault, passphrase_strength
from .common import (add_vault_args, new_passphrase, open_vault, passphrase,
                     print_json, read_json, read_secret_file, recovery_key, user_name,
                     vault_path)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help=_("crea una bóveda cifrada nueva"))
    add_vault_args(p, unlock=False)
    p.add_argument("--shelter", required=True, help=_("código del centro, p. ej. LOR-01"))
    p.add_argument("--shelter-name", required=True, help=_("nombre del centro"))
    p.add_argument("--user", required=True, help=_("primer usuario (coordinador/a)"))
    p.add_argument("--display-name", default=None, help=_("nombre completo del usuario"))
    p.add_argument("--passphrase-file", type=Path, default=None,
                   help=_("archivo con la contraseña del primer usuario"))
    p.add_argument("--kdf-seconds", type=float, default=0.5, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help=_("crea o llena una bóveda de demostración con datos "
                                      "ficticios"))
    add_vault_args(p)
    p.add_argument("--residents", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--services-per-resident", type=int, default=None)
    p.add_argument("--kdf-seconds", type=float, default=0.5, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("add", help=_("agrega un registro desde JSON; imprime su identificador"))
    add_vault_args(p)
    p.add_argument("form", help=_("formulario, p. ej. ficha_ingreso"))
    p.add_argument("--json", required=True, metavar=_("ARCHIVO|-"),
                   help=_("entrada: archivo JSON (UTF-8) con los valores del registro; «-» los "
                          "lee de la entrada estándar"))
    p.add_argument("--resident", default=None, help=_("identificador o código del residente"))
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("update", help=_("modifica campos de un registro desde JSON"))
    add_vault_args(p)
    p.add_argument("id")
    p.add_argument("--json", required=True, metavar=_("ARCHIVO|-"),
                   help=_("entrada: archivo JSON (UTF-8) con los campos que cambian; «-» los "
                          "lee de la entrada estándar"))
    p.add_argument("--replace", action="store_true",
                   help=_("el JSON es el registro completo (los campos ausentes se vacían)"))
    p.set_defaults(func=cmd_update)

    p = sub.add_parser("delete", help=_("elimina un registro (queda en el historial)"))
    add_vault_args(p)
    p.add_argument("id")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("show", help=_("muestra un registro o un residente"))
    add_vault_args(p)
    p.add_argument("id", help=_("identificador de registro, de residente o código interno"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("list", help=_("lista residentes, con búsqueda por nombre o código"))
    add_vault_args(p)
    p.add_argument("--search", default=None)
    p.add_argument("--status", choices=["in_care", "discharged"], default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("history", help=_("historial de cambios de un registro"))
    add_vault_args(p)
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("access-log", help=_("quién abrió, imprimió o exportó el expediente de "
                                            "un residente (solo coordinación)"))
    add_vault_args(p)
    p.add_argument("--resident", default=None, metavar="ID",
                   help=_("identificador o código interno del residente (sin él: todos)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_access_log)

    p = sub.add_parser("user", help=_("usuarios de la bóveda"))
    usub = p.add_subparsers(dest="user_command", required=True, metavar=_("COMANDO"))
    q = usub.add_parser("add", help=_("agrega un usuario"))
    add_vault_args(q)
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=["coordinator", "professional", "supervisor"])
    q.add_argument("--display-name", default=None)
    q.add_argument("--new-passphrase-file", type=Path, default=None,
                   help=_("archivo con la contraseña del nuevo usuario (si no: la variable "
                          "CPC_NEW_PASSPHRASE; si no: se pregunta dos veces)"))
    q.set_defaults(func=cmd_user_add)
    q = usub.add_parser("list", help=_("lista los usuarios"))
    add_vault_args(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_user_list)
    q = usub.add_parser("role", help=_("cambia el rol de un usuario"))
    add_vault_args(q)
    q.add_argument("name")
    q.add_argument("role", choices=["coordinator", "professional", "supervisor"])
    q.set_defaults(func=cmd_user_role)
    q = usub.add_parser("disable", help=_("desactiva un usuario y cambia la llave de la bóveda "
                                          "(su contraseña y las copias antiguas del archivo "
                                          "de llaves dejan de abrirla)"))
    add_vault_args(q)
    q.add_argument("name")
    _add_sheet_arg(q)
    q.set_defaults(func=cmd_user_disable)
    q = usub.add_parser("reset", help=_("pone una contraseña nueva a un usuario que la olvidó"))
    add_vault_args(q)
    q.add_argument("name")
    q.add_argument("--new-passphrase-file", type=Path, default=None)
    q.set_defaults(func=cmd_user_reset)

    p = sub.add_parser("passwd", help=_("cambia su contraseña (no vuelve a cifrar los datos)"))
    add_vault_args(p)
    p.add_argument("--new-passphrase-file", type=Path, default=None)
    p.add_argument("--compromised", action="store_true",
                   help=_("la contraseña anterior pudo ser vista: además cambia la llave de la "
                          "bóveda"))
    _add_sheet_arg(p)
    p.set_defaults(func=cmd_passwd)

    p = sub.add_parser("rekey", help=_("cambia la llave de la bóveda: vuelve a cifrar los "
                                       "datos con una llave nueva y da una clave de "
                                       "recuperación nueva"))
    add_vault_args(p)
    p.add_argument("--compromised", action="store_true",
                   help=_("motivo: una computadora o una contraseña pudo caer en otras manos"))
    _add_sheet_arg(p)
    p.set_defaults(func=cmd_rekey)

    p = sub.add_parser("recover", help=_("abre con la clave de recuperación y pone una "
                                         "contraseña nueva"))
    add_vault_args(p, unlock=False)
    p.add_argument("--user", default=None,
                   help=_("usuario que recibe la contraseña nueva (por defecto: la variable "
                          "CPC_USER)"))
    p.add_argument("--recovery-key-file", type=Path, default=None)
    p.add_argument("--new-passphrase-file", type=Path, default=None)
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("audit", help=_("muestra o verifica el registro de auditoría"))
    add_vault_args(p)
    p.add_argument("--verify", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("check", help=_("comprueba cifrado, estructura y auditoría"))
    add_vault_args(p)
    p.set_defaults(func=cmd_check)

    # `cpc backup` and the other backup commands: backup_cmds.py.
    p = sub.add_parser("restore", help=_("restaura una copia de seguridad (la bóveda actual se "
                                         "conserva al lado)"))
    p.add_argument("backup", type=Path)
    add_vault_args(p)
    p.add_argument("--as-new-vault", action="store_true",
                   help=_("restaura la copia como bóveda nueva en --vault, una carpeta que aún "
                          "no tiene bóveda (así se abre la copia de otra bóveda sin reemplazar "
                          "la propia)"))
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("forms", help=_("lista los formularios y sus campos"))
    p.add_argument("form", nargs="?")
    p.set_defaults(func=cmd_forms)


# ---------------------------------------------------------------- commands

def cmd_init(args) -> int:
    pw = read_secret_file(args.passphrase_file) if args.passphrase_file else new_passphrase(
        args, file_attr="passphrase_file", env="CPC_PASSPHRASE")
    vault, recovery = Vault.create(vault_path(args), shelter_code=args.shelter,
                                   shelter_name=args.shelter_name, user=args.user,
                                   passphrase=pw, display_name=args.display_name,
                                   kdf_seconds=args.kdf_seconds)
    vault.lock()
    print(_("Bóveda creada en {path}.").format(path=vault_path(args)))
    print_recovery_key(recovery)
    if passphrase_strength(pw) < 2:
        print(_("Consejo: una contraseña más larga (una frase de cuatro o más palabras) es más "
                "segura."))
    return 0


def print_recovery_key(recovery: str) -> None:
    print()
    print(_("CLAVE DE RECUPERACIÓN (se muestra una sola vez):"))
    print("    " + recovery)
    print(_("Imprímala o cópiela en papel y guárdela bajo llave, lejos del equipo. Con ella se "
            "recupera la bóveda si se olvidan todas las contraseñas; quien la tenga puede abrir "
            "la bóveda."))


def cmd_demo(args) -> int:
    from .. import demo

    path = vault_path(args)
    if not (path / "keyslots.json").exists():
        vault, recovery = demo.create_demo_vault(
            path, residents=args.residents, seed=args.seed, kdf_seconds=args.kdf_seconds,
            services_per_resident=args.services_per_resident)
        vault.lock()
        print(_("Bóveda de demostración creada en {path} con {n} residentes ficticios.").format(
            path=path, n=args.residents))
        print(_("Usuario: {user}  Contraseña: {pw}").format(user=demo.DEMO_USER,
                                                           pw=demo.DEMO_PASSPHRASE))
        return 0
    with open_vault(args) as vault:
        counts = demo.populate(vault, residents=args.residents, seed=args.seed,
                               services_per_resident=args.services_per_resident)
    print(_("Agregados: {counts}").format(
        counts=", ".join(f"{k} {v}" for k, v in sorted(counts.items()))))
    return 0


def _resident_id(vault: Vault, ref: str | None) -> str | None:
    return vault.find_resident(ref).id if ref else None


def cmd_add(args) -> int:
    forms.registry().get(args.form)
    values = read_json(args.json)
    with open_vault(args) as vault:
        record_id = vault.add(args.form, values, _resident_id(vault, args.resident))
    print(record_id)
    return 0


def cmd_update(args) -> int:
    values = read_json(args.json)
    with open_vault(args) as vault:
        vault.update(args.id, values, replace=args.replace)
    return 0


def cmd_delete(args) -> int:
    with open_vault(args) as vault:
        vault.delete(args.id)
    return 0


def cmd_show(args) -> int:
    from ..core.errors import NotFound

    with open_vault(args) as vault:
        try:
            record = vault.get(args.id)
        except NotFound:
            record = None
        if record is not None:
            disclosure.record(vault, disclosure.OPEN, [record.resident_id], record=record.id,
                              via="cli")
            if args.json:
                print_json(dataclasses.asdict(record))
            else:
                _print_record(vault, record)
            return 0
        resident = vault.find_resident(args.id)
        recs = vault.records(resident.id)
        disclosure.record(vault, disclosure.OPEN, [resident.id], via="cli")
        if args.json:
            print_json({"resident": dataclasses.asdict(resident),
                        "records": [dataclasses.asdict(r) for r in recs]})
            return 0
        _print_resident_line(resident, header=True)
        print()
        for r in recs:
            form = vault.forms.get(r.form)
            print(f"  {display.format_date(r.record_date):10}  {_(form.title):32}  {r.id}")
    return 0


def _print_record(vault: Vault, record) -> None:
    # As written: an older record with the definition of its version.
    form = vault.forms.at_version(record.form, record.form_version)
    resident = vault.resident(record.resident_id)
    print(f"{_(form.title)} ({form.code} v{record.form_version}) — {resident.internal_code}")
    print(_("Registrado por {who} el {when}; última modificación por {who2} el {when2}.").format(
        who=record.created_by, when=display.format_date(record.created_at[:10]),
        who2=record.updated_by, when2=display.format_date(record.updated_at[:10])))
    if record.deleted:
        print(_("ELIMINADO (se conserva en el historial)"))
    for section in form.sections:
        shown = [(f, record.values.get(f.id)) for f in section.fields
                 if f.stores_value and record.values.get(f.id) not in (None, "", [])]
        if not shown:
            continue
        print()
        print(f"== {_(section.title)} ==")
        for fld, value in shown:
            text = display.format_value(fld, value)
            if "\n" in text or fld.type in ("longtext", "table"):
                print(f"{_(fld.label)}:")
                for line in text.splitlines():
                    print(f"    {line}")
            else:
                print(f"{_(fld.label)}: {text}")
    kept = form.kept(record.values)
    if kept:
        print()
        title = _("Datos conservados de otra versión")
        print(f"== {title} ==")
        for key, value in kept.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            print(f"{vault.forms.label_any(record.form, key)}: {shown}")


def _print_resident_line(r, header=False) -> None:
    name = f"{r.name_first} {r.name_last}".strip()
    status = display.format_status(r.status)
    if header:
        print(f"{r.internal_code}  {name}  ({status})  {r.id}")
    else:
        print(f"{r.internal_code:18} {name[:40]:40} {display.format_date(r.admission_date):10} "
              f"{status:14} {r.id}")


def cmd_list(args) -> int:
    with open_vault(args) as vault:
        rows = vault.residents(search=args.search, status=args.status, limit=args.limit)
    if args.json:
        print_json([dataclasses.asdict(r) for r in rows])
        return 0
    for r in rows:
        _print_resident_line(r)
    if not rows:
        print(_("Ningún residente coincide."))
    return 0


def cmd_history(args) -> int:
    with open_vault(args) as vault:
        record = vault.get(args.id)
        changes = vault.history(args.id)
        form = vault.forms.get(record.form)
    if args.json:
        print_json([dataclasses.asdict(c) for c in changes])
        return 0
    for c in changes:
        # A table cell reads "Table › Column" (its row travels as its own changes).
        label = wording.change_field(vault.forms, form.form, c.field)
        value = wording.change_value(vault.forms, form.form, c.field, c.value)
        print(f"{c.at[:19].replace('T', ' ')}  {c.user:16} {label}: {value}")
    return 0


def cmd_access_log(args) -> int:
    with open_vault(args) as vault:
        resident = vault.find_resident(args.resident).id if args.resident else None
        found = disclosure.entries(vault, resident)
        names = {u.name: u.display_name for u in vault.users()}
    if args.json:
        print_json([{"at": e.at, "user": e.user, "action": e.action, "resident": e.record_id,
                     **e.detail} for e in found])
        return 0
    if not found:
        print(_("Nadie abrió, imprimió ni exportó todavía este expediente.") if resident
              else _("Nadie abrió, imprimió ni exportó todavía ningún expediente."))
        return 0
    for e in found:
        action, what, why = disclosure.describe(e)
        line = f"{display.format_moment(e.at)}  {names.get(e.user, e.user):20} {action}"
        if not resident and e.record_id:
            line += f" [{e.record_id}]"
        if what:
            line += f": {what}"
        if why:
            line += " — " + _("motivo: {reason}").format(reason=why)
        print(line)
    return 0


def cmd_user_add(args) -> int:
    with open_vault(args) as vault:
        pw = new_passphrase(args)
        user = vault.add_user(args.name, args.role, pw, args.display_name)
    print(_("Usuario «{name}» agregado con rol {role}.").format(name=user.name,
                                                               role=user.role.label))
    return 0


def cmd_user_list(args) -> int:
    with open_vault(args) as vault:
        users = vault.users()
    if args.json:
        print_json([{**dataclasses.asdict(u), "role": u.role.value} for u in users])
        return 0
    for u in users:
        state = "" if u.active else _(" (desactivado)")
        print(f"{u.name:20} {u.role.label}{state}")
    return 0


def cmd_user_role(args) -> int:
    with open_vault(args) as vault:
        vault.set_role(args.name, args.role)
    return 0


def _add_sheet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recovery-sheet", type=Path, default=None, metavar=_("ARCHIVO.pdf"),
                   help=_("guarda la hoja de la clave de recuperación nueva en este PDF"))
    p.add_argument("--lang", default="es+qu", choices=["es", "qu", "es+qu"],
                   help=_("idioma de la hoja de recuperación"))


def _progress_printer():
    import sys

    shown = [-1]

    def progress(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct != shown[0] and sys.stderr.isatty():
            shown[0] = pct
            print(f"\r{pct:3d} %", end="", file=sys.stderr, flush=True)

    return progress


def _after_rekey(args, result) -> None:
    """What every re-key tells the user: the new recovery key, who lost access, backups."""
    print(_("Llave de la bóveda cambiada en {s:.1f} s: los datos están cifrados con una llave "
            "nueva.").format(s=result.seconds))
    print(_("Las copias de seguridad anteriores siguen abriéndose solo con las contraseñas y la "
            "clave de recuperación de su fecha (también las de usuarios ya desactivados): "
            "guárdelas bajo llave o destrúyalas, y haga una copia nueva ahora."))
    if result.lost_access:
        print(_("Estos usuarios no abrieron la bóveda desde la actualización del programa y "
                "necesitan que la coordinación les ponga una contraseña nueva: {users}").format(
            users=", ".join(result.lost_access)))
    print_recovery_key(result.recovery_key)
    print(_("La clave de recuperación anterior ya no sirve: destruya su hoja."))
    if args.recovery_sheet is not None:
        from .. import printing

        data = printing.render_recovery_sheet(result.shelter_code, result.shelter_name,
                                              result.recovery_key, lang=args.lang)
        printing.write_pdf(data, args.recovery_sheet)
        print(_("PDF guardado: {path}").format(path=args.recovery_sheet))


def _check_sheet(args) -> None:
    # Before the re-key: the folder for the new sheet must be writable.
    if getattr(args, "recovery_sheet", None) is not None:
        from .. import printing

        printing.check_destination(args.recovery_sheet)


def cmd_user_disable(args) -> int:
    _check_sheet(args)
    with open_vault(args) as vault:
        result = vault.disable_user(args.name, progress=_progress_printer())
    print(_("Usuario «{name}» desactivado.").format(name=args.name))
    _after_rekey(args, result)
    return 0


def cmd_rekey(args) -> int:
    _check_sheet(args)
    with open_vault(args) as vault:
        result = vault.rekey("compromised" if args.compromised else "coordinator",
                             progress=_progress_printer())
    _after_rekey(args, result)
    return 0


def cmd_user_reset(args) -> int:
    with open_vault(args) as vault:
        vault.reset_passphrase(args.name, new_passphrase(args))
    return 0


def cmd_passwd(args) -> int:
    _check_sheet(args)
    old = passphrase(args, prompt=_("Contraseña actual: "))
    with Vault.open(vault_path(args), user_name(args), old) as vault:
        vault.change_passphrase(old, new_passphrase(args))
        result = vault.rekey("compromised", progress=_progress_printer()) \
            if args.compromised else None
    print(_("Contraseña cambiada."))
    if result is not None:
        _after_rekey(args, result)
    return 0


def cmd_recover(args) -> int:
    key = recovery_key(args)
    name = user_name(args)
    with Vault.open_with_recovery(vault_path(args), key, name, new_passphrase(args)):
        pass
    print(_("Contraseña nueva puesta para «{name}».").format(name=name))
    return 0


def cmd_audit(args) -> int:
    with open_vault(args) as vault:
        if args.verify:
            result = vault.verify_audit()
            if result.ok:
                print(_("Registro de auditoría íntegro: {n} entradas verificadas.").format(
                    n=result.checked))
                if result.unsigned:
                    print(ngettext("La primera entrada es anterior a las firmas del equipo "
                                   "(se escribió con una versión anterior): solo se comprueba "
                                   "su encadenamiento.",
                                   "Las primeras {n} entradas son anteriores a las firmas del "
                                   "equipo (se escribieron con una versión anterior): solo se "
                                   "comprueba su encadenamiento.", result.unsigned).format(
                        n=result.unsigned))
                return 0
            raise CpcError(_("El registro de auditoría fue alterado: la entrada {n} no "
                             "encadena con la anterior ({reason}).").format(
                n=result.broken_at, reason=_(AUDIT_REASONS.get(result.reason, result.reason))))
        entries = vault.audit_log(limit=args.limit)
    if args.json:
        print_json([dataclasses.asdict(e) for e in entries])
        return 0
    for e in entries:
        print(f"{e.seq:6} {e.at[:19].replace('T', ' ')} {e.user:16} {e.action:16} "
              f"{e.record_id or ''}")
    return 0


AUDIT_REASONS = {"missing": N_("falta una entrada"), "reordered": N_("entradas reordenadas"),
                 "edited": N_("entrada modificada"),
                 "truncated": N_("faltan las últimas entradas"),
                 "signature": N_("la firma del equipo no corresponde: se reconstruyó la cadena"),
                 "unsigned": N_("faltan firmas del equipo")}


def cmd_check(args) -> int:
    with open_vault(args) as vault:
        report = vault.check()
    for name, ok, message in report.items:
        print(f"{'OK   ' if ok else 'ERROR'} {name}{': ' + message if message else ''}")
    if report.ok:
        return 0
    if all(ok or name == WITNESS_CHECK for name, ok, _m in report.items):
        raise CpcError(_("Esta bóveda está bien, pero el registro de auditoría de otro equipo "
                         "no coincide con lo que este equipo vio (detalle arriba). No restaure "
                         "nada aquí: avise a la coordinación para que revise ese equipo."))
    if all(ok or name in ("audit", WITNESS_CHECK) for name, ok, _m in report.items):
        raise CpcError(_("Los registros están legibles, pero el registro de auditoría de este "
                         "equipo fue alterado (detalle arriba): alguien con acceso a la bóveda "
                         "quitó o cambió entradas. Guarde una copia de la carpeta tal como "
                         "está y avise a la coordinación."))
    raise CpcError(_("La comprobación encontró problemas: la bóveda está dañada. No use "
                     "este equipo para registrar hasta restaurar la última copia de "
                     "seguridad."))


def cmd_restore(args) -> int:
    kept = backups.restore(args.backup, vault_path(args), user_name(args), passphrase(args),
                           as_new=args.as_new_vault)
    if args.as_new_vault:
        print(_("Copia restaurada como bóveda nueva en {path}.").format(path=vault_path(args)))
    else:
        print(_("Copia restaurada en {path}.").format(path=vault_path(args)))
    if kept:
        print(_("La bóveda anterior se conserva en {path}.").format(path=kept))
    return 0


def cmd_forms(args) -> int:
    reg = forms.registry()
    if not args.form:
        for f in reg:
            print(f"{f.form:22} {f.code:8} v{f.version}  {_(f.title)}")
        return 0
    form = reg.get(args.form)
    for section in form.sections:
        print(f"== {_(section.title)} ==")
        for f in section.fields:
            req = "*" if f.required else " "
            extra = ""
            if f.choices:
                extra = " [" + ", ".join(c.value for c in f.choices) + "]"
            if f.columns:
                extra = " {" + ", ".join(c.id for c in f.columns) + "}"
            print(f" {req} {f.id:32} {f.type:11} {_(f.label)}{extra}")
    return 0
