"""Small-cell protection never lets a hidden count be worked out from what is printed.

The attacks are written here, independently of the engine: subtraction along every row,
column and total, repeated until nothing new comes out; and bounds, knowing that "<5" means
1–4 and "*" means 5 or more.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cpc_desktop.reports.suppression import (COMPLEMENT, PRIMARY, WITHHELD, Problem,
                                             derivable, display, suppress)


def one_dim(cells: list[int]) -> tuple[Problem, list[list]]:
    p = Problem()
    keys = [p.add(("c", i), v) for i, v in enumerate(cells)]
    p.add("T", sum(cells))
    p.add_sum("T", keys)
    return p, [keys + ["T"]]


def two_dim(grid: list[list[int]]) -> tuple[Problem, list[list]]:
    p = Problem()
    r, c = len(grid), len(grid[0])
    for i in range(r):
        for j in range(c):
            p.add((i, j), grid[i][j])
    lines = []
    for i in range(r):
        p.add(("row", i), sum(grid[i]))
        p.add_sum(("row", i), [(i, j) for j in range(c)])
        lines.append([(i, j) for j in range(c)] + [("row", i)])
    for j in range(c):
        p.add(("col", j), sum(grid[i][j] for i in range(r)))
        p.add_sum(("col", j), [(i, j) for i in range(r)])
        lines.append([(i, j) for i in range(r)] + [("col", j)])
    p.add("T", sum(map(sum, grid)))
    p.add_sum("T", [("row", i) for i in range(r)])
    p.add_sum("T", [("col", j) for j in range(c)])
    lines.append([("row", i) for i in range(r)] + ["T"])
    lines.append([("col", j) for j in range(c)] + ["T"])
    return p, lines


def subtraction_attack(p: Problem, lines: list[list], hidden: dict) -> set:
    """Hidden cells a reader recovers by subtracting along lines (last item = the total),
    again and again with what was recovered before."""
    known = {k: v for k, v in p.values.items() if k not in hidden}
    found = set()
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [k for k in line if k not in known]
            if len(unknown) == 1:
                k = unknown[0]
                total, parts = line[-1], line[:-1]
                if k == total:
                    known[k] = sum(known[x] for x in parts)
                else:
                    known[k] = known[total] - sum(known[x] for x in parts if x != k)
                found.add(k)
                changed = True
    return found


def bounds_attack(p: Problem, lines: list[list], hidden: dict) -> set:
    """Hidden cells that one line fixes once the markers' meaning is known."""
    def domain(k):
        if hidden[k] == PRIMARY:
            return 1, 4
        if hidden[k] == COMPLEMENT and p.values[k] >= 5:
            return 5, 10**9
        return 0, 10**9          # withheld ("x"): any value

    found = set()
    for line in lines:
        total, parts = line[-1], line[:-1]
        for k in line:
            if k not in hidden:
                continue
            lo_k, hi_k = domain(k)
            # Write the line as total - sum(parts) = 0 and solve for k.
            lo = hi = 0
            for x in line:
                if x == k:
                    continue
                sign = 1 if x == total else -1
                a, b = domain(x) if x in hidden else (p.values[x], p.values[x])
                lo += min(sign * a, sign * b)
                hi += max(sign * a, sign * b)
            # sign_k * k + rest = 0  ->  k in [-hi, -lo] (part) or [lo, hi] negated (total)
            if k == total:
                rng = (-hi, -lo)
            else:
                rng = (lo, hi)
            low, high = max(lo_k, rng[0]), min(hi_k, rng[1])
            if low >= high:
                found.add(k)
    return found


def check(p: Problem, lines: list[list]) -> dict:
    hidden = suppress(p)
    small = {k for k, v in p.values.items() if 0 < v < 5}
    assert small <= set(hidden), "a count between 1 and 4 is printed"
    assert all(p.values[k] > 0 for k, m in hidden.items() if m != WITHHELD), \
        "a zero was marked as a small or complementary count"
    assert not subtraction_attack(p, lines, hidden), "a hidden count follows by subtraction"
    assert not derivable(p, hidden)
    return hidden


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=9))
def test_no_hidden_cell_of_a_list_with_a_total_can_be_worked_out(cells):
    p, lines = one_dim(cells)
    hidden = check(p, lines)
    if any(0 < v < 5 for v in cells):
        assert len(hidden) >= 2, "one hidden cell next to a printed total is no protection"
    assert not bounds_attack(p, lines, hidden), "the markers' meaning pins a hidden count"


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 5).flatmap(lambda c: st.lists(
    st.lists(st.integers(0, 25), min_size=c, max_size=c), min_size=2, max_size=5)))
def test_no_hidden_cell_of_a_table_with_margins_can_be_worked_out(grid):
    p, lines = two_dim(grid)
    hidden = check(p, lines)
    assert not bounds_attack(p, lines, hidden), "the markers' meaning pins a hidden count"


def test_a_one_next_to_a_five_hides_more_than_the_five():
    # 1 + 5 = 6: hiding only the 5 tells a reader both (the only split of 6 into 1–4 and ≥5).
    p, lines = one_dim([1, 5])
    hidden = suppress(p)
    assert set(hidden) == {("c", 0), "T"}
    assert not bounds_attack(p, lines, hidden)


def test_small_parts_of_a_headline_total_are_withheld_not_the_total():
    # Six months with one discharge each: "<5" six times and a total of 6 tells all.
    p, lines = one_dim([1, 1, 1, 1, 1, 1])
    p.fixed = {"T"}
    hidden = suppress(p)
    assert "T" not in hidden, "the headline total was hidden"
    assert set(hidden) == {("c", i) for i in range(6)}
    assert list(hidden.values()).count(WITHHELD) >= 5
    assert not bounds_attack(p, lines, hidden) and not subtraction_attack(p, lines, hidden)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=8))
def test_with_a_headline_total_nothing_is_derivable_either(cells):
    p, lines = one_dim(cells)
    p.fixed = {"T"}
    hidden = check(p, lines)
    assert not bounds_attack(p, lines, hidden)


def test_the_complement_is_the_smallest_cell_that_protects():
    p, lines = one_dim([3, 40, 7, 200])
    assert suppress(p) == {("c", 0): PRIMARY, ("c", 2): COMPLEMENT}


def test_linked_counts_hide_together():
    p = Problem()
    p.add("children", 3)
    p.add("services", 12)
    p.links.append(("children", "services"))
    assert suppress(p) == {"children": PRIMARY, "services": COMPLEMENT}


def test_how_hidden_counts_are_printed():
    assert [display(3, PRIMARY), display(12, COMPLEMENT), display(0, WITHHELD),
            display(12, None)] == ["<5", "*", "x", "12"]
