"""A flood from one person: slowed with one kind message, nothing lost, SOS answered, the others served."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Incoming
from handlers.conversation import ConversationService
from storage.models import ChatMessage
from storage.uow import Database
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, Family, conversation
from tests.flood_support import (
    NOTICE,
    assert_in_order,
    assert_slowed_and_sos_answered,
    numbered,
    thread_texts,
)

FLOODER, OTHERS = 777, range(5000, 5100)


def text_update(user: int, n: int, text: str, kind: EventKind = EventKind.TEXT) -> Incoming:
    command = text[1:] if kind is EventKind.COMMAND else ""
    event = Event(kind=kind, text=text if kind is EventKind.TEXT else "", command=command)
    return Incoming(Platform.TELEGRAM, user, user, event, update_id=user * 10_000 + n, message_id=n)


async def with_open_request(
    db: Database, translators: Translators, directory: Directory
) -> tuple[ConversationService, FakeMessenger]:
    """The flooder, with an open request: what they write goes to its thread."""
    messenger = FakeMessenger()
    service = conversation(db, messenger, translators, directory)
    flooder = Family(service, user_id=FLOODER)
    await flooder.to_summary()
    await flooder.press("t_summary", "send")
    messenger.sent.clear()
    return service, messenger


async def test_a_flood_is_merged_in_order_told_once_and_others_and_sos_are_served(
    db: Database, translators: Translators, directory: Directory
) -> None:
    service, messenger = await with_open_request(db, translators, directory)

    # 500 messages at once, an SOS in the middle of them, while 100 others press /start.
    texts = [f"сообщение {n}" for n in range(500)]
    updates = [text_update(FLOODER, 100 + n, text) for n, text in enumerate(texts)]
    updates.insert(250, text_update(FLOODER, 99, "SOS"))
    others = [text_update(user, 1, "/start", EventKind.COMMAND) for user in OTHERS]
    mixed = [u for pair in zip(updates[:100], others, strict=True) for u in pair] + updates[100:]
    await asyncio.gather(*(service.handle(u) for u in mixed))
    await service.sent_log.flush()

    to_flooder = [screen.text for chat, screen in messenger.sent if chat == FLOODER]
    sos_at = assert_slowed_and_sos_answered(to_flooder, sent=500)
    for user in OTHERS:
        assert any(chat == user for chat, _ in messenger.sent), f"{user} was not answered"

    async with db.uow() as uow:
        kept = await uow.session.scalars(
            select(ChatMessage.message_id).where(
                ChatMessage.chat == f"tg:{FLOODER}", ChatMessage.from_bot.is_(False)
            )
        )
        own_ids = set(kept.all())
    assert assert_in_order(await thread_texts(db), 500) < 100, "merged: a few entries, not 500"
    assert {100 + n for n in range(500)} <= own_ids, "each message id kept for the quick exit"
    # The SOS was not queued behind the flood: the texts sent after it were answered after it, and
    # the 250 sent before it were a few merged turns, not one turn each (nor 20 of them).
    assert sos_at <= 10, f"the SOS waited for {sos_at} answers"


async def test_texts_after_an_sos_are_not_merged_in_front_of_it(
    db: Database, translators: Translators, directory: Directory
) -> None:
    """Merging never reorders: texts sent after a message that is not merged (here an SOS) are not
    pulled in front of it."""
    service, messenger = await with_open_request(db, translators, directory)
    before = [text_update(FLOODER, 100 + n, f"сообщение {n}") for n in range(30)]
    sos = text_update(FLOODER, 200, "срочно")
    after = [text_update(FLOODER, 300 + n, f"сообщение {30 + n}") for n in range(30)]
    await asyncio.gather(*(service.handle(u) for u in [*before, sos, *after]))
    assert_in_order(await thread_texts(db), 60, split_at=30)
    to_flooder = [screen.text for chat, screen in messenger.sent if chat == FLOODER]
    sos_at = next(i for i, text in enumerate(to_flooder) if "112" in text)
    assert sos_at < len(to_flooder) - 1, "the texts after the SOS were handled after it"


async def test_a_story_sent_in_a_dozen_parts_at_once_is_not_a_flood(
    db: Database, translators: Translators, directory: Directory
) -> None:
    """Within the limit every message is its own turn, even when they all wait for the first one."""
    service, messenger = await with_open_request(db, translators, directory)
    parts = [text_update(FLOODER, 100 + n, f"сообщение {n}") for n in range(12)]
    await asyncio.gather(*(service.handle(u) for u in parts))
    relayed = [numbered(text) for text in await thread_texts(db)]
    assert [r for r in relayed if r] == [[n] for n in range(12)], "one entry a message, in order"
    assert not any(NOTICE in screen.text for _chat, screen in messenger.sent), "not told to slow down"


async def test_an_sos_right_after_a_text_is_answered_after_it(
    db: Database, translators: Translators, directory: Directory
) -> None:
    """Per-person order: whatever the gate does with texts, the one after is not handled first."""
    service, messenger = await with_open_request(db, translators, directory)
    await asyncio.gather(
        service.handle(text_update(FLOODER, 100, "сообщение 0")),
        service.handle(text_update(FLOODER, 101, "SOS")),
    )
    to_parent = [screen.text for chat, screen in messenger.sent if chat == FLOODER]
    assert to_parent and "112" not in to_parent[0], to_parent
    assert any("112" in text for text in to_parent[1:]), to_parent
