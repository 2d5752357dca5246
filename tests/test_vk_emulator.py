"""Tests of the VK API emulator itself, driven by the real vk_api client the way the bot drives it."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import requests
import vk_api  # type: ignore[import-untyped, unused-ignore]
from requests.adapters import HTTPAdapter
from vk_api.bot_longpoll import VkBotLongPoll  # type: ignore[import-untyped, unused-ignore]
from vk_api.exceptions import ApiError, ApiHttpError  # type: ignore[import-untyped, unused-ignore]

from bot.sandbox.vk import spec as spec_vk
from bot.sandbox.vk.emulator import VkEmulator
from bot.sandbox.vk.spec import spec_available, validate_call

TOKEN = "vk-test-token"
START = '{"command":"start"}'
LINK = {"action": {"type": "open_link", "label": "Сайт", "link": "https://example.org"}}
GROUP = 77
USER = 1001
needs_spec = pytest.mark.skipif(not spec_available(), reason="VK API schema folder is absent")


class RewriteAdapter(HTTPAdapter):
    """vk_api hard-codes https://api.vk.ru/method/...; send those requests to the emulator."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = self.base_url + request.url.removeprefix("https://api.vk.ru")
        return super().send(request, *args, **kwargs)


@pytest.fixture
async def emu() -> AsyncIterator[VkEmulator]:
    async with VkEmulator() as emulator:
        yield emulator


def client(emu: VkEmulator, *, token: str = TOKEN, version: str = "5.199") -> Any:
    session = requests.Session()
    session.mount("https://api.vk.ru/", RewriteAdapter(emu.url))
    api = vk_api.VkApi(token=token, session=session, api_version=version)
    api.RPS_DELAY = 0  # vk_api sleeps to stay under 3 requests a second; the emulator has no limit
    return api


@pytest.fixture
def api(emu: VkEmulator) -> Any:
    return client(emu)


async def call(api: Any, method: str, **values: Any) -> Any:
    return await asyncio.to_thread(api.method, method, values)


async def send(api: Any, peer: int, text: str, random_id: int, **extra: Any) -> Any:
    return await call(api, "messages.send", peer_ids=str(peer), random_id=random_id, message=text, **extra)


async def api_error(api: Any, method: str, **values: Any) -> int:
    with pytest.raises(ApiError) as caught:
        await call(api, method, **values)
    return int(caught.value.code)


def keyboard(*rows: list[dict[str, Any]], inline: bool = True) -> str:
    return json.dumps({"inline": inline, "buttons": list(rows)}, ensure_ascii=False)


def cb(label: str, payload: Any = None, kind: str = "callback") -> dict[str, Any]:
    action: dict[str, Any] = {"type": kind, "label": label}
    return {"action": action if payload is None else action | {"payload": json.dumps(payload)}}


def txt(label: str, payload: Any = None) -> dict[str, Any]:
    return cb(label, payload, "text")


async def poller(api: Any, wait: int = 1) -> Any:
    return await asyncio.to_thread(VkBotLongPoll, api, GROUP, wait)


async def check(lp: Any) -> list[Any]:
    return list(await asyncio.to_thread(lp.check))


