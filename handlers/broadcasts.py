"""Broadcasts: the wizard's effects, and the paced sender (a ``Job`` of the one background shape).

A broadcast due now is started in one transaction that writes one row per recipient (INSERT ...
SELECT). Each platform's sender, beside the others, leases a batch of its rows with a conditional
UPDATE. One send a person (Telegram, MAX): a committed UPDATE to ``sending`` (with the previous
person's result), then the push outside any transaction (a system turn: a family in the middle of a
step gets it after the step, paced at BULK priority). One call to many (VK's peer_ids, 100): every
row of the call ``sending`` in one commit, the call, every result in one commit. A crash leaves what
was in flight in ``sending``, never sent again (at most once), and reported as failed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from dialogs.announcements import Announcement
from dialogs.directory import Directory
from dialogs.effects import CancelBroadcasts, CountAudience, PricePaid, SendBroadcast, SetAnnouncements
from dialogs.i18n import N_, Translators
from dialogs.primitives import Event, EventKind, Screen, SystemEvent
from dialogs.state import Attachment
from handlers.background import Job
from handlers.localtime import Hours, zone_of
from handlers.pacer import Priority
from handlers.ports import Delivery, DeliveryFailedError, Messenger, RecipientUnreachableError, StarBalance
from storage.models import Broadcast, Person
from storage.uow import Database, UnitOfWork
from storage.vocabulary import BroadcastStatus, Platform, RecipientStatus, parse_person_key


class Scope(Protocol):
    """What the wizard's effects need of effects.Scope (named here: effects.py imports this module)."""

    uow: UnitOfWork
    person: Person
    now: datetime
    messengers: Mapping[Platform, Messenger]


log = logging.getLogger(__name__)
# Seconds an admin's turn waits for Telegram's answer about the bot's Stars (see price_paid).
STAR_BALANCE_WAIT = 5.0

Push = Callable[..., Awaitable[object]]  # ConversationService.push(person, event, dedup=..., priority=...)
DONE_STATUSES = (
    RecipientStatus.SENT,
    RecipientStatus.UNREACHABLE,
    RecipientStatus.FAILED,
    RecipientStatus.REFUSED,
)
STATUS_OF = {
    Delivery.SENT: RecipientStatus.SENT,
    Delivery.UNREACHABLE: RecipientStatus.UNREACHABLE,
    Delivery.REFUSED: RecipientStatus.REFUSED,
    Delivery.FAILED: RecipientStatus.FAILED,
}


class PushMany(Protocol):
    """handlers.fanout.Fanout: the same system turn for many, in one call where the platform can."""

    def fanout(self, platform: Platform) -> int: ...

    async def push_many(
        self, people: Sequence[str], system: SystemEvent, *, dedup: str
    ) -> dict[str, Delivery]: ...


def _audience(pair: tuple[str, str]) -> dict[str, Any]:
    return {"kind": pair[0], "value": pair[1]}


# ---- the wizard's effects (inside the admin's turn) ----


async def count(scope: Scope, effect: CountAudience) -> Event:
    n = await scope.uow.broadcasts.count(_audience(effect.audience))
    return Event(kind=EventKind.BROADCAST, what="counted", number=n)


async def price_paid(scope: Scope, effect: PricePaid) -> Event:
    """Telegram's paid broadcast: how many families it reaches there, and the bot's Stars balance
    (the admin sees both and confirms the cost; too small a balance refuses it kindly)."""
    telegram: object = scope.messengers.get(Platform.TELEGRAM)
    if not isinstance(telegram, StarBalance):
        return Event(kind=EventKind.BROADCAST, what="paid_unavailable")
    n = await scope.uow.broadcasts.count(_audience(effect.audience), Platform.TELEGRAM.value)
    try:
        # Asked inside the admin's turn, whose transaction holds SQLite's one writer: a Telegram that
        # says "retry after a minute" would hold every family's turn that long. Not read in time, it
        # is not read: the admin may ask again.
        async with asyncio.timeout(STAR_BALANCE_WAIT):
            balance = await telegram.star_balance()
    except (DeliveryFailedError, RecipientUnreachableError, TimeoutError) as exc:
        log.info("the bot's Stars balance could not be read: %s", type(exc).__name__)
        return Event(kind=EventKind.BROADCAST, what="paid_unavailable")
    return Event(kind=EventKind.BROADCAST, what="priced", number=n, text=str(balance))


