"""The vault: records in, records out, nothing readable on disk, and nothing lost by a wrong
passphrase, a passphrase change, a recovery, a backup, a damaged file or a busy neighbour."""
from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from cpc_desktop import demo
from cpc_desktop.core import vault as vault_module
from cpc_desktop.core.errors import (BackupError, BadRecoveryKey, NotFound, ValidationError,
                                     VaultBusy, VaultDamaged, VaultError, VaultLocked,
                                     WrongPassphrase)
from cpc_desktop.core.vault import DB_NAME, SCHEMA_VERSION, SLOTS_NAME, Vault

PAGE = 4096  # SQLCipher 4 page size


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a vault folder: its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.is_file()}


def pages(data: bytes) -> list[bytes]:
    return [data[i:i + PAGE] for i in range(0, len(data), PAGE)]


# ---------------------------------------------------------------- a vault only read from

@pytest.fixture(scope="module")
def populated(tmp_path_factory, vault_factory, intake_values, service_values):
    """A vault with fictional residents; tests using it must not write to it."""
    created = vault_factory(tmp_path_factory.mktemp("populated") / "vault")
    v = created.vault
    ids = {
        "maria": v.add("ficha_ingreso", intake_values(name_first="María", name_last="Huamán "
                                                      "Quispe", sex="female")),
        "nino": v.add("ficha_ingreso", intake_values(name_first="Niño Prueba",
                                                     name_last="Ccori Mamani", sex="male",
                                                     name_nickname="Chino Ficticio")),
        "rosa": v.add("ficha_ingreso", intake_values(name_first="Rosa Ficticia",
                                                     name_last="Huanca")),
        "egresada": v.add("ficha_ingreso", intake_values(name_first="Lucía Ficticia",
                                                         name_last="Prueba Tito")),
    }
    v.add("registro_atenciones", service_values(service_date="2024-03-05"), ids["maria"])
    v.add("registro_atenciones", service_values(service_date="2024-04-02"), ids["maria"])
    v.add("ficha_egreso", {"discharge_date": "2024-05-20",
                           "discharge_reason": "family_reintegration"}, ids["egresada"])
    v.delete(ids["rosa"])
    yield v, ids
    v.lock()


def test_search_ignores_accents_and_case(populated):
    v, ids = populated
    for typed in ("maria huaman", "MARÍA HUAMÁN", "María", "huaman maria", "quispe"):
        found = [r.id for r in v.search(typed)]
        assert found == [ids["maria"]], (
            f"searching {typed!r} would not find María Huamán; staff would open a duplicate file")


def test_search_matches_word_prefixes_and_nicknames(populated):
    v, ids = populated
    assert [r.id for r in v.search("hua")] == [ids["maria"]], (
        "typing the start of a surname would not find the child")
    assert [r.id for r in v.search("chino")] == [ids["nino"]], (
        "a child known by a nickname would not be found")
    assert [r.id for r in v.search("mar hua")] == [ids["maria"]]
    assert v.search("zzyzx") == [], "a search for nobody would list somebody"


def test_search_by_internal_code(populated):
    v, ids = populated
    code = v.resident(ids["nino"]).internal_code
    assert [r.id for r in v.search(code)] == [ids["nino"]], (
        "a child referred to by code (to protect the name) could not be found")
    assert v.find_resident(code.lower()).id == ids["nino"]


def test_deleted_resident_is_not_found(populated):
    v, ids = populated
    assert v.search("rosa") == [] and v.search("huanca") == [], (
        "a file deleted by mistake-proofing would still show up in searches")
    assert ids["rosa"] not in {r.id for r in v.residents()}
    assert ids["rosa"] in {r.id for r in v.residents(include_deleted=True)}, (
        "the tombstone would be gone, so sync could bring the record back")


def test_discharge_sets_status_and_date(populated):
    v, ids = populated
    summary = v.resident(ids["egresada"])
    assert summary.status == "discharged" and summary.discharge_date == "2024-05-20", (
        "a child who left would still be counted as in care")
    in_care = {r.id for r in v.residents(status="in_care")}
    assert ids["egresada"] not in in_care and ids["maria"] in in_care


def test_resident_summary_follows_intake_and_services(populated):
    v, ids = populated
    maria = v.resident(ids["maria"])
    assert (maria.name_first, maria.name_last, maria.sex) == ("María", "Huamán Quispe", "female")
    assert maria.last_service == "2024-04-02", "the list would show the wrong last service"
    assert maria.status == "in_care" and not maria.deleted


