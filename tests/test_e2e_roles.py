"""Roles are decided once, by the neutral router: an admin's private chat, a family's, a group's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from dialogs.primitives import Event, EventKind, Payload
from handlers.router import Inbound, InboundRouter
from storage.vocabulary import ChatKind, ChatRef, Platform
from tests.e2e import HandledUpdates, Parent, start_app

ADMIN = 900


@pytest.fixture
async def admin_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}")
    yield app
    await app.stop()


async def test_an_admin_gets_the_admin_menu_and_can_go_back_to_the_bot(
    emulator: TelegramEmulator, admin_app: Application
) -> None:
    admin = Parent(emulator=emulator, handled=HandledUpdates(admin_app), user_id=ADMIN)
    replies = await admin.say("/admin")
    assert "Меню администратора" in admin.texts(replies)
    replies = await admin.tap_value("broadcasts")
    assert "Объявления" in admin.texts(replies), "the broadcast wizard's home"
    replies = await admin.tap_value("admin")
    assert "Меню администратора" in admin.texts(replies)
    replies = await admin.tap_value("menu")
    assert "Меню администратора" not in admin.texts(replies)
    assert "согласие" in admin.texts(replies).lower(), "the family's dialog, from its first step"


async def test_for_anyone_else_admin_is_an_unknown_command(
    emulator: TelegramEmulator, admin_app: Application
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(admin_app), user_id=5002)
    await family.say("/start")
    await family.tap_value("yes")
    unknown = family.texts(await family.say("/nonsense"))
    replies = await family.say("/admin")
    assert family.texts(replies) == unknown
    assert "Меню администратора" not in family.texts(replies)


class Recorder:
    """Stands in for every use-case: records what reached it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return cast(Any, type("R", (), {"toast": None, "duplicate": False, "text": None, "alert": False}))

        return record


def router(recorder: Recorder, desk_platforms: set[Platform]) -> InboundRouter:
    use_case = cast(Any, recorder)
    return InboundRouter(
        conversation=use_case,
        desk=use_case,
        relay=use_case,
        bindings=use_case,
        admins={"tg:900"},
        desk_platforms=desk_platforms,
    )


async def test_group_chats_of_a_platform_without_a_desk_are_not_ours() -> None:
    recorder = Recorder()
    conversation = ChatRef(Platform.VK, 2_000_000_001, ChatKind.GROUP)
    text = Event(kind=EventKind.TEXT, text="привет")
    await router(recorder, {Platform.TELEGRAM}).route(
        Inbound(chat=conversation, user_id=5, event=text, message_id=1)
    )
    assert recorder.calls == []
    await router(recorder, {Platform.TELEGRAM, Platform.VK}).route(
        Inbound(chat=conversation, user_id=5, event=text, message_id=1)
    )
    assert recorder.calls == ["handle"], "with a desk there, the thread relay takes it"


async def test_a_family_button_in_a_group_reaches_no_use_case_and_a_card_button_reaches_the_desk() -> None:
    recorder = Recorder()
    group = ChatRef(Platform.TELEGRAM, -100, ChatKind.GROUP)
    family_button = Event(kind=EventKind.BUTTON, payload=Payload(step="menu", value="new"))
    await router(recorder, {Platform.TELEGRAM}).route(Inbound(chat=group, user_id=5, event=family_button))
    assert recorder.calls == []
    card_button = Event(kind=EventKind.BUTTON, payload=Payload(step="tk", value="claim.1"))
    await router(recorder, {Platform.TELEGRAM}).route(Inbound(chat=group, user_id=5, event=card_button))
    assert recorder.calls == ["press"]


async def test_the_role_comes_from_the_admin_list_not_from_the_chat() -> None:
    routed = router(Recorder(), {Platform.TELEGRAM})
    assert routed.role(Platform.TELEGRAM, 900).value == "admin"
    assert routed.role(Platform.VK, 900).value == "family", "tg:900 is not vk:900"
