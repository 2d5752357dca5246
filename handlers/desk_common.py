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
from storage.uow import Database, UnitOfWork
from storage.vocabulary import (
    Category,
    ChatRef,
    ContactMethod,
    OutboxKind,
    Outcome,
    Platform,
    TicketStatus,
    parse_person_key,
    person_key,
)

log = logging.getLogger(__name__)
PROMPT_PREFIX = "desk"  # dialog-state keys of pending prompts in coordinators' chats: a schema


async def card_view(uow: UnitOfWork, ticket: Ticket) -> CardView:
    """The card of a ticket, with the family's history (one specialist per family)."""
    earlier = [t for t in await uow.tickets.for_person(ticket.person_id, limit=50) if t.id != ticket.id]
    blocked = await uow.moderation.blocked(ticket.person_id)
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
        blocked=blocked is not None,
    )


def prompt_key(chat: str, message_id: int) -> str:
    return f"{PROMPT_PREFIX}:{chat}:{message_id}"


@dataclass(frozen=True)
class InChat:
    """Someone in a coordinators' chat: the chat's and the person's keys ("tg:-100...", "tg:123")."""

    platform: Platform
    chat_id: int
    user_id: int
    user_name: str

    @property
    def chat(self) -> str:
        return person_key(self.platform, self.chat_id)

    @property
    def actor(self) -> str:
        return person_key(self.platform, self.user_id)


@dataclass(frozen=True)
class CoordinatorAction(InChat):
    """A button pressed in a coordinators' chat, in neutral terms."""

    payload: Payload | None
    update_id: int | None = None
    message_id: int | None = None


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


async def deliver(
    db: Database, messengers: Mapping[Platform, Messenger], pacer: Pacer, out: Outbound
) -> None:
    """Carry out what a desk action queued, after its commit: edits, topic names, then messages."""
    for hook in out.after:
        hook()
    for chat, message_id, screen in out.edits:
        platform, chat_id = parse_person_key(chat)
        if (messenger := messengers.get(platform)) is not None:
            await pacer.wait(ChatRef.of(platform, chat_id), Priority.DESK)
            await messenger.edit(chat_id, message_id, screen)
    for chat, thread_id, name in out.renames:
        platform, chat_id = parse_person_key(chat)
        if (messenger := messengers.get(platform)) is not None:
            await messenger.rename_topic(chat_id, thread_id, name)
    for chat, screen, reply_to in out.sends:
        platform, chat_id = parse_person_key(chat)
        messenger = messengers.get(platform)
        if messenger is None:
            continue
        await pacer.wait(ChatRef.of(platform, chat_id), Priority.DESK)
        try:
            ids = await messenger.send(chat_id, screen, reply_to=reply_to, thread_id=out.threads.get(chat))
        except RecipientUnreachableError:
            async with db.uow() as uow:
                await uow.people.set_reachable(chat, False)
            continue
        except DeliveryFailedError:
            log.warning("a message from the coordinators' desk could not be delivered")
            continue
        if ChatRef.of(platform, chat_id).is_private:  # the quick exit must be able to delete it
            async with db.uow() as uow:
                await uow.chat_log.add(chat, ids, from_bot=True)
        elif out.prompt_for is not None and screen.force_reply:
            async with db.uow() as uow:
                await uow.dialogs.save(
                    prompt_key(chat, ids[-1]),
                    out.prompt_state,
                    {"ticket": out.prompt_for, "actor": out.prompt_actor, **out.prompt_data},
                )
