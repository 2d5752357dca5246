"""A family's plain private texts are read straight from Telegram's data (bot/telegram/inbound.py
``plain_text``): exactly what aiogram's reading gives the router, or not at all."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Update
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.app import create_dispatcher
from bot.telegram.inbound import plain_text
from dialogs.primitives import Event, EventKind, text_event
from handlers.router import Answer, Inbound


class Recorded:
    """The router aiogram's dispatch hands each Inbound to."""

    def __init__(self) -> None:
        self.seen: list[Inbound] = []

    async def route(self, inbound: Inbound) -> Answer:
        self.seen.append(inbound)
        return Answer()


async def through_aiogram(raw: dict[str, Any]) -> list[Inbound]:
    router = Recorded()
    dispatcher = create_dispatcher(router)  # type: ignore[arg-type]
    bot = Bot("42:TEST")  # never called: a private text needs nothing from Telegram
    try:
        await dispatcher.feed_update(bot, Update.model_validate(copy.deepcopy(raw), context={"bot": bot}))
    finally:
        await bot.session.close()
    return router.seen


def text_update(text: str = "сообщение", **sender: Any) -> dict[str, Any]:
    user = {"id": 8001, "is_bot": False, "first_name": "Мария", **sender}
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    message = {"message_id": 77, "date": 1_700_000_000, "chat": chat, "from": user, "text": text}
    return {"update_id": 100_001, "message": message}


names = st.text(max_size=12)
maybe = st.none() | names
# The marks Telegram puts in a text (a /command, a link, bold...), with the optional fields read as plain.
entity = st.fixed_dictionaries(
    {"type": st.sampled_from(["bot_command", "url", "bold", "mention", "pre"]), "offset": st.integers(0, 60)}
    | {"length": st.integers(0, 60)},
    optional={"url": names, "language": names, "custom_emoji_id": names},
)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(min_size=1, max_size=60)
    | st.sampled_from(["/start", "/START@bot x", "SOS", " ", "🆘", "/", "/ ", "/\xa0", "/ start"]),
    first=names,
    last=maybe,
    username=maybe,
    language=st.none() | st.sampled_from(["ru", "en", "uk", ""]),
    premium=st.none() | st.booleans(),
    entities=st.none() | st.lists(entity, max_size=3),
)
async def test_a_plain_text_is_read_as_aiogram_reads_it(
    text: str,
    first: str,
    last: str | None,
    username: str | None,
    language: str | None,
    premium: bool | None,
    entities: list[dict[str, Any]] | None,
) -> None:
    optional = {"last_name": last, "username": username, "language_code": language, "is_premium": premium}
    raw = text_update(text, first_name=first, **{k: v for k, v in optional.items() if v is not None})
    if entities is not None:
        raw["message"]["entities"] = entities
    assert [plain_text(raw)] == await through_aiogram(raw)


def test_a_command_with_its_mark_is_plain() -> None:
    """As Telegram sends /start: with a bot_command mark (the burst of issue 13 is read this way)."""
    raw = text_update("/start")
    raw["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    found = plain_text(raw)
    assert found is not None and found.event.command == "start"


def _with(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(raw)
    place = changed
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (
            ("message", "reply_to_message"),
            {"message_id": 5, "date": 1, "chat": {"id": 8001, "type": "private"}},
        ),
        (("message", "entities"), [{"type": "text_mention", "offset": 0, "length": 3, "user": {"id": 1}}]),
        (("message", "entities"), [{"type": "bold", "offset": "0", "length": 3}]),
        (("message", "entities"), [{"type": "bold", "offset": 0}]),
        (("message", "entities"), [{"type": "date_time", "offset": 0, "length": 3, "unix_time": 1}]),
        (("message", "entities"), {"type": "bold"}),
        (("message", "forward_origin"), {"type": "hidden_user", "date": 1, "sender_user_name": "X"}),
        (("message", "photo"), [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]),
        (("message", "text"), ""),
        (("message", "text"), 5),
        (("message", "chat", "type"), "group"),
        (("message", "chat", "id"), True),
        (("message", "from", "is_bot"), True),
        (("message", "from", "id"), "8001"),
        (("message", "from", "last_name"), None),
        (("message", "from", "added_to_attachment_menu"), True),
        (("message", "date"), "yesterday"),
        (("message", "date"), 2**63),  # no time aiogram can read
        (("update_id",), 1.5),
        (("edited_message",), {}),
    ],
)
def test_anything_but_a_plain_private_text_is_left_to_aiogram(path: tuple[str, ...], value: Any) -> None:
    assert plain_text(text_update()) is not None
    assert plain_text(_with(text_update(), path, value)) is None


def test_an_update_of_another_kind_is_left_to_aiogram() -> None:
    raw = text_update()
    assert plain_text({"update_id": 1, "edited_message": raw["message"]}) is None
    assert plain_text({"update_id": 1, "callback_query": {"id": "1"}}) is None
    without_sender = copy.deepcopy(raw)
    del without_sender["message"]["from"]
    assert plain_text(without_sender) is None


def test_a_slash_and_spaces_is_a_text_not_a_crash() -> None:
    """Typed "/" and a space (any platform): it raised IndexError, and the update was never answered."""
    for typed in ("/ ", "/\xa0", "/\n"):
        assert text_event(typed) == Event(kind=EventKind.TEXT, text=typed)
    assert text_event("/ start").command == "start"  # as it was
    assert text_event("/").kind is EventKind.TEXT
