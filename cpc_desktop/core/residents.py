"""The resident list and its search, read from the resident cache (core/records_store.py
writes it): what the window's list, the search box and the CLI show."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from . import profile
from .errors import NotFound
from .i18n import _
from .records_store import JOINED_ROWS, MEMBERS, search_fold
from .users import Action


@dataclass(frozen=True)
class ResidentSummary:
    id: str
    internal_code: str
    name_first: str
    name_last: str
    name_nickname: str
    sex: str | None
    date_of_birth: str | None
    age: int | None
    admission_date: str | None
    risk_level: str | None
    status: str            # in_care | discharged
    discharge_date: str | None
    last_service: str | None
    deleted: bool
    joined_into: str | None = None   # set on a resident joined into another (then hidden)

    def age_on(self, day: dt.date) -> int | None:
        return profile.age_on({profile.DATE_OF_BIRTH: self.date_of_birth,
                               profile.AGE: self.age}, day)


def _fts_query(text: str) -> str:
    words = re.findall(r"\w+", search_fold(text))
    return " ".join(f'"{w}"*' for w in words)


_SUMMARY_COLUMNS = tuple(f.name for f in dataclasses.fields(ResidentSummary))
SELECT_RESIDENTS = f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM residents"


def _summary(r) -> ResidentSummary:
    c = dict(zip(_SUMMARY_COLUMNS, r))
    c["deleted"] = bool(c["deleted"])
    return ResidentSummary(**c)


class ResidentQueries:
    """The resident reads of a Vault (a mixin: uses its read() and require())."""

    def residents(self, *, search: str | None = None, status: str | None = None,
                  include_deleted: bool = False, include_joined: bool = False,
                  limit: int | None = None) -> list[ResidentSummary]:
        """The resident list, by internal code; `search` matches names, aliases and codes
        ignoring case and accents, each word as a prefix ("mar hua" finds "María Huamán")."""
        self.require(Action.READ)
        where, args = [], []
        if search and search.strip():
            query = _fts_query(search)
            if not query:
                return []
            where.append("rowid IN (SELECT rowid FROM resident_search WHERE body MATCH ?)")
            args.append(query)
        if status:
            where.append("status = ?")
            args.append(status)
        if not include_deleted:
            where.append("deleted = 0")
        if not include_joined:
            where.append("joined_into IS NULL")
        sql = SELECT_RESIDENTS
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY internal_code"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_summary(r) for r in self.read(sql, args)]

    def search(self, text: str, limit: int | None = 50) -> list[ResidentSummary]:
        return self.residents(search=text, limit=limit)

    def search_ids(self, text: str) -> frozenset[str]:
        """The ids of the residents `residents(search=text)` lists, without building their
        summaries: what a list that filters as the user types needs (5× cheaper for short
        prefixes matching thousands)."""
        self.require(Action.READ)
        query = _fts_query(text)
        if not query:
            return frozenset()
        return frozenset(r[0] for r in self.read(
            "SELECT id FROM residents WHERE deleted = 0 AND joined_into IS NULL AND rowid IN "
            "(SELECT rowid FROM "
            "resident_search WHERE body MATCH ?)", (query,)))

    def resident(self, resident_id: str) -> ResidentSummary:
        rows = self.read(f"{SELECT_RESIDENTS} WHERE id=?", (resident_id,))
        if not rows:
            raise NotFound(_("No existe ningún residente con ese identificador."))
        return _summary(rows[0])

    def find_resident(self, ref: str) -> ResidentSummary:
        """By id or by internal code (what people type)."""
        # A joined resident's code may be the kept one's too: the kept one comes first.
        rows = self.read(f"{SELECT_RESIDENTS} WHERE id=? OR internal_code=? COLLATE NOCASE "
                          "ORDER BY joined_into IS NOT NULL, id != ?", (ref, ref.strip(), ref))
        if not rows:
            raise NotFound(_("No existe ningún residente con ese identificador o código."))
        return _summary(rows[0])

    def _family(self, resident_id: str) -> tuple[str, list[str]]:
        """(the resident `resident_id` resolves to, the residents joined into it)."""
        row = self.read("SELECT joined_into FROM residents WHERE id=?", (resident_id,))
        root = (row[0][0] if row else None) or resident_id
        return root, [r[0] for r in self.read(
            MEMBERS, (root,))]

    def joined(self) -> dict[str, str]:
        """{joined resident id: the resident it was joined into}: how read paths count a
        child registered twice once."""
        return dict(self.read(JOINED_ROWS))
