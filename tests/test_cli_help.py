"""`cpc --help` of every command explains every option, with placeholders in the reader's
language (support staff read these in Spanish or Quechua, not argparse's English)."""
from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from cpc_desktop.cli.main import build_parser
from cpc_desktop.core import i18n


def _commands(parser: argparse.ArgumentParser, path=("cpc",)):
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, path + (name,))


def _options(parser):
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        yield action


@pytest.fixture(params=["es", "qu"])
def parser(request):
    previous = i18n.current_language()
    i18n.set_language(request.param)
    try:
        yield request.param, build_parser()
    finally:
        i18n.set_language(previous)


def test_every_option_of_every_command_has_a_help_text(parser):
    _lang, root = parser
    silent = [f"{cmd} {'/'.join(a.option_strings) or a.dest}"
              for cmd, p in _commands(root) for a in _options(p) if not a.help]
    assert silent == [], f"`--help` leaves these options unexplained: {silent}"


def test_no_placeholder_is_argparse_english(parser):
    lang, root = parser
    english = []
    for cmd, p in _commands(root):
        for a in _options(p):
            if a.nargs == 0 or a.choices:
                continue
            if a.metavar is None:
                english.append(f"{cmd} {'/'.join(a.option_strings) or a.dest}")
    assert english == [], f"these options show an English placeholder ({lang}): {english}"


def test_quechua_help_shows_quechua_placeholders():
    previous = i18n.current_language()
    i18n.set_language("qu")
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            build_parser().parse_args(["list", "--help"])
    finally:
        i18n.set_language(previous)
    text = out.getvalue()
    assert "--vault WILLAÑIQI_CHURANA" in text, text
    assert "--user RURAQ" in text, text
    for english in ("VAULT", "USER", "PASSPHRASE_FILE", "SEARCH", "LIMIT"):
        assert f" {english}" not in text, f"{english} left in English in:\n{text}"
