"""The coordinators' own bookkeeping: people blocked for abuse, coordinators who are away, and the
lists of a chat's open requests (its inbox)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AwayCoordinator, BlockedPerson, Ticket
from storage.repositories import dialect_insert, rowcount
from storage.vocabulary import OPEN_STATUSES, TicketStatus

OPEN_VALUES = [s.value for s in OPEN_STATUSES]


class ModerationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # ---- blocking ----
    async def block(self, person_id: int, by: str, at: datetime) -> bool:
        """Block a person; False when they already were (the primary key decides, once)."""
        stmt = dialect_insert(self._s, BlockedPerson).values(person_id=person_id, blocked_by=by, at=at)
        return rowcount(await self._s.execute(stmt.on_conflict_do_nothing(index_elements=["person_id"]))) == 1

    async def unblock(self, person_id: int) -> bool:
        stmt = delete(BlockedPerson).where(BlockedPerson.person_id == person_id)
        return rowcount(await self._s.execute(stmt)) == 1

    async def blocked(self, person_id: int) -> BlockedPerson | None:
        return await self._s.get(BlockedPerson, person_id, populate_existing=True)

    async def open_count(self, person_id: int) -> int:
        stmt = select(func.count(Ticket.id)).where(
            Ticket.person_id == person_id, Ticket.status.in_(OPEN_VALUES)
        )
        return int(await self._s.scalar(stmt) or 0)

    # ---- away ----
    async def away(self, key: str, at: datetime) -> bool:
        """Mark a coordinator away; False when they already were."""
        stmt = dialect_insert(self._s, AwayCoordinator).values(key=key, since=at)
        return rowcount(await self._s.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))) == 1

    async def back(self, key: str) -> bool:
        stmt = delete(AwayCoordinator).where(AwayCoordinator.key == key)
        return rowcount(await self._s.execute(stmt)) == 1

    async def away_among(self, keys: Collection[str]) -> set[str]:
        if not keys:
            return set()
        stmt = select(AwayCoordinator.key).where(AwayCoordinator.key.in_(list(keys)))
        return set((await self._s.scalars(stmt)).all())

    # ---- a chat's inbox ----
    async def open_in_chat(self, chat: str, assignee: str | None = None) -> Sequence[Ticket]:
        """A chat's open requests (or one coordinator's there): urgent first, then the oldest first."""
        stmt = select(Ticket).where(Ticket.chat == chat, Ticket.status.in_(OPEN_VALUES))
        if assignee is not None:
            stmt = stmt.where(Ticket.assignee == assignee, Ticket.status == TicketStatus.CLAIMED.value)
        stmt = stmt.order_by(Ticket.urgent.desc(), Ticket.created_at, Ticket.id)
        return (await self._s.scalars(stmt)).all()