def test_records_are_listed_by_date_and_form(populated):
    v, ids = populated
    services = v.records(ids["maria"], "registro_atenciones")
    assert [r.record_date for r in services] == ["2024-03-05", "2024-04-02"], (
        "a child's services would be listed out of order")
    assert {r.form for r in v.records(ids["maria"])} == {"ficha_ingreso", "registro_atenciones"}


def test_check_passes_on_a_good_vault(populated):
    v, _ids = populated
    report = v.check()
    assert report.ok, f"a healthy vault would be reported damaged: {report.items}"
    assert {name for name, _ok, _msg in report.items} >= {"cipher", "sqlite", "schema", "audit"}


def test_schema_version_is_stored(populated):
    v, _ids = populated
    assert v.schema_version == SCHEMA_VERSION
    stored = v.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert stored == str(SCHEMA_VERSION), "a future version could not tell how to migrate"


def test_unknown_record_is_not_found(populated):
    v, _ids = populated
    with pytest.raises(NotFound):
        v.get("0190f5a2-0000-7000-8000-000000000000")
    with pytest.raises(NotFound):
        v.resident("0190f5a2-0000-7000-8000-000000000000")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, vault_factory):
    """One vault shared by the record tests: each works on residents it adds itself."""
    created = vault_factory(tmp_path_factory.mktemp("scratch") / "vault")
    yield created.vault
    created.vault.lock()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, vault_factory, intake_values):
    """A locked vault with enough records to fill many pages, and a good backup of it.
    Tests copy it (pristine_copy) rather than change it."""
    created = vault_factory(tmp_path_factory.mktemp("pristine") / "vault")
    for i in range(30):
        created.vault.add("ficha_ingreso", intake_values(name_first=f"Prueba {i}",
                                                         risk_reason="Motivo ficticio. " * 100))
    created.backup = created.vault.backup(created.path.parent / "copia.cpcbackup")
    created.vault.lock()
    return created


@pytest.fixture
def pristine_copy(pristine, tmp_path) -> Path:
    folder = tmp_path / "vault"
    shutil.copytree(pristine.path, folder)
    return folder


# ---------------------------------------------------------------- create and open

def test_create_then_open_round_trip(created_vault, intake_values):
    v = created_vault.vault
    rid = v.add("ficha_ingreso", intake_values(admission_date="01/03/2024"))
    stored = v.get(rid).values
    v.lock()
    login = created_vault.coordinator
    with Vault.open(created_vault.path, login.user, login.passphrase) as again:
        assert again.get(rid).values == stored, "a child's file would change between sessions"
        assert again.get(rid).values["admission_date"] == "2024-03-01"
        assert again.shelter_code == "LOR-01" and again.user.role.value == "coordinator"
        assert again.user.display_name == login.display_name


def test_create_refuses_a_folder_that_holds_a_vault(pristine_copy):
    before = snapshot(pristine_copy)
    with pytest.raises(VaultError):
        Vault.create(pristine_copy, shelter_code="LOR-02", shelter_name="Otra",
                     user="otra.persona", passphrase="frase ficticia larga", kdf_seconds=0)
    assert snapshot(pristine_copy) == before, (
        "setting up again by mistake would wipe the shelter's records")


@pytest.mark.parametrize("kwargs", [
    {"passphrase": "corta"},
    {"shelter_code": "x"},
    {"shelter_code": "LOR 01!"},
    {"shelter_name": "  "},
    {"user": " "},
])
def test_create_refuses_bad_settings(tmp_path, kwargs):
    settings = {"shelter_code": "LOR-01", "shelter_name": "Casa Ficticia", "user": "rosa.quispe",
                "passphrase": "frase ficticia larga", "kdf_seconds": 0, **kwargs}
    with pytest.raises(VaultError):
        Vault.create(tmp_path / "vault", **settings)
    assert not (tmp_path / "vault" / SLOTS_NAME).exists()


def test_wrong_passphrase_changes_nothing(pristine_copy, coordinator):
    before = snapshot(pristine_copy)
    time.sleep(0.01)  # a rewrite would show in the mtimes
    with pytest.raises(WrongPassphrase):
        Vault.open(pristine_copy, coordinator.user, "frase equivocada de prueba")
    with pytest.raises(WrongPassphrase):
        Vault.open(pristine_copy, "nadie.ficticio", coordinator.passphrase)
    assert snapshot(pristine_copy) == before, (
        "a mistyped passphrase would modify the vault (and could damage it)")


