"""Lanes in front of the bounded queue (handlers/lane_queue.py), and what each platform calls urgent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiogram.types import Update

from bot.max.render import urgent_event as max_urgent
from bot.telegram.polling import _urgent as telegram_urgent
from bot.vk.render import urgent_event as vk_urgent
from dialogs.primitives import Event, EventKind, Incoming, Payload, text_event
from handlers.flood import emergency
from handlers.lane_queue import LaneQueue
from storage.vocabulary import Platform


class Handled:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.gate = asyncio.Event()

    async def run(self, update: str) -> None:
        self.started.append(update)
        await self.gate.wait()


def lane_queue(handled: Handled) -> LaneQueue[str]:
    return LaneQueue(
        "test", key=str, run=handled.run, urgent=lambda u: u == "SOS", limit=10, max_held=100, tasks=10
    )


async def test_an_update_fed_again_while_it_waits_in_its_lane_is_taken_once() -> None:
    handled = Handled()
    lanes = lane_queue(handled)
    for update in ["f0", "f1", "f2", "f1", "f0"]:  # a restart's or an orphan's feed of the same ones
        lanes.add("vk:1", update)
    await asyncio.sleep(0)
    assert handled.started == ["f0"], "the rest waits in the lane"
    handled.gate.set()
    for _ in range(100):
        if handled.started == ["f0", "f1", "f2"] and not lanes.queue.running:
            break
        await asyncio.sleep(0.01)
    assert handled.started == ["f0", "f1", "f2"]
    await lanes.finish()


async def test_a_stop_lets_nothing_more_out_of_a_lane_and_frees_a_poll_loop() -> None:
    handled = Handled()
    lanes = lane_queue(handled)
    for n in range(5):
        lanes.add("max:1", f"f{n}")
    lanes.add("max:2", "a")
    await asyncio.sleep(0)
    assert handled.started == ["f0", "a"]
    lanes.stop()
    await asyncio.wait_for(lanes.room(), 1)
    lanes.add("max:3", "b")
    handled.gate.set()
    await lanes.finish()
    assert handled.started == ["f0", "a"], "what waited in the lane stays in the inbox"


async def test_a_poll_loop_waits_while_too_many_updates_are_held() -> None:
    handled = Handled()
    lanes = LaneQueue("test", key=str, run=handled.run, urgent=lambda _u: False, limit=10, max_held=5)
    for n in range(5):
        lanes.add("vk:1", f"f{n}")
    room = asyncio.create_task(lanes.room())
    await asyncio.sleep(0.01)
    assert not room.done(), "a flood held in its lane counts against the memory bound"
    handled.gate.set()
    await asyncio.wait_for(room, 1)
    await lanes.finish()


def test_vk_an_sos_typed_or_pressed_is_urgent() -> None:
    def message(text: str, payload: str | None = None) -> dict[str, object]:
        body: dict[str, object] = {"text": text, "from_id": 5, "peer_id": 5}
        if payload is not None:
            body["payload"] = json.dumps(payload)
        return {"type": "message_new", "object": {"message": body}}

    assert vk_urgent(message("SOS")) and vk_urgent(message("срочно"))
    assert vk_urgent(message("🆘 Экстренная помощь", "d:*:sos")), (
        "the text button of an app without callbacks"
    )
    assert vk_urgent({"type": "message_event", "object": {"user_id": 5, "payload": "d:*:sos"}})
    assert not vk_urgent(message("сообщение 1"))
    assert not vk_urgent({"type": "message_event", "object": {"user_id": 5, "payload": "d:menu:new"}})
    assert not vk_urgent({"type": "message_allow", "object": {"user_id": 5}})


def test_max_an_sos_typed_or_pressed_is_urgent() -> None:
    def message(text: str) -> dict[str, object]:
        return {"update_type": "message_created", "message": {"body": {"mid": "m1", "text": text}}}

    def press(payload: str) -> dict[str, object]:
        return {"update_type": "message_callback", "callback": {"callback_id": "c1", "payload": payload}}

    assert max_urgent(message("SOS")) and max_urgent(press("d:*:sos"))
    assert not max_urgent(message("сообщение 1")) and not max_urgent(press("d:menu:new"))
    assert not max_urgent({"update_type": "bot_started", "user": {"user_id": 5}})


def test_an_sos_typed_or_pressed_or_words_of_danger_are_answered_as_an_emergency() -> None:
    def incoming(event: Event) -> Incoming:
        return Incoming(Platform.VK, 5, 5, event)

    assert emergency(incoming(text_event("SOS")))
    assert emergency(incoming(Event(kind=EventKind.BUTTON, payload=Payload(step="*", value="sos"))))
    assert emergency(incoming(text_event("муж угрожает убить")))
    assert not emergency(incoming(text_event("сообщение 1")))
    assert not emergency(incoming(Event(kind=EventKind.BUTTON, payload=Payload(step="menu", value="new"))))


def test_telegram_an_sos_typed_or_pressed_is_urgent() -> None:
    """As on VK and MAX: a press of 🆘 in the middle of a flood is not held back behind it either."""
    chat = {"id": 5, "type": "private", "first_name": "Анна"}
    user = {"id": 5, "is_bot": False, "first_name": "Анна"}

    def text(value: str) -> dict[str, Any]:
        message = {"message_id": 1, "date": 0, "chat": chat, "from": user, "text": value}
        return {"update_id": 1, "message": message}

    def press(data: str) -> dict[str, Any]:
        query = {"id": "q", "from": user, "chat_instance": "c", "data": data}
        return {"update_id": 2, "callback_query": query}

    assert telegram_urgent(text("SOS")) and telegram_urgent(text("срочно"))
    assert telegram_urgent(press("d:*:sos"))
    assert not telegram_urgent(text("сообщение 1"))
    assert not telegram_urgent(press("d:menu:new"))
    assert not telegram_urgent(press("forged")), "data that is not our button's is not an SOS"
    # As Telegram sends them, before aiogram reads them: checked in the lane, read when handled.
    assert Update.model_validate(text("SOS")).message is not None
    assert not telegram_urgent({"update_id": 3, "message": {"text": 5}}), "nothing to read: not an SOS"
