"""Roles are enforced in core: whatever window or command calls the vault, a supervisor only
reads, a professional cannot delete or manage users, and a vault always keeps a coordinator."""
from __future__ import annotations

import pytest

from cpc_desktop.core.errors import (PermissionDenied, UnknownUser, VaultError,
                                     WrongPassphrase)
from cpc_desktop.core.keyslots import KeySlots
from cpc_desktop.core.users import PERMISSIONS, Action, Role, User, parse_role
from cpc_desktop.core.vault import SLOTS_NAME, Vault

PROFESSIONAL = ("ana.huaman", "frase ficticia de ana")
SUPERVISOR = ("sonia.supervisora", "frase ficticia de sonia")


# ---------------------------------------------------------------- the permission table

@pytest.mark.parametrize("role, allowed", [
    (Role.COORDINATOR, set(Action)),
    (Role.PROFESSIONAL, {Action.READ, Action.WRITE, Action.BACKUP}),
    (Role.SUPERVISOR, {Action.READ}),
])
def test_each_role_may_do_exactly_its_actions(role, allowed):
    user = User("prueba", "Persona Ficticia", role)
    assert {a for a in Action if user.can(a)} == allowed, (
        f"a {role.value} could do more (or less) than the shelter agreed")
    for action in set(Action) - allowed:
        with pytest.raises(PermissionDenied):
            user.require(action)


def test_an_inactive_user_may_do_nothing():
    user = User("prueba", "Persona Ficticia", Role.COORDINATOR, active=False)
    assert not any(user.can(a) for a in Action), "a disabled account could still act"


def test_every_action_has_a_refusal_message():
    for role in Role:
        for action in set(Action) - PERMISSIONS[role]:
            with pytest.raises(PermissionDenied) as exc:
                User("prueba", "Persona", role).require(action)
            assert str(exc.value).strip(), "a refused action would show an empty message"
    assert Role.SUPERVISOR.label == "Supervisor(a), solo lectura"


def test_unknown_role_is_refused():
    with pytest.raises(PermissionDenied) as exc:
        parse_role("administrador")
    assert "coordinator" in str(exc.value), "the person would not learn which roles exist"
    assert parse_role("professional") is Role.PROFESSIONAL


# ---------------------------------------------------------------- a vault with three roles

@pytest.fixture(scope="module")
def staff(tmp_path_factory, vault_factory, intake_values, service_values):
    """A vault with a coordinator, a professional and a supervisor, each with a session."""
    created = vault_factory(tmp_path_factory.mktemp("staff") / "vault")
    coord = created.vault
    coord.add_user(PROFESSIONAL[0], Role.PROFESSIONAL, PROFESSIONAL[1], "Ana Ficticia Huamán")
    coord.add_user(SUPERVISOR[0], "supervisor", SUPERVISOR[1], "Sonia Ficticia")
    rid = coord.add("ficha_ingreso", intake_values())
    sid = coord.add("registro_atenciones", service_values(), rid)
    sessions = {"coordinator": coord,
                "professional": Vault.open(created.path, *PROFESSIONAL),
                "supervisor": Vault.open(created.path, *SUPERVISOR)}
    yield created, sessions, rid, sid
    for session in sessions.values():
        session.lock()


def state(v: Vault) -> tuple:
    """What a refused action must leave unchanged."""
    return (len(v.audit_log()), [(r.id, r.updated_at, r.deleted) for r in
                                 v.records(v.residents(include_deleted=True)[0].id,
                                           include_deleted=True)],
            [(u.name, u.role, u.active) for u in v.users()])


def test_sessions_have_their_roles(staff):
    _created, sessions, _rid, _sid = staff
    assert {name: s.user.role.value for name, s in sessions.items()} == {
        "coordinator": "coordinator", "professional": "professional",
        "supervisor": "supervisor"}


def test_supervisor_can_read(staff):
    _created, sessions, rid, sid = staff
    sup = sessions["supervisor"]
    assert sup.get(rid).values and sup.records(rid) and sup.history(sid), (
        "a supervisor on a visit could not see the files she came to review")
    assert [r.id for r in sup.residents()] == [rid]


@pytest.mark.parametrize("attempt", [
    "add", "update", "delete", "add_user", "set_role", "set_active", "reset_passphrase",
    "backup",
])
def test_supervisor_cannot_write_or_manage(staff, attempt, intake_values, service_values,
                                           tmp_path):
    _created, sessions, rid, sid = staff
    sup = sessions["supervisor"]
    actions = {
        "add": lambda: sup.add("registro_atenciones", service_values(), rid),
        "update": lambda: sup.update(sid, {"duration_minutes": 5}),
        "delete": lambda: sup.delete(sid),
        "add_user": lambda: sup.add_user("intruso.ficticio", "coordinator",
                                         "frase ficticia larga"),
        "set_role": lambda: sup.set_role(SUPERVISOR[0], "coordinator"),
        "set_active": lambda: sup.set_active(PROFESSIONAL[0], False),
        "reset_passphrase": lambda: sup.reset_passphrase(PROFESSIONAL[0],
                                                         "frase ficticia nueva"),
        "backup": lambda: sup.backup(tmp_path / "copia.cpcbackup"),
    }
    before = state(sessions["coordinator"])
    with pytest.raises(PermissionDenied):
        actions[attempt]()
    assert state(sessions["coordinator"]) == before, (
        f"a read-only supervisor's {attempt} would have changed the vault")
    assert not (tmp_path / "copia.cpcbackup").exists()


