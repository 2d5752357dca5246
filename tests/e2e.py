"""End-to-end harness: the real Application (aiogram Bot + Dispatcher, long polling) against the emulator."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select

from bot.app import Application
from bot.config import Settings
from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from dialogs.primitives import Incoming
from handlers.conversation import Reply
from storage.models import Broadcast, utcnow
from storage.vocabulary import BroadcastStatus, OutboxKind, Platform

TOKEN = "123456:TEST-token_for_the_emulator"


class HandledUpdates:
    """Wraps the conversation service so a test can wait until one update (or a number of them) is
    completely handled. ``by_person``: each person's turns in the order they finished; the person's
    lock is let go only as the turn returns, so this is the order they were handled in."""

    def __init__(self, app: Application) -> None:
        service = app.conversation
        assert service is not None
        self.done: Counter[int] = Counter()
        self.by_person: dict[int, list[int]] = defaultdict(list)
        self.total = 0
        self._changed = asyncio.Condition()
        original = service.handle

        async def handle(incoming: Incoming) -> Reply:
            try:
                return await original(incoming)
            finally:
                if incoming.update_id is not None:  # recorded before anything is awaited
                    self.done[incoming.update_id] += 1
                    self.by_person[incoming.user_id].append(incoming.update_id)
                    self.total += 1
                async with self._changed:
                    self._changed.notify_all()

        service.handle = handle  # type: ignore[method-assign]

    async def wait(self, update_id: int, times: int = 1, timeout: float = 10.0) -> None:
        await self._until(lambda: self.done[update_id] >= times, timeout)

    async def until(self, total: int, timeout: float = 180.0) -> None:
        """Until ``total`` updates are handled in all."""
        await self._until(lambda: self.total >= total, timeout)

    async def _until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(reached(), timeout)


class FinishedUpdates:
    """Every update a transport has finished, as it tells the app's inbox: after the whole handling
    (the turn committed, what it sends sent). For updates the conversation service does not see,
    such as a coordinator's message in a group; one per app, put in place by ``finished``."""

    def __init__(self, app: Application) -> None:
        inbox = app.inbox
        assert inbox is not None
        self.done: set[tuple[Platform, int]] = set()
        original = inbox.handled

        def handled(platform: Platform, update_id: int) -> None:
            original(platform, update_id)
            self.done.add((platform, update_id))

        inbox.handled = handled  # type: ignore[method-assign]

    async def wait(self, emulator: TelegramEmulator, update_id: int, timeout: float = 10.0) -> None:
        await emulator.wait_for(lambda: (Platform.TELEGRAM, update_id) in self.done, timeout=timeout)


_FINISHED: WeakKeyDictionary[Application, FinishedUpdates] = WeakKeyDictionary()


def finished(app: Application) -> FinishedUpdates:
    """The app's ``FinishedUpdates``, put in place at the first call: before the update to wait for
    is written, or it may be finished before anyone counts."""
    if app not in _FINISHED:
        _FINISHED[app] = FinishedUpdates(app)
    return _FINISHED[app]


# Tests pace and retry fast; the defaults (3 s a message per chat) are for real Telegram.
FAST_DELIVERY = {"per_chat_interval": 0.05, "retry_base": 0.1, "poll_interval": 0.2}


async def start_app(emulator: TelegramEmulator, database_url: str, **overrides: Any) -> Application:
    settings = Settings(
        bot_token=TOKEN,
        telegram_api_url=emulator.base_url,
        database_url=database_url,
        consent_version="test-1",
        # Journeys read the same at any hour of the day; the hours have their own tests.
        **{"web_port": 0, "working_hours": "off", **overrides},
    )
    app = Application(settings, polling_timeout=1, delivery=FAST_DELIVERY)
    await app.start()
    return app


