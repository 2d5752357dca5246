"""MAX webhooks (``/subscriptions``): subscribing in webhook mode, and clearing a subscription a
webhook run left behind before long polling (MAX gives ``/updates`` nothing while one is on).

MAX posts every update to the subscribed HTTPS URL (port 443 only) with the subscription's secret in
``X-Max-Bot-Api-Secret``, and posts it again (up to 10 times over hours) until it gets a 200.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import ConfigError
from bot.max.client import MaxAuthError, MaxCallError, MaxClient
from handlers.ports import DeliveryFailedError, RecipientUnreachableError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Max-Bot-Api-Secret"  # noqa: S105 - a header name (SubscriptionRequestBody.secret)
MAX_BACKOFF = 60.0


@dataclass(frozen=True)
class MaxWebhook:
    """Webhook mode: the public URL MAX posts to, and the secret it sends with every update."""

    url: str
    secret: str


async def subscribe(
    client: MaxClient, webhook: MaxWebhook, update_types: Sequence[str], backoff: float
) -> ConfigError | None:
    """Ask MAX to post updates to us (every replica asks the same, harmlessly), retried with backoff
    while MAX cannot be reached; a refusal that will not change by itself is returned as one line."""
    body = {"url": webhook.url, "update_types": list(update_types), "secret": webhook.secret}
    delay = backoff
    while True:
        try:
            answer = await client.call("POST", "/subscriptions", body=body, attempts=1)
        except MaxAuthError as exc:
            log.error("MAX does not accept the token; the MAX transport stops")
            return ConfigError(f"MAX_TOKEN: MAX did not accept the token ({exc})")
        except MaxCallError as exc:
            return ConfigError(f"WEBHOOK_URL: MAX refused the subscription ({exc})")
        except (DeliveryFailedError, RecipientUnreachableError) as exc:
            log.warning("MAX subscription failed (%s); retrying in %.0fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
            continue
        if isinstance(answer, dict) and answer.get("success") is False:
            return ConfigError(f"WEBHOOK_URL: MAX refused the subscription ({answer.get('message')})")
        log.info("MAX posts updates to %s", webhook.url)
        return None


async def unsubscribe_all(client: MaxClient) -> None:
    """Before long polling: a subscription left by a webhook run is removed (best effort)."""
    try:
        answer = await client.call("GET", "/subscriptions", attempts=1)
        found = answer.get("subscriptions") if isinstance(answer, dict) else None
        for subscription in found if isinstance(found, list) else []:
            url = subscription.get("url") if isinstance(subscription, dict) else None
            if isinstance(url, str) and url:
                log.info("MAX subscription %s removed: this bot runs with long polling", url)
                await client.call("DELETE", "/subscriptions", params={"url": url}, attempts=1)
    except (DeliveryFailedError, RecipientUnreachableError, MaxCallError, MaxAuthError) as exc:
        log.warning("MAX subscriptions could not be checked (%s)", exc)
