"""The delivery worker: outbox rows -> cards and notes in coordinators' chats, and plain messages.

A ticket and its outbox row are committed together, so a crash or a failed API call between saving
and posting loses nothing: the row stays until its card is out. Background work has one shape here:
each row is leased with a conditional UPDATE (one worker, or one replica, takes it), what to send is
read in a short transaction, the sends go out with no transaction open (paced by the one pacer), and
what was sent is recorded in a new short transaction, which marks the row done only while the lease
is still ours. Failures are retried with backoff. Delivery is at least once: a crash after posting and
before recording posts the card again after the lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.cards import Speaker
from dialogs.directory import Directory
from dialogs.i18n import Translators
from handlers.background import Job
from handlers.delivery_plans import Planner
from handlers.delivery_sender import ChatSender, WaitForCardError
from handlers.pacer import Limit, Pacer, PacerSettings, PriorityPacer
from handlers.ports import Messenger, RecipientUnreachableError
from storage.models import Outbox, utcnow
from storage.uow import Database
from storage.vocabulary import OutboxKind, Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    default_chat: str | None  # COORDINATOR_CHAT, "tg:-100..."
    locale: str
    # Telegram: 20 messages a minute in one group. The group budget of the pacer built from these
    # settings (see ``pacer_settings``); tests set it small.
    per_chat_interval: float = 3.0
    retry_base: float = 5.0
    retry_max: float = 600.0
    lease: float = 30.0  # a dead replica's row is taken by another after this (a restart takes it at once)
    poll_interval: float = 5.0
    batch: int = 20

    def pacer_settings(self) -> PacerSettings:
        defaults = PacerSettings()
        private = min(defaults.telegram_private.seconds, self.per_chat_interval)
        return PacerSettings(
            telegram_private=Limit(1, private), telegram_group=Limit(1, self.per_chat_interval)
        )


MAX_ATTEMPTS = 10  # for files and notes; a ticket's card is retried for as long as it takes


class DeliveryWorker(Job):
    name = "delivery"

    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        settings: DeliverySettings,
        pacer: Pacer | None = None,
        directory: Directory | None = None,
        clock: Callable[[], datetime] = utcnow,
        instance: str = "local",
    ) -> None:
        super().__init__()
        self._instance = instance  # leases carry it: a restart of this instance takes its rows back
        self._db = db
        self._clock = clock  # leases and records: a round of paced sends can take a while
        self._settings = settings
        self.interval = settings.poll_interval
        sender = ChatSender(db, messengers, pacer or PriorityPacer(settings.pacer_settings()))
        speaker = Speaker(translators[settings.locale], settings.locale, directory)
        self._planner = Planner(sender, speaker, settings.default_chat)
        if settings.default_chat is None:
            log.warning("COORDINATOR_CHAT is not set: requests are kept and will be delivered once it is")

    async def reclaim(self) -> int:
        """At start: rows this instance was delivering when it stopped are due now, not after their
        lease (an urgent card interrupted by a crash goes out within seconds of the restart)."""
        async with self._db.uow() as uow:
            taken = await uow.outbox.reclaim(self._instance, self._clock())
        if taken:
            log.info("took back %d outbox rows this instance held before it stopped", taken)
        return taken

    async def run_once(self, now: datetime) -> int:
        """Deliver what is due now; return how many rows were delivered."""
        async with self._db.uow() as uow:
            kinds = None
            if self._settings.default_chat is None and not await uow.bindings.any():
                # Nowhere to post cards: their rows stay untouched, all due at once when a chat is set.
                kinds = [OutboxKind.MESSAGE]
            rows = [row.id for row in await uow.outbox.due(now, self._settings.batch, kinds=kinds)]
        delivered = 0
        for row_id in rows:
            if self.halted:
                break  # the rest waits in the outbox for the next start
            taken = self._clock()
            leased_until = taken + timedelta(seconds=self._settings.lease)
            async with self._db.uow() as uow:
                if not await uow.outbox.lease(row_id, taken, leased_until, self._instance):
                    continue
            delivered += await self._deliver(row_id, leased_until)
        return delivered

    async def _deliver(self, row_id: int, leased_until: datetime) -> int:
        try:
            async with self._db.uow() as uow:
                row = await uow.session.get(Outbox, row_id)
                if row is None:
                    return 0
                send = await self._planner.plan(uow, row)
            record = await send() if send is not None else None  # no transaction is open here
            async with self._db.uow() as uow:
                owned = await uow.outbox.finish(row_id, leased_until, self._clock())
                if record is not None:
                    await record(uow)
            if not owned:
                log.warning("outbox row %s was sent after its lease ran out; it may be sent twice", row_id)
            return 1
        except Exception as exc:  # whatever went wrong, the row is retried, never lost
            await self._retry_later(row_id, exc, self._clock())
        return 0

    async def _retry_later(self, row_id: int, exc: Exception, now: datetime) -> None:
        if isinstance(exc, WaitForCardError):
            async with self._db.uow() as uow:
                # Every row of this ticket waits the same short time: they keep the order they came in.
                await uow.outbox.wait_until(row_id, now + timedelta(seconds=self._settings.retry_base))
            return
        async with self._db.uow() as uow:
            row = await uow.session.get(Outbox, row_id)
            attempts = row.attempts if row else 0
            kind = row.kind if row else ""
            hopeless = kind == OutboxKind.MESSAGE.value and isinstance(exc, RecipientUnreachableError)
            if (
                row is not None
                and kind != OutboxKind.TICKET_CREATED.value
                and (hopeless or attempts >= MAX_ATTEMPTS)
            ):
                # Files, a note or a message that keep failing: give up on them (a ticket itself is delivered).
                await uow.outbox.done(row_id, now)
                await uow.audit.add(
                    "system", "delivery_failed", ticket_id=row.ticket_id, details={"kind": kind}
                )
                log.error("outbox row %s (%s) given up after %d attempts", row_id, kind, attempts + 1)
                return
            delay = min(self._settings.retry_base * 2**attempts, self._settings.retry_max)
            await uow.outbox.retry_at(row_id, now + timedelta(seconds=delay))
        log.warning("outbox row %s not delivered (%s); retrying in %.0fs", row_id, type(exc).__name__, delay)