async def test_send_dedup_and_cmids(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    await anna.write("Здравствуйте")
    menu = keyboard([cb("Нужна помощь", {"cmd": "help"}), txt("Отмена", {"cmd": "cancel"})])
    first = await send(api, USER, "Чем помочь?", 11, keyboard=menu, dont_parse_links=1)
    # The user's message took cmid 1: users and the bot share the dialog's counter.
    assert first == [{"peer_id": USER, "message_id": 2, "conversation_message_id": 2}]
    assert await send(api, USER, "Чем помочь?", 11, keyboard=menu) == first  # a retry, deduplicated
    second = await call(api, "messages.send", peer_id=USER, random_id=12, message="ещё")
    assert second == 3  # with peer_id VK answers the bare message id
    sent = emu.sent_to(USER)
    assert [(m.text, m.cmid, m.random_id) for m in sent] == [("Чем помочь?", 2, 11), ("ещё", 3, 12)]
    assert sent[0].buttons() == [
        {"label": "Нужна помощь", "type": "callback", "payload": '{"cmd": "help"}', "link": None},
        {"label": "Отмена", "type": "text", "payload": '{"cmd": "cancel"}', "link": None},
    ]
    assert emu.last_sent(USER).text == "ещё"
    emu.assert_no_spec_errors()
    await call(api, "messages.send", peer_ids=str(USER), message="без random_id")
    assert emu.spec_errors == [
        "messages.send without a non-zero random_id: VK cannot deduplicate a retried send"
    ]


async def test_send_limits_and_blocked_users(emu: VkEmulator, api: Any) -> None:
    assert await api_error(api, "messages.send", peer_ids=USER, random_id=1, message="я" * 4097) == 914
    assert await api_error(api, "messages.send", peer_ids=USER, random_id=2, message=" ") == 100
    await send(api, USER, "я" * 4096, 3)
    emu.set_blocked(USER)
    assert await api_error(api, "messages.send", peer_ids=USER, random_id=4, message="hi") == 901
    emu.per_peer_errors = True
    (item,) = await send(api, USER, "hi", 5)
    assert item["error"]["code"] == 901
    emu.set_blocked(USER, blocked=False)
    emu.push_event("message_deny", {"user_id": USER})
    assert USER in emu.blocked
    emu.push_event("message_allow", {"user_id": USER, "key": ""})
    await send(api, USER, "снова можно", 6)
    assert len(emu.sent_to(USER)) == 2
    emu.assert_no_spec_errors()


@pytest.mark.parametrize(
    ("markup", "problem"),
    [
        (keyboard(*[[cb(str(i))] for i in range(7)]), "inline keyboard has 7 rows, max 6"),
        (keyboard([cb("a")] * 5, [cb("b")] * 5, [cb("c")]), "inline keyboard has 11 buttons, max 10"),
        (keyboard(*[[txt("a")] * 5] * 9, inline=False), "regular keyboard has 45 buttons, max 40"),
        (keyboard([cb("a")] * 6), "keyboard row 0 has 6 buttons, max 5"),
        (keyboard([cb("я" * 41)]), "label must be a string of 1..40 characters"),
        (keyboard([{"action": {"type": "callback", "label": "a", "payload": "{oops"}}]), "not valid JSON"),
        (keyboard([cb("a", "x" * 300)]), "bytes, max 255"),
        (keyboard([{"action": {"type": "open_link", "label": "Сайт"}}]), "needs an http(s) link"),
        (keyboard([{"action": {"type": "location"}}]), "action type 'location' is not one of"),
        (keyboard([{**cb("a"), "color": "purple"}]), "color 'purple' is not allowed"),
        ("{not json", "keyboard is not valid JSON"),
        (json.dumps({"buttons": [cb("a")]}), "keyboard.buttons must be an array of rows"),
    ],
)
async def test_keyboard_violations(emu: VkEmulator, api: Any, markup: str, problem: str) -> None:
    code = await api_error(api, "messages.send", peer_ids=USER, random_id=1, message="m", keyboard=markup)
    assert code == 911
    assert any(problem in e for e in emu.spec_errors), emu.spec_errors
    assert emu.sent_to(USER) == []


async def test_keyboards_must_respect_client_info(emu: VkEmulator, api: Any) -> None:
    emu.user(USER, inline=False)
    await send(api, USER, "меню", 1, keyboard=keyboard([txt("Да")], inline=False))
    emu.assert_no_spec_errors()
    await send(api, USER, "меню", 2, keyboard=keyboard([txt("Да")]))
    await send(api, USER, "меню", 3, keyboard=keyboard([cb("Да")], inline=False))
    assert emu.spec_errors == [
        "messages.send: inline keyboard sent to a client without inline keyboards (client_info)",
        "messages.send: callback button sent to a client whose button_actions lack it",
    ]
    assert len(emu.sent_to(USER)) == 3  # VK delivers them anyway; the old client shows nothing


@needs_spec
async def test_schema_errors(emu: VkEmulator, api: Any) -> None:
    await send(api, USER, "hi", 1, colour="red")
    assert await api_error(api, "groups.getLongPollServer") == 100
    assert emu.spec_errors == [
        "messages.send: unknown parameter 'colour'",
        "groups.getLongPollServer: missing required parameter 'group_id'",
    ]
    emu.spec_errors.clear()
    assert await api_error(api, "messages.telepathy", peer_id=USER) == 3
    assert emu.spec_errors == ["unknown method 'messages.telepathy'"]
    emu.spec_errors.clear()
    await send(api, USER, "hi", 2, dont_parse_links=True)  # requests sends "True": VK wants 1/0
    await call(api, "messages.setActivity", peer_id=USER, type="dancing")
    assert len(emu.spec_errors) == 2
    with pytest.raises(AssertionError, match="VK API spec violations"):
        emu.assert_no_spec_errors()


@needs_spec
def test_validator() -> None:
    ok = {"v": "5.199", "access_token": "t"}
    assert validate_call("messages.send", ok | {"peer_ids": "1,2", "random_id": "-5", "message": "x"}) == []
    assert validate_call("messages.delete", ok | {"cmids": "1,x", "delete_for_all": "1"}) == [
        "messages.delete.cmids: item 1: expected integer, got 'x'"
    ]
    assert validate_call("messages.send", {"random_id": "1"}) == [
        "messages.send: missing the API version parameter 'v'"
    ]
    assert validate_call("users.get", ok | {"user_ids": "1", "fields": "sex,bdate"}) == []
    assert validate_call("users.get", ok | {"user_ids": "1", "fields": "shoe_size"})
    assert validate_call("messages.edit", ok | {"peer_id": "1", "lat": "north"})
    assert validate_call("groups.getLongPollServer", {"v": "5.131", "group_id": "0"}) == [
        "groups.getLongPollServer: API version v='5.131', expected '5.199'",
        "groups.getLongPollServer.group_id: 0 is below the minimum 1",
    ]


def test_spec_absent_skips_schema_checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("VK_SPEC", str(tmp_path / "absent"))
    spec_vk._load.cache_clear()
    spec_vk._follow_ref.cache_clear()
    try:
        assert not spec_available()
        assert validate_call("messages.telepathy", {"v": "5.199", "x": "1"}) == []
        assert validate_call("messages.send", {"v": "5.131"}) == [
            "messages.send: API version v='5.131', expected '5.199'"
        ]
        assert VkEmulator().spec_checked is False
    finally:
        monkeypatch.undo()
        spec_vk._load.cache_clear()
        spec_vk._follow_ref.cache_clear()


async def test_token_version_and_fault_injection(emu: VkEmulator, api: Any) -> None:
    assert await api_error(client(emu, token="wrong"), "messages.send", peer_ids=USER, random_id=1) == 5
    await send(client(emu, version="5.131"), USER, "old API", 1)
    assert emu.spec_errors == ["messages.send: API version v='5.131', expected '5.199'"]
    emu.fail("messages.send", 10, times=2)
    for random_id in (2, 3):
        with pytest.raises(ApiError) as caught:
            await send(api, USER, "x", random_id)
        assert caught.value.code == 10
        assert caught.value.error["error_msg"] == "Internal server error: injected by the test"
        assert {"key": "method", "value": "messages.send"} in caught.value.error["request_params"]
    emu.fail("messages.edit", 0, http_status=500)
    with pytest.raises(ApiHttpError):
        await call(api, "messages.edit", peer_id=USER, cmid=1, message="y")
    await send(api, USER, "ok", 4)
    assert [c.error for c in emu.calls] == [5, None, 10, 10, 500, None]


async def test_long_poll_delivers_messages_and_presses(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER, first_name="Анна", lang_id=3)
    lp = await poller(api)
    assert lp.server == f"{emu.url}/lp"
    await anna.start()
    (event,) = await check(lp)
    assert event.raw["type"] == "message_new"
    assert event.group_id == GROUP
    message = event.object["message"]
    assert [message[k] for k in ("text", "payload", "peer_id", "out")] == ["Начать", START, USER, 0]
    assert event.object["client_info"]["lang_id"] == 3
    menu_markup = keyboard([cb("Нужна помощь", {"cmd": "help"}), txt("Позже", "later")])
    await send(api, USER, "Меню", 1, keyboard=menu_markup)
    menu = emu.last_sent(USER)
    pressed = await anna.press("помощь")
    await anna.press("Позже")
    await anna.write("вот фото", attachments=[anna.photo()], reply_to=menu.cmid)
    events = await check(lp)
    assert events[0].raw["event_id"] == pressed
    callback = events[0].object
    assert callback["payload"] == {"cmd": "help"}  # VK delivers the parsed JSON value
    assert (callback["conversation_message_id"], callback["user_id"]) == (menu.cmid, USER)
    assert [events[1].object["message"][k] for k in ("text", "payload")] == ["Позже", '"later"']
    photo_message = events[2].object["message"]
    assert photo_message["reply_message"]["conversation_message_id"] == menu.cmid
    assert photo_message["attachments"][0]["photo"]["sizes"][-1]["url"].startswith(emu.url)
    assert await check(lp) == []  # nothing new within `wait`
    answer = {"event_id": callback["event_id"], "user_id": USER, "peer_id": USER}
    await call(api, "messages.sendMessageEventAnswer", **answer)
    assert emu.unanswered_events() == []
    users = await call(api, "users.get", user_ids=str(USER), fields="sex")
    assert (users[0]["first_name"], users[0]["sex"]) == ("Анна", 1)
    assert (await call(api, "groups.getById"))["groups"][0]["id"] == GROUP
    assert await call(api, "messages.setActivity", peer_id=USER, type="typing") == 1
    emu.assert_no_spec_errors()


async def test_press_finds_buttons_or_explains(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    await send(api, USER, "Постоянное меню", 1, keyboard=keyboard([txt("Главное меню")], inline=False))
    await send(api, USER, "Вопрос", 2, keyboard=keyboard([cb("Да", 1), cb("Да, срочно", 2)]))
    await send(api, USER, "Ссылка", 3, keyboard=keyboard([LINK]))
    with pytest.raises(AssertionError, match="tests do not press links"):
        await anna.press("Сайт")
    with pytest.raises(AssertionError, match=r"no button 'Нет'.*\['Сайт'\], \['Главное меню'\]"):
        await anna.press("Нет")
    question = emu.sent_to(USER)[1].cmid
    with pytest.raises(AssertionError, match="matches several buttons"):
        await anna.press("Д", cmid=question)
    exact = await anna.press("Да", cmid=question)
    assert emu.events[exact]["object"]["payload"] == 1
    await anna.press("главное")  # the regular keyboard is still on screen
    forged = await anna.press_payload('{"cmd":"admin"}', cmid=question)
    assert emu.events[forged]["object"]["payload"] == {"cmd": "admin"}


async def test_long_poll_waits_and_wakes_on_push(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    lp = await poller(api, wait=10)
    pending = asyncio.create_task(check(lp))
    await asyncio.sleep(0.2)
    assert not pending.done()
    started = asyncio.get_running_loop().time()
    await anna.write("срочно")
    (event,) = await asyncio.wait_for(pending, 3)
    assert asyncio.get_running_loop().time() - started < 1
    assert event.object["message"]["text"] == "срочно"


async def test_events_pushed_before_the_poller_starts_are_kept(emu: VkEmulator, api: Any) -> None:
    first = await emu.user(USER).write("раньше бота")
    lp = await poller(api)
    (event,) = await check(lp)
    assert event.raw["event_id"] == first
    emu.repeat_event(first)
    (again,) = await check(lp)
    assert again.raw == event.raw  # VK sometimes delivers an event twice, with the same event_id


@pytest.mark.parametrize("failed", [1, 2, 3])
async def test_long_poll_failures_lose_nothing(emu: VkEmulator, api: Any, failed: int) -> None:
    anna = emu.user(USER)
    lp = await poller(api)
    old_key = lp.key
    await anna.write("первое")
    emu.fail_longpoll(failed)
    assert await check(lp) == []
    servers = len(emu.calls_of("groups.getLongPollServer"))
    assert servers == (1 if failed == 1 else 2)  # vk_api refetches the server on failed 2 and 3
    await anna.write("второе")
    texts = [e.object["message"]["text"] for e in await check(lp)]
    assert texts == ["первое", "второе"]
    if failed > 1:
        query = {"act": "a_check", "key": old_key, "ts": lp.ts, "wait": 1}
        answer = await asyncio.to_thread(requests.get, lp.server, params=query, timeout=5)
        assert answer.json() == {"failed": failed}  # the old key stays dead


async def test_dropped_long_poll_is_retried_without_loss(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    lp = await poller(api)
    await anna.write("до обрыва")
    emu.drop_longpoll()
    with pytest.raises(requests.exceptions.ConnectionError):
        await check(lp)
    emu.drop_longpoll(http_status=502)
    with pytest.raises(ValueError, match="Expecting value"):  # vk_api decodes the 502 page as JSON
        await check(lp)
    await anna.write("после обрыва")
    texts = [e.object["message"]["text"] for e in await check(lp)]
    assert texts == ["до обрыва", "после обрыва"]
    assert len(emu.lp_requests) == 3


async def test_message_event_answers_are_validated(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    await send(api, USER, "Меню", 1, keyboard=keyboard([cb("Да", "yes")]))
    object_id = emu.events[await anna.press("Да")]["object"]["event_id"]
    answer = {"event_id": object_id, "user_id": USER, "peer_id": USER}
    ask = functools.partial(api_error, api, "messages.sendMessageEventAnswer")
    assert await ask(**(answer | {"event_id": "nope"})) == 100
    assert await ask(**(answer | {"user_id": 5})) == 100
    assert await ask(**answer, event_data=json.dumps({"type": "show_snackbar", "text": "я" * 91})) == 100
    assert await ask(**answer, event_data='{"type": "popup"}') == 100
    assert emu.unanswered_events() == [object_id]
    snackbar = json.dumps({"type": "show_snackbar", "text": "Принято"}, ensure_ascii=False)
    assert await call(api, "messages.sendMessageEventAnswer", **answer, event_data=snackbar) == 1
    assert emu.unanswered_events() == []
    assert await ask(**answer) == 100
    assert len(emu.answers()) == 6
    assert emu.answers()[4]["event_data"] == snackbar
    expected = ["'nope' for", "(5, 1001)", "is 91 characters", "'popup'", "answered twice"]
    assert len(emu.spec_errors) == len(expected)
    for part, error in zip(expected, emu.spec_errors, strict=True):
        assert part in error


async def test_edit_and_delete_rules(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    await anna.write("мой номер +7999")  # cmid 1; the bot's two messages take 2 and 3
    sent, _ = [(await send(api, USER, text, rid))[0] for text, rid in (("v1", 1), ("old", 2))]
    edit = {"peer_id": USER, "message": "v2"}
    assert await call(api, "messages.edit", **edit, cmid=2, keyboard=keyboard([cb("ok")])) == 1
    edited = emu.find(USER, cmid=2)
    assert (edited.text, edited.edited, len(edited.buttons())) == ("v2", True, 1)
    await call(api, "messages.edit", peer_id=USER, message_id=sent["message_id"], message="v3")
    assert (edited.text, edited.keyboard) == ("v3", None)  # an edit replaces the whole message, like VK
    emu.age_message(USER, 3, hours=25)
    assert [await api_error(api, "messages.edit", **edit, cmid=c) for c in (99, 1, 3)] == [100, 920, 909]
    result = await call(api, "messages.delete", peer_id=USER, cmids="2,1,3", delete_for_all=1)
    assert [r["conversation_message_id"] for r in result] == [2, 1, 3]
    assert [(r["response"], r.get("error", {}).get("code")) for r in result] == [
        (1, None),
        (0, 924),
        (0, 924),
    ]
    assert [m.deleted for m in emu.sent_to(USER)] == [True, False]
    assert emu.last_sent(USER).text == "old"
    await call(api, "messages.delete", peer_id=USER, cmids="3")
    assert not emu.last_sent(USER).deleted  # without delete_for_all the user still sees it
    emu.assert_no_spec_errors()


async def test_attachments_and_files(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    photo, doc, voice = anna.photo(), anna.doc(), anna.voice()
    assert (doc["doc"]["title"], doc["doc"]["ext"]) == ("справка.pdf", "pdf")
    assert voice["audio_message"]["link_ogg"].endswith(".ogg")
    body = photo["photo"]
    ref = f"photo{body['owner_id']}_{body['id']}"
    await send(api, USER + 1, "", 1, attachment=f"{ref}_{body['access_key']}")
    emu.assert_no_spec_errors()
    await send(api, USER + 1, "без ключа", 2, attachment=ref)
    assert emu.spec_errors == [f"messages.send: attachment {ref!r} lacks its access_key; VK would drop it"]
    assert await api_error(api, "messages.send", peer_ids=USER, random_id=3, attachment="picture1") == 100
    download = await asyncio.to_thread(requests.get, body["sizes"][0]["url"], timeout=5)
    assert download.ok
    assert download.content.startswith(b"emulated VK file photo")


async def test_wait_sent_counts_new_messages(emu: VkEmulator, api: Any) -> None:
    anna = emu.user(USER)
    await send(api, USER, "старое", 1)
    await anna.write("привет")

    async def bot_replies() -> None:
        await asyncio.sleep(0.1)
        for rid, text in enumerate(("раз", "два", "три"), start=2):
            await send(api, USER, text, rid)

    replying = asyncio.create_task(bot_replies())
    assert [m.text for m in await emu.wait_sent(USER, 2)] == ["раз", "два"]
    assert [m.text for m in await emu.wait_sent(USER)] == ["три"]
    await replying
    with pytest.raises(AssertionError, match=r"condition not met within 0\.1s"):
        await emu.wait_sent(USER, timeout=0.1)


async def test_echo_replies(emu: VkEmulator, api: Any) -> None:
    emu.echo_replies = True
    lp = await poller(api)
    await send(api, USER, "эхо", 1)
    (event,) = await check(lp)
    assert (event.raw["type"], event.object["out"], event.object["from_id"]) == ("message_reply", 1, -GROUP)
