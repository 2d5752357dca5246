"""MAX next to Telegram in one process: a MAX family with Telegram coordinators, a Telegram family
with a MAX coordinators' chat, and relay both ways across the two."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.max import files as max_files
from bot.sandbox.max.emulator import MaxEmulator, MaxMessage
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.e2e import GROUP, HandledUpdates, Parent, cards, introduce, press, settled
from tests.flows_support import ASSIGNEE, OTHER, group_says, ticket
from tests.max_e2e import MAX_GROUP, MaxParent, start_max_app

COORDINATOR, COLLEAGUE = 9101, 9102


@pytest.fixture
async def tg_desk(
    max_emu: MaxEmulator, emulator: TelegramEmulator, db_url: str
) -> AsyncIterator[Application]:
    app = await start_max_app(max_emu, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}")
    yield app
    await app.stop()


@pytest.fixture
async def max_desk(
    max_emu: MaxEmulator, emulator: TelegramEmulator, db_url: str
) -> AsyncIterator[Application]:
    app = await start_max_app(max_emu, db_url, telegram=emulator, coordinator_chat=f"max:{MAX_GROUP}")
    yield app
    await app.stop()


def max_cards(emu: MaxEmulator) -> list[MaxMessage]:
    return [m for m in emu.in_chat(MAX_GROUP) if any("claim" in str(b.get("payload")) for b in m.buttons())]


def button(message: MaxMessage, part: str) -> str:
    return next(str(b["payload"]) for b in message.buttons() if part in str(b.get("payload")))


async def test_a_max_family_and_telegram_coordinators(
    max_emu: MaxEmulator, emulator: TelegramEmulator, tg_desk: Application
) -> None:
    family = MaxParent(emu=max_emu, handled=HandledUpdates(tg_desk), user=max_emu.user(8501))
    introduce(emulator, ASSIGNEE, "Анна")
    introduce(emulator, OTHER, "Борис")
    await family.start()
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Бывший муж не платит алименты")
    await family.send(family.user.photo(3))
    await family.walk("done", "chat", "send")

    # The card reaches the Telegram group, and the MAX photo follows it (Telegram fetches it by its link).
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(tg_desk)
    [card] = cards(emulator)
    assert "алименты" in (card.text or "")
    sent = [c.params for c in emulator.calls if c.method.lower() == "sendphoto"]
    assert [p["photo"] for p in sent] == ["https://i.max.test/3.jpg"]

    # A coordinator takes it: the family on MAX is told.
    told = len(family.messages())
    answer = await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    assert "ваша" in answer["text"]
    await max_emu.wait_for(lambda: any("Координатор" in m.text for m in family.messages()[told:]))

    # The family writes: their words reach the thread.
    replies = await family.say("Здравствуйте! Когда вы позвоните?")
    assert "Передано" in family.texts(replies)
    await emulator.wait_for(
        lambda: any("Когда вы позвоните" in (m.text or "") for m in emulator.sent_to(GROUP))
    )
    await settled(tg_desk)
    in_group = next(m for m in emulator.sent_to(GROUP) if "Когда вы позвоните" in (m.text or ""))
    question = [m for m in max_emu.in_dialog(family.user.user_id) if not m.from_bot][-1]

    # The assignee answers in the thread: the text reaches MAX as a reply to the family's question.
    await group_says(emulator, tg_desk, ASSIGNEE, "Добрый вечер! Позвоню завтра в 10.", in_group.message_id)
    await max_emu.wait_for(
        lambda: any(m.text == "Добрый вечер! Позвоню завтра в 10." for m in family.messages())
    )
    to_family = next(m for m in family.messages() if m.text == "Добрый вечер! Позвоню завтра в 10.")
    assert to_family.reply_to == question.mid
    assert "Анна" not in to_family.text, "coordinators stay anonymous"

    # Quick exit on MAX removes the coordinator's message from the family's phone too.
    await family.say("/erase")
    await max_emu.wait_for(lambda: to_family.deleted)
    assert (await ticket(tg_desk)).status == "claimed"
    # An answer to a message the family has deleted still reaches them, on its own.
    await group_says(emulator, tg_desk, ASSIGNEE, "Вы здесь?", in_group.message_id)
    await max_emu.wait_for(lambda: any(m.text == "Вы здесь?" and not m.deleted for m in family.messages()))


async def test_a_telegram_family_and_a_max_coordinators_chat(
    max_emu: MaxEmulator, emulator: TelegramEmulator, max_desk: Application
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(max_desk), user_id=5201)
    anna = max_emu.user(COORDINATOR, name="Анна")
    boris = max_emu.user(COLLEAGUE, name="Борис")
    await family.say("/start")
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Нужен юрист <срочно>")
    await family.walk("done", "chat", "send")

    # The card reaches the MAX group chat with callback buttons; the family's text is escaped.
    await max_emu.wait_for(lambda: bool(max_cards(max_emu)))
    await settled(max_desk)
    [card] = max_cards(max_emu)
    assert "юрист &lt;срочно&gt;" in card.text
    assert "+7" not in card.text, "the phone is never shown to the group"

    # Two coordinators press "take it": one wins, the family on Telegram is told.
    claim = button(card, "claim")
    await boris.press(card, claim)
    await max_emu.wait_for(lambda: len(max_emu.answers) >= 1)
    await max_emu.wait_for(lambda: card.edits >= 1)
    assert "Борис" in card.text and not any("claim" in str(b.get("payload")) for b in card.buttons())
    await anna.press(card, claim)  # the old button, pressed late
    await max_emu.wait_for(lambda: len(max_emu.answers) >= 2)
    current = await ticket(max_desk)
    assert current.status == "claimed" and current.assignee == f"max:{COLLEAGUE}"
    await emulator.wait_for(
        lambda: any("Координатор" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )

    # The family writes: the text reaches the MAX chat, as a message of the bot.
    await family.say("Когда вы позвоните?")
    await max_emu.wait_for(lambda: any("Когда вы позвоните" in m.text for m in max_emu.in_chat(MAX_GROUP)))
    await settled(max_desk)
    in_chat = next(m for m in max_emu.in_chat(MAX_GROUP) if "Когда вы позвоните" in m.text)
    assert in_chat.from_bot

    # The assignee replies to it in MAX: the family on Telegram gets it; another coordinator's stays.
    await anna.write("Я не беру эту заявку", chat_id=MAX_GROUP, reply_to=in_chat.mid)
    await boris.write("Позвоню завтра в 10.", chat_id=MAX_GROUP, reply_to=in_chat.mid)
    await emulator.wait_for(
        lambda: any("Позвоню завтра в 10." in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    assert not any("Я не беру" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    assert not any(
        "Борис" in (m.text or "") for m in emulator.sent_to(family.chat_id) if "10." in (m.text or "")
    )


async def test_a_max_family_and_a_max_coordinators_chat(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_app(max_emu, db_url, coordinator_chat=f"max:{MAX_GROUP}")
    try:
        family = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8601))
        coordinator = max_emu.user(COORDINATOR, name="Анна")
        await family.start()
        await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
        await family.say("Нужна консультация")
        await family.walk("done", "chat", "send")
        await max_emu.wait_for(lambda: bool(max_cards(max_emu)))
        [card] = max_cards(max_emu)
        await coordinator.press(card, button(card, "claim"))
        await max_emu.wait_for(lambda: any("Координатор взял" in m.text for m in family.messages()))
        # MAX to MAX: the family's photo is sent anew by its token (a forward would show who sent it).
        await family.send(family.user.photo(5), text="вот справка")
        await max_emu.wait_for(
            lambda: any(
                f.get("payload", {}).get("token") == "photo-5"
                for m in max_emu.in_chat(MAX_GROUP)
                for f in m.files()
            )
        )
        copy = next(m for m in max_emu.in_chat(MAX_GROUP) if m.files())
        assert copy.from_bot and copy.text == "вот справка"
        await coordinator.write("Получили, спасибо", chat_id=MAX_GROUP, reply_to=copy.mid)
        await max_emu.wait_for(lambda: any(m.text == "Получили, спасибо" for m in family.messages()))
        # A file from the coordinator reaches the family too, sent anew by its token.
        await coordinator.write("", attachments=[coordinator.photo(6)], chat_id=MAX_GROUP, reply_to=copy.mid)
        await max_emu.wait_for(
            lambda: any(f["payload"]["token"] == "photo-6" for m in family.messages() for f in m.files())
        )
        # The assignee closes it with an outcome: the card says so, the family is told in plain words.
        await coordinator.press(card, button(card, "close"))
        await max_emu.wait_for(lambda: any("oc-helped" in str(b.get("payload")) for b in card.buttons()))
        await coordinator.press(card, button(card, "oc-helped"))
        await max_emu.wait_for(lambda: "Анна" in card.text and "🔒" in card.text)
        assert (await ticket(app)).status == "closed"
        await max_emu.wait_for(lambda: any("помощь" in m.text for m in family.messages()[-2:]))
    finally:
        await app.stop()


async def test_files_cross_between_telegram_coordinators_and_a_max_family(
    max_emu: MaxEmulator, emulator: TelegramEmulator, tg_desk: Application
) -> None:
    family = MaxParent(emu=max_emu, handled=HandledUpdates(tg_desk), user=max_emu.user(8502))
    introduce(emulator, ASSIGNEE, "Анна")
    await family.start()
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Нужна помощь с документами")
    await family.walk("done", "chat", "send")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(tg_desk)
    [card] = cards(emulator)
    await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    # A document the family attaches (kept at MAX's link) reaches the Telegram thread.
    scan = family.user.file("справка.pdf", b"%PDF-1.4 family scan")
    await family.send(scan, text="Вот справка")
    await emulator.wait_for(lambda: any(m.raw.get("document") for m in emulator.sent_to(GROUP)))
    await settled(tg_desk)
    in_group = next(m for m in emulator.sent_to(GROUP) if "Вот справка" in (m.text or ""))

    # The coordinator answers with a photo and a document: downloaded from Telegram, uploaded through
    # MAX's /uploads, and sent to the family as MAX attachments (a photo, a file with its name).
    for photo in (True, False):
        emulator.message(
            ASSIGNEE,
            None,
            chat_id=GROUP,
            chat_type="supergroup",
            reply_to_message_id=in_group.message_id,
            photo=photo,
            document=not photo,
        )
    await max_emu.wait_for(lambda: len([f for m in family.messages() for f in m.files()]) == 2)
    document, image = sorted((f for m in family.messages() for f in m.files()), key=lambda f: f["type"])
    assert image["type"] == "image" and document["type"] == "file"
    assert document.get("filename") and document["size"] > 0
    uploads = [max_emu.uploads[f["payload"]["token"]] for f in (image, document)]
    assert [u.kind for u in uploads] == ["image", "file"]
    assert all(b"emulated content of" in u.data for u in uploads), "the bytes Telegram gave"
    assert sorted(c[2]["type"] for c in max_emu.calls if c[1] == "/uploads") == ["file", "image"]
    assert not any("мессенджер" in (m.text or "") for m in emulator.sent_to(GROUP)), "no refusal"


async def test_a_max_coordinators_chat_relays_files_to_a_telegram_family(
    max_emu: MaxEmulator,
    emulator: TelegramEmulator,
    max_desk: Application,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(max_desk), user_id=5202)
    anna = max_emu.user(COORDINATOR, name="Анна")
    await family.say("/start")
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Нужен юрист")
    await family.walk("done", "chat", "send")
    await max_emu.wait_for(lambda: bool(max_cards(max_emu)))
    await settled(max_desk)
    [card] = max_cards(max_emu)
    await anna.press(card, button(card, "claim"))
    await emulator.wait_for(
        lambda: any("Координатор" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    await family.say("Что нужно принести?")
    await max_emu.wait_for(lambda: any("принести" in m.text for m in max_emu.in_chat(MAX_GROUP)))
    await settled(max_desk)
    in_chat = next(m for m in max_emu.in_chat(MAX_GROUP) if "принести" in m.text)

    # A document and a photo from the MAX chat: downloaded by their links, uploaded to Telegram.
    form = anna.file("заявление.docx", b"PK\x03\x04 form to fill")
    await anna.write("Заполните, пожалуйста", attachments=[form], chat_id=MAX_GROUP, reply_to=in_chat.mid)
    sample = anna.file("образец.jpg", b"\xff\xd8\xff sample", kind="image")
    await anna.write("", attachments=[sample], chat_id=MAX_GROUP, reply_to=in_chat.mid)
    await emulator.wait_for(
        lambda: {"photo", "document"} <= {k for m in emulator.sent_to(family.chat_id) for k in m.raw}
    )
    got = [m.raw for m in emulator.sent_to(family.chat_id) if m.raw.get("document") or m.raw.get("photo")]
    document = next(m["document"] for m in got if m.get("document"))
    assert emulator.files[document["file_id"]] == b"PK\x03\x04 form to fill"
    assert document.get("file_name") == "заявление.docx"
    photo = next(m["photo"] for m in got if m.get("photo"))
    assert emulator.files[photo[-1]["file_id"]] == b"\xff\xd8\xff sample"
    assert any("Заполните" in (m.text or "") for m in emulator.sent_to(family.chat_id))

    # A file bigger than we read from MAX: nothing reaches the family, the coordinator is told.
    monkeypatch.setattr(max_files, "DOWNLOAD_MB", 1)
    count = len(emulator.sent_to(family.chat_id))
    big = anna.file("big.pdf", b"0" * (2 * 1024 * 1024))
    await anna.write("", attachments=[big], chat_id=MAX_GROUP, reply_to=in_chat.mid)
    await max_emu.wait_for(lambda: any("1 МБ" in m.text for m in max_emu.in_chat(MAX_GROUP)))
    assert len(emulator.sent_to(family.chat_id)) == count
