"""A family's whole request through the emulator, waiting for an answer to every action (for tests
that run the bot as a separate process, where no in-process hook says an update was handled)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from functools import partial

from bot.sandbox.max.emulator import MaxEmulator, MaxMessage
from bot.sandbox.telegram.emulator import TelegramEmulator

# One family's request, as (kind, step, value): a command, a button press, or typed text.
JOURNEY = [
    ("command", "", "/start"),
    ("press", "consent", "yes"),
    ("press", "*", "ann_no"),  # announcements: their own question after consent
    ("press", "menu", "new"),
    ("press", "t_danger", "no"),
    ("press", "t_category", "other"),
    ("press", "t_children", "0"),
    ("press", "t_region", "r.msk"),
    ("text", "", "Нам нечем платить за квартиру"),
    ("press", "t_desc", "done"),
    ("press", "t_contact", "chat"),
    ("press", "t_summary", "send"),
]


def more_than(emulator: TelegramEmulator, user_id: int, count: int) -> Callable[[], bool]:
    return lambda: len(emulator.messages.get(user_id, [])) > count


async def family(emulator: TelegramEmulator, user_id: int, unanswered: list[str]) -> None:
    for kind, step, value in JOURNEY:
        before = len(emulator.messages.get(user_id, []))
        if kind == "press":
            last = emulator.last_sent(user_id)
            emulator.callback(user_id, last.message_id, f"d:{step}:{value}")
        else:
            emulator.message(user_id, value)
        try:
            await emulator.wait_for(more_than(emulator, user_id, before), timeout=60)
        except AssertionError:
            unanswered.append(f"{user_id}: {kind} {step}:{value}")
            return
        await asyncio.sleep(random.random() * 0.05)


async def hurried(emulator: TelegramEmulator, user_id: int, parts: list[str], unanswered: list[str]) -> None:
    """A family that types its story in several quick messages, each sent before the last is answered
    (behind a round robin, each may reach another replica): the story must keep their order."""
    story = next(i for i, (kind, _, _) in enumerate(JOURNEY) if kind == "text")
    for kind, step, value in JOURNEY[:story]:
        before = len(emulator.messages.get(user_id, []))
        if kind == "press":
            emulator.callback(user_id, emulator.last_sent(user_id).message_id, f"d:{step}:{value}")
        else:
            emulator.message(user_id, value)
        await emulator.wait_for(more_than(emulator, user_id, before), timeout=60)
    before = len(emulator.messages.get(user_id, []))
    for part in parts:
        emulator.message(user_id, part)
    try:
        await emulator.wait_for(more_than(emulator, user_id, before + len(parts) - 1), timeout=60)
    except AssertionError:
        unanswered.append(f"{user_id}: the story's parts")
        return
    for _kind, step, value in JOURNEY[story + 1 :]:
        before = len(emulator.messages.get(user_id, []))
        emulator.callback(user_id, emulator.last_sent(user_id).message_id, f"d:{step}:{value}")
        await emulator.wait_for(more_than(emulator, user_id, before), timeout=60)


async def max_family(emu: MaxEmulator, user_id: int, unanswered: list[str]) -> None:
    """The same journey for a family on MAX: each button is pressed once the bot has shown it."""
    user = emu.user(user_id)

    def bot_messages() -> list[MaxMessage]:
        return [m for m in emu.in_dialog(user_id) if m.from_bot and not m.deleted]

    def button(step: str, value: str) -> tuple[MaxMessage, str] | None:
        for message in reversed(bot_messages()):
            for b in message.buttons():
                if b.get("type") == "callback" and str(b.get("payload")).endswith(f"{step}:{value}"):
                    return message, str(b["payload"])
        return None

    def shown(step: str, value: str) -> bool:
        return button(step, value) is not None

    def grew(before: int) -> bool:
        return len(bot_messages()) > before

    for kind, step, value in JOURNEY:
        before = len(bot_messages())
        try:
            if kind == "press":
                await emu.wait_for(partial(shown, step, value), timeout=60)
                found = button(step, value)
                assert found is not None
                await user.press(*found)
            else:
                await user.write(value)
            await emu.wait_for(partial(grew, before), timeout=60)
        except AssertionError:
            unanswered.append(f"max:{user_id}: {kind} {step}:{value}")
            return
        await asyncio.sleep(random.random() * 0.05)
