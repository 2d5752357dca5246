"""MAX without the network: settings, chat references, rendering within MAX's limits, the spec check."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.max.render import KEYBOARD_BUTTONS, LABEL_LIMIT, MORE, attachment_request, render, to_events
from bot.sandbox.max import spec as spec_max
from dialogs.primitives import Button, EventKind, Payload, Screen
from dialogs.state import Attachment
from handlers.pacer import Limit, PriorityPacer
from storage.vocabulary import AttachmentKind, ChatKind, ChatRef, Platform


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "BOT_TOKEN",
        "VK_TOKEN",
        "VK_GROUP_ID",
        "MAX_TOKEN",
        "MAX_API_URL",
        "ADMIN_IDS",
        "COORDINATOR_CHAT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_max_alone_is_enough_and_takes_max_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_TOKEN", " secret-max ")
    monkeypatch.setenv("ADMIN_IDS", "max:789, tg:1")
    monkeypatch.setenv("COORDINATOR_CHAT", "max:-7012345")
    settings = load_settings()
    assert settings.platforms == (Platform.MAX,)
    assert settings.max_api_url == "https://platform-api.max.ru"
    assert settings.admins == ("max:789", "tg:1")
    assert "secret-max" in settings.secrets()


@pytest.mark.parametrize(
    ("chat", "why"),
    [("vk:12345", "VK conversation"), ("max:7012345", "negative"), ("max:abc", "max:789")],
)
def test_coordinators_chat_on_max_must_be_a_group_and_on_vk_a_conversation(
    monkeypatch: pytest.MonkeyPatch, chat: str, why: str
) -> None:
    monkeypatch.setenv("MAX_TOKEN", "secret-max")
    monkeypatch.setenv("COORDINATOR_CHAT", chat)
    with pytest.raises(ConfigError, match=f"^COORDINATOR_CHAT: .*{why}"):
        load_settings()


def test_a_bad_max_url_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_TOKEN", "secret-max")
    monkeypatch.setenv("MAX_API_URL", "platform-api.max.ru")
    with pytest.raises(ConfigError, match=r"^MAX_API_URL: "):
        load_settings()


def test_max_chat_references_parse_back_to_their_kind() -> None:
    person, group = (
        ChatRef(Platform.MAX, 789, ChatKind.PRIVATE),
        ChatRef(Platform.MAX, -7012345, ChatKind.GROUP),
    )
    assert ChatRef.parse(person.key) == person and person.key == "max:789"
    assert ChatRef.parse(group.key) == group


def test_long_screens_are_split_and_big_keyboards_continue() -> None:
    row = tuple(Button(f"{'кнопка' * 30} {i}", Payload(step="s", value=str(i))) for i in range(20))
    screen = Screen(
        text="строка\n" * 1500, buttons=(row,) * 12, request_contact="📱 Номер", reply_buttons=("Да", "Нет")
    )
    parts = render(screen)
    texts = [p.text for p in parts]
    assert (
        all(len(t) <= 4000 for t in texts) and "".join(t for t in texts if t != MORE).count("строка") == 1500
    )
    buttons = [b for p in parts for r in p.rows for b in r]
    assert len(buttons) == 20 * 12 + 3, "nothing is cut"
    assert all(len(b["text"]) <= LABEL_LIMIT for b in buttons)
    for part in parts:
        assert sum(len(r) for r in part.rows) <= KEYBOARD_BUTTONS and len(part.rows) <= 30
        assert all(len(r) <= 7 for r in part.rows)
    contact = next(r for p in parts for r in p.rows if r[0]["type"] == "request_contact")
    assert len(contact) == 1
    assert [b["type"] for b in buttons[-2:]] == ["message", "message"]  # answers sent as the person's text
    assert parts[-1].text == MORE
    if spec_max.spec_available():
        for part in parts:
            assert (
                spec_max.check_request("POST", "/messages", {"user_id": "1"}, {**part.body(), "link": None})
                == []
            )


def test_incoming_messages_become_events() -> None:
    contact = {
        "type": "contact",
        "payload": {"vcf_info": "BEGIN:VCARD\nTEL;TYPE=cell:+7 916 000-00-01\nEND:VCARD"},
    }
    [event] = to_events({"text": "", "attachments": [contact]}, 5)
    assert event.kind is EventKind.CONTACT and event.phone == "+7 916 000-00-01"
    photo = {"type": "image", "payload": {"photo_id": 1, "token": "t1", "url": "https://x/1.jpg"}}
    doc = {"type": "file", "payload": {"token": "t2", "url": "https://x/2"}, "filename": "a.pdf", "size": 1}
    first, second = to_events({"text": "подпись", "attachments": [photo, doc]}, 5)
    assert first.attachment is not None and first.text == "подпись" and first.attachment.ref == "max:image:t1"
    assert second.attachment is not None and second.attachment.name == "a.pdf" and second.text == ""
    [sticker] = to_events({"text": None, "attachments": [{"type": "sticker", "payload": {}}]}, 5)
    assert sticker.kind is EventKind.UNSUPPORTED and sticker.what == "sticker"
    assert to_events({"text": "/start"}, 5)[0].command == "start"
    assert attachment_request(Attachment(kind=AttachmentKind.PHOTO, ref="max:image:t1")) == {
        "type": "image",
        "payload": {"token": "t1"},
    }
    assert attachment_request(Attachment(kind=AttachmentKind.PHOTO, ref="vk:photo1_2")) is None


@pytest.mark.skipif(not spec_max.spec_available(), reason="../shared/specs/max is absent")
def test_the_spec_check_catches_what_it_should() -> None:
    check = spec_max.check_request
    assert check("POST", "/messages", {"user_id": "1"}, {"text": "a", "attachments": [], "link": None}) == []
    assert check("GET", "/updates", {"marker": "5", "timeout": "1", "types": "message_created"}, None) == []
    assert check("POST", "/message", {}, None)  # no such path
    assert check("PATCH", "/messages", {}, None)  # no such method
    assert check("POST", "/messages", {"peer_id": "1"}, {"text": "a", "attachments": [], "link": None})
    assert check("POST", "/messages", {"user_id": "x"}, {"text": "a", "attachments": [], "link": None})
    assert check("DELETE", "/messages", {}, None)  # message_id is required
    assert check("POST", "/messages", {}, {"text": "a", "attachments": [], "link": None, "keyboard": 1})
    assert check("POST", "/messages", {}, {"text": "a" * 4001, "attachments": [], "link": None})
    bad_button = {"type": "inline_keyboard", "payload": {"buttons": [[{"type": "frob", "text": "x"}]]}}
    assert check("POST", "/messages", {}, {"text": "a", "attachments": [bad_button], "link": None})
    no_payload = {"type": "inline_keyboard", "payload": {"buttons": [[{"type": "callback", "text": "x"}]]}}
    assert check("POST", "/messages", {}, {"text": "a", "attachments": [no_payload], "link": None})
    assert check("POST", "/answers", {"callback_id": "c"}, {"notification": "ok"}) == []


def test_max_calls_share_one_budget_of_30_a_second() -> None:
    pacer = PriorityPacer()
    person, group = ChatRef(Platform.MAX, 789, ChatKind.PRIVATE), ChatRef(Platform.MAX, -70, ChatKind.GROUP)
    assert pacer.budgets(person) == pacer.budgets(group) == [("max:token", Limit(3, 0.1))]


def test_max_types_stay_under_bot_max() -> None:
    """Only the composition root (app.py, the jobs it registers in jobs.py and the transports it
    builds in transports.py) reaches into bot/max; handlers, dialogs and storage never name it."""
    root = Path(__file__).resolve().parents[1]
    composition = {"bot/app.py", "bot/jobs.py", "bot/transports.py"}
    for package in ("bot", "handlers", "dialogs", "storage"):
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative.startswith("bot/max/") or relative in composition:
                continue
            assert "bot.max" not in path.read_text(encoding="utf-8"), relative
