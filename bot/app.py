"""The composition root: everything is built here, inside main(), and stopped in reverse order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import ConfigError, Settings, parse_ids
from bot.i18n import load_translators
from bot.jobs import Wiring, build_jobs
from bot.max.client import MaxTiming
from bot.region import region_directory
from bot.scheduler import create_scheduler
from bot.transport import Transport
from bot.transports import Timings, build_transports
from bot.vk.options import VkTiming
from bot.web import MeteredRouter, Metrics, WebServer
from dialogs.assembly import assemble
from dialogs.i18n import Translators
from handlers.admins import AdminRoster
from handlers.appointments import AppointmentSettings
from handlers.background import Background
from handlers.bindings import BindingDesk
from handlers.conversation import ConversationService
from handlers.delivery import DeliverySettings, DeliveryWorker
from handlers.desk_commands import DeskCommands
from handlers.dialog_context import ConversationSettings
from handlers.followups import FollowUpJob
from handlers.health import Health
from handlers.inbox import Inbox
from handlers.inflight import InFlight
from handlers.localtime import Hours
from handlers.locks import PersonLocks, SharedLocks
from handlers.pacer import Limit, PriorityPacer
from handlers.ports import Messenger
from handlers.relay import ThreadRelay
from handlers.replicas import Heartbeat
from handlers.router import InboundRouter
from handlers.sla import SlaWatch
from handlers.tickets import TicketDesk
from storage.db import DatabaseRefusedError, create_engine, migrate_when_reachable
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.shared import RedisBudget

log = logging.getLogger(__name__)
PEERS_PER_CALL = 100  # VK's messages.send reaches this many people at once

DRAIN_TIMEOUT = 30.0


class Application:
    def __init__(
        self,
        settings: Settings,
        *,
        polling_timeout: int = 10,
        delivery: Mapping[str, Any] | None = None,
        vk_timing: VkTiming | None = None,
        serve_web: bool = True,
        max_timing: MaxTiming | None = None,
    ) -> None:
        self.settings = settings
        # The sandbox serves everything on its own one port: the bot's server stays closed there.
        self._serve_web = serve_web
        self._polling_timeout = polling_timeout
        self._delivery_overrides = dict(delivery or {})
        self._vk_timing = vk_timing or VkTiming()
        self._max_timing = max_timing or MaxTiming()
        self.delivery: DeliveryWorker | None = None
        self.sla: SlaWatch | None = None
        self.followups: FollowUpJob | None = None
        self.pacer: PriorityPacer | None = None
        self.background: Background | None = None
        # Everything taken from a platform (updates, a tick) finishes before the database closes.
        self.in_flight = InFlight()
        self.inbox: Inbox | None = None
        self.heartbeat: Heartbeat | None = None
        self.redis: Redis | None = None
        self.db: Database | None = None
        self.transports: list[Transport] = []
        self.conversation: ConversationService | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self.web: WebServer | None = None
        self._listening = False  # every transport started

    async def start(self) -> None:
        settings = self.settings

        # First, so that /healthz and /readyz answer while the database or a platform is waited for.
        self.web = WebServer(settings.web_host, settings.web_port, Metrics())
        self.web.transports_running = self._transports_running
        if self._serve_web:
            await self.web.start()
        self.db = Database(create_engine(settings.database_url))
        self.web.health = Health(self.db)
        self.inbox = Inbox(self.db)
        try:
            await migrate_when_reachable(self.db.engine)
        except DatabaseRefusedError as exc:
            raise ConfigError(f"DATABASE_URL: the database refused the connection ({exc})") from None
        self.heartbeat = await self._join(self.db)
        translators = load_translators(settings.default_locale)
        directory = await region_directory(settings, self.db)

        messengers: dict[Platform, Messenger] = {}
        start_links: dict[Platform, str] = {}  # filled once the transports know the bot's name
        admins = AdminRoster(settings.admins, self.db)  # ADMIN_IDS and those added with /admins
        in_flight = self.in_flight
        default_chat = parse_ids(settings.coordinator_chat)[0] if settings.coordinator_chat else None
        if not settings.telegram_enabled and not settings.max_enabled and not settings.vk_enabled:
            log.warning(
                "Telegram, MAX and VK are off: requests are saved, but no coordinators' chat can get them "
                "until BOT_TOKEN, MAX_TOKEN or VK_TOKEN is set"
            )
        delivery_settings = replace(
            DeliverySettings(default_chat=default_chat, locale=settings.default_locale),
            **self._delivery_overrides,
        )
        # One pacer for every outbound message of this process (see handlers/pacer.py).
        locks, budget = await self._shared()
        bulk = Limit(max(1, round(settings.broadcast_rate)), 1.0)  # BROADCAST_RATE, per platform
        window = max(1.0, PEERS_PER_CALL / settings.broadcast_rate)  # one VK call's worth of seconds
        vk_bulk = Limit(max(1, round(settings.broadcast_rate * window)), window)
        self.pacer = PriorityPacer(
            replace(delivery_settings.pacer_settings(), bulk=bulk, vk_bulk=vk_bulk), budget=budget
        )
        self.delivery = DeliveryWorker(
            self.db,
            messengers=messengers,
            translators=translators,
            settings=delivery_settings,
            pacer=self.pacer,
            directory=directory,
            instance=settings.instance_id,
        )
        desk = TicketDesk(
            self.db,
            messengers=messengers,
            translators=translators,
            chat_locale=settings.default_locale,
            admins=admins,
            directory=directory,
            default_chat=default_chat,
            on_outbox=self.delivery.wake,
            in_flight=in_flight,
            pacer=self.pacer,
            chat_zone=ZoneInfo(settings.default_timezone),
        )
        bindings = BindingDesk(
            self.db,
            messengers=messengers,
            translators=translators,
            chat_locale=settings.default_locale,
            directory=directory,
            admins=admins,
            default_chat=default_chat,
        )
        relay = ThreadRelay(
            self.db,
            desk=desk,
            messengers=messengers,
            translators=translators,
            chat_locale=settings.default_locale,
            in_flight=in_flight,
            appointments=AppointmentSettings(
                directory=directory,
                reminders=settings.appointment_offsets,
                quiet=Hours.parse(settings.quiet_hours),
                default_zone=ZoneInfo(settings.default_timezone),
            ),
        )
        conversation = ConversationService(
            self.db,
            dialogs=assemble(),
            pacer=self.pacer,
            locks=locks,
            ordered=locks is not None,
            messengers=messengers,
            translators=translators,
            directory=directory,
            settings=ConversationSettings(
                consent_version=settings.consent_version,
                default_locale=settings.default_locale,
                policy_url=settings.privacy_policy_url,
                org_name=settings.org_name,
                org_hotline=settings.org_hotline,
                working_hours=Hours.parse(settings.working_hours),
                desk_zone=ZoneInfo(settings.default_timezone),
                default_chat=default_chat,
                start_links=start_links,
                admins=admins,
            ),
            on_outbox=self.delivery.wake,
            in_flight=in_flight,
        )
        self.conversation = conversation
        router = MeteredRouter(
            conversation=conversation,
            desk=desk,
            relay=relay,
            bindings=bindings,
            admins=admins,
            # Coordinators' chats: Telegram groups, MAX group chats, VK conversations.
            desk_platforms={Platform.TELEGRAM, Platform.MAX, Platform.VK},
            commands=DeskCommands(desk),
        )
        router.metrics = self.web.metrics
        self.transports = self._transports(router, translators, self.db, self.inbox)
        messengers.update({t.platform: t.messenger for t in self.transports})
        jobs = build_jobs(
            settings,
            Wiring(
                db=self.db,
                pacer=self.pacer,
                delivery=self.delivery,
                inbox=self.inbox,
                heartbeat=self.heartbeat,
                conversation=conversation,
                messengers=messengers,
                translators=translators,
                directory=directory,
                admins=admins,
                start_links=start_links,
                in_flight=in_flight,
                transports=self.transports,
            ),
        )
        self.sla, self.followups, self.background = jobs.sla, jobs.followups, jobs.background
        # The transports first: a token the platform refuses stops the start before anything runs.
        for transport in self.transports:
            await transport.start()
        self._listening = True
        self._scheduler = create_scheduler(jobs.background)
        await self.delivery.reclaim()  # what this instance was posting when it stopped goes first
        await jobs.broadcasts.reclaim(utcnow())
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()  # no new ticks
        if self.background is not None:
            # Running ticks finish the row in hand; the rest waits in our tables for the next start.
            await self.background.stop(timeout=DRAIN_TIMEOUT)
        if self._scheduler is not None and self._scheduler.running:
            # Only now: APScheduler's shutdown cancels the ticks it started (the row in hand cut in
            # half, and a traceback in the log), so they are let finish first.
            self._scheduler.shutdown(wait=False)
        for transport in self.transports:
            await transport.stop_listening()
        # Updates already taken from the platforms will not be sent again: finish them first.
        await self.in_flight.drain(timeout=DRAIN_TIMEOUT)
        # Closed before the flushes below: a feed's last updates are marked handled as their tasks end.
        for transport in self.transports:
            await transport.close()
        if self.conversation is not None:
            await self.conversation.sent_log.flush()  # the last replies' ids, before the inbox forgets them
        if self.inbox is not None:
            await self.inbox.flush()  # what was handled is not handled again at the next start
        if self.heartbeat is not None and self.db is not None:
            with contextlib.suppress(Exception):  # best effort: a stale row is ignored after 30 s anyway
                await self.heartbeat.gone()
        if self.db is not None:
            await self.db.dispose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.web is not None:
            await self.web.stop()
        log.info("stopped")

    def failure(self) -> BaseException | None:
        for transport in self.transports:
            if transport.failed is not None:
                return transport.failed
        return None

    def _transports(
        self, router: InboundRouter, translators: Translators, db: Database, inbox: Inbox
    ) -> list[Transport]:
        """Every configured messenger, in one list: the rest of the application treats them alike."""
        hooks = self.web.hooks if self.web is not None else {}
        timings = Timings(self._polling_timeout, self._vk_timing, self._max_timing)
        return build_transports(
            self.settings, router, translators, db=db, inbox=inbox, hooks=hooks, timings=timings
        )

    async def _join(self, db: Database) -> Heartbeat:
        """This replica among the others on the database: several need Redis, else one line and stop."""
        heartbeat = Heartbeat(db, self.settings.instance_id)
        others = await heartbeat.others(utcnow())
        if others and not self.settings.redis_url:
            raise ConfigError(
                f"REDIS_URL: another replica ({others[0]}) runs on this database; several replicas need "
                "REDIS_URL (one person's updates in order, one rate budget per platform)"
            )
        await heartbeat.run_once(utcnow())
        return heartbeat

    async def _shared(self) -> tuple[PersonLocks | None, RedisBudget | None]:
        """With several replicas: one lock per person and one rate budget per platform, in Redis.
        Imported only then: a bot without Redis does not carry its client (6 MiB)."""
        if not self.settings.redis_url:
            return None, None
        from bot import shared  # noqa: PLC0415

        self.redis = shared.connect(self.settings.redis_url)
        await shared.wait_for_redis(self.redis)
        return SharedLocks(shared.person_lock(self.redis)), shared.RedisBudget(self.redis)

    def _transports_running(self) -> bool:
        return self._listening and all(t.failed is None for t in self.transports)

    def transport(self, platform: Platform) -> Transport | None:
        return next((t for t in self.transports if t.platform is platform), None)
