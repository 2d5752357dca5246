"""Helpers for the sandbox's HTTP API tests: a client that acts and waits as the page does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.sandbox_browser import button_at


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def state(self) -> dict[str, Any]:
        async with self.session.get(f"{self.url}/api/state") as response:
            data: dict[str, Any] = await response.json()
            return data

    async def act(self, **body: Any) -> tuple[int, dict[str, Any]]:
        async with self.session.post(f"{self.url}/api/act", data=json.dumps(body)) as response:
            return response.status, await response.json()

    async def until(self, check: Callable[[dict[str, Any]], Any], timeout: float = 15.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state = await self.state()
            try:
                if check(state):
                    return state
            except LookupError:
                pass
            if loop.time() > deadline:
                raise AssertionError(json.dumps(state["panes"], ensure_ascii=False)[-3000:])
            await asyncio.sleep(0.05)

    async def tap(self, pane: str, value: str, **extra: Any) -> None:
        state = await self.until(lambda s: button_at(s["panes"][pane], value))
        before = texts(state, pane)
        status, _ = await self.act(pane=pane, kind="press", **button_at(state["panes"][pane], value), **extra)
        assert status == 200
        await self.until(lambda s: texts(s, pane) != before)

    async def say(self, pane: str, text: str, **extra: Any) -> None:
        status, answer = await self.act(pane=pane, kind="text", text=text, **extra)
        assert status == 200, answer

    async def fetch(self, url: str) -> tuple[int, bytes, dict[str, str]]:
        async with self.session.get(f"{self.url}{url}") as response:
            return response.status, await response.read(), dict(response.headers)


def texts(state: dict[str, Any], pane: str) -> str:
    return "\n".join(m["html"] for m in state["panes"][pane]["messages"])


STEPS = {
    "tg_family": ("yes", "ann_no", "new", "no", "legal", "alimony", "1", "9", "r.spb"),
    "vk_family": ("yes", "ann_no", "new", "no", "legal", "benefits", "1", "9", "r.msk"),
}


async def request_taken(client: Client, pane: str, coordinator: int) -> dict[str, Any]:
    """A family's request from the first screen to a coordinator's claim; returns the card."""
    if pane == "vk_family":
        status, _ = await client.act(pane=pane, kind="start")
        assert status == 200
    else:
        await client.say(pane, "/start")
    for value in STEPS[pane]:
        await client.tap(pane, value)
    await client.say(pane, "Нужна консультация юриста")
    for value in ("done", "chat", "send"):
        await client.tap(pane, value)
    state = await client.until(lambda s: any(_claim(m) for m in s["panes"]["group"]["messages"]))
    card = [m for m in state["panes"]["group"]["messages"] if _claim(m)][-1]
    await client.tap("group", _claim(card), coordinator=coordinator)
    await client.until(lambda s: "Координатор взял" in texts(s, pane))
    return dict(card)


def _claim(message: dict[str, Any]) -> str:
    return next(
        (b["value"] for row in message["buttons"] for b in row if (b["value"] or "").startswith("claim.")), ""
    )
