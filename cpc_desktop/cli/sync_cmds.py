"""`cpc` sync commands: sync, invite, join, conflicts, duplicates, devices.

Hub passwords come from --hub-password-file, the CPC_HUB_PASSWORD variable, the vault (where a
previous `--save-hub` stored them, encrypted with everything else) or a hidden prompt — never
from the command line. The invitation code is printed once by `invite` and read by `join`
from --code-file, CPC_INVITE_CODE or a prompt.
"""
from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import sys
from pathlib import Path

from ..core import display, wording
from ..core.i18n import _, ngettext
from ..core.users import Action
from ..core.vault import DB_NAME
from ..sync import (KEEP_CURRENT, TAKE_KEPT, SyncEngine, conflicts, devices,
                    duplicate_residents, find_for_join, invitations, join_residents,
                    join_side, open_hub, resolve)
from .common import (UserError, add_vault_args, new_passphrase, open_vault, print_json,
                     read_secret_file, vault_path)
from .vault_cmds import print_recovery_key


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help=_("sincroniza con el punto de intercambio (carpeta o memoria "
                                      "USB, o WebDAV)"))
    add_vault_args(p)
    _hub_args(p)
    p.add_argument("--save-hub", action="store_true",
                   help=_("guarda el punto de intercambio (y su contraseña, cifrada en la bóveda) "
                          "para las "
                          "próximas veces"))
    p.add_argument("--hub-ca", type=Path, default=None, metavar=_("ARCHIVO"),
                   help=_("certificado (PEM) de un servidor WebDAV propio, p. ej. un Nextcloud "
                          "instalado en el centro; se guarda con --save-hub"))
    p.add_argument("--progress", action="store_true", help=_("muestra el avance"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("invite", help=_("crea una invitación para que otro equipo pida unirse "
                                        "al centro; muestra el código de un solo uso"))
    add_vault_args(p)
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("-o", "--output", type=Path, help=_("archivo de invitación"))
    action.add_argument("--list", action="store_true", help=_("lista las invitaciones hechas"))
    action.add_argument("--cancel", default=None, metavar="ID",
                        help=_("cancela una invitación aún no usada"))
    p.add_argument("--expires", type=float, default=invitations.DEFAULT_HOURS,
                   metavar=_("HORAS"), help=_("horas que vale la invitación (por defecto "
                                              "{n})").format(n=invitations.DEFAULT_HOURS))
    p.add_argument("--with-hub-password", action="store_true",
                   help=_("incluye la contraseña del punto de intercambio en la invitación (si no, "
                          "se da "
                          "aparte)"))
    p.add_argument("--shelter", default=None, help=_("centro (por defecto el de la bóveda)"))
    p.add_argument("--json", action="store_true")
    _hub_args(p)
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("join", help=_("pide unir este equipo a un centro con una invitación "
                                      "(crea la bóveda si no existe); muestra la huella que "
                                      "se lee a la coordinación"))
    p.add_argument("file", type=Path, help=_("archivo de invitación"))
    add_vault_args(p)
    p.add_argument("--code-file", type=Path, default=None,
                   help=_("archivo con el código de la invitación (si no: la variable "
                          "CPC_INVITE_CODE; si no: se pregunta)"))
    p.add_argument("--display-name", default=None)
    p.add_argument("--new-passphrase-file", type=Path, default=None,
                   help=_("contraseña del primer usuario de una bóveda nueva"))
    p.add_argument("--kdf-seconds", type=float, default=0.5, help=argparse.SUPPRESS)
    _hub_args(p)
    p.set_defaults(func=cmd_join)

    p = sub.add_parser("conflicts", help=_("valores sobrescritos por ediciones simultáneas en "
                                           "otro equipo, y posibles residentes duplicados"))
    add_vault_args(p)
    p.add_argument("--resolve", type=int, default=None, metavar=_("NÚMERO"),
                   help=_("resuelve el conflicto con ese número"))
    choice = p.add_mutually_exclusive_group()
    choice.add_argument("--keep-current", action="store_true",
                        help=_("conserva el valor actual"))
    choice.add_argument("--take-kept", action="store_true",
                        help=_("recupera el valor sobrescrito"))
    choice.add_argument("--value", default=None, metavar=_("VALOR_JSON"),
                        help=_("pone otro valor (JSON)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser("duplicates", help=_("posibles residentes duplicados (registrados dos "
                                            "veces); une dos de ellos"))
    add_vault_args(p)
    p.add_argument("--join", nargs=2, default=None, metavar=(_("CONSERVAR"), _("OTRO")),
                   help=_("une OTRO a CONSERVAR (identificador o código interno): CONSERVAR "
                          "muestra después los registros de ambos (solo coordinación)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("devices", help=_("equipos que sincronizan con este centro y "
                                         "solicitudes para unirse; aprueba, rechaza o revoca"))
    add_vault_args(p)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--approve", default=None, metavar="ID",
                        help=_("aprueba la solicitud (con --fingerprint)"))
    action.add_argument("--refuse", default=None, metavar="ID", help=_("rechaza la solicitud"))
    action.add_argument("--revoke", default=None, metavar="ID",
                        help=_("revoca el equipo (su identificador o su comienzo)"))
    p.add_argument("--fingerprint", default=None, metavar=_("HUELLA"),
                   help=_("la huella que lee en voz alta la persona del equipo nuevo"))
    p.add_argument("--coordinator-device", action="store_true",
                   help=_("el equipo aprobado podrá también invitar y revocar"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)


def _hub_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hub", default=None, metavar=_("CARPETA|URL"),
                   help=_("carpeta (memoria USB) o dirección WebDAV del punto de intercambio"))
    p.add_argument("--user-hub", default=None, metavar=_("USUARIO_HUB"),
                   help=_("usuario del punto de intercambio WebDAV"))
    p.add_argument("--hub-password-file", type=Path, default=None,
                   help=_("archivo con la contraseña del punto de intercambio (si no: la variable "
                          "CPC_HUB_PASSWORD; si no: se pregunta)"))


def _hub_password(args, saved: dict | None, url: str, user: str | None) -> str | None:
    if args.hub_password_file:
        return read_secret_file(args.hub_password_file)
    if os.environ.get("CPC_HUB_PASSWORD"):
        return os.environ["CPC_HUB_PASSWORD"]
    if saved and saved.get("url") == url and saved.get("user") == user and saved.get("password"):
        return saved["password"]
    if user and sys.stdin.isatty():
        return getpass.getpass(_("Contraseña del punto de intercambio: "))
    return None


def _hub_ca(args, saved: dict | None, url: str) -> str | None:
    """The PEM text of --hub-ca, or the one saved with this hub."""
    if getattr(args, "hub_ca", None):
        try:
            return args.hub_ca.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise UserError(_("No se puede leer el certificado {path} (debe ser un archivo "
                              "PEM).").format(path=args.hub_ca)) from None
    if saved and saved.get("url") == url:
        return saved.get("ca_pem")
    return None


def _resolve_hub(args, engine: SyncEngine) -> tuple[str, str | None, str | None]:
    saved = engine.hub_settings()
    url = args.hub or (saved or {}).get("url")
    if not url:
        raise UserError(_("Indique el punto de intercambio con --hub (una carpeta o una dirección "
                          "WebDAV)."))
    _no_secret_in_url(url)
    user = args.user_hub if args.user_hub is not None else (
        (saved or {}).get("user") if saved and saved.get("url") == url else None)
    password = None
    if url.startswith(("http://", "https://", "dav://", "davs://")):
        password = _hub_password(args, saved, url, user)
    return url, user, password


def _no_secret_in_url(url: str) -> None:
    if url.startswith(("http://", "https://")):
        import httpx

        if httpx.URL(url).password:
            raise UserError(_("No escriba la contraseña del punto de intercambio en la dirección: "
                              "use "
                              "--hub-password-file o se le preguntará."))


def cmd_sync(args) -> int:
    with open_vault(args) as vault:
        engine = SyncEngine(vault)
        url, user, password = _resolve_hub(args, engine)
        ca_pem = _hub_ca(args, engine.hub_settings(), url)
        hub = open_hub(url, user, password, **({"ca_pem": ca_pem} if ca_pem else {}))
        progress = None
        if args.progress:
            def progress(p):
                line = wording.progress_text(p)
                # Padded: a shorter line must not leave the end of the previous one.
                print("\r" + line.ljust(50), end="", file=sys.stderr, flush=True)
        try:
            report = engine.sync(hub, progress=progress)
        finally:
            hub.close()
            if args.progress:
                print(file=sys.stderr)
        if args.save_hub:
            engine.save_hub(url, user, password, ca_pem=ca_pem)
        status = engine.status()
    if args.json:
        data = dataclasses.asdict(report)
        data["refused"] = [str(r) for r in report.refused]
        # Every notice in one list: withholding, clock, the hub's files, and each refusal.
        data["notices"] += [{"kind": "refused", "message": str(r), "device": r.device,
                             "by": ""} for r in report.refused]
        data["waiting_changes"] = status.waiting_changes
        print_json(data)
    else:
        print(_("Sincronizado con {hub}: paquetes de cambios enviados {sent}, recibidos {recv} "
                "(cambios "
                "recibidos: {changes}).").format(hub=report.hub, sent=report.sent_batches,
                                                 recv=report.received_batches,
                                                 changes=report.received_changes))
        if report.new_conflicts:
            print(_("Conflictos nuevos: {n}. Revíselos con «cpc conflicts».").format(
                n=report.new_conflicts))
        if report.duplicates:
            print(_("Posibles residentes duplicados: {n}. Revíselos con «cpc conflicts».").format(
                n=len(report.duplicates)))
        if report.attachments_completed:
            print(_("Adjuntos recibidos completos: {n}.").format(
                n=report.attachments_completed))
        if report.attachments_held_back:
            print(ngettext("{n} adjunto queda para la memoria USB (ajuste de este punto de "
                           "intercambio).",
                           "{n} adjuntos quedan para la memoria USB (ajuste de este punto de "
                           "intercambio).",
                           report.attachments_held_back).format(n=report.attachments_held_back))
        elif report.attachments_waiting:
            print(ngettext("{n} adjunto llegará en la próxima sincronización.",
                           "{n} adjuntos llegarán en la próxima sincronización.",
                           report.attachments_waiting).format(n=report.attachments_waiting))
        for notice in report.notices:
            print(_("Aviso: {message}").format(message=notice), file=sys.stderr)
    for refusal in report.refused:
        print(_("Rechazado: {message}").format(message=str(refusal)), file=sys.stderr)
    return 0 if report.ok else 1


def cmd_invite(args) -> int:
    with open_vault(args) as vault:
        if args.list:
            found = invitations.list_invitations(vault)
        elif args.cancel:
            invite = invitations.cancel_invitation(vault, args.cancel)
            print(_("Invitación {id} cancelada: ya no sirve para unirse.").format(id=invite))
            return 0
        else:
            hub = None
            if args.hub:
                _no_secret_in_url(args.hub)
                password = None
                if args.hub.startswith(("http://", "https://")) and args.with_hub_password:
                    password = _hub_password(args, None, args.hub, args.user_hub)
                hub = {"url": args.hub, "user": args.user_hub, "password": password}
            else:
                hub = SyncEngine(vault).hub_settings()
            code = invitations.create_invitation(vault, args.output, hub=hub,
                                                 shelter=args.shelter, hours=args.expires,
                                                 with_hub_password=args.with_hub_password)
            print(_("Invitación guardada en {path}; vale {hours} horas y para un solo "
                    "equipo.").format(path=args.output, hours=f"{args.expires:g}"))
            print(_("CÓDIGO (dígalo por teléfono o en persona; no lo escriba junto al archivo):"))
            print("    " + code)
            return 0
    if args.json:
        print_json([dataclasses.asdict(i) for i in found])
        return 0
    if not found:
        print(_("No hay invitaciones."))
    states = _invitation_states()
    for i in found:
        print(_("{id}  {shelter}  {state}  vence {expires}").format(
            id=i.id, shelter=i.shelter, state=states[i.state],
            expires=display.format_moment(i.expires_at)))
    return 0


def _invitation_states() -> dict[str, str]:
    return {"open": _("abierta"), "used": _("usada"), "cancelled": _("cancelada"),
            "expired": _("vencida")}


def _invite_code(args) -> str:
    if args.code_file:
        return read_secret_file(args.code_file)
    if os.environ.get("CPC_INVITE_CODE"):
        return os.environ["CPC_INVITE_CODE"]
    if not sys.stdin.isatty():
        raise UserError(_("Falta el código de la invitación: use --code-file o la variable "
                          "CPC_INVITE_CODE."))
    return getpass.getpass(_("Código de la invitación: "))


def _join_hub(args, payload: dict):
    """The hub the join request goes to now: --hub, or the one in the invitation."""
    saved = payload.get("hub") or {}
    url = args.hub or saved.get("url")
    if not url:
        return None
    _no_secret_in_url(url)
    user = args.user_hub if args.user_hub is not None else (
        saved.get("user") if saved.get("url") == url else None)
    password = None
    if url.startswith(("http://", "https://", "dav://", "davs://")):
        password = _hub_password(args, saved, url, user)
    return open_hub(url, user, password)


def _send_request(args, vault, payload: dict) -> None:
    hub = _join_hub(args, payload)
    if hub is None:
        print(_("Sincronice con el punto de intercambio del centro (cpc sync --hub …; una memoria "
                "USB sirve) "
                "para enviar la solicitud."))
        return
    try:
        invitations.exchange(vault, hub)
    finally:
        hub.close()
    print(_("Solicitud enviada al punto de intercambio {hub}. Cuando la coordinación la apruebe, "
            "sincronice "
            "(cpc sync) para recibir los datos del centro.").format(hub=hub.describe()))


def _print_fingerprint(pending) -> None:
    print(_("HUELLA de este equipo (léala en voz alta a la coordinación, que la escribe para "
            "aprobarlo):"))
    print("    " + pending.fingerprint)


def cmd_join(args) -> int:
    payload = invitations.read_invitation(args.file, _invite_code(args))
    path = vault_path(args)
    if (path / DB_NAME).exists():
        with open_vault(args) as vault:
            pending = invitations.join(vault, payload)
            print(_("Solicitud para sincronizar también el centro {shelter}.").format(
                shelter=pending.shelter))
            _print_fingerprint(pending)
            _send_request(args, vault, payload)
        return 0
    first_user = args.user or os.environ.get("CPC_USER")
    if not first_user:
        raise UserError(_("Indique con --user el primer usuario de la bóveda nueva."))
    pw = new_passphrase(args)
    vault, recovery = invitations.join_new_vault(
        path, payload, user=first_user, passphrase=pw, display_name=args.display_name,
        kdf_seconds=args.kdf_seconds)
    try:
        pending = invitations.pending_joins(vault)[0]
        print(_("Bóveda creada en {path} para el centro {shelter}.").format(
            path=path, shelter=vault.shelter_code))
        print_recovery_key(recovery)
        _print_fingerprint(pending)
        _send_request(args, vault, payload)
    finally:
        vault.lock()
    return 0


def _internal_code(vault, resident_id: str) -> str:
    from ..core.errors import NotFound

    try:
        return vault.resident(resident_id).internal_code
    except NotFound:
        return resident_id[-8:]


def cmd_conflicts(args) -> int:
    with open_vault(args) as vault:
        if args.resolve is not None:
            if args.value is not None:
                try:
                    choice = json.loads(args.value)
                except json.JSONDecodeError:
                    raise UserError(_("--value debe ser JSON, p. ej. '\"texto\"' o 3.")) from None
            elif args.take_kept:
                choice = TAKE_KEPT
            else:
                choice = KEEP_CURRENT
            resolve(vault, args.resolve, choice)
            print(_("Conflicto {n} resuelto; la decisión se enviará en la próxima "
                    "sincronización.").format(n=args.resolve))
            return 0
        found = conflicts(vault)
        dups = duplicate_residents(vault)
        if args.json:
            print_json({"conflicts": [dataclasses.asdict(c) for c in found],
                        "duplicates": [dataclasses.asdict(d) for d in dups]})
            return 0
        if not found:
            print(_("No hay conflictos por revisar."))
        for c in found:
            code = _internal_code(vault, c.resident_id)
            print(_("[{n}] {code} — {form}, «{field}»: valor actual {current}; valor "
                    "sobrescrito {kept} (de {user}, {when})").format(
                n=c.id, code=code, form=_(vault.forms.get(c.form).title),
                field=wording.change_field(vault.forms, c.form, c.field),
                current=wording.change_value(vault.forms, c.form, c.field, c.current_value),
                kept=wording.change_value(vault.forms, c.form, c.field, c.kept_value),
                user=c.kept_user,
                when=display.format_date(c.detected_at[:10])))
        for d in dups:
            print(_("Posible duplicado ({reason}): {codes}").format(
                reason=wording.duplicate_reason(d.reason), codes=", ".join(d.internal_codes)))
    return 0


def cmd_duplicates(args) -> int:
    with open_vault(args) as vault:
        if args.join:
            keep, other = (find_for_join(vault, ref) for ref in args.join)
            result = join_residents(vault, keep, other)
            if args.json:
                print_json(dataclasses.asdict(result))
                return 0
            print(_("Residentes unidos: {other} se muestra ahora como {keep}, con todos sus "
                    "registros. La unión se enviará en la próxima sincronización.").format(
                other=_internal_code(vault, other), keep=_internal_code(vault, keep)))
            if result.filled:
                print(_("Campos vacíos completados: {fields}.").format(fields=", ".join(
                    wording.change_field(vault.forms, vault.forms.intake.form, f)
                    for f in result.filled)))
            if result.review:
                print(_("Valores distintos por revisar en «cpc conflicts»: {fields}.").format(
                    fields=", ".join(wording.change_field(vault.forms, vault.forms.intake.form, f)
                                     for f in result.review)))
            return 0
        groups = [(g, [join_side(vault, rid) for rid in g.resident_ids])
                  for g in duplicate_residents(vault)]
    if args.json:
        print_json([{**dataclasses.asdict(g), "residents": [dataclasses.asdict(s)
                                                            for s in sides]}
                    for g, sides in groups])
        return 0
    if not groups:
        print(_("No hay posibles residentes duplicados."))
    for g, sides in groups:
        print(_("Posible duplicado ({reason}):").format(reason=wording.duplicate_reason(g.reason)))
        for side in sides:
            print("  " + _("{id}  {code}  {names}  nac. {birth}  ingreso {admission}  "
                           "{n} registros").format(
                id=side.id, code=side.internal_code,
                names=f"{side.name_first} {side.name_last}".strip(),
                birth=display.format_date(side.date_of_birth) or "—",
                admission=display.format_date(side.admission_date) or "—", n=side.records))
    if groups:
        print(_("Para unirlos: cpc duplicates --join CONSERVAR OTRO"))
    return 0


def cmd_devices(args) -> int:
    with open_vault(args) as vault:
        if args.approve:
            if not args.fingerprint:
                raise UserError(_("Escriba con --fingerprint la huella que le lee la persona "
                                  "del equipo nuevo."))
            role = devices.COORDINATOR if args.coordinator_device else devices.MEMBER
            req = invitations.approve_request(vault, args.approve, args.fingerprint, role=role)
            print(_("Equipo {device} aprobado. La aprobación viaja con la próxima "
                    "sincronización (cpc sync).").format(device=req.device[-8:]))
            return 0
        if args.refuse:
            invitations.refuse_request(vault, args.refuse)
            print(_("Solicitud rechazada; el equipo lo sabrá en la próxima sincronización."))
            return 0
        if args.revoke:
            epoch = devices.revoke(vault, args.revoke)
            print(_("Equipo revocado. Nueva época de llaves {epoch}: se enviará a los demás "
                    "equipos en la próxima sincronización; el equipo revocado no la "
                    "recibirá.").format(epoch=epoch))
            return 0
        found = devices.devices(vault)
        requests = (invitations.list_requests(vault)
                    if vault.user.can(Action.MANAGE_USERS) else [])
        pending = invitations.pending_joins(vault)
    if args.json:
        print_json({"devices": [dataclasses.asdict(d) for d in found],
                    "requests": [dataclasses.asdict(r) for r in requests],
                    "waiting_approval": [dataclasses.asdict(p) for p in pending]})
        return 0
    if not found and not requests and not pending:
        print(_("Esta bóveda aún no sincroniza con otros equipos."))
    roles = {devices.COORDINATOR: _("coordinación"), devices.MEMBER: _("equipo")}
    for d in found:
        state = _("revocado") if d.revoked else _("activo")
        mark = _(" (este equipo)") if d.this_device else ""
        print(_("{shelter}  {device}{mark}  {role}  {state}  desde {since}  último paquete de "
                "cambios "
                "{seq}").format(shelter=d.shelter, device=d.device, mark=mark,
                                role=roles.get(d.role, d.role), state=state,
                                since=display.format_date(d.added_at[:10]), seq=d.last_seq))
    states = {"pending": _("por aprobar"), "approved": _("aprobada"),
              "refused": _("rechazada")}
    for r in (r for r in requests if r.state == "pending"):
        print(_("Solicitud {id}  {shelter}  equipo {device}  {state}").format(
            id=r.id, shelter=r.shelter, device=r.device[-8:], state=states[r.state]))
    if any(r.state == "pending" for r in requests):
        print(_("Para aprobar una, con la huella que le lee la persona del equipo nuevo:"))
        print("    cpc devices --approve ID --fingerprint " + _("HUELLA"))
    for p in pending:
        print(_("Este equipo espera la aprobación para el centro {shelter}; huella "
                "{fingerprint}.").format(shelter=p.shelter, fingerprint=p.fingerprint))
    return 0
