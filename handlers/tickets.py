"""Tickets in coordinators' chats: the card's content, and what the card's buttons do.

Callback data carries no rights: every press is checked here against the ticket's chat, its status
and its assignee (or an admin). Each action is one transaction; messages go out after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, tzinfo

from dialogs import admin, texts
from dialogs.cards import (
    CardAction,
    Speaker,
    card,
    closed_for_family,
    outcome_buttons,
    referral_prompt,
    reopened_for_family,
    topic_name,
    transferred_card,
    transferred_for_family,
)
from dialogs.directory import Directory
from dialogs.i18n import N_, Translators
from dialogs.primitives import Screen
from dialogs.validate import as_int
from handlers import blocking, nudge
from handlers.admins import AdminRoster
from handlers.desk_common import ActionReply, CoordinatorAction, Outbound, card_view, deliver
from handlers.followups import offer_after_close
from handlers.inflight import InFlight
from handlers.localtime import chat_zone
from handlers.pacer import NoPacer, Pacer
from handlers.ports import Messenger
from storage.models import Ticket, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import (
    Category,
    OutboxKind,
    Outcome,
    Platform,
    TicketStatus,
)

log = logging.getLogger(__name__)


class TicketDesk:
    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        chat_locale: str,
        admins: Collection[str] = (),
        directory: Directory | None = None,
        default_chat: str | None = None,
        on_outbox: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        in_flight: InFlight | None = None,
        pacer: Pacer | None = None,
        chat_zone: tzinfo | None = None,
    ) -> None:
        self.db = db
        self.pacer = pacer or NoPacer()
        self.in_flight = in_flight or InFlight()
        self._directory = directory or Directory(regions=(), contacts=())
        self._default_chat = default_chat
        self._on_outbox = on_outbox
        self.messengers = messengers
        self._translators = translators
        self._speaker = Speaker(translators[chat_locale], chat_locale, self._directory, chat_zone)
        self.admins: Collection[str] = admins if isinstance(admins, AdminRoster) else frozenset(admins)
        self._clock = clock

    def _(self, message: str) -> str:
        return self._speaker._(message)

    @property
    def speaker(self) -> Speaker:
        return self._speaker

    @property
    def directory(self) -> Directory:
        return self._directory

    def now(self) -> datetime:
        return self._clock()

    async def press(self, action: CoordinatorAction) -> ActionReply:
        """Tracked, so a shutdown lets it finish."""
        async with self.in_flight.track():
            return await self._press(action)

    async def _press(self, action: CoordinatorAction) -> ActionReply:
        pressed = CardAction.unpack(action.payload)
        known = {"claim", "phone", "release", "close", "back", "reopen", "transfer", *blocking.ACTIONS}
        known |= {f"oc-{o.value}" for o in Outcome}
        if pressed is None or (pressed.action not in known and pressed.kind not in {"trc", "trp", "trr"}):
            return ActionReply(self._(N_("This button is out of date.")))
        kind, ticket_id = pressed.action, pressed.ticket
        out = Outbound()
        async with self.db.uow() as uow:
            if action.update_id is not None and not await uow.updates.first_time(
                action.platform, action.update_id
            ):
                return ActionReply()
            ticket = await uow.tickets.get(ticket_id)
            if ticket is None or ticket.chat != action.chat:
                log.warning("refused a card action from a chat the ticket does not belong to")
                return ActionReply(self._(N_("This request does not belong to this chat.")))
            if kind == "claim":
                reply = await self._claim(uow, ticket, action, out)
            elif kind == "phone":
                reply = await self._phone(uow, ticket, action)
            elif kind in blocking.ACTIONS:  # any coordinator of the ticket's chat, or an admin
                reply = await blocking.press(self, uow, ticket, action, kind=kind, out=out)
            elif not self._may_manage(ticket, action.actor):
                reply = ActionReply(
                    self._(N_("Only the coordinator who took the request, or an admin, can do this."))
                )
            else:
                reply = await self._manage(uow, ticket, action, pressed, out)
                await nudge.unless_taken(uow, ticket.id)  # released, closed, moved: no nudge is owed
        await self.carry_out(out)
        return reply

    def _may_manage(self, ticket: Ticket, actor: str) -> bool:
        return actor == ticket.assignee or actor in self.admins

    async def _claim(
        self, uow: UnitOfWork, ticket: Ticket, action: CoordinatorAction, out: Outbound
    ) -> ActionReply:
        won = await uow.tickets.claim(ticket.id, action.chat, action.actor, action.user_name, self._clock())
        await uow.session.refresh(ticket)
        if not won:
            if ticket.status == TicketStatus.CLAIMED.value:
                return ActionReply(
                    self._(N_("{name} has already taken this request.")).format(name=ticket.assignee_name)
                )
            status = self._(texts.STATUS_LABELS[TicketStatus(ticket.status)])
            return ActionReply(
                self._(N_("This request is no longer waiting: {status}.")).format(status=status)
            )
        await uow.audit.add(
            action.actor, "claim", ticket_id=ticket.id, chat=action.chat, actor_name=action.user_name
        )
        await self.refresh_card(uow, ticket, out)
        told = await self._tell_family(
            uow,
            ticket,
            out,
            lambda s: Screen(
                text=s._(
                    N_(
                        "🤝 A coordinator has taken your request #{n}. They will contact you soon; you can write "
                        "here at any time. If someone is in danger, call 112."
                    )
                ).format(n=ticket.id)
            ),
        )
        return self._told(self._(N_("The request is yours.")), told)

    async def _phone(self, uow: UnitOfWork, ticket: Ticket, action: CoordinatorAction) -> ActionReply:
        if ticket.assignee != action.actor or not ticket.phone:
            return ActionReply(self._(N_("Only the coordinator who took the request sees the phone number.")))
        await uow.audit.add(action.actor, "show_phone", ticket_id=ticket.id, actor_name=action.user_name)
        text = self._(N_("Phone for request #{n}: {phone}")).format(n=ticket.id, phone=ticket.phone)
        return ActionReply(text, alert=True)

    async def _manage(
        self, uow: UnitOfWork, ticket: Ticket, action: CoordinatorAction, pressed: CardAction, out: Outbound
    ) -> ActionReply:
        now, kind = self._clock(), pressed.action
        post = await uow.posts.card(ticket.id, action.chat)
        if kind == "close" and ticket.status == TicketStatus.CLAIMED.value and post is not None:
            screen = card(await self.speaker_for(uow, action.chat), await card_view(uow, ticket))
            out.edits.append(
                (
                    action.chat,
                    post.message_id,
                    replace(screen, buttons=outcome_buttons(self._speaker, ticket.id)),
                )
            )
            return ActionReply(self._(N_("How did it end?")))
        if kind == "back":
            await self.refresh_card(uow, ticket, out)
            return ActionReply()
        if kind == "oc-referred" and ticket.status == TicketStatus.CLAIMED.value:
            out.sends.append(
                (action.chat, referral_prompt(self._speaker, ticket.id), post.message_id if post else None)
            )
            out.prompt_for, out.prompt_actor = ticket.id, action.actor
            return ActionReply(self._(N_("Reply to my message with the organisation's name.")))
        if pressed.kind == "oc":
            outcome = Outcome(pressed.arg)
            if not await uow.tickets.close(ticket.id, action.chat, outcome.value, None, now):
                return ActionReply(self._(N_("This request cannot be closed now.")))
            await self.closed(
                uow, ticket, action.actor, action.user_name, outcome=outcome, note=None, out=out
            )
            return ActionReply(self._(N_("Closed. The family has been told.")))
        if pressed.kind in {"transfer", "trc", "trp", "trr"}:
            return await self._transfer(uow, ticket, action, pressed, out)
        if kind == "release" and await uow.tickets.release(ticket.id, action.chat, now):
            await uow.audit.add(
                action.actor, "release", ticket_id=ticket.id, chat=action.chat, actor_name=action.user_name
            )
            await uow.session.refresh(ticket)
            await self.refresh_card(uow, ticket, out)
            return ActionReply(self._(N_("Released: another coordinator can take it.")))
        if kind == "reopen" and await uow.tickets.reopen(ticket.id, action.chat, now):
            await uow.audit.add(
                action.actor, "reopen", ticket_id=ticket.id, chat=action.chat, actor_name=action.user_name
            )
            await uow.session.refresh(ticket)
            await self.refresh_card(uow, ticket, out)
            told = await self._tell_family(uow, ticket, out, lambda s: reopened_for_family(s, ticket.id))
            return self._told(self._(N_("Reopened.")), told)
        return ActionReply(self._(N_("This button is out of date.")))

    async def _transfer(
        self, uow: UnitOfWork, ticket: Ticket, action: CoordinatorAction, pressed: CardAction, out: Outbound
    ) -> ActionReply:
        """Transfer, step by step on the card: the kind of help, then the region, then the move."""
        post = await uow.posts.card(ticket.id, action.chat)
        if post is None or ticket.status != TicketStatus.CLAIMED.value:
            return ActionReply(self._(N_("This request cannot be transferred now.")))
        base = card(await self.speaker_for(uow, action.chat), await card_view(uow, ticket))
        step, arg = pressed.kind, pressed.arg
        category = Category(pressed.category) if pressed.category in {c.value for c in Category} else None
        if step == "transfer":
            buttons = admin.transfer_categories(self._speaker, ticket.id)
        elif step in {"trc", "trp"} and category is not None:
            buttons = admin.transfer_regions(
                self._speaker, self._directory, ticket.id, category.value, as_int(arg) or 0
            )
        elif step == "trr" and category is not None:
            return await self._move(
                uow, ticket, action, category=category, region_arg=arg, base=base, out=out
            )
        else:
            return ActionReply(self._(N_("This button is out of date.")))
        out.edits.append((action.chat, post.message_id, replace(base, buttons=buttons)))
        return ActionReply()

    async def _move(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        action: CoordinatorAction,
        *,
        category: Category,
        region_arg: str,
        base: Screen,
        out: Outbound,
    ) -> ActionReply:
        region = self._directory.region(region_arg) if region_arg != admin.SAME else None
        if region_arg != admin.SAME and region is None:
            return ActionReply(self._(N_("This button is out of date.")))
        region_code = region.code if region else ticket.region_code
        region_name = region.name(self._speaker.locale) if region else ticket.region
        target = await uow.bindings.route(region_code, category.value) or self._default_chat
        target = await uow.migrations.follow(target) if target else action.chat
        moves = target != action.chat
        if not await uow.tickets.transfer(
            ticket.id,
            action.chat,
            category=category.value,
            region_code=region_code,
            region=region_name,
            moves=moves,
        ):
            return ActionReply(self._(N_("This request cannot be transferred now.")))
        if category.value != ticket.category:
            ticket.answers = {}
        details = {"category": category.value, "region": region_code, "to": target}
        await uow.audit.add(
            action.actor,
            "transfer",
            ticket_id=ticket.id,
            chat=action.chat,
            actor_name=action.user_name,
            details=details,
        )
        await uow.session.refresh(ticket)
        if not moves:
            await self.refresh_card(uow, ticket, out)
            return ActionReply(self._(N_("Changed. The request stays in this chat.")))
        post = await uow.posts.card(ticket.id, action.chat)
        scope = admin.scope_text(self._speaker, self._directory, category.value, region_code)
        if post is not None:
            out.edits.append((action.chat, post.message_id, transferred_card(self._speaker, base, scope)))
        await uow.outbox.add(
            OutboxKind.TICKET_CREATED, ticket.id, urgent=ticket.urgent, payload={"transfer": True}
        )
        told = await self._tell_family(
            uow, ticket, out, lambda s: transferred_for_family(s, ticket.id, category)
        )
        if self._on_outbox is not None:
            out.after.append(self._on_outbox)
        return self._told(self._(N_("Transferred.")), told)

    async def closed(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        actor: str,
        actor_name: str | None,
        *,
        outcome: Outcome,
        note: str | None,
        out: Outbound,
    ) -> bool:
        """After a close: audit, the card, and a plain-words message to the family (False: not reachable)."""
        await uow.audit.add(
            actor,
            "close",
            ticket_id=ticket.id,
            chat=ticket.chat,
            actor_name=actor_name,
            details={"outcome": outcome.value},
        )
        await uow.session.refresh(ticket)
        await nudge.unless_taken(uow, ticket.id)
        await offer_after_close(uow, ticket.id, outcome.value, ticket.closed_at or self._clock())
        await self.refresh_card(uow, ticket, out)
        return await self._tell_family(
            uow, ticket, out, lambda s: closed_for_family(s, ticket.id, outcome, note)
        )

    async def speaker_for(self, uow: UnitOfWork, chat: str) -> Speaker:
        """Times on a card in the chat's own zone: its bound regions', else DEFAULT_TIMEZONE."""
        return self._speaker.in_zone(await chat_zone(uow, chat, self._directory))

    async def refresh_card(self, uow: UnitOfWork, ticket: Ticket, out: Outbound) -> None:
        if ticket.chat is None:
            return
        post = await uow.posts.card(ticket.id, ticket.chat)
        if post is not None:
            view = await card_view(uow, ticket)
            speaker = await self.speaker_for(uow, ticket.chat)
            out.edits.append((ticket.chat, post.message_id, card(speaker, view)))
            if post.thread_id is not None:
                out.renames.append((ticket.chat, post.thread_id, topic_name(self._speaker, view)))

    async def _tell_family(
        self, uow: UnitOfWork, ticket: Ticket, out: Outbound, make: Callable[[Speaker], Screen]
    ) -> bool:
        """Queue a message to the family; False when they cannot be reached (blocked, data deleted)."""
        family = await uow.people.by_id(ticket.person_id)
        if family is None or family.deleted_at is not None or not family.reachable:
            return False
        speaker = Speaker(self._translators[family.locale], family.locale)
        out.sends.append((family.key, make(speaker), None))
        return True

    def told_text(self, done: str, told: bool) -> str:
        if told:
            return done + " " + self._(N_("The family has been told."))
        return (
            done
            + " "
            + self._(N_("The family could not be told: they blocked the bot or deleted their data."))
        )

    def _told(self, done: str, told: bool) -> ActionReply:
        return ActionReply(self.told_text(done, told))

    async def carry_out(self, out: Outbound) -> None:
        await deliver(self.db, self.messengers, self.pacer, out)
