"""VK conversations as coordinators' chats: a Telegram family and a VK family, cards in a VK
conversation, a claim race, relay both ways, notes, close with an outcome, forged presses."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkChat, VkEmulator
from storage.models import AuditEntry, utcnow
from tests.e2e import GROUP, HandledUpdates, Parent, cards, settled
from tests.flows_support import ticket
from tests.vk_desk import payload_of, says, tap, vk_cards, vk_request
from tests.vk_e2e import VkParent, start_vk_app

ANNA, BORIS = 9301, 9302


async def test_a_telegram_family_and_a_vk_family_in_a_vk_conversation(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    anna = vk.member(vk_chat, ANNA, first_name="Анна")
    boris = vk.member(vk_chat, BORIS, first_name="Борис")
    tg_family = Parent(emulator=emulator, handled=HandledUpdates(vk_desk), user_id=5301)
    vk_family = VkParent(vk=vk, handled=HandledUpdates(vk_desk), user=vk.user(7301))

    await tg_family.say("/start")
    await tg_family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await tg_family.say("Нужен юрист <срочно>")
    await tg_family.walk("done", "chat", "send")
    await vk_family.start()
    await vk_family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await vk_family.say("Бывший муж не платит алименты")
    await vk_family.walk("done", "chat", "send")

    # Both cards reach the VK conversation, with callback buttons in one inline keyboard each.
    await vk.wait_for(lambda: len(vk_cards(vk, vk_chat.peer_id)) == 2)
    await settled(vk_desk)
    tg_card, vk_card = vk_cards(vk, vk_chat.peer_id)
    assert "юрист <срочно>" in tg_card.text and "алименты" in vk_card.text
    assert tg_card.keyboard is not None and tg_card.keyboard["inline"]
    assert all(b["type"] == "callback" for b in tg_card.buttons())
    assert "+7" not in tg_card.text, "the phone is never shown to the group"

    # Two coordinators press "take it": one wins, the card is edited in place, the family is told.
    won = await tap(vk, boris, vk_card, ":claim")
    assert "ваша" in json.loads(won["event_data"])["text"]
    await vk.wait_for(lambda: vk_card.edited)
    assert "Борис" in vk_card.text and not any(":claim" in str(b["payload"]) for b in vk_card.buttons())
    late = await tap(vk, anna, tg_card, ":claim")
    assert json.loads(late["event_data"])["type"] == "show_snackbar"
    await vk.wait_for(lambda: tg_card.edited)
    stale = vk.find(vk_chat.peer_id, cmid=vk_card.cmid)
    assert stale.edited
    await vk.wait_for(lambda: any("Координатор" in m.text for m in vk_family.messages()))
    current = await ticket(vk_desk)
    assert current.assignee in {f"vk:{BORIS}", f"vk:{ANNA}"}

    # No phone was given (the family chose the chat): the card offers none.
    assert not any(":phone" in str(b["payload"]) for b in tg_card.buttons())

    # The Telegram family writes: their words come into the conversation as a reply to the card.
    await tg_family.say("Когда вы позвоните?")
    await vk.wait_for(lambda: any("Когда вы позвоните" in m.text for m in vk.sent_to(vk_chat.peer_id)))
    await settled(vk_desk)
    question = next(m for m in vk.sent_to(vk_chat.peer_id) if "Когда вы позвоните" in m.text)
    assert question.reply_to == tg_card.message_id

    # The family's photo follows, uploaded to VK from Telegram; Anna's photo reaches the family.
    await tg_family.send(photo=True)
    await vk.wait_for(
        lambda: any((m.attachment or "").startswith("photo-77_") for m in vk.sent_to(vk_chat.peer_id))
    )
    assert [u.peer_id for u in vk.uploaded.values()] == [vk_chat.peer_id]
    sent_photos = len([c for c in emulator.calls if c.method.lower() == "sendphoto"])
    await anna.write("", attachments=[anna.photo()], reply_to=question.cmid)
    await emulator.wait_for(
        lambda: len([c for c in emulator.calls if c.method.lower() == "sendphoto"]) > sent_photos
    )
    assert any(
        m.method.lower() == "sendphoto" and "photo" in m.raw for m in emulator.sent_to(tg_family.chat_id)
    )

    # Another coordinator's reply stays internal, once told; a /note says nothing; the assignee's goes.
    notice = await says(vk, boris, "Я могу помочь", reply_to=question.cmid)
    assert "остаётся в группе" in notice[0].text or "группе" in notice[0].text
    await anna.write("/note позвонить вечером", reply_to=question.cmid)
    await anna.write("Позвоню завтра в 10.", reply_to=question.cmid)
    await emulator.wait_for(
        lambda: any("Позвоню завтра в 10." in (m.text or "") for m in emulator.sent_to(tg_family.chat_id))
    )
    family_texts = [m.text or "" for m in emulator.sent_to(tg_family.chat_id)]
    assert not any("Я могу помочь" in t or "позвонить вечером" in t for t in family_texts)

    # The VK family writes to Boris's card; Boris answers with a photo: VK to VK, sent anew.
    await vk_family.say("Спасибо, жду")
    await vk.wait_for(lambda: any("жду" in m.text for m in vk.sent_to(vk_chat.peer_id)))
    await settled(vk_desk)
    in_chat = next(m for m in vk.sent_to(vk_chat.peer_id) if "жду" in m.text)
    assert in_chat.reply_to == vk_card.message_id
    await boris.write("Вот памятка", attachments=[boris.photo()], reply_to=in_chat.cmid)
    await vk.wait_for(lambda: any(m.text == "Вот памятка" and m.attachment for m in vk_family.messages()))

    # Close with an outcome: the card says so, the family is told.
    await tap(vk, anna, tg_card, ":close")
    await vk.wait_for(lambda: any("oc-helped" in str(b["payload"]) for b in tg_card.buttons()))
    await tap(vk, anna, tg_card, "oc-helped")
    await vk.wait_for(lambda: "🔒" in tg_card.text)
    await emulator.wait_for(
        lambda: any("закрыт" in (m.text or "") for m in emulator.sent_to(tg_family.chat_id))
    )
    assert vk.unanswered_events() == []
    vk.assert_no_spec_errors()


async def test_forged_presses_are_refused(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    anna = vk.member(vk_chat, ANNA, first_name="Анна")
    family, card = await vk_request(vk, vk_desk, vk_chat, 7302, "Нужна помощь")
    claim = payload_of(card, ":claim")

    # A payload for another ticket, and a card's press from the family's own dialog: nothing changes.
    other = claim.rsplit(".", 1)[0] + '.99999"'
    await anna.press_payload(other, cmid=card.cmid)
    await family.user.press_payload(claim, cmid=family.messages()[-1].cmid)
    # A stranger's conversation the bot was never bound to.
    elsewhere = vk.add_chat("Чужая беседа")
    stranger = vk.member(elsewhere, 9399)
    await stranger.write("hello")
    await stranger.press_payload(claim, cmid=1)
    await vk.wait_for(lambda: not vk.unanswered_events())
    assert (await ticket(vk_desk)).status == "new"
    assert not card.edited


async def test_a_transfer_from_a_vk_conversation_to_a_telegram_group(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    assert vk_desk.db is not None
    async with vk_desk.db.uow() as uow:
        await uow.bindings.add(f"tg:{GROUP}", None, "humanitarian", "tg:1")
    anna = vk.member(vk_chat, ANNA, first_name="Анна")
    _, card = await vk_request(vk, vk_desk, vk_chat, 7303, "Нужны продукты, а не юрист")
    await tap(vk, anna, card, ":claim")
    await tap(vk, anna, card, ":transfer")
    await vk.wait_for(lambda: any(":trc-humanitarian" in str(b["payload"]) for b in card.buttons()))
    await tap(vk, anna, card, ":trc-humanitarian")
    # A page of regions outgrows one inline keyboard: the card keeps the first part, the rest follows.
    await vk.wait_for(lambda: any("same" in str(b["payload"]) for b in card.buttons()))
    rest = [m for m in vk.sent_to(vk_chat.peer_id) if m.reply_to == card.message_id and m.buttons()]
    assert rest and all(m.keyboard is not None and m.keyboard["inline"] for m in rest)
    await tap(vk, anna, card, "same")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await vk.wait_for(lambda: not card.buttons() and "🔀" in card.text)
    assert (await ticket(vk_desk)).chat == f"tg:{GROUP}"
    vk.assert_no_spec_errors()


async def test_the_phone_is_shown_to_the_assignee_only(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    anna = vk.member(vk_chat, ANNA, first_name="Анна")
    boris = vk.member(vk_chat, BORIS, first_name="Борис")
    family = VkParent(vk=vk, handled=HandledUpdates(vk_desk), user=vk.user(7304))
    await family.start()
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Позвоните мне, пожалуйста")
    await family.walk("done", "phone")
    await family.say("+79005554433")
    await family.walk("send")
    await vk.wait_for(lambda: bool(vk_cards(vk, vk_chat.peer_id)))
    await settled(vk_desk)
    [card] = vk_cards(vk, vk_chat.peer_id)
    assert "5554433" not in card.text
    await tap(vk, anna, card, ":claim")
    await vk.wait_for(lambda: any(":phone" in str(b["payload"]) for b in card.buttons()))
    seen = json.loads((await tap(vk, anna, card, ":phone"))["event_data"])
    assert seen["type"] == "show_snackbar" and "5554433" in seen["text"]
    refused = await tap(vk, boris, card, ":phone")
    assert "5554433" not in refused.get("event_data", "")
    assert not any("5554433" in m.text for m in vk.sent_to(vk_chat.peer_id))


async def test_sla_reannounces_in_the_vk_conversation_and_nudges_the_assignee(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, db_url: str
) -> None:
    app = await start_vk_app(
        vk,
        db_url,
        telegram=emulator,
        coordinator_chat=f"vk:{vk_chat.peer_id}",
        admin_ids="tg:900",
        claim_sla="2h",
        claim_sla_urgent="15m",
    )
    try:
        anna = vk.member(vk_chat, ANNA, first_name="Анна")
        family = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7309))
        await family.start()
        await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
        await family.say("Нужна помощь с документами")
        await family.walk("done", "chat", "send")
        await vk.wait_for(lambda: bool(vk_cards(vk, vk_chat.peer_id)))
        await settled(app)
        sla = app.sla
        assert sla is not None
        start = utcnow()
        sla._clock = lambda: start + timedelta(hours=3)
        assert await sla.tick() == 2, "re-announced in the VK conversation, and the admin alerted"
        assert await sla.tick() == 0, "once per period"
        assert [m for m in vk.sent_to(vk_chat.peer_id) if "ждёт координатора" in (m.text or "")]
        assert [m for m in emulator.sent_to(900) if "никто не взял" in (m.text or "")]

        [card] = vk_cards(vk, vk_chat.peer_id)
        await tap(vk, anna, card, ":claim")
        await family.say("Вы здесь?")
        await settled(app)
        assert app.followups is not None
        await app.followups.run_once(start + timedelta(hours=28))
        nudges = [m.text for m in vk.sent_to(vk_chat.peer_id) if "семья по заявке" in (m.text or "")]
        assert nudges and "Анна" in nudges[-1], [m.text for m in vk.sent_to(vk_chat.peer_id)][-3:]
        assert app.db is not None
        async with app.db.uow() as uow:
            actions = {e.action for e in (await uow.session.scalars(select(AuditEntry))).all()}
        assert {"claim", "sla_reannounce", "sla_nudge", "card_posted"} <= actions, (
            "the audit log, as on Telegram"
        )
    finally:
        await app.stop()
