"""The bots the burst benchmark measures, each run in a child process so its RSS is its own.

`python -m bench.burst_bots echo URL` runs a bare aiogram echo bot; `... screen URL` a bare aiogram bot
that answers every message with a screen of the size of this bot's welcome (the same text and keyboard:
what the reply itself costs the framework, with no database and no dialog); `... app URL DB_URL` runs
this project's whole `Application` (Telegram only); `vk URL DB_URL` the same on VK alone. Each polls
its API at URL until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

# The baseline is a bare aiogram bot, outside the project's layers: it imports aiogram directly.
from aiogram import Bot, Dispatcher, Router  # noqa: TID251
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: TID251
from aiogram.client.telegram import TelegramAPIServer  # noqa: TID251
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message  # noqa: TID251

TOKEN = "123456:BENCH-token_for_the_emulator"  # noqa: S105 - the emulator accepts any well-formed token
VK_TOKEN, VK_GROUP = "vk-test-token", 77  # the VK emulator's own (bot/sandbox/vk/emulator.py)


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# This bot's welcome to a new person (locales/ru), as sent: 600 characters and six buttons.
WELCOME = (
    "Здравствуйте! Этот бот помогает семьям с детьми попросить о срочной помощи.\n\n"
    "Чтобы принять заявку, нам нужно ваше согласие на обработку персональных данных: это то, что вы "
    "расскажете о семье, ваш регион и способ связи с вами. Эти данные видят только координаторы службы "
    "помощи семьям. Посмотреть или удалить их можно в любой момент командами /my_data и /delete_my_data."
    "\n\nЕсли кому-то прямо сейчас угрожает опасность, нажмите «Экстренная помощь» — согласие для "
    "этого не нужно."
)
WELCOME_KEYS = [
    [("✅ Даю согласие", "d:consent:yes")],
    [("Не сейчас", "d:consent:no")],
    [("🆘 Экстренная помощь", "d:*:sos"), ("📋 Полезные контакты", "d:*:contacts")],
    [("🇬🇧 English", "d:consent:lang.en")],
    [("🚪 Быстрый выход", "d:*:exit")],
]


async def echo(api_url: str, *, screen: bool = False) -> None:
    bot = Bot(token=TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    router = Router(name="echo")

    @router.message()
    async def answer(message: Message) -> None:
        if not screen:
            await message.answer(message.text or "?")
            return
        keys = [[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in WELCOME_KEYS]
        await message.answer(
            WELCOME, parse_mode="HTML", reply_markup=InlineKeyboardMarkup(inline_keyboard=keys)
        )

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(dispatcher.start_polling(bot, polling_timeout=10, handle_signals=False))
    await _until_terminated()
    await dispatcher.stop_polling()
    await polling


async def app(api_url: str, database_url: str, *, vk: bool = False) -> None:
    from bot.app import Application  # noqa: PLC0415 - the echo bot must not pay for importing it
    from bot.config import Settings  # noqa: PLC0415
    from bot.run import settle_heap  # noqa: PLC0415

    messenger = (
        {"vk_token": VK_TOKEN, "vk_group_id": VK_GROUP, "vk_api_url": api_url}
        if vk
        else {"bot_token": TOKEN, "telegram_api_url": api_url}
    )
    settings = Settings(
        **messenger,
        database_url=database_url,
        consent_version="bench-1",
        redis_url=None,
        webhook_url=None,
        web_host="127.0.0.1",
        web_port=0,  # any free port: a second copy or another bot on this machine keeps 8080
    )
    application = Application(settings)
    await application.start()
    settle_heap()  # as `python -m bot` does (bot/run.py)
    try:
        await _until_terminated()
    finally:
        await application.stop()


def main() -> None:
    kind, api_url, *rest = sys.argv[1:]
    if kind in {"echo", "screen"}:
        asyncio.run(echo(api_url, screen=kind == "screen"))
    else:
        from bot.run import run_loop  # noqa: PLC0415 - as `python -m bot` runs (uvloop where installed)

        run_loop(app(api_url, rest[0], vk=kind == "vk"))


if __name__ == "__main__":
    main()
