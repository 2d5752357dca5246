"""Messages in a ticket's thread: the assignee's go to the family, everything else stays in the group."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from dialogs.i18n import N_, Translators
from dialogs.primitives import Screen
from dialogs.state import Attachment
from dialogs.texts import esc
from handlers import appointments, nudge
from handlers.appointments import AppointmentSettings, appoint, is_appoint
from handlers.desk_common import Outbound, follow_chat_move, prompt_key, send_quietly
from handlers.inflight import InFlight
from handlers.localtime import zone_of
from handlers.ports import (
    DeliveryFailedError,
    FileData,
    FileRefusedError,
    MessageGoneError,
    Messenger,
    RecipientUnreachableError,
)
from handlers.resource_command import is_resource, suggest
from handlers.tickets import TicketDesk
from storage.models import RelayedMessage, Ticket, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import Outcome, Platform, TicketStatus, parse_person_key, person_key

log = logging.getLogger(__name__)
NOTE_COMMAND = "/note"


@dataclass(frozen=True)
class GroupMessage:
    """A message written in a coordinators' chat, in neutral terms."""

    platform: Platform
    chat_id: int
    user_id: int
    user_name: str
    message_id: int
    reply_to: int | None
    text: str
    update_id: int | None = None
    thread_id: int | None = None  # a forum topic: in forums, a message in a ticket's topic is for that ticket
    reply_to_bot: bool = False  # the replied message is the bot's own
    has_media: bool = False  # a photo, file, voice...: ``text`` is its caption
    files: tuple[Attachment, ...] = ()  # the files, for a family on another messenger


@dataclass
class _ToFamily:
    ticket_id: int
    family: str
    reply_to: int | None


