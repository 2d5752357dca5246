"""A local VK API and Bots Long Poll server for end-to-end tests of the real vk_api client.

vk_api posts to ``https://api.vk.ru/method/<name>``: mount a transport adapter on its
``requests.Session`` that rewrites that prefix to :attr:`VkEmulator.url`.  The long-poll server URL
comes from the emulator's own ``groups.getLongPollServer`` answer (``<url>/lp``).  Every call is
checked against the VK schema (``bot/sandbox/vk/spec.py``) plus keyboard and limit rules; tests act as
users through :meth:`VkEmulator.user` and observe what the bot sent with :meth:`sent_to`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.sandbox.limits import VK_CALLS_PER_SECOND, SlidingWindow
from bot.sandbox.vk.chats import VkChat, VkChatMethods
from bot.sandbox.vk.spec import spec_available, validate_call
from bot.sandbox.vk.state import VkApiError, VkCall, VkMessage
from bot.sandbox.vk.user import VkUser

__all__ = ["VkApiError", "VkCall", "VkChat", "VkEmulator", "VkMessage", "VkUser"]

_FILE_NAME = re.compile(r"(photo|doc|audio_message)(-?\d+)_(\d+)")
_MAX_WAIT = 90  # seconds; VK caps a long poll's ``wait`` there


@dataclass
class _Fault:
    method: str
    code: int
    http_status: int | None
    times: int


class VkEmulator(VkChatMethods):
    """VK API server plus a scriptable community dialog world; see the module docstring.

    Public state worth asserting on: ``calls``, ``spec_errors``, ``emulator_errors``, ``history``
    (every dialog, users' messages too), ``events`` (pushed long-poll events by event_id),
    ``lp_requests``, ``blocked``; switches: ``echo_replies``, ``per_peer_errors``.
    """

    users: dict[int, VkUser]

    def __init__(
        self,
        *,
        token: str = "vk-test-token",  # noqa: S107
        group_id: int = 77,
        enforce_limits: bool = False,
    ) -> None:
        super().__init__(token=token, group_id=group_id)
        # Limit mode (benchmarks): 20 calls a second per token, error 6 beyond it.
        self.limit = SlidingWindow(VK_CALLS_PER_SECOND) if enforce_limits else None
        self.spec_checked = spec_available()
        self._init_chats()
        self._faults: list[_Fault] = []
        self._lp_failures: list[int] = []
        self._drops: list[int | None] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        """The API, long-poll and file routes, to serve on a port of their own (start) or in the sandbox."""
        app = web.Application()
        app.router.add_route("*", "/method/{method}", self._handle_method)
        app.router.add_get("/lp", self._handle_longpoll)
        app.router.add_get("/files/{name}", self._handle_file)
        app.router.add_post("/upload/{kind}", self._handle_upload)
        return app

    async def start(self) -> None:
        app = self.web_app()
        # Long polls end on stop(); the short grace just covers in-flight replies.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- the API ----------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, problems = await _read_params(request)
        call = VkCall(method, params)
        self.calls.append(call)
        problems += validate_call(method, params)
        self.spec_errors.extend(problems)
        try:
            if params.get("access_token") != self.token:
                raise VkApiError(5, "invalid access_token")
            if self.limit is not None and self.limit.admit() > 0:
                raise VkApiError(6)
            if not params.get("v"):
                raise VkApiError(8, "v (version) is required")
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            if handler is None:
                if not any(p == f"unknown method {method!r}" for p in problems):
                    self.spec_errors.append(f"{method}: the emulator does not serve this method")
                raise VkApiError(3)
            fault = self._take_fault(method)
            if fault is not None and fault.http_status is not None:
                call.error = fault.http_status
                return _http_error(fault.http_status)
            if fault is not None:
                raise VkApiError(fault.code, "injected by the test")
            result = await handler(params)
        except VkApiError as exc:
            return self._error(call, exc)
        except (LookupError, ValueError, TypeError) as exc:
            # Malformed input VK would answer with error 100; the spec check usually explains it.
            if not problems:
                self.emulator_errors.append(f"{method}: {exc!r}")
            return self._error(call, VkApiError(100, str(exc)))
        return web.json_response({"response": result})

    @staticmethod
    def _error(call: VkCall, exc: VkApiError) -> web.Response:
        call.error = exc.code
        shown = [{"key": "method", "value": call.method}, {"key": "oauth", "value": "1"}]
        shown += [{"key": k, "value": v} for k, v in call.params.items() if k != "access_token"]
        error: dict[str, Any] = {"error_code": exc.code, "error_msg": exc.message, "request_params": shown}
        if exc.code == 14:
            error |= {"captcha_sid": "239633676097", "captcha_img": "https://api.vk.ru/captcha.php?sid=1"}
        return web.json_response({"error": error})

    def fail(self, method: str, code: int, *, times: int = 1, http_status: int | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with error ``code`` (or HTTP ``http_status``)."""
        self._faults.append(_Fault(method, code, http_status, times))

    def refuse_intent(self, peer_id: int, code: int = 943) -> None:
        """Messages to ``peer_id`` that carry an intent are refused: 943 (not allowed for them now, as
        VK does long after their last message) or 944 (the intent's limit is spent)."""
        if code not in (943, 944):
            raise ValueError("VK refuses an intent with 943 or 944")
        self.intent_refused[peer_id] = code

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    # -- the long poll ----------------------------------------------------------------------------

    def fail_longpoll(self, failed: int) -> None:
        """The next a_check answers ``{"failed": failed}``; 2 and 3 also invalidate the key."""
        if failed not in (1, 2, 3):
            raise ValueError("VK's long poll fails with 1, 2 or 3")
        self._lp_failures.append(failed)

    def drop_longpoll(self, times: int = 1, *, http_status: int | None = None) -> None:
        """Close the next ``times`` a_check connections unanswered (or answer ``http_status``, e.g. 502)."""
        self._drops.extend([http_status] * times)

    async def _handle_longpoll(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.lp_requests.append(query)
        if self._drops:
            status = self._drops.pop(0)
            if status is not None:
                return _http_error(status)
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if query.get("act") != "a_check":
            self.spec_errors.append(f"long poll: act={query.get('act')!r}, expected 'a_check'")
        key = query.get("key", "")
        if key in self._dead_keys or key not in self._lp_keys:
            return web.json_response({"failed": self._dead_keys.get(key, 2)})
        ts = int(query["ts"]) if query.get("ts", "").isdigit() else -1
        if not 1 <= ts <= self._next_ts:
            return web.json_response({"failed": 1, "ts": str(self._resume_ts())})
        if self._lp_failures:
            return web.json_response(self._lp_failure(self._lp_failures.pop(0), key, ts))
        wait = self._wait_seconds(query.get("wait"))
        deadline = time.monotonic() + wait
        while not (ready := self._events_from(ts)):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                break
            wake = self._wake
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                break
        if request.transport is None or request.transport.is_closing():
            return web.Response()  # the poller went away: these events were delivered to nobody
        if ready:
            self._delivered_upto = max(self._delivered_upto, ready[-1].ts)
        return web.json_response({"ts": str(self._next_ts), "updates": [e.body for e in ready]})

    def _lp_failure(self, failed: int, key: str, ts: int) -> dict[str, Any]:
        if failed == 1:
            # The history "was lost": VK hands a ts to go on from; ours loses nothing.
            return {"failed": 1, "ts": str(ts)}
        if failed == 2:
            self._dead_keys[key] = 2
        else:
            self._dead_keys.update(dict.fromkeys(self._lp_keys, 3))
            self._lp_keys.clear()
        self._lp_keys.discard(key)
        return {"failed": failed}

    def _wait_seconds(self, raw: str | None) -> float:
        if raw is None or not raw.isdigit():
            self.spec_errors.append(f"long poll: wait={raw!r} is not a number of seconds")
            return 0.0
        if int(raw) > _MAX_WAIT:
            self.spec_errors.append(f"long poll: wait={raw} exceeds VK's maximum of {_MAX_WAIT}")
        return float(min(int(raw), _MAX_WAIT))

    async def _handle_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        # A photo's sizes and a document's link all name the item: photo4001_5_z.jpg, doc4001_6.pdf.
        found = _FILE_NAME.match(name)
        content = self.file_content(f"{found[1]}{found[2]}_{found[3]}") if found else None
        if content is None:
            content = f"emulated VK file {name}\n".encode() * 32
        return web.Response(body=content, content_type="application/octet-stream")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        files = [(k, v) for k, v in form.items() if isinstance(v, web.FileField)]
        if len(files) != 1:
            self.spec_errors.append(f"upload: {len(files)} files in one message upload, expected one")
            return web.json_response({"error": "one file expected"})
        field_name, upload = files[0]
        answer = self.receive_upload(
            request.match_info["kind"],
            int(request.query.get("peer", "0")),
            field_name,
            upload.filename or "file",
            upload.file.read(),
        )
        if "error" in answer:
            self.spec_errors.append(f"upload: {answer['error']}")
        return web.json_response(answer)

    # -- acting as users --------------------------------------------------------------------------

    def user(
        self, user_id: int, *, first_name: str = "Анна", inline: bool = True, lang_id: int = 0
    ) -> VkUser:
        """A simulated person in a private dialog with the community; lang_id 0 = ru, 3 = en."""
        person = VkUser(self, user_id, first_name=first_name, inline=inline, lang_id=lang_id)
        self.users[user_id] = person
        return person

    def member(self, chat: VkChat, user_id: int, *, first_name: str = "Анна") -> VkUser:
        """A person writing and pressing buttons in conversation ``chat``."""
        person = VkUser(self, user_id, first_name=first_name, inline=True, lang_id=0, peer_id=chat.peer_id)
        chat.members.add(user_id)
        self.users.setdefault(user_id, person)
        return person

    # -- observation ------------------------------------------------------------------------------

    def answers(self) -> list[dict[str, str]]:
        """The parameters of every ``messages.sendMessageEventAnswer`` call, in order."""
        return [c.params for c in self.calls if c.method == "messages.sendMessageEventAnswer"]

    def calls_of(self, method: str) -> list[VkCall]:
        return [c for c in self.calls if c.method == method]

    def assert_no_spec_errors(self) -> None:
        assert not self.spec_errors, "VK API spec violations:\n" + "\n".join(self.spec_errors)

    # A plain `timeout` argument is this helper's documented API; asyncio.timeout would hide the dump.
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                if predicate():
                    return
            # A predicate like `last_sent(peer).text == ...` raises until the first message arrives.
            except (AssertionError, LookupError) as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                reason = f" (last predicate error: {last_error!r})" if last_error else ""
                raise AssertionError(f"condition not met within {timeout}s{reason}\n{self.dump()}")
            await asyncio.sleep(0.01)

    async def wait_sent(self, peer_id: int, count: int = 1, timeout: float = 5.0) -> list[VkMessage]:
        """Wait for ``count`` new bot messages to ``peer_id`` since the last wait_sent or user action.

        Returns exactly those ``count`` messages (deleted ones included, flagged); a later call
        continues after them.
        """
        start = self._marks.get(peer_id, 0)
        await self.wait_for(lambda: len(self.sent_to(peer_id)) >= start + count, timeout)
        self._marks[peer_id] = start + count
        return self.sent_to(peer_id)[start : start + count]


def _http_error(status: int) -> web.Response:
    """An HTTP failure as a proxy in front of VK gives it: an HTML page, no JSON."""
    return web.Response(status=status, text=f"<html><h1>{status} {HTTPStatus(status).phrase}</h1></html>")


async def _read_params(request: web.Request) -> tuple[dict[str, str], list[str]]:
    """Query and form parameters as strings; a repeated key is a problem (arrays go comma-separated)."""
    pairs = list(request.query.items())
    if request.method == "POST" and request.body_exists:
        form = await request.post()
        pairs += [(k, v if isinstance(v, str) else "<file>") for k, v in form.items()]
    params: dict[str, str] = {}
    problems: list[str] = []
    method = request.match_info["method"]
    for key, value in pairs:
        if key in params:
            problems.append(f"{method}: parameter {key!r} sent more than once (send arrays comma-separated)")
        params[key] = value
    return params, problems
