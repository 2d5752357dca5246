"""Follow-ups in our own table: scheduled, claimed with a lease, answered. Every SQL statement of them.

Exactly once is decided here, never in memory: a runner owns a row only after its conditional UPDATE
(pending, or a lease that ran out, to sending) changed that row; two runners on one database never
both win. On PostgreSQL the candidates are also read ``FOR UPDATE SKIP LOCKED`` so that racing
runners pick different rows instead of queueing on the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FollowUp, Ticket
from storage.repositories import dialect_insert, rowcount
from storage.vocabulary import FollowUpKind, FollowUpStatus, TicketStatus

Status = FollowUpStatus


class FollowUpsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self,
        ticket_id: int,
        kind: FollowUpKind,
        due_at: datetime,
        status: Status = Status.PENDING,
        *,
        appointment_id: int | None = None,
    ) -> None:
        """Schedule once: the same (ticket, kind, due time) again changes nothing."""
        values: dict[str, Any] = {"ticket_id": ticket_id, "kind": kind.value, "due_at": due_at}
        values |= {"status": status.value, "appointment_id": appointment_id}
        stmt = dialect_insert(self._s, FollowUp).values(**values, tell_thread=False)
        await self._s.execute(stmt.on_conflict_do_nothing(index_elements=["ticket_id", "kind", "due_at"]))

    async def get(self, followup_id: int) -> FollowUp | None:
        return await self._s.get(FollowUp, followup_id, populate_existing=True)

    async def of_ticket(self, ticket_id: int) -> Sequence[FollowUp]:
        stmt = select(FollowUp).where(FollowUp.ticket_id == ticket_id).order_by(FollowUp.due_at, FollowUp.id)
        return (await self._s.execute(stmt)).scalars().all()

    async def expire(self, now: datetime, late: timedelta) -> int:
        """Rows that fell due long ago (the bot was down) are not sent to surprise a family weeks later."""
        stmt = (
            update(FollowUp)
            .where(FollowUp.status == Status.PENDING.value, FollowUp.due_at < now - late)
            .values(status=Status.EXPIRED.value)
        )
        return rowcount(await self._s.execute(stmt))

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[FollowUp]:
        """Due rows this runner now owns until ``now + lease``."""
        claimable = or_(
            and_(FollowUp.status == Status.PENDING.value, FollowUp.due_at <= now),
            and_(FollowUp.status == Status.SENDING.value, FollowUp.lease_until < now),
        )
        candidates = select(FollowUp.id).where(claimable).order_by(FollowUp.due_at, FollowUp.id).limit(limit)
        if self._s.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = (await self._s.execute(candidates)).scalars().all()
        won: list[int] = []
        for followup_id in ids:
            stmt = (
                update(FollowUp)
                .where(FollowUp.id == followup_id, claimable)
                .values(status=Status.SENDING.value, lease_until=now + lease)
            )
            if rowcount(await self._s.execute(stmt)) == 1:
                won.append(followup_id)
        if not won:
            return []
        rows = await self._s.execute(
            select(FollowUp).where(FollowUp.id.in_(won)).execution_options(populate_existing=True)
        )
        return sorted(rows.scalars().all(), key=lambda r: (r.due_at, r.id))

    async def finish(self, followup_id: int, status: Status, at: datetime) -> bool:
        """The runner that owns a row records how it ended."""
        values: dict[str, Any] = {"status": status.value, "lease_until": None}
        if status is Status.SENT:
            values["sent_at"] = at
        stmt = (
            update(FollowUp)
            .where(FollowUp.id == followup_id, FollowUp.status == Status.SENDING.value)
            .values(values)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def postpone(self, followup_id: int, due_at: datetime) -> bool:
        """Quiet hours: back to pending, due in the family's morning."""
        stmt = (
            update(FollowUp)
            .where(FollowUp.id == followup_id, FollowUp.status == Status.SENDING.value)
            .values(status=Status.PENDING.value, due_at=due_at, lease_until=None)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def decide(self, ticket_id: int, allowed: bool) -> int:
        """The family's answer to the offer: held check-ins become due, or are cancelled."""
        status = Status.PENDING if allowed else Status.CANCELLED
        stmt = (
            update(FollowUp)
            .where(FollowUp.ticket_id == ticket_id, FollowUp.status == Status.HELD.value)
            .values(status=status.value)
        )
        return rowcount(await self._s.execute(stmt))

    async def answer(
        self,
        followup_id: int,
        answer: str,
        at: datetime,
        *,
        comment: str | None = None,
        tell_thread: bool = False,
    ) -> bool:
        """The first answer to a sent row counts; a second tap on an old screen changes nothing."""
        values: dict[str, Any] = {"status": Status.ANSWERED.value, "answer": answer, "answered_at": at}
        values |= {"comment": comment, "tell_thread": tell_thread}
        stmt = (
            update(FollowUp)
            .where(FollowUp.id == followup_id, FollowUp.status == Status.SENT.value)
            .values(values)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def rate(self, followup_id: int, rating: int) -> bool:
        stmt = (
            update(FollowUp)
            .where(
                FollowUp.id == followup_id,
                FollowUp.status == Status.ANSWERED.value,
                FollowUp.rating.is_(None),
            )
            .values(rating=rating)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def to_tell(self, limit: int) -> Sequence[FollowUp]:
        stmt = select(FollowUp).where(FollowUp.tell_thread.is_(True)).order_by(FollowUp.id).limit(limit)
        return (await self._s.execute(stmt)).scalars().all()

    async def told(self, followup_id: int) -> bool:
        """One runner tells the thread: the one whose UPDATE cleared the flag."""
        stmt = (
            update(FollowUp)
            .where(FollowUp.id == followup_id, FollowUp.tell_thread.is_(True))
            .values(tell_thread=False)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def waiting(self, ticket_id: int, kind: FollowUpKind) -> bool:
        """A row of this kind is still to be sent for the ticket."""
        stmt = select(FollowUp.id).where(
            FollowUp.ticket_id == ticket_id,
            FollowUp.kind == kind.value,
            FollowUp.status == Status.PENDING.value,
        )
        return (await self._s.execute(stmt.limit(1))).first() is not None

    async def cancel(self, ticket_id: int, kind: FollowUpKind) -> int:
        """What waits of this kind is called off (the family was answered, the ticket changed hands)."""
        stmt = (
            update(FollowUp)
            .where(
                FollowUp.ticket_id == ticket_id,
                FollowUp.kind == kind.value,
                FollowUp.status == Status.PENDING.value,
            )
            .values(status=Status.CANCELLED.value)
        )
        return rowcount(await self._s.execute(stmt))

    async def cancel_for_tickets(self, ticket_ids: Sequence[int]) -> int:
        """A family that deleted its data gets nothing more."""
        waiting = (Status.HELD.value, Status.PENDING.value)
        stmt = (
            update(FollowUp)
            .where(FollowUp.ticket_id.in_(list(ticket_ids)), FollowUp.status.in_(waiting))
            .values(status=Status.SKIPPED.value)
        )
        return rowcount(await self._s.execute(stmt))

    async def reopen_ticket(
        self, ticket_id: int, at: datetime, *, same_coordinator: bool = True
    ) -> str | None:
        """The family still needs help: back to the coordinator who had it (when ``same_coordinator``:
        they are still active in the chat), else to the group.

        Returns the new status, or None when the ticket was not closed (reopened meanwhile)."""
        closed = (Ticket.id == ticket_id, Ticket.status == TicketStatus.CLOSED.value)
        back: dict[str, Any] = {"outcome": None, "outcome_note": None, "closed_at": None, "updated_at": at}
        same = update(Ticket).where(*closed, Ticket.assignee.is_not(None))
        if same_coordinator and rowcount(
            await self._s.execute(same.values(back | {"status": TicketStatus.CLAIMED.value}))
        ):
            return TicketStatus.CLAIMED.value
        # Nobody to give it back to: the group sees it as new, and the SLA tick re-announces it.
        group = back | {"status": TicketStatus.NEW.value, "assignee": None, "assignee_name": None}
        group |= {"claimed_at": None, "announced_at": None}
        if rowcount(await self._s.execute(update(Ticket).where(*closed).values(group))):
            return TicketStatus.NEW.value
        return None
