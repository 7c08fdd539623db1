"""Where the report release log is kept (the vault's meta table) and how it travels to the
other laptops of the shelter (as a payload extra of sync batches, like the audit head).

A release is one opaque entry (compressed JSON, base64) made by reports/releases.py; this
module only stores, queues and reassembles entries, so core and sync need not know reports.
An entry can be larger than a batch (its member hashes), so it travels in parts, each in a
batch of its own; the receiver keeps parts until the entry is whole.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

PREFIX = "report_release:"
OUTBOX = "report_release_outbox:"     # made here, not yet packed into a batch
PARTS = "report_release_part:"        # received parts of an entry not yet whole
QUEUED_OLD = "report_release_outbox_init"   # releases made before they travelled: queued once
PART_CHARS = 40_000                   # base64 text per batch: well under a batch's 64 KiB
MAX_PARTS = 400                       # 16 MB of entry: far above any shelter's release
_ID = re.compile(r"[0-9T:\-]{19}:[0-9a-f]{16}")
_B64 = re.compile(r"[A-Za-z0-9+/=]*")


def _after(prefix: str) -> str:
    """The first key past every key that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _range(conn, prefix: str) -> list[tuple[str, str]]:
    return conn.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key",
                        (prefix, _after(prefix))).fetchall()


def entries(conn) -> list[tuple[str, str]]:
    """(release id, entry) of every release in this vault, oldest first."""
    return [(k[len(PREFIX):], v) for k, v in _range(conn, PREFIX)]


def has_digest(conn, digest: str) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key >= ? AND key < ? AND key LIKE ?",
                        (PREFIX, _after(PREFIX), f"%:{digest}")).fetchone() is not None


def add(conn, release_id: str, entry: str) -> None:
    """A release made on this laptop: logged, and queued for the next sync batch."""
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                 (PREFIX + release_id, entry))
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, '')", (OUTBOX + release_id,))


def take_outgoing(conn) -> Iterator[dict]:
    """The parts of every queued release, each for a batch of its own; the queue is emptied
    (inside the caller's transaction: if packing fails, it stays queued)."""
    if conn.execute("SELECT 1 FROM meta WHERE key=?", (QUEUED_OLD,)).fetchone() is None:
        conn.executemany("INSERT OR IGNORE INTO meta(key, value) VALUES (?, '')",
                         [(OUTBOX + rid,) for rid, _e in entries(conn)])
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", (QUEUED_OLD,))
    queued = [k[len(OUTBOX):] for k, _v in _range(conn, OUTBOX)]
    conn.execute("DELETE FROM meta WHERE key >= ? AND key < ?", (OUTBOX, _after(OUTBOX)))
    for rid in queued:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (PREFIX + rid,)).fetchone()
        if row is None:
            continue
        text = row[0]
        n = max(1, -(-len(text) // PART_CHARS))
        for i in range(n):
            yield {"id": rid, "i": i, "n": n, "d": text[i * PART_CHARS:(i + 1) * PART_CHARS]}


def receive(conn, part) -> bool:
    """Keeps one part from another laptop's batch; when its entry is whole, logs it.
    Anything not shaped as this program writes it is ignored (returns False): a batch is
    not refused for an extra it cannot use."""
    if not isinstance(part, dict):
        return False
    rid, i, n, data = part.get("id"), part.get("i"), part.get("n"), part.get("d")
    if not (isinstance(rid, str) and _ID.fullmatch(rid) and isinstance(i, int)
            and isinstance(n, int) and 0 <= i < n <= MAX_PARTS and isinstance(data, str)
            and len(data) <= PART_CHARS and _B64.fullmatch(data)):
        return False
    if conn.execute("SELECT 1 FROM meta WHERE key=?", (PREFIX + rid,)).fetchone():
        return True             # already whole here (made here, or received before)
    if n == 1:
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                     (PREFIX + rid, data))
        return True
    stem = f"{PARTS}{rid}/"
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                 (f"{stem}{i:04d}/{n:04d}", data))
    held = _range(conn, stem)
    if len(held) == n and all(k.endswith(f"/{n:04d}") for k, _v in held):
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                     (PREFIX + rid, "".join(v for _k, v in held)))
        conn.execute("DELETE FROM meta WHERE key >= ? AND key < ?", (stem, _after(stem)))
    return True
