"""The users of a vault: roles, passphrases, enabling and disabling (which re-keys)."""
from __future__ import annotations

import re
from collections.abc import Callable

from . import audit, rekey
from .errors import PermissionDenied, UnknownUser, VaultError
from .i18n import _
from .keyslots import normalize_user
from .users import Action, Role, User, parse_role

MIN_PASSPHRASE = 10


def _check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise VaultError(_("La contraseña debe tener al menos {n} caracteres; una frase de "
                           "varias palabras es más fácil de recordar.").format(n=MIN_PASSPHRASE))


def passphrase_strength(passphrase: str) -> int:
    """0 (weak) … 4 (strong): a hint for people, not a security guarantee."""
    if len(passphrase) < MIN_PASSPHRASE:
        return 0
    classes = sum(bool(re.search(p, passphrase)) for p in (r"[a-záéíóúñ]", r"[A-ZÁÉÍÓÚÑ]",
                                                            r"\d", r"[^\w]"))
    words = len(passphrase.split())
    score = 1 + (len(passphrase) >= 14) + (len(passphrase) >= 20 or words >= 4) + (classes >= 3)
    return min(score, 4)


def _load_user(conn, login: str) -> User:
    row = conn.execute("SELECT name, display_name, role, active, created_at FROM users WHERE "
                       "name=?", (login,)).fetchone()
    if row is None:
        raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
    return User(row[0], row[1], Role(row[2]), bool(row[3]), row[4])


class UserAdmin:
    """The user management of a Vault (a mixin: uses its reading()/writing(), require())."""

    def users(self) -> list[User]:
        return [User(r[0], r[1], Role(r[2]), bool(r[3]), r[4])
                for r in self.read("SELECT name, display_name, role, active, created_at FROM "
                                    "users ORDER BY name")]

    def add_user(self, name: str, role: str | Role, passphrase: str,
                 display_name: str | None = None) -> User:
        self.require(Action.MANAGE_USERS)
        role = parse_role(role.value if isinstance(role, Role) else role)
        login = normalize_user(name)
        if not login:
            raise VaultError(_("Indique un nombre de usuario."))
        _check_new_passphrase(passphrase)
        with self._lock:
            if self.read("SELECT 1 FROM users WHERE name=?", (login,)):
                raise VaultError(_("Ya existe un usuario con ese nombre."))

            def insert(conn) -> None:
                conn.execute("INSERT INTO users VALUES (?,?,?,1,?)",
                             (login, (display_name or name).strip(), role.value,
                              audit.now_iso()))
                audit.append(conn, self.user.name, "user.add", None,
                             {"user": login, "role": role.value})

            rekey.add_user(self, login, passphrase, insert)
        return _load_user(self.conn, login)

    def set_role(self, name: str, role: str | Role) -> None:
        self.require(Action.MANAGE_USERS)
        role = parse_role(role.value if isinstance(role, Role) else role)
        login = normalize_user(name)
        with self._tx() as conn:
            if conn.execute("UPDATE users SET role=? WHERE name=?",
                            (role.value, login)).rowcount != 1:
                raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
            self._keep_a_coordinator(conn)
            audit.append(conn, self.user.name, "user.role", None, {"user": login,
                                                                   "role": role.value})

    def set_active(self, name: str, active: bool,
                   progress: Callable[[int, int], None] | None = None
                   ) -> "rekey.RekeyResult | None":
        """Disabling re-keys the vault (see disable_user). Enabling needs a new passphrase
        afterwards (reset_passphrase): the user's slot was removed when disabled."""
        if not active:
            return self.disable_user(name, progress=progress)
        self.require(Action.MANAGE_USERS)
        login = normalize_user(name)
        with self._tx() as conn:
            if conn.execute("UPDATE users SET active=1 WHERE name=?", (login,)).rowcount != 1:
                raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
            audit.append(conn, self.user.name, "user.enable", None, {"user": login})
        return None

    def disable_user(self, name: str, progress: Callable[[int, int], None] | None = None
                     ) -> "rekey.RekeyResult":
        """Disables a user and re-keys: their passphrase, and every slot file they may have
        copied (backups included), no longer open today's vault. Returns the new recovery key."""
        return rekey.rekey(self, reason="user.disable", disable=name, progress=progress)

    def rekey(self, reason: str = "coordinator",
              progress: Callable[[int, int], None] | None = None) -> "rekey.RekeyResult":
        """Re-encrypts the vault under a new key ("cambiar la llave de la bóveda")."""
        return rekey.rekey(self, reason=reason, progress=progress)

    def reset_passphrase(self, name: str, new_passphrase: str) -> None:
        """A coordinator sets a new passphrase for a user who forgot theirs."""
        self.require(Action.MANAGE_USERS)
        login = normalize_user(name)
        if not self.read("SELECT 1 FROM users WHERE name=?", (login,)):
            raise UnknownUser(_("No hay ningún usuario con ese nombre en esta bóveda."))
        self._rewrap_user(login, new_passphrase, action="user.reset")

    def change_passphrase(self, old_passphrase: str, new_passphrase: str) -> None:
        """Rewraps the current user's slot; the data is not re-encrypted."""
        rekey.fresh(self).unlock_user_all(self.user.name, old_passphrase)
        self._rewrap_user(self.user.name, new_passphrase)

    def _rewrap_user(self, login: str, passphrase: str, action: str = "user.passphrase") -> None:
        _check_new_passphrase(passphrase)
        with self._lock:
            rekey.rewrap(self, login, passphrase, action)

    def _keep_a_coordinator(self, conn) -> None:
        if not conn.execute("SELECT 1 FROM users WHERE role=? AND active=1",
                            (Role.COORDINATOR.value,)).fetchone():
            raise PermissionDenied(_("La bóveda debe conservar al menos un(a) coordinador(a) "
                                     "activo(a)."))
