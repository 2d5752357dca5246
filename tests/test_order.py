"""One person's updates keep their order across replicas: the lock excludes, the inbox orders.

Two conversation services stand for two replicas on one database with one shared lock. The second of
a person's two quick updates reaches replica B, which wins the lock first; it must wait for the first
one, kept by replica A, to be handled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Incoming, Payload
from handlers.conversation import ConversationService
from handlers.inbox import KEPT, Inbox
from handlers.locks import KeyedLocks, SharedLocks, in_order
from storage.uow import Database
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, FakeTime, conversation

PERSON = 42


class Log(FakeMessenger):
    """Remembers which replica answered, in the order answers went out."""

    def __init__(self, name: str, answers: list[str]) -> None:
        super().__init__()
        self.name, self.answers = name, answers

    async def send(self, chat_id: int, screen: Any, **kwargs: Any) -> list[int]:
        self.answers.append(self.name)
        return await super().send(chat_id, screen, **kwargs)


def replica(
    db: Database,
    messenger: FakeMessenger,
    translators: Translators,
    directory: Directory,
    *,
    shared: KeyedLocks,
    ordered: bool,
) -> ConversationService:
    # The replicas' one lock (Redis in production).
    return conversation(
        db, messenger, translators, directory, locks=SharedLocks(shared.hold), ordered=ordered
    )


def update(update_id: int, event: Event) -> Incoming:
    return Incoming(
        platform=Platform.TELEGRAM,
        user_id=PERSON,
        chat_id=PERSON,
        event=event,
        update_id=update_id,
        message_id=update_id,
        language_code="ru",
    )


async def handle(service: ConversationService, incoming: Incoming) -> None:
    """As a transport's feed does: the inbox key of the update is known to its task."""
    assert incoming.update_id is not None
    KEPT.set(incoming.update_id)
    await service.handle(incoming)


async def race(db: Database, translators: Translators, directory: Directory, *, ordered: bool) -> list[str]:
    answers: list[str] = []
    shared = KeyedLocks()
    a = replica(db, Log("A", answers), translators, directory, shared=shared, ordered=ordered)
    b = replica(db, Log("B", answers), translators, directory, shared=shared, ordered=ordered)
    inbox = Inbox(db)
    inbox.order_by(Platform.TELEGRAM, lambda uid, raw: (f"tg:{raw['from']}", uid))
    first = update(101, Event(kind=EventKind.COMMAND, command="start"))
    second = update(102, Event(kind=EventKind.BUTTON, payload=Payload(step="consent", value="yes")))
    await inbox.accept(Platform.TELEGRAM, [(101, {"from": PERSON})])  # replica A keeps the first
    await inbox.accept(Platform.TELEGRAM, [(102, {"from": PERSON})])  # replica B keeps the second
    # B's handler runs first (A's was slower to start): without order, B answers first.
    late = asyncio.create_task(asyncio.sleep(0.05))
    b_task = asyncio.create_task(handle(b, second))
    await late
    await handle(a, first)
    await b_task
    return answers


async def test_a_later_update_at_another_replica_waits_for_the_earlier_one(
    db: Database, translators: Translators, directory: Directory
) -> None:
    answers = await race(db, translators, directory, ordered=True)
    assert answers and answers[0] == "A", f"the first update was answered first: {answers}"
    assert "B" in answers, "the second one was answered too"
    async with db.uow() as uow:
        stored = await uow.dialogs.load(f"tg:{PERSON}")
    assert stored is not None and stored[0] != "consent", "the consent press counted, after /start"


async def test_without_order_the_race_is_lost(
    db: Database, translators: Translators, directory: Directory
) -> None:
    """The same race on the lock alone: proof that the test above could fail."""
    answers = await race(db, translators, directory, ordered=False)
    assert answers[0] == "B", f"the lock alone let the second update go first: {answers}"


async def test_an_earlier_update_nobody_handles_is_waited_for_only_so_long() -> None:
    """A replica that died holding the earlier update: the later one goes after ``wait``."""
    time = FakeTime(auto=True)
    checks: list[float] = []

    async def earlier() -> bool:
        checks.append(time.now)
        return True  # never handled

    async with in_order(KeyedLocks(), "tg:1", earlier, wait=5.0, clock=time.clock, sleep=time.sleep):
        went_at = time.now
    assert len(checks) > 3, "it looked again and again"
    assert 5.0 <= went_at - checks[0] < 6.0, "then it went, after the wait"
