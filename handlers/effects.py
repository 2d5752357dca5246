"""What a dialog's effects do, inside the turn's transaction: one handler per effect type.

Adding an effect is one handler and one line in ``HANDLERS``; the conversation service does not
change. A handler may return an event to feed back into the dialog (a ticket was created, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dialogs.admin_effects import ChangeAdmin, SendQrCodes
from dialogs.effects import (
    AddPhone,
    AddTicketInfo,
    AnswerAppointment,
    AnswerFollowUp,
    CancelBroadcasts,
    CountAudience,
    CreateTicket,
    DeleteMyData,
    Effect,
    EraseChat,
    ExportDirectory,
    GiveConsent,
    ImportDirectory,
    PricePaid,
    RateFollowUp,
    RelayToTicket,
    RemoveResource,
    SaveResource,
    SendBroadcast,
    SetAnnouncements,
    SetLocale,
    ShowFigures,
    WithdrawTicket,
)
from dialogs.primitives import Event, Incoming
from handlers import (
    admins,
    broadcasts,
    directory_admin,
    figures,
    followup_answers,
    intake,
    nudge,
    start_links,
)
from handlers.admins import AdminRoster
from handlers.localtime import DeskHours
from handlers.ports import Messenger
from handlers.prefetch import Fetched
from handlers.uploads import Upload
from storage.models import Person
from storage.uow import UnitOfWork
from storage.vocabulary import Category, ContactMethod, OutboxKind, Platform, person_key

log = logging.getLogger(__name__)


@dataclass
class Scope:
    """What one turn's effects work on; the flags tell the service what to do after the commit."""

    uow: UnitOfWork
    person: Person
    now: datetime
    incoming: Incoming | None = None  # None for a turn the system started
    erase: bool = False  # quick exit: delete the chat, including what this turn sends
    forget: bool = False  # data deleted: delete the chat and keep no ids
    outbox: bool = False  # something was queued for the delivery worker
    messenger: Messenger | None = None  # the person's platform: files an admin sends or asks for
    desk: DeskHours | None = None  # the coordinators' working hours: a new request is told when they read it
    files: Mapping[str, Fetched] = field(default_factory=dict)  # fetched before the transaction, by ref
    # Every messenger: an admin on one may ask about another (Telegram's Stars balance).
    messengers: Mapping[Platform, Messenger] = field(default_factory=dict)
    roster: AdminRoster | None = None  # who the admins are (/admins changes the stored ones)
    admins_changed: bool = False
    # Files made for the person who asked, sent after the commit (handlers/uploads.py).
    uploads: list[Upload] = field(default_factory=list)


Handler = Callable[[Scope, Any], Awaitable[Event | None]]


async def _set_locale(scope: Scope, effect: SetLocale) -> None:
    await scope.uow.people.set_locale(scope.person, effect.locale)


async def _give_consent(scope: Scope, effect: GiveConsent) -> None:
    await scope.uow.people.give_consent(scope.person, effect.version, scope.now)


async def _create_ticket(scope: Scope, effect: CreateTicket) -> Event:
    scope.outbox = True
    event = await intake.submit(scope.uow, scope.person, effect.draft)
    if scope.desk is None:
        return event
    category = (effect.draft.category or Category.OTHER).value
    opens = await scope.desk.opens(scope.uow, effect.draft.region_code, category, scope.now)
    return replace(event, opens=opens)


async def _add_info(scope: Scope, effect: AddTicketInfo) -> None:
    if (ticket := await intake.open_owned(scope.uow, scope.person.id, effect.ticket_id)) is not None:
        await intake.add_entry(scope.uow, ticket, effect.text, effect.attachments, urgent=effect.urgent)
        scope.outbox = True


async def _relay(scope: Scope, effect: RelayToTicket) -> None:
    incoming = scope.incoming
    if incoming is None:
        return  # only a person's own message is relayed
    ticket_id = await _replied_ticket(scope.uow, incoming, scope.person.key) or effect.ticket_id
    if (ticket := await intake.open_owned(scope.uow, scope.person.id, ticket_id)) is None:
        return
    await scope.uow.tickets.wrote(ticket.id, family=True, at=scope.now)
    await nudge.family_wrote(scope.uow, ticket, scope.now)
    # The original message is copied into the thread; the entry keeps its text.
    where = {
        "chat": person_key(incoming.platform, incoming.chat_id),
        "message_id": incoming.message_id,
        "reply_to": incoming.reply_to,
    }
    files = [effect.attachment] if effect.attachment else []
    await intake.add_entry(
        scope.uow,
        ticket,
        effect.text,
        files,
        urgent=effect.urgent,
        kind=OutboxKind.FAMILY_MESSAGE,
        payload=where,
    )
    scope.outbox = True


