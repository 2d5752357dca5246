"""Anonymous facts about tickets for the admins' figures: no names, phones, ids or texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FollowUp, Ticket
from storage.vocabulary import FollowUpKind


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

    async def checkins(self, since: datetime, until: datetime) -> list[tuple[str, int | None]]:
        """Each check-in answered in the period: the family's answer and its 1..5 rating, if any."""
        rows = await self._s.execute(
            select(FollowUp.answer, FollowUp.rating).where(
                FollowUp.kind == FollowUpKind.CHECKIN.value,
                FollowUp.answer.is_not(None),
                FollowUp.answered_at >= since,
                FollowUp.answered_at < until,
            )
        )
        return [(str(answer), rating) for answer, rating in rows.all()]
