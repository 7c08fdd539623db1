"""Users, roles and what each role may do. Enforced here, whatever calls the vault."""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .errors import PermissionDenied
from .i18n import N_, _


class Role(str, Enum):
    COORDINATOR = "coordinator"
    PROFESSIONAL = "professional"
    SUPERVISOR = "supervisor"

    @property
    def label(self) -> str:
        return _(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.COORDINATOR: N_("Coordinador(a)"),
    Role.PROFESSIONAL: N_("Profesional"),
    Role.SUPERVISOR: N_("Supervisor(a), solo lectura"),
}


class Action(str, Enum):
    READ = "read"
    WRITE = "write"            # add and edit records
    DELETE = "delete"          # tombstone a record
    MANAGE_USERS = "manage_users"
    BACKUP = "backup"
    RESTORE = "restore"
    JOIN = "join"              # join two residents that are one child registered twice


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.COORDINATOR: frozenset(Action),
    Role.PROFESSIONAL: frozenset({Action.READ, Action.WRITE, Action.BACKUP}),
    Role.SUPERVISOR: frozenset({Action.READ}),
}

_REFUSALS = {
    Action.READ: N_("Su usuario no puede ver estos registros."),
    Action.WRITE: N_("Su usuario tiene acceso de solo lectura: no puede agregar ni modificar "
                     "registros."),
    Action.DELETE: N_("Solo un(a) coordinador(a) puede eliminar registros."),
    Action.MANAGE_USERS: N_("Solo un(a) coordinador(a) puede administrar usuarios."),
    Action.BACKUP: N_("Su usuario no puede hacer copias de seguridad."),
    Action.RESTORE: N_("Solo un(a) coordinador(a) puede restaurar una copia de seguridad."),
    Action.JOIN: N_("Solo un(a) coordinador(a) puede unir dos residentes duplicados."),
}


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise PermissionDenied(_("Rol desconocido: «{role}». Roles: {roles}.").format(
            role=text, roles=", ".join(r.value for r in Role))) from None


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    role: Role
    active: bool = True
    created_at: str = ""

    def can(self, action: Action) -> bool:
        return self.active and action in PERMISSIONS[self.role]

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(_(_REFUSALS[action]))


# Titles written before a name ("Lic. Rosa Quispe"), as a folded (lowercase, unaccented) text.
_TITLES = re.compile(r"^(?:(?:lic|lcda|lcdo|licda|licdo|psic|ps|dr|dra|sr|sra|srta|prof|mg|"
                     r"mgtr|abog|tsoc|t\.?s)\.?\s+)+")


def without_title(folded: str) -> str:
    """A folded name without the titles before it, spaces made single: "lic. rosa  q" →
    "rosa q" (also "lic.rosa")."""
    return _TITLES.sub("", " ".join(folded.replace(".", ". ").split())).strip()
