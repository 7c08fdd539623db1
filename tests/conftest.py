"""Shared fixtures: a vault in a temporary folder, its coordinator, and valid form values.

Everyone in test data is fictional ("Ficticia", "Prueba"); never put a real name here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from cpc_desktop.core import forms
from cpc_desktop.core.vault import Vault

# ---------------------------------------------------------------- vault and its coordinator

SHELTER_CODE = "LOR-01"
SHELTER_NAME = "Casa de Acogida Ficticia"


@dataclass(frozen=True)
class Login:
    user: str
    passphrase: str
    display_name: str


COORDINATOR = Login("rosa.quispe", "frase ficticia de prueba 2024", "Rosa Ficticia Quispe")


@dataclass
class CreatedVault:
    vault: Vault
    path: Path
    recovery_key: str
    coordinator: Login
    backup: Path | None = None  # set by fixtures that keep a backup of this vault


def create_vault(path: Path, coordinator: Login = COORDINATOR) -> CreatedVault:
    """A new vault at `path`, unlocked as its coordinator; Argon2id at its floor (fast)."""
    vault, recovery_key = Vault.create(
        path, shelter_code=SHELTER_CODE, shelter_name=SHELTER_NAME, user=coordinator.user,
        passphrase=coordinator.passphrase, display_name=coordinator.display_name,
        kdf_seconds=0)
    return CreatedVault(vault, Path(path), recovery_key, coordinator)


@pytest.fixture(scope="session")
def coordinator() -> Login:
    """The login of the coordinator who created the `vault` fixture."""
    return COORDINATOR


@pytest.fixture(scope="session")
def vault_factory():
    """create_vault(path, login=COORDINATOR) for module-scoped vaults (tmp_path_factory)."""
    return create_vault


@pytest.fixture
def created_vault(tmp_path) -> CreatedVault:
    """A fresh vault in tmp_path with its folder and printed recovery key; locked afterwards."""
    created = create_vault(tmp_path / "vault")
    yield created
    created.vault.lock()


@pytest.fixture
def vault(created_vault) -> Vault:
    """A fresh vault, unlocked as the coordinator."""
    return created_vault.vault


# ---------------------------------------------------------------- valid form values

ADMISSION_DATE = "2024-03-01"


def make_intake_values(**overrides) -> dict:
    """A valid ficha_ingreso for a fictional child; keys given as None are left out."""
    values = {
        "admission_date": ADMISSION_DATE,
        "name_first": "Niña Prueba",
        "name_last": "Huamán Ficticia",
        "sex": "female",
        "referral_source": "upe",
        "risk_level": "high",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def make_service_values(**overrides) -> dict:
    """A valid registro_atenciones entry; keys given as None are left out."""
    values = {
        "service_date": "2024-03-05",
        "service_area": "legal",
        "professional": "Rosa Ficticia Quispe",
        "duration_minutes": 45,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def make_minimal_values(form: forms.Form, day: dt.date = dt.date(2024, 3, 10)) -> dict:
    """The required fields of any form filled with valid values (first choice, a past date)."""
    samples = {"text": "Dato ficticio", "longtext": "Nota ficticia de prueba.",
               "date": day.isoformat(), "time": "10:30", "number": 1, "yesno": True,
               "place": "16"}
    values = {}
    for fld in form.fields:
        if not fld.required:
            continue
        if fld.type in ("choice", "multichoice"):
            first = fld.choices[0].value
            values[fld.id] = first if fld.type == "choice" else [first]
        else:
            values[fld.id] = samples[fld.type]
    return values


@pytest.fixture(scope="session")
def intake_values():
    """Builder of a valid intake: intake_values(name_first="Rosa Ficticia", …)."""
    return make_intake_values


@pytest.fixture(scope="session")
def service_values():
    """Builder of a valid service entry: service_values(service_area="medical", …)."""
    return make_service_values


@pytest.fixture(scope="session")
def minimal_values():
    """Builder of the smallest valid values of any form: minimal_values(form)."""
    return make_minimal_values


@pytest.fixture
def hub_pair(tmp_path):
    """Two laptops of one shelter and a folder hub (a USB stick) between them."""
    from sync_support import shelter_of

    from cpc_desktop.sync.transports import FolderHub

    a, b = shelter_of(tmp_path / "laptops", 2)
    (tmp_path / "hub").mkdir()
    yield a, b, FolderHub(tmp_path / "hub")
    a.lock()
    b.lock()