async def send(scope: Scope, effect: SendBroadcast) -> Event:
    due = scope.now
    if effect.when is not None:
        day, month, hour, minute = effect.when
        zone = ZoneInfo(effect.zone)
        local_now = scope.now.astimezone(zone)
        try:
            due = local_now.replace(month=month, day=day, hour=hour, minute=minute, second=0, microsecond=0)
            if due <= local_now:  # "05.01" typed in December: next year's
                due = due.replace(year=due.year + 1)
        except ValueError:
            return Event(kind=EventKind.BROADCAST, what="bad_time")
    row = await scope.uow.broadcasts.create(
        scope.person.key,
        effect.text,
        _audience(effect.audience),
        due,
        texts=effect.texts,
        attachment=None if effect.attachment is None else effect.attachment.model_dump(mode="json"),
        paid=effect.paid,
    )
    await scope.uow.audit.add(scope.person.key, "broadcast_created", details={"broadcast": row.id})
    return Event(kind=EventKind.BROADCAST, what="scheduled" if effect.when else "queued", number=row.id)


async def cancel(scope: Scope, _effect: CancelBroadcasts) -> Event:
    n = await scope.uow.broadcasts.cancel_active(scope.now)
    if n:
        await scope.uow.audit.add(scope.person.key, "broadcast_cancelled", details={"count": n})
    return Event(kind=EventKind.BROADCAST, what="cancelled", number=n)


async def set_announcements(scope: Scope, effect: SetAnnouncements) -> None:
    await scope.uow.people.set_announcements(scope.person, effect.enabled)
    if effect.reason is not None:  # anonymous: the figures need the reason, not who
        await scope.uow.audit.add("family", "unsubscribe_reason", details={"reason": effect.reason})


# ---- what a recipient gets ----


def announcement_of(broadcast: Broadcast) -> Announcement:
    """The one place a recipient's announcement is built from its broadcast: the texts by language
    (each family gets its own where the admin wrote both), the file as every messenger keeps it
    (each messenger sends its own: see Screen.files), and whether it goes as a paid broadcast."""
    texts = {str(k): str(v) for k, v in (broadcast.texts or {}).items()} or {"*": broadcast.text}
    raw_files = [broadcast.attachment, *(broadcast.files or {}).values()]
    files = tuple(Attachment.model_validate(raw) for raw in raw_files if raw)
    return Announcement(broadcast=broadcast.id, texts=texts, files=files, paid=bool(broadcast.paid))


# ---- the sender ----


@dataclass(frozen=True)
class BroadcastSettings:
    quiet: Hours | None = field(default_factory=lambda: Hours(21, 9))
    default_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    locale: str = "ru"  # the admin's progress messages
    lease: timedelta = timedelta(minutes=5)
    batch: int = 100  # rows leased at once: one VK call's worth of peer_ids
    progress_every: timedelta = timedelta(seconds=5)