def test_open_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(VaultError):
        Vault.open(tmp_path / "no-existe", "rosa.quispe", "frase ficticia larga")


def test_vault_file_is_ciphertext(created_vault, intake_values):
    v = created_vault.vault
    v.add("ficha_ingreso", intake_values(name_first="Zzyzxcanario", name_last="Ficticio"))
    wal = (created_vault.path / (DB_NAME + "-wal")).read_bytes()  # the write is still here
    assert wal and b"Zzyzxcanario" not in wal, "the name would be readable in the WAL"
    v.lock()
    data = (created_vault.path / DB_NAME).read_bytes()
    assert not data.startswith(b"SQLite format 3"), (
        "anyone copying the laptop could open the vault with any SQLite tool")
    assert b"SQLite format 3" not in data and b"Zzyzxcanario" not in data
    assert b"ficha_ingreso" not in data, "even the kinds of records would be readable"


def test_locked_vault_refuses_use_and_forgets_its_key(vault, intake_values):
    vault.lock()
    assert not vault.is_open
    with pytest.raises(VaultLocked):
        vault.add("ficha_ingreso", intake_values())
    with pytest.raises(VaultLocked):
        vault.residents()
    assert vault._raw_key is None, "the key would stay in memory after the screen locked"
    vault.lock()  # locking twice is harmless


# ---------------------------------------------------------------- records

def test_add_stores_normalized_values_and_opens_a_resident(scratch, intake_values, coordinator):
    rid = scratch.add("ficha_ingreso", intake_values(name_first="  Niño Prueba  ", age="12"))
    record = scratch.get(rid)
    assert record.resident_id == rid and record.form == "ficha_ingreso" and not record.deleted
    assert record.values["name_first"] == "Niño Prueba" and record.values["age"] == 12
    assert record.created_by == coordinator.user and record.record_date == "2024-03-01"
    assert scratch.resident(rid).name_first == "Niño Prueba"


def test_invalid_add_changes_nothing(scratch, intake_values):
    entries, residents = len(scratch.audit_log()), len(scratch.residents(include_deleted=True))
    with pytest.raises(ValidationError) as exc:
        scratch.add("ficha_ingreso", intake_values(sex="otro_valor"))
    assert [e.field for e in exc.value.errors] == ["sex"]
    assert len(scratch.residents(include_deleted=True)) == residents and len(
        scratch.audit_log()) == entries, (
        "a refused form would leave half a record behind")


def test_add_many_is_all_or_nothing(scratch, intake_values):
    residents = len(scratch.residents())
    with pytest.raises(ValidationError):
        scratch.add_many([("ficha_ingreso", intake_values(), None),
                        ("ficha_ingreso", intake_values(name_last=None), None)])
    assert len(scratch.residents()) == residents, (
        "an import that failed halfway would leave some children in")
    ids = scratch.add_many([("ficha_ingreso", intake_values(), None),
                          ("ficha_ingreso", intake_values(name_first="Otra Prueba"), None)])
    assert len(ids) == 2 and len(scratch.residents()) == residents + 2


def test_update_changes_only_given_fields_and_their_clocks(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values(risk_level="high", community="Ficticia"))
    before = scratch.get(rid)
    scratch.update(rid, {"risk_level": "medium", "name_first": before.values["name_first"]})
    after = scratch.get(rid)
    assert after.values == {**before.values, "risk_level": "medium"}, (
        "editing one field would lose or change others")
    fields = set(before.values) | set(after.values)
    changed = {k for k in fields if after.clock(k) != before.clock(k)}
    assert changed == {"risk_level"}, (
        f"unchanged fields got new clocks {changed}: a colleague's edits would be overwritten "
        f"at sync")
    assert after.clock("risk_level") > max(before.clock(k) for k in before.values), (
        "a later edit would carry an older stamp and lose at sync")


def test_update_with_none_clears_and_replace_sets_the_whole_record(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values(community="Comunidad Ficticia"))
    scratch.update(rid, {"community": None})
    assert "community" not in scratch.get(rid).values, "a field could not be emptied"
    code = scratch.get(rid).values["internal_code"]
    scratch.update(rid, intake_values(name_first="Nueva Prueba"), replace=True)
    values = scratch.get(rid).values
    assert values["name_first"] == "Nueva Prueba"
    assert values["internal_code"] == code, "saving the whole form would drop the child's code"


