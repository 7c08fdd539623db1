"""Two cases where a vault's own view is behind what it signed or what others decided.

- A vault restored from a backup (or a copy of a vault folder) has lost the batches it wrote
  after the backup, though the hub has them: before it writes anything it takes them back
  from the hub (they are its own, signed by its key), so its next batch continues its chain
  instead of reusing a number already on the hub (a fork: a record lost, later batches
  refused everywhere).
- A batch of a device this vault holds as revoked may carry the statement that undoes that
  revocation (two coordinator devices revoked each other; the senior one's revocation
  stands): its roster statements are read, checked one by one, before it is refused.
"""
from __future__ import annotations

from ..core.i18n import _, ngettext
from . import batch as batchfmt
from . import devices
from .changes import decode_payload
from .errors import SyncError
from .notices import MEMBERSHIP, Notice
from .transports import ROOT


def resume_from_hub(engine, hub, report, own_heads: dict[str, bytes | None]) -> int:
    """Applies this device's own batches that the hub has and this vault lacks; returns how
    many. `own_heads`: per shelter, this device's head file as the hub served it. Raises
    SyncError (and writes nothing) when the hub's chain of them has a gap."""
    v = engine.vault
    ident = devices.load_identity(v)
    if ident is None:
        return 0
    total = 0
    for shelter, raw in sorted(own_heads.items()):
        folder = f"{ROOT}/{shelter}/{ident.device}"
        if raw is None:
            continue
        head = batchfmt.parse_head(raw, ident.sign_pub)
        applied, _h = engine._applied(shelter, ident.device)
        if head is None or head.shelter != shelter or head.device != ident.device \
                or head.seq <= applied:
            continue
        with v.reading():
            wm = int(devices._meta(v.conn, "sync_exported_seq") or 0)
            news = v.conn.execute("SELECT count(*) FROM changes WHERE seq > ? AND "
                                  "substr(hlc, 20) = ?", (wm, ident.device)).fetchone()[0]
        found = sorted((int(m.group(1)), m.group(2)) for m in
                       (batchfmt.BATCH_RE.match(n) for n in hub.list(folder)) if m)
        for seq, digest in found:
            if seq != applied + 1:
                continue
            name = batchfmt.batch_name(seq, digest)
            engine.apply_batch(shelter, ident.device, name, hub.get(f"{folder}/{name}"))
            applied = seq
            total += 1
        if applied < head.seq:
            raise SyncError(_("El punto de intercambio tiene paquetes de cambios de este equipo "
                              "que esta bóveda no tiene "
                              "(¿fue restaurada de una copia?) y falta alguno de ellos en el "
                              "punto de intercambio; para no repetir sus números no se envió nada. "
                              "Sincronice "
                              "antes los otros equipos del centro con este punto de intercambio."))
        if not news:
            # What came back is already on the hub: not sent again.
            with v.transaction() as conn:
                top = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
                devices._set_meta(conn, "sync_exported_seq", str(top))
    if total:
        report.notices.append(Notice(MEMBERSHIP, ngettext(
            "Esta bóveda tenía menos paquetes de cambios propios que el punto de intercambio (¿fue "
            "restaurada de una copia?): "
            "se recuperó {n} del punto de intercambio y se continúa desde ahí; no se perdió nada.",
            "Esta bóveda tenía menos paquetes de cambios propios que el punto de intercambio (¿fue "
            "restaurada de una copia?): "
            "se recuperaron {n} del punto de intercambio y se continúa desde ahí; no se perdió "
            "nada.",
            total).format(n=total)))
    return total


def reconsider_revoked(engine, parsed, row: dict, key, shelter: str, device: str) -> dict:
    """The device's roster row after the statements of its (otherwise refused) batch are
    taken into account."""
    v = engine.vault
    if key is None or not batchfmt.verify_signature(parsed, row["sign_pub"]):
        return row
    try:
        _changes, stmts = decode_payload(batchfmt.open_payload(parsed, key), device)
    except SyncError:
        return row
    ident = devices.ensure_identity(v)
    with v.reading():
        with v.transaction() as conn:
            if not devices.apply_statements(conn, stmts, ident):
                return row
            return devices.device_row(conn, shelter, device) or row
