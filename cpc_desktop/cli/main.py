"""Entry point of `cpc`. Exit codes: 0 ok, 1 a user error (one line on stderr), 2 usage."""
from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..core import i18n
from ..core.errors import CpcError, ValidationError
from ..core.i18n import N_, _
from .common import finish_parser

# Each module adds its subcommands with register(subparsers).
COMMAND_MODULES = ["vault_cmds", "attach_cmds", "backup_cmds", "print_cmds", "report_cmds", "sync_cmds",
                   "pending_cmds", "selftest_cmds", "i18n_cmds"]

# argparse speaks English through gettext; its user-facing texts are given Spanish msgids here
# so usage errors reach people in Spanish or Quechua like every other message.
ARGPARSE_TEXTS = {
    "usage: ": N_("uso: "),
    "%(prog)s: error: %(message)s\n": N_("%(prog)s: error: %(message)s\n"),
    "argument %(argument_name)s: %(message)s": N_("argumento %(argument_name)s: %(message)s"),
    "the following arguments are required: %s": N_("faltan estos argumentos: %s"),
    "unrecognized arguments: %s": N_("argumentos no reconocidos: %s"),
    "invalid choice: %(value)r (choose from %(choices)s)":
        N_("opción no válida: %(value)r (elija entre %(choices)s)"),
    "invalid %(type)s value: %(value)r": N_("valor no válido (%(type)s): %(value)r"),
    "expected one argument": N_("se esperaba un valor"),
    "expected at least one argument": N_("se esperaba al menos un valor"),
    "expected at most one argument": N_("se esperaba como máximo un valor"),
    "ambiguous option: %(option)s could match %(matches)s":
        N_("opción ambigua: %(option)s puede ser %(matches)s"),
    "not allowed with argument %s": N_("no se permite junto con el argumento %s"),
    "one of the arguments %s is required": N_("se requiere uno de los argumentos %s"),
    "positional arguments": N_("argumentos"),
    "options": N_("opciones"),
    "show this help message and exit": N_("muestra esta ayuda y termina"),
    "show program's version number and exit": N_("muestra la versión del programa y termina"),
    "can't open '%(filename)s': %(error)s": N_("no se puede abrir «%(filename)s»: %(error)s"),
}


def _argparse_gettext(text: str) -> str:
    msgid = ARGPARSE_TEXTS.get(text)
    return _(msgid) if msgid else text


def _argparse_ngettext(singular: str, plural: str, n: int) -> str:
    return _argparse_gettext(singular if n == 1 else plural)


argparse._ = _argparse_gettext
argparse.ngettext = _argparse_ngettext


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="cpc", description=_("CPC Desktop: registros cifrados de centros de acogida."))
    # argparse fixes the --version help in English when its module loads: give it ours.
    parser.add_argument("--version", action="version", version=f"cpc {__version__}",
                        help=_("muestra la versión del programa y termina"))
    sub = parser.add_subparsers(dest="command", required=True, metavar=_("COMANDO"))
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    finish_parser(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    lang = os.environ.get("CPC_LANG")
    if lang and lang in i18n.available_languages():
        i18n.set_language(lang)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except ValidationError as exc:
        print(_("Error: el registro no es válido: {errors}").format(
            errors="; ".join(str(e) for e in exc.errors)), file=sys.stderr)
        return 1
    except CpcError as exc:
        print(_("Error: {message}").format(message=str(exc).replace("\n", " ")),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("Cancelado."), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # The type only: messages of unexpected errors could carry record values.
        if os.environ.get("CPC_DEBUG"):
            raise
        print(_("Error inesperado ({kind}). No se ha guardado nada a medias; si se repite, "
                "avise al soporte (CPC_DEBUG=1 muestra el detalle).").format(
            kind=type(exc).__name__), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
