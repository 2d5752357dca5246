"""The composition root: everything is built here, inside main(), and stopped in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings, parse_duration, parse_ids
from bot.i18n import load_translators
from bot.scheduler import create_scheduler
from bot.telegram.app import TelegramTransport, create_bot, create_dispatcher
from bot.transport import Transport
from bot.vk.transport import VkTiming, VkTransport
from dialogs.assembly import assemble
from dialogs.directory import load_directory
from dialogs.i18n import Translators
from handlers.appointments import AppointmentSettings
from handlers.background import Background
from handlers.bindings import BindingDesk
from handlers.conversation import ConversationService, ConversationSettings
from handlers.cursors import Cursors
from handlers.delivery import DeliverySettings, DeliveryWorker
from handlers.followups import FollowUpJob, FollowUpSettings
from handlers.housekeeping import Housekeeping
from handlers.inflight import InFlight
from handlers.localtime import Hours
from handlers.pacer import PriorityPacer
from handlers.ports import Messenger
from handlers.relay import ThreadRelay
from handlers.router import InboundRouter
from handlers.sla import SlaSettings, SlaWatch
from handlers.tickets import TicketDesk
from storage.db import create_engine, migrate
from storage.uow import Database
from storage.vocabulary import Platform

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 30.0


class Application:
    def __init__(
        self,
        settings: Settings,
        *,
        polling_timeout: int = 10,
        delivery: Mapping[str, Any] | None = None,
        vk_timing: VkTiming | None = None,
    ) -> None:
        self.settings = settings
        self._polling_timeout = polling_timeout
        self._delivery_overrides = dict(delivery or {})
        self._vk_timing = vk_timing or VkTiming()
        self.delivery: DeliveryWorker | None = None
        self.sla: SlaWatch | None = None
        self.pacer: PriorityPacer | None = None
        self.background: Background | None = None
        # Everything taken from a platform (updates, a tick) finishes before the database closes.
        self.in_flight = InFlight()
        self.db: Database | None = None
        self.transports: list[Transport] = []
        self.conversation: ConversationService | None = None
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        settings = self.settings
        if settings.webhook_url:
            log.warning("WEBHOOK_URL is set, but webhook mode is not in this version yet; using long polling")
        if settings.redis_url:
            log.warning("REDIS_URL is set, but dialog state is kept in the database in this version")

        self.db = Database(create_engine(settings.database_url))
        await migrate(self.db.engine)
        translators = load_translators(settings.default_locale)
        directory = load_directory()

        messengers: dict[Platform, Messenger] = {}
        in_flight = self.in_flight
        default_chat = parse_ids(settings.coordinator_chat)[0] if settings.coordinator_chat else None
        if not settings.telegram_enabled:
            log.warning(
                "Telegram is off: requests are saved, but no coordinators' chat can get them until "
                "BOT_TOKEN is set (coordinators' chats are Telegram groups in this version)"
            )
        delivery_settings = replace(
            DeliverySettings(default_chat=default_chat, locale=settings.default_locale),
            **self._delivery_overrides,
        )
        # One pacer for every outbound message of this process (see handlers/pacer.py).
        self.pacer = PriorityPacer(delivery_settings.pacer_settings())
        self.delivery = DeliveryWorker(
            self.db,
            messengers=messengers,
            translators=translators,
            settings=delivery_settings,
            pacer=self.pacer,
            directory=directory,
        )
        desk = TicketDesk(
            self.db,
            messengers=messengers,
            translators=translators,
            chat_locale=settings.default_locale,
            admins=settings.admins,
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
            admins=settings.admins,
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
            messengers=messengers,
            translators=translators,
            directory=directory,
            settings=ConversationSettings(
                consent_version=settings.consent_version,
                default_locale=settings.default_locale,
                policy_url=settings.privacy_policy_url,
                working_hours=Hours.parse(settings.working_hours),
                desk_zone=ZoneInfo(settings.default_timezone),
            ),
            on_outbox=self.delivery.wake,
            in_flight=in_flight,
        )
        self.conversation = conversation
        router = InboundRouter(
            conversation=conversation,
            desk=desk,
            relay=relay,
            bindings=bindings,
            admins=settings.admins,
            desk_platforms={Platform.TELEGRAM},  # coordinators' chats are Telegram groups in this version
        )
        self.transports = self._transports(router, translators, self.db)
        messengers.update({t.platform: t.messenger for t in self.transports})
        self.sla = SlaWatch(
            self.db,
            messengers=messengers,
            translators=translators,
            settings=SlaSettings(
                claim=parse_duration(settings.claim_sla),
                claim_urgent=parse_duration(settings.claim_sla_urgent),
                admins=settings.admins,
                locale=settings.default_locale,
            ),
            in_flight=in_flight,
            pacer=self.pacer,
        )
        followups = FollowUpJob(
            self.db,
            push=conversation.push,
            messengers=messengers,
            translators=translators,
            directory=directory,
            settings=follow_up_settings(settings),
            pacer=self.pacer,
        )
        # Every background job, registered once; APScheduler only ticks them.
        jobs = [self.delivery, self.sla, Housekeeping(self.db), followups]
        self.background = Background(jobs, in_flight=in_flight)
        # The transports first: a token the platform refuses stops the start before anything runs.
        for transport in self.transports:
            await transport.start()
        self._scheduler = create_scheduler(self.background)
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # no new ticks
        if self.background is not None:
            # Running ticks finish the row in hand; the rest waits in our tables for the next start.
            await self.background.stop(timeout=DRAIN_TIMEOUT)
        for transport in self.transports:
            await transport.stop_listening()
        # Updates already taken from the platforms will not be sent again: finish them first.
        await self.in_flight.drain(timeout=DRAIN_TIMEOUT)
        for transport in self.transports:
            await transport.close()
        if self.db is not None:
            await self.db.dispose()
        log.info("stopped")

    def failure(self) -> BaseException | None:
        for transport in self.transports:
            if transport.failed is not None:
                return transport.failed
        return None

    def _transports(self, router: InboundRouter, translators: Translators, db: Database) -> list[Transport]:
        """Every configured messenger, in one list: the rest of the application treats them alike."""
        settings, transports = self.settings, list[Transport]()
        if settings.telegram_enabled:
            transports.append(
                TelegramTransport(
                    create_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url),
                    create_dispatcher(router),
                    translators,
                    polling_timeout=self._polling_timeout,
                )
            )
        if settings.vk_enabled and settings.vk_group_id is not None:
            transports.append(
                VkTransport.create(
                    settings.vk_token.get_secret_value(),
                    settings.vk_group_id,
                    settings.vk_api_url,
                    router,
                    Cursors(db),
                    wait=self._polling_timeout,
                    timing=self._vk_timing,
                )
            )
        return transports

    def transport(self, platform: Platform) -> Transport | None:
        return next((t for t in self.transports if t.platform is platform), None)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then stop cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = Application(settings)
    try:
        await app.start()
        log.info("running; press Ctrl+C to stop")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
            failure = app.failure()
            if failure is not None:
                raise failure
    finally:
        await app.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def follow_up_settings(settings: Settings) -> FollowUpSettings:
    return FollowUpSettings(
        schedule=settings.followup_offsets,
        expire=parse_duration(settings.followup_expire),
        quiet=Hours.parse(settings.quiet_hours),
        default_zone=ZoneInfo(settings.default_timezone),
        locale=settings.default_locale,
    )