async def _replied_ticket(uow: UnitOfWork, incoming: Incoming, family: str) -> int | None:
    """A reply to a coordinator's message belongs to that message's ticket, whatever else is open."""
    if incoming.reply_to is None:
        return None
    mapped = await uow.relay.by_family_message(family, incoming.reply_to)
    return mapped.ticket_id if mapped is not None else None


async def _add_phone(scope: Scope, effect: AddPhone) -> None:
    if (ticket := await intake.open_owned(scope.uow, scope.person.id, effect.ticket_id)) is not None:
        ticket.phone, ticket.contact_method = effect.phone, ContactMethod.PHONE.value
        await scope.uow.outbox.add(
            OutboxKind.TICKET_INFO_ADDED, ticket.id, urgent=ticket.urgent, payload={"phone": True}
        )
        scope.outbox = True


async def _withdraw(scope: Scope, effect: WithdrawTicket) -> None:
    if await scope.uow.tickets.withdraw(scope.person.id, effect.ticket_id):
        await scope.uow.outbox.add(OutboxKind.TICKET_WITHDRAWN, effect.ticket_id, urgent=False, payload={})
        scope.outbox = True


async def _erase_chat(scope: Scope, _effect: EraseChat) -> None:
    scope.erase = True


async def _delete_my_data(scope: Scope, _effect: DeleteMyData) -> None:
    await _erase_from_desk(scope)
    await scope.uow.followups.cancel_for_tickets(
        [t.id for t in await scope.uow.tickets.for_person(scope.person.id, limit=1000)]
    )
    await scope.uow.tickets.erase_for_person(scope.person.id)
    await scope.uow.people.anonymise(scope.person)
    scope.forget = True
    log.info("a person erased their data")


async def _erase_from_desk(scope: Scope) -> None:
    """The coordinators' side forgets the family too: queued rows, the relay map, copies in threads."""
    uow, person = scope.uow, scope.person
    tickets = await uow.tickets.for_person(person.id, limit=1000)
    copies = await uow.relay.copies_of_family(person.key)
    await uow.relay.forget_family(person.key)
    await uow.outbox.abandon([t.id for t in tickets], scope.now)
    for ticket in tickets:
        if ticket.status in intake.OPEN_VALUES and ticket.chat is not None:
            erase = [[chat, message] for tid, chat, message in copies if tid == ticket.id]
            await uow.outbox.add(
                OutboxKind.TICKET_WITHDRAWN, ticket.id, urgent=False, payload={"erase": erase}
            )
            scope.outbox = True


HANDLERS: dict[type[Any], Handler] = {
    SetLocale: _set_locale,
    GiveConsent: _give_consent,
    SetAnnouncements: broadcasts.set_announcements,
    SendBroadcast: broadcasts.send,
    PricePaid: broadcasts.price_paid,
    CountAudience: broadcasts.count,
    CancelBroadcasts: broadcasts.cancel,
    CreateTicket: _create_ticket,
    AddTicketInfo: _add_info,
    RelayToTicket: _relay,
    AddPhone: _add_phone,
    WithdrawTicket: _withdraw,
    EraseChat: _erase_chat,
    DeleteMyData: _delete_my_data,
    AnswerFollowUp: followup_answers.answer,
    RateFollowUp: followup_answers.rate,
    AnswerAppointment: followup_answers.answer_appointment,
    SaveResource: directory_admin.save,
    RemoveResource: directory_admin.remove,
    ImportDirectory: directory_admin.import_file,
    ExportDirectory: directory_admin.export_file,
    ShowFigures: figures.show,
    SendQrCodes: start_links.send_qr_codes,
    ChangeAdmin: admins.change,
}


async def apply(scope: Scope, effects: Sequence[Effect]) -> Event | None:
    """Carry out the effects in order; the last event one of them produced is fed back to the dialog."""
    follow_up: Event | None = None
    for effect in effects:
        event = await HANDLERS[type(effect)](scope, effect)
        if event is not None:
            follow_up = event
    return follow_up
