"""The Telegram transport: Bot, Dispatcher and routers, built on demand (nothing at import time)."""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiohttp import web

from bot.config import ConfigError
from bot.telegram import inbound
from bot.telegram.messenger import TelegramMessenger
from bot.telegram.polling import InboxPolling
from bot.telegram.session import KeepingSession
from dialogs.commands import COMMAND_MENU
from dialogs.i18n import Translators
from handlers.inbox import Inbox
from handlers.router import InboundRouter
from storage.vocabulary import Platform

log = logging.getLogger(__name__)
START_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=60.0, factor=2.0, jitter=0.1)


def create_bot(token: str, api_url: str) -> Bot:
    session = KeepingSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token=token, session=session)


def create_dispatcher(router: InboundRouter) -> Dispatcher:
    """Updates are only translated here; roles are routed once, by the neutral router.

    aiogram's FSM is off: a dialog's state lives in our database (DESIGN.md), and aiogram's memory
    storage kept a record for every person who ever wrote, for the process's life (10,000 records
    after 10,000 new people: memory that grew with the dialogs), besides a lookup on every update."""
    dispatcher = Dispatcher(router=router, disable_fsm=True)
    dispatcher.include_router(inbound.create_router())
    return dispatcher


async def publish_commands(bot: Bot, translators: Translators) -> None:
    """The "/" menu in each language; the default one in the default locale."""
    scope = BotCommandScopeAllPrivateChats()
    for locale in (*translators.locales, None):
        tr = translators[locale or translators.default]
        commands = [BotCommand(command=name, description=tr.gettext(text)) for name, text in COMMAND_MENU]
        await bot.set_my_commands(commands=commands, scope=scope, language_code=locale)


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str


class TelegramTransport:
    """Long polling; owns its task, stops cleanly."""

    platform = Platform.TELEGRAM

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        translators: Translators,
        inbox: Inbox,
        *,
        polling_timeout: int = 10,
        webhook: Webhook | None = None,
    ):
        self.bot = bot
        self.dispatcher = dispatcher
        self.messenger = TelegramMessenger(bot)
        self._translators = translators
        self._polling = InboxPolling(bot, dispatcher, inbox, timeout=polling_timeout)
        self._webhook = webhook
        self._receiving = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """A token Telegram refuses stops the start with one line; Telegram out of reach is waited for,
        with one line a try (a bot started in the night before its network is not dead by morning)."""
        backoff = Backoff(config=START_BACKOFF)
        while True:
            try:
                me = await self.bot.get_me()
                if self._webhook is not None:
                    await self.bot.set_webhook(
                        self._webhook.url,
                        secret_token=self._webhook.secret,
                        allowed_updates=self.dispatcher.resolve_used_update_types(),
                        drop_pending_updates=False,
                    )
                else:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                await publish_commands(self.bot, self._translators)
                break
            except (TelegramUnauthorizedError, TelegramNotFound):
                raise ConfigError("BOT_TOKEN: Telegram did not accept the token") from None
            except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter, OSError) as exc:
                log.warning(
                    "Telegram cannot be reached yet (%s); retrying in %.0fs",
                    type(exc).__name__,
                    backoff.next_delay,
                )
                await backoff.asleep()
        log.info("Telegram bot @%s is starting", me.username)
        if self._webhook is not None:
            await self._polling.replay()
            self._receiving = True
        else:
            self._task = asyncio.create_task(self._poll(), name="telegram-polling")

    async def on_webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: the secret checked, the update kept in the inbox, then the 200."""
        if self._webhook is None or not self._receiving:
            return web.Response(status=503)  # Telegram tries again later
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self._webhook.secret.encode()):
            log.warning("a webhook request without the right secret was refused")
            return web.Response(status=401)
        try:
            raw = await request.json()
            if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
                raise ValueError("not an update")
        except ValueError:
            return web.Response(status=400)
        try:
            await self._polling.receive(raw)
        except Exception:
            log.exception("a webhook update could not be kept; Telegram will send it again")
            return web.Response(status=500)
        return web.Response(text="ok")

    async def _poll(self) -> None:
        await self._polling.run()

    async def stop_listening(self) -> None:
        """Take no new updates; the ones being handled go on (see Application.stop)."""
        self._receiving = False
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()  # what was not kept yet is not confirmed: Telegram gives it again
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("Telegram polling ended with an error")
            self._task = None
        await self._polling.finish()

    async def close(self) -> None:
        await self.stop_listening()
        await self.bot.session.close()

    async def start_link(self) -> str | None:
        """Where a start link points: ``https://t.me/<bot>?start=`` (the payload follows)."""
        me = await self.bot.me()  # aiogram keeps getMe's answer from the start
        return f"https://t.me/{me.username}?start=" if me.username else None

    @property
    def failed(self) -> BaseException | None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            return self._task.exception()
        return None
