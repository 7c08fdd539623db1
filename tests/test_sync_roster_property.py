"""Random roster histories: devices enrol others, revoke, start key epochs, each from what it
has seen (a revoked laptop kept offline goes on as if nothing happened), and pass statements
to one another. Honest laptops then receive everything, in any order, in pieces, with
repeats: they must reach the same roster, and no statement a device signed after seeing a
revocation of itself that stands may count."""
from __future__ import annotations

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpc_desktop.core import crypto
from cpc_desktop.sync import devices
from cpc_desktop.sync.devices import COORDINATOR, MEMBER

N = 6
ENROLLED = 4       # the genesis approves devices 1..3 first and everyone hears of it
SHELTER = "LOR-01"


def _identity() -> devices.Identity:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    sign, kx = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    probe = devices.Identity("", sign, kx)
    return devices.Identity(crypto.device_id_for(crypto.unb64(probe.sign_pub)), sign, kx)


IDS = [_identity() for _ in range(N)]


def _conn():
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE sync_keys (shelter TEXT, epoch INTEGER, kid TEXT, key TEXT NOT NULL,
                                added_at TEXT, PRIMARY KEY (shelter, epoch, kid));
        CREATE TABLE sync_statements (id TEXT PRIMARY KEY, shelter TEXT NOT NULL,
                                      kind TEXT NOT NULL, body TEXT NOT NULL,
                                      pending INTEGER DEFAULT 0);
        CREATE TABLE sync_devices (shelter TEXT, device TEXT, sign_pub TEXT, kx_pub TEXT,
                                   label TEXT, added_at TEXT, revoked_after INTEGER,
                                   PRIMARY KEY (shelter, device));
    """)
    return conn


ops = st.lists(st.one_of(
    st.tuples(st.just("approve"), st.integers(0, N - 1), st.integers(1, N - 1),
              st.sampled_from([COORDINATOR, COORDINATOR, MEMBER])),
    st.tuples(st.just("revoke"), st.integers(0, N - 1), st.integers(0, N - 1)),
    st.tuples(st.just("epoch"), st.integers(0, N - 1)),
    st.tuples(st.just("gossip"), st.integers(0, N - 1), st.integers(0, N - 1)),
    st.tuples(st.just("gossip"), st.integers(0, N - 1), st.integers(0, N - 1)),
    # A revocation its target then hears of, and the target going on regardless.
    st.tuples(st.just("defy"), st.integers(0, N - 1), st.integers(0, N - 1),
              st.sampled_from(["approve", "epoch", "revoke"])),
), max_size=24)


class World:
    def __init__(self):
        g = IDS[0]
        body = {"kind": "genesis", "v": 2, "shelter": SHELTER, "device": g.device,
                "sign_pub": g.sign_pub, "kx_pub": g.kx_pub, "kid": "k1", "at": "t0"}
        self.genesis = devices.sign_statement(g, body)
        gid = devices.statement_id(self.genesis)
        self.views = [{gid: self.genesis} for _ in range(N)]
        self.made: list[tuple[int, dict, set[str]]] = []   # (signer, stmt, signer's view)
        self.tick = 0

    def roster(self, i: int) -> devices.Roster:
        return devices.evaluate(SHELTER, self.views[i])

    def issue(self, i: int, body: dict) -> None:
        self.tick += 1
        body.update({"v": 2, "shelter": SHELTER, "at": f"t{self.tick}"})
        stmt = devices.sign_statement(IDS[i], body)
        self.made.append((i, stmt, set(self.views[i])))
        self.views[i][devices.statement_id(stmt)] = stmt

    def run(self, op) -> None:
        kind, actor = op[0], op[1]
        r = self.roster(actor)
        if actor > 0 and IDS[actor].device not in r.members:
            return              # a laptop not (yet) enrolled has nothing to sign with
        if kind == "approve":
            t = IDS[op[2]]
            if t.device not in r.members:
                self.issue(actor, {"kind": "approve", "device": t.device,
                                   "sign_pub": t.sign_pub, "kx_pub": t.kx_pub,
                                   "role": op[3], "request": "r", "keys": []})
        elif kind == "revoke":
            t = IDS[op[2]]
            if t.device in r.members and op[2] != actor:
                self.issue(actor, {"kind": "revoke", "device": t.device, "after_seq": 0,
                                   "after_hash": "", "keep": r.statements_by(t.device)})
        elif kind == "epoch":
            n, prev = r.current or (0, "")
            self.issue(actor, {"kind": "epoch", "epoch": n + 1, "prev": prev,
                               "kid": f"k{self.tick}-{actor}", "wraps": {
                                   d: {} for d, m in r.members.items() if m.cut is None}})
        elif kind == "gossip":
            self.views[op[2]].update(self.views[actor])
        elif kind == "defy":
            target, then = op[2], op[3]
            self.run(("revoke", actor, target))
            self.run(("gossip", actor, target))
            follow = {"approve": ("approve", target, N - 1, COORDINATOR),
                      "epoch": ("epoch", target), "revoke": ("revoke", target, actor)}[then]
            self.run(follow)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(roles=st.lists(st.sampled_from([COORDINATOR, MEMBER]), min_size=ENROLLED - 1,
                     max_size=ENROLLED - 1), history=ops, data=st.data())
def test_random_roster_histories_converge_and_revocation_is_final(roles, history, data):
    world = World()
    for i, role in enumerate(roles, start=1):
        world.run(("approve", 0, i, role))
    for i in range(1, N):
        world.run(("gossip", 0, i))
    for op in history:
        world.run(op)
    everything = {}
    for view in world.views:
        everything.update(view)
    final = devices.evaluate(SHELTER, everything)
    # Honest laptops: the genesis by hand, then everything in any order, pieces, repeats.
    seen = []
    stmts = list(everything.values())
    for _observer in range(3):
        conn = _conn()
        devices.store_statement(conn, world.genesis, trusted=True)
        order = data.draw(st.permutations(stmts))
        repeats = data.draw(st.lists(st.sampled_from(stmts), max_size=4)) if stmts else []
        pieces = list(order) + repeats
        cuts = sorted(data.draw(st.lists(st.integers(0, len(pieces)), max_size=4)))
        start = 0
        for end in cuts + [len(pieces)]:
            devices.apply_statements(conn, pieces[start:end], None)
            start = end
        r = devices.refresh(conn, SHELTER, None)
        rows = sorted(conn.execute("SELECT device, sign_pub, label, revoked_after FROM "
                                   "sync_devices").fetchall())
        seen.append((rows, r.current, sorted(r.valid)))
    assert all(s == seen[0] for s in seen), "two honest laptops disagree on the roster"
    assert seen[0][2] == sorted(final.valid)
    assert final.coordinators(), "no coordinator device left"
    # No statement signed after its signer saw a revocation of itself, made by a device that
    # is still an active coordinator, counts.
    for signer, stmt, view in world.made:
        me = IDS[signer].device
        for sid in view:
            body = view_body = everything[sid]["body"]
            if view_body["kind"] == "revoke" and body["device"] == me:
                by = everything[sid]["by"]
                if by in final.members and final.members[by].cut is None \
                        and final.members[by].role == COORDINATOR:
                    assert devices.statement_id(stmt) not in final.valid, \
                        "a revoked device's later statement took effect"
