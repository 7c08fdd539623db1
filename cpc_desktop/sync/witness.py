"""Withholding and rollback detection: what other devices have seen of each device folder.

Every batch's header (format 2) carries its author's view: the latest (sequence, hash prefix)
it had applied of every other device. A reader keeps, per device, the highest such claim from
a roster device whose signature it checked (meta `sync_witness|<shelter>`). After a sync it
compares the claims with what it could apply: a hub that shows less than another laptop has
already seen — an older head put back, a batch or a whole folder deleted, a coordinator's
folder rolled back to before a revocation — is named, and so is a second history under a
number another device saw (two batches of one number).

A device that applied other devices' records or statements owes the others its view: its
next sync makes a batch even with nothing else to send (flag `sync_view_due|<shelter>`; a
batch that only carries a view does not set it, so views do not echo back and forth).

What this cannot see: a hub that hides the same things from every laptop and shows each a
consistent world (a full partition, or a frozen copy), until some laptop meets another
through a second hub (a USB stick) — which is what the notices advise. The one sign left is
silence: when nothing new has come from any other device of the shelter for SILENT_DAYS, the
sync says so (it cannot tell a frozen hub from laptops left unused).
"""
from __future__ import annotations

import datetime as dt
import json

from ..core.i18n import _, ngettext
from . import batch as batchfmt
from .notices import SILENCE, WITHHOLDING, Notice

SILENT_DAYS = 14


def _key(shelter: str) -> str:
    return f"sync_witness|{shelter}"


def due_key(shelter: str) -> str:
    return f"sync_view_due|{shelter}"


def view_of(conn, shelter: str, me: str) -> list[tuple[str, int, str]]:
    """This device's view: the latest batch it holds of every other device of the shelter."""
    return [(d, s, h) for d, s, h in conn.execute(
        "SELECT device, max(seq), hash FROM sync_batches WHERE shelter=? AND device != ? "
        "GROUP BY device", (shelter, me))]


def claims(conn, shelter: str) -> dict[str, list]:
    """{device: [seq, hash prefix, witness]}: the highest each device was seen at."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_key(shelter),)).fetchone()
    return json.loads(row[0]) if row else {}


def record(conn, shelter: str, author: str, me: str, view) -> None:
    """Keeps the claims of a batch whose signature was checked (inside the caller's
    transaction)."""
    if not view:
        return
    known = claims(conn, shelter)
    changed = False
    for dev, seq, digest in view:
        if dev in (author, me):
            continue
        old = known.get(dev)
        if old is None or seq > old[0]:
            known[dev] = [seq, digest, author]
            changed = True
    if changed:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                     (_key(shelter), json.dumps(known, sort_keys=True)))


def short(device: str) -> str:
    return device[-8:]


def check(conn, shelter: str, me: str) -> list[Notice]:
    """Notices for every device this vault is behind another device's view of."""
    out = []
    for dev, (seq, digest, by) in sorted(claims(conn, shelter).items()):
        if dev == me:
            continue
        row = conn.execute("SELECT max(seq) FROM sync_batches WHERE shelter=? AND device=?",
                           (shelter, dev)).fetchone()
        have = row[0] or 0
        if have < seq:
            out.append(Notice(WITHHOLDING, _(
                "El punto de intercambio no muestra cambios que otro equipo ya vio: el equipo {by} "
                "recibió "
                "hasta el paquete de cambios {n} del equipo {device}, y aquí solo llegaron hasta "
                "el {m}. El "
                "punto de intercambio pudo perderlos u ocultarlos. Sincronice con el equipo "
                "{device} o use otro "
                "punto de intercambio (p. ej. una memoria USB) para recibirlos.").format(
                by=short(by), n=seq, device=short(dev), m=have), dev, by))
            continue
        mine = conn.execute("SELECT hash FROM sync_batches WHERE shelter=? AND device=? AND "
                            "seq=?", (shelter, dev, seq)).fetchone()
        if mine and mine[0][:batchfmt.VIEW_HASH_CHARS] != digest:
            out.append(Notice(WITHHOLDING, _(
                "El equipo {by} vio otro paquete de cambios {n} del equipo {device}, distinto del "
                "recibido "
                "aquí: hay dos historias de ese equipo (¿restaurado de una copia, o sus "
                "llaves en otras manos?). Avise a la coordinación.").format(
                by=short(by), n=seq, device=short(dev)), dev, by))
    return out


def silence(conn, shelter: str, me: str, now: dt.datetime | None = None) -> list[Notice]:
    """A notice when other active devices exist but none has sent anything new for
    SILENT_DAYS (what a hub showing this laptop a frozen copy looks like)."""
    others = conn.execute("SELECT count(*) FROM sync_devices WHERE shelter=? AND device<>? AND "
                          "revoked_after IS NULL", (shelter, me)).fetchone()[0]
    last = conn.execute("SELECT max(received_at) FROM sync_batches WHERE shelter=? AND "
                        "device<>?", (shelter, me)).fetchone()[0]
    if not others or not last or conn.execute(
            "SELECT 1 FROM sync_devices WHERE shelter=? AND device=? AND revoked_after IS NOT "
            "NULL", (shelter, me)).fetchone():
        return []       # alone, never reached, or revoked (which it is told instead)
    now = now or dt.datetime.now(dt.timezone.utc)
    days = (now - dt.datetime.fromisoformat(last)).days
    if days < SILENT_DAYS:
        return []
    return [Notice(SILENCE, ngettext(
        "Hace {n} día que no llega nada nuevo de ningún otro equipo del centro. Si los demás "
        "equipos sí trabajaron, el punto de intercambio podría estar mostrando a este equipo una "
        "copia vieja: "
        "sincronice una vez con otro equipo por memoria USB para comprobarlo.",
        "Hace {n} días que no llega nada nuevo de ningún otro equipo del centro. Si los demás "
        "equipos sí trabajaron, el punto de intercambio podría estar mostrando a este equipo una "
        "copia vieja: "
        "sincronice una vez con otro equipo por memoria USB para comprobarlo.", days).format(
        n=days))]
