"""Who hears that a request is waiting: the one place that knows coordinators can be away.

A nudge (a family waiting a day for an answer) or an SLA escalation goes to the ticket's assignee in
their chat; while the assignee is away (/away) it goes to the whole chat and to the admins instead,
so a request never waits on someone who is off. Every sender of such alerts asks here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from storage.models import Ticket
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Recipients:
    chat: str | None  # the coordinators' chat told (None: the ticket reached none)
    addressed: str | None  # the assignee the message speaks to; None: whoever in the chat can act
    away: str | None  # the assignee's name when they are away (said in the message)
    admins: tuple[str, ...]  # admins told in their private chats


async def who_hears(
    uow: UnitOfWork, ticket: Ticket, admins: Collection[str], *, admins_always: bool = False
) -> Recipients:
    """``admins_always``: the alert goes to the admins whether or not anyone is away (escalations)."""
    assignee = ticket.assignee
    away = assignee is not None and bool(await uow.moderation.away_among({assignee}))
    told_admins = tuple(admins) if admins_always or away or ticket.chat is None else ()
    if assignee is None or away:
        name = (ticket.assignee_name or "—") if away else None
        return Recipients(chat=ticket.chat, addressed=None, away=name, admins=told_admins)
    return Recipients(chat=ticket.chat, addressed=assignee, away=None, admins=told_admins)
