"""Broadcasts: the wizard's effects, and the paced sender (a ``Job`` of the one background shape).

A broadcast due now is started in one transaction that writes one row per recipient (INSERT ...
SELECT). The sender leases a batch of rows with a conditional UPDATE, then for each row: one short
committed UPDATE to ``sending``, the push outside any transaction (a system turn: a family in the
middle of a step gets it after the step, paced at BULK priority), and the result in a new short
transaction. A crash leaves at most the one row in ``sending``, never sent again: at most once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from dialogs.announcements import Announcement
from dialogs.directory import Directory
from dialogs.i18n import N_, Translators
from dialogs.primitives import (
    CancelBroadcasts,
    CountAudience,
    Event,
    EventKind,
    PricePaid,
    Screen,
    SendBroadcast,
    SetAnnouncements,
)
from dialogs.state import Attachment
from handlers.background import Job
from handlers.localtime import Hours, zone_of
from handlers.pacer import Priority
from handlers.ports import DeliveryFailedError, Messenger, RecipientUnreachableError, StarBalance
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

Push = Callable[..., Awaitable[bool]]  # ConversationService.push(person, event, dedup=..., priority=...)
DONE_STATUSES = (RecipientStatus.SENT, RecipientStatus.UNREACHABLE, RecipientStatus.FAILED)


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
        balance = await telegram.star_balance()
    except (DeliveryFailedError, RecipientUnreachableError) as exc:
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
    batch: int = 50
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
    ) -> None:
        super().__init__()
        self._db = db
        self._push = push
        self._messengers = messengers
        self._tr = translators[settings.locale]
        self._directory = directory
        self._settings = settings
        self._owner = uuid.uuid4().hex  # this runner's leases

    async def run_once(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            for due in await uow.broadcasts.due(now):
                written = await uow.broadcasts.start(due)
                log.info("broadcast %d started: %d recipients written", due.id, written)
            sending = list(await uow.broadcasts.sending())
        done = 0
        for broadcast in sending:
            done += await self._batch(broadcast, now)
            if self.halted:
                break
        return done

    async def _batch(self, broadcast: Broadcast, now: datetime) -> int:
        s = self._settings
        async with self._db.uow() as uow:
            claimed = await uow.broadcasts.claim(broadcast.id, self._owner, now, s.lease, s.batch)
            plans = []
            for row, person in claimed:
                zone = zone_of(self._directory, await uow.broadcasts.region_of(person.id), s.default_zone)
                wanted = person.announcements and person.reachable and person.deleted_at is None
                plans.append((row.id, person.key, wanted, zone))
        announcement = announcement_of(broadcast)
        for row_id, key, wanted, zone in plans:
            if self.halted:
                break  # the rest keep their lease and are claimed again after it
            async with self._db.uow() as uow:
                current = await uow.broadcasts.get(broadcast.id)
                if current is None or current.status != BroadcastStatus.SENDING.value:
                    await uow.broadcasts.skip_rest(broadcast.id)
                    break
                if not wanted:  # opted out (an old announcement's button) or erased since it was written
                    await uow.broadcasts.finish(row_id, RecipientStatus.SKIPPED, now)
                    continue
                if s.quiet is not None and s.quiet.contains(now, zone):
                    await uow.broadcasts.hold(row_id, s.quiet.next_end(now, zone))
                    continue
                if not await uow.broadcasts.begin_send(row_id, self._owner):
                    continue  # another runner's now
            sent = await self._push(key, announcement, dedup=f"bc{row_id}", priority=Priority.BULK)
            async with self._db.uow() as uow:
                now_person = await uow.people.get(key)
                if sent:
                    status = RecipientStatus.SENT
                elif now_person is not None and not now_person.reachable:
                    status = RecipientStatus.UNREACHABLE
                else:
                    status = RecipientStatus.FAILED
                await uow.broadcasts.finish(row_id, status, now)
        await self._report(broadcast.id, now, final=not claimed)
        return len(claimed)

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
        }
        if finished:
            return _(
                N_(
                    "📣 Announcement #{n} is finished.\nDelivered: {sent}\nUnreachable: {unreachable}\n"
                    "Failed: {failed}\nSkipped (opted out or cancelled): {skipped}"
                )
            ).format(**values)
        return _(
            N_(
                "📣 Announcement #{n}: {sent} of {total} sent, {unreachable} unreachable, {failed} failed; "
                "{held} wait for the end of quiet hours. /broadcast_cancel stops it."
            )
        ).format(**values)
