"""Private chats with parents: translate updates into neutral events, nothing else."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.telegram.callbacks import DialogCallback
from bot.telegram.render import to_event
from dialogs.primitives import Event, EventKind, Incoming
from handlers.conversation import ConversationService
from storage.vocabulary import Platform

log = logging.getLogger(__name__)


def create_router() -> Router:
    """A new router per Dispatcher: a router can belong to one Dispatcher only (restarts, tests)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(on_message, F.from_user)
    router.callback_query.register(on_button, DialogCallback.filter())
    router.callback_query.register(on_unknown_button)
    router.my_chat_member.register(on_membership)
    return router


async def on_message(message: Message, event_update: Update, conversation: ConversationService) -> None:
    user = message.from_user
    if user is None:  # excluded by the filter; kept for the type checker
        return
    await conversation.handle(
        Incoming(
            platform=Platform.TELEGRAM,
            user_id=user.id,
            chat_id=message.chat.id,
            event=to_event(message),
            update_id=event_update.update_id,
            message_id=message.message_id,
            language_code=user.language_code,
            reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
        )
    )


async def on_button(
    query: CallbackQuery,
    callback_data: DialogCallback,
    event_update: Update,
    conversation: ConversationService,
) -> None:
    await _press(
        query, Event(kind=EventKind.BUTTON, payload=callback_data.neutral()), event_update, conversation
    )


async def on_unknown_button(
    query: CallbackQuery, event_update: Update, conversation: ConversationService
) -> None:
    """Forged or foreign callback data: the dialog answers kindly and changes nothing."""
    await _press(query, Event(kind=EventKind.BUTTON, payload=None), event_update, conversation)


async def _press(
    query: CallbackQuery, event: Event, update: Update, conversation: ConversationService
) -> None:
    message = query.message
    if message is None:
        await query.answer()
        return
    reply = await conversation.handle(
        Incoming(
            platform=Platform.TELEGRAM,
            user_id=query.from_user.id,
            chat_id=message.chat.id,
            event=event,
            update_id=update.update_id,
            message_id=message.message_id,
            language_code=query.from_user.language_code,
        )
    )
    await query.answer(text=reply.toast)


async def on_membership(update: ChatMemberUpdated, conversation: ConversationService) -> None:
    """A parent blocked (or unblocked) the bot: stop (or resume) sending to them."""
    status = update.new_chat_member.status
    reachable = status not in {ChatMemberStatus.KICKED, ChatMemberStatus.LEFT}
    await conversation.set_reachable(Platform.TELEGRAM, update.from_user.id, reachable)
