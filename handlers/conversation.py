"""A person's conversation: one event -> the assembled dialogs -> effects -> screens.

The transaction boundary is here: the update id, the new dialog state and every effect (a new
ticket with its outbox row, ...) are committed together, and only then is anything sent. The
system can start a turn too (``push``): under the same per-person order and the same rule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.directory import Directory
from dialogs.engine import Context, Dialogs, Limits
from dialogs.i18n import N_, Translators, pick_locale
from dialogs.primitives import (
    DeleteMyData,
    Event,
    EventKind,
    ImportDirectory,
    Incoming,
    Outcome,
    RemoveResource,
    Role,
    SaveResource,
    Screen,
    SystemEvent,
    Traits,
    screen_from_json,
    screen_to_json,
)
from dialogs.resources import Resource
from dialogs.state import DialogDataBase, PersonView, TicketView
from handlers import effects
from handlers.directory_admin import to_resource
from handlers.inflight import InFlight
from handlers.localtime import Hours
from handlers.locks import KeyedLocks, PersonLocks
from handlers.pacer import NoPacer, Pacer, Priority
from handlers.ports import (
    Delivery,
    DeliveryFailedError,
    IntentRefusedError,
    Messenger,
    RecipientUnreachableError,
)
from storage.models import Person, Ticket, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import (
    Category,
    ChatKind,
    ChatRef,
    Platform,
    TicketStatus,
    parse_person_key,
    person_key,
)

log = logging.getLogger(__name__)

MAX_FOLLOW_UPS = 3
# A person who has not answered their current step for this long has left it: a system message
# need not wait for them any more (it is shown, then the step again).
IDLE_AFTER = timedelta(minutes=15)
# Another replica's change to the directory of help shows here within this many seconds.
RESOURCES_TTL = 10.0


@dataclass(frozen=True)
class ConversationSettings:
    consent_version: str
    default_locale: str
    policy_url: str | None = None
    limits: Limits = field(default_factory=Limits)
    # When coordinators answer, in their time zone; outside them a new request is told when (None: always).
    working_hours: Hours | None = None
    desk_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))


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
    # The update whose answer is kept in the inbox until sent (a crash in between sends it later).
    answer_of: tuple[Platform, int] | None = None
    replayed: bool = False  # an answer kept from before a restart, sent now


@dataclass(frozen=True)
class _Target:
    """Where a turn's screens go, and what they answer."""

    platform: Platform
    chat_id: int
    user_id: int
    incoming: Incoming | None = None  # None: a turn the system started
    dedup: str | None = None  # names the turn, so a repeated send is not shown twice (VK)
    intent: str | None = None  # why the system writes first (SystemEvent.intent)
    priority: Priority = Priority.SCHEDULED  # what the system starts is paced (broadcasts: BULK)