@dataclass
class Parent:
    """A parent in a private chat, acting through the emulator and waiting for the bot each time."""

    emulator: TelegramEmulator
    handled: HandledUpdates
    user_id: int
    language_code: str = "ru"
    seen: int = field(default=0)

    @property
    def chat_id(self) -> int:
        return self.user_id

    async def _after(self, update_id: int) -> list[SentMessage]:
        await self.handled.wait(update_id)
        # The reply is sent after the commit, inside handle(); answers to callbacks right after.
        await asyncio.sleep(0)
        messages = self.emulator.sent_to(self.chat_id)
        new = [m for m in messages if m.message_id > self.seen]
        if messages:
            self.seen = max(self.seen, *(m.message_id for m in messages))
        return new

    async def say(self, text: str) -> list[SentMessage]:
        update_id = self.emulator.message(self.user_id, text, language_code=self.language_code)
        return await self._after(update_id)

    async def send(self, **kwargs: Any) -> list[SentMessage]:
        update_id = self.emulator.message(self.user_id, language_code=self.language_code, **kwargs)
        return await self._after(update_id)

    def last_with_buttons(self) -> SentMessage:
        for message in reversed(self.emulator.sent_to(self.chat_id)):
            if self.emulator.buttons(message):
                return message
        raise AssertionError("no message with buttons:\n" + self.emulator.dump())

    async def tap(self, label: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Tap the button whose label contains ``label`` on the latest message with buttons."""
        target = message or self.last_with_buttons()
        data = self.emulator.button_data(target, label)
        return await self.press(target.message_id, data)

    async def tap_value(self, value: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Tap the button carrying ``value`` (payload values are a schema; labels are translated).

        A journey that goes on past the announcements question (its own step after consent) without
        answering it answers "no, thanks" first, as a family would, then taps ``value``."""
        target = message or self.last_with_buttons()
        data = self._data(target, value)
        skip = self._data(target, "ann_no") if data is None and message is None else None
        if skip is not None:
            await self.press(target.message_id, skip)
            target = self.last_with_buttons()
            data = self._data(target, value)
        if data is not None:
            return await self.press(target.message_id, data)
        raise AssertionError(f"no button {value!r} on {target.text!r}: {self.emulator.buttons(target)}")

    def _data(self, message: SentMessage, value: str) -> str | None:
        return next((d for _t, d in self.emulator.buttons(message) if d.endswith(f":{value}")), None)

    async def walk(self, *values: str) -> list[SentMessage]:
        """Tap buttons one after another by payload value; returns what the last tap brought."""
        replies: list[SentMessage] = []
        for value in values:
            replies = await self.tap_value(value)
        return replies

    async def press(self, message_id: int, data: str) -> list[SentMessage]:
        answers = len(self.emulator.callback_answers)
        update_id = self.emulator.callback(self.user_id, message_id, data)
        new = await self._after(update_id)
        await self.emulator.wait_for(lambda: len(self.emulator.callback_answers) > answers)
        return new

    def texts(self, messages: list[SentMessage]) -> str:
        return "\n".join(m.text or "" for m in messages)


def find(messages: list[SentMessage], predicate: Callable[[SentMessage], bool]) -> SentMessage:
    for message in messages:
        if predicate(message):
            return message
    raise AssertionError(f"no such message among {[m.text for m in messages]}")


# ---- the coordinators' side ----

GROUP = -1001000000001
OTHER_GROUP = -1001000000002


async def make_tickets(
    app: Application,
    count: int,
    *,
    urgent_every: int = 0,
    category: str = "humanitarian",
    region_code: str | None = None,
) -> list[int]:
    """Tickets written the way the conversation writes them: with their outbox row, in one transaction."""
    assert app.db is not None
    ids = []
    async with app.db.uow() as uow:
        for i in range(count):
            person, _ = await uow.people.get_or_create(f"tg:{70000 + i}", Platform.TELEGRAM, "ru")
            urgent = bool(urgent_every) and i % urgent_every == 0
            ticket = await uow.tickets.create(
                person_id=person.id,
                category=category,
                region_code=region_code,
                description=f"семья {i}",
                contact_method="chat",
                locale="ru",
                urgent=urgent,
                created_at=utcnow() + timedelta(milliseconds=i),
            )
            await uow.outbox.add(OutboxKind.TICKET_CREATED, ticket.id, urgent=urgent, payload={})
            ids.append(ticket.id)
    assert app.delivery is not None
    app.delivery.wake()
    return ids


async def settled(app: Application, timeout: float = 10.0) -> None:
    """Wait until every outbox row is delivered (the card is seen a moment before the commit)."""
    assert app.db is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with app.db.uow() as uow:
            if not await uow.outbox.pending():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")


async def broadcasts_done(app: Application, timeout: float = 30.0) -> None:
    """Wait until every broadcast is done. A test's own rounds stop when they find nothing left to
    claim, while the app's own ticks (every 5 s) may still be preparing the file or sending the rows
    they claimed: what they send is only certain once the broadcast is done."""
    assert app.db is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with app.db.uow() as uow:
            statuses = set((await uow.session.scalars(select(Broadcast.status))).all())
        if statuses <= {BroadcastStatus.DONE.value}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the broadcasts did not finish: {statuses}")


def cards(emulator: TelegramEmulator) -> list[SentMessage]:
    return [m for m in emulator.sent_to(GROUP) if any("claim" in d for _t, d in emulator.buttons(m))]


async def press(
    emulator: TelegramEmulator, user_id: int, message: SentMessage, data: str, chat_id: int = GROUP
) -> dict[str, Any]:
    answers = len(emulator.callback_answers)
    emulator.callback(user_id, message.message_id, data, chat_id=chat_id)
    await emulator.wait_for(lambda: len(emulator.callback_answers) > answers)
    return list(emulator.callback_answers.values())[-1]


async def race(emulator: TelegramEmulator, card: SentMessage, data: str) -> None:
    """Two coordinators press "take it" on the same card at the same moment."""
    expected = len(emulator.callback_answers) + 2
    emulator.callback(101, card.message_id, data, chat_id=GROUP)
    emulator.callback(102, card.message_id, data, chat_id=GROUP)
    await emulator.wait_for(lambda: len(emulator.callback_answers) >= expected)


def introduce(emulator: TelegramEmulator, user_id: int, name: str) -> None:
    """A coordinator says something in the group, so the emulator knows their name."""
    emulator.message(user_id, "привет", chat_id=GROUP, chat_type="supergroup", first_name=name)
