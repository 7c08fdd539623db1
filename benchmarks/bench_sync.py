"""Sync sizes and speeds, as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_sync.py [--changes 1000] [--apply 10000] [--seed 3]

1. Bytes on the hub for N field changes (realistic edits: values taken from demo records) vs
   gzip -9 of the same changes as JSON — target ≤ 0.75×. Also zstd vs zlib on the payloads.
2. Time to send them (laptop A) and receive them (laptop B) through a loopback link of
   64 kbit/s, 600 ms round trip and 5 % of packets lost (each lost packet waits one more
   round trip, as a TCP retransmission does) to a real WebDAV server, vs bytes ÷ bandwidth —
   target ≤ 1.5× the ideal time.
3. Applying 10,000 incoming changes (creations and field edits) — target ≤ 1 s.
4. The cost of the hub/clock checks inside 3: signature checks, value checks against the
   forms, the heads view each header carries (bytes) and recording it.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cpc_desktop import demo  # noqa: E402
from cpc_desktop.core.errors import CpcError  # noqa: E402
from cpc_desktop.sync import SyncEngine, WebDavHub  # noqa: E402
from cpc_desktop.sync import batch as batchfmt  # noqa: E402
from cpc_desktop.sync.changes import encode_payload, pending_local  # noqa: E402
from sync_support import SlowLink, WebDavServer, shelter_of  # noqa: E402

KBIT = 64
RTT = 0.6
LOSS = 0.05


def realistic_edits(vault, n: int, rng: random.Random) -> int:
    """n field edits, each a value another demo record of the same form really has."""
    rows = vault.conn.execute("SELECT id, form, data FROM records WHERE deleted=0").fetchall()
    by_form: dict[str, list[dict]] = {}
    for _id, form, data in rows:
        by_form.setdefault(form, []).append(json.loads(data))
    done = tries = 0
    while done < n and tries < n * 20:
        tries += 1
        rid, form, data = rows[rng.randrange(len(rows))]
        donor = rng.choice(by_form[form])
        fields = [k for k, v in donor.items() if k != "internal_code"
                  and json.loads(data).get(k) != v]
        if not fields:
            continue
        key = rng.choice(fields)
        try:
            vault.update(rid, {key: donor[key]})
        except CpcError:
            continue
        done += 1
    return done


def changes_json(vault, after_seq: int) -> bytes:
    rows = vault.conn.execute("SELECT record_id, form, resident_id, field, value, hlc, user "
                              "FROM changes WHERE seq > ? ORDER BY seq", (after_seq,)).fetchall()
    return json.dumps([{"record": r[0], "form": r[1], "resident": r[2], "field": r[3],
                        "value": json.loads(r[4]) if r[4] else None, "hlc": r[5],
                        "user": r[6]} for r in rows], ensure_ascii=False).encode()


def bench_size_and_link(work: Path, n_changes: int, seed: int) -> None:
    rng = random.Random(seed)
    a, b = shelter_of(work / "v", 2)
    server = WebDavServer(work / "dav")
    try:
        demo.populate(a, residents=60, seed=seed, services_per_resident=10)
        for v in (a, b, a, b):
            SyncEngine(v).sync(WebDavHub(server.url, server.user, server.password))
        top = a.conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
        made = realistic_edits(a, n_changes, rng)
        baseline = gzip.compress(changes_json(a, top), 9)

        # zstd vs zlib on the very payload the batches carry.
        local = pending_local(a.conn, a.device_id, top)
        payload = encode_payload([c.encoded for c in local], [])
        for codec in ("zstd", "zlib"):
            t = time.perf_counter()
            size = len(batchfmt.compress(payload, codec))
            took = (time.perf_counter() - t) * 1000
            print(f"  {codec}: {size:7d} B  ({size / len(baseline):.3f}× gzip JSON, "
                  f"{took:.1f} ms to compress {len(payload)} B)")

        engine = SyncEngine(a)
        engine.export()
        batches = a.conn.execute("SELECT data FROM sync_batches WHERE device=? AND uploaded=0",
                                 (a.device_id,)).fetchall()
        hub_bytes = sum(len(d) for (d,) in batches)
        head = len(batchfmt.seal_head(__import__("cpc_desktop.sync.devices", fromlist=["x"])
                                      .load_identity(a), batchfmt.Head("LOR-01", a.device_id,
                                                                       1, "0" * 64, "x")))
        ratio = (hub_bytes + head) / len(baseline)
        print(f"1. {made} field changes: hub {hub_bytes} B in {len(batches)} batch(es) + head "
              f"{head} B; gzip JSON {len(baseline)} B -> ratio {ratio:.3f} (target <= 0.75) "
              f"{'OK' if ratio <= 0.75 else 'MISSED'}")

        link = SlowLink(server.port, kbit=KBIT, rtt=RTT, loss=LOSS, seed=seed)
        try:
            ideal = hub_bytes * 8 / (KBIT * 1000)
            for name, vault in (("send (A)", a), ("receive (B)", b)):
                hub = WebDavHub(link.url, server.user, server.password, timeout=60)
                before = link.bytes
                t = time.perf_counter()
                report = SyncEngine(vault).sync(hub)
                took = time.perf_counter() - t
                assert report.ok
                print(f"2. {name}: {took:.1f} s, {hub.round_trips} requests, "
                      f"{link.bytes - before} B on the wire; ideal {ideal:.1f} s -> "
                      f"{took / ideal:.2f}× ideal (target <= 1.5) "
                      f"{'OK' if took <= 1.5 * ideal else 'MISSED'}")
                hub.close()
        finally:
            link.stop()
    finally:
        server.stop()
        a.lock()
        b.lock()


def bench_apply(work: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    src_dir = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=shm))
    a, b = shelter_of(src_dir / "v", 2)
    try:
        creates = n // 5
        per = 4
        counts = demo.populate(a, residents=creates // (per + 1), seed=seed,
                               services_per_resident=per)
        created = sum(counts.values())
        edits = realistic_edits(a, n - created, rng)
        engine = SyncEngine(a)
        engine.export()
        batches = a.conn.execute("SELECT shelter, device, seq, hash, data FROM sync_batches "
                                 "WHERE device=? ORDER BY seq", (a.device_id,)).fetchall()
        # b lives on the real disk: applying includes its transactions' fsyncs.
        b.lock()
        b_disk = work / "b"
        import shutil

        shutil.copytree(b.path, b_disk)
        from cpc_desktop.core.vault import Vault

        b = Vault.open(b_disk, "coord", "frase ficticia de prueba 2024")
        eng_b = SyncEngine(b)
        t = time.perf_counter()
        total = 0
        for shelter, device, seq, digest, data in batches:
            total += eng_b.apply_batch(shelter, device, batchfmt.batch_name(seq, digest),
                                       data).changes
        took = time.perf_counter() - t
        print(f"3. applying {total} incoming changes ({created} creations, {edits} edits, "
              f"{len(batches)} batches): {took:.2f} s (target <= 1 s) "
              f"{'OK' if took <= 1 else 'MISSED'}; {total / took:,.0f} changes/s")
        bench_checks(a, b, batches, took)
    finally:
        a.lock()
        b.lock()
        import shutil

        shutil.rmtree(src_dir, ignore_errors=True)


def bench_checks(a, b, batches, apply_s: float) -> None:
    """What the hub, clock and value checks cost inside one apply (the same batches again)."""
    from cpc_desktop.sync import devices, validate, witness
    from cpc_desktop.sync.changes import decode_payload

    pub = devices.device_row(b.conn, "LOR-01", a.device_id)["sign_pub"]
    key = devices.current_key(b.conn, "LOR-01")
    parsed = [batchfmt.parse(d, name=batchfmt.batch_name(q, h), shelter=s, device=dv)
              for s, dv, q, h, d in batches]
    t = time.perf_counter()
    for p in parsed:
        batchfmt.verify_signature(p, pub)
    sig = time.perf_counter() - t
    changes = [c for p in parsed for c in decode_payload(batchfmt.open_payload(p, key),
                                                         a.device_id)[0]]
    t = time.perf_counter()
    validate.first_bad(b.forms, changes)
    val = time.perf_counter() - t
    t = time.perf_counter()
    with b.transaction() as conn:
        for p in parsed:
            witness.record(conn, "LOR-01", a.device_id, b.device_id, p.header.view or
                           (("0" * 36, 1, "0" * 32),))
    wit = time.perf_counter() - t
    per_device = len(batchfmt.canonical([["0" * 36, 99999999, "f" * 32]]))
    print(f"4. checks in 3: signatures {sig * 1000:.1f} ms, value checks {val * 1000:.1f} ms "
          f"({val / apply_s:.0%} of the apply), heads view recorded {wit * 1000:.1f} ms; "
          f"the view adds about {per_device} B per other device to each batch header")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--apply", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        bench_size_and_link(work / "size", args.changes, args.seed)
        bench_apply(work / "apply", args.apply, args.seed)


if __name__ == "__main__":
    main()
