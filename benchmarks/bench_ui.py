"""The window with a 10,000-resident vault: start-up, unlock to list, search as you type,
UI-thread stalls and memory — each against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_ui.py [--residents 10000] [--services 20] [--cache DIR]

The vault is the demo generator's (20 services per resident → about 240,000 records), built
once into the cache folder (about 2 minutes for 10,000) and reused. Baselines: a process
that only shows an empty QTableView (start-up), Vault.open/Vault.residents() called
directly (unlock, list, search), and the same process's memory before the vault opened.

Pendientes (issue 16: computed and painted after unlock ≤ 100 ms at 10,000 residents): the
window's time from the vault unlocked to its first screen painted (every count, the first
FIRST_ROWS items) and to the whole list shown, against pending.compute() called directly
for each, and the whole compute against the previous one (which read every due-bearing
record; loaded from git at PENDING_BEFORE) in the same process.

Targets (issue 3): keystroke-to-results p95 ≤ 50 ms; the UI thread never blocked longer
than 50 ms; RSS ≤ 250 MB with the list shown. Issue 16: RSS ≤ 200 MB with the list shown,
and lower after locking than with the list (`--memory` measures only that: three unlock and
lock rounds, RSS against the same process before the vault opened).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PASSPHRASE_NOTE = "demo vault: user demo, passphrase demo-cpc-2026"
QUERIES = ("maria hua", "quispe", "rosa", "ccori", "yesi", "demo-lor-2025", "pinedo",
           "milagros", "tangoa", "nayra")
KEY_INTERVAL_MS = 250          # an unhurried typist: every key gets its own search
PENDING_BEFORE = "d9c4a43"     # the last commit whose core/pending.py read every record


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ====================================================================== child processes

CHILD_APP = """
import sys, time
t0 = float(sys.argv[1]); vault = sys.argv[2]
sys.path.insert(0, {root!r})
import cpc_desktop.ui
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from cpc_desktop.ui.app import configure
from cpc_desktop.ui.main_window import MainWindow
from cpc_desktop.ui.settings import Settings
QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
app = QApplication([sys.argv[0]])
settings = Settings.load()
configure(app, settings)
w = MainWindow(settings)
w.start(vault)
w.show()
assert w.current_page() == "unlock"
def done():
    w.unlock_view.repaint()
    print(time.time() - t0, flush=True)
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""

CHILD_BASELINE = """
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView
app = QApplication([sys.argv[0]])
w = QMainWindow(); w.setCentralWidget(QTableView()); w.resize(1100, 700); w.show()
def done():
    w.repaint()
    print(time.time() - t0, flush=True)
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""


def time_child(code: str, *args: str, runs: int = 5) -> float:
    """Median seconds from spawning python to the first window painted."""
    env = {**os.environ, "CPC_CONFIG_DIR": os.environ.get("CPC_CONFIG_DIR", "")}
    out = []
    for _ in range(runs):
        t0 = time.time()
        res = subprocess.run([sys.executable, "-c", code, repr(t0), *args], env=env,
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-2000:])
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return statistics.median(out)


def previous_pending():
    """core/pending.py as it was at PENDING_BEFORE (a baseline), or None without git."""
    import types

    try:
        src = subprocess.run(["git", "-C", str(ROOT), "show",
                              f"{PENDING_BEFORE}:cpc_desktop/core/pending.py"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    module = types.ModuleType("cpc_desktop.core._pending_before")
    module.__package__ = "cpc_desktop.core"
    sys.modules[module.__name__] = module
    exec(compile(src, "pending_before.py", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


# ====================================================================== the vault

def build_vault(path: Path, residents: int, services: int) -> None:
    from cpc_desktop import demo

    if (path / "keyslots.json").exists():
        return
    print(f"building the {residents}-resident vault once in {path} …", flush=True)
    t = time.perf_counter()
    tmp = path.with_name(path.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)

    def progress(done, total):
        if done and done % 1000 == 0:
            print(f"  {done}/{total}", flush=True)

    vault, _key = demo.create_demo_vault(tmp, residents=residents, services_per_resident=services,
                                         kdf_seconds=0.5, progress=progress)
    vault.lock()
    os.replace(tmp, path)
    print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)


# ====================================================================== in-process window

class Heartbeat:
    """A 5 ms QTimer; the longest gap between beats is the longest UI-thread stall.

    Two figures: the wall-clock gap (what a person feels; on a busy machine it includes
    time the OS gave to other processes) and the UI thread's own CPU time in that gap
    (what our code cost)."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)
        self.last = None
        self.max_gap = 0.0
        self.max_cpu = 0.0

    def _beat(self):
        now, cpu = time.perf_counter(), time.thread_time()
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last[0])
            self.max_cpu = max(self.max_cpu, cpu - self.last[1])
        self.last = (now, cpu)

    def start(self):
        self.last, self.max_gap, self.max_cpu = None, 0.0, 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self.cpu = self.max_cpu
        return max(0.0, self.max_gap - 0.005)


