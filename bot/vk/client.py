"""The vk-api client: built with our own requests session, called off the event loop, with our retry policy.

vk-api is synchronous and always posts to ``https://api.vk.ru/method/...``; our session sends those
requests to ``VK_API_URL`` instead (a proxy, or the test emulator) and never waits without a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from vk_api import VkApi
from vk_api.exceptions import ApiError, ApiHttpError

from handlers.ports import DeliveryFailedError, RecipientUnreachableError

log = logging.getLogger(__name__)

API_VERSION = "5.199"
OFFICIAL_API = "https://api.vk.ru"
REQUEST_TIMEOUT = 30.0  # seconds; long-poll requests set their own (wait + 10)

TOO_MANY_REQUESTS = 6
FLOOD_CONTROL = 9
INTERNAL_ERRORS = {1, 10}  # "unknown error", "internal server error": worth another try
# The person cannot get our messages: privacy settings, blacklist, never allowed the community to write.
UNREACHABLE = {7, 900, 901, 902}


class VkCallError(Exception):
    """VK refused the call for a reason retrying will not fix (the code says which)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"VK error {code}: {message}")
        self.code = code


class _Adapter(HTTPAdapter):
    """Sends requests for the official API to ``base`` and puts a timeout on every request."""

    def __init__(self, base: str | None) -> None:
        super().__init__()
        self._base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self._base is not None and request.url and request.url.startswith(OFFICIAL_API + "/"):
            request.url = self._base + request.url[len(OFFICIAL_API) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = REQUEST_TIMEOUT
        return super().send(request, **kwargs)


def create_session(api_url: str) -> requests.Session:
    base = api_url.rstrip("/")
    session = requests.Session()
    session.headers["User-Agent"] = "family-help-bot"
    adapter = _Adapter(None if base == OFFICIAL_API else base)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def create_vk(token: str, api_url: str) -> VkApi:
    vk = VkApi(token=token, session=create_session(api_url), api_version=API_VERSION)
    # A community token may make 20 requests a second (vk-api assumes a user's 3).
    vk.RPS_DELAY = 1 / 20
    # vk-api would retry error 6 forever, in the calling thread; VkCaller waits instead, with a limit.
    vk.error_handlers.pop(TOO_MANY_REQUESTS, None)
    return vk


class VkCaller:
    """Calls API methods in a worker thread; waits out 6 and 9, retries server trouble, then gives up."""

    def __init__(self, vk: VkApi, *, attempts: int = 5, backoff: float = 0.5, rate_wait: float = 1.0) -> None:
        self.vk = vk
        self._attempts = attempts
        self._backoff = backoff
        self._rate_wait = rate_wait

    async def __call__(self, method: str, **params: Any) -> Any:
        values = {k: _form(v) for k, v in params.items() if v is not None}
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            last = attempt == self._attempts
            try:
                return await asyncio.to_thread(self.vk.method, method, values)
            except ApiError as exc:
                code = int(exc.code)
                if code in UNREACHABLE:
                    raise RecipientUnreachableError(f"VK error {code}") from exc
                if code in (TOO_MANY_REQUESTS, FLOOD_CONTROL) and not last:
                    # Flood control is about repeating one action: it needs a longer pause than 6.
                    wait = self._rate_wait * attempt * (3 if code == FLOOD_CONTROL else 1)
                    log.info("VK asked us to slow down (error %d); waiting %.1fs", code, wait)
                    await asyncio.sleep(wait)
                    continue
                if code in INTERNAL_ERRORS and not last:
                    log.warning("VK internal error %d in %s, retrying", code, method)
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                if code in (TOO_MANY_REQUESTS, FLOOD_CONTROL, *INTERNAL_ERRORS):
                    raise DeliveryFailedError(f"VK error {code} in {method}") from exc
                raise VkCallError(code, str(exc.error.get("error_msg", ""))) from exc
            except (ApiHttpError, requests.RequestException, ValueError) as exc:
                # 5xx, a dropped connection, a timeout, or a body that is not JSON.
                if last:
                    raise DeliveryFailedError(f"{method}: {type(exc).__name__}") from exc
                log.warning("VK call %s failed (%s), retrying", method, type(exc).__name__)
                await asyncio.sleep(delay)
                delay *= 2
        raise DeliveryFailedError("too many attempts")  # pragma: no cover - the loop returns or raises


def _form(value: Any) -> Any:
    """VK takes lists as comma-separated values and booleans as 1/0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value
