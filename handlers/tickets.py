"""Tickets in coordinators' chats: the card's content, and claiming with one tap."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from dialogs import texts
from dialogs.cards import CARD_STEP, CardView, Speaker, card
from dialogs.i18n import N_, Translators
from dialogs.primitives import Payload, Screen
from dialogs.validate import as_int
from handlers.ports import DeliveryFailedError, Messenger, RecipientUnreachableError
from storage.models import Ticket, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import Category, ContactMethod, Platform, TicketStatus, parse_person_key, person_key

log = logging.getLogger(__name__)


async def card_view(uow: UnitOfWork, ticket: Ticket) -> CardView:
    """The card of a ticket, with the family's history (one specialist per family)."""
    earlier = [t for t in await uow.tickets.for_person(ticket.person_id, limit=50) if t.id != ticket.id]
    helpers = list(dict.fromkeys(t.assignee_name for t in earlier if t.assignee_name))
    return CardView(
        id=ticket.id,
        category=Category(ticket.category),
        answers={k: list(v) for k, v in ticket.answers.items()},
        urgent=ticket.urgent,
        danger=list(ticket.danger),
        callback=ticket.callback_requested,
        region=ticket.region,
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
    )


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


@dataclass(frozen=True)
class ActionReply:
    text: str | None = None
    alert: bool = False  # shown only to the coordinator who pressed (used for the phone number)


@dataclass
class _Claimed:
    card: Screen
    card_platform: Platform
    card_chat: int
    card_message: int | None
    family_platform: Platform
    family_chat: int
    family_text: str


class TicketDesk:
    """What coordinators do with a ticket. Callback data carries no rights: every press is checked here."""

    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        chat_locale: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._messengers = messengers
        self._translators = translators
        self._speaker = Speaker(translators[chat_locale], chat_locale)
        self._clock = clock

    def _(self, message: str) -> str:
        return self._speaker._(message)

    async def press(self, action: CoordinatorAction) -> ActionReply:
        payload = action.payload
        kind, _, raw = payload.value.partition(".") if payload and payload.step == CARD_STEP else ("", "", "")
        ticket_id = as_int(raw)
        if ticket_id is None or kind not in {"claim", "phone"}:
            return ActionReply(self._(N_("This button is out of date.")))
        if kind == "phone":
            return await self._phone(action, ticket_id)
        return await self._claim(action, ticket_id)

    async def _claim(self, action: CoordinatorAction, ticket_id: int) -> ActionReply:
        chat = person_key(action.platform, action.chat_id)
        actor = person_key(action.platform, action.user_id)
        async with self._db.uow() as uow:
            if action.update_id is not None and not await uow.updates.first_time(
                action.platform, action.update_id
            ):
                return ActionReply()
            ticket = await uow.tickets.get(ticket_id)
            if ticket is None or ticket.chat != chat:
                log.warning("refused a claim from a chat the ticket does not belong to")
                return ActionReply(self._(N_("This request does not belong to this chat.")))
            won = await uow.tickets.claim(ticket_id, chat, actor, action.user_name, self._clock())
            await uow.session.refresh(ticket)
            if not won:
                if ticket.status == TicketStatus.CLAIMED.value:
                    text = self._(N_("{name} has already taken this request.")).format(
                        name=ticket.assignee_name
                    )
                    return ActionReply(text)
                return ActionReply(
                    self._(N_("This request is no longer waiting: {status}.")).format(
                        status=self._(texts.STATUS_LABELS[TicketStatus(ticket.status)])
                    )
                )
            await uow.audit.add(actor, "claim", ticket_id=ticket_id, chat=chat, actor_name=action.user_name)
            claimed = await self._claimed(uow, ticket, action)
        await self._after_claim(claimed)
        return ActionReply(self._(N_("The request is yours. The family has been told.")))

    async def _claimed(self, uow: UnitOfWork, ticket: Ticket, action: CoordinatorAction) -> _Claimed:
        family = await uow.people.by_id(ticket.person_id)
        platform, family_chat = (
            parse_person_key(family.key) if family and ":" in family.key else (action.platform, 0)
        )
        post = await uow.posts.card(ticket.id, person_key(action.platform, action.chat_id))
        tr = self._translators[family.locale if family else self._speaker.locale]
        text = tr.gettext(
            N_(
                "🤝 A coordinator has taken your request #{n}. They will contact you soon; you can write "
                "here at any time. If someone is in danger, call 112."
            )
        ).format(n=ticket.id)
        return _Claimed(
            card=card(self._speaker, await card_view(uow, ticket)),
            card_platform=action.platform,
            card_chat=action.chat_id,
            card_message=post.message_id if post else action.message_id,
            family_platform=platform,
            family_chat=family_chat if family and family.reachable and not family.deleted_at else 0,
            family_text=text,
        )

    async def _after_claim(self, claimed: _Claimed) -> None:
        chat_messenger = self._messengers.get(claimed.card_platform)
        if claimed.card_message is not None and chat_messenger is not None:
            await chat_messenger.edit(claimed.card_chat, claimed.card_message, claimed.card)
        family_messenger = self._messengers.get(claimed.family_platform)
        if claimed.family_chat and family_messenger is not None:
            try:
                await family_messenger.send(claimed.family_chat, Screen(text=claimed.family_text))
            except (RecipientUnreachableError, DeliveryFailedError) as exc:
                log.warning("could not tell a family that their request was taken: %s", type(exc).__name__)

    async def _phone(self, action: CoordinatorAction, ticket_id: int) -> ActionReply:
        actor = person_key(action.platform, action.user_id)
        async with self._db.uow() as uow:
            ticket = await uow.tickets.get(ticket_id)
            if ticket is None or ticket.chat != person_key(action.platform, action.chat_id):
                return ActionReply(self._(N_("This request does not belong to this chat.")))
            if ticket.assignee != actor or not ticket.phone:
                return ActionReply(
                    self._(N_("Only the coordinator who took the request sees the phone number."))
                )
            await uow.audit.add(actor, "show_phone", ticket_id=ticket_id, actor_name=action.user_name)
            return ActionReply(
                self._(N_("Phone for request #{n}: {phone}")).format(n=ticket.id, phone=ticket.phone),
                alert=True,
            )
