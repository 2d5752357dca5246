"""Figures for the operators' metrics: queue depths and the age of what waits. No personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Outbox, Ticket
from storage.vocabulary import TicketStatus


@dataclass(frozen=True)
class QueueStats:
    outbox_depth: int
    outbox_oldest: datetime | None
    unclaimed: int
    unclaimed_oldest: datetime | None
    deliveries_failed: int


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def ping(self) -> None:
        await self._s.execute(text("SELECT 1"))

    async def queues(self) -> QueueStats:
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
        return QueueStats(
            outbox_depth=int(outbox[0]),
            outbox_oldest=outbox[1],
            unclaimed=int(tickets[0]),
            unclaimed_oldest=tickets[1],
            deliveries_failed=int(failed or 0),
        )
