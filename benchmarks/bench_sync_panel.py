"""What the sync panel and status line cost, as ratios to loading the resident list (what the
window already does at every unlock) in the same run.

    .venv/bin/python benchmarks/bench_sync_panel.py [--residents 1000] [--services 10]

Uses a copy of the cached demo vault of bench_reports.py (built once). Measures, on a vault
never synced (every change waiting) and again after its first sync to a folder hub:
`SyncEngine.status()` (the status line, recounted after saves), `gather()` (the panel's
conflicts, possible duplicates and devices), and the first sync itself (reported apart).
All of them run on workers; the ratio says whether the status line can follow saves.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import PASS, ensure_vault, timed
from cpc_desktop.core.vault import Vault
from cpc_desktop.sync import FolderHub, SyncEngine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=1000)
    ap.add_argument("--services", type=int, default=10, help="services per resident")
    args = ap.parse_args()
    cached = ensure_vault(args.residents, args.services)
    work = Path(tempfile.mkdtemp(prefix="cpc-bench-syncpanel-"))
    try:
        shutil.copytree(cached, work / "vault")
        (work / "hub").mkdir()
        import cpc_desktop.ui  # noqa: F401 — the PySide6 guard before sync_panel
        from cpc_desktop.ui.sync_panel import gather

        v = Vault.open(work / "vault", "coord", PASS)
        engine = SyncEngine(v)
        records = v.read("SELECT count(*) FROM records")[0][0]
        _f, base, _r = timed(lambda: v.residents(), 5)
        print(f"{args.residents} residents, {records} records; baseline vault.residents(): "
              f"{base * 1000:.1f} ms")
        rows = []
        _f, st, status = timed(engine.status, 5)
        rows.append(("status(), never synced", st, f"{status.waiting_changes} waiting"))
        _f, g, _d = timed(lambda: gather(v, engine), 3)
        rows.append(("panel gather(), never synced", g, ""))
        t = time.perf_counter()
        report = engine.sync(FolderHub(work / "hub"))
        first = time.perf_counter() - t
        _f, st2, status = timed(engine.status, 5)
        rows.append(("status(), after the first sync", st2, f"{status.waiting_changes} waiting"))
        _f, g2, _d = timed(lambda: gather(v, engine), 3)
        rows.append(("panel gather(), after the first sync", g2, ""))
        print(f"{'measure':40} {'ms':>9} {'× list':>8}")
        for name, secs, note in rows:
            print(f"{name:40} {secs * 1000:9.2f} {secs / base:8.3f}  {note}")
        print(f"first sync to a folder hub: {first:.1f} s, {report.sent_batches} batches, "
              f"{report.bytes_moved / 1e6:.1f} MB")
        v.lock()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
