"""/resource in a ticket's thread, end to end on Telegram: the assignee finds a resource of the
directory and its card reaches the family; anyone else is refused."""

from __future__ import annotations

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.e2e import GROUP, Parent, cards, introduce, press, settled

ASSIGNEE, OTHER = 111, 112


async def test_the_assignee_sends_a_resource_card_to_the_family(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        await uow.resources.save(
            None,
            {
                "name_ru": "Юристы Петербурга",
                "about_ru": "алименты, жильё",
                "regions": ["spb"],
                "phone": "+7 812 000",
            },
        )
        await uow.resources.save(None, {"name_ru": "Юристы Москвы", "regions": ["msk"]})
        await uow.resources.save(None, {"name_ru": "Психологи Петербурга", "regions": ["spb"]})
    introduce(emulator, ASSIGNEE, "Анна")
    introduce(emulator, OTHER, "Борис")
    await family.say("/start")
    await family.tap_value("yes")
    await family.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")
    await family.say("Бывший муж не платит алименты")
    await family.walk("done", "chat", "send")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(desk_app)
    [card] = cards(emulator)

    async def says(user_id: int, text: str) -> str:
        before = len(emulator.sent_to(GROUP))
        emulator.message(
            user_id, text, chat_id=GROUP, chat_type="supergroup", reply_to_message_id=card.message_id
        )
        await emulator.wait_for(lambda: len(emulator.sent_to(GROUP)) > before)
        return emulator.sent_to(GROUP)[-1].text or ""

    assert "взял заявку" in await says(ASSIGNEE, "/resource юрист")  # not taken yet: refused
    await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    await settled(desk_app)
    assert "ничего не нашлось" in await says(ASSIGNEE, "/resource астролог")
    several = await says(ASSIGNEE, "/resource петербург")
    assert "Юристы Петербурга" in several and "Психологи Петербурга" in several
    assert "только координатор" in await says(OTHER, "/resource юрист")
    # "юрист" fits two, but only one serves the family's region: that one is sent.
    sent = await says(ASSIGNEE, "/resource юрист")
    assert "Юристы Петербурга" in sent
    await emulator.wait_for(
        lambda: any("Юристы Петербурга" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    [to_family] = [m for m in emulator.sent_to(family.chat_id) if "Юристы Петербурга" in (m.text or "")]
    assert "+7 812 000" in (to_family.text or "") and "Москвы" not in (to_family.text or "")
