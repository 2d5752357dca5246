"""What the coordinators' desk shares: a ticket's card view, actions, replies, and post-commit sends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dialogs.cards import CardView
from dialogs.primitives import Payload, Screen
from handlers.pacer import Pacer, Priority
from handlers.ports import DeliveryFailedError, Messenger, RecipientUnreachableError
from storage.models import Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import (
    Category,
    ChatRef,
    ContactMethod,
    OutboxKind,
    Outcome,
    Platform,
    TicketStatus,
    person_key,
)

log = logging.getLogger(__name__)
PROMPT_PREFIX = "desk"  # dialog-state keys of pending prompts in coordinators' chats: a schema


async def card_view(uow: UnitOfWork, ticket: Ticket) -> CardView:
    """The card of a ticket, with the family's history (one specialist per family)."""
    earlier = [t for t in await uow.tickets.for_person(ticket.person_id, limit=50) if t.id != ticket.id]
    helpers = list(
        {
            t.assignee: (t.assignee, t.assignee_name) for t in earlier if t.assignee and t.assignee_name
        }.values()
    )
    return CardView(
        id=ticket.id,
        category=Category(ticket.category),
        answers={k: list(v) for k, v in ticket.answers.items()},
        urgent=ticket.urgent,
        danger=list(ticket.danger),
        callback=ticket.callback_requested,
        region=ticket.region,
        region_code=ticket.region_code,
        children=ticket.children_count,
        ages=list(ticket.children_ages),
        description=ticket.description,
        attachments=len(ticket.attachments),
        contact=ContactMethod(ticket.contact_method),
        has_phone=bool(ticket.phone),
        status=TicketStatus(ticket.status),
        created_at=ticket.created_at,
        assignee_name=ticket.assignee_name,
        claimed_at=ticket.claimed_at,
        earlier_tickets=len(earlier),
        earlier_assignees=helpers,
        outcome=Outcome(ticket.outcome) if ticket.outcome else None,
        outcome_note=ticket.outcome_note,
    )


def prompt_key(chat: str, message_id: int) -> str:
    return f"{PROMPT_PREFIX}:{chat}:{message_id}"


@dataclass(frozen=True)
class CoordinatorAction:
    """A button pressed in a coordinators' chat, in neutral terms."""

    platform: Platform
    chat_id: int
    user_id: int
    user_name: str
    payload: Payload | None
    update_id: int | None = None
    message_id: int | None = None

    @property
    def chat(self) -> str:
        return person_key(self.platform, self.chat_id)

    @property
    def actor(self) -> str:
        return person_key(self.platform, self.user_id)


@dataclass(frozen=True)
class ActionReply:
    text: str | None = None
    alert: bool = False  # shown only to the coordinator who pressed (used for the phone number)


@dataclass
class Outbound:
    """What to send after the commit."""

    edits: list[tuple[str, int, Screen]] = field(default_factory=list)  # chat, message, screen
    sends: list[tuple[str, Screen, int | None]] = field(default_factory=list)  # chat, screen, reply_to
    renames: list[tuple[str, int, str]] = field(default_factory=list)  # chat, forum topic, name
    threads: dict[str, int] = field(default_factory=dict)  # chat -> the topic that sends there go to
    prompt_for: int | None = None  # a ticket whose referral prompt must be remembered once sent
    prompt_actor: str = ""
    prompt_state: str = "referral"  # which question the prompt asks (the relay answers by it)
    prompt_data: dict[str, str] = field(default_factory=dict)
    after: list[Callable[[], None]] = field(default_factory=list)  # e.g. wake the delivery worker


async def send_quietly(
    messengers: Mapping[Platform, Messenger],
    chat: str,
    screen: Screen,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
    pacer: Pacer | None = None,
    priority: Priority = Priority.DESK,
) -> bool:
    """A message to a coordinators' or admin's chat whose failure harms nobody: log it and go on."""
    ref = ChatRef.parse(chat)
    messenger = messengers.get(ref.platform)
    if messenger is None:
        return False
    if pacer is not None:
        await pacer.wait(ref, priority)
    try:
        await messenger.send(ref.id, screen, reply_to=reply_to, thread_id=thread_id)
    except (RecipientUnreachableError, DeliveryFailedError) as exc:
        log.warning("a message to a coordinators' or admin's chat was not delivered (%s)", type(exc).__name__)
        return False
    return True


async def follow_chat_move(uow: UnitOfWork, old: str, new: str) -> list[int]:
    """A coordinators' group became a supergroup: the one policy for it, wherever we learn of it.

    Tickets, bindings and the default chat follow it; the cards of open tickets are posted anew
    there through the outbox (message ids do not carry over); the move is audited. Returns those
    tickets.
    """
    moved = await uow.migrations.record(old, new)
    for ticket_id in moved:
        await uow.outbox.add(OutboxKind.TICKET_CREATED, ticket_id, urgent=False, payload={"migrated": True})
    await uow.audit.add("system", "chat_migrated", chat=new, details={"from": old})
    return moved
