"""Lanes: a sender takes one slot; a flood waits for the others behind it; an SOS never waits."""

from __future__ import annotations

from handlers.lanes import Lanes

FLOODER, OTHER = 1, 2


class Started:
    """What went to the handlers, in order, as (sender, update)."""

    def __init__(self) -> None:
        self.log: list[tuple[int | None, str]] = []
        self.lanes: Lanes[str, int] = Lanes(lambda update, sender: self.log.append((sender, update)), urgent)

    def of(self, sender: int) -> list[str]:
        return [update for who, update in self.log if who == sender]


def urgent(update: str) -> bool:
    return update == "SOS"


def behind(updates: list[str], *, sender: int = FLOODER, release: int | None = None) -> Started:
    """While the transport is behind, one sender's updates come and the first one ends."""
    s = Started()
    if release is not None:
        s.lanes.release = release
    s.lanes.caught_up(False)
    for update in updates:
        s.lanes.add(sender, update)
    s.lanes.done(sender)
    return s


def test_a_senders_updates_take_one_slot_and_wait_untouched_behind_the_one_in_hand() -> None:
    s = Started()
    s.lanes.caught_up(False)  # the transport is behind: more waits at the platform
    for n in range(50):
        s.lanes.add(FLOODER, f"f{n}")
    s.lanes.add(OTHER, "o0")
    s.lanes.add(None, "n0")  # no sender: a slot of its own
    assert s.log == [(FLOODER, "f0"), (OTHER, "o0"), (None, "n0")]
    assert s.lanes.in_flight() == 3
    assert s.lanes.held() == 52


def test_a_flood_waits_until_the_transport_caught_up_then_goes_in_order_a_turns_worth_at_a_time() -> None:
    s = behind([f"f{n}" for n in range(50)], release=20)
    assert s.of(FLOODER) == ["f0"], "the first one ended while the transport is still behind: held back"
    s.lanes.add(OTHER, "o0")  # the others' updates fetched meanwhile go first
    assert s.log[-1] == (OTHER, "o0")

    s.lanes.caught_up(True)
    assert s.of(FLOODER) == [f"f{n}" for n in range(21)], "the next turn's worth, in order"
    s.lanes.add(FLOODER, "f50")  # a later one waits behind the lane, never overtakes it
    for _ in range(20):
        s.lanes.done(FLOODER)
    assert s.of(FLOODER) == [f"f{n}" for n in range(41)]
    for _ in range(20):
        s.lanes.done(FLOODER)
    assert s.of(FLOODER) == [f"f{n}" for n in range(51)]
    for _ in range(10):
        s.lanes.done(FLOODER)
    s.lanes.done(OTHER)
    assert s.lanes.held() == 0 and s.lanes.in_flight() == 0


def test_a_few_quick_taps_are_not_a_flood_and_go_in_at_once() -> None:
    s = behind([f"o{n}" for n in range(4)], sender=OTHER)
    assert s.of(OTHER) == ["o0", "o1", "o2", "o3"]


def test_an_sos_in_a_held_flood_goes_in_at_once_with_what_came_before_it() -> None:
    s = behind([f"f{n}" for n in range(30)], release=5)
    assert s.of(FLOODER) == ["f0"], "held back"
    s.lanes.add(FLOODER, "SOS")
    assert s.of(FLOODER) == [*(f"f{n}" for n in range(30)), "SOS"], "everything up to the SOS, in order"

    # An SOS already waiting when the turn in hand ends is not held back either.
    t = behind(["SOS" if n == 20 else f"f{n}" for n in range(30)], release=5)
    assert t.of(FLOODER) == ["f0", *(f"f{n}" for n in range(1, 20)), "SOS"]


def test_an_sos_behind_a_turn_in_hand_hurries_that_turn_and_nothing_else_does() -> None:
    hurried: list[int] = []
    log: list[tuple[int | None, str]] = []
    lanes: Lanes[str, int] = Lanes(
        lambda update, sender: log.append((sender, update)), urgent, hurried.append
    )
    lanes.add(OTHER, "SOS")  # nothing of theirs in hand: it simply goes
    lanes.add(FLOODER, "text 1")
    lanes.add(FLOODER, "text 2")  # behind the turn in hand, not urgent
    assert hurried == []
    lanes.add(FLOODER, "SOS")
    assert hurried == [FLOODER]
    assert log == [(OTHER, "SOS"), (FLOODER, "text 1")], "the SOS still waits its turn, in order"
