"""The sync engine: export this device's changes as batches, send them, receive and apply the
others' — the one Python API the window and the command line both call.

    engine = SyncEngine(vault)
    report = engine.sync(open_hub(url, user, password), progress=callback, cancel=token)

A sync can stop anywhere (cancel, a dropped link, a killed process): every batch is applied in
its own transaction together with its place in the version vector, and every batch made is
kept in the vault until a hub has it, so the next sync continues where this one stopped.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..core import attachments, audit, release_log
from ..core.clock import ClockDrift
from ..core.errors import PermissionDenied
from ..core.i18n import _
from ..core.users import Action
from ..core.vault import Vault
from . import attachments as attach_sync
from . import batch as batchfmt
from . import clockguard, devices, invitations, restore, validate, witness
from .changes import decode_payload_full, encode_payload, pending_local
from .errors import BatchRefused, HubFileTooLarge, HubGarbage, SyncError
from .merge import DuplicateGroup, Merger, conflicts, duplicate_residents
from .notices import CLOCK, HUB, MEMBERSHIP, WITHHOLDING, Notice
from .transports import ROOT, CancelToken, Transport

RAW_TARGET = 256 * 1024   # first guess of a payload that compresses to one batch
# Requests in flight at once: on a satellite link a round trip costs more than the bytes of
# a head, so heads, sends and receives overlap (HTTP/1.1: one connection each; few, since
# every new TLS connection costs its handshake).
PARALLEL = 3


@dataclass(frozen=True)
class Progress:
    """What the window shows while a sync runs (sent from the sync's thread)."""
    phase: str              # "prepare" | "send" | "receive" | "attachments" | "done"
    batches_done: int
    batches_total: int
    bytes_done: int         # bytes moved to or from the hub so far, both ways


@dataclass
class SyncReport:
    hub: str = ""
    sent_batches: int = 0
    relayed_batches: int = 0
    received_batches: int = 0
    received_changes: int = 0
    bytes_moved: int = 0
    new_conflicts: int = 0
    parked_changes: int = 0
    refused: list[BatchRefused] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    finished_at: str = ""
    attachment_chunks_sent: int = 0
    attachment_chunks_received: int = 0
    attachments_completed: int = 0   # attachments whose content arrived whole in this sync
    attachments_waiting: int = 0     # still to arrive (their sender has not uploaded them, or
    attachments_held_back: int = 0   # the hub's setting keeps them for a USB stick)

    @property
    def ok(self) -> bool:
        return not self.refused


@dataclass(frozen=True)
class SyncStatus:
    """The quiet status line: when the last sync finished, and what is waiting to go out."""
    last_sync_at: str | None
    last_hub: str | None
    waiting_changes: int
    waiting_batches: int
    open_conflicts: int
    hub_configured: bool


def _head_path(shelter: str, device: str) -> str:
    return f"{ROOT}/{shelter}/{device}/{batchfmt.HEAD_NAME}"


def _batch_path(shelter: str, device: str, seq: int, digest: str) -> str:
    return f"{ROOT}/{shelter}/{device}/{batchfmt.batch_name(seq, digest)}"


class SyncEngine:
    def __init__(self, vault: Vault, *, codec: str = batchfmt.DEFAULT_CODEC,
                 max_batch_bytes: int = batchfmt.MAX_BATCH_BYTES):
        self.vault = vault
        self.codec = codec
        self.max_batch_bytes = max_batch_bytes

    # ------------------------------------------------------------ status and settings
    def status(self) -> SyncStatus:
        v = self.vault
        with v.reading():
            conn = v.conn
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'sync_%'"))
            wm = int(meta.get("sync_exported_seq", 0))
            waiting = conn.execute("SELECT count(*) FROM changes WHERE seq > ? AND "
                                   "substr(hlc, 20) = ?", (wm, v.device_id)).fetchone()[0]
            batches = conn.execute("SELECT count(*) FROM sync_batches WHERE device=? AND "
                                   "uploaded=0", (v.device_id,)).fetchone()[0]
        return SyncStatus(meta.get("sync_last_at"), meta.get("sync_last_hub"), waiting, batches,
                          len(conflicts(v)), "sync_hub" in meta)

    def hub_settings(self) -> dict | None:
        """The saved hub: {"url": …, "user": …, "password": …, "ca_pem"?: …} (stored inside
        the vault)."""
        row = self.vault.read("SELECT value FROM meta WHERE key='sync_hub'")
        return json.loads(row[0][0]) if row else None

    def save_hub(self, url: str, user: str | None = None, password: str | None = None, *,
                 ca_pem: str | None = None) -> None:
        """Stores the hub (its password inside the encrypted vault). Coordinators only: the
        hub decides where every laptop of the shelter sends its batches."""
        try:
            self.vault.require(Action.MANAGE_USERS)
        except PermissionDenied:
            raise PermissionDenied(_("Solo un(a) coordinador(a) puede cambiar los ajustes del "
                                     "punto de intercambio.")) from None
        with self.vault.transaction() as conn:
            hub = {"url": url, "user": user, "password": password}
            if ca_pem:
                hub["ca_pem"] = ca_pem      # a self-hosted server's certificate
            devices._set_meta(conn, "sync_hub", json.dumps(hub))
            audit.append(conn, self.vault.user.name, "sync.hub", None, {})

    # ------------------------------------------------------------ export
    def export(self) -> int:
        """Packs this device's new changes (and roster statements) into batches kept in the
        vault until a hub has them. Returns how many batches were made."""
        ident = devices.ensure_identity(self.vault)
        made = 0
        with self.vault.transaction() as conn:
            if devices.joining(conn, self.vault.shelter_code):
                return 0        # no key yet: what was typed waits for the approval
            wm = int(devices._meta(conn, "sync_exported_seq") or 0)
            top = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
            local = pending_local(conn, ident.device, wm, clockguard.stale_after(self.vault))
            by_shelter: dict[str, list[str]] = {}
            for ch in local:
                by_shelter.setdefault(ch.shelter, []).append(ch.encoded)
            for shelter in sorted(set(by_shelter) | set(devices.shelters(conn))):
                encoded = by_shelter.get(shelter, [])
                if devices.revoked_in(conn, shelter, ident.device):
                    continue    # the others refuse it: what it writes stays in this vault
                due = devices._meta(conn, witness.due_key(shelter)) == "1"
                # Shared report releases go to the laptops of this vault's own shelter.
                releases = (list(release_log.take_outgoing(conn))
                            if shelter == self.vault.shelter_code else [])
                att_rows = attachments.outgoing(conn, shelter)
                if not encoded and not devices.has_pending(conn, shelter) and not due \
                        and not releases and not att_rows:
                    continue
                keys = devices.shelter_keys(conn, shelter)
                if not keys:
                    raise SyncError(_("Hay cambios de registros de otro centro cuyas llaves "
                                      "no tiene esta bóveda; no se pueden enviar."))
                stmts = devices.take_pending(conn, shelter)
                new_epochs = {int(s["body"]["epoch"]) for s in stmts
                              if s["body"].get("kind") == "epoch"}
                if new_epochs:
                    # Readers do not hold the new key yet: the statements carrying it travel
                    # under the key they have, and no record goes with them.
                    old = [k for k in keys if k.epoch < min(new_epochs)] or keys[:1]
                    made += self._pack(conn, ident, shelter, old[-1], [], stmts)
                    stmts = []
                if encoded or stmts or due:
                    # A batch with nothing else still carries this device's view (and the
                    # clock reports it owes): the others learn what it has seen.
                    made += self._pack(conn, ident, shelter, keys[-1], encoded, stmts)
                for part in releases:      # each part of a release in a batch of its own
                    made += self._pack(conn, ident, shelter, keys[-1], [], [], {"r": part})
                # Attachment rows after the records they belong to; their chunks follow the
                # batches (sync/attachments.py).
                for part in _att_parts(att_rows):
                    made += self._pack(conn, ident, shelter, keys[-1], [], [], {"att": part})
                attachments.mark_sent(conn, [r["id"] for r in att_rows])
                conn.execute("DELETE FROM meta WHERE key=?", (witness.due_key(shelter),))
            devices._set_meta(conn, "sync_exported_seq", str(top))
        return made

    def _pack(self, conn, ident, shelter: str, key, encoded: list[str],
              stmts: list[dict], more: dict | None = None) -> int:
        view = witness.view_of(conn, shelter, ident.device)
        extra = {**(clockguard.take_reports(conn, shelter) or {}), **(more or {})} or None
        head = audit.head_for_batch(conn, shelter)
        limit = self.max_batch_bytes - batchfmt.overhead(shelter, ident.device, view)
        chunks: list[tuple[list[str], list[dict]]] = []
        target = RAW_TARGET
        i = 0
        first = True
        while i < len(encoded) or first:
            j, size = i, 0
            while j < len(encoded) and (size < target or j == i):
                size += len(encoded[j]) + 1
                j += 1
            part, st = encoded[i:j], (stmts if first else [])
            ex = dict(extra or {}) if first else {}
            if head is not None:
                ex["a"] = head      # the audit head, witnessed by the readers
            ex = ex or None
            payload = encode_payload(part, st, ex)
            compressed = batchfmt.compress(payload, self.codec)
            while (len(compressed) > limit or len(payload) > batchfmt.MAX_PLAIN_BYTES) \
                    and len(part) > 1:
                part = part[:max(1, len(part) // 2)]
                payload = encode_payload(part, st, ex)
                compressed = batchfmt.compress(payload, self.codec)
            packed = len(compressed)
            if packed > limit:
                raise SyncError(_("Un registro es demasiado grande para enviarlo en un paquete de "
                                  "cambios "
                                  "(más de 64 KiB comprimido). Acorte sus textos largos."))
            chunks.append((payload, compressed))
            # Aim the next chunk at about 90 % of the limit, from this one's ratio.
            target = max(4096, int(len(payload) * limit * 0.9 / max(packed, 1)))
            i += len(part)
            first = False
        for payload, compressed in chunks:
            row = conn.execute("SELECT seq, hash FROM sync_batches WHERE shelter=? AND device=? "
                               "ORDER BY seq DESC LIMIT 1", (shelter, ident.device)).fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, "")
            data = batchfmt.seal(ident, key, shelter=shelter, seq=seq, prev=prev,
                                 payload=payload, codec=self.codec, view=view,
                                 compressed=compressed)
            conn.execute("INSERT INTO sync_batches(shelter, device, seq, hash, data, "
                         "received_at, uploaded) VALUES (?,?,?,?,?,?,0)",
                         (shelter, ident.device, seq, batchfmt.sha256(data), data,
                          audit.now_iso()))
        return len(chunks)

    # ------------------------------------------------------------ sync
    def sync(self, hub: Transport, *, progress: Callable[[Progress], None] | None = None,
             cancel: CancelToken | None = None) -> SyncReport:
        """Sends, receives and applies. Refused batches are listed in the report (nothing of
        them applied); a hub that fails raises HubError after keeping what was done.

        On the hub it reads one folder list per shelter and each device's small signed head;
        a device folder is listed only when its head is missing or does not lead to the
        batches (so a slow link does not pay for a year of file names at every sync)."""
        report = SyncReport(hub=hub.describe())
        if cancel is not None:
            hub.cancel = cancel
        moved = [0]
        counts = {"done": 0, "total": 0, "phase": "prepare"}

        def tell():
            if progress:
                progress(Progress(counts["phase"], counts["done"], counts["total"], moved[0]))

        def on_bytes(n: int) -> None:
            moved[0] += n
            tell()

        hub.on_bytes = on_bytes
        tell()
        devices.ensure_identity(self.vault)
        # Join requests and their answers first (an approval brings the keys to sync with),
        # then a restored vault takes back from the hub what it wrote after its backup.
        report.notices.extend(Notice(MEMBERSHIP, text)
                              for text in invitations.exchange(self.vault, hub))
        runs: list[_ShelterRun] = []
        try:
            with self.vault.reading():
                shelters = devices.shelters(self.vault.conn)
            for shelter in shelters:
                hub.cancel.check()
                runs.append(_ShelterRun(self, hub, shelter, report, counts, tell))
                runs[-1].ask_heads()
            for run in runs:
                run.wait_known_heads()
            # The heads this vault knows are back (the folder lists may not be): a restored
            # vault takes back from the hub what it wrote after its backup, and the hub's
            # answers tell whether this clock can be trusted, before anything new is stamped
            # into a batch.
            restore.resume_from_hub(self, hub, report, {r.shelter: r.own.raw for r in runs})
            report.notices += clockguard.before_export(
                self.vault, hub, [hh.head.at for r in runs for hh in r.known.values()
                                  if hh.head is not None and hh.trusted])
            self.export()
            for run in runs:
                hub.cancel.check()
                run.plan_send()
                counts["phase"] = "send"
                # This device's batches go up while the others' heads and batches come down.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    sending = pool.submit(run.send_own)
                    counts["phase"] = "receive"
                    try:
                        run.read_heads()
                        run.plan_receive()
                        run.receive()
                    finally:
                        sending.result()
                run.recheck()
                run.relay()
            for run in runs:        # attachments last: the records first on a slow link
                hub.cancel.check()
                counts["phase"] = "attachments"
                moved_att = attach_sync.exchange(self.vault, hub, run.shelter)
                report.attachment_chunks_sent += moved_att.sent
                report.attachment_chunks_received += moved_att.received
                report.attachments_completed += moved_att.completed
                report.attachments_waiting += moved_att.waiting
                report.attachments_held_back += moved_att.held_back
            counts["phase"] = "done"
            tell()
        finally:
            for run in runs:
                run.close()
            report.bytes_moved = moved[0]
            hub.on_bytes = None
            report.finished_at = audit.now_iso()
            if report.sent_batches or report.received_batches or counts["phase"] == "done":
                self._remember(report, complete=counts["phase"] == "done")
        report.duplicates = duplicate_residents(self.vault)
        return report

    def _remember(self, report: SyncReport, *, complete: bool) -> None:
        with self.vault.transaction() as conn:
            if complete:
                devices._set_meta(conn, "sync_last_at", report.finished_at)
                devices._set_meta(conn, "sync_last_hub", report.hub)
            audit.append(conn, self.vault.user.name, "sync.run", None, {
                "sent": report.sent_batches, "received": report.received_batches,
                "refused": len(report.refused), "complete": complete})

    def batches_of(self, shelter: str, device: str, after: int = 0
                   ) -> list[tuple[int, str, bytes]]:
        return self.vault.read("SELECT seq, hash, data FROM sync_batches WHERE shelter=? AND "
                                "device=? AND seq>? ORDER BY seq", (shelter, device, after))

    def _applied(self, shelter: str, device: str) -> tuple[int, str]:
        row = self.vault.read("SELECT seq, hash FROM sync_batches WHERE shelter=? AND device=? "
                               "ORDER BY seq DESC LIMIT 1", (shelter, device))
        return (row[0][0], row[0][1]) if row else (0, "")

    def apply_batch(self, shelter: str, device: str, name: str, data: bytes):
        """Checks one batch completely and applies it in one transaction, or raises
        BatchRefused and changes nothing (but the view of the heads its author signed,
        which is kept once its signature is checked)."""
        v = self.vault
        parsed = batchfmt.parse(data, name=name, shelter=shelter, device=device)
        h = parsed.header

        def refuse(msg: str) -> BatchRefused:
            return BatchRefused(msg, shelter=shelter, device=device, name=name)

        applied, prev_hash = self._applied(shelter, device)
        if h.seq <= applied:
            return _empty_stats()
        if h.seq != applied + 1 or h.prev != prev_hash:
            raise refuse(_("Un paquete de cambios del equipo {device} llegó fuera de orden o no "
                           "continúa los "
                           "ya recibidos; se rechazó.").format(device=device[-8:]))
        ident = devices.ensure_identity(v)
        with v.reading():
            key = devices.find_key(v.conn, shelter, h.epoch, h.kid)
            row = devices.device_row(v.conn, shelter, device)
        if row is not None:
            if row["revoked_after"] is not None and h.seq > row["revoked_after"]:
                row = restore.reconsider_revoked(self, parsed, row, key, shelter, device)
            if row["revoked_after"] is not None and h.seq > row["revoked_after"]:
                raise refuse(_("Un paquete de cambios está firmado por un equipo revocado "
                               "({device}); se "
                               "rechazó.").format(device=device[-8:]))
            if not batchfmt.verify_signature(parsed, row["sign_pub"]):
                raise refuse(_("La firma de un paquete de cambios del equipo {device} no es "
                               "válida: el paquete de cambios "
                               "fue alterado. No se aplicó nada de él.").format(
                    device=device[-8:]))
        if key is None:
            if row is not None and h.view:
                # Its author is known and signed it: what it has seen still counts (a reader
                # kept from a new key epoch is told what the hub hides from it).
                with v.writing() as conn:
                    witness.record(conn, shelter, device, v.device_id, h.view)
            with v.reading():
                if devices.revoked_in(v.conn, shelter, v.device_id):
                    raise refuse(revoked_text(shelter))
            raise refuse(_("Un paquete de cambios está cifrado con una llave que este equipo no "
                           "tiene (de "
                           "otro centro, o de una época de llaves nueva que aún no llegó; un "
                           "equipo revocado ya no la recibe). No se aplicó nada."))
        payload = batchfmt.open_payload(parsed, key)
        try:
            changes, stmts, extra = decode_payload_full(payload, device)
        except SyncError as exc:
            raise refuse(str(exc)) from None
        bad = validate.first_bad(v.forms, changes)
        if bad is not None:
            raise refuse(_("Un paquete de cambios del equipo {device} trae un valor que no "
                           "corresponde al "
                           "campo «{field}» del formulario «{form}» (tipo u opción desconocida); "
                           "no se aplicó nada de él. Si ese equipo usa formularios más nuevos, "
                           "actualice este programa.").format(device=device[-8:], field=bad[1],
                                                              form=bad[0]))
        wall = v.clock.wall()
        changes, late, lead = clockguard.split(changes, wall)
        ahead = 0
        if changes:
            try:
                ahead = v.clock.observe(max(c.hlc for c in changes),
                                        adopt_ms=clockguard.ADOPT_MS)
            except ClockDrift as exc:       # split() already kept such changes out
                raise refuse(str(exc)) from None
        with v.reading():
            with v.transaction() as conn:
                devices.apply_statements(conn, stmts, ident)
                if row is None:
                    row = devices.device_row(conn, shelter, device)
                    if row is None:
                        raise refuse(_("Un paquete de cambios está firmado por un equipo que no "
                                       "figura entre "
                                       "los equipos del centro; se rechazó."))
                    if not batchfmt.verify_signature(parsed, row["sign_pub"]):
                        raise refuse(_("La firma de un paquete de cambios del equipo {device} no "
                                       "es válida: "
                                       "el paquete de cambios fue alterado. No se aplicó nada de "
                                       "él.").format(
                            device=device[-8:]))
                stats = Merger(v, conn, shelter).apply(changes)
                witness.record(conn, shelter, device, v.device_id, h.view)
                if changes or stmts or late:
                    devices._set_meta(conn, witness.due_key(shelter), "1")
                if late:
                    clockguard.add_report(conn, shelter, device, lead, wall)
                if extra.get("a") is not None and device != v.device_id:
                    audit.witness(conn, shelter, device, extra["a"])
                if extra.get("r") is not None and device != v.device_id:
                    release_log.receive(conn, extra["r"])
                if extra.get("att") is not None:
                    try:
                        attachments.receive(conn, extra["att"], shelter)
                    except ValueError:
                        raise refuse(_("Un paquete de cambios del equipo {device} trae "
                                       "datos de adjuntos que no se pueden leer; no se "
                                       "aplicó nada de él.").format(
                            device=device[-8:])) from None
                conn.execute("INSERT INTO sync_batches(shelter, device, seq, hash, data, "
                             "received_at, uploaded) VALUES (?,?,?,?,?,?,1)",
                             (shelter, device, h.seq, parsed.digest, data, audit.now_iso()))
                audit.append(conn, v.user.name, "sync.apply", None,
                             {"shelter": shelter, "device": device, "seq": h.seq,
                              "changes": len(changes)})
        stats.clock_refused, stats.clock_lead = late, lead
        stats.clock_ahead = ahead if ahead > clockguard.ADOPT_MS else 0
        stats.notices = clockguard.read_reports(extra, device, v.device_id)
        return stats



def revoked_text(shelter: str) -> str:
    return _("La coordinación revocó este equipo en el centro {shelter}: ya no recibe los "
             "cambios de los demás equipos y lo que se escriba aquí ya no se acepta. Lo que "
             "esta bóveda tiene sigue aquí. Si cree que es un error, hable con la coordinación: "
             "volver a sincronizar requiere una invitación nueva.").format(shelter=shelter)


@dataclass
class _HubHead:
    raw: bytes | None = None
    head: batchfmt.Head | None = None
    trusted: bool = False


class _ShelterRun:
    """One shelter's part of a sync: read the heads, send this device's batches, receive the
    others', put back what the hub lacks."""

    def __init__(self, engine: SyncEngine, hub: Transport, shelter: str, report: SyncReport,
                 counts: dict, tell):
        self.e, self.v, self.hub, self.shelter = engine, engine.vault, hub, shelter
        self.me = engine.vault.device_id
        self.report, self.counts, self.tell = report, counts, tell
        self.heads: dict[str, _HubHead] = {}     # every device folder on the hub
        self.known: dict[str, _HubHead] = {}     # the heads of devices this vault knows
        self.own = _HubHead()
        self._pool: ThreadPoolExecutor | None = None
        self._asked: dict = {}
        self._folders = None
        self.listings: dict[str, dict[str, int]] = {}
        self.send: list[tuple[int, str, bytes, bool]] = []
        self.receive_plan: dict[str, list[tuple[int, str]] | tuple[int, str]] = {}

    def folder(self, dev: str) -> str:
        return f"{ROOT}/{self.shelter}/{dev}"

    def listing(self, dev: str) -> dict[str, int]:
        if dev not in self.listings:
            self.listings[dev] = self.hub.list(self.folder(dev))
        return self.listings[dev]

    # ------------------------------------------------------------ heads
    def _head(self, dev: str) -> bytes | None:
        try:
            return self.hub.get_optional(_head_path(self.shelter, dev))
        except HubFileTooLarge:
            return b"?"      # said to be damaged, like any unreadable head

    def ask_heads(self) -> None:
        """Asks for the folder list and, beside it, the heads of the devices this vault
        knows; returns once those heads are back (this device's own among them)."""
        known = {d for (d,) in self.v.read(
            "SELECT DISTINCT device FROM sync_batches WHERE shelter=? UNION SELECT device FROM "
            "sync_heads WHERE shelter=?", (self.shelter, self.shelter))} | {self.me}
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL)
        self._folders = self._pool.submit(self.hub.folders, f"{ROOT}/{self.shelter}")
        self._asked = {dev: self._pool.submit(self._head, dev) for dev in sorted(known)}

    def wait_known_heads(self) -> None:
        for dev, fut in self._asked.items():
            raw = fut.result()
            if raw is not None:
                self.known[dev] = self._parse_head(dev, raw)
        self.own = self.known.get(self.me, _HubHead())
        if self.own.raw is not None:
            # Its head came from its folder: uploads need not wait for the folder list to
            # know that the folder exists.
            self.hub.assume_folder(self.folder(self.me))

    def read_heads(self) -> None:
        """The folder list, and the heads of folders this vault did not know."""
        try:
            folders = self._folders.result()
            for dev in folders:
                if dev not in self._asked:
                    self._asked[dev] = self._pool.submit(self._head, dev)
            for dev in folders:
                if dev in self.known:
                    self.heads[dev] = self.known[dev]
                else:
                    raw = self._asked[dev].result()
                    self.heads[dev] = self._parse_head(dev, raw)
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            for f in [self._folders, *self._asked.values()]:
                if f is not None:
                    f.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None

    def _parse_head(self, dev: str, raw: bytes | None) -> _HubHead:
        if raw is None:
            return _HubHead()
        with self.v.reading():
            row = devices.device_row(self.v.conn, self.shelter, dev)
        head = batchfmt.parse_head(raw, row["sign_pub"] if row else None)
        if head is None or head.shelter != self.shelter or head.device != dev:
            if row is not None:
                self.report.notices.append(Notice(HUB, _(
                    "El archivo de estado del equipo {device} en el punto de intercambio está "
                    "dañado o "
                    "alterado; se ignoró.").format(device=dev[-8:]), dev))
            return _HubHead(raw)
        return _HubHead(raw, head, row is not None)

    # ------------------------------------------------------------ plan
    def plan_send(self) -> None:
        mine = self.e.batches_of(self.shelter, self.me)
        own = self.own
        known = {seq: h for seq, h, _d in mine}
        # A local folder is listed anyway (it costs nothing): a stick pulled mid-write may
        # have kept a head but a half batch, which its author then puts back whole.
        if own.head and known.get(own.head.seq) == own.head.hash and not self.hub.cheap_listing:
            # Beyond the head, and any whose upload did not finish (the head goes up beside
            # the batches, so it may be ahead of one that failed).
            waiting = {q for (q,) in self.v.read(
                "SELECT seq FROM sync_batches WHERE shelter=? AND device=? AND uploaded=0",
                (self.shelter, self.me))}
            self.send = [(s, h, d, False) for s, h, d in mine
                         if s > own.head.seq or s in waiting]
        elif mine:
            # No head (or one not ours): the folder says what is there (none: nothing).
            on_hub = self.listing(self.me)
            self.send = [(s, h, d, batchfmt.batch_name(s, h) in on_hub) for s, h, d in mine
                         if on_hub.get(batchfmt.batch_name(s, h)) != len(d)]
        self.counts["total"] += len(self.send)

    def plan_receive(self) -> None:
        for dev, hh in sorted(self.heads.items()):
            if dev == self.me:
                continue
            applied, _h = self.e._applied(self.shelter, dev)
            if hh.head is not None:
                if hh.head.seq < applied and hh.trusted:
                    self.report.notices.append(Notice(HUB, _(
                        "El punto de intercambio tiene una versión anterior de los paquetes de "
                        "cambios del equipo {device} "
                        "(¿restaurado de una copia vieja?). Esta bóveda no retrocede y vuelve a "
                        "poner los paquetes de cambios que faltan.").format(device=dev[-8:]), dev))
                if hh.head.seq > applied:
                    self.receive_plan[dev] = (hh.head.seq, hh.head.hash)
                    self.counts["total"] += hh.head.seq - applied
                self._check_history(dev, None)
            else:
                todo = self._from_listing(dev, applied)
                if todo:
                    self.receive_plan[dev] = todo
                    self.counts["total"] += len(todo)

    def _from_listing(self, dev: str, applied: int) -> list[tuple[int, str]]:
        names = self.listing(dev)
        self._check_history(dev, names)
        found = sorted((int(m.group(1)), m.group(2)) for m in
                       (batchfmt.BATCH_RE.match(n) for n in names) if m)
        return [(s, h) for s, h in found if s > applied]

    def _check_history(self, dev: str, names: dict | None) -> None:
        """A batch under a number this vault already applied, with other content: a replay or
        a forged history. Refused (and never applied)."""
        if names is None:
            return
        known = dict(self.v.read("SELECT seq, hash FROM sync_batches WHERE shelter=? AND "
                                  "device=?", (self.shelter, dev)))
        for n in names:
            m = batchfmt.BATCH_RE.match(n)
            if m and int(m.group(1)) in known and known[int(m.group(1))] != m.group(2):
                self.report.refused.append(BatchRefused(_(
                    "El punto de intercambio tiene otro paquete de cambios con el número {n} del "
                    "equipo {device}, distinto del "
                    "ya recibido: repetición o alteración. Se rechazó.").format(
                    n=int(m.group(1)), device=dev[-8:]), shelter=self.shelter, device=dev,
                    name=n))

    # ------------------------------------------------------------ send
    def send_own(self) -> None:
        with self.v.reading():
            ident = devices.load_identity(self.v)
        mine = self.e.batches_of(self.shelter, self.me)
        own = self.own.head
        head = None
        if mine and (self.send or own is None or own.seq != mine[-1][0]):
            seq, digest, _data = mine[-1]
            head = batchfmt.seal_head(ident, batchfmt.Head(self.shelter, self.me, seq, digest,
                                                           audit.now_iso()))
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The head goes up beside the batches (one round trip less). A reader that sees it
            # first finds a batch missing and waits; one whose upload fails stays marked not
            # uploaded here, and plan() sends it again next time.
            heading = pool.submit(self.hub.replace, _head_path(self.shelter, self.me),
                                  head) if head is not None else None
            try:
                self._upload(self.send)
            finally:
                if heading is not None:
                    heading.result()
        if mine:
            with self.v.transaction() as conn:
                conn.execute("UPDATE sync_batches SET uploaded=1 WHERE shelter=? AND device=?",
                             (self.shelter, self.me))

    def _upload(self, batches) -> None:
        for seq, digest, data, replace in batches:
            self.hub.cancel.check()
            path = _batch_path(self.shelter, self.me, seq, digest)
            if replace:      # a half-written copy (pulled stick): replaced
                self.hub.replace(path, data)
            else:
                self.hub.put_if_absent(path, data)
            with self.v.transaction() as conn:
                conn.execute("UPDATE sync_batches SET uploaded=1 WHERE shelter=? AND "
                             "device=? AND seq=?", (self.shelter, self.me, seq))
            self.report.sent_batches += 1
            self.counts["done"] += 1
            self.tell()

    # ------------------------------------------------------------ receive
    def receive(self) -> None:
        """Batches of every device are fetched in parallel, and applied one device after the
        other, each in order (the roster's order: coordinators' statements first)."""
        with self.v.reading():
            order = devices.receive_order(self.v.conn, self.shelter, list(self.receive_plan))
        plans = [(dev, self.receive_plan[dev]) for dev in order]
        if len(plans) <= 1:
            for dev, plan in plans:
                self._receive_device(dev, plan)
            return
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            ahead = {dev: pool.submit(self._prefetch, dev, plan) for dev, plan in plans}
            for dev, _plan in plans:
                self._receive_device(dev, ahead[dev].result())

    def recheck(self) -> None:
        """Devices another device has seen further than the hub's head showed: their folder
        is listed (a head put back may hide batches still there), then what is still missing
        is named."""
        with self.v.reading():
            seen = witness.claims(self.v.conn, self.shelter)
        for dev, (seq, _digest, by) in sorted(seen.items()):
            if dev == self.me:
                continue
            applied, _h = self.e._applied(self.shelter, dev)
            if applied >= seq:
                continue
            hh = self.heads.get(dev)
            if hh is not None and hh.head is not None and hh.trusted and hh.head.seq < seq:
                self.report.notices.append(Notice(WITHHOLDING, _(
                    "El punto de intercambio muestra un estado anterior del equipo {device}: el "
                    "equipo {by} ya "
                    "vio su paquete de cambios {n}. Se buscan sus paquetes de cambios en la "
                    "carpeta.").format(
                    device=dev[-8:], by=by[-8:], n=seq), dev, by))
            if dev in self.heads and dev not in self.listings:
                todo = self._from_listing(dev, applied)
                if todo:
                    self._receive_device(dev, todo)
        with self.v.reading():
            self.report.notices += witness.check(self.v.conn, self.shelter, self.me)
            self.report.notices += witness.silence(self.v.conn, self.shelter, self.me)

    def _prefetch(self, dev: str, plan) -> tuple[list, dict]:
        """(the batches to apply, those already fetched): from the head back by each batch's
        previous hash, or from the folder's listing."""
        self.hub.cancel.check()
        applied, _h = self.e._applied(self.shelter, dev)
        fetched: dict[int, tuple[str, bytes]] = {}
        if isinstance(plan, tuple):
            if plan[0] - applied > 2:
                # Many batches behind: one listing, not one round trip per batch of the walk.
                todo = self._from_listing(dev, applied)
            else:
                todo = self._walk(dev, plan, applied, fetched)
        else:
            todo = plan
        for seq, digest in todo:
            if seq in fetched:
                continue
            try:
                fetched[seq] = (digest, self.hub.get(_batch_path(self.shelter, dev, seq,
                                                                 digest)))
            except (HubFileTooLarge, HubGarbage):
                break           # fetched again below, to say what is wrong
        return todo, fetched

    def _receive_device(self, dev: str, plan) -> None:
        self.hub.cancel.check()
        applied, _h = self.e._applied(self.shelter, dev)
        if isinstance(plan, tuple) and len(plan) == 2 and isinstance(plan[1], dict):
            todo, fetched = plan
        else:
            todo, fetched = self._prefetch(dev, plan)
        for seq, digest in todo:
            self.hub.cancel.check()
            name = batchfmt.batch_name(seq, digest)
            if seq != applied + 1:
                self.report.refused.append(BatchRefused(_(
                    "Falta el paquete de cambios {n} del equipo {device} en el punto de "
                    "intercambio (copia incompleta o "
                    "borrada): sus paquetes de cambios siguientes esperan hasta que "
                    "llegue.").format(
                    n=applied + 1, device=dev[-8:]), shelter=self.shelter, device=dev,
                    name=name))
                break
            try:
                if seq in fetched and fetched[seq][0] == digest:
                    data = fetched.pop(seq)[1]
                else:
                    data = self.hub.get(_batch_path(self.shelter, dev, seq, digest))
                stats = self.e.apply_batch(self.shelter, dev, name, data)
            except HubFileTooLarge as exc:
                self.report.refused.append(BatchRefused(str(exc), shelter=self.shelter,
                                                        device=dev, name=name))
                break
            except BatchRefused as refusal:
                # A revoked laptop is told once, not once per device folder.
                if str(refusal) not in map(str, self.report.refused):
                    self.report.refused.append(refusal)
                break
            self.report.received_batches += 1
            self.report.received_changes += stats.changes
            self.report.new_conflicts += stats.conflicts
            self.report.parked_changes += stats.parked
            self.report.notices += stats.notices
            if stats.clock_refused:
                self.report.refused.append(BatchRefused(clockguard.refused_text(
                    dev, stats.clock_refused, stats.clock_lead), shelter=self.shelter,
                    device=dev, name=name))
            elif stats.clock_ahead and not any(
                    n.kind == CLOCK and n.device == dev for n in self.report.notices):
                self.report.notices.append(clockguard.flagged_notice(dev,
                                                                     stats.clock_ahead))
            applied = seq
            self.counts["done"] += 1
            self.tell()
        self._keep_head(dev)

    def _walk(self, dev: str, start: tuple[int, str], applied: int,
              fetched: dict[int, tuple[str, bytes]]) -> list[tuple[int, str]]:
        """From the head back to what this vault has, by each batch's previous hash: no
        folder listing. A missing link falls back to the listing, to say exactly what is
        wrong."""
        seq, digest = start
        chain: list[tuple[int, str]] = []
        while seq > applied:
            self.hub.cancel.check()
            try:
                data = self.hub.get_optional(_batch_path(self.shelter, dev, seq, digest))
            except HubFileTooLarge:
                data = None     # the receive loop fetches it again and says what is wrong
            if data is None:
                return self._from_listing(dev, applied)
            fetched[seq] = (digest, data)
            chain.append((seq, digest))
            try:
                prev = batchfmt.parse(data, name=batchfmt.batch_name(seq, digest),
                                      shelter=self.shelter, device=dev).header.prev
            except BatchRefused:
                return self._from_listing(dev, applied)   # says exactly what is wrong
            if seq - 1 > applied and not batchfmt.HASH_RE.match(prev):
                return self._from_listing(dev, applied)
            seq, digest = seq - 1, prev
        chain.reverse()
        return chain

    def _keep_head(self, dev: str) -> None:
        hh = self.heads.get(dev)
        if not hh or hh.raw is None:
            return
        if not hh.trusted:
            hh = self.heads[dev] = self._parse_head(dev, hh.raw)
        if hh.head is None or not hh.trusted:
            return
        with self.v.transaction() as conn:
            conn.execute("INSERT INTO sync_heads VALUES (?,?,?,?) ON CONFLICT(shelter, device) "
                         "DO UPDATE SET seq=excluded.seq, data=excluded.data WHERE "
                         "excluded.seq > sync_heads.seq",
                         (self.shelter, dev, hh.head.seq, hh.raw))

    # ------------------------------------------------------------ relay
    def relay(self) -> None:
        """Batches of other devices this vault holds and the hub lacks (a stale hub, or one
        that went back in time) are put back, with their signed head: any device can carry
        any batch, since only the author's signature counts."""
        rows = self.v.read("SELECT device, max(seq) FROM sync_batches WHERE shelter=? AND "
                            "device != ? GROUP BY device", (self.shelter, self.me))
        for dev, last in rows:
            hh = self.heads.get(dev, _HubHead())
            hub_seq = hh.head.seq if hh.head and hh.trusted else None
            if hub_seq is not None and hub_seq >= last and not self.hub.cheap_listing:
                continue
            if hub_seq is None or self.hub.cheap_listing:
                on_hub = self.listing(dev) if dev in self.heads else {}
                missing = [(s, h, d) for s, h, d in self.e.batches_of(self.shelter, dev)
                           if on_hub.get(batchfmt.batch_name(s, h)) != len(d)]
            else:
                on_hub = {}
                missing = self.e.batches_of(self.shelter, dev, after=hub_seq)
            for seq, digest, data in missing:
                self.hub.cancel.check()
                path = _batch_path(self.shelter, dev, seq, digest)
                if batchfmt.batch_name(seq, digest) in on_hub:
                    self.hub.replace(path, data)
                else:
                    self.hub.put_if_absent(path, data)
                self.report.relayed_batches += 1
            stored = self.v.read("SELECT seq, data FROM sync_heads WHERE shelter=? AND "
                                  "device=?", (self.shelter, dev))
            if stored and (hub_seq is None or hub_seq < stored[0][0]):
                self.hub.replace(_head_path(self.shelter, dev), stored[0][1])


ATT_PART_BYTES = 40 * 1024    # rows of attachments per batch (chunk ids are incompressible)


def _att_parts(rows: list[dict]) -> list[list[dict]]:
    parts: list[list[dict]] = []
    size = ATT_PART_BYTES
    for row in rows:
        n = len(json.dumps(row, ensure_ascii=False))
        if size + n > ATT_PART_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(row)
        size += n
    return parts


def _empty_stats():
    from .merge import ApplyStats

    return ApplyStats()

