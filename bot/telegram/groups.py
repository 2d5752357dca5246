"""Coordinators' group chats: buttons on ticket cards, translated into neutral actions."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, Update, User

from bot.telegram.callbacks import DialogCallback
from dialogs.admin import BIND_STEP
from dialogs.cards import CARD_STEP
from handlers.bindings import COMMANDS as BINDING_COMMANDS
from handlers.bindings import BindingDesk, GroupCommand
from handlers.desk_common import CoordinatorAction
from handlers.relay import GroupMessage, ThreadRelay
from handlers.tickets import TicketDesk
from storage.vocabulary import Platform

GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(F.message.chat.type.in_(GROUPS))
    router.callback_query.register(on_card_button, DialogCallback.filter(F.step == CARD_STEP))
    router.callback_query.register(on_bind_button, DialogCallback.filter(F.step == BIND_STEP))
    router.message.filter(F.chat.type.in_(GROUPS))
    router.message.register(on_migrated, F.migrate_to_chat_id)
    router.message.register(on_binding_command, Command(*BINDING_COMMANDS), F.from_user)
    router.message.register(on_group_message, F.from_user)
    return router


def _name(user: User) -> str:
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


async def _is_ours(message: Message) -> bool:
    """Whether the replied message is this bot's own (a forum topic's opening message is not)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.forum_topic_created or message.bot is None:
        return False
    return replied.from_user.id == (await message.bot.me()).id


async def on_migrated(message: Message, relay: ThreadRelay) -> None:
    """The group became a supergroup: tickets, cards and the default chat follow it."""
    if message.migrate_to_chat_id is not None:
        await relay.migrated(Platform.TELEGRAM, message.chat.id, message.migrate_to_chat_id)


async def on_group_message(message: Message, event_update: Update, relay: ThreadRelay) -> None:
    user = message.from_user
    if user is None or user.is_bot:
        return
    await relay.handle(
        GroupMessage(
            platform=Platform.TELEGRAM,
            chat_id=message.chat.id,
            user_id=user.id,
            user_name=_name(user),
            message_id=message.message_id,
            reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
            text=message.text or message.caption or "",
            has_media=message.text is None,
            update_id=event_update.update_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
            reply_to_bot=await _is_ours(message),
        )
    )


async def on_binding_command(message: Message, command: CommandObject, bindings: BindingDesk) -> None:
    user = message.from_user
    if user is None:
        return
    await bindings.command(
        GroupCommand(
            platform=Platform.TELEGRAM,
            chat_id=message.chat.id,
            user_id=user.id,
            command=command.command.lower(),
            message_id=message.message_id,
        )
    )


async def on_bind_button(query: CallbackQuery, callback_data: DialogCallback, bindings: BindingDesk) -> None:
    message = query.message
    if message is None:
        await query.answer()
        return
    reply = await bindings.press(
        CoordinatorAction(
            platform=Platform.TELEGRAM,
            chat_id=message.chat.id,
            user_id=query.from_user.id,
            user_name=_name(query.from_user),
            payload=callback_data.neutral(),
            message_id=message.message_id,
        )
    )
    await query.answer(text=reply.text)


async def on_card_button(
    query: CallbackQuery, callback_data: DialogCallback, event_update: Update, desk: TicketDesk
) -> None:
    message = query.message
    if message is None:
        await query.answer()
        return
    user = query.from_user
    name = _name(user)
    reply = await desk.press(
        CoordinatorAction(
            platform=Platform.TELEGRAM,
            chat_id=message.chat.id,
            user_id=user.id,
            user_name=name,
            payload=callback_data.neutral(),
            update_id=event_update.update_id,
            message_id=message.message_id,
        )
    )
    await query.answer(text=reply.text, show_alert=reply.alert)
