"""Small-cell protection: which counts an exported report may not show, and proof it holds.

A report is a set of counts ("quantities", each named by a hashable key) tied by sums: a
table's total is the sum of its rows, a 2-D table's margins are sums of its cells, the same
quantity appears in several tables under one key. Counts from 1 to 4 are hidden ("<5",
primary suppression). Then more counts are hidden (complementary suppression, shown as "*")
until no hidden count can be worked out from what is shown:

* exactly, by linear algebra over every sum at once (rows, columns, totals, and sums that
  cross tables) — the guarantee, checked by `derivable()`;
* and, one sum at a time, by bounds: a reader who knows that "<5" means 1–4 and "*" means 5
  or more must still find at least two possible values for each hidden count of a sum
  (`pinned()`).

Zeros are never used as complements (a hidden 0 next to a "<5" would be pinned by the
bounds). Headline counts (`Problem.fixed`: children served, admitted, discharged…) are hidden
only when nothing else can protect: when the parts of such a total are too small to protect
one another (six months with one discharge each add up to six), the parts are withheld
instead ("x", any value including 0, no "<5" hint). Hiding is deterministic: the same counts
give the same hidden cells, so a quantity shown in two tables is hidden in both or in
neither.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

Key = Hashable
THRESHOLD = 5          # counts 1 … THRESHOLD-1 are hidden
PRIMARY, COMPLEMENT, WITHHELD = "primary", "complement", "withheld"
INF = float("inf")


@dataclass
class Problem:
    """Quantities and the sums that tie them: `total = sum(parts)` for each (total, parts)."""
    values: dict[Key, int] = field(default_factory=dict)
    sums: list[tuple[Key, tuple[Key, ...]]] = field(default_factory=list)
    # Hide b whenever a is hidden (a count of services whose number of children is hidden).
    links: list[tuple[Key, Key]] = field(default_factory=list)
    # Headline counts: hidden as complements only as a last resort.
    fixed: set[Key] = field(default_factory=set)

    def add(self, key: Key, value: int) -> Key:
        old = self.values.setdefault(key, value)
        if old != value:
            raise ValueError(f"quantity {key!r} given two values ({old}, {value})")
        return key

    def add_sum(self, total: Key, parts: Iterable[Key]) -> None:
        parts = tuple(parts)
        if parts:
            self.sums.append((total, parts))

    def check(self) -> None:
        """Every sum adds up (a report whose tables disagree must not be protected)."""
        for total, parts in self.sums:
            if self.values[total] != sum(self.values[p] for p in parts):
                raise ValueError(f"sum {total!r} does not add up")


def _equations(problem: Problem) -> list[dict[Key, int]]:
    eqs = []
    for total, parts in problem.sums:
        eq: dict[Key, int] = {total: -1}
        for p in parts:
            eq[p] = eq.get(p, 0) + 1
        eqs.append({k: c for k, c in eq.items() if c})
    return eqs


def _subtract(target: dict[int, Fraction], source: dict[int, Fraction], c: Fraction) -> None:
    """target -= c × source, on sparse rows (zeros dropped)."""
    for j, v in source.items():
        nv = target.get(j, 0) - c * v
        if nv:
            target[j] = nv
        else:
            target.pop(j, None)


def derivable(problem: Problem, hidden: Iterable[Key]) -> set[Key]:
    """Hidden quantities whose value follows exactly from the shown ones through the sums.

    x_h is determined iff the unit vector e_h lies in the row space of the equations
    restricted to hidden columns; found by reducing that matrix to row echelon form over
    the rationals.
    """
    hidden = sorted(set(hidden), key=repr)
    index = {k: i for i, k in enumerate(hidden)}
    rows = []
    for eq in _equations(problem):
        row = {index[k]: Fraction(c) for k, c in eq.items() if k in index}
        if row:
            rows.append(row)
    pivots: list[tuple[int, dict[int, Fraction]]] = []
    for row in rows:
        for col, prow in pivots:          # reduce by earlier pivots
            c = row.get(col)
            if c:
                _subtract(row, prow, c)
        if not row:
            continue
        col = min(row)
        lead = row[col]
        row = {j: v / lead for j, v in row.items()}
        for _pcol, prow in pivots:   # keep the echelon form reduced
            c = prow.get(col)
            if c:
                _subtract(prow, row, c)
        pivots.append((col, row))
    return {hidden[col] for col, row in pivots if len(row) == 1}


def _bounds(problem: Problem, key: Key, hidden: Mapping[Key, str]) -> tuple[float, float]:
    value = problem.values[key]
    mark = hidden.get(key)
    if mark == PRIMARY:
        return 1, THRESHOLD - 1
    if mark == COMPLEMENT and value >= THRESHOLD:
        return THRESHOLD, INF
    return 0, INF


def pinned(problem: Problem, hidden: Mapping[Key, str]) -> set[Key]:
    """Hidden quantities that one sum alone fixes, given what the markers tell."""
    return set(_pinning(problem, hidden, _equations(problem)))


def _pinning(problem: Problem, hidden: Mapping[Key, str],
             eqs: list[dict[Key, int]]) -> dict[Key, set[int]]:
    """Pinned hidden quantity -> the sums (indices into eqs) that pin it."""
    out: dict[Key, set[int]] = {}
    for n, eq in enumerate(eqs):
        unknown = [k for k in eq if k in hidden]
        if not unknown:
            continue
        known = -sum(c * problem.values[k] for k, c in eq.items() if k not in hidden)
        bounds = {k: _bounds(problem, k, hidden) for k in unknown}
        for k in unknown:
            lo_rest = hi_rest = 0.0
            for j in unknown:
                if j != k:
                    a, b = eq[j] * bounds[j][0], eq[j] * bounds[j][1]
                    lo_rest += min(a, b)
                    hi_rest += max(a, b)
            # eq[k] * x_k = known - rest; inf - inf never occurs (rest bounds are one-sided)
            ends = sorted(((known - hi_rest) / eq[k], (known - lo_rest) / eq[k]))
            low, high = max(bounds[k][0], ends[0]), min(bounds[k][1], ends[1])
            if low >= high:
                out.setdefault(k, set()).add(n)
    return out


def suppress(problem: Problem, forced: Mapping[Key, str] | None = None) -> dict[Key, str]:
    """The hidden quantities: key -> PRIMARY ("<5"), COMPLEMENT ("*") or WITHHELD ("x").

    `forced` counts are hidden whatever their value (with the given mark, or PRIMARY/
    COMPLEMENT by value when None) and protected like the small ones: the release log forces
    the counts that differ little from an earlier release.
    """
    problem.check()
    hidden: dict[Key, str] = {k: PRIMARY for k, v in problem.values.items()
                              if 0 < v < THRESHOLD}
    for k, mark in (forced or {}).items():
        if k in problem.values and k not in hidden:
            v = problem.values[k]
            hidden[k] = mark or (PRIMARY if 0 < v < THRESHOLD else COMPLEMENT)
    eqs = _equations(problem)
    by_key: dict[Key, list[int]] = {}
    for i, eq in enumerate(eqs):
        for k in eq:
            by_key.setdefault(k, []).append(i)
    rank = {k: n for n, k in enumerate(sorted(problem.values, key=repr))}

    def hide(key: Key, mark: str | None = None) -> None:
        hidden[key] = mark or (PRIMARY if 0 < problem.values[key] < THRESHOLD else COMPLEMENT)
        changed = True
        while changed:
            changed = False
            for a, b in problem.links:
                if a in hidden and b not in hidden and problem.values[b] > 0:
                    hidden[b] = PRIMARY if problem.values[b] < THRESHOLD else COMPLEMENT
                    changed = True

    for key in list(hidden):
        hide(key, hidden[key])
    accepted: set[Key] = set()      # nothing left to hide around it
    for _round in range(3 * len(problem.values) + 3):
        linear = derivable(problem, hidden)
        bounded = _pinning(problem, hidden, eqs)
        at_risk = (linear | set(bounded)) - accepted
        if not at_risk:
            break
        victim = min(at_risk, key=lambda k: rank[k])
        # The sums to work on: those that pin it by bounds, else every sum it is in.
        culprits = [eqs[i] for i in sorted(bounded.get(victim, ()))] if victim not in linear \
            else [eqs[i] for i in by_key.get(victim, ())]
        around = {k for eq in culprits for k in eq if k not in hidden and problem.values[k] > 0}
        neighbours = around - problem.fixed
        if not neighbours:
            # Withhold the small parts rather than hide a headline total, when that helps.
            parts = {k for eq in culprits for k in eq if k != victim
                     and k not in problem.fixed and hidden.get(k) != WITHHELD}
            if parts:
                for k in parts:
                    hide(k, WITHHELD)
                continue
            neighbours = around
        if not neighbours:
            accepted.add(victim)
            continue
        # Smallest first (least information lost); the first that frees the victim wins.
        ordered = sorted(neighbours, key=lambda k: (problem.values[k], len(by_key[k]),
                                                    rank[k]))
        chosen = ordered[0]
        for k in ordered:
            trial = {**hidden, k: COMPLEMENT}
            if victim not in derivable(problem, trial) | pinned(problem, trial):
                chosen = k
                break
        hide(chosen)
    return hidden


def display(value: int, mark: str | None) -> str:
    """How a count is printed in a protected report."""
    if mark == PRIMARY:
        return f"<{THRESHOLD}"
    if mark == COMPLEMENT:
        return "*"
    if mark == WITHHELD:
        return "x"
    return str(value)
