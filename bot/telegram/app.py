"""The Telegram transport: Bot, Dispatcher and routers, built on demand (nothing at import time)."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.telegram import inbound
from bot.telegram.messenger import TelegramMessenger
from dialogs.commands import COMMAND_MENU
from dialogs.i18n import Translators
from handlers.router import InboundRouter
from storage.vocabulary import Platform

log = logging.getLogger(__name__)


def create_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token=token, session=session)


def create_dispatcher(router: InboundRouter) -> Dispatcher:
    """Updates are only translated here; roles are routed once, by the neutral router."""
    dispatcher = Dispatcher(router=router)
    dispatcher.include_router(inbound.create_router())
    return dispatcher


async def publish_commands(bot: Bot, translators: Translators) -> None:
    """The "/" menu in each language; the default one in the default locale."""
    scope = BotCommandScopeAllPrivateChats()
    for locale in (*translators.locales, None):
        tr = translators[locale or translators.default]
        commands = [BotCommand(command=name, description=tr.gettext(text)) for name, text in COMMAND_MENU]
        await bot.set_my_commands(commands=commands, scope=scope, language_code=locale)


class TelegramTransport:
    """Long polling; owns its task, stops cleanly."""

    platform = Platform.TELEGRAM

    def __init__(self, bot: Bot, dispatcher: Dispatcher, translators: Translators, polling_timeout: int = 10):
        self.bot = bot
        self.dispatcher = dispatcher
        self.messenger = TelegramMessenger(bot)
        self._translators = translators
        self._polling_timeout = polling_timeout
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        me = await self.bot.get_me()
        log.info("Telegram bot @%s is starting", me.username)
        await self.bot.delete_webhook(drop_pending_updates=False)
        await publish_commands(self.bot, self._translators)
        self._task = asyncio.create_task(self._poll(), name="telegram-polling")

    async def _poll(self) -> None:
        await self.dispatcher.start_polling(
            self.bot,
            polling_timeout=self._polling_timeout,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )

    async def stop_listening(self) -> None:
        """Take no new updates; the ones being handled go on (see Application.stop)."""
        if self._task is not None:
            # aiogram has no public "is polling"; stop_polling raises when it is not.
            if self.dispatcher._running_lock.locked():
                await self.dispatcher.stop_polling()
            try:
                await self._task
            except Exception:
                log.exception("Telegram polling ended with an error")
            self._task = None

    async def close(self) -> None:
        await self.stop_listening()
        await self.bot.session.close()

    @property
    def failed(self) -> BaseException | None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            return self._task.exception()
        return None
