"""Long polling of our own: every batch is in the inbox before Telegram is told we have it.

aiogram's own polling confirms updates (the next ``getUpdates`` offset) before they are handled, so a
crash in between lost what a family had just sent. Here a batch is committed to the inbox first;
the offset moves only after that, and each update is then handled. A restart handles what the
inbox still holds before it asks Telegram for more.

Updates are kept and wait in their senders' lanes as the plain data Telegram sent (as VK's and
MAX's do); each is read only when it is handled: a family's plain private text straight from that
data (``inbound.plain_text``), anything else as aiogram's ``Update``, fed to the Dispatcher. A
flood's 500 updates are then not turned into models and back into data before the others' updates
behind them are even fetched (issue 13), and one update aiogram cannot read no longer fails its
whole batch, again and again, for everyone: what can be read of a family's private message is
answered (``inbound.unreadable``), anything else is dropped with an error in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from pydantic import ValidationError

from bot.telegram.callbacks import DialogCallback
from bot.telegram.inbound import plain_text, unreadable
from handlers.flood import urgent_input
from handlers.inbox import KEPT, Inbox
from handlers.inflight import MAX_IN_FLIGHT
from handlers.lane_queue import LaneQueue
from handlers.router import Inbound
from storage.vocabulary import Platform, person_key

log = logging.getLogger(__name__)

FULL = 100  # updates a getUpdates gives at most (its default limit)
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=60.0, factor=1.5, jitter=0.1)
Raw = dict[str, Any]  # an update as Telegram sent it


class GetRawUpdates(GetUpdates):
    """getUpdates, its answer read as plain data (the request is aiogram's own)."""

    __returning__ = list[Raw]


class InboxPolling:
    retry_delay = 1.0  # seconds between tries to keep a batch while the database is unreachable
    # People whose updates are being handled at most (plus one batch): a burst waits at Telegram
    # instead of becoming thousands of tasks, parsed updates and sessions at once (issue 13: memory
    # flat in a burst). A person takes one slot however many of theirs are held (handlers/lanes.py);
    # what a lane lets in goes through the same bounded queue as VK's and MAX's (handlers/inflight.py).
    max_in_flight = MAX_IN_FLIGHT
    # Updates held at most, whoever sent them: the memory bound a flood cannot pass.
    max_held = 2000

    def __init__(self, bot: Bot, dispatcher: Dispatcher, inbox: Inbox, *, timeout: int) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._inbox = inbox
        inbox.order_by(Platform.TELEGRAM, _place)
        self._timeout = timeout
        self._intake: LaneQueue[Raw] = LaneQueue(
            "telegram-update",
            key=lambda raw: raw["update_id"],
            run=self._handle,
            urgent=_urgent,
            limit=self.max_in_flight,
            max_held=self.max_held,
        )

    def feed_raw(self, update_id: int, raw: Raw) -> None:
        """A kept update (a restart's, or an orphan's): into its sender's lane like any other."""
        self._feed({**raw, "update_id": update_id})

    async def replay(self) -> None:
        """What was kept before the last stop and not finished goes first (through the same bound)."""
        self._inbox.register(Platform.TELEGRAM, self.feed_raw)
        for update_id, raw in await self._inbox.pending(Platform.TELEGRAM):
            self.feed_raw(update_id, raw)

    async def receive(self, raw: dict[str, Any]) -> None:
        """A webhook's update: kept before the HTTP 200 (a failure here makes Telegram send it again).
        While as many updates as allowed are being handled, the 200 waits: Telegram holds the rest."""
        await self._intake.room()
        # Read when handled, as a polled one: one aiogram cannot read is answered or dropped then
        # (a 400 would only make Telegram send it again and again).
        await self._inbox.accept(Platform.TELEGRAM, [(raw["update_id"], raw)])
        self._feed(raw)

    async def run(self) -> None:
        """Until cancelled. A cancel while asking or saving loses nothing: unsaved updates are not
        confirmed, so Telegram gives them again."""
        await self.replay()
        request = GetRawUpdates(
            timeout=self._timeout, allowed_updates=self._dispatcher.resolve_used_update_types()
        )
        extra = (
            {"request_timeout": int(self._bot.session.timeout + self._timeout)}
            if self._bot.session.timeout
            else {}
        )
        backoff = Backoff(config=BACKOFF)
        while True:
            await self._intake.room()
            try:
                answer = cast(list[object], await self._bot(request, **extra))
            except TelegramUnauthorizedError:
                raise  # a revoked token will not come back by itself: the application stops loudly
            except Exception as exc:
                log.warning(
                    "could not fetch Telegram updates (%s); retrying in %.0fs",
                    type(exc).__name__,
                    backoff.next_delay,
                )
                await backoff.asleep()
                continue
            backoff.reset()
            updates: list[Raw] = [
                u for u in answer if isinstance(u, dict) and isinstance(u.get("update_id"), int)
            ]
            if not updates:
                if answer:  # not one update in it: asked again at once, it would come back at once
                    log.warning("Telegram answered getUpdates with no update in it; retrying")
                    await backoff.asleep()
                self._intake.caught_up(True)
                continue
            await self._keep(updates)
            request.offset = updates[-1]["update_id"] + 1  # confirmed with the next call, after the commit
            # A full batch: more may wait at Telegram, the others' among them (handlers/lanes.py).
            self._intake.caught_up(len(answer) < FULL)
            for update in updates:
                self._feed(update)

    async def _keep(self, updates: Sequence[Raw]) -> None:
        batch = [(raw["update_id"], raw) for raw in updates]
        while True:
            try:
                await self._inbox.accept(Platform.TELEGRAM, batch)
                return
            except Exception:
                log.exception("could not keep Telegram updates in the inbox; retrying")
                await asyncio.sleep(self.retry_delay)

    def _feed(self, raw: Raw) -> None:
        self._intake.add(_place(raw["update_id"], raw)[0], raw)

    async def _handle(self, raw: Raw) -> None:
        """A family's plain private text is read straight from Telegram's data, as aiogram's reading
        would (tested: ``inbound.plain_text``), and goes to the router without aiogram's models and
        dispatch: most of what families send, and in a burst of /start aiogram's reading was a tenth
        of the bot's CPU (issue 13; a flood's texts, merged into a few turns anyway, had each cost
        ~0.2 ms while the others' updates waited behind them). Anything else goes through aiogram."""
        inbound = plain_text(raw)
        if inbound is not None:
            await self._finish(raw, self._dispatcher["router"].route(inbound))
            return
        try:
            update = Update.model_validate(raw, context={"bot": self._bot})
        except ValidationError as exc:
            fallback = _unreadable(raw, exc)
            work = None if fallback is None else self._dispatcher["router"].route(fallback)
        else:
            work = self._dispatcher.feed_update(self._bot, update)
        await self._finish(raw, work)

    async def _finish(self, raw: Raw, work: Awaitable[object] | None) -> None:
        KEPT.set(raw["update_id"])  # the inbox row it came in (handlers/conversation.py)
        if work is not None:
            try:
                await work
            except Exception:
                # Left in the inbox: the next start tries it again (a turn already committed is not
                # repeated).
                log.exception("a Telegram update could not be handled")
                return
        self._inbox.handled(Platform.TELEGRAM, raw["update_id"])

    async def finish(self) -> None:
        """After polling stopped: wait for the updates being handled (those still waiting, in a lane
        or for a slot, stay in the inbox for the next start)."""
        await self._intake.finish()


def _unreadable(raw: Raw, exc: ValidationError) -> Inbound | None:
    """An update aiogram cannot read (a field of a kind it does not expect) can never be handled as it
    is: what can be read of a family's message goes to the router, anything else is dropped (kept, it
    would hold its sender's later updates behind it). The log says where it failed, never what it said."""
    fallback = unreadable(raw)
    where = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
    log.log(
        logging.CRITICAL if _urgent(raw) else logging.ERROR,
        "Telegram update %s could not be read (%s); %s",
        raw["update_id"],
        where,
        "what could be read of it is answered" if fallback is not None else "it is dropped",
    )
    return fallback


def _urgent(raw: Raw) -> bool:
    """An SOS or words of danger typed, or the 🆘 pressed: never held back behind a flood (as on VK and MAX)."""
    query = raw.get("callback_query")
    if isinstance(query, dict):
        data = query.get("data")
        try:
            pressed = DialogCallback.unpack(data if isinstance(data, str) else "").neutral()
        except (TypeError, ValueError):  # not our button's data: a forged or stale one
            return False
        return urgent_input(None, pressed)
    message = raw.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    return urgent_input(text if isinstance(text, str) else None, None)


def _place(update_id: int, raw: Raw) -> tuple[str | None, int | None]:
    """Whose update it is (a message, a button press, a block...: their updates share one slot and
    one lane; None: one of its own), and its place: Telegram numbers a bot's updates in order."""
    for body in raw.values():
        sender = body.get("from") if isinstance(body, dict) else None
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return person_key(Platform.TELEGRAM, sender["id"]), update_id
    return None, update_id
