"""A thin aiohttp client for the MAX Bot API, with our retry policy.

Why our own: the maintained clients on PyPI (``maxapi``, ``aiomax``) are whole bot frameworks with
their own dispatcher, filters and start-up calls; ``maxapi`` retries only 502-504 its own way and
spawns unowned tasks. We need a dozen calls, our own error mapping and a base URL for the emulator,
so this file is the whole client. Every MAX type stays under ``bot/max/``.

The token goes in the ``Authorization`` header (MAX no longer takes it as a query parameter).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from handlers.ports import DeliveryFailedError, RecipientUnreachableError

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 30.0  # seconds; the long poll sets its own (its wait + 10)
MAX_RATE_WAIT = 60.0
# Error codes MAX gives for a person or chat the bot can no longer write to.
UNREACHABLE_CODES = frozenset({"chat.denied", "dialog.suspended", "chat.not.found", "user.not.found"})


class MaxAuthError(Exception):
    """MAX refused the token (401)."""


class MaxCallError(Exception):
    """MAX refused the call for a reason retrying will not fix."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"MAX {status} {code}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class MaxTiming:
    """Pauses before retries; the defaults are for the real MAX, tests make them short."""

    backoff: float = 0.5  # after a 5xx or a lost connection (doubles)
    rate_wait: float = 1.0  # after a 429 without Retry-After
    longpoll_backoff: float = 1.0  # after the long poll lost its connection (doubles, up to a minute)


class MaxClient:
    def __init__(
        self, token: str, api_url: str, *, attempts: int = 5, timing: MaxTiming | None = None
    ) -> None:
        self._token = token
        self._base = api_url.rstrip("/")
        self._attempts = attempts
        self._timing = timing or MaxTiming()
        self._session: aiohttp.ClientSession | None = None
        self._plain: aiohttp.ClientSession | None = None

    @property
    def timing(self) -> MaxTiming:
        return self._timing

    def files_http(self) -> aiohttp.ClientSession:
        """For files' links and upload URLs: hosts other than the API's, so never with the token."""
        if self._plain is None or self._plain.closed:
            self._plain = aiohttp.ClientSession(headers={"User-Agent": "family-help-bot"})
        return self._plain

    def _http(self) -> aiohttp.ClientSession:
        # Built on first use, inside the running loop (nothing at import or construction time).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": self._token, "User-Agent": "family-help-bot"}
            )
        return self._session

    async def close(self) -> None:
        for session in (self._session, self._plain):
            if session is not None:
                await session.close()
        self._session = self._plain = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        wait: float = REQUEST_TIMEOUT,
        attempts: int | None = None,
    ) -> Any:
        """One API call: 429 waited out, 5xx and lost connections retried, then DeliveryFailedError.
        401 raises MaxAuthError, 403 and the "cannot write there" codes RecipientUnreachableError,
        any other refusal MaxCallError."""
        query = {k: _query(v) for k, v in (params or {}).items() if v is not None}
        delay = self._timing.backoff
        tries = attempts or self._attempts
        for attempt in range(1, tries + 1):
            last = attempt == tries
            try:
                async with self._http().request(
                    method,
                    self._base + path,
                    params=query,
                    json=dict(body) if body is not None else None,
                    timeout=aiohttp.ClientTimeout(total=wait),
                ) as response:
                    status = response.status
                    try:
                        answer = await response.json(content_type=None)
                    except ValueError:
                        answer = None
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                if last:
                    raise DeliveryFailedError(f"MAX {method} {path}: {type(exc).__name__}") from exc
                log.warning("MAX call %s %s failed (%s), retrying", method, path, type(exc).__name__)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if status < 300:
                return answer
            code = str(answer.get("code", "")) if isinstance(answer, dict) else ""
            message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
            if status == 401:
                raise MaxAuthError(message or "unauthorized")
            if status == 403 or code in UNREACHABLE_CODES:
                raise RecipientUnreachableError(f"MAX {status} {code}")
            if status == 429 and not last:
                wait = _seconds(retry_after, self._timing.rate_wait * attempt)
                log.info("MAX asked us to slow down; waiting %.1fs", wait)
                await asyncio.sleep(wait)
                continue
            if status >= 500 and not last:
                log.warning("MAX server error %d in %s %s, retrying", status, method, path)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if status == 429 or status >= 500:
                raise DeliveryFailedError(f"MAX {status} in {method} {path}")
            raise MaxCallError(status, code, message)
        raise DeliveryFailedError("too many attempts")  # pragma: no cover - the loop returns or raises


def _query(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _seconds(header: str | None, default: float) -> float:
    try:
        return min(MAX_RATE_WAIT, max(0.0, float(header))) if header else default
    except ValueError:
        return default
