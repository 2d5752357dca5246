"""Walks and look-ups several end-to-end test modules share: a family agreeing and reaching the
description step, a coordinator taking a request and writing in its thread, the stored tickets."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from storage.models import Person, Ticket, utcnow
from storage.vocabulary import Category
from tests.e2e import GROUP, Parent, cards, finished, introduce, press, settled

ANSWERS: dict[Category, list[str]] = {
    Category.PSYCHOLOGICAL: ["child", "chat"],
    Category.LEGAL: ["benefits"],
    Category.HUMANITARIAN: ["medicine", "hygiene", "done", "today"],
    Category.HOUSING: ["shelter", "no"],
    Category.OTHER: [],
}


WORDS = {
    "ru": ("Чем мы можем помочь", "Ваша заявка", "Проверьте"),
    "en": ("How can we help", "Your request", "Please check your request"),
}


async def tickets(app: Application) -> list[Ticket]:
    assert app.db is not None
    async with app.db.uow() as uow:
        return list((await uow.session.scalars(select(Ticket).order_by(Ticket.id))).all())


async def person(app: Application, key: str) -> Person | None:
    assert app.db is not None
    async with app.db.uow() as uow:
        return await uow.people.get(key)


async def agree(parent: Parent) -> None:
    await parent.say("/start")
    await parent.tap_value("yes")


async def state_of(app: Application, key: str) -> str | None:
    assert app.db is not None
    async with app.db.uow() as uow:
        stored = await uow.dialogs.load(key)
    return None if stored is None else stored[0]


async def reaches(app: Application, key: str, state: str, timeout: float = 10.0) -> None:
    """Wait until ``key``'s dialog is at ``state``: for an update handled during the app's start,
    before a ``HandledUpdates`` could be put around its handler."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (now := await state_of(app, key)) != state:
        assert loop.time() < deadline, f"{key} is at {now}, not {state}"
        await asyncio.sleep(0.05)


async def to_description(parent: Parent) -> None:
    await agree(parent)
    await parent.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")


async def finish(parent: Parent) -> None:
    """From the description step: done, contact in this chat, send."""
    await parent.walk("done", "chat", "send")


ASSIGNEE, OTHER = 101, 102


async def ticket(app: Application) -> Ticket:
    assert app.db is not None
    async with app.db.uow() as uow:
        return (await uow.session.scalars(select(Ticket).order_by(Ticket.id.desc()))).first()  # type: ignore[return-value]


async def claimed(family: Parent, emulator: TelegramEmulator, app: Application) -> SentMessage:
    """The family sends a request; coordinator ASSIGNEE takes it. Returns the card."""
    introduce(emulator, ASSIGNEE, "Анна")
    introduce(emulator, OTHER, "Борис")
    await to_description(family)
    await family.say("Нужна помощь юриста")
    await finish(family)
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(app)
    [card] = cards(emulator)
    answer = await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    assert "ваша" in answer["text"]
    await emulator.wait_for(
        lambda: any("Координатор взял" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    return card


def copies_to(emulator: TelegramEmulator, chat_id: int) -> list[SentMessage]:
    return [m for m in emulator.messages.get(chat_id, []) if m.method.lower() == "copymessage"]


async def group_says(
    emulator: TelegramEmulator,
    app: Application,
    user_id: int,
    text: str | None,
    reply_to: int,
    *,
    document: bool = False,
) -> None:
    """A coordinator writes in the group, as a reply; waits until the bot has handled it all (what it
    relays to the family or says in the group is sent by then: what it did not send, it will not)."""
    updates = finished(app)
    update_id = emulator.message(
        user_id, text, chat_id=GROUP, chat_type="supergroup", reply_to_message_id=reply_to, document=document
    )
    await updates.wait(emulator, update_id)


async def offer_declined(family: Parent, emulator: TelegramEmulator, app: Application) -> None:
    """Closed as helped, the family is asked at once whether we may check in later (a follow-up due
    now). The app's own follow-up tick would ask at a moment of its own choosing, in the middle of
    the test's next steps: it is asked here (quiet hours off), and declined, so the family is back
    at the menu."""
    assert app.followups is not None
    await app.followups.run_once(utcnow())  # or the app's own tick, if it came first
    await emulator.wait_for(
        lambda: any("Можно мы напишем" in (m.text or "") for m in emulator.sent_to(family.chat_id)),
        timeout=10,
    )
    assert "не будем писать" in family.texts(await family.tap_value("no"))
