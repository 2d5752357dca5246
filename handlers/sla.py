"""Nobody took it: re-announce, escalate to admins (the day-long nudge is a follow-up row: nudge.py).

A background job of the one shape: what is due is claimed in the tickets table with conditional
UPDATEs (and audited) in one short transaction, so a tick that runs twice (or on two replicas)
announces each ticket once per period; the alerts go out after the commit, paced as scheduled traffic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.cards import Speaker
from dialogs.i18n import N_, Translators
from dialogs.primitives import Screen
from handlers.admins import AdminRoster
from handlers.away import who_hears
from handlers.background import Job
from handlers.desk_common import send_quietly
from handlers.inflight import InFlight
from handlers.pacer import Pacer, Priority
from handlers.ports import Messenger
from storage.models import TicketPost, utcnow
from storage.uow import Database
from storage.vocabulary import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlaSettings:
    claim: timedelta
    claim_urgent: timedelta
    admins: Collection[str] = ()
    locale: str = "ru"


def where(post: TicketPost | None) -> tuple[int | None, int | None]:
    """Under the card, in its forum topic if it has one."""
    return (post.message_id, post.thread_id) if post is not None else (None, None)


class SlaWatch(Job):
    name = "sla"
    interval = 60.0

    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        settings: SlaSettings,
        clock: Callable[[], datetime] = utcnow,
        in_flight: InFlight | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self._pacer = pacer
        self.in_flight = in_flight or InFlight()
        self._messengers = messengers
        self._speaker = Speaker(translators[settings.locale], settings.locale)
        self._settings = settings
        self._clock = clock

    def _minutes(self, since: datetime, now: datetime) -> str:
        n = max(1, int((now - since).total_seconds() // 60))
        return self._speaker.ngettext("{n} minute", "{n} minutes", n).format(n=n)

    async def tick(self) -> int:
        """One round now, tracked, so a shutdown lets it finish (the runner ticks ``run_once``)."""
        async with self.in_flight.track():
            return await self.run_once(self._clock())

    async def run_once(self, now: datetime) -> int:
        """One round; returns how many messages it asked to send."""
        sends: list[tuple[str, Screen, int | None, int | None]] = []  # chat, screen, reply to, topic
        s = self._speaker
        if isinstance(self._settings.admins, AdminRoster):
            await self._settings.admins.refresh()  # alerts reach the admins added with /admins too
        async with self._db.uow() as uow:
            for urgent, period in ((True, self._settings.claim_urgent), (False, self._settings.claim)):
                before = now - period
                for ticket in await uow.tickets.unclaimed_since(before, urgent=urgent):
                    if not await uow.tickets.announce(ticket.id, before, now):
                        continue
                    hears = await who_hears(uow, ticket, self._settings.admins, admins_always=True)
                    if hears.chat is None:  # no chat took it (none configured, the bot refused): admins act
                        text = s._(
                            N_(
                                "⚠️ Request #{n} has reached no coordinators' chat for {waited}. Please check /bindings and COORDINATOR_CHAT."
                            )
                        )
                        stuck = Screen(
                            text=text.format(n=ticket.id, waited=self._minutes(ticket.created_at, now))
                        )
                        sends += [(admin, stuck, None, None) for admin in hears.admins]
                        continue
                    waited = self._minutes(ticket.created_at, now)
                    post = await uow.posts.card(ticket.id, hears.chat)
                    text = s._(
                        N_(
                            "⏰ Request #{n} has been waiting for a coordinator for {waited}. Who can take it?"
                        )
                    )
                    screen = Screen(text=text.format(n=ticket.id, waited=waited))
                    sends.append((hears.chat, screen, *where(post)))
                    alert = s._(N_("⏰ Nobody has taken request #{n} for {waited}.")).format(
                        n=ticket.id, waited=waited
                    )
                    sends += [(admin, Screen(text=alert), None, None) for admin in hears.admins]
                    await uow.audit.add("system", "sla_reannounce", ticket_id=ticket.id, chat=ticket.chat)
        for chat, screen, reply_to, thread_id in sends:
            await send_quietly(
                self._messengers,
                chat,
                screen,
                reply_to=reply_to,
                thread_id=thread_id,
                pacer=self._pacer,
                priority=Priority.SCHEDULED,
            )
        return len(sends)
