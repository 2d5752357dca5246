"""The coordinators' inbox, end to end: /open and /mine in a Telegram supergroup (links to the
cards, pages with buttons) and in a VK conversation (no links: a button makes the bot answer the card)."""

from __future__ import annotations

import re

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkChat, VkEmulator
from tests.desk_support import bot_messages, group_says
from tests.e2e import GROUP, cards, introduce, make_tickets, press, settled
from tests.vk_desk import says, tap, vk_cards

OLGA = 201


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+)", html)]


async def test_open_lists_urgent_then_oldest_with_links_and_pages(
    emulator: TelegramEmulator, desk_app: Application
) -> None:
    ids = await make_tickets(desk_app, 11, urgent_every=5)  # 0, 5 and 10 are urgent
    await emulator.wait_for(lambda: len(cards(emulator)) == 11, timeout=15)
    await settled(desk_app)
    card_of = {numbers(c.text or "")[0]: c.message_id for c in cards(emulator)}

    [listing] = await group_says(emulator, OLGA, "/open")
    html = listing.params["text"]
    expected = [ids[0], ids[5], ids[10], ids[1], ids[2], ids[3], ids[4], ids[6]]
    assert numbers(html) == expected, html
    assert "Страница 1 из 2" in html and "11" in html
    for n in expected:
        assert f'<a href="https://t.me/c/1000000001/{card_of[n]}">#{n}</a>' in html
    assert html.count("🆘") == 3 and "гуманитарная помощь" in html
    assert "семья" not in html, "no family's story in the list"
    assert [t for t, _d in emulator.buttons(listing)] == ["▶️"], "links: no jump buttons needed"

    await press(emulator, OLGA, listing, emulator.button_data(listing, "▶️"))
    await emulator.wait_for(lambda: listing.edits > 0)
    assert numbers(listing.params["text"]) == [ids[7], ids[8], ids[9]]
    assert [t for t, _d in emulator.buttons(listing)] == ["◀️"]
    await press(emulator, OLGA, listing, emulator.button_data(listing, "◀️"))
    await emulator.wait_for(lambda: listing.edits > 1)
    assert numbers(listing.params["text"]) == expected


async def test_mine_lists_only_the_callers_own(emulator: TelegramEmulator, desk_app: Application) -> None:
    introduce(emulator, OLGA, "Ольга")
    introduce(emulator, 202, "Пётр")
    ids = await make_tickets(desk_app, 4)
    await emulator.wait_for(lambda: len(cards(emulator)) == 4)
    await settled(desk_app)
    by_number = {numbers(c.text or "")[0]: c for c in cards(emulator)}
    await press(emulator, OLGA, by_number[ids[2]], f"d:tk:claim.{ids[2]}")
    await press(emulator, OLGA, by_number[ids[0]], f"d:tk:claim.{ids[0]}")
    await press(emulator, 202, by_number[ids[1]], f"d:tk:claim.{ids[1]}")

    [mine] = await group_says(emulator, OLGA, "/mine")
    assert numbers(mine.params["text"]) == [ids[0], ids[2]]
    assert "Ольга" in mine.params["text"] and "Пётр" not in mine.params["text"]
    [theirs] = await group_says(emulator, 202, "/mine", name="Пётр")
    assert numbers(theirs.params["text"]) == [ids[1]]
    [everyone] = await group_says(emulator, 203, "/open", name="Ирина")
    assert numbers(everyone.params["text"]) == ids
    assert "пока никто" in everyone.params["text"]
    [nothing] = await group_says(emulator, 203, "/mine", name="Ирина")
    assert "нет открытых заявок" in (nothing.text or "")
    assert all(m.chat_id == GROUP for m in bot_messages(emulator))


async def test_in_a_vk_conversation_a_button_answers_the_card(
    vk: VkEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    anna = vk.member(vk_chat, 9501, first_name="Анна")
    ids = await make_tickets(vk_desk, 3, urgent_every=2)  # 0 and 2 are urgent
    await vk.wait_for(lambda: len(vk_cards(vk, vk_chat.peer_id)) == 3)
    await settled(vk_desk)
    [listing] = await says(vk, anna, "/open")
    assert numbers(listing.text) == [ids[0], ids[2], ids[1]]
    assert "t.me" not in listing.text and "семья" not in listing.text
    labels = [b["label"] for b in listing.buttons()]
    assert labels == [f"📍 #{n}" for n in (ids[0], ids[2], ids[1])]

    card = next(c for c in vk_cards(vk, vk_chat.peer_id) if f"#{ids[1]}" in c.text)
    before = len(vk.sent_to(vk_chat.peer_id))
    await tap(vk, anna, listing, f":go.{ids[1]}")
    await vk.wait_for(lambda: len(vk.sent_to(vk_chat.peer_id)) > before)
    answer = vk.sent_to(vk_chat.peer_id)[-1]
    assert f"#{ids[1]}" in answer.text and answer.reply_to == card.message_id
