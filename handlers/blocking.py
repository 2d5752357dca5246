"""Blocking a person who abuses the bot, from a card of theirs (and unblocking, also by /unblock <n>).

Any coordinator of the ticket's chat, or an admin, may do it; blocking asks for a confirmation on the
card first. A blocked person is never told: they still see the emergency numbers on every screen,
and their new requests are kept as held tickets (``intake.submit``) instead of being posted. Every
block and unblock is in the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from dialogs.cards import Speaker, block_confirm_buttons, card
from dialogs.i18n import N_
from handlers.desk_common import ActionReply, CoordinatorAction, Outbound, card_view
from storage.models import Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import TicketStatus

log = logging.getLogger(__name__)
ACTIONS = frozenset({"block", "block-yes", "block-no", "unblock"})  # card actions: a schema
SILENT = frozenset({TicketStatus.WITHDRAWN.value, TicketStatus.HELD.value})  # cards without a block row


class TicketDesk(Protocol):
    """What blocking needs of the desk (``handlers.tickets.TicketDesk``)."""

    @property
    def speaker(self) -> Speaker: ...

    def _(self, message: str) -> str: ...

    def now(self) -> datetime: ...

    async def speaker_for(self, uow: UnitOfWork, chat: str) -> Speaker: ...

    async def refresh_card(self, uow: UnitOfWork, ticket: Ticket, out: Outbound) -> None: ...


async def press(
    desk: TicketDesk, uow: UnitOfWork, ticket: Ticket, action: CoordinatorAction, *, kind: str, out: Outbound
) -> ActionReply:
    """A block button on a card of ``ticket`` (the desk has checked that it belongs to this chat)."""
    person = await uow.people.by_id(ticket.person_id)
    if person is None or person.deleted_at is not None:
        return ActionReply(desk._(N_("The family has deleted their data: there is nobody to block.")))
    if kind == "block-no":
        await desk.refresh_card(uow, ticket, out)
        return ActionReply()
    if kind == "block":
        if await uow.moderation.blocked(person.id) is not None:
            await desk.refresh_card(uow, ticket, out)
            return ActionReply(desk._(N_("This person is already blocked.")))
        post = await uow.posts.card(ticket.id, action.chat)
        if post is not None:
            screen = card(await desk.speaker_for(uow, action.chat), await card_view(uow, ticket))
            buttons = block_confirm_buttons(desk.speaker, ticket.id)
            out.edits.append((action.chat, post.message_id, replace(screen, buttons=buttons)))
        return ActionReply(
            desk._(
                N_(
                    "Block this person? Their new requests will be kept but not posted here; they will "
                    "still see the emergency numbers. They are not told."
                )
            )
        )
    if kind == "block-yes":
        if not await uow.moderation.block(person.id, action.actor, desk.now()):
            return ActionReply(desk._(N_("This person is already blocked.")))
        await uow.audit.add(
            action.actor, "block", ticket_id=ticket.id, chat=action.chat, actor_name=action.user_name
        )
        await _refresh_cards(desk, uow, person.id, out)
        text = desk._(N_("Blocked. /unblock {n} undoes it.")).format(n=ticket.id)
        return ActionReply(text)
    return await unblock(
        desk, uow, ticket, actor=action.actor, actor_name=action.user_name, chat=action.chat, out=out
    )


async def unblock(
    desk: TicketDesk,
    uow: UnitOfWork,
    ticket: Ticket,
    *,
    actor: str,
    actor_name: str | None,
    chat: str,
    out: Outbound,
) -> ActionReply:
    """Unblock the person of ``ticket``: by the card's button, or by /unblock <number> in its chat."""
    if not await uow.moderation.unblock(ticket.person_id):
        return ActionReply(desk._(N_("This person is not blocked.")))
    await uow.audit.add(actor, "unblock", ticket_id=ticket.id, chat=chat, actor_name=actor_name)
    await _refresh_cards(desk, uow, ticket.person_id, out)
    return ActionReply(desk._(N_("Unblocked: new requests from this person are posted again.")))


async def _refresh_cards(desk: TicketDesk, uow: UnitOfWork, person_id: int, out: Outbound) -> None:
    """Every open card of the person says it (and offers the way back)."""
    for other in await uow.tickets.for_person(person_id, limit=50):
        if other.status not in SILENT:
            await desk.refresh_card(uow, other, out)