class ConversationService:
    def __init__(
        self,
        db: Database,
        *,
        dialogs: Dialogs,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        directory: Directory,
        settings: ConversationSettings,
        clock: Callable[[], datetime] = utcnow,
        on_outbox: Callable[[], None] | None = None,
        in_flight: InFlight | None = None,
        pacer: Pacer | None = None,
        locks: PersonLocks | None = None,
    ) -> None:
        self._db = db
        self._dialogs = dialogs
        self._pacer = pacer or NoPacer()
        self._on_outbox = on_outbox
        self._messengers = messengers
        self._translators = translators
        self._directory = directory
        self._settings = settings
        self._clock = clock
        # One update of a person at a time: in this process, and across replicas when shared.
        self._locks: PersonLocks = locks or KeyedLocks()
        self._resources: tuple[float, tuple[Resource, ...]] | None = None  # (read at, the directory)
        self.in_flight = in_flight or InFlight()

    async def handle(self, incoming: Incoming) -> Reply:
        async with self.in_flight.track():
            return await self._handle(incoming)

    async def push(
        self,
        person: str,
        system: SystemEvent,
        *,
        dedup: str | None = None,
        priority: Priority = Priority.SCHEDULED,
    ) -> Delivery:
        """A turn the system starts (a follow-up, an offer, an announcement) for ``person`` ("tg:123").

        It waits for the person's own update in hand, like any of their updates; a person in the
        middle of a step gets it after that step. False (not SENT) when nothing can reach them
        (unreachable, data deleted, never wrote) or the platform refused the message.
        """
        platform, user_id = parse_person_key(person)
        target = _Target(platform, user_id, user_id, dedup=dedup, intent=system.intent, priority=priority)
        async with self.in_flight.track(), self._locks.hold(person):
            async with self._db.uow() as uow:
                committed = await self._system_turn(uow, person, system)
            if committed is None:
                return Delivery.UNREACHABLE
            return await self._after_commit(target, committed)

    async def _handle(self, incoming: Incoming) -> Reply:
        key = person_key(incoming.platform, incoming.user_id)
        dedup = None if incoming.update_id is None else f"u{incoming.update_id}"
        target = _Target(incoming.platform, incoming.chat_id, incoming.user_id, incoming, dedup)
        async with self._locks.hold(key):
            try:
                committed = await self._process(incoming, key)
            except Exception:
                log.exception("failed to handle an update from a %s user", incoming.platform.value)
                await self._apologise(incoming)
                return Reply(toast=None)
            if committed is None:
                return Reply(duplicate=True)
            await self._after_commit(target, committed)
            return Reply(toast=committed.outcome.toast, duplicate=committed.replayed)

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
                return await self._kept_answer(uow, incoming, incoming.update_id, key)
            locale_hint = pick_locale(incoming.language_code, self._settings.default_locale)
            person, _ = await uow.people.get_or_create(key, incoming.platform, locale_hint)
            if not person.reachable:
                person.reachable = True
            if incoming.message_id is not None and (
                incoming.event.kind is not EventKind.BUTTON or incoming.own_message
            ):
                await uow.chat_log.add(key, [incoming.message_id], from_bot=False)
            scope = effects.Scope(
                uow=uow,
                person=person,
                now=self._clock(),
                incoming=incoming,
                messenger=self._messengers[incoming.platform],
            )
            committed = await self._turn(uow, scope, incoming.event, incoming.role, idle=False)
            screens = committed.outcome.screens
            if incoming.update_id is not None and screens and not (committed.erase or committed.forget):
                # Kept until sent. Never for a quick exit: nothing may come back to that phone.
                answer = {"screens": [screen_to_json(s) for s in screens]}
                await uow.inbox.set_answer(incoming.platform, incoming.update_id, answer)
                committed.answer_of = (incoming.platform, incoming.update_id)
            return committed

    async def _kept_answer(
        self, uow: UnitOfWork, incoming: Incoming, update_id: int, key: str
    ) -> _Committed | None:
        """A repeated update changes nothing; but if its answer was never sent (a crash after the
        commit), it is sent now, once."""
        kept = await uow.inbox.answer_of(incoming.platform, update_id)
        if not kept:
            log.info("ignoring a repeated %s update", incoming.platform.value)
            return None
        log.info("sending an answer kept from before a restart")
        screens = [screen_from_json(raw) for raw in kept.get("screens", [])]
        outcome = Outcome(state="", data=DialogDataBase(), screens=screens)
        return _Committed(
            outcome=outcome, chat_key=key, answer_of=(incoming.platform, update_id), replayed=True
        )

    async def _system_turn(self, uow: UnitOfWork, key: str, system: SystemEvent) -> _Committed | None:
        """The system's turn for ``key`` inside ``uow`` (handlers/fanout.py runs many in one)."""
        person = await uow.people.get(key)
        reachable = person is not None and person.reachable and person.deleted_at is None
        if person is None or not reachable or Platform(person.platform) not in self._messengers:
            log.info("a system message was not sent: the person cannot be reached")
            return None
        touched = await uow.dialogs.updated_at(key)
        idle = touched is None or self._clock() - _aware(touched) >= IDLE_AFTER
        scope = effects.Scope(uow=uow, person=person, now=self._clock())
        event = Event(kind=EventKind.SYSTEM, system=system)
        return await self._turn(uow, scope, event, Role.FAMILY, idle=idle)

    async def _turn(
        self, uow: UnitOfWork, scope: effects.Scope, event: Event, role: Role, *, idle: bool
    ) -> _Committed:
        person, key = scope.person, scope.person.key
        state, data = await self._load_state(uow, key)
        traits = self._messengers[Platform(person.platform)].traits
        ctx = await self._context(uow, person, traits, role, idle)
        outcome = self._dialogs.step(state, data, event, ctx)
        committed = _Committed(outcome=outcome, chat_key=key)
        for _ in range(MAX_FOLLOW_UPS):
            if any(isinstance(e, SaveResource | RemoveResource | ImportDirectory) for e in outcome.effects):
                self._resources = None  # the admin who changed the directory sees the change at once
            follow_up = await effects.apply(scope, outcome.effects)
            if follow_up is None:
                break
            screens_so_far = outcome.screens
            ctx = await self._context(uow, person, traits, role, idle)
            outcome = self._dialogs.step(outcome.state, outcome.persisted(), follow_up, ctx)
            outcome.screens[:0] = screens_so_far
            committed.outcome = outcome
        committed.erase, committed.forget = scope.erase, scope.forget
        if scope.outbox and self._on_outbox is not None:
            self._on_outbox()  # the delivery worker looks now instead of at its next poll
        if any(isinstance(e, DeleteMyData) for e in committed.outcome.effects):
            await uow.dialogs.delete(key)
        else:
            await uow.dialogs.save(key, outcome.state, outcome.persisted())
        if committed.erase or committed.forget:
            # The platform lets a bot delete messages for a limited time (Telegram 48 h, VK 24 h).
            window = timedelta(hours=traits.erase_hours)
            committed.erase_ids = await uow.chat_log.since(key, self._clock() - window)
            await uow.chat_log.forget(key)
        return committed

    async def _load_state(self, uow: UnitOfWork, key: str) -> tuple[str | None, dict[str, Any]]:
        stored = await uow.dialogs.load(key)
        return (None, {}) if stored is None else stored

    async def _context(
        self, uow: UnitOfWork, person: Person, traits: Traits, role: Role, idle: bool
    ) -> Context:
        tickets: Sequence[Ticket] = await uow.tickets.for_person(person.id)
        view = PersonView(
            key=person.key,
            locale=person.locale,
            consent_version=person.consent_version,
            consent_at=person.consent_at,
            announcements=person.announcements,
            region=person.region,
            created_at=person.created_at,
        )
        return Context(
            translators=self._translators,
            locale=person.locale,
            person=view,
            tickets=tuple(_ticket_view(t) for t in tickets),
            directory=self._directory,
            consent_version=self._settings.consent_version,
            policy_url=self._settings.policy_url,
            limits=self._settings.limits,
            traits=traits,
            role=role,
            idle=idle,
            desk_opens=self._desk_opens(),
            resources=await self._directory_now(uow),
            zone=self._settings.desk_zone.key,
        )

    async def _directory_now(self, uow: UnitOfWork) -> tuple[Resource, ...]:
        """The directory of help, read again at most every RESOURCES_TTL seconds: it changes rarely,
        and every turn would otherwise read it whole."""
        now = time.monotonic()
        if self._resources is None or now - self._resources[0] > RESOURCES_TTL:
            self._resources = (now, tuple(to_resource(row) for row in await uow.resources.all()))
        return self._resources[1]

    def _desk_opens(self) -> datetime | None:
        hours, zone, now = self._settings.working_hours, self._settings.desk_zone, self._clock()
        if hours is None or hours.contains(now, zone):
            return None
        return hours.next_start(now, zone)

    # ---- after the commit ----

    async def _after_commit(self, target: _Target, committed: _Committed) -> Delivery:
        """Send the turn's screens; not SENT when they could not be delivered."""
        messenger = self._messengers[target.platform]
        incoming = target.incoming
        chat = ChatRef(target.platform, target.chat_id, ChatKind.PRIVATE)
        sent: list[int] = []
        try:
            for index, screen in enumerate(committed.outcome.screens):
                if (
                    screen.edit
                    and incoming is not None
                    and incoming.event.kind is EventKind.BUTTON
                    and incoming.message_id is not None
                    and not incoming.own_message
                    and await messenger.edit(target.chat_id, incoming.message_id, screen)
                ):
                    continue
                dedup = None if target.dedup is None else f"{target.dedup}:{index}"
                if target.intent is not None and screen.intent is None:
                    screen = replace(screen, intent=target.intent)  # noqa: PLW2901 - the same screen, with its intent
                # A reply to a person who just wrote goes first; what the system starts is paced.
                await self._pacer.wait(chat, Priority.REPLY if incoming is not None else target.priority)
                sent += await messenger.send(target.chat_id, screen, dedup=dedup)
        except RecipientUnreachableError:
            log.info("a person is unreachable; marking them so")
            await self.set_reachable(target.platform, target.user_id, False)
            delivered = Delivery.UNREACHABLE
        except IntentRefusedError:
            log.info("the platform refused a message's intent")
            delivered = Delivery.REFUSED
        except DeliveryFailedError:
            log.warning("could not deliver a reply; the state is saved and the person can go on")
            delivered = Delivery.FAILED
        else:
            delivered = Delivery.SENT
        if committed.erase or committed.forget:
            # A quick exit may have had to send one message (taking a keyboard away): it goes too.
            doomed = [*committed.erase_ids, *(sent if committed.erase else [])]
            if doomed:
                deleted = await messenger.delete(target.chat_id, doomed)
                log.info("deleted %d of %d messages from a private chat", deleted, len(doomed))
            return delivered
        if sent or committed.answer_of is not None:
            async with self._db.uow() as uow:
                await uow.chat_log.add(committed.chat_key, sent, from_bot=True)
                if committed.answer_of is not None:
                    await uow.inbox.set_answer(*committed.answer_of, None)
        return delivered

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


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


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
