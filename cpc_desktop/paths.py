"""Where shipped resources live: beside the package in a checkout, under _MEIPASS when frozen."""
from __future__ import annotations

import sys
from pathlib import Path


def _root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    return _root().joinpath("resources", *parts)


def i18n_path(*parts: str) -> Path:
    return _root().joinpath("i18n", *parts)
