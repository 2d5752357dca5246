"""/appoint in a ticket's thread: the assignee offers the family an in-person appointment.

``/appoint DD.MM HH:MM place, what to bring`` (the time is the family's local time: the appointment
is where they live); ``/appoint cancel`` calls it off. The offer, its reminders and a cancellation
are follow-up rows sent by the follow-up job, so they keep quiet hours and survive restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs import hours
from dialogs.directory import Directory
from dialogs.i18n import N_, Translator
from dialogs.primitives import Screen
from dialogs.texts import esc
from handlers.localtime import Hours, zone_of
from storage.models import Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import FollowUpKind, FollowUpStatus

COMMAND = "/appoint"
_ONE_MESSAGE = re.compile(
    r"^/appoint(?:@\w+)?\s+(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?\s+(\d{1,2})[:.](\d{2})\s+(\S.*)$", re.DOTALL
)
_CANCEL = re.compile(r"^/appoint(?:@\w+)?\s+(cancel|отмена|отменить)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class AppointmentSettings:
    directory: Directory
    reminders: tuple[timedelta, ...] = (timedelta(days=1), timedelta(hours=2))
    quiet: Hours | None = None
    default_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))


def is_appoint(text: str) -> bool:
    head = text.strip().split(maxsplit=1)[0].lower() if text.strip() else ""
    return head.split("@", 1)[0] == COMMAND


async def appoint(
    uow: UnitOfWork,
    ticket: Ticket,
    actor: str,
    text: str,
    *,
    now: datetime,
    s: AppointmentSettings,
    tr: Translator,
    locale: str,
) -> str:
    """Carry out /appoint in the ticket's transaction; the answer for the thread."""
    zone = zone_of(s.directory, ticket.region_code, s.default_zone)
    if _CANCEL.match(text.strip()):
        cancelled = await uow.appointments.cancel(ticket.id)
        if not cancelled:
            return tr.gettext(N_("There is no appointment to cancel."))
        for appointment_id in cancelled:
            await uow.followups.add(ticket.id, FollowUpKind.CANCELLED, now, appointment_id=appointment_id)
        await uow.audit.add(actor, "appointment_cancel", ticket_id=ticket.id)
        return tr.gettext(N_("📅 The appointment is cancelled; the family will be told."))
    at, place = _parse(text.strip(), now, zone)
    if at is None or not place:
        return tr.gettext(
            N_(
                "To offer an appointment, write in one message: /appoint DD.MM HH:MM place, what to bring "
                "(the family's local time). To call it off: /appoint cancel."
            )
        )
    if at <= now:
        return tr.gettext(N_("This time has already passed. Please give a time in the future."))
    appointment = await uow.appointments.add(ticket.id, at, place, actor)
    await uow.followups.add(ticket.id, FollowUpKind.APPOINTMENT, now, appointment_id=appointment.id)
    for offset in s.reminders:
        due = _earlier_if_quiet(at - offset, s.quiet, zone)
        if due > now:
            # Held until the family confirms; cancelled with the appointment.
            await uow.followups.add(
                ticket.id, FollowUpKind.REMINDER, due, FollowUpStatus.HELD, appointment_id=appointment.id
            )
    await uow.audit.add(actor, "appointment", ticket_id=ticket.id, details={"at": at.isoformat()})
    return tr.gettext(
        N_("📅 Offered to the family: {when}, {place}. You will see their answer here.")
    ).format(when=hours.when(at, zone, locale), place=esc(place))


def _parse(text: str, now: datetime, zone: ZoneInfo) -> tuple[datetime | None, str]:
    match = _ONE_MESSAGE.match(text)
    if match is None:
        return None, ""
    day, month, year, hour, minute, place = match.groups()
    local_now = now.astimezone(zone)
    try:
        at = datetime(int(year or local_now.year), int(month), int(day), int(hour), int(minute), tzinfo=zone)
    except ValueError:
        return None, ""
    if year is None and at < local_now - timedelta(days=1):
        at = at.replace(year=at.year + 1)  # "05.01" written in December means next January
    return at, " ".join(place.split())


def _earlier_if_quiet(due: datetime, quiet: Hours | None, zone: ZoneInfo) -> datetime:
    """A reminder that would fall in the family's night goes the evening before, never later."""
    if quiet is None or not quiet.contains(due, zone):
        return due
    local = due.astimezone(zone)
    began = local.replace(hour=quiet.start, minute=0, second=0, microsecond=0)
    if began > local:
        began -= timedelta(days=1)
    return began - timedelta(hours=1)


PROMPT = "appoint"


def is_bare(text: str) -> bool:
    """/appoint alone: the short dialog (when, then where and what to bring) instead of one message."""
    return len(text.strip().split()) == 1


def prompt(step: str, ticket_id: int, tr: Translator) -> Screen:
    if step == "when":
        text = tr.gettext(N_("📅 Appointment for request #{n}: reply with the date and time, DD.MM HH:MM."))
    else:
        text = tr.gettext(N_("📅 Request #{n}: reply with the place, and what to bring."))
    return Screen(text=text.format(n=ticket_id), force_reply=True)


def valid_when(text: str, now: datetime, zone: ZoneInfo) -> bool:
    at, _ = _parse(f"{COMMAND} {text.strip()} -", now, zone)
    return at is not None
