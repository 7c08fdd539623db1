"""`cpc pending`: what is overdue or due soon, per professional and for the shelter."""
from __future__ import annotations

import argparse

from ..core import display, pending
from ..core.i18n import _, ngettext
from .common import add_vault_args, open_vault, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pending", help=_("lista lo vencido y lo que vence pronto (Pendientes)"))
    add_vault_args(p)
    p.add_argument("--days", type=int, default=pending.WINDOW_DAYS, metavar=_("DÍAS"),
                   help=_("cuántos días adelante cuentan como «próximo» (por defecto: {n})")
                   .format(n=pending.WINDOW_DAYS))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pending)


def _counts(counts: dict[str, int]) -> str:
    return _("{overdue}, {soon}").format(
        overdue=ngettext("{n} vencido", "{n} vencidos", counts[pending.OVERDUE]).format(
            n=counts[pending.OVERDUE]),
        soon=ngettext("{n} próximo", "{n} próximos", counts[pending.SOON]).format(
            n=counts[pending.SOON]))


def cmd_pending(args) -> int:
    with open_vault(args) as vault:
        result = pending.compute(vault, window_days=max(0, args.days))
    if args.json:
        print_json(result.as_json())
        return 0
    print(_("Pendientes al {day} (próximos {n} días): {counts}.").format(
        day=display.format_date(result.today), n=result.window_days,
        counts=_counts(result.counts())))
    for owner, items in result.by_owner().items():
        print()
        print(f"== {owner or _('Sin profesional indicado')} ({_counts(result.counts(items))})")
        for item in items:
            print(f"  {_(pending.STATE_LABELS[item.state]):9} {display.format_date(item.due)}  "
                  f"{item.internal_code:12} {_(pending.KIND_LABELS[item.kind])}")
    return 0
