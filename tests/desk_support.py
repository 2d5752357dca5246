"""Helpers for the coordinators' own tools (blocking, the inbox, away) through the emulators."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from storage.models import AuditEntry, Person, Ticket
from tests.e2e import GROUP, Parent


async def request(parent: Parent, category: str = "legal", story: str = "Муж не платит алименты") -> str:
    """A whole request from the menu (legal or other); returns the text of what the bot answered to "send"."""
    await parent.walk("new", "no", category)
    if category == "legal":
        await parent.tap_value("alimony")
    await parent.walk("1", "9", "r.spb")
    await parent.say(story)
    replies = await parent.walk("done", "chat", "send")
    return parent.texts(replies)


async def group_says(
    emulator: TelegramEmulator, user_id: int, text: str, *, name: str = "Ольга", chat_id: int = GROUP
) -> list[SentMessage]:
    """A coordinator writes in the group; returns what the bot answers there (at least one message)."""
    before = len(bot_messages(emulator, chat_id))
    emulator.message(user_id, text, chat_id=chat_id, chat_type="supergroup", first_name=name)
    await emulator.wait_for(lambda: len(bot_messages(emulator, chat_id)) > before)
    return bot_messages(emulator, chat_id)[before:]


def bot_messages(emulator: TelegramEmulator, chat_id: int = GROUP) -> list[SentMessage]:
    return [m for m in emulator.sent_to(chat_id) if m.from_bot]


async def person_of(app: Application, key: str) -> Person:
    assert app.db is not None
    async with app.db.uow() as uow:
        person = await uow.people.get(key)
    assert person is not None
    return person


async def tickets_of(app: Application, key: str) -> Sequence[Ticket]:
    person = await person_of(app, key)
    assert app.db is not None
    async with app.db.uow() as uow:
        return (await uow.session.scalars(select(Ticket).where(Ticket.person_id == person.id))).all()


async def actions(app: Application) -> list[str]:
    assert app.db is not None
    async with app.db.uow() as uow:
        return [
            e.action for e in (await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        ]


async def blocked_by(app: Application, key: str) -> str | None:
    """Who blocked this person (None: not blocked)."""
    person = await person_of(app, key)
    assert app.db is not None
    async with app.db.uow() as uow:
        row = await uow.moderation.blocked(person.id)
    return None if row is None else row.blocked_by
