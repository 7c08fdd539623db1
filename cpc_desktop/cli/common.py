"""What every `cpc` command shares: vault path, user, passphrase sources, JSON and exit codes."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from ..core.errors import CpcError
from ..core.i18n import N_, _
from ..core.vault import Vault, default_vault_path


class UserError(CpcError):
    """A mistake in what was asked (exit code 1)."""


def add_vault_args(p: argparse.ArgumentParser, *, unlock: bool = True) -> None:
    p.add_argument("--vault", type=Path, default=None,
                   help=_("carpeta de la bóveda (por defecto: {path})").format(
                       path=default_vault_path()))
    if unlock:
        p.add_argument("--user", default=None,
                       help=_("usuario (por defecto: la variable CPC_USER)"))
        p.add_argument("--passphrase-file", type=Path, default=None,
                       help=_("archivo cuya primera línea es la contraseña (si no: la variable "
                              "CPC_PASSPHRASE; si no: se pregunta)"))


# Help and placeholder names for options many commands share, by argparse dest; a command's
# own help= or metavar= wins. Without these, argparse would show the English dest ("VAULT").
SHARED_HELP = {
    "json": N_("salida en JSON, para otros programas"),
    "limit": N_("muestra como máximo este número de filas"),
    "search": N_("texto que buscar en nombres, apodos y código interno (sin tildes ni "
                 "mayúsculas)"),
    "status": N_("solo residentes en acogida o solo egresados"),
    "id": N_("identificador del registro"),
    "name": N_("nombre de usuario"),
    "role": N_("rol del usuario: coordinador/a, profesional o supervisor/a (solo lectura)"),
    "display_name": N_("nombre completo del usuario"),
    "new_passphrase_file": N_("archivo cuya primera línea es la contraseña nueva (si no: la "
                              "variable CPC_NEW_PASSPHRASE; si no: se pregunta dos veces)"),
    "recovery_key_file": N_("archivo cuya primera línea es la clave de recuperación (si no: "
                            "se pregunta)"),
    "residents": N_("cuántos residentes ficticios crear"),
    "seed": N_("semilla: el mismo número da los mismos datos ficticios"),
    "services_per_resident": N_("cuántas atenciones ficticias por residente"),
    "verify": N_("comprueba la cadena de auditoría y dice el primer eslabón roto"),
    "backup": N_("archivo .cpcbackup de la copia"),
    "form": N_("formulario, p. ej. ficha_ingreso (sin él: todos)"),
    "format": N_("formato del informe"),
    "lang": N_("idioma"),
    "output": N_("archivo que se crea"),
    "out": N_("archivo que se crea"),
}
METAVARS = {
    "vault": N_("CARPETA"), "folder": N_("CARPETA"), "user": N_("USUARIO"),
    "name": N_("USUARIO"), "passphrase_file": N_("ARCHIVO"),
    "new_passphrase_file": N_("ARCHIVO"), "recovery_key_file": N_("ARCHIVO"),
    "hub_password_file": N_("ARCHIVO"), "code_file": N_("ARCHIVO"), "file": N_("ARCHIVO"),
    "output": N_("ARCHIVO"), "out": N_("ARCHIVO"), "backup": N_("ARCHIVO"),
    "shelter": N_("CÓDIGO"), "shelter_name": N_("NOMBRE"), "display_name": N_("NOMBRE"),
    "prepared_by": N_("NOMBRE"), "form": N_("FORMULARIO"), "resident": N_("RESIDENTE"),
    "id": "ID", "record": "ID", "search": N_("TEXTO"), "limit": "N", "residents": "N",
    "seed": "N", "services_per_resident": "N", "keep": "N", "remind_days": N_("DÍAS"),
    "lang": N_("IDIOMA"),
}


def finish_parser(parser: argparse.ArgumentParser) -> None:
    """Gives every option of every subcommand its shared help text and a translated
    placeholder name (see SHARED_HELP, METAVARS)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                finish_parser(sub)
            continue
        if action.help is None and action.dest in SHARED_HELP:
            action.help = _(SHARED_HELP[action.dest])
        if action.metavar is None and action.nargs != 0 and not action.choices \
                and action.dest in METAVARS:
            action.metavar = _(METAVARS[action.dest])