class ThreadRelay:
    def __init__(
        self,
        db: Database,
        *,
        desk: TicketDesk,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        chat_locale: str,
        clock: Callable[[], datetime] = utcnow,
        in_flight: InFlight | None = None,
        appointments: AppointmentSettings | None = None,
    ) -> None:
        self._db = db
        self._appointments = appointments
        self._locale = chat_locale
        self.in_flight = in_flight or InFlight()
        self._desk = desk
        self._messengers = messengers
        self._tr = translators[chat_locale]
        self._translators = translators
        self._clock = clock

    async def migrated(self, platform: Platform, old_chat_id: int, new_chat_id: int) -> None:
        """Telegram says a group became a supergroup: tickets, cards and the default chat follow it."""
        async with self._db.uow() as uow:
            await follow_chat_move(uow, person_key(platform, old_chat_id), person_key(platform, new_chat_id))

    async def handle(self, message: GroupMessage) -> None:
        """Tracked, so a shutdown lets it finish."""
        async with self.in_flight.track():
            return await self._handle(message)

    async def _handle(self, message: GroupMessage) -> None:
        if message.reply_to is None and message.thread_id is None:
            return  # ordinary talk in the group: not ours
        chat = person_key(message.platform, message.chat_id)
        notice: str | None = None
        to_family: _ToFamily | None = None
        out = Outbound()
        async with self._db.uow() as uow:
            if message.update_id is not None and not await uow.updates.first_time(
                message.platform, message.update_id
            ):
                return
            prompt = await uow.dialogs.load(prompt_key(chat, message.reply_to)) if message.reply_to else None
            if prompt is not None and prompt[0] == appointments.PROMPT:
                notice = await self._appoint_step(uow, prompt[1], message, out)
            elif prompt is not None:
                notice = await self._referral(uow, prompt[1], message, out)
            else:
                reply_to = message.reply_to or 0
                ticket_id = await uow.posts.ticket_of(chat, reply_to)
                mapped = await uow.relay.by_group_message(chat, reply_to)
                ticket_id = ticket_id or (mapped.ticket_id if mapped else None)
                if ticket_id is None and message.thread_id is not None:
                    ticket_id = await uow.posts.ticket_of_thread(chat, message.thread_id)
                ticket = await uow.tickets.get(ticket_id) if ticket_id else None
                if ticket is None and not message.reply_to_bot:
                    return  # ordinary talk in the group
                if ticket is None:
                    # A reply to one of our messages that is not a card or a family's message:
                    # say so, or the coordinator believes the family got it.
                    notice = self._tr.gettext(
                        N_(
                            "⚠️ Not sent to anyone: to write to a family, reply to the request's card or to the family's message."
                        )
                    )
                elif ticket.chat != chat:
                    return  # no longer a ticket of this chat: it was transferred
                else:
                    notice, to_family = await self._in_thread(uow, ticket, message, mapped, out)
        if notice is not None:
            await self._say(message, notice)
        if message.thread_id is not None:
            out.threads.setdefault(chat, message.thread_id)
        await self._desk.carry_out(out)
        if to_family is not None:
            await self._to_family(message, chat, to_family)

    async def _in_thread(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        message: GroupMessage,
        mapped: RelayedMessage | None,
        out: Outbound,
    ) -> tuple[str | None, _ToFamily | None]:
        """A message in a ticket's thread: a note, an aside, or the assignee writing to the family."""
        chat = person_key(message.platform, message.chat_id)
        actor = person_key(message.platform, message.user_id)
        if message.text.strip().lower().startswith(NOTE_COMMAND):
            await uow.audit.add(actor, "note", ticket_id=ticket.id, chat=chat, actor_name=message.user_name)
            return None, None
        if self._appointments is not None and is_appoint(message.text):
            if ticket.status != TicketStatus.CLAIMED.value or actor != ticket.assignee:
                return self._tr.gettext(
                    N_("Only the coordinator who took the request can offer an appointment.")
                ), None
            if appointments.is_bare(message.text):
                self._ask(out, chat, ticket.id, actor, step="when", reply_to=message.message_id)
                return None, None
            answer = await appoint(
                uow,
                ticket,
                actor,
                message.text,
                now=self._clock(),
                s=self._appointments,
                tr=self._tr,
                locale=self._locale,
            )
            return answer, None
        if is_resource(message.text):
            if ticket.status != TicketStatus.CLAIMED.value or actor != ticket.assignee:
                only = N_("Only the coordinator who took the request can send the family a resource.")
                return self._tr.gettext(only), None
            return await suggest(
                uow, ticket, actor, message.text, tr=self._tr, translators=self._translators
            ), None
        if ticket.status != TicketStatus.CLAIMED.value or actor != ticket.assignee:
            # Once per coordinator and ticket: say that this stays in the group.
            if await uow.audit.has(ticket.id, actor, "internal_notice"):
                return None, None
            await uow.audit.add(actor, "internal_notice", ticket_id=ticket.id, chat=chat)
            notice = self._tr.gettext(
                N_(
                    "💬 This stays in the group: only the coordinator who took the request writes to "
                    "the family (start a message with /note to keep it internal)."
                )
            )
            return notice, None
        family = await uow.people.by_id(ticket.person_id)
        if family is None or family.deleted_at is not None:
            return None, None
        back = mapped.family_message_id if mapped is not None and mapped.direction == "in" else None
        return None, _ToFamily(ticket.id, family.key, back)

    def _ask(self, out: Outbound, chat: str, ticket_id: int, actor: str, *, step: str, reply_to: int) -> None:
        out.sends.append((chat, appointments.prompt(step, ticket_id, self._tr), reply_to))
        out.prompt_for, out.prompt_actor, out.prompt_state = ticket_id, actor, appointments.PROMPT
        out.prompt_data = {"step": step}

    async def _appoint_step(
        self, uow: UnitOfWork, data: dict[str, object], message: GroupMessage, out: Outbound
    ) -> str | None:
        """A reply to /appoint's questions: first when, then where and what to bring."""
        chat = person_key(message.platform, message.chat_id)
        actor = person_key(message.platform, message.user_id)
        ticket_id = data.get("ticket")
        ticket = await uow.tickets.get(int(ticket_id)) if isinstance(ticket_id, int) else None
        settings = self._appointments
        if ticket is None or settings is None or actor != ticket.assignee or not message.text.strip():
            return None
        now, text = self._clock(), " ".join(message.text.split())
        await uow.dialogs.delete(prompt_key(chat, message.reply_to or 0))
        if data.get("step") == "when":
            zone = zone_of(settings.directory, ticket.region_code, settings.default_zone)
            if not appointments.valid_when(text, now, zone):
                self._ask(out, chat, ticket.id, actor, step="when", reply_to=message.message_id)
                return self._tr.gettext(N_("Please write the date and time like 05.12 14:30."))
            self._ask(out, chat, ticket.id, actor, step="place", reply_to=message.message_id)
            out.prompt_data["when"] = text
            return None
        command = f"{appointments.COMMAND} {data.get('when', '')} {text}"
        return await appoint(
            uow, ticket, actor, command, now=now, s=settings, tr=self._tr, locale=self._locale
        )

    async def _referral(
        self, uow: UnitOfWork, data: dict[str, object], message: GroupMessage, out: Outbound
    ) -> str | None:
        """The answer to "which organisation?": close the ticket as referred, with that name."""
        chat = person_key(message.platform, message.chat_id)
        actor = person_key(message.platform, message.user_id)
        ticket_id = data.get("ticket")
        ticket = await uow.tickets.get(int(ticket_id)) if isinstance(ticket_id, int) else None
        if ticket is None or (actor != data.get("actor") and actor != ticket.assignee):
            return None
        name = message.text.strip()[:200]
        if not name:
            return self._tr.gettext(N_("Please reply with the organisation's name in words."))
        if not await uow.tickets.close(ticket.id, chat, Outcome.REFERRED.value, name, self._clock()):
            return None
        await uow.dialogs.delete(prompt_key(chat, message.reply_to or 0))
        told = await self._desk.closed(
            uow, ticket, actor, message.user_name, outcome=Outcome.REFERRED, note=name, out=out
        )
        done = self._tr.gettext(N_("Closed as referred."))
        return self._desk.told_text(done, told)

    async def _say(self, message: GroupMessage, text: str) -> None:
        chat = person_key(message.platform, message.chat_id)
        await send_quietly(
            self._messengers,
            chat,
            Screen(text=text),
            reply_to=message.message_id,
            thread_id=message.thread_id,
        )

    async def _to_family(self, message: GroupMessage, chat: str, to: _ToFamily) -> None:
        platform, _ = parse_person_key(to.family)
        messenger = self._messengers.get(platform)
        across = platform is not message.platform
        failure: str | None = None
        if messenger is None:
            failure = self._tr.gettext(
                N_("⚠️ Not delivered: the family's messenger is not connected to the bot right now.")
            )
        else:
            try:
                new_id, failure = await self._pass_on(message, messenger, chat, to)
            except RecipientUnreachableError:
                async with self._db.uow() as uow:
                    await uow.people.set_reachable(to.family, False)
                failure = self._tr.gettext(
                    N_("⚠️ Not delivered: the family has blocked the bot or deleted the chat.")
                )
            except FileRefusedError as exc:
                failure = self._refused(exc)
            except (DeliveryFailedError, MessageGoneError):
                failure = self._tr.gettext(N_("⚠️ Not delivered right now. Please send it again in a minute."))
            else:
                async with self._db.uow() as uow:
                    await uow.relay.add(to.ticket_id, "out", (chat, message.message_id), (to.family, new_id))
                    await uow.chat_log.add(to.family, [new_id], from_bot=True)
                    await uow.tickets.wrote(to.ticket_id, family=False, at=self._clock())
                    await nudge.called_off(uow, to.ticket_id)
                    await uow.audit.add(
                        person_key(message.platform, message.user_id),
                        "message_out",
                        ticket_id=to.ticket_id,
                        chat=chat,
                    )
                if across and message.has_media and not message.files and failure is None:
                    failure = self._tr.gettext(
                        N_("⚠️ Only the text was delivered: this kind of file cannot be passed on.")
                    )
        if failure is not None:
            await self._say(message, failure)

    async def _pass_on(
        self, message: GroupMessage, messenger: Messenger, chat: str, to: _ToFamily
    ) -> tuple[int, str | None]:
        """The coordinator's message as it is (a copy); for a family on another messenger its files are
        fetched from the coordinators' messenger and uploaded to the family's, then its text follows."""
        platform, family_chat = parse_person_key(to.family)
        if platform is message.platform:
            copied = await messenger.copy(
                message.chat_id, message.message_id, family_chat, reply_to=to.reply_to
            )
            return copied, None
        dedup = f"relay:{chat}:{message.message_id}"
        files = await self._fetch(message)  # first: a file too big stops it before anything is sent
        ids: list[int] = []
        if message.text.strip():
            ids += await messenger.send(
                family_chat, Screen(text=esc(message.text)), reply_to=to.reply_to, dedup=dedup
            )
        partly: str | None = None
        if files:
            try:
                ids += await messenger.upload_files(
                    family_chat, files, reply_to=None if ids else to.reply_to, dedup=dedup
                )
            except (FileRefusedError, DeliveryFailedError) as exc:
                if not ids:
                    raise
                refused = exc if isinstance(exc, FileRefusedError) else FileRefusedError()
                partly = self._tr.gettext(N_("Only the text was delivered.")) + " " + self._refused(refused)
        if not ids:
            raise FileRefusedError()
        return ids[0], partly

    async def _fetch(self, message: GroupMessage) -> list[FileData]:
        source = self._messengers.get(message.platform)
        if source is None:
            return []
        found = [await source.fetch_file(attachment) for attachment in message.files]
        return [f for f in found if f is not None]

    def _refused(self, exc: FileRefusedError) -> str:
        if exc.limit_mb is None:
            return self._tr.gettext(
                N_(
                    "⚠️ Not delivered: this file cannot be passed to the family's messenger. "
                    "Please write it in words or send a link."
                )
            )
        text = self._tr.gettext(
            N_(
                "⚠️ Not delivered: the file is larger than {limit} MB, more than the messenger takes from a bot. Please send a smaller file or a link."
            )
        )
        return text.format(limit=exc.limit_mb)
