"""`cpc`: the vault's operations without a window (automation, tests, support staff)."""
from .main import main

__all__ = ["main"]
