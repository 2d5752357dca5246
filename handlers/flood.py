"""A person flooding the bot is slowed with one kind message; nothing they wrote is lost.

Each person's typed messages are counted by pyrate-limiter (the pacer's ``MemoryBudget``: a bucket
per person, idle ones swept). Within the limit every message is its own turn. Past it, the texts that
pile up behind the person's current turn are merged: the first one opens a batch and waits for the
person's lock; the next ones join it and wait for its answer. When the lock comes, the batch closes
and its texts become one turn (their words joined in order, every update id recorded as processed in
that turn's transaction), so 500 messages sent at once are a few turns, not 500 turns holding the
others up. Why merge rather than queue them one by one: what a parent types in a hurry belongs
together (one story, one relay to the coordinators), and the others waiting behind 500 turns is
exactly the harm to avoid; merged, every word is still kept.

Never merged: an emergency (``SOS``, 🆘, words of danger) goes on its own turn, behind at most the
turn in hand and the batch already waiting, so the numbers come at once. A button or a command is
its own turn too; it closes the open batch first, so nothing later overtakes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from dialogs.danger import find_danger
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Incoming
from dialogs.validate import is_sos
from handlers.pacer import Limit, MemoryBudget
from storage.uow import UnitOfWork

FLOOD_NOTICE = N_(
    "You are writing very fast, so I have put your messages together and answer them at once. "
    "Nothing you wrote is lost. If someone is in danger, write SOS."
)
TOLD_AGAIN_AFTER = 600.0  # seconds of calm after which a new flood is told again
R = TypeVar("R")


@dataclass(frozen=True)
class FloodSettings:
    # Messages a person may send in a row, each its own turn: a parent pasting a story in a dozen
    # parts is not a flood.
    limit: Limit = field(default_factory=lambda: Limit(20, 10.0))
    batch: int = 50  # texts merged into one turn at most
    chars: int = 3000  # and characters (under the engine's one-message limit)


@dataclass
class Batch(Generic[R]):
    """Texts merged into one turn; the first one's task runs it, the others wait for its result."""

    items: list[Incoming]
    tell: bool  # the first batch of a flood: the kind message goes first
    result: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    closed: bool = False

    def finish(self, value: R) -> None:
        if not self.result.done():
            self.result.set_result(value)

    def fail(self, error: BaseException) -> None:
        if not self.result.done():
            self.result.set_exception(error)


class FloodGate(Generic[R]):
    def __init__(
        self, settings: FloodSettings | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings or FloodSettings()
        self._budget = MemoryBudget()
        self._clock = clock
        self._open: dict[str, Batch[R]] = {}  # the batch still taking texts, per person
        self._told: dict[str, float] = {}  # when a person was last told to slow down

    async def admit(self, key: str, incoming: Incoming) -> tuple[Batch[R] | None, bool]:
        """(the batch, whether this message leads it) or (None, False): a turn of its own."""
        event = incoming.event
        mergeable = event.kind is EventKind.TEXT and event.attachment is None and not _urgent(event.text)
        if not mergeable:
            self._close(key)  # nothing typed after this may overtake it
            return None, False
        now = self._clock()
        over = await self._budget.spend(key, self._settings.limit, now) > 0
        batch = self._open.get(key)
        if batch is not None and self._fits(batch, incoming):
            batch.items.append(incoming)
            return batch, False
        self._close(key)
        if not over:
            return None, False
        told = self._told.get(key)
        tell = told is None or now - told > TOLD_AGAIN_AFTER
        if tell:
            self._remember_told(key, now)
        batch = self._open[key] = Batch([incoming], tell)
        return batch, True

    def take(self, key: str, batch: Batch[R]) -> list[Incoming]:
        """The leader holds the person's lock: the batch takes no more texts."""
        batch.closed = True
        if self._open.get(key) is batch:
            del self._open[key]
        return batch.items

    def _fits(self, batch: Batch[R], incoming: Incoming) -> bool:
        s = self._settings
        chars = sum(len(i.event.text) for i in batch.items) + len(incoming.event.text)
        return not batch.closed and len(batch.items) < s.batch and chars <= s.chars

    def _close(self, key: str) -> None:
        batch = self._open.pop(key, None)
        if batch is not None:
            batch.closed = True

    def _remember_told(self, key: str, now: float) -> None:
        if len(self._told) > 1000:  # memory stays flat: only floods of the last minutes are kept
            self._told = {k: at for k, at in self._told.items() if now - at <= TOLD_AGAIN_AFTER}
        self._told[key] = now


def _urgent(text: str) -> bool:
    return "🆘" in text or is_sos(text) or bool(find_danger(text))


def joined(items: Sequence[Incoming]) -> Incoming:
    """One turn for several texts: their words in the order they were sent, the first one's envelope.

    No message id: the merged text is not one message of the parent's, so a relay to the ticket's
    thread sends the kept text instead of copying the first message only."""
    if len(items) == 1:
        return items[0]
    # A blank line between them, as between separate messages of a description (dialogs/details.py).
    text = "\n\n".join(item.event.text for item in items)
    return replace(items[0], event=Event(kind=EventKind.TEXT, text=text), message_id=None)


async def first_time(uow: UnitOfWork, items: Sequence[Incoming]) -> list[Incoming]:
    """The updates not processed before, now recorded as processed (a merged flood: one statement)."""
    if len(items) == 1:
        one = items[0]
        fresh = one.update_id is None or await uow.updates.first_time(one.platform, one.update_id)
        return [one] if fresh else []
    ids = [i.update_id for i in items if i.update_id is not None]
    new = await uow.updates.first_times(items[0].platform, ids)
    return [i for i in items if i.update_id is None or i.update_id in new]
