"""Row ids of table fields (core/tables.py): what reading costs when rows carry stored ids and
when they were stored before ids existed (ids derived at each read), as ratios against
reading the same records with plain json.loads in the same process.

    .venv/bin/python benchmarks/bench_rows.py [--residents 300] [--rounds 15]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cpc_desktop import demo
from cpc_desktop.core import tables
from cpc_desktop.core.vault import Vault


def strip_ids(vault: Vault) -> None:
    """The records as a program before row ids stored them (a benchmark, not the app)."""
    with vault.writing() as conn:
        for rid, data in conn.execute("SELECT id, data FROM records").fetchall():
            values = json.loads(data)
            for key, value in values.items():
                if tables.is_table(value):
                    values[key] = [{c: x for c, x in r.items() if c != tables.ROW_ID}
                                   for r in value]
            conn.execute("UPDATE records SET data=? WHERE id=?", (json.dumps(values), rid))


def best_of(vault: Vault, ids: list[str], rounds: int) -> tuple[float, float, int]:
    """Fastest read of every resident's records: plain JSON, then with row ids."""
    real = tables.loads
    best = {"plain": 9e9, "ids": 9e9}
    n = 0
    try:
        for _ in range(rounds):
            for label, fn in (("plain", lambda _rid, data: json.loads(data)), ("ids", real)):
                tables.loads = fn
                t = time.perf_counter()
                n = sum(len(vault.records(rid)) for rid in ids)
                best[label] = min(best[label], time.perf_counter() - t)
    finally:
        tables.loads = real
    return best["plain"], best["ids"], n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vault, _key = Vault.create(Path(tmp) / "v", shelter_code="BENCH-01",
                                   shelter_name="Referencia", user="coord",
                                   passphrase="frase larga de referencia 2024", kdf_seconds=0)
        demo.populate(vault, residents=args.residents, seed=7, services_per_resident=20)
        ids = [r.id for r in vault.residents()]
        for case in ("stored ids", "derived ids"):
            if case == "derived ids":
                strip_ids(vault)
            plain, with_ids, n = best_of(vault, ids, args.rounds)
            print(f"{case:12} read {n} records: {with_ids:.3f} s against {plain:.3f} s "
                  f"plain, ratio {with_ids / plain:.2f}")
        vault.lock()


if __name__ == "__main__":
    main()
