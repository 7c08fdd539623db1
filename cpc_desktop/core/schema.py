"""The vault's tables and the migrations that bring an older vault to SCHEMA_VERSION."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3
import sqlite_utils

from . import audit, forms
from .errors import VaultError
from .i18n import _
from .records_store import RecordsStore

SCHEMA_VERSION = 7


SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE users (
    name TEXT PRIMARY KEY,          -- normalized login name
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    form TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    resident_id TEXT NOT NULL,
    shelter TEXT NOT NULL,
    data TEXT NOT NULL,
    clocks TEXT NOT NULL,
    record_date TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL
);
-- record_date last: "last service of a resident" is one index seek, not a scan.
CREATE INDEX records_resident ON records(resident_id, form, record_date);
CREATE INDEX records_form_date ON records(form, record_date);
-- The change log (history and sync). A new record is one row, field "*", holding every
-- value; later edits are one row per field; "_deleted" marks a tombstone. Device and time
-- are inside the hybrid-clock stamp.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    form TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    hlc TEXT NOT NULL,
    user TEXT NOT NULL
);
CREATE INDEX changes_record ON changes(record_id, seq);
CREATE TABLE residents (
    id TEXT PRIMARY KEY,
    internal_code TEXT NOT NULL,
    name_first TEXT NOT NULL DEFAULT '',
    name_last TEXT NOT NULL DEFAULT '',
    name_nickname TEXT NOT NULL DEFAULT '',
    sex TEXT,
    date_of_birth TEXT,
    age INTEGER,
    admission_date TEXT,
    risk_level TEXT,
    status TEXT NOT NULL DEFAULT 'in_care',
    discharge_date TEXT,
    last_service TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX residents_code ON residents(internal_code);
CREATE TABLE drafts (               -- unsaved input kept across a lock, per user
    key TEXT NOT NULL,              -- what: e.g. form + record id
    user TEXT NOT NULL,
    data TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (user, key)
);
"""


def _migrate_1_to_2(db: sqlite_utils.Database) -> None:
    """Sync (cpc_desktop/sync): what the writer of a change had seen, shelter keys by epoch,
    signed roster statements, batches made and applied (the version vector), last-writer-wins
    losers kept for review, and changes waiting for their record's creation."""
    # JSON list of the stamps the writer had seen; NULL for local writes (derived at export).
    db["changes"].add_column("base", str)
    db["sync_keys"].create({"shelter": str, "epoch": int, "kid": str, "key": str,
                            "added_at": str}, pk=("shelter", "epoch", "kid"), not_null={"key"})
    db["sync_statements"].create({"id": str, "shelter": str, "kind": str, "body": str,
                                  "pending": int}, pk="id", not_null={"shelter", "kind", "body"},
                                 defaults={"pending": 0})
    db["sync_devices"].create({"shelter": str, "device": str, "sign_pub": str, "kx_pub": str,
                               "label": str, "added_at": str, "revoked_after": int},
                              pk=("shelter", "device"))
    db["sync_batches"].create({"shelter": str, "device": str, "seq": int, "hash": str,
                               "data": bytes, "received_at": str, "uploaded": int},
                              pk=("shelter", "device", "seq"), not_null={"hash", "data"},
                              defaults={"uploaded": 0})
    db["sync_heads"].create({"shelter": str, "device": str, "seq": int, "data": bytes},
                            pk=("shelter", "device"))
    db["sync_conflicts"].create({"id": int, "record_id": str, "form": str, "resident_id": str,
                                 "field": str, "value": str, "hlc": str, "user": str,
                                 "base": str, "open": int, "detected_at": str,
                                 "closed_at": str}, pk="id")
    db["sync_conflicts"].create_index(["record_id", "field", "hlc"], unique=True)
    db["sync_conflicts"].create_index(["open"])
    db["sync_parked"].create({"record_id": str, "form": str, "resident_id": str, "field": str,
                              "value": str, "hlc": str, "user": str, "base": str},
                             pk=("record_id", "field", "hlc"))


def _migrate_2_to_3(db: sqlite_utils.Database) -> None:
    """Reports: each record's countable values (Form.facts) in a narrow column, and an index
    that covers what reports read, so a report reads index pages only, never the records'
    free texts."""
    db["records"].add_column("facts", str)
    RecordsStore(forms.registry()).fill_facts(db.conn)
    db.execute("CREATE INDEX records_facts ON records(form, record_date, deleted, shelter, "
               "resident_id, facts)")


def _migrate_3_to_4(db: sqlite_utils.Database) -> None:
    """Joining residents: each resident's own join (the JOINED field of its intake and its
    stamp) and the resident it resolves to, derived from every join (see _refresh_joins)."""
    for col in ("join_target", "join_hlc", "joined_into"):
        db["residents"].add_column(col, str)
    db.execute("CREATE INDEX residents_joined ON residents(joined_into)")
    db.execute("CREATE INDEX residents_join_target ON residents(join_target) "
               "WHERE join_target IS NOT NULL")


