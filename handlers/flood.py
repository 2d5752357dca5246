"""A person flooding the bot is slowed with one kind message; nothing they wrote is lost.

Each person's typed messages are counted by pyrate-limiter (the pacer's ``MemoryBudget``: a bucket
per person, idle ones swept). Every update of a person waits in the person's line (``enter``) for the
person's lock, in the order it came. Within the limit every message is its own turn. Past it, a text
that gets the lock takes the texts waiting right behind it into its turn (``take``): their words
joined in order, every update id recorded as processed in that turn's transaction, and the taken
ones answered with that turn's result without waiting for the lock themselves. So 500 messages sent
at once are a few turns, not 500 turns holding the others up, and the first of those turns tells the
person, once, that their messages were put together. Why merge rather than queue them one by one:
what a parent types in a hurry belongs together (one story, one relay to the coordinators), and the
others waiting behind 500 turns is exactly the harm to avoid; merged, every word is still kept.

Never merged: an emergency (``SOS``, 🆘, words of danger) goes on its own turn, behind at most the
turn in hand and the merged turns of the texts sent before it, so the numbers come at once. A button
or a command is its own turn too; no text sent after it is taken in front of it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from dialogs.danger import find_danger
from dialogs.i18n import N_
from dialogs.primitives import GLOBAL_STEP, Event, EventKind, Incoming, Payload
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
    batch: int = 100  # texts merged into one turn at most
    chars: int = 3000  # and characters (under the engine's one-message limit)


@dataclass(eq=False)
class Turn(Generic[R]):
    """One turn's texts (one, or several merged); the texts taken into it wait for its result."""

    items: list[Incoming]
    tell: bool = False  # the first merged turn of a flood: the kind message goes first
    result: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    async def run(self, work: Awaitable[R]) -> R:
        """The turn's work; its result is the taken texts' too (a failure leaves their updates in the
        inbox, like this one's)."""
        try:
            value = await work
        except BaseException as exc:
            self.fail(exc)
            raise
        self.finish(value)
        return value

    def finish(self, value: R) -> None:
        if not self.result.done():
            self.result.set_result(value)

    def fail(self, error: BaseException) -> None:
        if not self.result.done():
            self.result.set_exception(error)
            self.result.exception()  # retrieved: a turn nobody else waits for is no "never retrieved"


@dataclass(eq=False)
class Entry(Generic[R]):
    """One update in its person's line, from ``enter`` until its turn starts, it is taken into an
    earlier text's turn (``taken`` then holds that turn), or it leaves."""

    incoming: Incoming
    mergeable: bool  # a plain text, not urgent
    over: bool  # sent past the person's limit
    taken: asyncio.Future[Turn[R]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    done: bool = False


class FloodGate(Generic[R]):
    def __init__(
        self, settings: FloodSettings | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings or FloodSettings()
        self._budget = MemoryBudget()
        self._clock = clock
        self._lines: dict[str, deque[Entry[R]]] = {}  # each person's updates, in the order they came
        self._told: dict[str, float] = {}  # when a person was last told to slow down

    async def enter(self, key: str, incoming: Incoming) -> Entry[R]:
        """Into the person's line, before the update asks for the person's lock (nothing awaited in
        between, so the line's order is the lock's)."""
        event = incoming.event
        mergeable = event.kind is EventKind.TEXT and event.attachment is None and not urgent(event.text)
        over = mergeable and await self._budget.spend(key, self._settings.limit, self._clock()) > 0
        entry: Entry[R] = Entry(incoming, mergeable, over)
        self._lines.setdefault(key, deque()).append(entry)
        return entry

    def take(self, key: str, entry: Entry[R]) -> Turn[R] | None:
        """``entry`` holds the person's lock: its turn, with the texts waiting right behind it when
        the person is flooding. None: an earlier text's turn took it meanwhile."""
        if entry.taken.done():
            return None
        entry.done = True
        turn: Turn[R] = Turn([entry.incoming])
        line = self._lines.get(key)
        if entry.mergeable and line is not None:
            run = self._run_after(line, entry)
            if run and (entry.over or any(other.over for other in run)):
                turn.items += [other.incoming for other in run]
                turn.tell = self._tell(key)
                for other in run:
                    other.done = True
                    other.taken.set_result(turn)
        self.leave(key, entry)
        return turn

    def leave(self, key: str, entry: Entry[R]) -> None:
        entry.done = True
        line = self._lines.get(key)
        if line is None:
            return
        while line and line[0].done:
            line.popleft()
        if not line:
            del self._lines[key]

    def _run_after(self, line: deque[Entry[R]], entry: Entry[R]) -> list[Entry[R]]:
        """The texts waiting right behind ``entry``, up to the first that is not one (nothing sent
        after a button, a command or an SOS is taken in front of it) and within the bounds."""
        s = self._settings
        run: list[Entry[R]] = []
        chars, behind = len(entry.incoming.event.text), False
        for other in line:
            if other is entry:
                behind = True
                continue
            if not behind:
                continue
            chars += len(other.incoming.event.text)
            if other.done or not other.mergeable or len(run) + 1 >= s.batch or chars > s.chars:
                break
            run.append(other)
        return run

    def _tell(self, key: str) -> bool:
        now = self._clock()
        told = self._told.get(key)
        if told is not None and now - told <= TOLD_AGAIN_AFTER:
            return False
        if len(self._told) > 1000:  # memory stays flat: only floods of the last minutes are kept
            self._told = {k: at for k, at in self._told.items() if now - at <= TOLD_AGAIN_AFTER}
        self._told[key] = now
        return True


async def own_or_taken(entry: Entry[R], own: Coroutine[object, object, R]) -> R:
    """The result of the entry's own turn (``own`` waits for the person's lock first), or of the
    earlier text's turn that took it while it waited.

    Every turn asks for the lock from a task of its own, started as the update enters the line, so
    the lock's queue keeps the line's order (a button asking in place would pass a text before it)."""
    task = asyncio.ensure_future(own)
    if not entry.mergeable:
        return await task  # a cancel of this one cancels the task too
    try:
        either: set[asyncio.Future[Any]] = {task, entry.taken}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.done():
        return task.result()
    task.cancel()  # it leaves the lock's queue: nothing of this update is left to do but wait
    return await asyncio.shield(entry.taken.result().result)


def urgent(text: str) -> bool:
    """An emergency: never merged, never held back behind a flood."""
    return "🆘" in text or is_sos(text) or bool(find_danger(text))


def sos_pressed(payload: Payload | None) -> bool:
    """The 🆘 button every screen has (its payload is a schema: dialogs/flow.py): never held back."""
    return payload is not None and payload.step == GLOBAL_STEP and payload.value == "sos"


def urgent_input(text: object, payload: Payload | None) -> bool:
    """What a person sent, as a transport reads it before it is an event: an SOS or words of danger
    typed, or the 🆘 pressed. Each platform's update is read for these two (bot/*/: never held back
    behind a flood); ``emergency`` asks the same of a handled event."""
    return (isinstance(text, str) and bool(text) and urgent(text)) or sos_pressed(payload)


def emergency(incoming: Incoming) -> bool:
    """An SOS or words of danger typed (a caption too), or the 🆘 pressed: answered before anything."""
    event = incoming.event
    if event.kind is EventKind.BUTTON:
        return sos_pressed(event.payload)
    return urgent_input(event.text, None)


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
