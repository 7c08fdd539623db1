"""Joining two residents that are one child registered twice (flagged by duplicate_residents).

A join is data that syncs like any edit: the other resident's intake gets the system field
JOINED (the kept resident's id), merged last-writer-wins like every field. Each laptop derives
from its records which resident every one resolves to (Vault._refresh_joins: chains followed,
a cycle from opposite joins made at once broken at its latest join), and every read path —
resident list, search, records, printing, reports, duplicates — shows the joined resident's
records under the kept one. No record is rewritten, so records other laptops add to the other
resident before they receive the join appear under the kept one too.

The kept intake's blank fields are filled from the other intake (an ordinary edit). Every other
value of the other intake that the kept one does not show becomes an open entry of the conflict
list (cpc conflicts / the Conflictos tab) on every laptop: the join writes it into the kept
intake and at once writes the kept value back over it without naming it as seen, which is
exactly how the merge keeps a concurrently overwritten value for review.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core import audit
from ..core.errors import NotFound, ValidationError
from ..core.i18n import _
from ..core.users import Action
from ..core.vault import JOINED, Vault
from .errors import SyncError
from .merge import Merger


@dataclass(frozen=True)
class JoinSide:
    """One of the two residents as the join dialog and `cpc duplicates` show them."""
    id: str
    internal_code: str
    name_first: str
    name_last: str
    date_of_birth: str | None
    admission_date: str | None
    records: int          # its own records (intake included)


@dataclass(frozen=True)
class JoinResult:
    kept: str
    joined: str
    filled: tuple[str, ...]      # fields of the kept intake filled from the other one
    review: tuple[str, ...]      # fields whose other value went to the conflict list


def join_side(vault: Vault, resident_id: str) -> JoinSide:
    vault.require(Action.READ)
    r = vault.resident(resident_id)
    n = vault.read("SELECT count(*) FROM records WHERE resident_id=? AND deleted=0",
                    (resident_id,))[0][0]
    return JoinSide(r.id, r.internal_code, r.name_first, r.name_last, r.date_of_birth,
                    r.admission_date, n)


def find_for_join(vault: Vault, ref: str) -> str:
    """A resident id from an id or an internal code; an internal code two residents share
    (one of the duplicate reasons) must be given as an id."""
    vault.require(Action.READ)
    ref = ref.strip()
    rows = vault.read("SELECT id FROM residents WHERE id=? AND deleted=0", (ref,))
    if rows:
        return rows[0][0]
    found = vault.read("SELECT id, joined_into FROM residents WHERE internal_code=? COLLATE "
                        "NOCASE AND deleted=0", (ref,))
    rows = [r for r in found if not r[1]]
    if found and not rows:
        raise SyncError(_("Ese residente ya fue unido a otro."))
    if not rows:
        raise NotFound(_("No existe ningún residente con ese identificador o código."))
    if len(rows) > 1:
        raise SyncError(_("Dos residentes tienen el código «{code}»; indique su identificador "
                          "(lo muestra «cpc duplicates»).").format(code=ref))
    return rows[0][0]


def join_residents(vault: Vault, keep: str, other: str) -> JoinResult:
    """Joins `other` into `keep` (both resident ids). Only a coordinator may."""
    vault.require(Action.JOIN)
    intake = vault.forms.intake
    with vault.reading():
        if keep == other:
            raise SyncError(_("Elija dos residentes distintos para unir."))
        rows = {r[0]: r[1:] for r in vault.read(
            "SELECT s.id, s.deleted, s.joined_into, r.shelter FROM residents s JOIN records r "
            "ON r.id = s.id WHERE s.id IN (?, ?)", (keep, other))}
        for rid in (keep, other):
            if rid not in rows or rows[rid][0]:
                raise NotFound(_("No existe ningún residente con ese identificador."))
            if rows[rid][1]:
                raise SyncError(_("Ese residente ya fue unido a otro."))
        if rows[keep][2] != rows[other][2]:
            raise SyncError(_("Solo se pueden unir residentes del mismo centro."))
        with vault.transaction() as conn:
            merger = Merger(vault, conn, "")
            user = vault.user.name
            gone = merger._load(other)
            merger.merge_field(gone, JOINED, keep, vault.clock.now(), (gone.clock(JOINED),),
                               user)
            merger._save(gone)
            kept = merger._load(keep)
            mine = {k: v for k, v in kept.values.items() if not k.startswith("_")}
            theirs = {k: v for k, v in gone.values.items() if not k.startswith("_")}
            try:
                candidate = intake.validate({**theirs, **mine})
            except ValidationError:
                candidate = mine     # nothing filled: every other value goes to review
            filled = sorted(k for k in candidate if k not in mine and candidate[k] == theirs.get(k))
            for fld in filled:
                merger.merge_field(kept, fld, theirs[fld], vault.clock.now(),
                                   (kept.clock(fld),), user)
            review = sorted(k for k, v in theirs.items()
                            if k not in filled and mine.get(k) != v)
            for fld in review:
                # Written, then overwritten by the kept value by a write that has not "seen"
                # it: the merge keeps it open for review on every laptop.
                own, base = mine.get(fld), kept.clock(fld)
                step = vault.clock.now()
                merger.merge_field(kept, fld, theirs[fld], step, (base,), user)
                merger.merge_field(kept, fld, own, vault.clock.now(), (), user)
            merger._save(kept)
            merger.finish()
            audit.append(conn, user, "resident.join", other,
                         {"into": keep, "filled": filled, "review": review})
    return JoinResult(keep, other, tuple(filled), tuple(review))
