"""The same system turn for many people at once: VK shows one screen to up to 100 people per call.

Each person still gets a turn of their own (the same per-person lock, the same dialog engine): a
person in the middle of a step gets the announcement after it, as with ``ConversationService.push``.
What changes is the send: the people whose turn is exactly one screen, and the same screen, get it in
one call of the messenger's ``send_many`` (VK's ``peer_ids``), each with a result of their own. The
budgets are spent before any lock is taken, so a family that writes meanwhile is never kept waiting
for a broadcast's pacing. Messengers without ``send_many`` get one ``push`` a person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace

from dialogs.primitives import Screen, SystemEvent, screen_to_json
from handlers.conversation import ConversationService
from handlers.pacer import Priority
from handlers.ports import (
    Delivery,
    IntentRefusedError,
    RecipientUnreachableError,
    SendResult,
    SendsToMany,
)
from handlers.turn_parts import Committed, Target
from storage.vocabulary import ChatKind, ChatRef, Platform, parse_person_key

log = logging.getLogger(__name__)


def delivery_of(result: SendResult) -> Delivery:
    if not isinstance(result, Exception):
        return Delivery.SENT
    if isinstance(result, RecipientUnreachableError):
        return Delivery.UNREACHABLE
    if isinstance(result, IntentRefusedError):
        return Delivery.REFUSED
    return Delivery.FAILED


class Fanout:
    def __init__(self, service: ConversationService) -> None:
        self._service = service

    def fanout(self, platform: Platform) -> int:
        """How many people one send reaches on ``platform`` (1: one push a person)."""
        messenger = self._service._messengers.get(platform)
        return messenger.fanout if isinstance(messenger, SendsToMany) else 1

    async def push_many(
        self,
        people: Sequence[str],
        system: SystemEvent,
        *,
        dedup: str,
        priority: Priority = Priority.BULK,
    ) -> dict[str, Delivery]:
        """``system`` for each of ``people`` ("vk:1", ...); how it went for each."""
        results: dict[str, Delivery] = {}
        by_platform: dict[Platform, list[str]] = {}
        for key in people:
            by_platform.setdefault(parse_person_key(key)[0], []).append(key)
        for platform, keys in by_platform.items():
            size = self.fanout(platform)
            if size <= 1:
                for key in keys:
                    results[key] = await self._service.push(key, system, dedup=dedup, priority=priority)
                continue
            for start in range(0, len(keys), size):
                results |= await self._chunk(platform, keys[start : start + size], system, dedup, priority)
        return results

    async def _chunk(
        self, platform: Platform, keys: list[str], system: SystemEvent, dedup: str, priority: Priority
    ) -> dict[str, Delivery]:
        service = self._service
        messenger = service._messengers[platform]
        if not isinstance(messenger, SendsToMany):  # fanout() said it is: a messenger swapped meanwhile
            raise TypeError(f"the {platform.value} messenger cannot send to many")
        # The whole chunk's budget first, outside every lock (one call: one of the token's calls).
        first = ChatRef(platform, parse_person_key(keys[0])[1], ChatKind.PRIVATE)
        await service._pacer.wait(first, priority, count=len(keys))
        results: dict[str, Delivery] = {}
        async with service.in_flight.track(), AsyncExitStack() as locks:
            for key in sorted(keys):  # one order for every holder of several locks: no deadlock
                await locks.enter_async_context(service._locks.hold(key))
            turns: dict[str, Committed | None] = {}
            async with service._db.uow() as uow:
                for key in keys:
                    turns[key] = await service._system_turn(uow, key, system)
            alike: dict[str, tuple[Screen, list[str]]] = {}
            alone: list[tuple[str, Committed]] = []
            for key, committed in turns.items():
                if committed is None:
                    results[key] = Delivery.UNREACHABLE
                elif committed.erase or committed.forget or len(committed.outcome.screens) > 1:
                    alone.append((key, committed))
                elif not committed.outcome.screens:
                    results[key] = Delivery.SENT  # kept for after the person's step
                else:
                    screen = committed.outcome.screens[0]
                    if system.intent is not None and screen.intent is None:
                        screen = replace(screen, intent=system.intent)
                    same = json.dumps(screen_to_json(screen), sort_keys=True, ensure_ascii=False)
                    alike.setdefault(same, (screen, []))[1].append(key)
            sent: dict[str, list[int]] = {}
            for screen, group in alike.values():
                chats = {parse_person_key(key)[1]: key for key in group}
                answers = await messenger.send_many(list(chats), screen, dedup=dedup)
                for chat_id, key in chats.items():
                    result = answers.get(chat_id)
                    results[key] = Delivery.FAILED if result is None else delivery_of(result)
                    if isinstance(result, list):
                        sent[key] = result
            for key, committed in alone:  # a screen of their step as well: sent on its own
                chat_id = parse_person_key(key)[1]
                target = Target(
                    platform, chat_id, chat_id, dedup=dedup, intent=system.intent, priority=priority
                )
                results[key] = await service._after_commit(target, committed)
            gone = [key for key, result in results.items() if result is Delivery.UNREACHABLE and turns[key]]
            if sent or gone:
                async with service._db.uow() as uow:
                    for key, ids in sent.items():
                        await uow.chat_log.add(key, ids, from_bot=True)  # a quick exit deletes them too
                    for key in gone:
                        await uow.people.set_reachable(key, False)
        return results
