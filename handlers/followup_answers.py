"""The family's answers to follow-ups and appointments, carried out inside the turn's transaction (see effects.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from dialogs.effects import AnswerAppointment, AnswerFollowUp, RateFollowUp
from storage.models import Person
from storage.uow import UnitOfWork
from storage.vocabulary import AppointmentStatus, FollowUpAnswer

log = logging.getLogger(__name__)

Answer = FollowUpAnswer


class Scope(Protocol):
    """What these handlers need of effects.Scope (named here: effects.py imports this module)."""

    uow: UnitOfWork
    person: Person
    now: datetime


async def _owned(scope: Scope, followup_id: int) -> int | None:
    """The follow-up's ticket, when it is this family's own (dialog data is ours, but check anyway)."""
    row = await scope.uow.followups.get(followup_id)
    if row is None:
        return None
    ticket = await scope.uow.tickets.get_for_person(scope.person.id, row.ticket_id)
    return ticket.id if ticket is not None else None


async def answer(scope: Scope, effect: AnswerFollowUp) -> None:
    uow = scope.uow
    ticket_id = await _owned(scope, effect.followup_id)
    if ticket_id is None or effect.answer not in set(Answer):
        return
    reopen = effect.answer == Answer.NO or (effect.answer == Answer.PARTLY and bool(effect.comment))
    if not await uow.followups.answer(
        effect.followup_id, effect.answer, scope.now, comment=effect.comment, tell_thread=reopen
    ):
        log.info("a follow-up was answered twice; the first answer counts")
        return
    if effect.answer in (Answer.ALLOW, Answer.DENY):
        await uow.followups.decide(ticket_id, allowed=effect.answer == Answer.ALLOW)
    if reopen:
        ticket = await uow.tickets.get(ticket_id)
        # A coordinator who left the chat does not get the request back: the group does.
        active = (
            ticket is not None
            and ticket.assignee is not None
            and ticket.chat is not None
            and await uow.members.active(ticket.chat, ticket.assignee)
        )
        status = await uow.followups.reopen_ticket(ticket_id, scope.now, same_coordinator=active)
        details = {"answer": effect.answer, "status": status or "already open"}
        await uow.audit.add(scope.person.key, "followup_reopen", ticket_id=ticket_id, details=details)


async def rate(scope: Scope, effect: RateFollowUp) -> None:
    if 1 <= effect.rating <= 5 and await _owned(scope, effect.followup_id) is not None:
        await scope.uow.followups.rate(effect.followup_id, effect.rating)


async def answer_appointment(scope: Scope, effect: AnswerAppointment) -> None:
    uow = scope.uow
    appointment = await uow.appointments.get(effect.appointment_id)
    if appointment is None or effect.answer not in set(AppointmentStatus):
        return
    if await uow.tickets.get_for_person(scope.person.id, appointment.ticket_id) is None:
        return  # not this family's appointment
    status = AppointmentStatus(effect.answer)
    if status in (AppointmentStatus.OFFERED, AppointmentStatus.CANCELLED):
        return
    if await uow.appointments.answer(appointment.id, status, effect.proposal):
        details = {"answer": status.value}
        await uow.audit.add(
            scope.person.key, "appointment_answer", ticket_id=appointment.ticket_id, details=details
        )