def _migrate_4_to_5(db: sqlite_utils.Database) -> None:
    """Pendientes: the dates that can make something due, per resident, kept by the records
    store on every write (core/pending.py derives them from the forms' "due" declarations),
    so what is due today is one indexed read rather than a pass over every record."""
    db.execute("""CREATE TABLE due_dates (
        resident_id TEXT NOT NULL,  -- the resident it counts under (a joined one's: the kept)
        kind TEXT NOT NULL,
        due TEXT NOT NULL,          -- ISO date; for the resident-wide checks, their anchor
        repeat_days INTEGER,
        status TEXT NOT NULL,       -- the resident status it applies to
        owner TEXT NOT NULL,
        form TEXT, record_id TEXT, record_date TEXT, field TEXT, row INTEGER,
        shelter TEXT NOT NULL)""")
    db.execute("CREATE INDEX due_dates_resident ON due_dates(resident_id)")
    db.execute("CREATE INDEX due_dates_due ON due_dates(due)")
    # (filled by the migration to 7, which adds the columns the records store now writes)


def _migrate_5_to_6(db: sqlite_utils.Database) -> None:
    """Attachments (core/attachments.py, their only writer): one row per attached file, and
    its content as chunks of at most 64 KiB keyed by the SHA-256 of their bytes, inside the
    encrypted database (see docs/attachments.md for why not beside it)."""
    db.execute("""CREATE TABLE attachments (
        id TEXT PRIMARY KEY, resident_id TEXT NOT NULL, record_id TEXT, shelter TEXT NOT NULL,
        kind TEXT NOT NULL, date TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        filename TEXT NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL,
        sha256 TEXT NOT NULL, width INTEGER, height INTEGER, created_at TEXT NOT NULL,
        created_by TEXT NOT NULL, chunks TEXT NOT NULL, present INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0, hlc TEXT NOT NULL, deleted_hlc TEXT,
        pending INTEGER NOT NULL DEFAULT 1)""")
    db.execute("CREATE INDEX attachments_resident ON attachments(resident_id, deleted, date)")
    db.execute("CREATE INDEX attachments_pending ON attachments(pending) WHERE pending=1")
    db.execute("CREATE TABLE attachment_chunks (id TEXT PRIMARY KEY, data BLOB NOT NULL)")


def _migrate_6_to_7(db: sqlite_utils.Database) -> None:
    """Pendientes read only the dates that can show today (issue 16: 80,000 stored dates at
    10,000 residents, 12,000 shown): each row says from which day it can show, or for a
    repeating date its day in the cycle, and carries the resident's code and names; rows are
    kept only for the resident's current status, so the read needs no join."""
    for col, kind in (("listed_from", str), ("phase", int), ("internal_code", str),
                      ("name_first", str), ("name_last", str), ("name_nickname", str)):
        db["due_dates"].add_column(col, kind)
    # Every column Pendientes reads: a cold read decrypts the index pages of today's rows
    # only (53 against 91 ms at 10,000 residents), not the table pages they are spread over.
    db.execute("CREATE INDEX due_dates_listed ON due_dates(listed_from, kind, due, repeat_days, "
               "resident_id, internal_code, owner, form, record_date, field, record_id, row, "
               "name_first, name_last, name_nickname, shelter) WHERE repeat_days IS NULL")
    db.execute("CREATE INDEX due_dates_phase ON due_dates(phase) WHERE repeat_days IS NOT NULL")
    RecordsStore(forms.registry()).rebuild_due(db.conn)


# Migrations: schema version N -> N+1, each run in its own transaction on open (and in order
# when a vault is created, so new and migrated vaults have the same schema).
MIGRATIONS: dict[int, Any] = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4,
                              4: _migrate_4_to_5, 5: _migrate_5_to_6, 6: _migrate_6_to_7}


def migrate(conn, before: Callable[[int], Path] | None = None, who: str | None = None) -> None:
    """Brings an older vault to SCHEMA_VERSION, one step per transaction. `before(version)`
    runs once before the first step (the automatic backup); a failing step is rolled back and
    reported with the backup's place."""
    version = int(conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise VaultError(_("Esta bóveda fue creada por una versión más nueva de CPC Desktop; "
                           "actualice el programa."))
    if version == SCHEMA_VERSION:
        return
    copy = before(version) if before is not None else None
    while version < SCHEMA_VERSION:
        step = MIGRATIONS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(sqlite_utils.Database(conn))
            conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version + 1),))
            if who:
                audit.append(conn, who, "vault.migrate", None,
                             {"from": version, "to": version + 1,
                              "backup": copy.name if copy else None})
            conn.execute("COMMIT")
        except Exception:  # noqa: BLE001 - any failed step: rolled back, said plainly
            with contextlib.suppress(sqlcipher3.Error):   # the failure may have ended it
                conn.execute("ROLLBACK")
            # The step's own message may quote data; the user needs what happened and where
            # the copy is.
            raise VaultError(_("No se pudo actualizar la bóveda de la versión {old} a la {new}; "
                               "el cambio se deshizo y la bóveda sigue en la versión {old}, "
                               "sin ningún dato perdido. {backup}Avise al soporte; mientras "
                               "tanto puede seguir usando la versión anterior del programa."
                               ).format(
                old=version, new=version + 1,
                backup=_("Hay una copia de seguridad previa en {path}. ").format(path=copy)
                if copy else "")) from None
        except BaseException:
            with contextlib.suppress(sqlcipher3.Error):
                conn.execute("ROLLBACK")
            raise
        version += 1


def statements(script: str) -> list[str]:
    """Splits a schema script; executescript() would commit behind our transaction."""
    out, buf = [], []
    for line in script.splitlines():
        line = line.split("--", 1)[0].rstrip()
        if not line:
            continue
        buf.append(line)
        if line.endswith(";"):
            out.append("\n".join(buf))
            buf = []
    out.append("CREATE VIRTUAL TABLE resident_search USING fts5(body, "
               "tokenize = 'unicode61 remove_diacritics 2')")
    return out