def test_professional_writes_but_cannot_delete_or_manage_users(staff, service_values):
    _created, sessions, rid, sid = staff
    pro = sessions["professional"]
    new = pro.add("registro_atenciones", service_values(service_date="2024-03-06"), rid)
    pro.update(new, {"duration_minutes": 30})
    assert pro.get(new).updated_by == PROFESSIONAL[0], "the record would not say who edited it"
    before = state(sessions["coordinator"])
    for attempt in (lambda: pro.delete(sid),
                    lambda: pro.add_user("otra.persona", "professional", "frase ficticia larga"),
                    lambda: pro.set_role(PROFESSIONAL[0], "coordinator"),
                    lambda: pro.set_active(SUPERVISOR[0], False),
                    lambda: pro.reset_passphrase(SUPERVISOR[0], "frase ficticia nueva")):
        with pytest.raises(PermissionDenied):
            attempt()
    assert state(sessions["coordinator"]) == before, (
        "a professional could delete files or give herself more rights")


def test_professional_cannot_restore_a_backup(staff, tmp_path):
    created, sessions, _rid, _sid = staff
    backup = sessions["professional"].backup(tmp_path / "copia.cpcbackup")
    vault_files = sorted(p.name for p in created.path.iterdir())
    with pytest.raises(PermissionDenied):
        Vault.restore(backup, created.path, *PROFESSIONAL)
    assert sorted(p.name for p in created.path.iterdir()) == vault_files
    assert not list(created.path.parent.glob("*.before-restore-*")), (
        "a professional could replace the whole vault with an old copy")


def test_the_last_coordinator_cannot_be_demoted_or_disabled(staff, coordinator):
    created, sessions, _rid, _sid = staff
    coord = sessions["coordinator"]
    before = state(coord)
    with pytest.raises(PermissionDenied) as exc:
        coord.set_role(coordinator.user, "professional")
    assert "coordinador" in str(exc.value)
    with pytest.raises(PermissionDenied):
        coord.set_active(coordinator.user, False)
    assert state(coord) == before, "the shelter would be left with nobody able to manage it"
    assert KeySlots.load(created.path / SLOTS_NAME).unlock_user(
        coordinator.user, coordinator.passphrase), (
        "a refused disable would still have removed the coordinator's key slot")


def test_unknown_user_cannot_be_changed(staff):
    _created, sessions, _rid, _sid = staff
    coord = sessions["coordinator"]
    for attempt in (lambda: coord.set_role("nadie.ficticio", "professional"),
                    lambda: coord.set_active("nadie.ficticio", False),
                    lambda: coord.reset_passphrase("nadie.ficticio", "frase ficticia nueva")):
        with pytest.raises(UnknownUser):
            attempt()


def test_user_names_are_unique_ignoring_case_and_spaces(staff):
    _created, sessions, _rid, _sid = staff
    with pytest.raises(VaultError):
        sessions["coordinator"].add_user("  ANA.Huaman ", "professional", "frase ficticia larga")
    with pytest.raises(VaultError):
        sessions["coordinator"].add_user("nueva.persona", "professional", "corta")


# ---------------------------------------------------------------- changes to accounts

def test_demoting_a_coordinator_is_allowed_when_another_remains(vault, coordinator):
    vault.add_user("lucia.coordinadora", "coordinator", "frase ficticia de lucia")
    vault.set_role(coordinator.user, "professional")
    roles = {u.name: u.role for u in vault.users()}
    assert roles == {"lucia.coordinadora": Role.COORDINATOR,
                     coordinator.user: Role.PROFESSIONAL}
    with pytest.raises(PermissionDenied):
        vault.set_role("lucia.coordinadora", "supervisor")


def test_a_disabled_users_passphrase_no_longer_opens(created_vault):
    v = created_vault.vault
    v.add_user(PROFESSIONAL[0], "professional", PROFESSIONAL[1])
    v.set_active(PROFESSIONAL[0], False)
    assert not {u.name: u.active for u in v.users()}[PROFESSIONAL[0]]
    with pytest.raises(WrongPassphrase):
        Vault.open(created_vault.path, *PROFESSIONAL)
    # Enabling again does not bring the old passphrase back: a coordinator sets a new one.
    v.set_active(PROFESSIONAL[0], True)
    v.reset_passphrase(PROFESSIONAL[0], "frase ficticia renovada")
    with Vault.open(created_vault.path, PROFESSIONAL[0], "frase ficticia renovada") as back:
        assert back.user.role is Role.PROFESSIONAL and back.user.active
