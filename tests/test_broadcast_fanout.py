"""One call to many (VK's peer_ids) through the conversation service, the sender job and the pacer;
and the emulators' limit mode."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
from sqlalchemy import select

from bot.sandbox.limits import SlidingWindow
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Incoming, Payload
from handlers.broadcasts import BroadcastJob
from handlers.fanout import Fanout
from handlers.pacer import Limit, PacerSettings, Priority, PriorityPacer
from storage.models import BroadcastRecipient, Person, utcnow
from storage.uow import Database
from storage.vocabulary import ChatRef, Platform
from tests.broadcast_scale_support import announce, drain, seed
from tests.broadcast_support import BroadcastRig
from tests.e2e import TOKEN
from tests.fakes import FakeManyMessenger, FakeTime
from tests.vk_e2e import VK_GROUP, VK_TOKEN

FAMILIES = 250
BUSY = 3  # in the middle of a question when the broadcast comes


async def test_vk_families_get_it_in_calls_of_100_each_with_its_own_outcome(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = BroadcastRig(db, translators, directory)
    vk = FakeManyMessenger(blocked={7, 8}, refused={9})
    rig.service._messengers[Platform.VK] = vk  # type: ignore[index]  # the rig's mapping is a dict
    await seed(db, Platform.VK, range(1, FAMILIES + 1))
    async with db.uow() as uow:
        await uow.dialogs.save(f"vk:{BUSY}", "t_category", {})  # just now: not idle
    broadcast = await announce(db, f"tg:{rig.admin.user_id}", "Food kits on Saturday")
    job = BroadcastJob(
        db,
        push=rig.service.push,
        many=Fanout(rig.service),
        messengers={Platform.TELEGRAM: rig.messenger, Platform.VK: vk},
        translators=translators,
        directory=directory,
        settings=replace(rig.settings, batch=100),
    )
    await drain(job, db, broadcast)

    assert [len(c) for c in vk.calls] == [99, 100, 50], "the busy one waits; the rest, 100 a call"
    assert all(c.count(BUSY) == 0 for c in vk.calls)
    announced = [chat for chat, screen in vk.sent if "Food kits" in screen.text]
    assert sorted(announced) == sorted(set(range(1, FAMILIES + 1)) - {7, 8, 9, BUSY}), "each once"
    async with db.uow() as uow:
        rows = (await uow.session.execute(select(Person.key, BroadcastRecipient.status).join(Person))).all()
        by_status: dict[str, set[str]] = {}
        for key, status in rows:
            by_status.setdefault(status, set()).add(key)
        assert by_status["unreachable"] == {"vk:7", "vk:8"}
        assert by_status["refused"] == {"vk:9"}
        assert len(by_status["sent"]) == FAMILIES - 3, "the busy one's is kept for after its step"
        blocked = await uow.people.get("vk:7")
        assert blocked is not None and not blocked.reachable
        logged = await uow.chat_log.since("vk:10", utcnow().replace(year=2000))
        assert logged, "a quick exit can delete what a call to many sent"
        done = await uow.broadcasts.get(broadcast)
        assert done is not None and done.status == "done"
    report = rig.messenger.to(rig.admin.user_id)[-1].text
    assert "Delivered: 247" in report and "Refused by VK (too long since they last wrote): 1" in report

    # The busy family answers its question: still in the middle of the request, nothing yet; back
    # at the menu, the announcement comes after the menu.
    press = Event(kind=EventKind.BUTTON, payload=Payload(step="t_category", value="legal"))
    await rig.service.handle(Incoming(Platform.VK, BUSY, BUSY, press, update_id=1, message_id=1))
    assert not [screen for chat, screen in vk.sent if chat == BUSY and "Food kits" in screen.text]
    menu = Event(kind=EventKind.COMMAND, command="start", text="/start")
    await rig.service.handle(Incoming(Platform.VK, BUSY, BUSY, menu, update_id=2, message_id=2))
    after = [screen.text for chat, screen in vk.sent if chat == BUSY]
    assert ["Food kits" in text for text in after].count(True) == 1 and "Food kits" not in after[0]


async def test_one_call_to_100_spends_the_broadcast_budget_100_times_and_the_token_once() -> None:
    time = FakeTime(auto=True)
    settings = PacerSettings(vk_token=Limit(20, 1.0), bulk=Limit(25, 1.0), vk_bulk=Limit(100, 4.0))
    pacer = PriorityPacer(settings, clock=time.clock, sleep=time.sleep)
    start = time.now
    await pacer.wait(ChatRef.parse("vk:1"), Priority.BULK, count=100)
    assert time.now == start, "one call's worth at once"
    await pacer.wait(ChatRef.parse("vk:1"), Priority.BULK, count=100)
    assert 3.9 <= time.now - start <= 4.1, "the next 100 four seconds later: 25 a second"
    before = time.now
    for n in range(19):
        await pacer.wait(ChatRef.parse(f"vk:{n}"), Priority.REPLY)
    assert time.now - before < 1.0, "the two calls took 2 of the token's 20 a second, not 200"


def test_a_sliding_window_refuses_beyond_its_count() -> None:
    now = [0.0]
    window = SlidingWindow(3, 1.0, clock=lambda: now[0])
    assert [window.admit() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.admit() == 1.0 and window.refused == 1
    now[0] = 1.0
    assert window.admit() == 0.0


async def test_limit_mode_answers_429_and_error_6_beyond_the_platforms_limits() -> None:
    async with TelegramEmulator(enforce_limits=True) as tg, aiohttp.ClientSession() as http:
        answers = []
        for n in range(31):
            url = f"{tg.base_url}/bot{TOKEN}/sendMessage"
            async with http.post(url, json={"chat_id": 100 + n, "text": "hi"}) as response:
                answers.append(await response.json())
        assert all(a["ok"] for a in answers[:30])
        assert answers[30]["error_code"] == 429 and answers[30]["parameters"]["retry_after"] >= 1
        tg.assert_no_spec_errors()
    async with VkEmulator(token=VK_TOKEN, group_id=VK_GROUP, enforce_limits=True) as vk:
        async with aiohttp.ClientSession() as http:
            codes = []
            for _ in range(21):
                params = {"access_token": VK_TOKEN, "v": "5.199", "group_id": str(VK_GROUP)}
                async with http.post(f"{vk.url}/method/groups.getById", data=params) as response:
                    body = await response.json()
                    codes.append(body.get("error", {}).get("error_code"))
        assert codes[:20] == [None] * 20 and codes[20] == 6
    async with TelegramEmulator() as unlimited, aiohttp.ClientSession() as http:
        for n in range(40):  # off by default
            url = f"{unlimited.base_url}/bot{TOKEN}/sendMessage"
            async with http.post(url, json={"chat_id": 100 + n, "text": "hi"}) as response:
                assert (await response.json())["ok"]
