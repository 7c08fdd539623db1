"""Clock safety: laptops in remote shelters keep wrong dates.

- A received change stamped more than REFUSE_MS (24 h) ahead of this laptop's clock is not
  applied; the rest of its batch is (so nothing from that laptop waits behind it). The refusal
  is listed here and reported back to its author inside this laptop's next batch.
- A change more than ADOPT_MS (10 min) ahead is applied, flagged, and this clock is not moved
  to it (history keeps true times); a later local edit of the same field still wins over it
  (HybridClock.after). Who wins between concurrent edits is listed as a conflict, as always.
- Before exporting, a laptop compares its clock with the hub's (a WebDAV server's Date
  header) and reads the reports of others about its own clock. When its clock was ahead and
  has been corrected (its last stamp is far ahead of a wall clock the hub does not contradict),
  it stamps its refused changes again, so they flow; nothing is lost, nothing stuck.
"""
from __future__ import annotations

import datetime as dt
import json

from ..core.clock import DEFAULT_ADOPT_MS, DEFAULT_MAX_DRIFT_MS, Stamp
from ..core.i18n import _, ngettext
from ..core.vault import CREATED, DELETED
from .notices import CLOCK, Notice
from .witness import due_key, short

ADOPT_MS = DEFAULT_ADOPT_MS
REFUSE_MS = DEFAULT_MAX_DRIFT_MS
_HOUR = 3_600_000


def _reports_key(shelter: str) -> str:
    return f"sync_clock_reports|{shelter}"


def split(changes, wall_ms: int):
    """(changes to apply, count refused, the largest lead refused in ms)."""
    limit = wall_ms + REFUSE_MS
    ok, lead = [], 0
    for ch in changes:
        ms = int(ch.hlc[:13])
        if ms > limit:
            lead = max(lead, ms - wall_ms)
        else:
            ok.append(ch)
    return ok, len(changes) - len(ok), lead


def ahead_text(ms: int) -> str:
    hours = abs(ms) / _HOUR
    if hours >= 48:
        days = round(hours / 24)
        return ngettext("{n} día", "{n} días", days).format(n=days)
    n = max(1, round(hours)) if hours >= 1 else 0
    if n == 0:
        minutes = max(1, round(abs(ms) / 60_000))
        return ngettext("{n} minuto", "{n} minutos", minutes).format(n=minutes)
    return ngettext("{n} hora", "{n} horas", n).format(n=n)


def refused_text(device: str, n: int, lead: int) -> str:
    return ngettext(
        "Se rechazó {n} cambio del equipo {device}: su fecha y hora están adelantadas {ahead} "
        "respecto a este equipo. Se le avisará en la próxima sincronización; cuando corrija su "
        "hora, sus cambios se volverán a fechar y llegarán solos.",
        "Se rechazaron {n} cambios del equipo {device}: su fecha y hora están adelantadas "
        "{ahead} respecto a este equipo. Se le avisará en la próxima sincronización; cuando "
        "corrija su hora, sus cambios se volverán a fechar y llegarán solos.", n).format(
        n=n, device=short(device), ahead=ahead_text(lead))


def flagged_notice(device: str, lead: int) -> Notice:
    return Notice(CLOCK, _(
        "El equipo {device} tiene la fecha y hora adelantadas unas {ahead}: sus cambios se "
        "aplicaron, pero la hora de este equipo no se adelantó. Pídale que corrija su fecha y "
        "hora; si sus cambios ganaron a otros hechos después, figuran en «Conflictos».").format(
        device=short(device), ahead=ahead_text(lead)), device)


def add_report(conn, shelter: str, device: str, lead: int, wall_ms: int) -> None:
    """Remembers to tell `device`, in this laptop's next batch, that its clock was refused."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_reports_key(shelter),)).fetchone()
    reports = json.loads(row[0]) if row else {}
    reports[device] = [int(lead), int(wall_ms)]
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                 (_reports_key(shelter), json.dumps(reports, sort_keys=True)))
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", (due_key(shelter),))


def take_reports(conn, shelter: str) -> dict | None:
    """The payload part of the reports this laptop owes (and forgets them)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_reports_key(shelter),)).fetchone()
    if not row:
        return None
    conn.execute("DELETE FROM meta WHERE key=?", (_reports_key(shelter),))
    return {"k": json.loads(row[0])}


