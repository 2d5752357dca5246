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
UPLOAD_TIMEOUT = 120.0  # seconds for one file posted to MAX's upload host
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

    def _http(self) -> aiohttp.ClientSession:
        # Built on first use, inside the running loop (nothing at import or construction time).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": self._token, "User-Agent": "family-help-bot"}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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

    async def upload(self, kind: str, name: str, data: bytes) -> str:
        """MAX's upload flow for a file the bot makes: ``POST /uploads?type=`` gives a one-time URL
        (and, for audio and video, the token); the file is POSTed there as multipart field ``data``,
        whose answer carries the token for images and files. Returns the token.

        The upload URL is MAX's own storage host and carries its own authorisation: our token is not
        sent there (a separate session, without the ``Authorization`` header)."""
        endpoint = await self.call("POST", "/uploads", params={"type": kind})
        url = endpoint.get("url") if isinstance(endpoint, dict) else None
        if not isinstance(url, str):
            raise DeliveryFailedError("MAX gave no upload URL")
        form = aiohttp.FormData()
        form.add_field("data", data, filename=name)
        try:
            async with (
                aiohttp.ClientSession(headers={"User-Agent": "family-help-bot"}) as http,
                http.post(url, data=form, timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)) as response,
            ):
                answer = await response.json(content_type=None) if response.status < 300 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryFailedError(f"MAX upload failed: {type(exc).__name__}") from exc
        token = endpoint.get("token") or uploaded_token(answer)
        if not isinstance(token, str) or not token:
            raise DeliveryFailedError("MAX's upload answered without a token")
        return token


def uploaded_token(answer: Any) -> str | None:
    """The token in an upload's answer: ``{"token": ...}`` for a file, ``{"photos": {key: {"token":
    ...}}}`` for an image (MAX's PhotoTokens)."""
    if not isinstance(answer, dict):
        return None
    if answer.get("token"):
        return str(answer["token"])
    photos = answer.get("photos")
    if isinstance(photos, dict):
        for value in photos.values():
            if isinstance(value, dict) and value.get("token"):
                return str(value["token"])
    return None


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