def test_saving_an_unchanged_record_records_no_change(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values())
    history, entries = len(scratch.history(rid)), len(scratch.audit_log())
    scratch.update(rid, dict(scratch.get(rid).values), replace=True)
    assert len(scratch.history(rid)) == history and len(scratch.audit_log()) == entries, (
        "opening and saving a form would look like an edit in history and sync")


def test_history_lists_every_change_with_increasing_stamps(scratch, intake_values, coordinator):
    rid = scratch.add("ficha_ingreso", intake_values())
    scratch.update(rid, {"risk_level": "low"})
    scratch.update(rid, {"risk_level": "medium"})
    history = scratch.history(rid)
    risk = [c.value for c in history if c.field == "risk_level"]
    assert risk == ["high", "low", "medium"], "the history would not show what changed when"
    # The creation is one change (one stamp for all its fields); each later edit its own.
    stamps = [hlc for _seq, hlc in sorted({(c.seq, c.hlc) for c in history})]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), (
        "two changes would share a stamp and sync could not order them")
    assert {c.user for c in history} == {coordinator.user}
    assert {c.device for c in history} == {scratch.device_id}


def test_delete_leaves_a_tombstone_with_its_history(scratch, intake_values, service_values):
    rid = scratch.add("ficha_ingreso", intake_values())
    sid = scratch.add("registro_atenciones", service_values(), rid)
    before = scratch.history(sid)
    scratch.delete(sid)
    record = scratch.get(sid)
    assert record.deleted and record.values == service_values(service_date="2024-03-05"), (
        "deleting would destroy the record instead of keeping a tombstone for sync")
    history = scratch.history(sid)
    assert history[:len(before)] == before and history[-1].field == "_deleted", (
        "the deletion would not be recorded as a change, so other laptops would keep the record")
    assert "_deleted" in record.clocks
    assert scratch.records(rid, "registro_atenciones") == []
    assert [r.id for r in scratch.records(rid, include_deleted=True)
            if r.form == "registro_atenciones"] == [sid]
    with pytest.raises(NotFound):
        scratch.update(sid, {"note": "tarde"})
    scratch.delete(sid)  # deleting twice is harmless
    assert len(scratch.history(sid)) == len(history)


def test_records_of_every_form_kind_belong_to_the_resident(scratch, intake_values, minimal_values):
    rid = scratch.add("ficha_ingreso", intake_values())
    added = {}
    for form in scratch.forms:
        if not form.opens_resident:
            added[form.form] = scratch.add(form.form, minimal_values(form), rid)
    records = scratch.records(rid)
    assert {r.form for r in records} == {f.form for f in scratch.forms}, (
        "some kind of form could not be attached to a child's file")
    assert all(r.resident_id == rid for r in records) and len(records) == len(added) + 1


def test_other_forms_need_an_existing_resident(scratch, service_values, intake_values):
    with pytest.raises(VaultError):
        scratch.add("registro_atenciones", service_values())
    with pytest.raises(NotFound):
        scratch.add("registro_atenciones", service_values(), "0190f5a2-0000-7000-8000-0000000000ff")
    rid = scratch.add("ficha_ingreso", intake_values())
    with pytest.raises(VaultError):
        scratch.add("ficha_ingreso", intake_values(), rid)


def test_one_per_resident_form_is_refused_twice(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values())
    discharge = {"discharge_date": "2024-05-01", "discharge_reason": "family_reintegration"}
    first = scratch.add("ficha_egreso", discharge, rid)
    with pytest.raises(VaultError) as exc:
        scratch.add("ficha_egreso", discharge, rid)
    assert "Ficha de egreso" in str(exc.value), (
        "a second discharge form would split the child's discharge across two records")
    scratch.delete(first)
    scratch.add("ficha_egreso", discharge, rid)  # after deleting the first, a new one is allowed
    assert scratch.resident(rid).status == "discharged"


def test_deleting_the_discharge_puts_the_child_back_in_care(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values())
    did = scratch.add("ficha_egreso", {"discharge_date": "2024-05-01",
                                     "discharge_reason": "family_reintegration"}, rid)
    scratch.delete(did)
    assert scratch.resident(rid).status == "in_care", (
        "a discharge entered by mistake could not be undone")