class BroadcastJob(Job):
    name = "broadcasts"
    interval = 5.0
    delay = 3.0

    def __init__(
        self,
        db: Database,
        *,
        push: Push,
        messengers: Mapping[Any, Messenger],
        translators: Translators,
        directory: Directory,
        settings: BroadcastSettings,
        many: PushMany | None = None,
        instance: str | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self._push = push
        self._many = many  # VK's peer_ids: up to 100 people a call
        self._messengers = messengers
        self._tr = translators[settings.locale]
        self._directory = directory
        self._settings = settings
        # This runner's leases: named after the instance, so that a restart knows its own (reclaim).
        self._owner = f"bc:{instance}" if instance else uuid.uuid4().hex

    async def reclaim(self, now: datetime) -> int:
        """At start: what this instance held when it stopped (a crash) is free, or known lost, now."""
        async with self._db.uow() as uow:
            released = await uow.broadcasts.release(self._owner, now)
        if released:
            log.info("released %d broadcast rows this instance held before it stopped", released)
        return released

    async def run_once(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            for due in await uow.broadcasts.due(now):
                written = await uow.broadcasts.start(due)
                log.info("broadcast %d started: %d recipients written", due.id, written)
            sending = list(await uow.broadcasts.sending())
        done = 0
        for broadcast in sending:
            # BROADCAST_RATE is per platform: each platform's batch goes beside the others'.
            batches = (self._batch(broadcast, now, p.value) for p in self._messengers)
            claimed = sum(await asyncio.gather(*batches))
            if not claimed:  # what is left: people of a messenger this process does not run
                claimed = await self._batch(broadcast, now, None)
            await self._report(broadcast.id, now, final=not claimed)
            done += claimed
            if self.halted:
                break
        return done

    async def _batch(self, broadcast: Broadcast, now: datetime, platform: str | None) -> int:
        s = self._settings
        async with self._db.uow() as uow:
            claimed = await uow.broadcasts.claim(
                broadcast.id, self._owner, now, s.lease, s.batch, platform=platform
            )
            plans = []
            for row, person in claimed:
                zone = zone_of(self._directory, await uow.broadcasts.region_of(person.id), s.default_zone)
                wanted = person.announcements and person.reachable and person.deleted_at is None
                plans.append((row.id, person.key, wanted, zone))
        announcement = announcement_of(broadcast)
        many: dict[Platform, list[tuple[int, str]]] = {}
        one = []
        for row_id, key, wanted, zone in plans:
            if self._fanout(key) > 1 and wanted and not (s.quiet is not None and s.quiet.contains(now, zone)):
                many.setdefault(parse_person_key(key)[0], []).append((row_id, key))
            else:
                one.append((row_id, key, wanted, zone))
        # One send a person: the result of one and the start of the next share a transaction (the
        # profile of a broadcast showed its time going to commits, one more per person otherwise).
        last: tuple[int, str, object] | None = None
        for row_id, key, wanted, zone in one:
            if self.halted:
                break  # the rest keep their lease and are claimed again after it
            async with self._db.uow() as uow:
                if last is not None:
                    await uow.broadcasts.finish(last[0], await self._status(uow, last[1], last[2]), now)
                    last = None
                if not await self._still_sending(uow, broadcast.id):
                    break
                if not wanted:  # opted out (an old announcement's button) or erased since it was written
                    await uow.broadcasts.finish(row_id, RecipientStatus.SKIPPED, now)
                    continue
                if s.quiet is not None and s.quiet.contains(now, zone):
                    await uow.broadcasts.hold(row_id, s.quiet.next_end(now, zone))
                    continue
                if not await uow.broadcasts.begin_send(row_id, self._owner):
                    continue  # another runner's now
            # Committed as ``sending`` before the platform is called: never sent twice.
            last = (
                row_id,
                key,
                await self._push(key, announcement, dedup=f"bc{row_id}", priority=Priority.BULK),
            )
        if last is not None:
            async with self._db.uow() as uow:
                await uow.broadcasts.finish(last[0], await self._status(uow, last[1], last[2]), now)
        for rows in many.values():
            size = self._fanout(rows[0][1])
            for start in range(0, len(rows), size):
                if self.halted or not await self._send_many(
                    broadcast, announcement, rows[start : start + size], now
                ):
                    break
        return len(claimed)

    def _fanout(self, key: str) -> int:
        return 1 if self._many is None else self._many.fanout(parse_person_key(key)[0])

    async def _send_many(
        self, broadcast: Broadcast, announcement: Announcement, rows: list[tuple[int, str]], now: datetime
    ) -> bool:
        """One call to many (VK's peer_ids): every row ``sending`` in one commit before it, every
        result in one commit after it. False when the broadcast was stopped meanwhile."""
        if self._many is None:
            return False
        async with self._db.uow() as uow:
            if not await self._still_sending(uow, broadcast.id):
                return False
            taken = await uow.broadcasts.begin_send_many([row_id for row_id, _ in rows], self._owner)
        keys = {key: row_id for row_id, key in rows if row_id in taken}
        if not keys:
            return True
        # One name for the broadcast: a send repeated to a person is dropped by VK (its random_id).
        results = await self._many.push_many(list(keys), announcement, dedup=f"bc{broadcast.id}")
        by_status: dict[RecipientStatus, list[int]] = {}
        for key, row_id in keys.items():
            status = STATUS_OF.get(results.get(key, Delivery.FAILED), RecipientStatus.FAILED)
            by_status.setdefault(status, []).append(row_id)
        async with self._db.uow() as uow:
            for status, row_ids in by_status.items():
                await uow.broadcasts.finish_many(row_ids, status, now)
        return True

    async def _still_sending(self, uow: UnitOfWork, broadcast_id: int) -> bool:
        current = await uow.broadcasts.get(broadcast_id)
        if current is None or current.status != BroadcastStatus.SENDING.value:
            await uow.broadcasts.skip_rest(broadcast_id)
            return False
        return True

    @staticmethod
    async def _status(uow: UnitOfWork, key: str, delivery: object) -> RecipientStatus:
        if isinstance(delivery, Delivery):
            return STATUS_OF[delivery]
        if delivery:
            return RecipientStatus.SENT
        person = await uow.people.get(key)
        return (
            RecipientStatus.UNREACHABLE
            if person is not None and not person.reachable
            else RecipientStatus.FAILED
        )

    async def _report(self, broadcast_id: int, now: datetime, *, final: bool) -> None:
        """One progress message to the admin, edited every few seconds; the final report at the end."""
        async with self._db.uow() as uow:
            broadcast = await uow.broadcasts.get(broadcast_id)
            if broadcast is None:
                return
            finished = final and await uow.broadcasts.finish_broadcast(broadcast_id, now)
            last = broadcast.progress_at
            # Every few seconds while sending; while only quiet hours hold it, now and then.
            every = self._settings.progress_every if not final else timedelta(minutes=10)
            if not finished and last is not None and now - last < every:
                return
            counts = await uow.broadcasts.tally(broadcast_id)
            await uow.broadcasts.set_progress(broadcast_id, None, now)
            message_id, admin = broadcast.progress_message_id, broadcast.created_by
        screen = Screen(text=self._text(broadcast_id, counts, finished))
        platform, user_id = parse_person_key(admin)
        messenger = self._messengers.get(platform)
        if messenger is None:
            return
        try:
            if message_id is not None and not finished and await messenger.edit(user_id, message_id, screen):
                return
            ids = await messenger.send(user_id, screen)
        except (RecipientUnreachableError, DeliveryFailedError):
            log.warning("could not tell the admin how broadcast %d goes", broadcast_id)
            return
        if ids and not finished:
            async with self._db.uow() as uow:
                await uow.broadcasts.set_progress(broadcast_id, ids[0], now)

    def _text(self, broadcast_id: int, counts: dict[str, int], finished: bool) -> str:
        _ = self._tr.gettext
        total = sum(v for k, v in counts.items() if k != "held")
        sent = counts.get(RecipientStatus.SENT.value, 0)
        values = {
            "n": broadcast_id,
            "sent": sent,
            "total": total,
            "unreachable": counts.get(RecipientStatus.UNREACHABLE.value, 0),
            "failed": counts.get(RecipientStatus.FAILED.value, 0)
            + counts.get(RecipientStatus.SENDING.value, 0),
            "skipped": counts.get(RecipientStatus.SKIPPED.value, 0),
            "held": counts["held"],
            "refused": counts.get(RecipientStatus.REFUSED.value, 0),
        }
        if finished:
            report = _(
                N_(
                    "📣 Announcement #{n} is finished.\nDelivered: {sent}\nUnreachable: {unreachable}\n"
                    "Failed: {failed}\nSkipped (opted out or cancelled): {skipped}"
                )
            ).format(**values)
            if values["refused"]:  # VK 943/944: not retried, and worth knowing apart from failures
                report += "\n" + _(N_("Refused by VK (too long since they last wrote): {refused}")).format(
                    **values
                )
            return report
        return _(
            N_(
                "📣 Announcement #{n}: {sent} of {total} sent, {unreachable} unreachable, {failed} failed; "
                "{held} wait for the end of quiet hours. /broadcast_cancel stops it."
            )
        ).format(**values)
