"""Groups and channels: coordinators' chats come in their own issue; until then stay quiet and safe."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(on_foreign_button)
    return router


async def on_foreign_button(query: CallbackQuery) -> None:
    # A parent's button pressed outside their private chat (forwarded, forged): do nothing with it.
    await query.answer()