def vault_path(args) -> Path:
    return Path(args.vault) if args.vault else default_vault_path()


def user_name(args) -> str:
    name = getattr(args, "user", None) or os.environ.get("CPC_USER")
    if not name:
        if sys.stdin.isatty():
            name = input(_("Usuario: ")).strip()
        if not name:
            raise UserError(_("Indique el usuario con --user o la variable CPC_USER."))
    return name


def read_secret_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise UserError(_("No se puede leer el archivo de contraseña.")) from None
    line = text.splitlines()[0] if text else ""
    if not line:
        raise UserError(_("El archivo de contraseña está vacío."))
    return line


def passphrase(args, *, prompt: str | None = None) -> str:
    if getattr(args, "passphrase_file", None):
        return read_secret_file(args.passphrase_file)
    env = os.environ.get("CPC_PASSPHRASE")
    if env:
        return env
    return _prompt_secret(prompt or _("Contraseña: "))


def new_passphrase(args, *, file_attr: str = "new_passphrase_file",
                   env: str = "CPC_NEW_PASSPHRASE") -> str:
    """A passphrase being set: from its file, its variable, or typed twice."""
    path = getattr(args, file_attr, None)
    if path:
        return read_secret_file(path)
    if os.environ.get(env):
        return os.environ[env]
    first = _prompt_secret(_("Nueva contraseña: "))
    second = _prompt_secret(_("Repita la nueva contraseña: "))
    if first != second:
        raise UserError(_("Las dos contraseñas no coinciden; no se ha cambiado nada."))
    return first


def recovery_key(args) -> str:
    """The recovery key from --recovery-key-file, else typed (hidden)."""
    if getattr(args, "recovery_key_file", None):
        return read_secret_file(args.recovery_key_file)
    if sys.stdin.isatty():
        return getpass.getpass(_("Clave de recuperación: "))
    raise UserError(_("Falta la clave de recuperación: use --recovery-key-file."))


def _prompt_secret(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise UserError(_("Falta la contraseña: use --passphrase-file o la variable "
                          "CPC_PASSPHRASE."))
    return getpass.getpass(prompt)


def open_vault(args) -> Vault:
    return Vault.open(vault_path(args), user_name(args), passphrase(args))


MAX_JSON_DEPTH = 64   # forms nest two levels (a table's rows); deeper is not a record


def read_json(source: str):
    """Input values as JSON, from a file or "-" (standard input). Every way the input can be
    wrong is one UserError naming it; nothing is read into the vault before this passes."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError:
        raise UserError(_("No se puede leer el archivo JSON «{path}».").format(path=source)) \
            from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(_("El JSON no está en UTF-8 (byte no válido en la posición {pos}). "
                          "Guárdelo como UTF-8 y vuelva a intentarlo.").format(pos=exc.start)) \
            from None
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nesting(text) > MAX_JSON_DEPTH:
        raise UserError(_("El JSON tiene demasiados niveles anidados (más de {n}); un registro "
                          "no tiene esa forma.").format(n=MAX_JSON_DEPTH))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(_("El JSON no es válido (línea {line}, columna {col}).").format(
            line=exc.lineno, col=exc.colno)) from None
    except (ValueError, RecursionError):   # an integer of thousands of digits
        raise UserError(_("El JSON tiene un número demasiado largo (miles de cifras); ningún "
                          "campo admite un número así.")) from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(_("El JSON contiene un carácter Unicode no válido (un «\\ud800» suelto, "
                          "mitad de un par sustituto); corrija ese texto.")) from None
    return value


def _nesting(text: str) -> int:
    """Deepest bracket nesting outside strings (json would recurse that deep)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
