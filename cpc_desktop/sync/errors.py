"""What can go wrong in a sync, as errors a coordinator can read (translated, no record data)."""
from __future__ import annotations

from ..core.errors import CpcError


class SyncError(CpcError):
    """Base of every sync error."""


class BatchRefused(SyncError):
    """A batch on the hub was not applied; nothing of it changed the vault."""

    def __init__(self, message: str, *, shelter: str = "", device: str = "", name: str = ""):
        super().__init__(message)
        self.shelter, self.device, self.name = shelter, device, name


class HubError(SyncError):
    """The hub cannot be used now (unreachable, refused, full, answered nonsense)."""


class HubUnreachable(HubError):
    pass


class HubAuthError(HubError):
    pass


class HubFull(HubError):
    pass


class HubGarbage(HubError):
    pass


class HubFileTooLarge(HubGarbage):
    """A file on the hub larger than any file this program writes: not downloaded."""


class HubInsecure(HubError):
    """A hub address this program will not send a password or a batch to."""


class Cancelled(SyncError):
    pass


class InvitationError(SyncError):
    pass


class DeviceError(SyncError):
    pass
