"""A family, a coordinators' desk and the follow-up job over one database, with a clock tests move."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialogs.assembly import assemble
from dialogs.cards import card_payload
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Screen
from handlers.appointments import AppointmentSettings
from handlers.bindings import BindingDesk
from handlers.conversation import ConversationService
from handlers.desk_common import CoordinatorAction
from handlers.dialog_context import ConversationSettings
from handlers.followups import FollowUpJob, FollowUpSettings
from handlers.localtime import Hours
from handlers.relay import GroupMessage, ThreadRelay
from handlers.router import Inbound, InboundRouter
from handlers.tickets import TicketDesk
from storage.models import FollowUp, Ticket
from storage.uow import Database
from storage.vocabulary import ChatKind, ChatRef, Platform
from tests.fakes import FakeMessenger, Family

GROUP = -100500
COORDINATOR = 7


@dataclass
class MovableClock:
    # The dialog store stamps states with the real time: a clock that starts now keeps "idle" honest.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def move(self, by: timedelta) -> None:
        self.now += by


class Rig:
    def __init__(
        self,
        db: Database,
        translators: Translators,
        directory: Directory,
        *,
        quiet: Hours | None = None,
        clock: MovableClock | None = None,
        messenger: FakeMessenger | None = None,
        conversation: ConversationSettings | None = None,
    ) -> None:
        self.db, self.clock = db, clock or MovableClock()
        self.directory = directory
        self.messenger = messenger or FakeMessenger()
        messengers = {Platform.TELEGRAM: self.messenger}
        self.service = ConversationService(
            db,
            dialogs=assemble(),
            messengers=messengers,
            translators=translators,
            directory=directory,
            settings=conversation or ConversationSettings(consent_version="v-test", default_locale="ru"),
            clock=self.clock,
        )
        self.desk = TicketDesk(
            db, messengers=messengers, translators=translators, chat_locale="en", clock=self.clock
        )
        self.settings = FollowUpSettings(
            schedule=(timedelta(days=3), timedelta(days=14)),
            expire=timedelta(days=3),
            quiet=quiet,
            default_zone=ZoneInfo("Europe/Moscow"),
            locale="en",
        )
        self.job = self.make_job()
        self.family = Family(self.service)
        self._updates = 0

    def make_job(self) -> FollowUpJob:
        return FollowUpJob(
            self.db,
            push=self.service.push,
            messengers={Platform.TELEGRAM: self.messenger},
            translators=self.desk._translators,
            directory=self.directory,
            settings=self.settings,
        )

    async def ticket(self, region: str = "r.msk") -> int:
        f = self.family
        await f.to_summary()
        if region != "r.msk":
            await f.press("t_summary", "edit")
        await f.press("t_summary", "send")
        async with self.db.uow() as uow:
            ticket = (await uow.session.scalars(select(Ticket).order_by(Ticket.id.desc()))).first()
            assert ticket is not None
            await uow.tickets.set_chat(ticket.id, f"tg:{GROUP}")
            await uow.posts.add(ticket.id, f"tg:{GROUP}", 500 + ticket.id)  # its card is out
            if region != "r.msk":
                ticket.region_code = region.removeprefix("r.")
            return ticket.id

    async def coordinator(self, action: str, ticket_id: int) -> str | None:
        self._updates += 1
        reply = await self.desk.press(
            CoordinatorAction(
                platform=Platform.TELEGRAM,
                chat_id=GROUP,
                user_id=COORDINATOR,
                user_name="Olga",
                payload=card_payload(action, ticket_id),
                update_id=10_000 + self._updates,
            )
        )
        return reply.text

    async def closed_ticket(self, region: str = "r.msk") -> int:
        ticket_id = await self.ticket(region)
        await self.coordinator("claim", ticket_id)
        await self.coordinator("oc-helped", ticket_id)
        return ticket_id

    async def rows(self, ticket_id: int) -> list[FollowUp]:
        async with self.db.uow() as uow:
            return list(await uow.followups.of_ticket(ticket_id))

    async def ticket_row(self, ticket_id: int) -> Ticket:
        async with self.db.uow() as uow:
            ticket = await uow.tickets.get(ticket_id)
            assert ticket is not None
            return ticket

    def to_family(self) -> list[Screen]:
        return [screen for chat, screen in self.messenger.sent if chat == self.family.user_id]

    def to_group(self) -> list[Screen]:
        return [screen for chat, screen in self.messenger.sent if chat == GROUP]

    async def tick(self) -> int:
        return await self.job.run_once(self.clock())

    async def allow(self, ticket_id: int) -> None:
        """Close, send the offer, and say yes."""
        await self.tick()
        await self.family.press("f_offer", "yes")


class DeskRig(Rig):
    """A Rig whose coordinators also write in the ticket's thread (/appoint)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.relay = ThreadRelay(
            self.db,
            desk=self.desk,
            messengers={Platform.TELEGRAM: self.messenger},
            translators=self.desk._translators,
            chat_locale="en",
            clock=self.clock,
            appointments=AppointmentSettings(
                directory=self.directory,
                quiet=self.settings.quiet,
                default_zone=ZoneInfo("Europe/Moscow"),
            ),
        )
        self._messages = 0
        self.router = InboundRouter(
            conversation=self.service,
            desk=self.desk,
            relay=self.relay,
            bindings=BindingDesk(
                self.db,
                messengers={Platform.TELEGRAM: self.messenger},
                translators=self.desk._translators,
                chat_locale="en",
                directory=self.directory,
                admins=(),
                default_chat=None,
            ),
            admins=(),
            desk_platforms={Platform.TELEGRAM},
        )

    async def membership(self, kind: EventKind, user_id: int = COORDINATOR) -> None:
        """A member leaves (or rejoins) the coordinators' group, as a transport reports it."""
        chat = ChatRef(Platform.TELEGRAM, GROUP, ChatKind.GROUP)
        await self.router.route(Inbound(chat=chat, user_id=user_id, event=Event(kind=kind)))

    async def write(
        self, ticket_id: int, text: str, user_id: int = COORDINATOR, *, reply_to: int | None = None
    ) -> str:
        """A coordinator replies to the card (or to ``reply_to``); returns what the bot said in the group."""
        self._messages += 1
        before = len(self.to_group())
        await self.relay.handle(
            GroupMessage(
                platform=Platform.TELEGRAM,
                chat_id=GROUP,
                user_id=user_id,
                user_name="Olga",
                message_id=9000 + self._messages,
                reply_to=reply_to or 500 + ticket_id,
                text=text,
                update_id=20_000 + self._messages,
                reply_to_bot=True,
            )
        )
        return "\n".join(s.text for s in self.to_group()[before:])
