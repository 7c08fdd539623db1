"""`cpc-desktop`: the window when PySide6 can start, else the command line's demo."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from .ui.app import run
    except ImportError:
        run = None
    if run is None:
        return _cli_demo()
    return run(argv)


def _cli_demo() -> int:
    """Until the window exists: make the demo vault if none, then list its residents."""
    import os

    from .cli import main as cli
    from .core import demo
    from .core.vault import default_vault_path

    path = default_vault_path().with_name("demo")
    if not (path / "keyslots.json").exists():
        cli(["demo", "--vault", str(path)])
    os.environ.setdefault("CPC_USER", demo.DEMO_USER)
    os.environ.setdefault("CPC_PASSPHRASE", demo.DEMO_PASSPHRASE)
    return cli(["list", "--vault", str(path)])
