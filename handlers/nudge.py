"""The day-long "waiting for an answer" nudge: a follow-up row of its own kind, for the coordinators.

When a family writes in a taken request, a ``nudge`` row is scheduled a day later (unless one already
waits: the wait counts from the first unanswered message). The follow-up job claims it like any other
row (one atomic claim, after restarts too) and, if the family is still unanswered, tells the ticket's
thread. An answer from the coordinator, a close, a release, a transfer or a reopening calls it off.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.cards import Speaker
from dialogs.i18n import N_
from dialogs.primitives import Screen
from dialogs.texts import esc
from handlers.away import who_hears
from storage.models import Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import FollowUpKind, TicketStatus

ANSWER_WAIT = timedelta(days=1)  # how long a family waits for an answer before its coordinator is nudged
KIND = FollowUpKind.NUDGE


async def family_wrote(uow: UnitOfWork, ticket: Ticket, at: datetime) -> None:
    """The family wrote in a taken request: the nudge waits a day from its first unanswered message."""
    if ticket.status == TicketStatus.CLAIMED.value and not await uow.followups.waiting(ticket.id, KIND):
        await uow.followups.add(ticket.id, KIND, at + ANSWER_WAIT)


async def called_off(uow: UnitOfWork, ticket_id: int) -> None:
    """The family was answered, or the request changed hands or state: no nudge is owed."""
    await uow.followups.cancel(ticket_id, KIND)


async def unless_taken(uow: UnitOfWork, ticket_id: int) -> None:
    """After a coordinator's action: a request no longer taken (released, closed, moved to another
    chat) owes no nudge."""
    ticket = await uow.tickets.get(ticket_id)
    if ticket is None or ticket.status != TicketStatus.CLAIMED.value:
        await called_off(uow, ticket_id)


def unanswered(ticket: Ticket, since: datetime) -> bool:
    """Still taken, and no answer from the coordinator since the family's first unanswered message."""
    if ticket.status != TicketStatus.CLAIMED.value or ticket.chat is None:
        return False
    return ticket.coordinator_wrote_at is None or ticket.coordinator_wrote_at < since


@dataclass(frozen=True)
class Addressee:
    name: str | None = None  # the assignee spoken to; None: whoever in the chat can take it over
    away: str | None = None  # the assignee's name while they are away (/away)
    admins: tuple[str, ...] = ()  # told in their private chats too (while the assignee is away)


async def addressee(uow: UnitOfWork, ticket: Ticket, admins: Collection[str] = ()) -> Addressee:
    """Who the nudge speaks to: the assignee while they are in the ticket's chat and not away; the
    group (and, while the assignee is away, the admins) otherwise. The one place that decides it."""
    if ticket.assignee is None or ticket.chat is None:
        return Addressee()
    if not await uow.members.active(ticket.chat, ticket.assignee):
        return Addressee()
    hears = await who_hears(uow, ticket, admins)
    if hears.away is not None:
        return Addressee(away=hears.away, admins=hears.admins)
    return Addressee(name=ticket.assignee_name or "—")


def nudge_screen(s: Speaker, ticket: Ticket, to: Addressee, since: datetime, now: datetime) -> Screen:
    """``since``: the family's first unanswered message."""
    minutes = max(1, int((now - since).total_seconds() // 60))
    waited = s.ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    if to.name is not None:
        text = s._(
            N_("🔔 {name}, the family of request #{n} has been waiting for your answer for {waited}.")
        ).format(name=esc(to.name), n=ticket.id, waited=waited)
    elif to.away is not None:
        text = s._(
            N_(
                "🔔 The family of request #{n} has been waiting for an answer for {waited}, and {name} "
                "is away. Who can answer them?"
            )
        ).format(name=esc(to.away), n=ticket.id, waited=waited)
    else:
        text = s._(
            N_(
                "🔔 The family of request #{n} has been waiting for an answer for {waited}, and its "
                "coordinator is no longer in this chat. Who can take it over?"
            )
        ).format(n=ticket.id, waited=waited)
    return Screen(text=text)
