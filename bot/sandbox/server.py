"""``python -m bot sandbox``: the whole bot, the local Telegram, VK and MAX servers and the page, on one
port.

The real aiogram Bot and Dispatcher, the real vk-api client and our MAX client talk HTTP to the servers
mounted at ``/tg``, ``/vk`` and ``/max`` of the same aiohttp application that serves the page, so the
sandbox binds only the port it is given and can run beside a real bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import Application
from bot.sandbox.files import file_response
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.samples import seed_directory
from bot.sandbox.scenario import Scenario
from bot.sandbox.settings import DATABASE_FILE, MAX_TOKEN, VK_GROUP_ID, VK_TOKEN, sandbox_settings
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from bot.sandbox.world import Act, ActionError, World

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
# Cards and replies should show at once; the real defaults pace for Telegram's group limits.
SANDBOX_DELIVERY = {"per_chat_interval": 0.3, "retry_base": 0.5, "poll_interval": 0.5}
_STATIC = {"app.js": "text/javascript", "style.css": "text/css"}
_TICK = 0.15  # seconds between looks for changes to push to the page


class SandboxError(Exception):
    """The sandbox cannot start (its port is taken): one line for the person who ran it."""


class Sandbox:
    def __init__(self, *, host: str, port: int, workdir: Path, reset: bool = False) -> None:
        self.host = host
        self.port = port
        self.workdir = workdir
        self.reset = reset
        self.telegram = TelegramEmulator()
        self.vk = VkEmulator(token=VK_TOKEN, group_id=VK_GROUP_ID)
        self.max = MaxEmulator(token=MAX_TOKEN)
        self.world = World(self.telegram, self.vk, self.max)
        self.scenario = Scenario(self.world)
        # Where the page's /files/<platform>/<key> finds a file's bytes (the key is the platform's own id).
        self.files: dict[str, Callable[[str], bytes | None]] = {
            "tg": self.telegram.files.get,
            "vk": self.vk.file_content,
        }
        self.app: Application | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        root = web.Application(client_max_size=60 * 1024 * 1024)
        root.router.add_get("/", self._index)
        root.router.add_get("/static/{name}", self._static)
        root.router.add_get("/api/state", self._state)
        root.router.add_get("/api/events", self._events)
        root.router.add_post("/api/act", self._act)
        root.router.add_post("/api/scenario", self._scenario)
        root.router.add_get("/files/{platform}/{key}", self._file)
        root.router.add_get("/healthz", self._health)
        # The bot's own readiness and metrics, on the sandbox's one port (the bot serves no port of its own).
        root.router.add_get("/readyz", self._bot_web)
        root.router.add_get("/metrics", self._bot_web)
        root.add_subapp("/tg/", self.telegram.web_app())
        root.add_subapp("/vk/", self.vk.web_app())
        root.add_subapp("/max/", self.max.web_app())
        self._runner = web.AppRunner(root, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            raise SandboxError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"
        self.telegram.base_url = f"{self.url}/tg"
        self.vk.url = f"{self.url}/vk"
        self.max.url = f"{self.url}/max"
        database = self.workdir / DATABASE_FILE
        new = await asyncio.to_thread(prepare_database, database, reset=self.reset)
        settings = sandbox_settings(self.url, self.workdir)
        if new:
            await seed_directory(settings.database_url)
        self.app = Application(settings, delivery=SANDBOX_DELIVERY, serve_web=False)
        await self.app.start()

    async def stop(self) -> None:
        self._closing.set()
        await self.scenario.stop()
        # First end the long polls held open (the servers still answer: their routes go with the runner),
        # so the bot's pollers return at once instead of at their timeout.
        await self.telegram.stop()
        await self.vk.stop()
        await self.max.stop()
        if self.app is not None:
            await self.app.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the page ---------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(
            text=(WEB_DIR / "index.html").read_text(encoding="utf-8"), content_type="text/html"
        )

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound
        return web.Response(text=(WEB_DIR / name).read_text(encoding="utf-8"), content_type=_STATIC[name])

    async def _file(self, request: web.Request) -> web.Response:
        source = self.files.get(request.match_info["platform"])
        content = source(request.match_info["key"]) if source is not None else None
        if content is None:
            raise web.HTTPNotFound
        return file_response(content, request.query.get("name", "file"))

    async def _health(self, request: web.Request) -> web.Response:
        ok = self.app is not None and self.app.failure() is None
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    async def _bot_web(self, request: web.Request) -> web.StreamResponse:
        if self.app is None or self.app.web is None:
            raise web.HTTPServiceUnavailable
        match = await self.app.web.app.router.resolve(request)
        return await match.handler(request)

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.snapshot() | {"scenario": self.scenario.running})

    async def _act(self, request: web.Request) -> web.Response:
        try:
            act = Act.parse(await request.json())
            await self.world.act(act)
        except (ActionError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _scenario(self, request: web.Request) -> web.Response:
        body: Any = await request.json() if request.body_exists else {}
        lang = "en" if isinstance(body, dict) and body.get("lang") == "en" else "ru"
        started = self.scenario.start(lang)
        return web.json_response({"ok": started}, status=200 if started else 409)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: one ``data`` line whenever something a pane shows may have changed."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        seen = ""
        idle = 0.0
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while not self._closing.is_set():
                current = json.dumps([self.world.version(), self.scenario.running])
                if current != seen:
                    seen, idle = current, 0.0
                    await response.write(f"data: {current}\n\n".encode())
                elif idle > 15:
                    idle = 0.0
                    await response.write(b": still here\n\n")  # keeps proxies from closing the stream
                await asyncio.sleep(_TICK)
                idle += _TICK
        return response


def prepare_database(database: Path, *, reset: bool) -> bool:
    """Make room for the sandbox's database; whether it is new (then it gets the sample directory)."""
    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    return not database.exists()


async def serve(
    *, host: str, port: int, workdir: Path, reset: bool, stop: asyncio.Event | None = None
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The local servers are on loopback: a proxy set for the real internet must not be asked for them.
    # vk-api's requests session picks its proxy by the official address, before bot/vk/client.py sends
    # the request to VK_API_URL, so that address is listed too (the sandbox never calls the real VK).
    local = ("127.0.0.1", "localhost", "api.vk.ru")
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(p for p in (os.environ.get(name, ""), *local) if p)
    sandbox = Sandbox(host=host, port=port, workdir=workdir, reset=reset)
    try:
        await sandbox.start()
        print(f"Sandbox: open {sandbox.url}/ in a browser (Ctrl+C stops it)", flush=True)
        await stop.wait()
    finally:
        await sandbox.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
