"""VK faults: rate limits, flood control, blocked people, long-poll failures, lost connections, restarts."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.app import Application
from bot.sandbox.vk.emulator import VkEmulator
from bot.vk.transport import event_number
from storage.models import Person
from tests.e2e import HandledUpdates
from tests.flows_support import person, reaches, state_of, tickets
from tests.vk_e2e import VkParent, start_vk_app


def sends(vk: VkEmulator) -> list[int]:
    """random_ids of the sends VK accepted."""
    return [int(c.params["random_id"]) for c in vk.calls if c.method == "messages.send" and c.error is None]


async def test_too_many_requests_and_flood_control_are_waited_out(
    vk: VkEmulator, vk_parent: VkParent
) -> None:
    normal = await vk_parent.say("/sos")
    for code in (6, 9):
        vk.fail("messages.send", code, times=2)
        replies = await vk_parent.say("/sos")
        assert [m.text for m in replies] == [m.text for m in normal]  # all of it, once
        failed = [c for c in vk.calls if c.method == "messages.send" and c.error == code]
        # The retries carried the random_id of the first try: VK would drop a double.
        first_sent = sends(vk)[-len(replies)]
        assert {int(c.params["random_id"]) for c in failed[-2:]} == {first_sent}


async def test_server_errors_are_retried(vk: VkEmulator, vk_parent: VkParent) -> None:
    normal = await vk_parent.say("/sos")
    vk.fail("messages.send", 10, times=1)
    vk.fail("messages.send", 0, times=1, http_status=500)
    replies = await vk_parent.say("/sos")
    assert [m.text for m in replies] == [m.text for m in normal]


async def test_a_person_who_cannot_get_messages_is_marked_unreachable(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application
) -> None:
    await vk_parent.start()
    vk.set_blocked(vk_parent.peer_id)
    await vk_parent.say("/sos")
    stored = await person(vk_app, f"vk:{vk_parent.peer_id}")
    assert stored is not None and not stored.reachable
    vk.set_blocked(vk_parent.peer_id, False)
    replies = await vk_parent.say("/sos")  # they wrote again: reachable again, and answered
    assert replies
    stored = await person(vk_app, f"vk:{vk_parent.peer_id}")
    assert stored is not None and stored.reachable


async def test_message_deny_and_allow(vk: VkEmulator, vk_parent: VkParent, vk_app: Application) -> None:
    await vk_parent.start()
    vk.push_event("message_deny", {"user_id": vk_parent.peer_id})
    key = f"vk:{vk_parent.peer_id}"

    async def reachable() -> bool:
        stored = await person(vk_app, key)
        assert stored is not None
        return stored.reachable

    for _ in range(100):
        if not await reachable():
            break
        await asyncio.sleep(0.05)
    assert not await reachable()
    vk.push_event("message_allow", {"user_id": vk_parent.peer_id, "key": "k"})
    for _ in range(100):
        if await reachable():
            break
        await asyncio.sleep(0.05)
    assert await reachable()


async def test_long_poll_failures_lose_and_repeat_nothing(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application
) -> None:
    parent = vk_parent
    key = f"vk:{parent.peer_id}"
    await parent.start()
    await parent.tap_value("yes")
    normal = await parent.say("/sos")
    for failed in (1, 2, 3):
        vk.fail_longpoll(failed)
        replies = await parent.say("/sos")
        assert [m.text for m in replies] == [m.text for m in normal], failed
    vk.drop_longpoll(times=2)
    replies = await parent.tap_value("new")
    assert len(replies) == 1
    assert await state_of(vk_app, key) == "t_danger"
    servers = [c for c in vk.calls if c.method == "groups.getLongPollServer"]
    assert len(servers) >= 3  # the first, then after "failed": 2 and "failed": 3


async def test_a_repeated_event_changes_nothing(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application
) -> None:
    parent = vk_parent
    await parent.start()
    await parent.tap_value("yes")
    event_id = await parent.user.write("/sos")
    await parent.handled.wait(event_number(event_id))
    count = len(parent.messages())
    vk.repeat_event(event_id)
    await parent.handled.wait(event_number(event_id), times=2)
    assert len(parent.messages()) == count


async def test_restart_in_the_middle_of_a_dialog(vk: VkEmulator, db_url: str) -> None:
    app = await start_vk_app(vk, db_url)
    parent = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7401))
    await parent.start()
    await parent.walk("yes", "new", "no", "housing", "shelter", "no", "2", "1", "5")
    await app.stop()
    # Written while the bot was down: VK keeps it for the long poll.
    await parent.user.write("Калужская область")
    app = await start_vk_app(vk, db_url)
    try:
        parent.handled = HandledUpdates(app)
        # Fetched at the start, maybe before the wrapper above was in place: the state tells.
        await reaches(app, f"vk:{parent.peer_id}", "t_desc")
        await parent.say("Нас выселяют через неделю")
        await parent.walk("done", "chat", "send")
        [ticket] = await tickets(app)
        assert ticket.category == "housing" and ticket.children_ages == [1, 5]
        assert ticket.description == "Нас выселяют через неделю"
        assert app.db is not None
        async with app.db.uow() as uow:
            assert len((await uow.session.scalars(select(Person))).all()) == 1
    finally:
        await app.stop()
