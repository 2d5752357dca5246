"""The parent's conversation: one incoming event -> dialog engine -> effects -> screens.

The transaction boundary is here: the update id, the new dialog state and every effect (a new
ticket with its outbox row, ...) are committed together, and only then is anything sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from dialogs import engine
from dialogs.directory import Directory
from dialogs.i18n import N_, Translators, pick_locale
from dialogs.primitives import (
    AddPhone,
    AddTicketInfo,
    CreateTicket,
    DeleteMyData,
    Effect,
    EraseChat,
    Event,
    EventKind,
    GiveConsent,
    Incoming,
    Outcome,
    RelayToTicket,
    Screen,
    SetAnnouncements,
    SetLocale,
    Traits,
    WithdrawTicket,
)
from dialogs.state import DialogData, PersonView, TicketView
from handlers import intake
from handlers.inflight import InFlight
from handlers.ports import DeliveryFailedError, Messenger, RecipientUnreachableError
from storage.models import Person, Ticket, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import Category, ContactMethod, OutboxKind, Platform, TicketStatus, person_key

log = logging.getLogger(__name__)

MAX_FOLLOW_UPS = 3


@dataclass(frozen=True)
class ConversationSettings:
    consent_version: str
    default_locale: str
    policy_url: str | None = None
    limits: engine.Limits = field(default_factory=engine.Limits)


@dataclass(frozen=True)
class Reply:
    """What the transport still has to do itself: answer a button press with a short toast."""

    toast: str | None = None
    duplicate: bool = False


@dataclass
class _Committed:
    outcome: Outcome
    chat_key: str
    erase: bool = False  # quick exit: delete the chat, including what this turn sends
    forget: bool = False  # data deleted: delete the chat and keep no ids
    erase_ids: list[int] = field(default_factory=list)


class KeyedLocks:
    """One lock per person, so one family's updates are handled in order (albums, fast taps)."""

    def __init__(self) -> None:
        # key -> (lock, how many handlers hold or wait for it); dropped when nobody does.
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextmanager
    def held(self, key: str) -> Iterator[asyncio.Lock]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            yield lock
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class ConversationService:
    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        directory: Directory,
        settings: ConversationSettings,
        clock: Callable[[], datetime] = utcnow,
        on_outbox: Callable[[], None] | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        self._db = db
        self._on_outbox = on_outbox
        self._messengers = messengers
        self._translators = translators
        self._directory = directory
        self._settings = settings
        self._clock = clock
        self._locks = KeyedLocks()
        self.in_flight = in_flight or InFlight()

    async def handle(self, incoming: Incoming) -> Reply:
        async with self.in_flight.track():
            return await self._handle(incoming)

    async def _handle(self, incoming: Incoming) -> Reply:
        key = person_key(incoming.platform, incoming.user_id)
        with self._locks.held(key) as lock:
            async with lock:
                try:
                    committed = await self._process(incoming, key)
                except Exception:
                    log.exception("failed to handle an update from a %s user", incoming.platform.value)
                    await self._apologise(incoming)
                    return Reply(toast=None)
                if committed is None:
                    return Reply(duplicate=True)
                if self._on_outbox is not None and any(
                    isinstance(e, CreateTicket | AddTicketInfo | WithdrawTicket)
                    for e in committed.outcome.effects
                ):
                    self._on_outbox()  # the delivery worker looks now instead of at its next poll
                await self._deliver(incoming, committed)
                return Reply(toast=committed.outcome.toast)

    async def set_reachable(self, platform: Platform, user_id: int, reachable: bool) -> None:
        """The person blocked (or unblocked) the bot."""
        async with self._db.uow() as uow:
            await uow.people.set_reachable(person_key(platform, user_id), reachable)

    # ---- inside the transaction ----

    async def _process(self, incoming: Incoming, key: str) -> _Committed | None:
        async with self._db.uow() as uow:
            if incoming.update_id is not None and not await uow.updates.first_time(
                incoming.platform, incoming.update_id
            ):
                log.info("ignoring a repeated %s update", incoming.platform.value)
                return None
            locale_hint = pick_locale(incoming.language_code, self._settings.default_locale)
            person, _ = await uow.people.get_or_create(key, incoming.platform, locale_hint)
            if not person.reachable:
                person.reachable = True
            if incoming.message_id is not None and (
                incoming.event.kind is not EventKind.BUTTON or incoming.own_message
            ):
                await uow.chat_log.add(key, [incoming.message_id], from_bot=False)
            state, data = await self._load_state(uow, key)
            tickets = await uow.tickets.for_person(person.id)
            traits = self._messengers[incoming.platform].traits
            ctx = self._context(person, tickets, person.locale, traits)
            outcome = engine.step(state, data, incoming.event, ctx)
            committed = _Committed(outcome=outcome, chat_key=key)
            for _ in range(MAX_FOLLOW_UPS):
                follow_up = await self._apply_effects(uow, person, incoming, outcome.effects, committed)
                if follow_up is None:
                    break
                screens_so_far = outcome.screens
                tickets = await uow.tickets.for_person(person.id)
                ctx = self._context(person, tickets, person.locale, traits)
                outcome = engine.step(outcome.state, outcome.data, follow_up, ctx)
                outcome.screens[:0] = screens_so_far
                committed.outcome = outcome
            if any(isinstance(e, DeleteMyData) for e in committed.outcome.effects):
                await uow.dialogs.delete(key)
            else:
                await uow.dialogs.save(key, outcome.state, outcome.data.model_dump(mode="json"))
            if committed.erase or committed.forget:
                # The platform lets a bot delete messages for a limited time (Telegram 48 h, VK 24 h).
                window = timedelta(hours=traits.erase_hours)
                committed.erase_ids = await uow.chat_log.since(key, self._clock() - window)
                await uow.chat_log.forget(key)
            return committed

    async def _load_state(self, uow: UnitOfWork, key: str) -> tuple[str | None, DialogData]:
        stored = await uow.dialogs.load(key)
        if stored is None:
            return None, DialogData()
        state, raw = stored
        try:
            return state, DialogData.model_validate(raw)
        except ValidationError:
            # A state written by an incompatible older version: start over rather than crash.
            log.warning("dialog data of one person could not be read; starting over")
            return None, DialogData()

    def _context(
        self, person: Person, tickets: Sequence[Ticket], locale: str, traits: Traits
    ) -> engine.Context:
        views = tuple(_ticket_view(t) for t in tickets)
        view = PersonView(
            key=person.key,
            locale=locale,
            consent_version=person.consent_version,
            consent_at=person.consent_at,
            announcements=person.announcements,
            region=person.region,
            created_at=person.created_at,
        )
        return engine.Context(
            translators=self._translators,
            locale=locale,
            person=view,
            tickets=views,
            directory=self._directory,
            consent_version=self._settings.consent_version,
            policy_url=self._settings.policy_url,
            limits=self._settings.limits,
            traits=traits,
        )

    async def _apply_effects(
        self,
        uow: UnitOfWork,
        person: Person,
        incoming: Incoming,
        effects: list[Effect],
        committed: _Committed,
    ) -> Event | None:
        follow_up: Event | None = None
        for effect in effects:
            match effect:
                case SetLocale(locale=locale):
                    await uow.people.set_locale(person, locale)
                case GiveConsent(version=version):
                    await uow.people.give_consent(person, version, self._clock())
                case SetAnnouncements(enabled=enabled):
                    await uow.people.set_announcements(person, enabled)
                case CreateTicket(draft=draft):
                    follow_up = await intake.submit(uow, person, draft)
                case AddTicketInfo(ticket_id=ticket_id, text=text, attachments=attachments, urgent=urgent):
                    if (ticket := await intake.open_owned(uow, person.id, ticket_id)) is not None:
                        await intake.add_entry(uow, ticket, text, attachments, urgent=urgent)
                case RelayToTicket(ticket_id=ticket_id, text=text, attachment=attachment, urgent=urgent):
                    ticket_id = await self._replied_ticket(uow, incoming, person.key) or ticket_id
                    if (ticket := await intake.open_owned(uow, person.id, ticket_id)) is not None:
                        await uow.tickets.wrote(ticket.id, family=True, at=self._clock())
                        # The original message is copied into the thread; the entry keeps its text.
                        where = {
                            "chat": person_key(incoming.platform, incoming.chat_id),
                            "message_id": incoming.message_id,
                            "reply_to": incoming.reply_to,
                        }
                        files = [attachment] if attachment else []
                        await intake.add_entry(
                            uow,
                            ticket,
                            text,
                            files,
                            urgent=urgent,
                            kind=OutboxKind.FAMILY_MESSAGE,
                            payload=where,
                        )
                case AddPhone(ticket_id=ticket_id, phone=phone):
                    if (ticket := await intake.open_owned(uow, person.id, ticket_id)) is not None:
                        ticket.phone, ticket.contact_method = phone, ContactMethod.PHONE.value
                        await uow.outbox.add(
                            OutboxKind.TICKET_INFO_ADDED,
                            ticket.id,
                            urgent=ticket.urgent,
                            payload={"phone": True},
                        )
                case WithdrawTicket(ticket_id=ticket_id):
                    if await uow.tickets.withdraw(person.id, ticket_id):
                        await uow.outbox.add(OutboxKind.TICKET_WITHDRAWN, ticket_id, urgent=False, payload={})
                case EraseChat():
                    committed.erase = True
                case DeleteMyData():
                    await self._erase_from_desk(uow, person)
                    await uow.tickets.erase_for_person(person.id)
                    await uow.people.anonymise(person)
                    committed.forget = True
                    log.info("a person erased their data")
        return follow_up

    async def _erase_from_desk(self, uow: UnitOfWork, person: Person) -> None:
        """The coordinators' side forgets the family too: queued rows, the relay map, copies in threads."""
        tickets = await uow.tickets.for_person(person.id, limit=1000)
        copies = await uow.relay.copies_of_family(person.key)
        await uow.relay.forget_family(person.key)
        await uow.outbox.abandon([t.id for t in tickets], self._clock())
        for ticket in tickets:
            if ticket.status in intake.OPEN_VALUES and ticket.chat is not None:
                erase = [[chat, message] for tid, chat, message in copies if tid == ticket.id]
                await uow.outbox.add(
                    OutboxKind.TICKET_WITHDRAWN, ticket.id, urgent=False, payload={"erase": erase}
                )

    async def _replied_ticket(self, uow: UnitOfWork, incoming: Incoming, family: str) -> int | None:
        """A reply to a coordinator's message belongs to that message's ticket, whatever else is open."""
        if incoming.reply_to is None:
            return None
        mapped = await uow.relay.by_family_message(family, incoming.reply_to)
        return mapped.ticket_id if mapped is not None else None

    # ---- after the commit ----

    async def _deliver(self, incoming: Incoming, committed: _Committed) -> None:
        messenger = self._messengers[incoming.platform]
        chat_id = incoming.chat_id
        sent: list[int] = []
        try:
            for index, screen in enumerate(committed.outcome.screens):
                if (
                    screen.edit
                    and incoming.event.kind is EventKind.BUTTON
                    and incoming.message_id is not None
                    and not incoming.own_message
                    and await messenger.edit(chat_id, incoming.message_id, screen)
                ):
                    continue
                dedup = None if incoming.update_id is None else f"u{incoming.update_id}:{index}"
                sent += await messenger.send(chat_id, screen, dedup=dedup)
        except RecipientUnreachableError:
            log.info("a person is unreachable; marking them so")
            await self.set_reachable(incoming.platform, incoming.user_id, False)
        except DeliveryFailedError:
            log.warning("could not deliver a reply; the state is saved and the person can go on")
        if committed.erase or committed.forget:
            # A quick exit may have had to send one message (taking a keyboard away): it goes too.
            doomed = [*committed.erase_ids, *(sent if committed.erase else [])]
            if doomed:
                deleted = await messenger.delete(chat_id, doomed)
                log.info("deleted %d of %d messages from a private chat", deleted, len(doomed))
            return
        if sent:
            async with self._db.uow() as uow:
                await uow.chat_log.add(committed.chat_key, sent, from_bot=True)

    async def _apologise(self, incoming: Incoming) -> None:
        locale = pick_locale(incoming.language_code, self._settings.default_locale)
        tr = self._translators[locale]
        text = tr.gettext(
            N_(
                "Sorry, something went wrong on our side. Your earlier answers are saved. Please try "
                "again in a minute. If someone is in danger, call 112."
            )
        )
        try:
            await self._messengers[incoming.platform].send(incoming.chat_id, Screen(text=text))
        except Exception:
            log.exception("could not even send an apology")


def _ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        id=ticket.id,
        category=Category(ticket.category),
        status=TicketStatus(ticket.status),
        urgent=ticket.urgent,
        created_at=ticket.created_at,
        description=ticket.description,
        attachments=len(ticket.attachments),
        phone=ticket.phone,
        region=ticket.region,
    )
