"""Vault speed with 10,000 residents and 200,000 service entries, as ratios to plain SQLite.

The baseline runs the very same Vault code — schema, validation, per-field changes, audit,
FTS — on a stdlib sqlite3 connection without a key, in the same process, so each ratio is
the cost of encryption alone. Run:

    .venv/bin/python benchmarks/bench_vault.py [--residents 10000] [--services 20]

Targets (foundation issue): search p95 ≤ 30 ms; unlock-to-list without KDF ≤ 1 s;
write and read throughput ≥ 0.5× plain SQLite.
"""
from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cpc_desktop import demo
from cpc_desktop.core import vault as vault_mod
from cpc_desktop.core.keyslots import KeySlots
from cpc_desktop.core.vault import Vault

PASS = "frase de referencia larga"


def _plain_connect(db_path, raw_key):
    conn = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False,
                           timeout=vault_mod.BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {vault_mod.BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextlib.contextmanager
def plain_sqlite():
    """Swaps SQLCipher for stdlib sqlite3 inside the vault module (baseline only)."""
    saved = vault_mod.connection.connect
    vault_mod.connection.connect = _plain_connect
    try:
        yield
    finally:
        vault_mod.connection.connect = saved


def raw_load(conn, dest: Path, chunk: int = 500) -> dict:
    """The rows the vault wrote (records, change log, resident list and search index) loaded
    again straight into an empty database of the same schema, `chunk` records a transaction
    through executemany, on a connection opened as the vault opens its own: the engine's own
    pace, without any of our code. Returns records and seconds."""
    tables = ("records", "changes", "residents")
    schema = [sql for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'resident_search_%' ORDER BY type = 'index', rowid")]
    rows = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    search = conn.execute("SELECT rowid, body FROM resident_search").fetchall()
    raw = vault_mod.connection.connect(dest, bytes(32))
    for sql in schema:
        raw.execute(sql)
    t = time.perf_counter()
    n = len(rows["records"])
    parts = {name: max(1, -(-len(r) // max(1, -(-n // chunk)))) for name, r in rows.items()}
    parts["search"] = max(1, -(-len(search) // max(1, -(-n // chunk))))
    for i in range(max(1, -(-n // chunk))):
        raw.execute("BEGIN IMMEDIATE")
        for name, data in rows.items():
            part = data[i * parts[name]:(i + 1) * parts[name]]
            if part:
                raw.executemany(f"INSERT INTO {name} VALUES ({','.join('?' * len(part[0]))})",
                                part)
        part = search[i * parts["search"]:(i + 1) * parts["search"]]
        if part:
            raw.executemany("INSERT INTO resident_search(rowid, body) VALUES (?,?)", part)
        raw.execute("COMMIT")
    elapsed = time.perf_counter() - t
    raw.close()
    return {"records": n, "s": elapsed}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_store(path: Path, residents: int, services: int, queries: list[str],
              rekey: bool = False) -> dict:
    out = {}
    v, _key = Vault.create(path, shelter_code="BENCH-01", shelter_name="Referencia",
                           user="coord", passphrase=PASS, kdf_seconds=0)
    t = time.perf_counter()
    counts = demo.populate(v, residents=residents, seed=7, services_per_resident=services)
    out["load_s"] = time.perf_counter() - t
    out["records"] = sum(counts.values())
    # What generating the demo data alone costs inside load_s (not the vault's work).
    t = time.perf_counter()
    for _r in demo.generate(7, residents, services, shelter_code="BENCH-01"):
        pass
    out["generate_s"] = time.perf_counter() - t
    with v.reading() as conn:
        out["raw"] = raw_load(conn, path.parent / f"{path.name}-raw.db")
    v.lock()

    # Unlock without the KDF: slots unwrapped first, then time open -> full list.
    slots = KeySlots.load(path / vault_mod.SLOTS_NAME)
    t = time.perf_counter()
    raw = slots.unlock_user("coord", PASS)
    out["kdf_s"] = time.perf_counter() - t
    t = time.perf_counter()
    v = Vault._open_with_key(path, slots, raw, "coord")
    listed = v.residents()
    out["unlock_to_list_s"] = time.perf_counter() - t
    assert len(listed) == residents

    times = []
    for q in queries:
        t = time.perf_counter()
        v.search(q)
        times.append(time.perf_counter() - t)
    out["search_p50_ms"] = pct(times, 50) * 1000
    out["search_p95_ms"] = pct(times, 95) * 1000

    # The resident with most records, opened as the window does: summary + every record.
    busiest = v.read("SELECT resident_id FROM records GROUP BY resident_id "
                      "ORDER BY count(*) DESC LIMIT 1")[0][0]
    times = []
    for _ in range(20):
        t = time.perf_counter()
        v.resident(busiest)
        recs = v.records(busiest)
        times.append(time.perf_counter() - t)
    out["open_resident_ms"] = statistics.median(times) * 1000
    out["open_resident_records"] = len(recs)

    # Read throughput: every record of every resident.
    ids = [r.id for r in listed]
    t = time.perf_counter()
    n = sum(len(v.records(rid)) for rid in ids)
    out["read_all_s"] = time.perf_counter() - t
    out["read_records"] = n
    if rekey:
        # Re-key ("cambiar la llave de la bóveda"): copy under a new key, swap, reopen.
        out["db_mb"] = (path / vault_mod.DB_NAME).stat().st_size / 1e6
        t = time.perf_counter()
        v.rekey()
        out["rekey_s"] = time.perf_counter() - t
        assert len(v.residents()) == residents
    v.lock()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=10_000)
    ap.add_argument("--services", type=int, default=20, help="services per resident")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--memory-security", choices=["on", "off"], default="off",
                    help="SQLCipher cipher_memory_security (the vault's default: off)")
    args = ap.parse_args()
    vault_mod.connection.MEMORY_SECURITY = args.memory_security == "on"

    names = [r.intake for r in demo.generate(7, min(args.residents, 2000), 0)]
    rng = random.Random(3)
    queries = []
    for _ in range(args.queries):
        intake = rng.choice(names)
        first = intake["name_first"].split()[0]
        last = intake["name_last"].split()[0]
        queries.append(rng.choice([first[:3], f"{first} {last[:4]}", last, first.lower()]))

    with tempfile.TemporaryDirectory() as tmp:
        enc = run_store(Path(tmp) / "enc", args.residents, args.services, queries, rekey=True)
        with plain_sqlite():
            plain = run_store(Path(tmp) / "plain", args.residents, args.services, queries)

    kdf = vault_mod.crypto.calibrate(0.5)
    t = time.perf_counter()
    kdf.derive(PASS)
    kdf_real = time.perf_counter() - t

    print(f"workload: {args.residents} residents, {args.services} services each, "
          f"{enc['records']} records")
    print(f"{'measure':32} {'SQLCipher':>12} {'plain':>12} {'ratio':>8}")
    rows = [("bulk load (s)", "load_s"), ("unlock to list, no KDF (s)", "unlock_to_list_s"),
            ("search p50 (ms)", "search_p50_ms"), ("search p95 (ms)", "search_p95_ms"),
            ("open busiest resident (ms)", "open_resident_ms"), ("read all records (s)",
                                                                "read_all_s")]
    for label, key in rows:
        print(f"{label:32} {enc[key]:12.3f} {plain[key]:12.3f} {enc[key] / plain[key]:8.2f}")
    print(f"write throughput vs plain: {plain['load_s'] / enc['load_s']:.2f}x  (target ≥ 0.5x)")
    print(f"read throughput vs plain:  {plain['read_all_s'] / enc['read_all_s']:.2f}x  "
          f"(target ≥ 0.5x)")
    print(f"records/s written: {enc['records'] / enc['load_s']:.0f} encrypted, "
          f"{plain['records'] / plain['load_s']:.0f} plain")
    print(f"records/s written without generating the data: "
          f"{enc['records'] / (enc['load_s'] - enc['generate_s']):.0f} encrypted, "
          f"{plain['records'] / (plain['load_s'] - plain['generate_s']):.0f} plain "
          f"(generation {enc['generate_s']:.2f} s)")
    for label, m in (("SQLCipher", enc), ("plain", plain)):
        raw = m["raw"]
        print(f"raw {label:9} load of the same rows: {raw['records'] / raw['s']:.0f} records/s "
              f"({raw['s']:.2f} s); the vault writes at {m['load_s'] / raw['s']:.1f}x its time")
    print(f"busiest resident has {enc['open_resident_records']} records")
    print(f"KDF at floor params: {enc['kdf_s']:.3f} s; calibrated for 0.5 s here: "
          f"{kdf.memory_kib // 1024} MiB x {kdf.iterations} passes = {kdf_real:.3f} s")
    print(f"cipher_memory_security {args.memory_security}; re-key of {enc['db_mb']:.0f} MB: "
          f"{enc['rekey_s']:.2f} s")
    print(f"search p95 {enc['search_p95_ms']:.1f} ms (target ≤ 30); unlock-to-list "
          f"{enc['unlock_to_list_s']:.3f} s (target ≤ 1)")


if __name__ == "__main__":
    main()