def pump_until(app, predicate, timeout=120.0):
    end = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > end:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.0005)


def pump_for(app, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.0005)


def typing_run(app, view, debounce_ms: int, heartbeat: Heartbeat) -> dict:
    """Types every query key by key in the running event loop (as a person would);
    latency = key press → the results for the text typed so far are painted."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest

    view._debounce.setInterval(debounce_ms)
    keys = []
    for query in QUERIES:
        for i, ch in enumerate(query):
            keys.append((query[:i + 1], ch, i == 0))
    latencies: list[float] = []
    state = {"i": 0, "typed": None, "t": 0.0}
    loop = QEventLoop()

    def next_key() -> None:
        if state["i"] == len(keys):
            loop.quit()
            return
        typed, ch, first = keys[state["i"]]
        if first:
            view.search.clear()
        state["typed"], state["t"] = typed, time.perf_counter()
        QTest.keyClicks(view.search, ch)

    def on_applied(text, _n) -> None:
        if text != state["typed"]:
            return
        view.table.viewport().repaint()
        now = time.perf_counter()
        latencies.append(now - state["t"])
        state["i"] += 1
        state["typed"] = None
        wait = KEY_INTERVAL_MS / 1000 - (now - state["t"])
        QTimer.singleShot(max(0, int(wait * 1000)), next_key)

    view.search_applied.connect(on_applied)
    guard = QTimer(singleShot=True, interval=120_000)
    guard.timeout.connect(loop.quit)
    guard.start()
    heartbeat.start()
    QTimer.singleShot(0, next_key)
    loop.exec()
    stall = heartbeat.stop()
    stall_cpu = heartbeat.cpu
    view.search_applied.disconnect(on_applied)
    if state["i"] != len(keys):
        raise TimeoutError("typing run did not finish")
    view.search.clear()
    pump_for(app, 0.4)
    return {"p50": pct(latencies, 50), "p95": pct(latencies, 95), "max": max(latencies),
            "n": len(latencies), "stall": stall, "stall_cpu": stall_cpu}


def run_until(predicate_signal, start, timeout_ms=120_000) -> None:
    """Starts something and runs the real event loop until `predicate_signal` fires."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    predicate_signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    QTimer.singleShot(0, start)
    loop.exec()
    predicate_signal.disconnect(loop.quit)


def memory_run(vault_path: Path, rounds: int = 3) -> None:
    """RSS of the window with the whole list shown, then after locking, `rounds` times; the
    baseline is this process with Qt up and an empty table, before any vault opened."""
    import cpc_desktop.ui  # noqa: F401 — PySide6 6.12.0 guard first
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    from cpc_desktop import demo
    from cpc_desktop.ui.app import configure
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    app = QApplication([sys.argv[0]])
    base_window = QMainWindow()
    base_window.setCentralWidget(QTableView())
    base_window.show()
    pump_for(app, 0.3)
    base_window.close()
    settings = Settings.load()
    configure(app, settings)
    window = MainWindow(settings)
    window.resize(1180, 720)
    window.start(vault_path)
    window.show()
    pump_for(app, 0.5)
    rss_base = rss_mb()
    listed, locked, bare = [], [], []
    for _round in range(rounds):
        view = window.unlock_view
        view.user.setText(demo.DEMO_USER)
        view.passphrase.setText(demo.DEMO_PASSPHRASE)
        run_until(window.residents_view.list_loaded, view.try_unlock)
        rv = window.residents_view
        rv.table.viewport().repaint()
        rv.table.scrollToBottom()
        rv.table.viewport().repaint()
        pump_for(app, 0.2)
        bare.append(rss_mb())
        pump_for(app, 2.5)         # the intake form warm-up after unlock runs in this time
        listed.append(rss_mb())
        window.lock()
        pump_for(app, 0.5)
        locked.append(rss_mb())
    print(f"workload: {vault_path.name}; Qt {os.environ.get('QT_QPA_PLATFORM')}")
    print(f"{'RSS before unlock (window on the lock screen)':50} {rss_base:8.1f} MB")
    for i, (c, a, b) in enumerate(zip(bare, listed, locked), start=1):
        print(f"round {i}: list shown {c:7.1f} MB (x{c / rss_base:.2f}); with the intake form "
              f"built ahead {a:7.1f} MB (x{a / rss_base:.2f}); after lock {b:7.1f} MB "
              f"(x{b / rss_base:.2f})")
    worst = max(listed)
    print("targets: RSS ≤ 200 MB with the list: {}; lower after lock: {}".format(
        "met" if worst <= 200 else "NOT met",
        "met" if all(b < a for a, b in zip(listed, locked)) else "NOT met"))


