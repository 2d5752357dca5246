"""The inbox: updates kept from before they are acknowledged until handled, with unsent answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, null, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxEntry, ProcessedUpdate, utcnow
from storage.prepared import Hot
from storage.repositories import table_insert
from storage.vocabulary import Platform

INBOX = cast(Table, InboxEntry.__table__)


@cache
def _keep(dialect: str) -> Any:
    """Keep updates (an executemany) unless kept already; built once, see ``table_insert``."""
    return table_insert(dialect, INBOX).on_conflict_do_nothing(index_elements=["platform", "update_id"])


@cache
def _set_answer() -> Any:
    t = INBOX
    where = (t.c.platform == bindparam("b_platform"), t.c.update_id == bindparam("b_update_id"))
    return update(t).where(*where).values(answer=bindparam("b_answer"))


# Hot statements (storage/prepared.py): a turn's answer, and every batch an intake keeps.
_SET_ANSWER = Hot(lambda _dialect: _set_answer())
_KEEP = Hot(_keep)


def _keys_in() -> Any:
    return tuple_(INBOX.c.platform, INBOX.c.update_id).in_(bindparam("b_keys", expanding=True))


@cache
def _clear_answers() -> Any:
    return update(INBOX).where(_keys_in()).values(answer=None)


@cache
def _forget() -> Any:
    return delete(INBOX).where(_keys_in())


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def accept(
        self,
        platform: Platform,
        updates: Sequence[tuple[int, dict[str, Any]]],
        order: Sequence[tuple[str | None, int | None]] | None = None,
    ) -> None:
        """Keep a batch as received; one taken again (a redelivery) is kept once. ``order`` gives,
        for each update, whose it is and its place in that person's order."""
        if not updates:
            return
        now = utcnow()
        places = order or [(None, None)] * len(updates)
        rows = [
            {
                "platform": platform.value,
                "update_id": uid,
                "raw": raw,
                "received_at": now,
                "person": person,
                "seq": seq,
            }
            for (uid, raw), (person, seq) in zip(updates, places, strict=True)
        ]
        await _KEEP.run(self._s, rows)

    async def pending(self, platform: Platform, limit: int = 10_000) -> Sequence[InboxEntry]:
        """What a restart must finish, oldest first (the order the platform gave)."""
        stmt = (
            select(InboxEntry)
            .where(InboxEntry.platform == platform.value)
            .order_by(InboxEntry.received_at, InboxEntry.seq, InboxEntry.update_id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def older_than(self, before: datetime, limit: int = 1000) -> Sequence[InboxEntry]:
        stmt = (
            select(InboxEntry)
            .where(InboxEntry.received_at < before)
            .order_by(InboxEntry.received_at, InboxEntry.seq, InboxEntry.update_id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def earlier_unhandled(self, platform: Platform, person: str, update_id: int) -> bool:
        """Is an update of ``person`` kept before this one (``update_id``: its inbox key) still not
        handled by any replica? Handled means in the processed log where the platform's update ids
        are the inbox keys (Telegram); elsewhere, forgotten by the inbox (within its flush interval)."""
        mine = (
            select(InboxEntry.seq)
            .where(InboxEntry.platform == platform.value, InboxEntry.update_id == update_id)
            .scalar_subquery()
        )
        handled = select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.platform == InboxEntry.platform,
            ProcessedUpdate.update_id == InboxEntry.update_id,
        )
        stmt = (
            select(InboxEntry.update_id)
            .where(
                InboxEntry.platform == platform.value,
                InboxEntry.person == person,
                InboxEntry.seq < mine,
                ~handled.exists(),
            )
            .limit(1)
        )
        return (await self._s.execute(stmt)).first() is not None

    async def set_answer(self, platform: Platform, update_id: int, answer: dict[str, Any] | None) -> None:
        # SQL NULL for no answer, as before (a bare None would be stored as the JSON text 'null').
        values = {"b_platform": platform.value, "b_update_id": update_id}
        await _SET_ANSWER.run(self._s, values | {"b_answer": null() if answer is None else answer})

    async def answer_of(self, platform: Platform, update_id: int) -> dict[str, Any] | None:
        stmt = select(InboxEntry.answer).where(
            InboxEntry.platform == platform.value, InboxEntry.update_id == update_id
        )
        return (await self._s.execute(stmt)).scalar_one_or_none()

    async def clear_answers(self, keys: Sequence[tuple[Platform, int]]) -> None:
        """Answers sent: no longer owed after a restart (one statement for a batch)."""
        if keys:
            wanted = [(platform.value, update_id) for platform, update_id in keys]
            await self._s.execute(_clear_answers(), {"b_keys": wanted})

    async def done(self, keys: Sequence[tuple[str, int]]) -> None:
        """Handled and answered: forgotten."""
        if keys:
            await self._s.execute(_forget(), {"b_keys": list(keys)})
