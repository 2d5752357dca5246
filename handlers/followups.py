"""Follow-ups after a ticket closed: the offer to check in later, the check-ins, the thread told.

A background job of the one shape (handlers/background.py): due rows of the ``followups`` table are
claimed with a lease in one short transaction, pushed to the family as system turns outside any
transaction (so a family in the middle of a step gets them after it), and the result is recorded in
a new short transaction. A row that fell due while the bot was down is sent at the next tick; one
more than ``expire`` late is marked expired instead. Quiet hours, in the family's own time zone,
move a row to the morning. Nothing is kept only in memory: a crash mid-send leaves a lease that runs
out, and VK's random_id (the push's dedup) keeps a resend from showing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs import hours
from dialogs.appointment import AppointmentCancelled, AppointmentOffer, AppointmentReminder
from dialogs.cards import Speaker, card, topic_name
from dialogs.checkin import CheckIn, FollowUpOffer
from dialogs.directory import Directory
from dialogs.i18n import N_, Translators
from dialogs.primitives import Screen, SystemEvent
from dialogs.texts import esc
from handlers import nudge
from handlers.background import Job
from handlers.desk_common import card_view, send_quietly
from handlers.localtime import Hours, zone_of
from handlers.pacer import Pacer, Priority
from handlers.ports import Messenger
from storage.models import Appointment, FollowUp, Ticket
from storage.uow import Database, UnitOfWork
from storage.vocabulary import (
    AppointmentStatus,
    ChatRef,
    FollowUpAnswer,
    FollowUpKind,
    FollowUpStatus,
    Outcome,
    Platform,
    TicketStatus,
)

log = logging.getLogger(__name__)

Status = FollowUpStatus
Push = Callable[
    ..., Awaitable[object]
]  # ConversationService.push(person, event, dedup=...): truthy when sent
# Only a request that ended with help given or a referral is worth checking on later.
OFFERED_AFTER = frozenset({Outcome.HELPED.value, Outcome.REFERRED.value})
APPOINTMENT_KINDS = frozenset(
    {FollowUpKind.APPOINTMENT.value, FollowUpKind.REMINDER.value, FollowUpKind.CANCELLED.value}
)


@dataclass(frozen=True)
class FollowUpSettings:
    schedule: tuple[timedelta, ...] = (timedelta(days=3), timedelta(days=14))
    expire: timedelta = timedelta(days=3)
    quiet: Hours | None = field(default_factory=lambda: Hours(21, 9))
    default_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    locale: str = "ru"  # the coordinators' chats
    lease: timedelta = timedelta(minutes=5)
    batch: int = 20
    admins: tuple[str, ...] = ()  # ADMIN_IDS: they hear a nudge while its coordinator is away


async def offer_after_close(uow: UnitOfWork, ticket_id: int, outcome: str, at: datetime) -> None:
    """The close hook: ask the family (through the job, so quiet hours hold) whether we may check in."""
    if outcome in OFFERED_AFTER:
        await uow.followups.add(ticket_id, FollowUpKind.OFFER, at)


@dataclass(frozen=True)
class _Plan:
    """What to do with one claimed row, decided in the claiming transaction."""

    row_id: int
    person: str | None = None
    event: SystemEvent | None = None
    skip: str | None = None  # why it is not sent
    morning: datetime | None = None  # quiet hours: due again then
    desk: tuple[str, Screen, int | None, int | None] | None = None  # to a coordinators' chat: reply to, topic
    admins: tuple[str, ...] = ()  # told the desk's message too, in their private chats


class FollowUpJob(Job):
    name = "followups"
    interval = 30.0
    delay = 5.0

    def __init__(
        self,
        db: Database,
        *,
        push: Push,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        directory: Directory,
        settings: FollowUpSettings,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self._push = push
        self._messengers = messengers
        self._directory = directory
        self._settings = settings
        self._pacer = pacer
        self._speaker = Speaker(
            translators[settings.locale], settings.locale, directory, settings.default_zone
        )

    async def run_once(self, now: datetime) -> int:
        s = self._settings
        async with self._db.uow() as uow:
            expired = await uow.followups.expire(now, s.expire)
            if expired:
                log.info("%d follow-ups fell due too long ago (the bot was down) and expired", expired)
            plans = [
                await self._plan(uow, row, now) for row in await uow.followups.claim(now, s.lease, s.batch)
            ]
        for plan in plans:
            if self.halted:
                break  # the rest keep their lease and are claimed again after it
            await self._carry_out(plan, now)
        told = await self._tell_threads() + await self._tell_answers()
        return expired + len(plans) + told

    async def _plan(self, uow: UnitOfWork, row: FollowUp, now: datetime) -> _Plan:
        ticket = await uow.tickets.get(row.ticket_id)
        if ticket is None:
            return _Plan(row.id, skip="the request is gone")
        if row.kind == FollowUpKind.NUDGE.value:
            return await self._plan_nudge(uow, row, ticket, now)
        person = await uow.people.by_id(ticket.person_id)
        if person is None or person.deleted_at is not None or not person.reachable:
            return _Plan(row.id, skip="the family cannot be reached")
        zone = zone_of(self._directory, ticket.region_code, self._settings.default_zone)
        if row.kind in APPOINTMENT_KINDS:
            return await self._plan_appointment(uow, row, ticket, person=person.key, zone=zone, now=now)
        if ticket.status != TicketStatus.CLOSED.value:
            return _Plan(row.id, skip="the request is open again")
        quiet = self._settings.quiet
        if quiet is not None and quiet.contains(now, zone):
            return _Plan(row.id, morning=quiet.next_end(now, zone))
        event: SystemEvent
        if row.kind == FollowUpKind.OFFER.value:
            earlier = await uow.followups.of_ticket(ticket.id)
            if any(r.kind == FollowUpKind.OFFER.value and r.answer == FollowUpAnswer.ALLOW for r in earlier):
                # Closed again after a reopening: the family already said yes; no need to ask twice.
                await self._schedule(uow, ticket.id, ticket.closed_at or now, Status.PENDING)
                return _Plan(row.id, skip="the family already agreed to check-ins")
            event = FollowUpOffer(followup=row.id, ticket=ticket.id)
            await self._schedule(uow, ticket.id, ticket.closed_at or now, Status.HELD)
        else:
            event = CheckIn(followup=row.id, ticket=ticket.id)
        return _Plan(row.id, person=person.key, event=event)

    async def _plan_appointment(
        self, uow: UnitOfWork, row: FollowUp, ticket: Ticket, *, person: str, zone: ZoneInfo, now: datetime
    ) -> _Plan:
        appointment = await uow.appointments.get(row.appointment_id) if row.appointment_id else None
        if appointment is None:
            return _Plan(row.id, skip="the appointment is gone")
        wanted = AppointmentStatus.CANCELLED if row.kind == FollowUpKind.CANCELLED.value else None
        if wanted is None:
            wanted = AppointmentStatus.OFFERED if row.kind == FollowUpKind.APPOINTMENT.value else None
        live = appointment.status == wanted if wanted else appointment.status == AppointmentStatus.CONFIRMED
        if not live or (row.kind != FollowUpKind.CANCELLED.value and appointment.at <= now):
            return _Plan(row.id, skip="the appointment was answered, moved or cancelled, or is past")
        quiet = self._settings.quiet
        if quiet is not None and quiet.contains(now, zone):
            morning = quiet.next_end(now, zone)
            if morning < appointment.at:  # never later than the appointment itself
                return _Plan(row.id, morning=morning)
        fields = {"ticket": ticket.id, "at": appointment.at.isoformat(), "zone": zone.key}
        fields["place"] = appointment.place
        event: SystemEvent
        if row.kind == FollowUpKind.APPOINTMENT.value:
            event = AppointmentOffer(followup=row.id, appointment=appointment.id, **fields)
        elif row.kind == FollowUpKind.REMINDER.value:
            event = AppointmentReminder(**fields)
        else:
            event = AppointmentCancelled(**fields)
        return _Plan(row.id, person=person, event=event)

    async def _plan_nudge(self, uow: UnitOfWork, row: FollowUp, ticket: Ticket, now: datetime) -> _Plan:
        """The coordinators' day-long nudge: not for the family, so no quiet hours of theirs."""
        since = row.due_at - nudge.ANSWER_WAIT
        if not nudge.unanswered(ticket, since) or ticket.chat is None:
            return _Plan(row.id, skip="the family was answered, or the request is no longer taken")
        chat = await uow.migrations.follow(ticket.chat)
        post = await uow.posts.card(ticket.id, chat)
        to = await nudge.addressee(uow, ticket, self._settings.admins)
        screen = nudge.nudge_screen(self._speaker, ticket, to, since, now)
        details = {"away": True} if to.away is not None else None
        await uow.audit.add("system", "sla_nudge", ticket_id=ticket.id, chat=chat, details=details)
        card_id, thread = (post.message_id, post.thread_id) if post is not None else (None, None)
        return _Plan(row.id, desk=(chat, screen, card_id, thread), admins=to.admins)

    async def _schedule(self, uow: UnitOfWork, ticket_id: int, closed_at: datetime, status: Status) -> None:
        for offset in self._settings.schedule:
            await uow.followups.add(ticket_id, FollowUpKind.CHECKIN, closed_at + offset, status)

    async def _carry_out(self, plan: _Plan, now: datetime) -> None:
        if plan.morning is not None:
            async with self._db.uow() as uow:
                await uow.followups.postpone(plan.row_id, plan.morning)
            return
        if plan.desk is not None:
            chat, screen, card_id, thread = plan.desk
            sent = await send_quietly(
                self._messengers,
                chat,
                screen,
                reply_to=card_id,
                thread_id=thread,
                pacer=self._pacer,
                priority=Priority.SCHEDULED,
            )
            for admin in plan.admins:
                await send_quietly(
                    self._messengers, admin, screen, pacer=self._pacer, priority=Priority.SCHEDULED
                )
            async with self._db.uow() as uow:
                await uow.followups.finish(plan.row_id, Status.SENT if sent else Status.FAILED, now)
            return
        if plan.skip is not None or plan.person is None or plan.event is None:
            log.info("a follow-up was skipped: %s", plan.skip)
            async with self._db.uow() as uow:
                await uow.followups.finish(plan.row_id, Status.SKIPPED, now)
            return
        # Outside any transaction; the dedup names the row, so a resend after a crash is not shown twice.
        delivered = bool(await self._push(plan.person, plan.event, dedup=f"fu{plan.row_id}"))
        async with self._db.uow() as uow:
            await uow.followups.finish(plan.row_id, Status.SENT if delivered else Status.FAILED, now)
            if not delivered:
                row = await uow.followups.get(plan.row_id)
                # Not retried forever (VK's intent refused or over its limit, a blocked bot): audited.
                await uow.audit.add("system", "followup_not_sent", ticket_id=row.ticket_id if row else None)

    async def _tell_threads(self) -> int:
        """The coordinators hear that a family still needs help, in the ticket's thread."""
        told = 0
        async with self._db.uow() as uow:
            rows = await uow.followups.to_tell(self._settings.batch)
        for row in rows:
            async with self._db.uow() as uow:
                if not await uow.followups.told(row.id):
                    continue  # another runner has it
                ticket = await uow.tickets.get(row.ticket_id)
                if ticket is None or ticket.chat is None:
                    continue
                chat = await uow.migrations.follow(ticket.chat)
                post = await uow.posts.card(ticket.id, chat)
                view = await card_view(uow, ticket)
                notice = self._notice(row, ticket.status, ticket.assignee_name)
                renewed = card(self._speaker, view), topic_name(self._speaker, view)
            told += 1
            card_id, thread = (post.message_id, post.thread_id) if post is not None else (None, None)
            await send_quietly(
                self._messengers,
                chat,
                notice,
                reply_to=card_id,
                thread_id=thread,
                pacer=self._pacer,
                priority=Priority.DESK,
            )
            await self._refresh(chat, card_id, thread, *renewed)
        return told

    async def _tell_answers(self) -> int:
        """The family's answer to an appointment, in the ticket's thread."""
        told = 0
        async with self._db.uow() as uow:
            appointments = await uow.appointments.to_tell(self._settings.batch)
        for appointment in appointments:
            async with self._db.uow() as uow:
                if not await uow.appointments.told(appointment.id):
                    continue
                ticket = await uow.tickets.get(appointment.ticket_id)
                if ticket is None or ticket.chat is None:
                    continue
                chat = await uow.migrations.follow(ticket.chat)
                post = await uow.posts.card(ticket.id, chat)
                zone = zone_of(self._directory, ticket.region_code, self._settings.default_zone)
            told += 1
            card_id, thread = (post.message_id, post.thread_id) if post is not None else (None, None)
            notice = Screen(text=self._answer_text(appointment, zone))
            await send_quietly(
                self._messengers, chat, notice, reply_to=card_id, thread_id=thread, pacer=self._pacer
            )
        return told

    def _answer_text(self, appointment: Appointment, zone: ZoneInfo) -> str:
        """The appointment's time as it was given: the family's local time."""
        s = self._speaker
        when = hours.when(appointment.at, zone, s.locale)
        if appointment.status == AppointmentStatus.CONFIRMED:
            text = s._(N_("📅 Request #{n}: the family confirmed the appointment of {when}."))
        elif appointment.status == AppointmentStatus.DECLINED:
            text = s._(N_("📅 Request #{n}: the family can't come to the appointment of {when}."))
        else:
            text = s._(N_("📅 Request #{n}: the family asks for another time than {when}: {proposal}"))
        return text.format(n=appointment.ticket_id, when=when, proposal=esc(appointment.proposal or "—"))

    def _notice(self, row: FollowUp, status: str, assignee: str | None) -> Screen:
        s = self._speaker
        if row.answer == FollowUpAnswer.NO:
            head = s._(N_("🔄 The family of request #{n} still needs help (check-in answer: no)."))
        else:
            head = s._(N_("🔄 The family of request #{n} got only part of the help they needed."))
        lines = [head.format(n=row.ticket_id)]
        if row.comment:
            lines.append(s._(N_("They wrote: {comment}")).format(comment=esc(row.comment)))
        if status == TicketStatus.CLAIMED.value:
            lines.append(s._(N_("The request is open again for {name}.")).format(name=esc(assignee or "—")))
        elif status == TicketStatus.NEW.value:
            lines.append(s._(N_("Its coordinator is no longer on it: the request waits to be taken.")))
        return Screen(text="\n".join(lines))

    async def _refresh(
        self, chat: str, card_id: int | None, thread: int | None, screen: Screen, name: str
    ) -> None:
        ref = ChatRef.parse(chat)
        messenger = self._messengers.get(ref.platform)
        if messenger is None or card_id is None:
            return
        await messenger.edit(ref.id, card_id, screen)
        if thread is not None:
            await messenger.rename_topic(ref.id, thread, name)
