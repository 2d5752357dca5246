"""Repositories of queues and logs: the outbox, platform update ids, private-chat message ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatMessage, Outbox, ProcessedUpdate, utcnow
from storage.prepared import Hot
from storage.repositories import dialect_of, rowcount, table_insert
from storage.vocabulary import OutboxKind, Platform


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self, kind: OutboxKind, ticket_id: int | None, *, urgent: bool, payload: dict[str, Any]
    ) -> None:
        self._s.add(Outbox(kind=kind.value, ticket_id=ticket_id, urgent=urgent, payload=payload))
        await self._s.flush()

    async def message(self, chat: str, text: str, *, priority: int, urgent: bool = False) -> None:
        """A message about no ticket, sent by the delivery worker with its retries and pacing."""
        payload = {"chat": chat, "text": text, "priority": priority}
        await self.add(OutboxKind.MESSAGE, None, urgent=urgent, payload=payload)

    async def pending(self, limit: int = 100) -> Sequence[Outbox]:
        stmt = (
            select(Outbox)
            .where(Outbox.done_at.is_(None))
            .order_by(Outbox.urgent.desc(), Outbox.created_at, Outbox.id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def abandon(self, ticket_ids: Sequence[int], at: datetime) -> None:
        """A family erased its data: nothing of theirs is delivered any more, and no ids are kept."""
        ids = list(ticket_ids)
        await self._s.execute(
            update(Outbox).where(Outbox.ticket_id.in_(ids), Outbox.done_at.is_(None)).values(done_at=at)
        )
        await self._s.execute(update(Outbox).where(Outbox.ticket_id.in_(ids)).values(payload={}))

    async def due(
        self, now: datetime, limit: int = 50, *, kinds: Sequence[OutboxKind] | None = None
    ) -> Sequence[Outbox]:
        """Undelivered rows whose time has come (of these kinds only): urgent first, then oldest."""
        stmt = (
            select(Outbox)
            .where(Outbox.done_at.is_(None), Outbox.next_attempt_at <= now)
            .order_by(Outbox.urgent.desc(), Outbox.created_at, Outbox.id)
            .limit(limit)
        )
        if kinds is not None:
            stmt = stmt.where(Outbox.kind.in_([kind.value for kind in kinds]))
        return (await self._s.scalars(stmt)).all()

    async def lease(self, outbox_id: int, now: datetime, until: datetime, owner: str | None = None) -> bool:
        """Take a row for delivery; a second worker (or replica) cannot take it at the same time."""
        stmt = (
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.done_at.is_(None), Outbox.next_attempt_at <= now)
            .values(next_attempt_at=until, leased_by=owner)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def reclaim(self, owner: str, now: datetime) -> int:
        """At start: the rows this instance held when it stopped (or died) are due again at once."""
        stmt = (
            update(Outbox)
            .where(Outbox.leased_by == owner, Outbox.done_at.is_(None))
            .values(next_attempt_at=now, leased_by=None)
        )
        return rowcount(await self._s.execute(stmt))

    async def finish(self, outbox_id: int, leased_until: datetime, at: datetime) -> bool:
        """Mark a row done if this worker still holds its lease; False when it ran out (and another
        worker may have taken the row) or the row is done already."""
        stmt = (
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.done_at.is_(None), Outbox.next_attempt_at == leased_until)
            .values(done_at=at)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def done(self, outbox_id: int, at: datetime) -> None:
        await self._s.execute(update(Outbox).where(Outbox.id == outbox_id).values(done_at=at))

    async def wait_until(self, outbox_id: int, at: datetime) -> None:
        """Postpone without counting a failed attempt."""
        stmt = update(Outbox).where(Outbox.id == outbox_id).values(next_attempt_at=at, leased_by=None)
        await self._s.execute(stmt)

    async def retry_at(self, outbox_id: int, at: datetime) -> None:
        stmt = (
            update(Outbox)
            .where(Outbox.id == outbox_id)
            .values(next_attempt_at=at, attempts=Outbox.attempts + 1, leased_by=None)
        )
        await self._s.execute(stmt)


PROCESSED = cast(Table, ProcessedUpdate.__table__)


@cache
def _seen_insert(dialect: str) -> Any:
    """Record one update id unless it is there (built once: see ``table_insert``)."""
    return table_insert(dialect, PROCESSED).on_conflict_do_nothing(index_elements=["platform", "update_id"])


_SEEN = Hot(_seen_insert)


@cache
def _seen_returning(dialect: str) -> Any:
    """Record update ids unless they are there, naming those it recorded: executed with many rows,
    SQLAlchemy sends them as one statement ("insertmanyvalues") from this compiled form."""
    return _seen_insert(dialect).returning(PROCESSED.c.update_id)


class UpdateLog:
    """Update ids already processed, per platform."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def first_time(self, platform: Platform, update_id: int) -> bool:
        """Record the update id; False when it was seen before (a redelivery)."""
        values = {"platform": platform.value, "update_id": update_id, "seen_at": utcnow()}
        return (await _SEEN.run(self._s, values)).rowcount == 1

    async def first_times(self, platform: Platform, update_ids: Sequence[int]) -> set[int]:
        """Record several update ids in one statement; return those not seen before.

        A statement compiled once: the list of values built into the statement (``.values([...])``)
        was compiled anew for every merged turn of a flood, 4 ms for 100 ids against 0.6 ms now."""
        if not update_ids:
            return set()
        now = utcnow()
        rows = [{"platform": platform.value, "update_id": uid, "seen_at": now} for uid in update_ids]
        result = await self._s.execute(_seen_returning(dialect_of(self._s)), rows)
        return set(result.scalars().all())

    async def prune(self, before: datetime) -> int:
        result = await self._s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.seen_at < before))
        return rowcount(result)


CHAT_MESSAGES = cast(Table, ChatMessage.__table__)


@cache
def _chat_messages_insert() -> Any:
    return insert(CHAT_MESSAGES)


_CHAT_INSERT = Hot(lambda _dialect: _chat_messages_insert())


class ChatLog:
    """Message ids of private chats, for the quick exit. Never message text."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, chat: str, message_ids: Sequence[int], *, from_bot: bool) -> None:
        await self.add_many([(chat, message_ids)], from_bot=from_bot)

    async def add_many(self, chats: Sequence[tuple[str, Sequence[int]]], *, from_bot: bool) -> None:
        """Several chats' ids in one statement (Core executemany: no ORM objects to track)."""
        now = utcnow()
        rows = [
            {"chat": chat, "message_id": mid, "from_bot": from_bot, "sent_at": now}
            for chat, ids in chats
            for mid in ids
        ]
        if rows:
            # Core on the mapped table: an executemany without the ORM's bulk-insert bookkeeping.
            await _CHAT_INSERT.run(self._s, rows)

    async def since(self, chat: str, since: datetime) -> list[int]:
        stmt = (
            select(ChatMessage.message_id)
            .where(ChatMessage.chat == chat, ChatMessage.sent_at >= since)
            .order_by(ChatMessage.message_id)
        )
        return list((await self._s.scalars(stmt)).all())

    async def forget(self, chat: str, message_ids: Sequence[int] | None = None) -> None:
        stmt = delete(ChatMessage).where(ChatMessage.chat == chat)
        if message_ids is not None:
            stmt = stmt.where(ChatMessage.message_id.in_(list(message_ids)))
        await self._s.execute(stmt)

    async def prune(self, before: datetime) -> int:
        return rowcount(await self._s.execute(delete(ChatMessage).where(ChatMessage.sent_at < before)))