def read_reports(extra: dict, author: str, me: str) -> list[Notice]:
    """Notices for the reports about this laptop inside a batch of `author`."""
    out: list[Notice] = []
    reports = extra.get("k") if isinstance(extra, dict) else None
    if not isinstance(reports, dict):
        return out
    mine = reports.get(me)
    if (isinstance(mine, list) and len(mine) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in mine)):
        out.append(Notice(CLOCK, _(
            "El equipo {by} rechazó cambios de este equipo: la fecha y hora de este equipo "
            "estaban adelantadas {ahead} respecto a las suyas. Corrija la fecha y hora de este "
            "equipo; sus cambios se volverán a fechar y se enviarán solos.").format(
            by=short(author), ahead=ahead_text(mine[0])), me, author))
    return out


def _iso_ms(text: str) -> int | None:
    try:
        return int(dt.datetime.fromisoformat(text).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


def before_export(vault, hub, heads_at: list[str]) -> list[Notice]:
    """Checks this laptop's clock against the hub's and the others' heads, and stamps again
    what was stamped while it was far ahead, once it is right again."""
    out = []
    wall = vault.clock.wall()
    ref = getattr(hub, "server_time_ms", None)
    if ref is not None and abs(wall - ref) > ADOPT_MS:
        ahead = wall > ref
        out.append(Notice(CLOCK, (_(
            "La fecha y hora de este equipo están adelantadas {ahead} respecto al punto de "
            "intercambio. "
            "Corríjalas antes de seguir trabajando: los demás equipos rechazan los cambios con "
            "más de un día de adelanto (se volverán a fechar cuando la hora esté bien).")
            if ahead else _(
            "La fecha y hora de este equipo están atrasadas {ahead} respecto al punto de "
            "intercambio. "
            "Corríjalas: sus cambios pueden perder frente a otros más antiguos.")).format(
            ahead=ahead_text(wall - ref)), vault.device_id))
        return out
    others = [ms for ms in (_iso_ms(a) for a in heads_at) if ms is not None]
    if ref is None and others and max(others) - wall > ADOPT_MS:
        return out    # another laptop thinks it is later than this one: do not trust the wall
    last = Stamp.parse(vault.clock.last).ms
    if last - wall > REFUSE_MS:
        n = restamp(vault, wall)
        out.append(Notice(CLOCK, ngettext(
            "La fecha y hora de este equipo estuvieron adelantadas; {n} cambio hecho con esa "
            "hora se volvió a fechar y se enviará ahora.",
            "La fecha y hora de este equipo estuvieron adelantadas; {n} cambios hechos con esa "
            "hora se volvieron a fechar y se enviarán ahora.", n).format(n=n),
            vault.device_id))
    return out


def stale_after(vault) -> str | None:
    """Own stamps after this are not sent: this clock is behind them by more than the others
    accept, so they were made while it was far ahead (restamp() gave them new stamps)."""
    wall = vault.clock.wall()
    if Stamp.parse(vault.clock.last).ms - wall > REFUSE_MS:
        return None     # not stamped again yet (the wall is not trusted): sent as they are
    return f"{wall + REFUSE_MS:013d}"


def restamp(vault, wall: int) -> int:
    """Gives a fresh stamp to every value this laptop stamped more than REFUSE_MS ahead of
    `wall` (the others refused them) and brings its clock back to the wall. Returns how many."""
    me = vault.device_id
    limit = f"{wall + REFUSE_MS:013d}"
    n = 0
    with vault.transaction() as conn:
        vault.clock.reset_to_wall()
        rows = conn.execute("SELECT id, form, resident_id, data, clocks, created_hlc, deleted "
                            "FROM records").fetchall()
        user = vault.user.name
        for rid, form, resident, data, clocks_json, created, deleted in rows:
            clocks = json.loads(clocks_json)

            def future(stamp: str) -> bool:
                return stamp > limit and stamp.endswith(me)
            if not future(created) and not any(future(s) for s in clocks.values()):
                continue
            new_rows = []
            if future(created):
                created = vault.clock.now()
                new_rows.append((rid, form, resident, CREATED, data, created, user))
            values = json.loads(data)
            for fld, stamp in sorted(clocks.items()):
                if future(stamp):
                    clocks[fld] = vault.clock.now()
                    value = (True if deleted else None) if fld == DELETED else values.get(fld)
                    new_rows.append((rid, form, resident, fld,
                                     None if value is None else json.dumps(value,
                                                                           ensure_ascii=False),
                                     clocks[fld], user))
            vault.store.restamp(conn, rid, clocks, created, [(*r, None) for r in new_rows])
            n += len(new_rows)
    return n
