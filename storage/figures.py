"""Anonymous facts about tickets for the admins' figures: no names, phones, ids or texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket


@dataclass(frozen=True)
class TicketFacts:
    created_at: datetime
    category: str
    region: str | None  # the region's code
    urgent: bool
    status: str
    claimed_at: datetime | None
    closed_at: datetime | None
    outcome: str | None


class FiguresRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def tickets(self, since: datetime, until: datetime) -> list[TicketFacts]:
        rows = await self._s.execute(
            select(
                Ticket.created_at,
                Ticket.category,
                Ticket.region_code,
                Ticket.urgent,
                Ticket.status,
                Ticket.claimed_at,
                Ticket.closed_at,
                Ticket.outcome,
            )
            .where(Ticket.created_at >= since, Ticket.created_at < until)
            .order_by(Ticket.created_at)
        )
        return [TicketFacts(*row) for row in rows.all()]
