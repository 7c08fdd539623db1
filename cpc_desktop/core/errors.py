"""Exceptions a user may see. Their text is already translated and never holds personal data."""
from __future__ import annotations


class CpcError(Exception):
    """Base of every error with a message meant for a person (shown as is by UI and CLI)."""


class FormDefinitionError(CpcError):
    """A form definition file is malformed (a developer's or deployer's mistake)."""


class UnknownForm(CpcError):
    pass


class ValidationError(CpcError):
    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class WrongPassphrase(CpcError):
    pass


class BadRecoveryKey(CpcError):
    pass


class PermissionDenied(CpcError):
    pass


class UnknownUser(CpcError):
    pass


class NotFound(CpcError):
    pass


class VaultError(CpcError):
    """The vault cannot be used as asked (missing, damaged, busy, exists already…)."""


class VaultBusy(VaultError):
    pass


class VaultDamaged(VaultError):
    pass


class VaultLocked(VaultError):
    pass


class VaultReadOnly(VaultError):
    """The vault's folder or file may not be written: intact, readable at most."""


class VaultDiskFull(VaultError):
    """No space left for a write: nothing saved was lost."""


class BackupError(CpcError):
    pass
