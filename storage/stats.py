"""Figures for the operators' metrics: queue depths and the age of what waits. No personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, BroadcastRecipient, FollowUp, Outbox, Replica, Ticket
from storage.repositories import dialect_insert
from storage.vocabulary import FollowUpStatus, RecipientStatus, TicketStatus


@dataclass(frozen=True)
class QueueStats:
    outbox_depth: int
    outbox_oldest: datetime | None
    unclaimed: int
    unclaimed_oldest: datetime | None
    deliveries_failed: int
    followups_due: int
    broadcast_waiting: int  # announcements still to send, all broadcasts together
    broadcast_sent: int


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def ping(self) -> None:
        await self._s.execute(text("SELECT 1"))

    async def alive(self, instance: str, at: datetime) -> None:
        """This process is running (a heartbeat)."""
        stmt = dialect_insert(self._s, Replica).values(instance=instance, seen_at=at)
        await self._s.execute(stmt.on_conflict_do_update(index_elements=["instance"], set_={"seen_at": at}))

    async def others_alive(self, instance: str, since: datetime) -> list[str]:
        stmt = select(Replica.instance).where(Replica.instance != instance, Replica.seen_at >= since)
        return list((await self._s.scalars(stmt)).all())

    async def gone(self, instance: str) -> None:
        await self._s.execute(delete(Replica).where(Replica.instance == instance))

    async def queues(self, now: datetime) -> QueueStats:
        outbox = (
            await self._s.execute(
                select(func.count(), func.min(Outbox.created_at)).where(Outbox.done_at.is_(None))
            )
        ).one()
        tickets = (
            await self._s.execute(
                select(func.count(), func.min(Ticket.created_at)).where(
                    Ticket.status == TicketStatus.NEW.value
                )
            )
        ).one()
        failed = await self._s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "delivery_failed")
        )
        due = await self._s.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.status == FollowUpStatus.PENDING.value, FollowUp.due_at <= now)
        )
        waiting = await self._s.scalar(
            select(func.count())
            .select_from(BroadcastRecipient)
            .where(BroadcastRecipient.status == RecipientStatus.PENDING.value)
        )
        sent = await self._s.scalar(
            select(func.count())
            .select_from(BroadcastRecipient)
            .where(BroadcastRecipient.status == RecipientStatus.SENT.value)
        )
        return QueueStats(
            outbox_depth=int(outbox[0]),
            outbox_oldest=outbox[1],
            unclaimed=int(tickets[0]),
            unclaimed_oldest=tickets[1],
            deliveries_failed=int(failed or 0),
            followups_due=int(due or 0),
            broadcast_waiting=int(waiting or 0),
            broadcast_sent=int(sent or 0),
        )
