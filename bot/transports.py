"""The transports of the configured messengers, built for the composition root (bot/app.py), with
their webhooks bound on the bot's own web server in webhook mode: Telegram at the path of
WEBHOOK_URL, VK's Callback API at /vk, MAX's subscription at /max."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.config import MAX_WEBHOOK_PATH, Settings
from bot.max.client import MaxTiming
from bot.max.subscriptions import MaxWebhook
from bot.max.transport import MaxTransport
from bot.telegram.app import TelegramTransport, Webhook, create_bot, create_dispatcher
from bot.transport import Transport
from bot.vk.options import VkCallback, VkTiming
from dialogs.i18n import Translators
from handlers.cursors import Cursors
from handlers.inbox import Inbox
from handlers.router import InboundRouter
from storage.uow import Database

VK_CALLBACK_PATH = "/vk"  # VK's Callback API on the bot's own web server (DESIGN.md)
Hook = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Timings:
    """How long a long poll waits, and the retry pauses of VK and MAX (tests make them short)."""

    polling: int
    vk: VkTiming
    max: MaxTiming


def build_transports(
    settings: Settings,
    router: InboundRouter,
    translators: Translators,
    *,
    db: Database,
    inbox: Inbox,
    hooks: dict[str, Hook],
    timings: Timings,
) -> list[Transport]:
    """Every configured messenger, in one list, their webhooks bound on the bot's own web server."""
    transports = list[Transport]()
    if settings.telegram_enabled:
        webhook = None
        if settings.webhook_url and settings.webhook_secret is not None:
            webhook = Webhook(settings.webhook_url, settings.webhook_secret.get_secret_value())
        telegram = TelegramTransport(
            create_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url),
            create_dispatcher(router),
            translators,
            inbox,
            polling_timeout=timings.polling,
            webhook=webhook,
        )
        if webhook is not None:
            hooks[settings.webhook_path] = telegram.on_webhook
        transports.append(telegram)
    if settings.vk_enabled and settings.vk_group_id is not None:
        from bot.vk.transport import VkTransport  # noqa: PLC0415 - vk-api only where VK is configured

        callback = None
        if settings.webhook_url and settings.vk_callback_secret and settings.vk_confirmation_code:
            callback = VkCallback(
                settings.vk_callback_secret.get_secret_value(), settings.vk_confirmation_code
            )
        vk = VkTransport.create(
            settings.vk_token.get_secret_value(),
            settings.vk_group_id,
            settings.vk_api_url,
            router=router,
            cursors=Cursors(db),
            inbox=inbox,
            wait=timings.polling,
            timing=timings.vk,
            callback=callback,
        )
        transports.append(vk)
        if callback is not None:
            hooks[VK_CALLBACK_PATH] = vk.on_callback
    if settings.max_enabled:
        token, url = settings.max_token.get_secret_value(), settings.max_api_url
        subscription = None
        if settings.webhook_url and settings.webhook_secret is not None:
            # The same secret as Telegram's: MAX's pattern (letters, digits, _ and -) fits it.
            subscription = MaxWebhook(settings.max_webhook_url, settings.webhook_secret.get_secret_value())
        max_transport = MaxTransport.create(
            token,
            url,
            router,
            db,
            inbox,
            wait=timings.polling,
            timing=timings.max,
            webhook=subscription,
        )
        transports.append(max_transport)
        if subscription is not None:
            hooks[MAX_WEBHOOK_PATH] = max_transport.on_webhook
    return transports
