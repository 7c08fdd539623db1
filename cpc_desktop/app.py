"""`cpc-desktop`: the window; without a screen (a server, a CI machine), the command line's demo.

`--self-test` checks an installed copy end to end (see selftest.py); `--version` prints it.
"""
from __future__ import annotations

import os
import sys

from .screen import has_display


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--version" in argv:
        from . import __version__

        print(f"CPC Desktop {__version__}")
        return 0
    if "--self-test" in argv:
        from . import selftest

        # Qt is required here: the window's bundle must be able to draw.
        return selftest.run(qt=True)
    if not has_display():
        from .core import i18n

        lang = os.environ.get("CPC_LANG")
        if lang in i18n.available_languages():
            i18n.set_language(lang)
        print(i18n._("No hay pantalla gráfica: se muestra la demostración en la línea de "
                     "comandos."), file=sys.stderr)
        return _cli_demo()
    try:
        from .ui.app import run
    except ImportError:
        return _cli_demo()
    return run(argv, no_screen=_cli_demo)


def _cli_demo() -> int:
    """Creates the demo vault if there is none, then lists its residents."""
    from .cli import main as cli
    from .core.vault import default_vault_path
    from .demo import DEMO_PASSPHRASE, DEMO_USER

    path = default_vault_path().with_name("demo")
    if not (path / "keyslots.json").exists():
        code = cli(["demo", "--vault", str(path)])
        if code:
            return code
    os.environ.setdefault("CPC_USER", DEMO_USER)
    os.environ.setdefault("CPC_PASSPHRASE", DEMO_PASSPHRASE)
    return cli(["list", "--vault", str(path)])
