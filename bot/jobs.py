"""Every background job of a running bot, built and registered once: APScheduler only ticks them
(bot/scheduler.py), and the truth of what is due stays in our tables.

The composition root (bot/app.py) builds the services first, then hands them here in one
``Wiring``; what it keeps of the jobs (the SLA watch and the follow-ups, which tests drive, and the
broadcasts, reclaimed at start) comes back in ``Jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.config import Settings, parse_duration
from bot.max.ids import PruneMessageIds
from bot.region import StartLinks
from bot.transport import Transport
from dialogs.directory import Directory
from dialogs.i18n import Translators
from handlers.admins import AdminRoster
from handlers.background import Background, Job
from handlers.broadcast_files import BroadcastFilesJob
from handlers.broadcasts import BroadcastJob, BroadcastSettings
from handlers.conversation import ConversationService
from handlers.delivery import DeliveryWorker
from handlers.fanout import Fanout
from handlers.followups import FollowUpJob, FollowUpSettings
from handlers.housekeeping import Housekeeping, WalCheckpoint
from handlers.inbox import Inbox
from handlers.inflight import InFlight
from handlers.localtime import Hours
from handlers.pacer import PriorityPacer
from handlers.ports import Messenger
from handlers.replicas import Heartbeat
from handlers.retention import Retention
from handlers.sla import SlaSettings, SlaWatch
from storage.uow import Database
from storage.vocabulary import Platform


@dataclass(frozen=True)
class Wiring:
    """What the jobs share with the rest of the application, built before them."""

    db: Database
    pacer: PriorityPacer
    delivery: DeliveryWorker
    inbox: Inbox
    heartbeat: Heartbeat
    conversation: ConversationService
    messengers: dict[Platform, Messenger]
    translators: Translators
    directory: Directory
    admins: AdminRoster
    start_links: dict[Platform, str]  # filled by the StartLinks job once the transports know the bot's name
    in_flight: InFlight
    transports: list[Transport]


@dataclass(frozen=True)
class Jobs:
    background: Background  # every job, in the order they are ticked
    sla: SlaWatch
    followups: FollowUpJob
    broadcasts: BroadcastJob  # what this instance was sending when it stopped is reclaimed at start


def build_jobs(settings: Settings, w: Wiring) -> Jobs:
    sla = SlaWatch(
        w.db,
        messengers=w.messengers,
        translators=w.translators,
        settings=SlaSettings(
            claim=parse_duration(settings.claim_sla),
            claim_urgent=parse_duration(settings.claim_sla_urgent),
            admins=w.admins,
            locale=settings.default_locale,
        ),
        in_flight=w.in_flight,
        pacer=w.pacer,
    )
    followups = FollowUpJob(
        w.db,
        push=w.conversation.push,
        messengers=w.messengers,
        translators=w.translators,
        directory=w.directory,
        settings=follow_up_settings(settings),
        pacer=w.pacer,
    )
    broadcasts = BroadcastJob(
        w.db,
        push=w.conversation.push,
        many=Fanout(w.conversation),
        instance=settings.instance_id,
        messengers=w.messengers,
        translators=w.translators,
        directory=w.directory,
        settings=BroadcastSettings(
            quiet=Hours.parse(settings.quiet_hours),
            default_zone=ZoneInfo(settings.default_timezone),
            locale=settings.default_locale,
        ),
    )
    jobs: list[Job] = [
        BroadcastFilesJob(w.db, messengers=w.messengers),  # before a broadcast with a file starts
        w.delivery,
        sla,
        Housekeeping(w.db),
        WalCheckpoint(w.db),
        Retention(w.db, keep=parse_duration(settings.retention)),
        followups,
        w.inbox,
        w.conversation.sent_log,
        broadcasts,
        w.heartbeat,
        StartLinks(w.transports, w.start_links),  # /links: the bot's name on each platform
    ]
    if settings.max_enabled:
        jobs.append(PruneMessageIds(w.db))
    return Jobs(Background(jobs, in_flight=w.in_flight), sla, followups, broadcasts)


def follow_up_settings(settings: Settings) -> FollowUpSettings:
    return FollowUpSettings(
        schedule=settings.followup_offsets,
        expire=parse_duration(settings.followup_expire),
        quiet=Hours.parse(settings.quiet_hours),
        default_zone=ZoneInfo(settings.default_timezone),
        locale=settings.default_locale,
        admins=tuple(settings.admins),
    )