def main() -> None:
    import platformdirs

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--cache", type=Path,
                        default=platformdirs.user_cache_path("cpc-desktop", appauthor=False)
                        / "bench")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--memory", action="store_true",
                        help="only RSS with the list shown and after lock (issue 16)")
    args = parser.parse_args()
    vault_path = args.cache / f"ui-{args.residents}x{args.services}"
    build_vault(vault_path, args.residents, args.services)
    import tempfile

    os.environ["CPC_CONFIG_DIR"] = tempfile.mkdtemp(prefix="cpc-bench-config-")
    os.environ["CPC_DATA_DIR"] = tempfile.mkdtemp(prefix="cpc-bench-data-")
    if args.memory:
        memory_run(vault_path)
        return

    # ---------------------------------------------------------------- start-up (processes)
    startup = time_child(CHILD_APP.format(root=str(ROOT)), str(vault_path),
                         runs=args.startup_runs)
    startup_base = time_child(CHILD_BASELINE, runs=args.startup_runs)

    # ---------------------------------------------------------------- in-process
    import cpc_desktop.ui  # noqa: F401 — PySide6 6.12.0 guard first
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    from cpc_desktop import demo
    from cpc_desktop.core.keyslots import KeySlots
    from cpc_desktop.core.vault import SLOTS_NAME, Vault
    from cpc_desktop.ui.app import configure
    from cpc_desktop.ui.main_window import MainWindow
    from cpc_desktop.ui.settings import Settings

    app = QApplication([sys.argv[0]])
    base_window = QMainWindow()
    base_window.setCentralWidget(QTableView())
    base_window.resize(1100, 700)
    base_window.show()
    pump_for(app, 0.3)
    rss_base = rss_mb()
    base_window.close()

    # Baselines without the window: KDF alone, open alone, list alone, search alone.
    slots = KeySlots.load(vault_path / SLOTS_NAME)
    kdfs, opens = [], []
    for _ in range(3):
        t = time.perf_counter()
        slots.unlock_user(demo.DEMO_USER, demo.DEMO_PASSPHRASE)
        kdfs.append(time.perf_counter() - t)
        t = time.perf_counter()
        direct = Vault.open(vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
        opens.append(time.perf_counter() - t)
        direct.lock()
    kdf, open_direct = statistics.median(kdfs), statistics.median(opens)
    direct = Vault.open(vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
    t = time.perf_counter()
    rows = direct.residents()
    list_direct = time.perf_counter() - t
    search_direct = []
    for q in QUERIES:
        for i in range(1, len(q) + 1):
            t = time.perf_counter()
            direct.search_ids(q[:i])
            search_direct.append(time.perf_counter() - t)
    from cpc_desktop.core import pending

    from cpc_desktop.ui.pending_view import FIRST_ROWS

    pending_direct, pending_before, first_direct = [], [], []
    for _ in range(3):
        t = time.perf_counter()
        pending.compute(direct, first=FIRST_ROWS)
        first_direct.append(time.perf_counter() - t)
        t = time.perf_counter()
        n_pending = len(pending.compute(direct).items)
        pending_direct.append(time.perf_counter() - t)
    direct.lock()
    n_rows = len(rows)
    del rows

    # The resident window builds an intake form ahead of need 1.5 s after each unlock (so the
    # first resident opens fast), one section per event-loop turn: the call below only starts
    # it; what it costs the UI thread shows in the "2.5 s after unlock" stall.
    warmups: list[float] = []
    try:
        from cpc_desktop.ui import resident_window

        real_warm_up = resident_window.warm_up

        def timed_warm_up(*a, **kw):
            t0 = time.perf_counter()
            try:
                return real_warm_up(*a, **kw)
            finally:
                warmups.append(time.perf_counter() - t0)

        resident_window.warm_up = timed_warm_up
    except (ImportError, AttributeError):
        pass

    settings = Settings.load()
    configure(app, settings)
    window = MainWindow(settings)
    window.resize(1180, 720)
    window.start(vault_path)
    window.show()
    pump_for(app, 0.3)
    heartbeat = Heartbeat()
    view = window.unlock_view
    marks: dict[str, float] = {}
    pending_times: list[float] = []     # the first screen painted, after each unlock
    whole_times: list[float] = []       # the whole list in
    window.session.unlocked.connect(lambda *_a: marks.__setitem__("unlocked",
                                                                   time.perf_counter()))

    def pending_painted(_n) -> None:
        window.pending_view.table.viewport().repaint()
        done = window.pending_view.model.result.complete
        (whole_times if done else pending_times).append(time.perf_counter() - marks["unlocked"])
        marks["visible"] = window.pending_view.table.isVisible()

    window.pending_view.loaded.connect(pending_painted)
    # The whole shelter (12,000 items), not "Mis pendientes": the demo user owns none.
    window.pending_view.all_button.setChecked(True)
    unlock_times, unlock_stalls, after_stalls = [], [], []
    rss_list = 0.0
    for attempt in range(3):
        if attempt:
            window.lock()
            pump_for(app, 0.3)
        view.user.setText(demo.DEMO_USER)
        view.passphrase.setText(demo.DEMO_PASSPHRASE)
        heartbeat.start()
        t = time.perf_counter()
        run_until(window.residents_view.list_loaded, view.try_unlock)
        window.residents_view.table.viewport().repaint()
        unlock_times.append(time.perf_counter() - t)
        unlock_stalls.append((heartbeat.stop(), heartbeat.cpu))
        rss_list = max(rss_list, rss_mb())
        # The post-unlock warm-up runs here: the longest stall while a person looks at the list.
        heartbeat.start()
        pump_for(app, 2.5)
        after_stalls.append((heartbeat.stop(), heartbeat.cpu))
    unlock_to_list = statistics.median(unlock_times)
    unlock_stall = statistics.median(w for w, _c in unlock_stalls)
    unlock_stall_cpu = statistics.median(c for _w, c in unlock_stalls)
    assert window.residents_view.model.rowCount() == n_rows

    rv = window.residents_view
    # Sorting runs on the UI thread: its whole duration is a stall (no beat can interrupt).
    sorts = []
    for column in (1, 2, 6, 0):
        t = time.perf_counter()
        rv.table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
        rv.table.viewport().repaint()
        sorts.append(time.perf_counter() - t)
    sort_s = max(sorts)
    sort_stall = sort_s

    runs = [typing_run(app, rv, 0, heartbeat) for _ in range(3)]
    no_debounce = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    debounced = typing_run(app, rv, 150, heartbeat)

    t = time.perf_counter()
    window.lock()
    lock_s = time.perf_counter() - t
    rss_end = rss_mb()
    # The previous Pendientes last: its 12,000 items and the records it read would weigh on
    # the RSS figures above.
    before = previous_pending()
    if before is not None:
        direct = Vault.open(vault_path, demo.DEMO_USER, demo.DEMO_PASSPHRASE)
        pending.compute(direct)    # the same warm cache for both
        for _ in range(3):
            t = time.perf_counter()
            same = len(before.compute(direct).items)
            pending_before.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert len(pending.compute(direct).items) == same == n_pending, (same, n_pending)
            pending_direct.append(time.perf_counter() - t)
        direct.lock()

    pending_window = statistics.median(pending_times) if pending_times else float("nan")
    whole_window = statistics.median(whole_times) if whole_times else float("nan")
    ms = 1000
    print(f"workload: {n_rows} residents, {args.services} services each ({vault_path}); "
          f"Qt platform {os.environ.get('QT_QPA_PLATFORM')}; {PASSPHRASE_NOTE}")
    print(f"{'measure':46} {'window':>10} {'baseline':>10} {'ratio':>7}")

    def row(label, value, base, unit="ms", scale=ms):
        ratio = f"{value / base:7.2f}" if base else "      -"
        print(f"{label:46} {value * scale:8.1f}{unit:>2} {base * scale:8.1f}{unit:>2} {ratio}")

    row("process start → unlock screen painted", startup, startup_base)
    row("unlock → list painted (incl. KDF)", unlock_to_list, open_direct + list_direct)
    row("unlock → list painted, KDF excluded", unlock_to_list - kdf,
        open_direct - kdf + list_direct)
    print(f"{'  KDF (Argon2id, reported apart)':46} {kdf * ms:8.1f}ms")
    row("keystroke → results painted p50 (no debounce)", no_debounce["p50"],
        pct(search_direct, 50))
    row("keystroke → results painted p95 (no debounce)", no_debounce["p95"],
        pct(search_direct, 95))
    row("keystroke → results p95 with 150 ms debounce", debounced["p95"],
        pct(search_direct, 95) + 0.150)
    row("unlock → Pendientes first screen painted", pending_window,
        statistics.median(first_direct))
    row("unlock → Pendientes whole list shown", whole_window,
        statistics.median(pending_direct[:3]))
    if pending_before:
        row("Pendientes, core: this compute vs the previous", statistics.median(
            pending_direct[3:]), statistics.median(pending_before))
    print(f"{'  items listed (whole shelter)':46} {n_pending:8d}    (table visible: "
          f"{marks.get('visible')}; {len(pending_times)} + {len(whole_times)} loads; first "
          f"screen: counts and {FIRST_ROWS} items; medians of 3)")
    print(f"{'sort by a column (click on header), slowest':46} {sort_s * ms:8.1f}ms")
    print(f"{'longest UI-thread stall (wall / UI-thread CPU)':46}")
    for label, wall, cpu in (("  unlock → list (median of 3)", unlock_stall, unlock_stall_cpu),
                             ("  typing, no debounce (median of 3 runs)", no_debounce["stall"],
                              no_debounce["stall_cpu"]),
                             ("  typing, 150 ms debounce", debounced["stall"],
                              debounced["stall_cpu"]),
                             ("  2.5 s after unlock (form warm-up), max of 3",
                              max(w for w, _c in after_stalls),
                              max(c for _w, c in after_stalls)),
                             ("  sort (all of it runs on the UI thread)", sort_stall,
                              sort_stall)):
        print(f"{label:46} {wall * ms:8.1f}ms {cpu * ms:8.1f}ms")
    print(f"{'lock: drop the rows, close the vault (UI thread)':46} {lock_s * ms:8.1f}ms")
    if warmups:
        print(f"{'intake form warm-up call after unlock':46} "
              f"{max(warmups) * ms:8.1f}ms  (starts the section-by-section build; "
              f"x{len(warmups)})")
    print(f"{'RSS with the list shown':46} {rss_list:8.1f}MB {rss_base:8.1f}MB "
          f"{rss_list / rss_base:7.2f}   (after lock: {rss_end:.1f} MB)")
    print(f"keystrokes measured: {int(no_debounce['n'])} per run, typed {KEY_INTERVAL_MS} ms "
          f"apart; load average during the run: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    after_stall = max(w for w, _c in after_stalls)
    ok = (no_debounce["p95"] <= 0.050, max(no_debounce["stall"], debounced["stall"],
                                           unlock_stall, sort_stall, after_stall) <= 0.050,
          rss_list <= 250, pending_window <= 0.100)
    # (the wall-clock stall is the one held to the target)
    print("targets: search p95 ≤ 50 ms: {}; stalls ≤ 50 ms: {}; RSS ≤ 250 MB: {}; "
          "Pendientes ≤ 100 ms: {}".format(
        *("yes" if x else "NO" for x in ok)))


if __name__ == "__main__":
    main()
