"""Entry point of `cpc`. Exit codes: 0 ok, 1 a user error (one line on stderr), 2 usage."""
from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..core import i18n
from ..core.errors import CpcError, ValidationError
from ..core.i18n import _

# Each module adds its subcommands with register(subparsers).
COMMAND_MODULES = ["vault_cmds", "i18n_cmds", "sync_cmds"]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="cpc", description=_("CPC Desktop: registros cifrados de centros de acogida."))
    parser.add_argument("--version", action="version", version=f"cpc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub)
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
    except Exception as exc:  # noqa: BLE001
        # The type only: messages of unexpected errors could carry record values.
        if os.environ.get("CPC_DEBUG"):
            raise
        print(_("Error inesperado ({kind}). No se ha guardado nada a medias; si se repite, "
                "avise al soporte (CPC_DEBUG=1 muestra el detalle).").format(
            kind=type(exc).__name__), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
