"""`cpc self-test`: the installed program's end-to-end check, from a console (the window's
`cpc-desktop --self-test` runs the same steps and also requires Qt)."""
from __future__ import annotations

import argparse

from ..core.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("self-test", help=_("comprueba que el programa instalado funciona (bóveda "
                                           "temporal, registro, búsqueda, copia, PDF)"))
    p.set_defaults(func=cmd_self_test)


def cmd_self_test(args) -> int:
    from .. import selftest

    # The console program carries no Qt in the bundle; the window's self-test covers it.
    return selftest.run(qt=False)
