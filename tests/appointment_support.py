"""One appointment journey, end to end, for a family on any messenger and coordinators in the
Telegram group: offer, confirm, both reminders, cancellation, can't come, another time; the thread
is told each time. The family is a Telegram ``Parent`` or a ``VkParent`` (same ``say``/``tap_value``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.app import Application
from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from storage.models import utcnow
from tests.e2e import GROUP, cards, introduce, press, settled

VERA = 201
MOSCOW = ZoneInfo("Europe/Moscow")


class AnyFamily(Protocol):
    async def say(self, text: str) -> Any: ...

    async def tap_value(self, value: str) -> Any: ...


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"waited in vain for {what}")
        await asyncio.sleep(0.05)


class Journey:
    def __init__(
        self, app: Application, emulator: TelegramEmulator, family: AnyFamily, texts: Callable[[], list[str]]
    ) -> None:
        self.app, self.emulator, self.family, self.texts = app, emulator, family, texts
        self.card: SentMessage | None = None

    async def taken(self) -> None:
        """The family's request (already sent) reaches the group; Vera takes it."""
        await self.emulator.wait_for(lambda: bool(cards(self.emulator)))
        await settled(self.app)
        [self.card] = cards(self.emulator)
        await press(self.emulator, VERA, self.card, self.emulator.button_data(self.card, "Беру"))

    async def in_thread(self, text: str, expect: str) -> None:
        """Vera writes in the ticket's thread (a reply to the card); the bot answers there."""
        assert self.card is not None
        before = len(self.emulator.sent_to(GROUP))
        self.emulator.message(
            VERA,
            text,
            chat_id=GROUP,
            chat_type="supergroup",
            first_name="Вера",
            reply_to_message_id=self.card.message_id,
        )
        await self.told(expect, before)

    async def told(self, expect: str, before: int) -> None:
        await until(
            lambda: any(expect in (m.text or "") for m in self.emulator.sent_to(GROUP)[before:]),
            f"{expect!r} in the thread",
        )

    async def tick(self, now: datetime) -> None:
        assert self.app.followups is not None
        await self.app.followups.run_once(now)

    async def to_family(self, now: datetime, expect: str) -> str:
        await self.tick(now)
        await until(lambda: any(expect in t for t in self.texts()), f"{expect!r} to the family")
        return next(t for t in reversed(self.texts()) if expect in t)

    def questions(self) -> int:
        """How many times the family was asked "can you come?" so far."""
        return sum("Сможете прийти?" in t for t in self.texts())

    async def offered(self, now: datetime, expect: str, asked: int) -> str:
        """The offer reaches the family: its text, then the question with the three buttons.

        ``asked`` is ``questions()`` counted before the /appoint: the app's own 30-second tick may
        send the offer before ours, even before this is called."""
        offer = await self.to_family(now, expect)
        await until(lambda: sum("Сможете прийти?" in t for t in self.texts()) > asked, "the question")
        return offer

    async def answered(self, value: str, expect: str, words: str | None = None) -> str:
        """The family answers the offer; the thread hears it at the next tick (ours, or the app's own
        30-second tick if it comes first: so the thread is counted before the tap)."""
        before = len(self.emulator.sent_to(GROUP))
        await self.family.tap_value(value)
        if words is not None:
            await self.family.say(words)
        await self.tick(utcnow())
        await self.told(expect, before)
        return next(m.text or "" for m in self.emulator.sent_to(GROUP)[before:] if expect in (m.text or ""))

    async def run(self) -> None:
        introduce(self.emulator, VERA, "Вера")
        await self.taken()
        now = utcnow()
        at = (now + timedelta(days=3)).astimezone(MOSCOW).replace(hour=11, minute=0, second=0, microsecond=0)
        asked = self.questions()
        await self.in_thread(
            f"/appoint {at:%d.%m} 11:00 Центр семьи, Невский 1; взять паспорт", "Семье предложена встреча"
        )
        offer = await self.offered(now, "Центр семьи", asked)
        assert f"{at.day} " in offer and "11:00" in offer, offer  # Babel: "1 декабря, 11:00"
        assert "подтвердила" in await self.answered("confirm", "подтвердила")
        await self.to_family(at - timedelta(days=1), "Напоминаем")
        await self.to_family(at - timedelta(hours=2), "Напоминаем")
        assert sum("Напоминаем" in t for t in self.texts()) == 2, "both reminders, once each"
        await self.in_thread("/appoint cancel", "Встреча отменена")
        # The cancellation is due at once: a tick now tells the family. (A tick at the appointment's
        # hour would find it more than FOLLOWUP_EXPIRE late whenever the test runs before 10:00 in
        # Moscow, and rightly expire it.)
        await self.to_family(utcnow(), "отменена")

        # Moved to another day: the family can't come.
        second = at + timedelta(days=1)
        asked = self.questions()
        await self.in_thread(f"/appoint {second:%d.%m} 11:00 Центр семьи", "Семье предложена встреча")
        await self.offered(utcnow(), f"{second.day} ", asked)
        assert "не сможет" in await self.answered("decline", "не сможет")

        # Once more: the family asks for another time, in words, and the thread reads them.
        third = at + timedelta(days=2)
        asked = self.questions()
        await self.in_thread(f"/appoint {third:%d.%m} 11:00 Центр семьи", "Семье предложена встреча")
        await self.offered(utcnow(), f"{third.day} ", asked)
        told = await self.answered("other", "другое время", words="Во вторник после 15")
        assert "вторник" in told, told
        # No reminder is left for any of them: the first was cancelled, the others never confirmed.
        reminders = sum("Напоминаем" in t for t in self.texts())
        await self.tick(third - timedelta(hours=2))
        assert sum("Напоминаем" in t for t in self.texts()) == reminders
