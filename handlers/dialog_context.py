"""What the dialogs are told on each turn: the conversation's settings, the person and their requests,
the directory of help (read again at most every RESOURCES_TTL seconds), and when the desk answers.

The conversation (handlers/conversation.py) asks for a ``Context`` before each step of a turn; this
module is the one place that knows where each part of it comes from.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dialogs.directory import Directory
from dialogs.engine import Context, Limits
from dialogs.i18n import Translators
from dialogs.primitives import Role, Traits
from dialogs.resources import Resource
from dialogs.state import PersonView, TicketView
from handlers.admins import AdminRoster
from handlers.directory_admin import to_resource
from handlers.localtime import DeskHours, Hours
from storage.models import Person, Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import Category, Platform, TicketStatus

# Another replica's change to the directory of help shows here within this many seconds.
RESOURCES_TTL = 10.0


@dataclass(frozen=True)
class ConversationSettings:
    consent_version: str
    default_locale: str
    policy_url: str | None = None
    org_name: str | None = None  # ORG_NAME
    org_hotline: str | None = None  # ORG_HOTLINE
    limits: Limits = field(default_factory=Limits)
    # When coordinators answer, in their time zone; outside them a new request is told when (None: always).
    working_hours: Hours | None = None
    desk_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    default_chat: str | None = None  # COORDINATOR_CHAT: its bound region's zone counts for working hours
    # Filled in once the transports have started (they ask the platforms for the bot's name).
    start_links: Mapping[Platform, str] = field(default_factory=dict)
    admins: AdminRoster | None = None  # ADMIN_IDS and the admins added with /admins


class DialogContexts:
    """Builds each step's ``Context``; keeps the directory of help between turns."""

    def __init__(
        self, translators: Translators, directory: Directory, settings: ConversationSettings
    ) -> None:
        self._translators = translators
        self._directory = directory
        self._settings = settings
        self._resources: tuple[float, tuple[Resource, ...]] | None = None  # (read at, the directory)

    async def context(
        self, uow: UnitOfWork, person: Person, traits: Traits, role: Role, idle: bool, *, new: bool = False
    ) -> Context:
        """``new``: the person was created in this transaction, so they have no request to read."""
        settings = self._settings
        tickets: Sequence[Ticket] = () if new else await uow.tickets.for_person(person.id)
        return Context(
            translators=self._translators,
            locale=person.locale,
            person=person_view(person),
            tickets=tuple(ticket_view(t) for t in tickets),
            directory=self._directory,
            consent_version=settings.consent_version,
            policy_url=settings.policy_url,
            org_name=settings.org_name,
            org_hotline=settings.org_hotline,
            limits=settings.limits,
            traits=traits,
            role=role,
            idle=idle,
            resources=await self._directory_now(uow),
            zone=settings.desk_zone.key,
            start_links={p.value: link for p, link in settings.start_links.items()},
            admins=settings.admins.view() if settings.admins is not None and role is Role.ADMIN else (),
        )

    def directory_changed(self) -> None:
        """The admin who changed the directory of help sees the change at once."""
        self._resources = None

    def desk_hours(self) -> DeskHours:
        settings = self._settings
        return DeskHours(settings.working_hours, settings.desk_zone, self._directory, settings.default_chat)

    async def _directory_now(self, uow: UnitOfWork) -> tuple[Resource, ...]:
        """The directory of help, read again at most every RESOURCES_TTL seconds: it changes rarely,
        and every turn would otherwise read it whole."""
        now = time.monotonic()
        if self._resources is None or now - self._resources[0] > RESOURCES_TTL:
            self._resources = (now, tuple(to_resource(row) for row in await uow.resources.all()))
        return self._resources[1]


def ticket_view(ticket: Ticket) -> TicketView:
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


def person_view(person: Person) -> PersonView:
    return PersonView(
        key=person.key,
        locale=person.locale,
        consent_version=person.consent_version,
        consent_at=person.consent_at,
        announcements=person.announcements,
        region=person.region,
        created_at=person.created_at,
    )
