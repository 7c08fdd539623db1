"""The fictional demonstration shelter: not part of the domain core, only a user of it."""
from .generator import (DEFAULT_RESIDENTS, DEFAULT_SERVICES_PER_RESIDENT, DEMO_PASSPHRASE,
                        DEMO_SHELTER, DEMO_USER, DEMO_USERS, HISTORY_DAYS, create_demo_vault,
                        generate, populate)



__all__ = ["DEFAULT_RESIDENTS", "DEFAULT_SERVICES_PER_RESIDENT", "DEMO_PASSPHRASE",
           "DEMO_SHELTER", "DEMO_USER", "DEMO_USERS", "HISTORY_DAYS", "create_demo_vault",
           "generate", "populate"]
