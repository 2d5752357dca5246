"""The "scenario" button: a short demo played by the page's people, for trainers of new coordinators.

A family on Telegram asks for legal help, the first coordinator takes the request, they talk through
the bot, and the coordinator closes it. Every step waits for the bot's real answer, with a pause a
watcher can follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.sandbox.settings import COORDINATORS, GROUP_ID, TG_FAMILY
from bot.sandbox.telegram.emulator import SentMessage
from bot.sandbox.world import World

log = logging.getLogger(__name__)

PAUSE = 1.2  # seconds between steps, so a trainer can point at what happened
WAIT = 20.0  # seconds for the bot's answer to a step

_LINES = {
    "ru": {
        "story": "Бывший муж не платит алименты, двое детей. Что делать?",
        "family": "Здравствуйте! Когда вы сможете позвонить?",
        "coordinator": "Добрый день! Я юрист фонда, позвоню сегодня в 15:00.",
    },
    "en": {
        "story": "My ex-husband does not pay child support, we have two children. What can I do?",
        "family": "Hello! When can you call me?",
        "coordinator": "Good afternoon! I am the foundation's lawyer; I will call you today at 3 pm.",
    },
}


class Scenario:
    def __init__(self, world: World, *, pause: float = PAUSE) -> None:
        self.world = world
        self.pause = pause
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, lang: str) -> bool:
        if self.running:
            return False
        self._task = asyncio.create_task(self._play(lang), name="sandbox-scenario")
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _play(self, lang: str) -> None:
        try:
            await self._steps(lang)
        except asyncio.CancelledError:
            raise
        except Exception:  # the demo is a courtesy: a step that did not come is logged, the sandbox goes on
            log.exception("the scenario stopped")

    async def _steps(self, lang: str) -> None:
        emu = self.world.telegram
        family, coordinator = TG_FAMILY.user_id, COORDINATORS[0].user_id
        lines = _LINES[lang]
        await self._family_says("/start", lang)
        for value in ("yes", "ann_no", "new", "no", "legal", "alimony", "1", "9", "r.spb"):
            await self._family_taps(value)
        await self._family_says(lines["story"], lang)
        for value in ("done", "chat", "send"):
            await self._family_taps(value)
        card = await self._wait_button(GROUP_ID, "claim")
        emu.callback(coordinator, card.message_id, _data(card, "claim"), chat_id=GROUP_ID)
        await self._wait_button(GROUP_ID, "close")
        await asyncio.sleep(self.pause)
        copies = len(_copies(self.world, GROUP_ID))
        await self._family_says(lines["family"], lang)
        await emu.wait_for(lambda: len(_copies(self.world, GROUP_ID)) > copies, WAIT)
        await asyncio.sleep(self.pause)
        relayed = _copies(self.world, GROUP_ID)[-1]
        emu.message(
            coordinator,
            lines["coordinator"],
            chat_id=GROUP_ID,
            chat_type="supergroup",
            language_code=lang,
            first_name=COORDINATORS[0].name,
            reply_to_message_id=relayed.message_id,
        )
        await emu.wait_for(lambda: bool(_copies(self.world, family)), WAIT)
        await asyncio.sleep(self.pause)
        card = await self._wait_button(GROUP_ID, "close")
        emu.callback(coordinator, card.message_id, _data(card, "close"), chat_id=GROUP_ID)
        card = await self._wait_button(GROUP_ID, "oc-helped")
        await asyncio.sleep(self.pause)
        emu.callback(coordinator, card.message_id, _data(card, "oc-helped"), chat_id=GROUP_ID)

    async def _family_says(self, text: str, lang: str) -> None:
        before = self._seen(TG_FAMILY.user_id)
        self.world.telegram.message(TG_FAMILY.user_id, text, language_code=lang, first_name=TG_FAMILY.name)
        await self._answered(TG_FAMILY.user_id, before)

    async def _family_taps(self, value: str) -> None:
        emu, family = self.world.telegram, TG_FAMILY.user_id
        holder = await self._wait_value(family, value)
        data = next(d for _t, d in emu.buttons(holder) if d.endswith(f":{value}"))
        before = self._seen(family)
        emu.callback(family, holder.message_id, data, chat_id=family)
        await self._answered(family, before)

    def _seen(self, chat_id: int) -> tuple[int, int]:
        """What the bot has done in the chat so far: messages sent and edits made."""
        messages = self.world.telegram.messages.get(chat_id, [])
        return len(messages), sum(m.edits for m in messages)

    async def _answered(self, chat_id: int, before: tuple[int, int]) -> None:
        """Wait for the bot's answer, so the next step presses the new screen, not the old one."""
        await self.world.telegram.wait_for(lambda: self._seen(chat_id) != before, WAIT)
        await asyncio.sleep(self.pause)

    async def _wait_value(self, chat_id: int, value: str) -> SentMessage:
        emu = self.world.telegram

        def find() -> SentMessage | None:
            newest = [m for m in emu.sent_to(chat_id) if emu.buttons(m)][-1:]
            return next((m for m in newest if any(d.endswith(f":{value}") for _t, d in emu.buttons(m))), None)

        await emu.wait_for(lambda: find() is not None, WAIT)
        found = find()
        if found is None:  # wait_for saw it: only a concurrent delete could take it away
            raise LookupError(f"the button is gone in chat {chat_id}")
        return found

    async def _wait_button(self, chat_id: int, action: str) -> SentMessage:
        emu = self.world.telegram

        def find() -> SentMessage | None:
            return next((m for m in reversed(emu.sent_to(chat_id)) if _has(emu.buttons(m), action)), None)

        await emu.wait_for(lambda: find() is not None, WAIT)
        found = find()
        if found is None:  # wait_for saw it: only a concurrent delete could take it away
            raise LookupError(f"the button is gone in chat {chat_id}")
        return found


def _action(data: str) -> str:
    """``p:tk:claim.12`` -> ``claim``: the card action of a coordinators' button."""
    return data.rpartition(":")[2].partition(".")[0]


def _has(buttons: list[tuple[str, str]], action: str) -> bool:
    return any(_action(d) == action for _t, d in buttons)


def _data(msg: SentMessage, action: str) -> str:
    markup = msg.reply_markup or {}
    data = [str(b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]
    return next(d for d in data if _action(d) == action)


def _copies(world: World, chat_id: int) -> list[SentMessage]:
    return [m for m in world.telegram.sent_to(chat_id) if m.method.lower() == "copymessage"]