def test_internal_codes_are_generated_and_unique(scratch, intake_values):
    # Years no other test of the shared vault uses, so the numbering starts at 0001.
    first = scratch.add("ficha_ingreso", intake_values(admission_date="2019-02-01"))
    scratch.add("ficha_ingreso", intake_values(internal_code="LOR-01-2019-X"))
    scratch.add("ficha_ingreso", intake_values(internal_code="LOR-01-2019-0007"))
    later = scratch.add("ficha_ingreso", intake_values(admission_date="2019-05-01"))
    other_year = scratch.add("ficha_ingreso", intake_values(admission_date="2018-12-30"))
    codes = [r.internal_code for r in scratch.residents()]
    assert len(codes) == len(set(codes)), f"two children would share a code: {codes}"
    assert scratch.resident(first).internal_code == "LOR-01-2019-0001"
    assert scratch.resident(later).internal_code == "LOR-01-2019-0008"
    assert scratch.resident(other_year).internal_code == "LOR-01-2018-0001", (
        "codes would not follow the year of admission")


def test_a_typed_code_already_in_use_is_refused(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values())
    code = scratch.resident(rid).internal_code
    with pytest.raises(ValidationError) as exc:
        scratch.add("ficha_ingreso", intake_values(internal_code=code))
    assert [e.field for e in exc.value.errors] == ["internal_code"], (
        "two children could be given the same code")
    other = scratch.add("ficha_ingreso", intake_values())
    with pytest.raises(ValidationError):
        scratch.update(other, {"internal_code": code})


def test_an_import_of_several_intakes_gives_each_its_own_code(scratch, intake_values):
    ids = scratch.add_many([("ficha_ingreso", intake_values(admission_date=f"2017-01-0{i}"),
                             None) for i in (1, 2, 3)])
    codes = [scratch.resident(i).internal_code for i in ids]
    assert codes == ["LOR-01-2017-0001", "LOR-01-2017-0002", "LOR-01-2017-0003"], (
        f"children imported together would share one code: {codes}")
    residents = len(scratch.residents())
    with pytest.raises(ValidationError):
        scratch.add_many([("ficha_ingreso", intake_values(internal_code="CASA-A"), None),
                          ("ficha_ingreso", intake_values(internal_code="CASA-A"), None)])
    assert len(scratch.residents()) == residents


def test_renaming_updates_the_search(scratch, intake_values):
    rid = scratch.add("ficha_ingreso", intake_values(name_first="Nombre Viejo"))
    scratch.update(rid, {"name_first": "Ximena Ficticia"})
    assert [r.id for r in scratch.search("ximena")] == [rid]
    assert scratch.search("viejo") == [], "a corrected name would still be found by the old one"


def test_drafts_are_kept_per_user(scratch):
    scratch.save_draft("ficha_ingreso:nuevo", {"name_first": "Borrador Ficticio"})
    assert scratch.drafts() == {"ficha_ingreso:nuevo": {"name_first": "Borrador Ficticio"}}, (
        "what was typed before the screen locked would be lost")
    scratch.discard_draft("ficha_ingreso:nuevo")
    assert scratch.drafts() == {}


# ---------------------------------------------------------------- keys

def test_passphrase_change_keeps_data_and_does_not_reencrypt(pristine_copy, coordinator):
    login, db = coordinator, pristine_copy / DB_NAME
    before = db.read_bytes()  # 30 records: enough pages that a re-encryption could not hide
    slots_before = json.loads((pristine_copy / SLOTS_NAME).read_text())

    v = Vault.open(pristine_copy, login.user, login.passphrase)
    with pytest.raises(WrongPassphrase):
        v.change_passphrase("no es la actual", "frase nueva ficticia")
    v.change_passphrase(login.passphrase, "frase nueva ficticia")
    v.lock()
    after = db.read_bytes()

    old, new = pages(before), pages(after)
    same = sum(a == b for a, b in zip(old, new))
    assert len(new) == len(old) and same >= len(old) - 8, (
        f"{len(old) - same} of {len(old)} pages rewritten: changing a passphrase would "
        f"re-encrypt the whole vault (slow, and a power cut could ruin it)")
    assert after[:16] == before[:16], "the database salt changed: the data was re-keyed"
    slots_after = json.loads((pristine_copy / SLOTS_NAME).read_text())
    recovery = [s for s in slots_before["slots"] if s["kdf"]["alg"] == "hkdf-sha256"]
    assert recovery == [s for s in slots_after["slots"] if s["kdf"]["alg"] == "hkdf-sha256"], (
        "changing a passphrase would invalidate the printed recovery key")

    with pytest.raises(WrongPassphrase):
        Vault.open(pristine_copy, login.user, login.passphrase)
    with Vault.open(pristine_copy, login.user, "frase nueva ficticia") as again:
        assert len(again.residents()) == 30, "records would be lost by a passphrase change"


