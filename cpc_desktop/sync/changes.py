"""Change extraction: this device's writes since its last batch, as batch payloads.

The vault logs every write in `changes`; rows stamped by this device and newer than the
export watermark (meta `sync_exported_seq`) are this device's news. Each gets its `base`: the
stamp of the value its writer replaced, which is the latest earlier row of the same record
touching that field (or its creation), because the log holds local writes and applied remote
winners in the order they took effect here.

Payload (before compression): canonical JSON {"v": 1, "c": [change…], "s": [statement…]}
with a change as [record id, form, resident id, field, value, "ms-counter", base, user]: the
device part of the stamp is the batch's device, so it is left out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..core import tables
from ..core.clock import Stamp
from ..core.i18n import _
from ..core.vault import CREATED
from .errors import SyncError
from .merge import RemoteChange

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class LocalChange:
    seq: int
    shelter: str
    encoded: str          # the change's JSON array, as it goes into a payload


def pending_local(conn, device: str, after_seq: int, skip_after: str | None = None
                  ) -> list[LocalChange]:
    """This device's changes after the watermark, oldest first, each with its base. Own
    changes stamped after `skip_after` (made while this clock was far ahead, and stamped
    again since) are left out."""
    rows = conn.execute(
        "SELECT c.seq, c.record_id, c.form, c.resident_id, c.field, c.value, c.hlc, c.user, "
        "c.base, r.shelter FROM changes c JOIN records r ON r.id = c.record_id "
        "WHERE c.seq > ? ORDER BY c.seq", (after_seq,)).fetchall()
    # Remote rows are read too: applied while someone was typing, they sit between local
    # rows, and a local write after one of them saw its value.
    last: dict[tuple[str, str], str] = {}
    out = []
    for seq, rid, form, resident, fld, value, hlc, user, base, shelter in rows:
        if fld == CREATED:
            base_list: list[str] = []
        elif base is not None:
            base_list = json.loads(base)
        else:
            # A table cell's value last came from a write of the cell or of its whole table
            # (an older program), whichever is later (core/tables.clock).
            cell = tables.parse_key(fld)
            owners = (fld, cell[0]) if cell else (fld, fld)
            prev = max(filter(None, (last.get((rid, k)) for k in owners)), default=None)
            if prev is None:
                row = conn.execute(
                    "SELECT hlc FROM changes WHERE record_id=? AND seq<? AND field IN (?, ?, ?) "
                    "ORDER BY seq DESC LIMIT 1", (rid, seq, *owners, CREATED)).fetchone()
                prev = row[0] if row else None
            base_list = [prev] if prev else []
        if fld == CREATED:
            for key in json.loads(value or "{}"):
                last[(rid, key)] = hlc
            last[(rid, "_deleted")] = hlc
        last[(rid, fld)] = hlc
        stamp = Stamp.parse(hlc)
        if stamp.device != device or (skip_after is not None and hlc > skip_after):
            continue
        encoded = "[{},{},{},{},{},{},{},{}]".format(
            json.dumps(rid), json.dumps(form), json.dumps(resident), json.dumps(fld),
            value if value is not None else "null",
            json.dumps(f"{stamp.ms:013d}-{stamp.counter:04d}"),
            json.dumps(base_list, separators=(",", ":")), json.dumps(user, ensure_ascii=False))
        out.append(LocalChange(seq, shelter, encoded))
    return out


def encode_payload(encoded_changes: list[str], statements: list[dict],
                   extra: dict | None = None) -> bytes:
    """`extra`: more top-level keys (clock reports, "k"); readers ignore keys they do not know."""
    more = "".join(",%s:%s" % (json.dumps(k), json.dumps(v, sort_keys=True, separators=(",", ":")))
                   for k, v in sorted((extra or {}).items()))
    body = '{"v":%d,"c":[%s],"s":%s%s}' % (
        PAYLOAD_VERSION, ",".join(encoded_changes),
        json.dumps(statements, ensure_ascii=False, separators=(",", ":"), sort_keys=True), more)
    return body.encode("utf-8")


def decode_payload(data: bytes, device: str) -> tuple[list[RemoteChange], list[dict]]:
    changes, statements, _extra = decode_payload_full(data, device)
    return changes, statements


def decode_payload_full(data: bytes, device: str
                        ) -> tuple[list[RemoteChange], list[dict], dict]:
    """Changes, statements and the other top-level keys. Raises SyncError when the payload is
    not what this program writes."""
    try:
        raw = json.loads(data)
        if raw["v"] != PAYLOAD_VERSION:
            raise ValueError
        changes = []
        for rid, form, resident, fld, value, stamp, base, user in raw["c"]:
            if not all(isinstance(x, str) for x in (rid, form, resident, fld, stamp, user)):
                raise ValueError
            if fld == CREATED and not isinstance(value, dict):
                raise ValueError
            hlc = f"{stamp}-{device}"
            Stamp.parse(hlc)
            changes.append(RemoteChange(rid, form, resident, fld, value, hlc,
                                        tuple(str(b) for b in base), user))
        statements = raw["s"]
        if not isinstance(statements, list):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise SyncError(_("El contenido de un paquete de cambios no se puede leer (formato "
                          "desconocido). "
                          "No se aplicó nada de él.")) from None
    return changes, statements, {k: v for k, v in raw.items() if k not in ("v", "c", "s")}
