"""Both transports in one process: a family on VK, coordinators in a Telegram group."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from tests.e2e import GROUP, HandledUpdates, Parent, cards, introduce, press, settled
from tests.flows_support import ASSIGNEE, OTHER, group_says, ticket
from tests.vk_e2e import VkParent, start_vk_app


@pytest.fixture
async def both(vk: VkEmulator, emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_vk_app(vk, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}")
    yield app
    await app.stop()


def group_calls(emulator: TelegramEmulator, method: str) -> list[dict[str, object]]:
    return [
        c.params
        for c in emulator.calls
        if c.method.lower() == method.lower() and c.params.get("chat_id") == GROUP
    ]


async def test_a_vk_family_and_telegram_coordinators(
    vk: VkEmulator, emulator: TelegramEmulator, both: Application
) -> None:
    family = VkParent(vk=vk, handled=HandledUpdates(both), user=vk.user(7501))
    introduce(emulator, ASSIGNEE, "Анна")
    introduce(emulator, OTHER, "Борис")
    await family.start()
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Бывший муж не платит алименты")
    photo = family.user.photo()
    await family.send(photo)
    await family.walk("done", "chat", "send")

    # The card reaches the Telegram group, and the VK photo follows it (Telegram fetches it by its link).
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(both)
    [card] = cards(emulator)
    assert "алименты" in (card.text or "")
    [sent_photo] = group_calls(emulator, "sendPhoto")
    biggest = max(photo["photo"]["sizes"], key=lambda s: s["width"] * s["height"])
    assert sent_photo["photo"] == biggest["url"]

    # A coordinator takes it: the family on VK is told.
    told = len(family.messages())
    answer = await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    assert "ваша" in answer["text"]
    await vk.wait_for(lambda: any("Координатор" in m.text for m in family.messages()[told:]))

    # The family writes: their words reach the thread (as a message of the bot, the text in it).
    replies = await family.say("Здравствуйте! Когда вы позвоните?")
    assert "Передано" in family.texts(replies)
    await emulator.wait_for(
        lambda: any("Когда вы позвоните" in (m.text or "") for m in emulator.sent_to(GROUP))
    )
    await settled(both)
    in_group = next(m for m in emulator.sent_to(GROUP) if "Когда вы позвоните" in (m.text or ""))
    family_question = [m for m in vk.history[family.peer_id] if not m.from_bot][-1]

    # The assignee answers in the thread: the text reaches VK, as a reply to the family's question.
    await group_says(emulator, both, ASSIGNEE, "Добрый вечер! Позвоню завтра в 10.", in_group.message_id)
    await vk.wait_for(lambda: any(m.text == "Добрый вечер! Позвоню завтра в 10." for m in family.messages()))
    to_family = next(m for m in family.messages() if m.text == "Добрый вечер! Позвоню завтра в 10.")
    assert to_family.reply_to == family_question.message_id
    assert "Анна" not in to_family.text, "coordinators stay anonymous"

    # Files cross to VK: downloaded from Telegram, uploaded through VK's upload flow, sent to the family.
    await group_says(emulator, both, ASSIGNEE, None, in_group.message_id, document=True)
    await vk.wait_for(lambda: any((m.attachment or "").startswith("doc-77_") for m in family.messages()))
    emulator.message(
        ASSIGNEE,
        None,
        chat_id=GROUP,
        chat_type="supergroup",
        reply_to_message_id=in_group.message_id,
        photo=True,
    )
    await vk.wait_for(lambda: any((m.attachment or "").startswith("photo-77_") for m in family.messages()))
    # A voice message goes as a document (VK has no way to upload a voice message for a bot).
    emulator.message(
        ASSIGNEE,
        None,
        chat_id=GROUP,
        chat_type="supergroup",
        reply_to_message_id=in_group.message_id,
        voice=True,
    )
    await vk.wait_for(lambda: sum((m.attachment or "").startswith("doc-77_") for m in family.messages()) == 2)
    uploads = list(vk.uploaded.values())
    assert [u.kind for u in uploads] == ["doc", "photo", "doc"]
    assert all(u.peer_id == family.peer_id and u.data for u in uploads)
    assert not any("мессенджер" in (m.text or "") for m in emulator.sent_to(GROUP)), "no refusal"
    # A file over the 20 MB Telegram lets a bot download: the coordinator is told the limit, kindly.
    count = len(family.messages())
    emulator.fail_next("getFile", error_code=400, description="Bad Request: file is too big")
    await group_says(emulator, both, ASSIGNEE, None, in_group.message_id, document=True)
    await emulator.wait_for(lambda: any("20 МБ" in (m.text or "") for m in emulator.sent_to(GROUP)))
    assert len(family.messages()) == count

    # Quick exit on VK removes the coordinator's message from the family's phone too.
    await family.say("/erase")
    await vk.wait_for(lambda: next(m for m in family.messages() if m.cmid == to_family.cmid).deleted)
    current = await ticket(both)
    assert current.status == "claimed"
    # An answer to a message the family has deleted still reaches them, on its own.
    await group_says(emulator, both, ASSIGNEE, "Вы здесь?", in_group.message_id)
    await vk.wait_for(lambda: any(m.text == "Вы здесь?" and not m.deleted for m in family.messages()))


async def test_a_telegram_family_still_works_next_to_vk(
    vk: VkEmulator, emulator: TelegramEmulator, both: Application
) -> None:
    parent = Parent(emulator=emulator, handled=HandledUpdates(both), user_id=5101)
    await parent.say("/start")
    await parent.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await parent.say("Нужен юрист")
    done = await parent.walk("done", "chat", "send")
    assert "#" in parent.texts(done)
    vk_family = VkParent(vk=vk, handled=HandledUpdates(both), user=vk.user(7502))
    replies = await vk_family.say("/sos")
    assert "112" in vk_family.texts(replies)