def test_recovery_key_sets_a_new_passphrase(pristine, pristine_copy, coordinator):
    login = coordinator
    with pytest.raises(BadRecoveryKey):
        Vault.open_with_recovery(pristine_copy, "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA",
                                 login.user, "frase recuperada ficticia")
    typed = pristine.recovery_key.lower().replace("-", " ")
    with Vault.open_with_recovery(pristine_copy, typed, login.user,
                                  "frase recuperada ficticia") as recovered:
        assert len(recovered.residents()) == 30, "recovering would lose records"
    with pytest.raises(WrongPassphrase):
        Vault.open(pristine_copy, login.user, login.passphrase)
    with Vault.open(pristine_copy, login.user, "frase recuperada ficticia") as again:
        assert len(again.residents()) == 30
        assert [e.action for e in again.audit_log()][-2:] == [
            "vault.recover", "user.passphrase"], (
            "a recovery would leave no trace in the audit log")


# ---------------------------------------------------------------- backup and restore

def test_backup_then_restore_round_trip(created_vault, intake_values, tmp_path):
    v, login = created_vault.vault, created_vault.coordinator
    kept_id = v.add("ficha_ingreso", intake_values(name_first="Antes Ficticia"))
    (tmp_path / "copias").mkdir()
    backup = v.backup(tmp_path / "copias")
    assert backup.parent == tmp_path / "copias" and backup.name.startswith("LOR-01-")
    assert b"Antes Ficticia" not in backup.read_bytes(), "a lost USB stick would expose names"
    later_id = v.add("ficha_ingreso", intake_values(name_first="Despues Ficticia"))
    v.lock()

    kept = Vault.restore(backup, created_vault.path, login.user, login.passphrase)
    assert kept is not None and (kept / DB_NAME).exists(), (
        "the vault replaced by a restore would be deleted instead of kept aside")
    with Vault.open(created_vault.path, login.user, login.passphrase) as restored:
        assert restored.get(kept_id).values["name_first"] == "Antes Ficticia"
        with pytest.raises(NotFound):
            restored.get(later_id)
        assert restored.check().ok, "a restored vault would be damaged"
    with Vault.open(kept, login.user, login.passphrase) as previous:
        assert previous.get(later_id).values["name_first"] == "Despues Ficticia"


