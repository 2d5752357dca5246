"""What a committed turn sends: its screens, paced and in order; and the apology when a turn failed."""

from __future__ import annotations

import logging
from dataclasses import replace

from dialogs.i18n import N_, Translator
from dialogs.primitives import EventKind, Screen
from handlers.pacer import Pacer
from handlers.ports import (
    Delivery,
    DeliveryFailedError,
    IntentRefusedError,
    Messenger,
    RecipientUnreachableError,
)
from handlers.turn_parts import Committed, Target
from storage.vocabulary import ChatKind, ChatRef, person_key

log = logging.getLogger(__name__)


async def send_screens(
    messenger: Messenger, pacer: Pacer, target: Target, committed: Committed
) -> tuple[Delivery, list[int]]:
    """Send the turn's screens (a button's screen edits the pressed message where it can); how it
    went, and the ids of the messages sent."""
    incoming = target.incoming
    chat = ChatRef(target.platform, target.chat_id, ChatKind.PRIVATE)
    sent: list[int] = []
    # Decided by the turn (Target.priority): the person's text is not matched for danger again here.
    priority = target.priority
    person = person_key(target.platform, target.user_id)  # whose replies an SOS behind them hurries
    try:
        for index, screen in enumerate(committed.outcome.screens):
            if (
                screen.edit
                and incoming is not None
                and incoming.event.kind is EventKind.BUTTON
                and incoming.message_id is not None
                and not incoming.own_message
                and await messenger.edit(target.chat_id, incoming.message_id, screen)
            ):
                continue
            dedup = None if target.dedup is None else f"{target.dedup}:{index}"
            if target.intent is not None and screen.intent is None:
                screen = replace(screen, intent=target.intent)  # noqa: PLW2901 - the same screen, with its intent
            # Telegram's paid broadcast (an urgent announcement) has a budget of its own.
            await pacer.wait(chat, priority, paid=screen.paid, person=person)
            sent += await messenger.send(target.chat_id, screen, dedup=dedup)
    except RecipientUnreachableError:
        log.info("a person is unreachable; marking them so")
        return Delivery.UNREACHABLE, sent
    except IntentRefusedError:
        log.info("the platform refused a message's intent")
        return Delivery.REFUSED, sent
    except DeliveryFailedError:
        log.warning("could not deliver a reply; the state is saved and the person can go on")
        return Delivery.FAILED, sent
    return Delivery.SENT, sent


async def apologise(messenger: Messenger, chat_id: int, tr: Translator) -> None:
    """A turn failed on our side: the person is told so, kindly, with the emergency number."""
    text = tr.gettext(
        N_(
            "Sorry, something went wrong on our side. Your earlier answers are saved. Please try "
            "again in a minute. If someone is in danger, call 112."
        )
    )
    try:
        await messenger.send(chat_id, Screen(text=text))
    except Exception:
        log.exception("could not even send an apology")
