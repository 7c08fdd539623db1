"""Hybrid logical clock stamps and UUIDv7 record ids: both must only ever go forward."""
from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpc_desktop.core.clock import DEFAULT_MAX_DRIFT_MS, ClockDrift, HybridClock, Stamp
from cpc_desktop.core.ids import uuid7

DEVICE = "0190f5a2-7c1e-7000-8000-00000000d001"
BASE_MS = 1_717_200_000_000  # June 2024


class FakeWall:
    """A wall clock the test moves by hand (laptops in shelters keep wrong dates)."""

    def __init__(self, ms: int = BASE_MS):
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


# ---------------------------------------------------------------- hybrid clock

def test_now_increases_even_when_the_wall_clock_goes_back():
    wall = FakeWall()
    clock = HybridClock(DEVICE, wall=wall)
    stamps = [clock.now()]
    for step in (0, 0, -60_000, 5, -3_600_000, 0, 1):
        wall.ms += step
        stamps.append(clock.now())
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), (
        "an edit made after the laptop's clock was set back would lose to an older edit")


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.integers(-10 ** 6, 10 ** 6), min_size=1, max_size=60))
def test_now_is_strictly_monotonic_as_strings_and_stamps(steps):
    wall = FakeWall()
    clock = HybridClock(DEVICE, wall=wall)
    previous = clock.now()
    for step in steps:
        wall.ms = max(0, wall.ms + step)
        current = clock.now()
        assert current > previous, "a later edit would be ordered before an earlier one"
        assert Stamp.parse(current) > Stamp.parse(previous)
        previous = current


def test_many_stamps_in_one_millisecond_keep_string_order():
    # The vault stores stamps as text and sync compares the text: the 4-digit counter must
    # never grow to 5 digits, or "…-10000-" would sort before "…-9999-".
    clock = HybridClock(DEVICE, wall=FakeWall())
    stamps = [clock.now() for _ in range(12_000)]
    assert all(a < b for a, b in zip(stamps, stamps[1:])), (
        "after a bulk import, later edits would lose to earlier ones when laptops sync")
    assert all(Stamp.parse(s) < Stamp.parse(t) for s, t in zip(stamps[9990:], stamps[9991:]))


def test_stamp_text_round_trips():
    stamp = Stamp(BASE_MS, 42, DEVICE)
    assert Stamp.parse(str(stamp)) == stamp, "a device id with dashes would be cut when parsed"
    assert str(stamp) == f"{BASE_MS:013d}-0042-{DEVICE}"


def test_clock_resumes_after_its_saved_last_stamp():
    wall = FakeWall(BASE_MS - 10_000)  # the laptop's clock is now behind what it saved
    saved = str(Stamp(BASE_MS, 7, DEVICE))
    clock = HybridClock(DEVICE, saved, wall=wall)
    assert clock.now() > saved, "edits after restarting the app would lose to older ones"


def test_observe_moves_past_a_remote_stamp():
    wall = FakeWall()
    clock = HybridClock(DEVICE, wall=wall)
    clock.now()
    remote = str(Stamp(BASE_MS + 3_600_000, 5, "0190f5a2-7c1e-7000-8000-00000000d002"))
    clock.observe(remote)
    assert clock.now() > remote, (
        "an edit made here after receiving a colleague's change would be overwritten by it")


@settings(max_examples=100, deadline=None)
@given(ahead=st.integers(-10 ** 9, DEFAULT_MAX_DRIFT_MS), counter=st.integers(0, 9999),
       device=st.sampled_from(["a", "z", DEVICE]))
def test_after_observe_every_local_stamp_is_later(ahead, counter, device):
    wall = FakeWall()
    clock = HybridClock(DEVICE, wall=wall)
    remote = str(Stamp(max(0, BASE_MS + ahead), counter, device))
    clock.observe(remote)
    assert clock.now() > remote


def test_drift_beyond_the_limit_is_refused_in_spanish():
    wall = FakeWall()
    clock = HybridClock(DEVICE, wall=wall)
    before = clock.last
    remote = str(Stamp(BASE_MS + DEFAULT_MAX_DRIFT_MS + 3_600_000, 0, "otro"))
    with pytest.raises(ClockDrift) as exc:
        clock.observe(remote)
    message = str(exc.value)
    assert "adelantada" in message and "25 horas" in message, (
        f"the coordinator would not understand why sync stopped: {message!r}")
    assert clock.last == before, "a refused stamp would still drag this laptop's clock ahead"


def test_drift_within_the_limit_is_accepted():
    clock = HybridClock(DEVICE, wall=FakeWall(), max_drift_ms=1000)
    clock.observe(str(Stamp(BASE_MS + 1000, 0, "otro")))
    with pytest.raises(ClockDrift):
        clock.observe(str(Stamp(BASE_MS + 1001, 0, "otro")))


# ---------------------------------------------------------------- UUIDv7

def test_uuid7_has_version_7_and_rfc_variant():
    value = uuid.UUID(uuid7())
    assert value.version == 7, "ids would not be recognised as time-ordered UUIDs"
    assert value.variant == uuid.RFC_4122


def test_uuid7_carries_the_current_time():
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(uuid7())
    after = time.time_ns() // 1_000_000
    assert before - 5 <= value.int >> 80 <= after + 5, (
        "new records would not sort after old ones in lists and indexes")


def test_uuid7_ids_strictly_increase_and_are_unique():
    ids = [uuid7() for _ in range(20_000)]
    assert ids == sorted(ids), "records created in a burst would list out of order"
    assert len(set(ids)) == len(ids), "two records would share an id and overwrite each other"
    assert all(uuid.UUID(i).version == 7 for i in ids[::997])
