"""The Telegram session keeps the response classes it parses with (bot/telegram/app.py): pydantic only
caches a generic class while something holds it, and rebuilding it for every answer cost a burst
of families 5% of the bot's CPU."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import Response
from aiogram.types import Message

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.telegram.app import create_bot


async def test_the_response_class_is_built_once_across_garbage_collections(
    emulator: TelegramEmulator,
) -> None:
    bot = create_bot("123:abc", emulator.base_url)
    try:
        first = await bot.send_message(chat_id=42, text="one")
        built = weakref.ref(Response[Message])
        gc.collect()
        assert built() is not None, "the class parsed with is kept, not built again for the next answer"
        second = await bot.send_message(chat_id=42, text="two")
        assert Response[Message] is built()
        assert (first.text, second.text) == ("one", "two")
    finally:
        await bot.session.close()
