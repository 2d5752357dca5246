"""Appointments offered in a ticket's thread, and the family's answers. Every SQL statement of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appointment, FollowUp
from storage.repositories import rowcount
from storage.vocabulary import AppointmentStatus, FollowUpStatus

Status = AppointmentStatus
ACTIVE = (Status.OFFERED.value, Status.CONFIRMED.value)


class AppointmentsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, ticket_id: int, at: datetime, place: str, by: str) -> Appointment:
        """A new appointment replaces the ticket's active one (moved): its reminders are cancelled."""
        await self.cancel(ticket_id)
        appointment = Appointment(
            ticket_id=ticket_id,
            at=at,
            place=place,
            status=Status.OFFERED.value,
            created_by=by,
            tell_thread=False,
        )
        self._s.add(appointment)
        await self._s.flush()
        return appointment

    async def get(self, appointment_id: int) -> Appointment | None:
        return await self._s.get(Appointment, appointment_id, populate_existing=True)

    async def active(self, ticket_id: int) -> Appointment | None:
        stmt = (
            select(Appointment)
            .where(Appointment.ticket_id == ticket_id, Appointment.status.in_(ACTIVE))
            .order_by(Appointment.id.desc())
        )
        return (await self._s.execute(stmt)).scalars().first()

    async def cancel(self, ticket_id: int) -> list[int]:
        """Cancel the ticket's active appointments and every message still waiting for them."""
        ids = list(
            (
                await self._s.execute(
                    select(Appointment.id).where(
                        Appointment.ticket_id == ticket_id, Appointment.status.in_(ACTIVE)
                    )
                )
            )
            .scalars()
            .all()
        )
        if ids:
            await self._s.execute(
                update(Appointment).where(Appointment.id.in_(ids)).values(status=Status.CANCELLED.value)
            )
            await self._waiting(ids, FollowUpStatus.CANCELLED)
        return ids

    async def answer(self, appointment_id: int, status: Status, proposal: str | None) -> bool:
        """The family's first answer to an offer counts; the thread is to be told."""
        stmt = (
            update(Appointment)
            .where(Appointment.id == appointment_id, Appointment.status == Status.OFFERED.value)
            .values(status=status.value, proposal=proposal, tell_thread=True)
        )
        if rowcount(await self._s.execute(stmt)) != 1:
            return False
        await self._waiting(
            [appointment_id],
            FollowUpStatus.PENDING if status is Status.CONFIRMED else FollowUpStatus.CANCELLED,
        )
        return True

    async def _waiting(self, appointment_ids: list[int], status: FollowUpStatus) -> None:
        """Held reminders become due (confirmed) or, with everything still waiting, are cancelled."""
        waiting = [FollowUpStatus.HELD.value]
        if status is FollowUpStatus.CANCELLED:
            waiting.append(FollowUpStatus.PENDING.value)
        await self._s.execute(
            update(FollowUp)
            .where(FollowUp.appointment_id.in_(appointment_ids), FollowUp.status.in_(waiting))
            .values(status=status.value)
        )

    async def to_tell(self, limit: int) -> Sequence[Appointment]:
        stmt = (
            select(Appointment).where(Appointment.tell_thread.is_(True)).order_by(Appointment.id).limit(limit)
        )
        return (await self._s.execute(stmt)).scalars().all()

    async def told(self, appointment_id: int) -> bool:
        stmt = (
            update(Appointment)
            .where(Appointment.id == appointment_id, Appointment.tell_thread.is_(True))
            .values(tell_thread=False)
        )
        return rowcount(await self._s.execute(stmt)) == 1
