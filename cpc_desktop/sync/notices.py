"""What a sync tells a person besides its counts: withholding by the hub, clocks, the hub's
state files. Each notice has a kind (for scripts: `cpc sync --json`) and names a device by
its id, never a record."""
from __future__ import annotations

from dataclasses import dataclass

WITHHOLDING = "withholding"   # the hub shows less than another device has already seen
CLOCK = "clock"               # a clock beyond the allowed skew, here or on another device
SILENCE = "silence"           # nothing new from any other device for weeks (a frozen hub?)
HUB = "hub"                   # a damaged or older state file on the hub
MEMBERSHIP = "membership"     # join requests, approvals, invitations; a restored vault


@dataclass(frozen=True)
class Notice:
    kind: str
    message: str
    device: str = ""          # the device concerned (full id), if any
    by: str = ""              # the device that witnessed or reported it, if any

    def __str__(self) -> str:
        return self.message
