"""RETENTION (152-FZ): a closed ticket's personal texts, files, phone and relay copies are erased a
while after closing; what the figures count (kind of help, region code, urgency, times, status,
outcome, follow-up answers) stays. Its SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appointment, FollowUp, Outbox, RelayedMessage, Ticket, TicketEntry
from storage.vocabulary import OPEN_STATUSES


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def erase_closed(self, closed_before: datetime, now: datetime, *, limit: int = 200) -> int:
        """Erase up to ``limit`` tickets closed before ``closed_before`` and not erased yet; return how
        many. Erasing twice (two replicas) changes nothing more: every statement is idempotent."""
        due = (
            select(Ticket.id)
            .where(
                Ticket.erased_at.is_(None),
                Ticket.closed_at.is_not(None),
                Ticket.closed_at < closed_before,
                Ticket.status.not_in([s.value for s in OPEN_STATUSES]),  # a reopened one is in use
            )
            .order_by(Ticket.id)
            .limit(limit)
        )
        ids = list((await self._s.scalars(due)).all())
        if not ids:
            return 0
        # Added information, and the map of messages copied between the family and the thread.
        await self._s.execute(delete(TicketEntry).where(TicketEntry.ticket_id.in_(ids)))
        await self._s.execute(delete(RelayedMessage).where(RelayedMessage.ticket_id.in_(ids)))
        # Delivered outbox rows: their payloads name chats and messages; nothing waits on them.
        await self._s.execute(delete(Outbox).where(Outbox.ticket_id.in_(ids), Outbox.done_at.is_not(None)))
        await self._s.execute(update(FollowUp).where(FollowUp.ticket_id.in_(ids)).values(comment=None))
        await self._s.execute(
            update(Appointment).where(Appointment.ticket_id.in_(ids)).values(place="", proposal=None)
        )
        await self._s.execute(
            update(Ticket)
            .where(Ticket.id.in_(ids))
            .values(description="", attachments=[], phone=None, outcome_note=None, erased_at=now)
        )
        return len(ids)
