"""A person's conversation: one event -> the assembled dialogs -> effects -> screens.

The transaction boundary is here: the update id, the new dialog state and every effect (a new
ticket with its outbox row, ...) are committed together, and only then is anything sent. The
system can start a turn too (``push``): under the same per-person order and the same rule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dialogs.directory import Directory
from dialogs.dispatch import Dialogs
from dialogs.effects import DeleteMyData, ImportDirectory, RemoveResource, SaveResource
from dialogs.i18n import Translators, pick_locale
from dialogs.primitives import (
    Event,
    EventKind,
    Incoming,
    Outcome,
    Role,
    Screen,
    SystemEvent,
    screen_from_json,
    screen_to_json,
)
from dialogs.state import DialogDataBase
from handlers import effects
from handlers.dialog_context import ConversationSettings, DialogContexts
from handlers.flood import FLOOD_NOTICE, Entry, FloodGate, Turn, first_time, joined, own_or_taken
from handlers.inbox import KEPT
from handlers.inflight import InFlight
from handlers.locks import KeyedLocks, PersonLocks, in_order
from handlers.pacer import NoPacer, Pacer, Priority
from handlers.ports import (
    Delivery,
    Messenger,
)
from handlers.prefetch import Fetched, prefetch
from handlers.replies import apologise, send_screens
from handlers.sent_log import SentLog
from handlers.turn_parts import Committed, Target, aware, reply_priority
from handlers.uploads import FAILED, send_uploads
from storage.models import Person, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import (
    Platform,
    parse_person_key,
    person_key,
)

log = logging.getLogger(__name__)

MAX_FOLLOW_UPS = 3
# A person who has not answered their current step for this long has left it: a system message
# need not wait for them any more (it is shown, then the step again).
IDLE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Reply:
    """What the transport still has to do itself: answer a button press with a short toast."""

    toast: str | None = None
    duplicate: bool = False


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
        ordered: bool = False,
        sent_log: SentLog | None = None,
        flood: FloodGate[Reply] | None = None,
    ) -> None:
        self._db = db
        self._dialogs = dialogs
        self._pacer = pacer or NoPacer()
        self._on_outbox = on_outbox
        self._messengers = messengers
        self._translators = translators
        self._contexts = DialogContexts(translators, directory, settings)
        self._settings = settings
        self._clock = clock
        # One update of a person at a time: in this process, and across replicas when shared.
        self._locks: PersonLocks = locks or KeyedLocks()
        # Several replicas: a person's update also waits for their earlier ones kept by another one.
        self._ordered = ordered
        self.in_flight = in_flight or InFlight()
        # What was sent after each commit, written in batches (a Job: the application ticks it).
        self.sent_log = sent_log or SentLog(db)
        self._flood: FloodGate[Reply] = flood or FloodGate()

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
        target = Target(platform, user_id, user_id, dedup=dedup, intent=system.intent, priority=priority)
        async with self.in_flight.track(), self._locks.hold(person):
            async with self._db.uow(quick=True) as uow:
                committed = await self._system_turn(uow, person, system)
            if committed is None:
                return Delivery.UNREACHABLE
            return await self._after_commit(target, committed)

    async def _handle(self, incoming: Incoming) -> Reply:
        key = person_key(incoming.platform, incoming.user_id)
        entry = await self._flood.enter(key, incoming)  # the person's line (handlers/flood.py)
        try:
            return await own_or_taken(entry, self._handle_turn(incoming, key, entry))
        finally:
            self._flood.leave(key, entry)

    async def _handle_turn(self, incoming: Incoming, key: str, entry: Entry[Reply]) -> Reply:
        async with self._hold(incoming, key):
            turn = self._flood.take(key, entry)
            if turn is None:  # an earlier text's turn took this one as the lock came: its answer
                return await asyncio.shield(entry.taken.result().result)
            # Done before the lock goes; the replies' priority from what the line knows of the update.
            return await turn.run(self._own_turn(incoming, key, turn, reply_priority(entry)))

    async def _own_turn(self, incoming: Incoming, key: str, turn: Turn[Reply], priority: Priority) -> Reply:
        dedup = None if incoming.update_id is None else f"u{incoming.update_id}"
        target = Target(
            incoming.platform, incoming.chat_id, incoming.user_id, incoming, dedup, priority=priority
        )
        merged = turn.items if len(turn.items) > 1 else []
        try:
            messenger = self._messengers[incoming.platform]
            files = await prefetch(self._db, self._dialogs, messenger, incoming, key)
            committed = await self._process(
                incoming, key, files, merged, tell=turn.tell, first=priority is Priority.EMERGENCY
            )
        except Exception:
            log.exception("failed to handle an update from a %s user", incoming.platform.value)
            await self._apologise(incoming)
            return Reply(toast=None)
        if committed is None:
            return Reply(duplicate=True)
        if committed.admins_changed and self._settings.admins is not None:
            self._settings.admins.changed()
        if committed.uploads_lost or (
            committed.uploads and not await send_uploads(messenger, incoming.chat_id, committed.uploads)
        ):
            # The turn's report would say the files came: the dialog is told they did not instead.
            return await self._failed_uploads(incoming, key, target, committed.answer_of)
        await self._after_commit(target, committed)
        return Reply(toast=committed.outcome.toast, duplicate=committed.replayed)

    async def _failed_uploads(
        self, incoming: Incoming, key: str, target: Target, answer_of: tuple[Platform, int] | None
    ) -> Reply:
        """A turn of its own after the one whose files could not be sent (still in the person's
        lock), or were never sent before a restart: the dialog, in the state that turn saved, hears
        ``uploads.FAILED``; its screens answer the update (``answer_of``) instead."""
        try:
            async with self._db.uow() as uow:
                person = await uow.people.get(key)
                if person is None:  # gone in between (their data deleted): nobody to tell
                    return Reply(toast=None)
                scope = self._scope(uow, person, incoming)
                committed = await self._turn(uow, scope, FAILED, incoming.role, idle=False)
                committed.answer_of = answer_of
        except Exception:
            log.exception("failed to report a file that could not be sent")
            await self._apologise(incoming)
            return Reply(toast=None)
        await self._after_commit(target, committed)
        return Reply(toast=committed.outcome.toast)

    def _hold(self, incoming: Incoming, key: str) -> AbstractAsyncContextManager[None]:
        kept = KEPT.get()  # the inbox row this update came in (None: not through an inbox)
        if not self._ordered or kept is None:
            return self._locks.hold(key)

        async def earlier() -> bool:
            async with self._db.uow() as uow:
                return await uow.inbox.earlier_unhandled(incoming.platform, key, kept)

        return in_order(self._locks, key, earlier)

    def hurry(self, person: str) -> None:
        """An SOS of ``person`` waits behind their turn in hand (handlers/lanes.py): its replies go first."""
        self._pacer.hurry(person)

    async def set_reachable(self, platform: Platform, user_id: int, reachable: bool) -> None:
        """The person blocked (or unblocked) the bot."""
        async with self._db.uow() as uow:
            await uow.people.set_reachable(person_key(platform, user_id), reachable)

    # ---- inside the transaction ----

    async def _process(
        self,
        incoming: Incoming,
        key: str,
        files: dict[str, Fetched],
        merged: Sequence[Incoming] = (),
        *,
        tell: bool = False,
        first: bool = False,
    ) -> Committed | None:
        """``files``: fetched before the transaction (handlers/prefetch.py); ``merged``: a flooding
        person's texts, one turn for all (handlers/flood.py); ``tell``: the kind message about it
        goes first; ``first``: an emergency's, ahead of the turns waiting for a connection."""
        # A family's turn is a few statements by key: on SQLite they run on the loop's thread. An
        # admin's may read whole tables (figures, the audience, the directory): off it.
        async with self._db.uow(quick=incoming.role is not Role.ADMIN, first=first) as uow:
            # The answer is kept with the inbox row the update came in (VK and MAX name an event's
            # parts apart from the event); without an inbox, with the update itself.
            kept = KEPT.get()
            answer_key = kept if kept is not None else incoming.update_id
            # Each update id is recorded once; a merged text seen before (a replay) is not said twice.
            own = await first_time(uow, merged or [incoming])
            if not own:
                return None if answer_key is None else await self._kept_answer(uow, incoming, answer_key, key)
            incoming = joined(own) if merged else incoming
            locale_hint = pick_locale(incoming.language_code, self._settings.default_locale)
            person, new = await uow.people.get_or_create(key, incoming.platform, locale_hint)
            if not person.reachable:
                person.reachable = True
            if incoming.event.kind is not EventKind.BUTTON or incoming.own_message:
                ids = [i.message_id for i in own if i.message_id is not None]
                await uow.chat_log.add(key, ids, from_bot=False)
            scope = self._scope(uow, person, incoming, files)
            committed = await self._turn(uow, scope, incoming.event, incoming.role, idle=False, new=new)
            screens = committed.outcome.screens
            if tell and not (committed.erase or committed.forget):
                screens.insert(0, Screen(text=self._translators[person.locale].gettext(FLOOD_NOTICE)))
            if answer_key is not None and screens and not (committed.erase or committed.forget):
                # Kept until sent. Never for a quick exit: nothing may come back to that phone. When
                # files go first, only that they were due: after a crash before them, the report would
                # promise files never sent, so the person is told they could not be (``uploads_lost``).
                answer: dict[str, Any] = (
                    {"uploads": len(scope.uploads)}
                    if scope.uploads
                    else {"screens": [screen_to_json(s) for s in screens]}
                )
                await uow.inbox.set_answer(incoming.platform, answer_key, answer)
                committed.answer_of = (incoming.platform, answer_key)
            return committed

    def _scope(
        self, uow: UnitOfWork, person: Person, incoming: Incoming, files: Mapping[str, Fetched] | None = None
    ) -> effects.Scope:
        """What the effects of a turn ``incoming`` started work on (``files``: fetched before it)."""
        return effects.Scope(
            uow=uow,
            person=person,
            now=self._clock(),
            incoming=incoming,
            messenger=self._messengers[incoming.platform],
            desk=self._contexts.desk_hours(),
            files=files or {},
            messengers=self._messengers,
            roster=self._settings.admins,
        )

    async def _kept_answer(
        self, uow: UnitOfWork, incoming: Incoming, update_id: int, key: str
    ) -> Committed | None:
        """A repeated update changes nothing; but if its answer was never sent (a crash after the
        commit), it is sent now, once."""
        kept = await uow.inbox.answer_of(incoming.platform, update_id)
        if not kept or self.sent_log.answered(incoming.platform, update_id):
            log.info("ignoring a repeated %s update", incoming.platform.value)
            return None
        log.info("sending an answer kept from before a restart")
        screens = [screen_from_json(raw) for raw in kept.get("screens", [])]
        outcome = Outcome(state="", data=DialogDataBase(), screens=screens)
        return Committed(
            outcome=outcome,
            chat_key=key,
            answer_of=(incoming.platform, update_id),
            replayed=True,
            uploads_lost=bool(kept.get("uploads")),
        )

    async def _system_turn(self, uow: UnitOfWork, key: str, system: SystemEvent) -> Committed | None:
        """The system's turn for ``key`` inside ``uow`` (handlers/fanout.py runs many in one)."""
        person = await uow.people.get(key)
        reachable = person is not None and person.reachable and person.deleted_at is None
        if person is None or not reachable or Platform(person.platform) not in self._messengers:
            log.info("a system message was not sent: the person cannot be reached")
            return None
        touched = await uow.dialogs.updated_at(key)
        idle = touched is None or self._clock() - aware(touched) >= IDLE_AFTER
        scope = effects.Scope(uow=uow, person=person, now=self._clock(), messengers=self._messengers)
        event = Event(kind=EventKind.SYSTEM, system=system)
        return await self._turn(uow, scope, event, Role.FAMILY, idle=idle)

    async def _turn(
        self,
        uow: UnitOfWork,
        scope: effects.Scope,
        event: Event,
        role: Role,
        *,
        idle: bool,
        new: bool = False,
    ) -> Committed:
        """``new``: the person was created in this transaction, so they have no saved step and no
        request yet: those two reads are skipped (a burst of new families is mostly that)."""
        person, key = scope.person, scope.person.key
        state, data = (None, {}) if new else await self._load_state(uow, key)
        traits = self._messengers[Platform(person.platform)].traits
        ctx = await self._contexts.context(uow, person, traits, role, idle, new=new)
        outcome = self._dialogs.step(state, data, event, ctx)
        committed = Committed(outcome=outcome, chat_key=key)
        for _ in range(MAX_FOLLOW_UPS):
            if any(isinstance(e, SaveResource | RemoveResource | ImportDirectory) for e in outcome.effects):
                self._contexts.directory_changed()
            follow_up = await effects.apply(scope, outcome.effects)
            if follow_up is None:
                break
            screens_so_far = outcome.screens
            ctx = await self._contexts.context(uow, person, traits, role, idle)
            outcome = self._dialogs.step(outcome.state, outcome.persisted(), follow_up, ctx)
            outcome.screens[:0] = screens_so_far
            committed.outcome = outcome
        committed.erase, committed.forget = scope.erase, scope.forget
        committed.admins_changed = scope.admins_changed
        committed.uploads = scope.uploads
        if scope.outbox and self._on_outbox is not None:
            self._on_outbox()  # the delivery worker looks now instead of at its next poll
        if any(isinstance(e, DeleteMyData) for e in committed.outcome.effects):
            await uow.dialogs.delete(key)
        else:
            await uow.dialogs.save(key, outcome.state, outcome.persisted())
        if committed.erase or committed.forget:
            # The platform lets a bot delete messages for a limited time (Telegram 48 h, VK 24 h).
            window = timedelta(hours=traits.erase_hours)
            unwritten = self.sent_log.take(key)  # sent lately, not in the log yet
            committed.erase_ids = [*await uow.chat_log.since(key, self._clock() - window), *unwritten]
            await uow.chat_log.forget(key)
        return committed

    async def _load_state(self, uow: UnitOfWork, key: str) -> tuple[str | None, dict[str, Any]]:
        stored = await uow.dialogs.load(key)
        return (None, {}) if stored is None else stored

    # ---- after the commit ----

    async def _after_commit(self, target: Target, committed: Committed) -> Delivery:
        """Send the turn's screens; not SENT when they could not be delivered."""
        messenger = self._messengers[target.platform]
        delivered, sent = await send_screens(messenger, self._pacer, target, committed)
        if delivered is Delivery.UNREACHABLE:
            await self.set_reachable(target.platform, target.user_id, False)
        if committed.erase or committed.forget:
            # A quick exit may have had to send one message (taking a keyboard away): it goes too.
            doomed = [*committed.erase_ids, *(sent if committed.erase else [])]
            if doomed:
                deleted = await messenger.delete(target.chat_id, doomed)
                log.info("deleted %d of %d messages from a private chat", deleted, len(doomed))
            return delivered
        # Recorded in a batch with others' (see SentLog), not in a transaction of its own.
        self.sent_log.record(committed.chat_key, sent, committed.answer_of)
        return delivered

    async def _apologise(self, incoming: Incoming) -> None:
        locale = pick_locale(incoming.language_code, self._settings.default_locale)
        await apologise(self._messengers[incoming.platform], incoming.chat_id, self._translators[locale])
