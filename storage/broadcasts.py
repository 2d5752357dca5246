"""Broadcasts and their recipients: every SQL statement of them.

Exactly once is decided here: the recipients are written (one row each) in the transaction that
starts the broadcast; a runner owns a row only after its conditional UPDATE took the lease, and a
row goes to ``sending`` in its own committed UPDATE just before the platform is called, so a crash
can lose at most that one message but never send it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, BroadcastRecipient, Person, Ticket
from storage.repositories import dialect_insert, rowcount
from storage.vocabulary import BroadcastStatus, RecipientStatus

ACTIVE = (BroadcastStatus.SCHEDULED.value, BroadcastStatus.SENDING.value)
Row = BroadcastRecipient


def audience_filter(audience: dict[str, Any]) -> ColumnElement[bool]:
    """Who an audience is: people who opted in, can be reached, and match the admin's choice."""
    kind, value = audience.get("kind", "all"), str(audience.get("value", ""))
    base = and_(
        Person.announcements.is_(True),
        Person.reachable.is_(True),
        Person.deleted_at.is_(None),
        Person.consent_version.is_not(None),
    )
    if kind == "lang":
        return and_(base, Person.locale == value)
    if kind == "platform":
        return and_(base, Person.platform == value)
    if kind in ("region", "category"):
        column = Ticket.region_code if kind == "region" else Ticket.category
        return and_(base, exists().where(Ticket.person_id == Person.id, column == value))
    return base


class BroadcastsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(
        self,
        created_by: str,
        text: str,
        audience: dict[str, Any],
        due_at: datetime,
        *,
        texts: dict[str, str] | None = None,
        attachment: dict[str, Any] | None = None,
        paid: bool = False,
    ) -> Broadcast:
        row = Broadcast(
            created_by=created_by,
            text=text,
            texts=texts,
            attachment=attachment,
            paid=paid,
            audience=audience,
            status=BroadcastStatus.SCHEDULED.value,
            due_at=due_at,
        )
        self._s.add(row)
        await self._s.flush()
        return row

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self._s.get(Broadcast, broadcast_id)

    async def count(self, audience: dict[str, Any], platform: str | None = None) -> int:
        """How many people the audience is (on one messenger only, when ``platform`` is given)."""
        where = audience_filter(audience)
        if platform is not None:
            where = and_(where, Person.platform == platform)
        return int(await self._s.scalar(select(func.count(Person.id)).where(where)) or 0)

    async def unprepared(self) -> Sequence[Broadcast]:
        """Broadcasts waiting to go whose file is not on every messenger yet (see ``set_files``)."""
        stmt = select(Broadcast).where(
            Broadcast.status == BroadcastStatus.SCHEDULED.value,
            Broadcast.attachment.is_not(None),
            Broadcast.files.is_(None),
        )
        return (await self._s.scalars(stmt.order_by(Broadcast.id))).all()

    async def someone_on(self, audience: dict[str, Any], platform: str) -> str | None:
        """One person of the audience on ``platform`` (the person key): the peer an upload is made for."""
        stmt = (
            select(Person.key)
            .where(audience_filter(audience), Person.platform == platform)
            .order_by(Person.id)
            .limit(1)
        )
        return await self._s.scalar(stmt)

    async def set_files(self, broadcast_id: int, files: dict[str, Any]) -> None:
        """The file as each other messenger keeps it; only the first writer's (another replica's race)."""
        await self._s.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.files.is_(None))
            .values(files=files)
        )

    async def cancel_active(self, at: datetime) -> int:
        result = await self._s.execute(
            update(Broadcast)
            .where(Broadcast.status.in_(ACTIVE))
            .values(status=BroadcastStatus.CANCELLED.value, finished_at=at)
        )
        return rowcount(result)

    async def due(self, now: datetime) -> Sequence[Broadcast]:
        stmt = select(Broadcast).where(
            Broadcast.status == BroadcastStatus.SCHEDULED.value,
            Broadcast.due_at <= now,
            # A file goes once it is on every messenger (BroadcastFilesJob): nobody gets it without.
            or_(Broadcast.attachment.is_(None), Broadcast.files.is_not(None)),
        )
        return (await self._s.scalars(stmt.order_by(Broadcast.id))).all()

    async def start(self, broadcast: Broadcast) -> int:
        """Take the start of a due broadcast (once across runners) and write its recipients, in the
        database (INSERT ... SELECT: never loaded into memory). Returns how many were written."""
        taken = await self._s.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast.id, Broadcast.status == BroadcastStatus.SCHEDULED.value)
            .values(status=BroadcastStatus.SENDING.value)
        )
        if not rowcount(taken):
            return 0
        people = select(literal(broadcast.id), Person.id, literal(RecipientStatus.PENDING.value)).where(
            audience_filter(broadcast.audience)
        )
        insert = dialect_insert(self._s, Row).from_select(["broadcast_id", "person_id", "status"], people)
        result = await self._s.execute(insert.on_conflict_do_nothing())
        return rowcount(result)

    async def sending(self) -> Sequence[Broadcast]:
        stmt = select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING.value)
        return (await self._s.scalars(stmt.order_by(Broadcast.id))).all()

    async def claim(
        self,
        broadcast_id: int,
        owner: str,
        now: datetime,
        lease: timedelta,
        batch: int,
        *,
        platform: str | None = None,
    ) -> Sequence[tuple[Row, Person]]:
        """Lease up to ``batch`` pending rows (free, or whose lease ran out) with one conditional UPDATE;
        with ``platform``, only people of that messenger."""
        free = and_(
            Row.broadcast_id == broadcast_id,
            Row.status == RecipientStatus.PENDING.value,
            or_(Row.lease_until.is_(None), Row.lease_until <= now),
        )
        ids = select(Row.id).where(free).order_by(Row.id).limit(batch)
        if platform is not None:
            ids = ids.join(Person, Person.id == Row.person_id).where(Person.platform == platform)
        if self._s.get_bind().dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True, of=Row)
        chosen = list((await self._s.scalars(ids)).all())
        if not chosen:
            return []
        until = now + lease
        await self._s.execute(
            update(Row).where(free, Row.id.in_(chosen)).values(lease_owner=owner, lease_until=until)
        )
        stmt = (
            select(Row, Person)
            .join(Person, Person.id == Row.person_id)
            .where(Row.id.in_(chosen), Row.lease_owner == owner, Row.status == RecipientStatus.PENDING.value)
            .order_by(Row.id)
        )
        return [(row, person) for row, person in (await self._s.execute(stmt)).all()]

    async def release(self, owner: str, now: datetime) -> int:
        """At a runner's start: the leases it held before it stopped end now. Its pending rows are
        free at once; its rows in ``sending`` are known dead (reported as failed, never resent)."""
        result = await self._s.execute(
            update(Row)
            .where(
                Row.lease_owner == owner,
                Row.status.in_((RecipientStatus.PENDING.value, RecipientStatus.SENDING.value)),
                Row.lease_until > now,
            )
            .values(lease_until=now)
        )
        return rowcount(result)

    async def begin_send(self, row_id: int, owner: str) -> bool:
        """The last word before the platform is called: pending -> sending, for the lease's owner only."""
        result = await self._s.execute(
            update(Row)
            .where(Row.id == row_id, Row.lease_owner == owner, Row.status == RecipientStatus.PENDING.value)
            .values(status=RecipientStatus.SENDING.value)
        )
        return rowcount(result) == 1

    async def begin_send_many(self, row_ids: Sequence[int], owner: str) -> set[int]:
        """``begin_send`` for one call to many (VK's peer_ids) in one UPDATE; returns the rows taken."""
        stmt = (
            update(Row)
            .where(Row.id.in_(row_ids), Row.lease_owner == owner, Row.status == RecipientStatus.PENDING.value)
            .values(status=RecipientStatus.SENDING.value)
            .returning(Row.id)
        )
        return set((await self._s.scalars(stmt)).all())

    async def finish(self, row_id: int, status: RecipientStatus, at: datetime) -> None:
        await self._s.execute(update(Row).where(Row.id == row_id).values(status=status.value, sent_at=at))

    async def finish_many(self, row_ids: Sequence[int], status: RecipientStatus, at: datetime) -> None:
        if row_ids:
            await self._s.execute(
                update(Row).where(Row.id.in_(row_ids)).values(status=status.value, sent_at=at)
            )

    async def hold(self, row_id: int, until: datetime) -> None:
        """Quiet hours: still pending, and nobody's until the family's morning."""
        await self._s.execute(update(Row).where(Row.id == row_id).values(lease_owner=None, lease_until=until))

    async def skip_rest(self, broadcast_id: int) -> int:
        result = await self._s.execute(
            update(Row)
            .where(Row.broadcast_id == broadcast_id, Row.status == RecipientStatus.PENDING.value)
            .values(status=RecipientStatus.SKIPPED.value)
        )
        return rowcount(result)

    async def tally(self, broadcast_id: int) -> dict[str, int]:
        """How many rows are in each status; "held": pending, waiting for a family's morning."""
        stmt = (
            select(Row.status, func.count(Row.id))
            .where(Row.broadcast_id == broadcast_id)
            .group_by(Row.status)
        )
        counts = {status: int(n) for status, n in (await self._s.execute(stmt)).all()}
        held = select(func.count(Row.id)).where(
            Row.broadcast_id == broadcast_id,
            Row.status == RecipientStatus.PENDING.value,
            Row.lease_owner.is_(None),
            Row.lease_until.is_not(None),
        )
        counts["held"] = int(await self._s.scalar(held) or 0)
        return counts

    async def finish_broadcast(self, broadcast_id: int, at: datetime) -> bool:
        """Done once nothing is pending any more, and nothing is in flight: a row ``sending`` under a
        live lease is another runner's call still going (its result comes); one whose lease ran out
        was left by a crash, never resent, and reported as failed."""
        pending = exists().where(
            Row.broadcast_id == broadcast_id,
            or_(
                Row.status == RecipientStatus.PENDING.value,
                and_(Row.status == RecipientStatus.SENDING.value, Row.lease_until > at),
            ),
        )
        result = await self._s.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING.value, ~pending)
            .values(status=BroadcastStatus.DONE.value, finished_at=at)
        )
        return rowcount(result) == 1

    async def set_progress(self, broadcast_id: int, message_id: int | None, at: datetime) -> None:
        values: dict[str, Any] = {"progress_at": at}
        if message_id is not None:
            values["progress_message_id"] = message_id
        await self._s.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(**values))

    async def region_of(self, person_id: int) -> str | None:
        """The region of a family's latest request: its time zone for quiet hours."""
        stmt = (
            select(Ticket.region_code)
            .where(Ticket.person_id == person_id, Ticket.region_code.is_not(None))
            .order_by(Ticket.id.desc())
            .limit(1)
        )
        return await self._s.scalar(stmt)
