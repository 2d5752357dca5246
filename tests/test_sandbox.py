"""The sandbox without a browser: its settings, its HTTP API, live updates, bad input, the scenario."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.__main__ import main
from bot.sandbox.scenario import Scenario
from bot.sandbox.server import Sandbox
from bot.sandbox.settings import ADMIN, COORDINATORS, GROUP_ID, TELEGRAM_TOKEN, VK_FAMILY, sandbox_settings
from bot.sandbox.view import safe_html
from tests.sandbox_browser import REAL_ENV, button_at
from tests.sandbox_support import Client, texts


def test_only_telegrams_tags_survive_and_everything_else_is_text() -> None:
    assert safe_html("<b>Заявка</b> #1") == "<b>Заявка</b> #1"
    assert safe_html("<strong>a</strong><em>b</em><tg-spoiler>c</tg-spoiler>") == (
        '<b>a</b><i>b</i><span class="spoiler">c</span>'
    )
    assert safe_html("&lt;script&gt;alert(1)&lt;/script&gt;") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "<img" not in safe_html('<img src=x onerror="alert(1)">') and "onerror" not in safe_html(
        "<i onclick=x>y</i>"
    )
    assert safe_html('<a href="javascript:alert(1)">x</a>') == "<a>x</a>"
    assert safe_html('<a href="https://example.org/?a=1&amp;b=2">x</a>') == (
        '<a href="https://example.org/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">x</a>'
    )
    assert safe_html("<b><i>unclosed") == "<b><i>unclosed</i></b>"
    assert safe_html("a</b>b") == "ab"


def test_the_sandbox_settings_ignore_the_environment_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(REAL_ENV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "987654321:REAL-looking-token-never-to-be-used")
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///real/bot.sqlite3")
    monkeypatch.setenv("QUIET_HOURS", "nonsense")
    settings = sandbox_settings("http://127.0.0.1:1", tmp_path)
    assert settings.bot_token.get_secret_value() == TELEGRAM_TOKEN
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'data' / 'sandbox.sqlite3'}"
    assert (
        settings.telegram_api_url == "http://127.0.0.1:1/tg"
        and settings.vk_api_url == "http://127.0.0.1:1/vk"
    )
    assert settings.admins == (f"tg:{ADMIN.user_id}",) and settings.coordinator_chat == f"tg:{GROUP_ID}"
    assert settings.vk_token.get_secret_value() != "real-vk-token" and settings.quiet_hours == "off"


def test_a_taken_port_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # main() would point the process's logging at this test's captured stderr, closed after it.
    monkeypatch.setattr("bot.__main__.setup_logging", lambda *_: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["sandbox", "--port", str(busy.getsockname()[1])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Sandbox: cannot listen on 127.0.0.1:") and "Traceback" not in err


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    (tmp_path / ".env").write_text(REAL_ENV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "987654321:REAL-looking-token-never-to-be-used")
    box = Sandbox(host="127.0.0.1", port=0, workdir=tmp_path)
    box.scenario = Scenario(box.world, pause=0.0)
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, sandbox.url)


async def test_a_vk_family_request_reaches_a_coordinator_and_back(
    sandbox: Sandbox, client: Client, tmp_path: Path
) -> None:
    status, _ = await client.act(pane="vk_family", kind="start")
    assert status == 200
    for value in ("yes", "ann_no", "new", "no", "legal", "benefits", "1", "9", "r.msk"):
        await client.tap("vk_family", value)
    await client.say("vk_family", "Не дают <b>пособие</b>")
    for value in ("done", "chat", "send"):
        await client.tap("vk_family", value)
    state = await client.until(lambda s: button_at(s["panes"]["group"], "claim.1"))
    card = next(m for m in state["panes"]["group"]["messages"] if m["buttons"])
    assert "&lt;b&gt;пособие&lt;/b&gt;" in card["html"] and "<b>Нужна помощь:</b>" in card["html"]
    await client.tap("group", "claim.1", coordinator=COORDINATORS[1].user_id)
    await client.until(lambda s: "Координатор взял" in texts(s, "vk_family"))
    assert f"Взял(а) {COORDINATORS[1].name}" in texts(await client.state(), "group")
    await client.say(
        "group", "Здравствуйте, помогу", reply_to=card["id"], coordinator=COORDINATORS[1].user_id
    )
    await client.until(lambda s: "Здравствуйте, помогу" in texts(s, "vk_family"))
    assert sandbox.vk.users[VK_FAMILY.user_id].lang_id == 0
    assert not sandbox.vk.spec_errors and not sandbox.telegram.spec_errors

    # The real database of the .env is never touched; the sandbox has its own file.
    assert not (tmp_path / "real").exists() and (tmp_path / "data" / "sandbox.sqlite3").exists()


async def test_bad_actions_get_an_answer_and_change_nothing(sandbox: Sandbox, client: Client) -> None:
    # What the panes show, and what reached the bot (the bot's own background calls, such as asking
    # Telegram for its name, may come meanwhile: they are not the bad actions' doing).
    def seen(state: dict[str, Any]) -> tuple[Any, ...]:
        return (state["panes"], len(sandbox.telegram.all_updates), len(sandbox.vk.events))

    before = seen(await client.state())
    for body in (
        {"pane": "nowhere", "kind": "text", "text": "hi"},
        {"pane": "tg_family", "kind": "text", "text": "   "},
        {"pane": "tg_family", "kind": "press", "message": 999, "row": 0, "col": 0},
        {"pane": "tg_family", "kind": "press", "row": 5, "col": 5},
        {"pane": "group", "kind": "text", "text": "hi", "coordinator": 42},
        {"pane": "group", "kind": "block"},
        {"pane": "admin", "kind": "dance"},
        {"pane": "tg_family", "kind": "text", "text": "hi", "reply_to": "abc"},
        [1, 2, 3],
    ):
        async with client.session.post(f"{client.url}/api/act", data=json.dumps(body)) as response:
            assert response.status == 400, body
            assert (await response.json())["ok"] is False
    async with client.session.post(f"{client.url}/api/act", data="not json") as response:
        assert response.status == 400
    assert seen(await client.state()) == before


async def test_updates_are_pushed_live_and_the_language_reaches_the_apps(
    sandbox: Sandbox, client: Client
) -> None:
    async with client.session.get(f"{client.url}/api/events") as events:
        first = await asyncio.wait_for(events.content.readline(), 5)
        assert first.startswith(b"data: ")
        await events.content.readline()
        await client.say("tg_family", "/start", lang="en")
        second = await asyncio.wait_for(events.content.readline(), 5)
        assert second.startswith(b"data: ") and second != first
    await client.until(lambda s: "consent" in texts(s, "tg_family").lower())
    [update] = [u for u in sandbox.telegram.all_updates.values() if "message" in u]
    assert update["message"]["from"]["language_code"] == "en"


async def test_the_scenario_plays_a_request_from_start_to_close(sandbox: Sandbox, client: Client) -> None:
    async with client.session.post(f"{client.url}/api/scenario", json={"lang": "ru"}) as response:
        assert response.status == 200
    async with client.session.post(f"{client.url}/api/scenario", json={"lang": "ru"}) as response:
        assert response.status == 409, "one scenario at a time"
    state = await client.until(lambda s: "закрыта" in texts(s, "tg_family") and not s["scenario"], timeout=60)
    assert "позвоню сегодня в 15:00" in texts(state, "tg_family")
    assert "Когда вы сможете позвонить" in texts(state, "group")


def test_the_readmes_first_command_runs_the_sandbox_with_nothing_to_replace() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```bash\n")[1:]
    first, second = (block.split("```")[0].strip() for block in blocks[:2])
    assert "\n" not in first and first.endswith("python -m bot sandbox")
    assert "<" not in first and ">" not in first and "your" not in first.lower()
    assert second.startswith("BOT_TOKEN='") and second.endswith("' python -m bot")


async def test_the_platforms_own_actions_contact_photo_reply_and_block(
    sandbox: Sandbox, client: Client
) -> None:
    await client.say("tg_family", "/start")
    for value in ("yes", "ann_no", "new", "no", "legal", "alimony", "1", "9", "r.spb"):  # to "what happened"
        await client.tap("tg_family", value)
    status, _ = await client.act(pane="tg_family", kind="photo", text="справка")
    assert status == 200
    state = await client.until(lambda s: s["panes"]["tg_family"]["messages"][-1]["mine"] is False)
    photo = next(m for m in state["panes"]["tg_family"]["messages"] if m["media"] == "photo")
    assert photo["mine"] and photo["html"] == "справка"

    # A reply to the bot's message carries the quoted text.
    last_bot = [m for m in state["panes"]["tg_family"]["messages"] if not m["mine"]][-1]
    await client.say("tg_family", "ответ", reply_to=last_bot["id"])
    state = await client.until(lambda s: any(m["reply_to"] for m in s["panes"]["tg_family"]["messages"]))

    # Blocking the bot is the platform's own update; the pane says so, and unblocking undoes it.
    status, _ = await client.act(pane="tg_family", kind="block")
    assert status == 200 and (await client.state())["panes"]["tg_family"]["blocked"] is True
    await client.act(pane="tg_family", kind="block")
    assert (await client.state())["panes"]["tg_family"]["blocked"] is False
    status, _ = await client.act(pane="vk_family", kind="block")
    assert status == 200 and sandbox.vk.blocked == {VK_FAMILY.user_id}
    assert [u for u in sandbox.telegram.all_updates.values() if "my_chat_member" in u]


async def test_the_share_contact_button_under_the_input(sandbox: Sandbox, client: Client) -> None:
    await client.say("tg_family", "/start")
    for value in ("yes", "ann_no", "new", "no", "legal", "alimony", "1", "9", "r.spb"):
        await client.tap("tg_family", value)
    await client.say("tg_family", "Нужна консультация")
    for value in ("done", "phone"):
        await client.tap("tg_family", value)
    state = await client.until(lambda s: s["panes"]["tg_family"]["keyboard"])
    keyboard = state["panes"]["tg_family"]["keyboard"]
    [(row, col)] = [
        (r, c) for r, line in enumerate(keyboard) for c, b in enumerate(line) if b.get("request_contact")
    ]
    before = texts(state, "tg_family")
    status, _ = await client.act(pane="tg_family", kind="press", row=row, col=col)
    assert status == 200
    state = await client.until(
        lambda s: texts(s, "tg_family") != before and button_at(s["panes"]["tg_family"], "send")
    )
    assert any(m["media"] == "contact" for m in state["panes"]["tg_family"]["messages"])


async def test_quick_exit_removes_the_messages_from_the_pane(client: Client) -> None:
    await client.say("tg_family", "/start")
    await client.until(lambda s: button_at(s["panes"]["tg_family"], "yes"))
    await client.say("tg_family", "/erase")
    await client.until(lambda s: "/start" not in texts(s, "tg_family"))
    state = await client.state()
    assert all("/erase" not in m["html"] for m in state["panes"]["tg_family"]["messages"])


async def test_a_max_family_request_reaches_a_coordinator_and_back(sandbox: Sandbox, client: Client) -> None:
    status, _ = await client.act(pane="max_family", kind="start")
    assert status == 200
    for value in ("yes", "ann_no", "new", "no", "legal", "benefits", "1", "9", "r.msk"):
        await client.tap("max_family", value)
    await client.say("max_family", "Нужна <i>консультация</i>")
    status, _ = await client.act(pane="max_family", kind="photo", text="справка")
    assert status == 200
    await client.until(lambda s: any(m["media"] == "photo" for m in s["panes"]["max_family"]["messages"]))
    for value in ("done", "chat", "send"):
        await client.tap("max_family", value)
    await client.until(lambda s: "принята" in texts(s, "max_family"))
    state = await client.until(lambda s: button_at(s["panes"]["group"], "claim.1"))
    card = next(m for m in state["panes"]["group"]["messages"] if m["buttons"])
    assert "&lt;i&gt;консультация&lt;/i&gt;" in card["html"]
    await client.tap("group", "claim.1")
    await client.until(lambda s: "Координатор взял" in texts(s, "max_family"))
    await client.say("group", "Добрый день, помогу", reply_to=card["id"])
    await client.until(lambda s: "Добрый день, помогу" in texts(s, "max_family"))
    # The family's photo reaches the Telegram chat after the card (Telegram fetches it by its link on
    # the MAX server): the delivery worker sends a card's files on their own, so it is waited for.
    await client.until(lambda s: any(m["media"] == "photo" for m in s["panes"]["group"]["messages"]))
    # The MAX pane's actions: bad ones are refused kindly, blocking is the bot_stopped of MAX.
    status, answer = await client.act(pane="max_family", kind="press", message=10**9, row=0, col=0)
    assert status == 400 and "gone" in answer["error"]
    status, _ = await client.act(pane="max_family", kind="block")
    assert status == 200 and (await client.state())["panes"]["max_family"]["blocked"]
    assert not sandbox.max.spec_errors and not sandbox.telegram.spec_errors


async def test_sample_directory_entries_readiness_and_metrics_on_the_one_port(
    sandbox: Sandbox, client: Client
) -> None:
    await client.say("tg_family", "/contacts")
    state = await client.until(lambda s: "(пример)" in texts(s, "tg_family"))
    shown = texts(state, "tg_family")
    assert "Юридическая консультация для семей" in shown
    assert "<b>112</b>" in shown and "8-800-2000-122" in shown, "the real national lines stay"
    for path in ("/readyz", "/metrics", "/healthz"):
        status, body, _ = await client.fetch(path)
        assert status == 200, (path, body[:300])
    assert b"# TYPE" in (await client.fetch("/metrics"))[1]


async def test_samples_are_added_once_and_reset_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def names(reset: bool, add: str | None = None) -> list[str]:
        box = Sandbox(host="127.0.0.1", port=0, workdir=tmp_path, reset=reset)
        await box.start()
        try:
            assert box.app is not None and box.app.db is not None
            async with box.app.db.uow() as uow:
                if add:
                    await uow.resources.save(None, {"name_ru": add})
                return [r.name_ru for r in await uow.resources.all()]
        finally:
            await box.stop()

    first = await names(reset=False, add="Своя запись")
    assert first[-1] == "Своя запись" and sum("(пример)" in n for n in first) == 3
    assert await names(reset=False) == first, "an admin's entry stays, no sample is added twice"
    assert first[0] == "Единый номер экстренных служб", "the shipped national lines come first"
    again = await names(reset=True)
    assert again == first[:-1]
