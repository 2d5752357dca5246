"""Coordinators' group chats: buttons on ticket cards, translated into neutral actions."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Update

from bot.telegram.callbacks import DialogCallback
from dialogs.cards import CARD_STEP
from handlers.tickets import CoordinatorAction, TicketDesk
from storage.vocabulary import Platform

GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(F.message.chat.type.in_(GROUPS))
    router.callback_query.register(on_card_button, DialogCallback.filter(F.step == CARD_STEP))
    return router


async def on_card_button(
    query: CallbackQuery, callback_data: DialogCallback, event_update: Update, desk: TicketDesk
) -> None:
    message = query.message
    if message is None:
        await query.answer()
        return
    user = query.from_user
    name = user.full_name or (f"@{user.username}" if user.username else str(user.id))
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
