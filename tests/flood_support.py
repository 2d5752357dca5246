"""What a flood from one person must come to, on any platform: told once to slow down, far fewer
answers than messages, the SOS answered and not overtaken, every text in the request's thread in order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from storage.models import ProcessedUpdate, TicketEntry
from storage.uow import Database
from storage.vocabulary import Platform

NOTICE = "Вы пишете очень быстро"


def numbered(text: str) -> list[int]:
    """The numbers of the flood's texts ("сообщение 7") one entry holds, in order."""
    return [int(n) for n in re.findall(r"сообщение (\d+)", text)]


async def thread_texts(db: Database) -> list[str]:
    """What the family added to their request, entry by entry, in the order it was kept."""
    async with db.uow() as uow:
        return list((await uow.session.scalars(select(TicketEntry.text).order_by(TicketEntry.id))).all())


def assert_in_order(texts: Sequence[str], count: int, *, split_at: int | None = None) -> int:
    """Every one of ``count`` texts reached the thread once, in order (never merged across the text
    numbered ``split_at``: an SOS was sent between it and the one before). How many entries hold them."""
    entries = [e for e in map(numbered, texts) if e]
    relayed = [n for entry in entries for n in entry]
    assert relayed == list(range(count)), f"every message reached the request's thread, in order: {relayed}"
    if split_at is not None:
        assert not any(split_at - 1 in e and split_at in e for e in entries), "not merged across the SOS"
    return len(entries)


def assert_slowed_and_sos_answered(to_flooder: Sequence[str], sent: int) -> int:
    """Told once, kindly; far fewer answers than messages; the SOS answered, and the texts sent after
    it answered after it. The SOS's answer's place among the flooder's answers."""
    assert sum(NOTICE in text for text in to_flooder) == 1, "told once, kindly"
    assert len(to_flooder) < sent // 5, f"slowed: {len(to_flooder)} answers to {sent} messages"
    sos = [i for i, text in enumerate(to_flooder) if "112" in text]
    assert sos, "SOS answered"
    assert sos[0] < len(to_flooder) - 1, "the texts after the SOS were handled after it"
    return sos[0]


async def turns_at(db: Database, platform: Platform, update_ids: Sequence[int]) -> list[datetime]:
    """When each update's turn was recorded (its transaction, under the person's lock)."""
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(ProcessedUpdate.update_id, ProcessedUpdate.seen_at).where(
                ProcessedUpdate.platform == platform.value, ProcessedUpdate.update_id.in_(update_ids)
            )
        )
        seen = {row.update_id: row.seen_at for row in rows}
    assert set(seen) == set(update_ids), "every update was handled"
    return [seen[update_id] for update_id in update_ids]


class Family(Protocol):
    """A parent on VK or MAX as the end-to-end harnesses drive them (tests/vk_e2e.py, max_e2e.py)."""

    async def start(self) -> object: ...
    async def say(self, text: str) -> object: ...
    async def tap_value(self, value: str) -> object: ...
    async def walk(self, *values: str) -> object: ...


async def open_a_request(parent: Family) -> None:
    """The flooder, with an open request: what they write goes to its thread."""
    await parent.start()
    await parent.tap_value("yes")
    await parent.walk("new", "no", "legal", "benefits", "1", "4", "r.msk")
    await parent.say("Нам нечем платить за квартиру")
    await parent.walk("done", "chat", "send")