def _flip_inside_member(backup: Path, out: Path, member: str) -> Path:
    data = bytearray(backup.read_bytes())
    with tarfile.open(backup) as tar:
        info = tar.getmember(member)
    data[info.offset_data + info.size // 2] ^= 0x01
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("damage", ["truncated", "flipped_db", "flipped_slots", "not_a_tar",
                                    "missing"])
def test_damaged_backup_is_refused_and_the_vault_untouched(pristine, pristine_copy, tmp_path,
                                                           coordinator, damage):
    good, bad = pristine.backup, tmp_path / "dañada.cpcbackup"
    if damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "flipped_db":
        _flip_inside_member(good, bad, DB_NAME)
    elif damage == "flipped_slots":
        _flip_inside_member(good, bad, SLOTS_NAME)
    elif damage == "not_a_tar":
        bad.write_bytes(b"esto no es una copia de seguridad")
    before = snapshot(pristine_copy)
    with pytest.raises(BackupError):
        Vault.restore(bad, pristine_copy, coordinator.user, coordinator.passphrase)
    assert snapshot(pristine_copy) == before, (
        "restoring a damaged copy would damage the vault that was still good")
    leftovers = [p.name for p in tmp_path.iterdir()
                 if p.name.startswith(".cpc-restore-") or ".before-restore-" in p.name]
    assert leftovers == [], "a failed restore would leave temporary copies of the vault behind"


# ---------------------------------------------------------------- damage

@pytest.mark.parametrize("where", [0.5, 0.25, 0.9, "first_page", "last_page"])
def test_a_damaged_byte_is_reported_as_damage(pristine_copy, coordinator, where):
    folder = pristine_copy
    db = folder / DB_NAME
    data = bytearray(db.read_bytes())
    offset = {"first_page": 100, "last_page": len(data) - 100}.get(where) or int(
        len(data) * where)
    data[offset] ^= 0x40
    db.write_bytes(bytes(data))
    damaged = bytes(data)
    try:
        opened = Vault.open(folder, coordinator.user, coordinator.passphrase)
    except VaultDamaged as exc:
        assert "restaure" in str(exc).lower(), "the person would not be told what to do"
    else:
        try:
            report = opened.check()
            assert not report.ok, "a damaged vault would be reported healthy"
            assert any(not ok for name, ok, _m in report.items if name in ("cipher", "sqlite"))
            try:  # reading what is left may fail, but only as VaultDamaged, never raw sqlite
                for resident in opened.residents(include_deleted=True):
                    opened.records(resident.id, include_deleted=True)
            except VaultDamaged:
                pass
        finally:
            opened.lock()
    assert db.read_bytes() == damaged, (
        "opening a damaged vault would write to it and make recovery harder")


@pytest.mark.parametrize("sql, args", [("SELECT * FROM no_such_table", ()),
                                       ("SELECT ?", (1, 2)),
                                       ("SELEC 1", ())])
def test_a_failed_query_is_not_called_damage(pristine_copy, coordinator, sql, args):
    """A query that fails on a sound file (a program error, not the file) must not tell the
    person to restore a backup: following wrong advice loses what was written since."""
    v = Vault.open(pristine_copy, coordinator.user, coordinator.passphrase)
    try:
        with pytest.raises(VaultError) as caught:
            v.read(sql, args)
        assert not isinstance(caught.value, VaultDamaged), "a program error was called damage"
        assert "restaure" not in str(caught.value).lower()
        assert "cpc check" in str(caught.value), "no safe next step was named"
        assert v.read("SELECT count(*) FROM residents")[0][0] >= 1, "the vault stopped working"
        assert v.check().ok
    finally:
        v.lock()


def test_missing_database_file_is_reported_as_damage(pristine_copy, coordinator):
    (pristine_copy / DB_NAME).unlink()
    with pytest.raises(VaultDamaged):
        Vault.open(pristine_copy, coordinator.user, coordinator.passphrase)


def test_vault_from_a_newer_version_refuses_to_open(pristine_copy, coordinator):
    login = coordinator
    v = Vault.open(pristine_copy, login.user, login.passphrase)
    v.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'",
                   (str(SCHEMA_VERSION + 1),))
    v.lock()
    before = hashlib.sha256((pristine_copy / DB_NAME).read_bytes()).hexdigest()
    with pytest.raises(VaultError) as exc:
        Vault.open(pristine_copy, login.user, login.passphrase)
    assert not isinstance(exc.value, VaultDamaged), "a newer vault would be called damaged"
    assert "versión más nueva" in str(exc.value) and "actualice" in str(exc.value), (
        "the person would not learn that the program needs updating")
    assert hashlib.sha256((pristine_copy / DB_NAME).read_bytes()).hexdigest() == before


# ---------------------------------------------------------------- two windows, one vault

def test_a_second_vault_object_reads_while_the_first_writes(pristine_copy, coordinator,
                                                            intake_values, monkeypatch):
    monkeypatch.setattr(vault_module.connection, "BUSY_TIMEOUT_MS", 200)
    first = Vault.open(pristine_copy, coordinator.user, coordinator.passphrase)
    second = Vault.open(pristine_copy, coordinator.user, coordinator.passphrase)
    try:
        rid = first.add("ficha_ingreso", intake_values(name_first="Primera Ficticia"))
        first.conn.execute("BEGIN IMMEDIATE")  # a long write in progress in the first window
        first.conn.execute("UPDATE meta SET value=value WHERE key='shelter_name'")
        assert rid in {r.id for r in second.residents()}, (
            "a second window would freeze while the first one saves")
        count = len(second.residents())
        started = time.monotonic()
        with pytest.raises(VaultBusy) as exc:
            second.add("ficha_ingreso", intake_values(name_first="Espera Ficticia"))
        assert time.monotonic() - started < 3, "a blocked save would hang the window"
        assert "otro programa" in str(exc.value)
        first.conn.execute("COMMIT")
        other = second.add("ficha_ingreso", intake_values(name_first="Luego Ficticia"))
        assert first.get(other).values["name_first"] == "Luego Ficticia", (
            "the first window would not see what the second one saved")
        assert len(second.residents()) == count + 1, (
            "the refused save would have been kept anyway")
    finally:
        second.lock()
        first.lock()


