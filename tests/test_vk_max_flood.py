"""A flood on VK and MAX (long poll, and MAX's webhooks): one person's waiting updates do not take the
slots the others need; their texts are merged in order, they are told once, and their SOS is answered
with nothing typed after it going first. The real vk-api client and our MAX client, against the emulators."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import Application
from bot.max.transport import MaxTransport, update_number
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.vk.emulator import VkEmulator
from bot.vk.transport import VkTransport, event_number
from storage.vocabulary import Platform
from tests.e2e import HandledUpdates
from tests.flood_support import (
    Family,
    assert_in_order,
    assert_slowed_and_sos_answered,
    open_a_request,
    thread_texts,
    turns_at,
)
from tests.inflight_support import until_kept
from tests.max_e2e import MaxParent, start_max_app, start_max_webhook_app
from tests.vk_e2e import VkParent, start_vk_app

FLOODER, OTHERS = 9001, range(9101, 9121)
# More than the updates handled at once (handlers/inflight.py): one update a slot, the flood alone
# would take every slot and the others would wait behind it.
FLOOD = 250
SOS_AT = FLOOD // 2  # the SOS is sent between text SOS_AT - 1 and text SOS_AT


class Held:
    """Wraps the transport's update handler: the flood's texts, as they reach it, wait for ``gate``."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, transport: type[Any], text_of: Callable[[dict[str, Any]], str]
    ) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.flood: list[str] = []  # in the order they reached the handler
        self.done: list[str] = []  # and as the handler returned
        original = transport._dispatch

        async def held(owner: Any, raw: dict[str, Any]) -> bool:
            text = text_of(raw)
            ours = text.startswith("сообщение") or text == "SOS"
            if ours:
                self.flood.append(text)
                await self.gate.wait()
            try:
                return bool(await original(owner, raw))
            finally:
                if ours:
                    self.done.append(text)

        monkeypatch.setattr(transport, "_dispatch", held)


@dataclass
class Side:
    """One platform as the test drives it."""

    platform: Platform
    app: Application
    held: Held
    flooder: Family
    write: Callable[[str], Awaitable[int]]  # the flooder writes: the update id the conversation sees
    start: Callable[[int], Awaitable[object]]  # someone presses Start
    answers: Callable[[int], list[str]]  # the bot's texts to a person, in order
    wait_for: Callable[[Callable[[], bool]], Awaitable[None]]


async def vk_side(vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Side:
    held = Held(monkeypatch, VkTransport, lambda raw: str(_at(raw, "object", "message").get("text", "")))
    app = await start_vk_app(vk, db_url)
    flooder = vk.user(FLOODER)

    async def write(text: str) -> int:
        return event_number(await flooder.write(text))

    return Side(
        Platform.VK,
        app,
        held,
        VkParent(vk, HandledUpdates(app), flooder),
        write,
        lambda user: vk.user(user).start(),
        lambda user: [m.text for m in vk.sent_to(user)],
        lambda ready: vk.wait_for(ready, timeout=30),
    )


async def max_side(emu: MaxEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch, *, webhook: bool) -> Side:
    held = Held(monkeypatch, MaxTransport, lambda raw: str(_at(raw, "message", "body").get("text", "")))
    app = await (start_max_webhook_app if webhook else start_max_app)(emu, db_url)
    flooder = emu.user(FLOODER)

    async def write(text: str) -> int:
        return update_number(await flooder.write(text), 0)

    return Side(
        Platform.MAX,
        app,
        held,
        MaxParent(emu, HandledUpdates(app), flooder),
        write,
        lambda user: emu.user(user).start(),
        lambda user: [m.text for m in emu.in_dialog(user) if m.from_bot],
        lambda ready: emu.wait_for(ready, timeout=30),
    )


def _at(raw: dict[str, Any], *path: str) -> dict[str, Any]:
    for name in path:
        raw = raw.get(name) or {}
    return raw


async def test_a_vk_flood_leaves_the_slots_to_the_others(
    vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    side = await vk_side(vk, db_url, monkeypatch)
    try:
        await flood(side)
    finally:
        side.held.gate.set()
        await side.app.stop()
    vk.assert_no_spec_errors()


@pytest.mark.parametrize("webhook", [False, True], ids=["long poll", "webhook"])
async def test_a_max_flood_leaves_the_slots_to_the_others(
    max_emu: MaxEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch, webhook: bool
) -> None:
    side = await max_side(max_emu, db_url, monkeypatch, webhook=webhook)
    try:
        await flood(side)
    finally:
        side.held.gate.set()
        await side.app.stop()
    max_emu.assert_no_spec_errors()


def answered(side: Side, user: int) -> Callable[[], bool]:
    return lambda: bool(side.answers(user))


async def flood(side: Side) -> None:
    """The flooder, with an open request, sends FLOOD texts at once with an SOS in the middle, then the
    others press Start: the others are served while the flooder's first turn is still in hand; then
    the flood is merged in order, told once, and its SOS goes after what came before it, before the rest."""
    await open_a_request(side.flooder)
    before = len(side.answers(FLOODER))
    side.held.gate.clear()  # the flooder's first turn takes long: the rest of the flood piles up
    ids: list[int] = []
    for n in range(FLOOD):
        if n == SOS_AT:
            ids.append(await side.write("SOS"))
        ids.append(await side.write(f"сообщение {n}"))
    for user in OTHERS:
        await side.start(user)

    for user in OTHERS:
        await side.wait_for(answered(side, user))
    assert side.held.flood == ["сообщение 0"], "the rest of the flood waits in its lane, not in the slots"

    side.held.gate.set()
    await until_kept(side.app, side.platform, 0)
    sent = [f"сообщение {n}" for n in range(FLOOD)]
    sent.insert(SOS_AT, "SOS")
    assert side.held.flood == sent, "each handled once, in the order sent"
    assert_slowed_and_sos_answered(side.answers(FLOODER)[before:], sent=len(sent))
    db = side.app.db
    assert db is not None
    entries = assert_in_order(await thread_texts(db), FLOOD, split_at=SOS_AT)
    assert entries < FLOOD // 10, f"merged: {entries} entries for {FLOOD} texts"
    at = await turns_at(db, side.platform, ids)
    assert max(at[:SOS_AT]) < at[SOS_AT], "the texts typed before the SOS were handled before it"
    assert at[SOS_AT] < min(at[SOS_AT + 1 :]), "nothing typed after the SOS was handled before it"


async def test_what_waits_in_a_lane_at_a_stop_is_handled_at_the_restart_once_and_in_order(
    vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    side = await vk_side(vk, db_url, monkeypatch)
    try:
        await open_a_request(side.flooder)
        side.held.gate.clear()
        for n in range(40):
            await side.write(f"сообщение {n}")
        await vk.wait_for(lambda: bool(side.held.flood), timeout=30)
        [transport] = side.app.transports
        await transport.stop_listening()  # the flooder's first turn is in hand, 39 wait in their lane
        side.held.gate.set()
        await vk.wait_for(lambda: bool(side.held.done), timeout=30)  # the turn in hand ends
    finally:
        side.held.gate.set()
        await side.app.stop()
    assert side.held.flood == ["сообщение 0"], "nothing is let in after the stop"

    app = await start_vk_app(vk, db_url)
    try:
        await until_kept(app, Platform.VK, 0)
        assert app.db is not None
        assert_in_order(await thread_texts(app.db), 40)
    finally:
        await app.stop()
    assert side.held.flood == [f"сообщение {n}" for n in range(40)], "each once, in the order sent"
    vk.assert_no_spec_errors()
