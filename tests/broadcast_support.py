"""Families, an admin and the broadcast sender over one database, with a clock tests move."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Outcome, Payload, Role, Screen
from dialogs.state import Attachment
from handlers.broadcasts import BroadcastJob, BroadcastSettings
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from handlers.localtime import Hours
from handlers.ports import RecipientUnreachableError
from storage.models import Broadcast, BroadcastRecipient, Person
from storage.uow import Database
from storage.vocabulary import AttachmentKind, Platform
from tests.dialog_driver import DIALOGS, DialogDriver
from tests.fakes import FakeMessenger, Family
from tests.followup_support import MovableClock

ADMIN = 1


@dataclass
class BlockingMessenger(FakeMessenger):
    """Telegram as the bot sees it: people in ``blocked`` have blocked the bot."""

    blocked: set[int] = field(default_factory=set)

    async def send(self, chat_id: int, screen: Screen, **kwargs: Any) -> list[int]:
        if chat_id in self.blocked:
            raise RecipientUnreachableError(str(chat_id))
        return await super().send(chat_id, screen, **kwargs)

    def to(self, chat_id: int) -> list[Screen]:
        return [s for c, s in self.sent if c == chat_id]

    def announcements(self, chat_id: int) -> list[Screen]:
        return [s for s in self.to(chat_id) if "📣" in s.text and any(s.buttons)]


class Admin(Family):
    """A person with update ids of their own (the service drops an update id it has seen)."""

    def __init__(self, service: ConversationService, user_id: int, role: Role = Role.FAMILY) -> None:
        super().__init__(service, user_id=user_id, role=role)
        self.update_id = self.message_id = user_id * 10_000

    async def command(self, name: str) -> None:
        await self.send(Event(kind=EventKind.COMMAND, command=name, text=f"/{name}"))


class BroadcastRig:
    def __init__(
        self,
        db: Database,
        translators: Translators,
        directory: Directory,
        *,
        quiet: Hours | None = None,
        clock: MovableClock | None = None,
    ) -> None:
        self.db, self.clock = db, clock or MovableClock()
        self.translators, self.directory = translators, directory
        self.messenger = BlockingMessenger()
        self.service = ConversationService(
            db,
            dialogs=assemble(),
            messengers={Platform.TELEGRAM: self.messenger},
            translators=translators,
            directory=directory,
            settings=ConversationSettings(consent_version="v-test", default_locale="ru"),
            clock=self.clock,
        )
        self.settings = BroadcastSettings(
            quiet=quiet, default_zone=ZoneInfo("Europe/Moscow"), locale="en", batch=7
        )
        self.admin = Admin(self.service, user_id=ADMIN, role=Role.ADMIN)

    def job(self, push: Any = None) -> BroadcastJob:
        return BroadcastJob(
            self.db,
            push=push or self.service.push,
            messengers={Platform.TELEGRAM: self.messenger},
            translators=self.translators,
            directory=self.directory,
            settings=self.settings,
        )

    async def family(self, user_id: int, *, opt_in: bool = True) -> Admin:
        family = Admin(self.service, user_id=user_id)
        await family.command("start")
        await family.press("consent", "yes")
        await family.press("*", "ann_yes" if opt_in else "ann_no")
        return family

    async def compose(self, text: str = "Food kits on Saturday at <b>10:00</b>") -> None:
        await self.admin.command("broadcast")
        await self.admin.text(text)
        await self.admin.press("bc_attach", "skip")  # no photo
        await self.admin.press("bc_text_en", "skip")  # one version for everyone
        await self.admin.press("bc_aud", "all")

    async def drain(self, job: BroadcastJob | None = None, *, rounds: int = 50) -> None:
        job = job or self.job()
        for _ in range(rounds):
            if not await job.run_once(self.clock()):
                return

    async def person(self, user_id: int) -> Person:
        async with self.db.uow() as uow:
            person = await uow.people.get(f"tg:{user_id}")
            assert person is not None
            return person

    async def rows(self) -> list[BroadcastRecipient]:
        async with self.db.uow() as uow:
            return list((await uow.session.scalars(select(BroadcastRecipient))).all())

    async def broadcasts(self) -> list[Broadcast]:
        async with self.db.uow() as uow:
            return list((await uow.session.scalars(select(Broadcast).order_by(Broadcast.id))).all())


LEASE_OVER = timedelta(minutes=6)


# ---- the wizard in the pure engine ----


def wizard_step(
    driver: DialogDriver, state: str | None, data: dict[str, Any], event: Event, role: Role = Role.ADMIN
) -> Outcome:
    """One admin event through every dialog, from a saved state and data."""
    return DIALOGS.step(state, data, event, replace(driver.context(), role=role))


def pressed(step: str, value: str) -> Event:
    return Event(kind=EventKind.BUTTON, payload=Payload(step=step, value=value))


def typed(text: str) -> Event:
    return Event(kind=EventKind.TEXT, text=text)


def media(kind: AttachmentKind, ref: str, caption: str = "") -> Event:
    return Event(kind=EventKind.MEDIA, attachment=Attachment(kind=kind, ref=ref), text=caption)


class Wizard:
    """The admin's wizard driven step by step, keeping its state and data between events."""

    def __init__(self, driver: DialogDriver) -> None:
        self.driver = driver
        self.state: str | None = None
        self.data: dict[str, Any] = {}
        self.out: Outcome | None = None
        self.send(Event(kind=EventKind.COMMAND, command="broadcast", text="/broadcast"))

    def send(self, event: Event) -> Outcome:
        out = wizard_step(self.driver, self.state, self.data, event)
        self.state, self.data, self.out = out.state, out.persisted(), out
        return out

    def press(self, step: str, value: str) -> Outcome:
        return self.send(pressed(step, value))
