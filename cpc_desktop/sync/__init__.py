"""Sync in encrypted batches through a hub (USB stick folder or WebDAV). No Qt here.

The API the window and the command line call:

- `SyncEngine(vault).sync(hub, progress=…, cancel=CancelToken())` → SyncReport
- `SyncEngine(vault).status()` → SyncStatus (last sync, waiting changes and batches)
- `open_hub(dir_or_url, user, password)` → a Transport
- `conflicts(vault)`, `resolve(vault, id, KEEP_CURRENT | TAKE_KEPT | value)`
- `duplicate_residents(vault)`; `joins.join_residents(vault, keep_id, other_id)` (a
  coordinator joins two that are one child), `joins.join_side(vault, id)`
- `devices.devices(vault)`, `devices.revoke(vault, device_id)`, `devices.roster(conn, shelter)`
- `invitations.create_invitation(vault, path, hub=…, hours=…)` → one-time code;
  `list_invitations`, `cancel_invitation`; on the new laptop `read_invitation(path, code)`,
  `join(vault, payload)` / `join_new_vault(…)` → the fingerprint to read out; on the
  coordinator's `list_requests`, `approve_request(vault, id, fingerprint)`, `refuse_request`;
  requests and answers travel through the hub at every sync (`invitations.exchange`)
- `SyncScheduler` decides when to try the hub in the background.
- `report.notices`: Notice(kind, message, device) — WITHHOLDING (the hub shows less than
  another device saw), CLOCK, HUB; `alerts(report)` are the ones a person must see.
"""
from .engine import Progress, SyncEngine, SyncReport, SyncStatus
from .errors import (
    BatchRefused,
    Cancelled,
    HubAuthError,
    HubError,
    HubFull,
    HubGarbage,
    HubUnreachable,
    InvitationError,
    SyncError,
)
from .joins import JoinResult, JoinSide, find_for_join, join_residents, join_side
from .merge import (
    KEEP_CURRENT,
    TAKE_KEPT,
    Conflict,
    DuplicateGroup,
    conflicts,
    duplicate_residents,
    resolve,
)
from .notices import CLOCK, HUB, SILENCE, WITHHOLDING, Notice
from .scheduler import SyncScheduler
from .transports import CancelToken, FolderHub, Transport, WebDavHub, open_hub

__all__ = [
    "SyncEngine", "SyncReport", "SyncStatus", "Progress", "SyncScheduler", "CancelToken",
    "Transport", "FolderHub", "WebDavHub", "open_hub", "conflicts", "resolve", "Conflict",
    "KEEP_CURRENT", "TAKE_KEPT", "DuplicateGroup", "duplicate_residents", "SyncError",
    "BatchRefused", "Cancelled", "HubError", "HubAuthError", "HubFull", "HubGarbage",
    "HubUnreachable", "InvitationError", "JoinResult", "JoinSide", "find_for_join",
    "join_residents", "join_side", "Notice", "WITHHOLDING", "CLOCK", "HUB", "alerts",
]


def alerts(report) -> list[Notice]:
    """The notices a person must see (the hub hides something, a clock is wrong)."""
    if report is None:
        return []
    return [n for n in report.notices if getattr(n, "kind", "") in (WITHHOLDING, CLOCK, SILENCE)]
