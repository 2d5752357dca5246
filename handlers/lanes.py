"""Each sender's updates in a lane of their own, between the platform and the handlers.

One update of a person is handled at a time anyway (the person's lock), so a sender takes one slot
of the updates in flight however many of theirs are held: one flooder's 500 updates must not take
the slots the other families need (issue 13). A sender's updates that come while one of theirs is
being handled wait in the lane, not as tasks: they cost nothing before they go in, and they go in
together when the sender's last one ends, so the flood gate merges them (handlers/flood.py).

A flooding sender (more than ``flood_backlog`` waiting) waits longer: until the transport has taken
everything the platform holds (``caught_up``), so the others' updates that came after the flood are
taken and started first. Never an urgent update: a lane holding one goes in at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
S = TypeVar("S", bound=Hashable)  # who sent it: Telegram's user id, the inbox's "vk:123"


class Lanes(Generic[T, S]):
    release = 100  # updates of a lane that go in together: about one merged turn's worth
    flood_backlog = 10  # more waiting than this: a flood, which lets the others' updates go first

    def __init__(
        self,
        start: Callable[[T, S | None], None],
        urgent: Callable[[T], bool],
        hurry: Callable[[S], None] | None = None,
    ) -> None:
        self._start = start  # hands an update to the handlers (``done`` is called when it ends)
        self._urgent = urgent
        # An urgent update behind the sender's turn in hand: that turn is hurried (its replies go
        # before others' waiting for the platform's budget), for the SOS waits until it ends.
        self._hurry = hurry
        self._running: Counter[S | None] = Counter()  # started, not ended, per sender (None: no sender)
        self._waiting: dict[S, list[tuple[T, bool]]] = {}  # (update, whether urgent), in order
        self._held_back: set[S] = set()  # flooding lanes waiting for the transport to catch up
        self._backlog = 0  # updates in _waiting
        self._caught_up = True  # a webhook's updates come as they are sent: never behind

    def add(self, sender: S | None, update: T) -> None:
        if sender is None or (not self._running[sender] and sender not in self._waiting):
            self._go(update, sender)
            return
        urgent = self._urgent(update)
        self._waiting.setdefault(sender, []).append((update, urgent))
        self._backlog += 1
        if urgent and self._running[sender] and self._hurry is not None:
            self._hurry(sender)
        if urgent and sender in self._held_back:
            self._release(sender)

    def done(self, sender: S | None) -> None:
        self._running[sender] -= 1
        if self._running[sender]:
            return
        del self._running[sender]
        if sender is None or sender not in self._waiting:
            return
        waiting = self._waiting[sender]
        if self._caught_up or len(waiting) <= self.flood_backlog or any(u for _, u in waiting):
            self._release(sender)
        else:
            self._held_back.add(sender)

    def caught_up(self, caught_up: bool) -> None:
        """Whether the transport's last fetch took everything the platform held; or whether it can
        fetch no more until updates end (then holding a flood back serves no one)."""
        self._caught_up = caught_up
        if caught_up:
            for sender in list(self._held_back):
                self._release(sender)

    def in_flight(self) -> int:
        """Slots taken: one per sender with updates started, one per started update without one."""
        return len(self._running) - (None in self._running) + self._running[None]

    def held(self) -> int:
        """Updates taken and not ended: started, or waiting in their lane."""
        return self._running.total() + self._backlog

    def _release(self, sender: S) -> None:
        self._held_back.discard(sender)
        waiting = self._waiting.pop(sender)
        # Up to the last urgent one at least: it is not left behind the lane's next turn.
        cut = max([self.release, *(i + 1 for i, (_, urgent) in enumerate(waiting) if urgent)])
        now, later = waiting[:cut], waiting[cut:]
        if later:
            self._waiting[sender] = later
        self._backlog -= len(now)
        for update, _ in now:  # in the order they came: the person's lock keeps it
            self._go(update, sender)

    def _go(self, update: T, sender: S | None) -> None:
        self._running[sender] += 1
        self._start(update, sender)
