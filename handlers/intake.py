"""What a family's request and messages do to tickets: create one, join an open one, add to one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dialogs.primitives import Event, EventKind
from dialogs.refusals import OPEN_LIMIT
from dialogs.state import Attachment, Draft
from storage.models import Person, Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import OPEN_STATUSES, Category, ContactMethod, OutboxKind, TicketStatus

log = logging.getLogger(__name__)
OPEN_VALUES = frozenset(s.value for s in OPEN_STATUSES)


async def submit(uow: UnitOfWork, person: Person, draft: Draft) -> Event:
    """A confirmed request: a new ticket with its outbox row, or, for the same kind, the open one.

    A blocked person's request is kept (held, never posted); a person who has OPEN_LIMIT open
    requests is refused a new one (joining an open one of the same kind is still fine).
    """
    if await uow.moderation.blocked(person.id) is not None:
        ticket = await uow.tickets.create(**_fields(person, draft), status=TicketStatus.HELD.value)
        await uow.audit.add("system", "held_blocked", ticket_id=ticket.id)
        log.info("ticket %s from a blocked person is held", ticket.id)
        return Event(kind=EventKind.TICKET_HELD, number=ticket.id)
    same = await _open_of_kind(uow, person.id, draft)
    if same is not None:
        if draft.phone and not same.phone:
            same.phone, same.contact_method = draft.phone, ContactMethod.PHONE.value
        await add_entry(uow, same, draft.description, draft.attachments, urgent=draft.urgent)
        log.info("a new request joined open ticket %s of the same category", same.id)
        return Event(kind=EventKind.TICKET_MERGED, number=same.id)
    if await uow.moderation.open_count(person.id) >= OPEN_LIMIT:
        log.info("a new request was refused: the person has %d open ones already", OPEN_LIMIT)
        return Event(kind=EventKind.TICKET_REFUSED)
    ticket = await uow.tickets.create(**_fields(person, draft))
    await uow.outbox.add(OutboxKind.TICKET_CREATED, ticket.id, urgent=ticket.urgent, payload={})
    if draft.region:
        await uow.people.set_region(person, draft.region_code or draft.region)
    log.info("ticket %s created (urgent=%s)", ticket.id, ticket.urgent)
    return Event(kind=EventKind.TICKET_CREATED, number=ticket.id)


async def open_owned(uow: UnitOfWork, person_id: int, ticket_id: int) -> Ticket | None:
    """The ticket, if it is this family's and still open: a number in a button proves nothing."""
    ticket = await uow.tickets.get_for_person(person_id, ticket_id)
    if ticket is None or ticket.status not in OPEN_VALUES:
        log.warning("refused a change to a ticket that is not open or not owned")
        return None
    return ticket


async def add_entry(
    uow: UnitOfWork,
    ticket: Ticket,
    text: str,
    attachments: Sequence[Attachment],
    *,
    urgent: bool,
    kind: OutboxKind = OutboxKind.TICKET_INFO_ADDED,
    payload: dict[str, Any] | None = None,
) -> None:
    """Keep what the family added with the ticket, and queue it for the ticket's thread."""
    files = [a.model_dump(mode="json") for a in attachments]
    entry = await uow.tickets.add_entry(ticket.id, "family", text, files)
    if urgent:
        ticket.urgent = True
    await uow.outbox.add(
        kind, ticket.id, urgent=ticket.urgent, payload={"entry": entry.id, **(payload or {})}
    )


async def _open_of_kind(uow: UnitOfWork, person_id: int, draft: Draft) -> Ticket | None:
    """One open ticket per family and category (an urgent call back is always its own)."""
    if draft.callback:
        return None
    category = (draft.category or Category.OTHER).value
    tickets = await uow.tickets.for_person(person_id)
    return next((t for t in tickets if t.category == category and t.status in OPEN_VALUES), None)


def _fields(person: Person, draft: Draft) -> dict[str, Any]:
    return {
        "person_id": person.id,
        "category": (draft.category or Category.OTHER).value,
        "answers": draft.answers,
        "urgent": draft.urgent,
        "danger": list(draft.danger),
        "callback_requested": draft.callback,
        "region": draft.region,
        "region_code": draft.region_code,
        "children_count": draft.children,
        "children_ages": draft.ages,
        "has_under4": draft.has_under4,
        "description": draft.description,
        "attachments": [a.model_dump(mode="json") for a in draft.attachments],
        "contact_method": (draft.contact or ContactMethod.CHAT).value,
        "phone": draft.phone,
        "locale": person.locale,
    }