def test_drafts_belong_to_their_user_and_survive_a_lock(created_vault):
    vault = created_vault.vault
    vault.add_user("psicologa.prueba", "professional", "otra frase bastante larga")
    vault.save_draft("ficha_ingreso:new", {"values": {"name_first": "Borrador Ficticio"}})
    path = created_vault.path
    vault.lock()
    other = Vault.open(path, "psicologa.prueba", "otra frase bastante larga")
    assert other.drafts() == {}, "a colleague must not be offered someone else's unsaved input"
    other.save_draft("ficha_ingreso:new", {"values": {"name_first": "Otro Borrador"}})
    other.lock()
    again = Vault.open(path, created_vault.coordinator.user, created_vault.coordinator.passphrase)
    try:
        assert again.drafts() == {"ficha_ingreso:new": {"values": {"name_first":
                                                                   "Borrador Ficticio"}}}, (
            "input typed before an idle lock would be lost or overwritten by a colleague's")
        again.discard_draft("ficha_ingreso:new")
        assert again.drafts() == {}
    finally:
        again.lock()


LARGE_VAULT_STATISTICS = [
    ("records", "records_facts", "259800 2001 5 5 5 1 1"),
    ("records", "records_form_date", "259800 2001 5"),
    ("records", "records_resident", "259800 41 8 1"),
    ("records", "sqlite_autoindex_records_1", "259800 1"),
    ("residents", "residents_joined", "10000 10000"),
    ("residents", "residents_code", "10000 1"),
    ("residents", "sqlite_autoindex_residents_1", "10000 1"),
]


@pytest.mark.parametrize("statistics", [False, True], ids=["new vault", "with statistics"])
def test_writing_and_reading_one_resident_use_indexes_not_whole_tables(
        vault_factory, tmp_path, intake_values, service_values, statistics):
    """Every query of one write (a service logged, edited, a discharge, a deletion) and of
    opening one resident goes through an index on the resident or the record, never through
    all records of a form or all residents: otherwise each costs time in proportion to the
    whole vault, and loading or syncing thousands of records grows quadratically. It did, twice:
    without statistics SQLite preferred the covering reports index for "resident_id=? AND
    form=?"; with the statistics `PRAGMA optimize` keeps (written at every lock), it scanned
    every resident for "joined_into=?" since nearly all are NULL."""
    v = vault_factory(tmp_path / "vault").vault
    demo.populate(v, residents=30, seed=5, services_per_resident=6)
    rid = v.add("ficha_ingreso", intake_values())
    if statistics:
        # The statistics ANALYZE writes for a 10,000-resident demo vault (no joins yet).
        v.conn.execute("ANALYZE")
        v.conn.execute("DELETE FROM sqlite_stat1 WHERE tbl IN ('records', 'residents')")
        v.conn.execute("DELETE FROM sqlite_stat4")   # samples of this small vault would win
        v.conn.executemany("INSERT INTO sqlite_stat1 VALUES (?,?,?)", LARGE_VAULT_STATISTICS)
        v.conn.execute("ANALYZE sqlite_schema")   # makes the planner read them again
    statements: list[str] = []
    v.conn.set_trace_callback(statements.append)
    try:
        sid = v.add("registro_atenciones", service_values(), rid)
        v.update(sid, {"duration_minutes": 50})
        v.add("ficha_egreso", {"discharge_date": "2024-05-20",
                               "discharge_reason": "family_reintegration"}, rid)
        v.delete(sid)
        v.resident(rid)
        v.records(rid)
        v.records(rid, "registro_atenciones")
        v.history(sid)
    finally:
        v.conn.set_trace_callback(None)
    selects = sorted({s for s in statements if s.lstrip().upper().startswith("SELECT")
                      and ("FROM records" in s or "FROM residents" in s)})
    assert selects, "the trace saw no query: the test would prove nothing"
    slow = []
    for sql in selects:
        plan = [row[3] for row in v.conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                 ("x",) * sql.count("?"))]
        if any(step.startswith("SCAN") or "records_facts (form=?)" in step for step in plan):
            slow.append((sql, plan))
    assert slow == [], f"queries of one write or one resident's reading that read whole tables: {slow}"
