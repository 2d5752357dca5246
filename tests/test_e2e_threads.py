"""A ticket's life after the claim: relay both ways, internal notes, close and reopen, SLA, migration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from handlers.relay import GroupMessage, ThreadRelay
from storage.models import ChatMigration, Ticket, utcnow
from tests.e2e import GROUP, HandledUpdates, Parent, cards, make_tickets, press, settled, start_app
from tests.flows_support import (
    ASSIGNEE,
    OTHER,
    claimed,
    copies_to,
    finish,
    group_says,
    offer_declined,
    ticket,
)


async def test_relay_both_ways_threaded_with_media(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    card = await claimed(family, emulator, desk_app)
    replies = await family.say("Здравствуйте! Когда вы позвоните?")
    assert "Передано вашему координатору" in family.texts(replies)
    await emulator.wait_for(lambda: len(copies_to(emulator, GROUP)) == 1)
    [in_group] = copies_to(emulator, GROUP)
    assert in_group.params["reply_parameters"]["message_id"] == card.message_id
    assert in_group.text == "Здравствуйте! Когда вы позвоните?"
    await family.send(photo=True, caption="Вот справка")
    await emulator.wait_for(lambda: len(copies_to(emulator, GROUP)) == 2)
    await settled(desk_app)  # the copies are seen a moment before the worker commits their map

    # The assignee answers the family's message: it goes to the family, as a reply to their own message.
    family_question = emulator.user_messages[family.chat_id][-2]
    await group_says(emulator, desk_app, ASSIGNEE, "Добрый вечер! Позвоню завтра в 10.", in_group.message_id)
    await emulator.wait_for(lambda: len(copies_to(emulator, family.chat_id)) == 1)
    [to_family] = copies_to(emulator, family.chat_id)
    assert to_family.text == "Добрый вечер! Позвоню завтра в 10."
    assert to_family.params["reply_parameters"]["message_id"] == family_question.message_id
    assert "Анна" not in str(to_family.raw), "coordinators stay anonymous"
    await group_says(emulator, desk_app, ASSIGNEE, None, card.message_id, document=True)
    await emulator.wait_for(lambda: len(copies_to(emulator, family.chat_id)) == 2)

    # The family replies to the coordinator's message: threaded under it in the group.
    await family.send(text="Хорошо, буду ждать", reply_to_message_id=to_family.message_id)
    await emulator.wait_for(lambda: len(copies_to(emulator, GROUP)) == 3)
    coordinator_message = next(
        m for m in emulator.user_messages[GROUP] if m.text == "Добрый вечер! Позвоню завтра в 10."
    )
    assert (
        copies_to(emulator, GROUP)[-1].params["reply_parameters"]["message_id"]
        == coordinator_message.message_id
    )
    # Coordinators' messages are in the quick-exit log too: /erase removes them from the family's phone.
    await family.say("/erase")
    await emulator.wait_for(lambda: to_family.message_id in emulator.deleted.get(family.chat_id, set()))


async def test_notes_and_other_coordinators_stay_in_the_group(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    card = await claimed(family, emulator, desk_app)
    await group_says(
        emulator, desk_app, ASSIGNEE, "/note семья знакома, звонила в прошлом году", card.message_id
    )
    await group_says(emulator, desk_app, OTHER, "Я могу подменить", card.message_id)
    await emulator.wait_for(
        lambda: any("останется в группе" in (m.text or "") for m in emulator.sent_to(GROUP))
    )
    await group_says(emulator, desk_app, OTHER, "Ещё раз", card.message_id)
    await group_says(emulator, desk_app, ASSIGNEE, "Пишу семье", card.message_id)
    await emulator.wait_for(lambda: len(copies_to(emulator, family.chat_id)) == 1)
    assert [m.text for m in copies_to(emulator, family.chat_id)] == ["Пишу семье"]
    notices = [m for m in emulator.sent_to(GROUP) if "останется в группе" in (m.text or "")]
    assert len(notices) == 1, "said once"


async def test_group_says_waits_until_the_message_is_handled(
    family: Parent, emulator: TelegramEmulator, desk_app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay is held while the bot goes on polling: a wait for the polls alone (group_says's
    before) would be over long before, and "nothing relayed" would be checked too early."""
    card = await claimed(family, emulator, desk_app)
    entered, gate = asyncio.Event(), asyncio.Event()
    original = ThreadRelay.handle

    async def held(relay: ThreadRelay, message: GroupMessage) -> None:
        entered.set()
        await gate.wait()
        await original(relay, message)

    monkeypatch.setattr(ThreadRelay, "handle", held)
    polls = len(emulator.calls_of("getUpdates"))
    saying = asyncio.create_task(group_says(emulator, desk_app, ASSIGNEE, "Пишу семье", card.message_id))
    try:
        await asyncio.wait_for(entered.wait(), 10)
        await emulator.wait_for(lambda: len(emulator.calls_of("getUpdates")) >= polls + 3)
        assert not saying.done(), "group_says returned while the message was still being handled"
    finally:
        gate.set()  # or the app's stop would wait for the held relay for ever
    await saying
    assert [m.text for m in copies_to(emulator, family.chat_id)] == ["Пишу семье"]


async def test_a_family_that_blocked_the_bot_is_shown_in_the_thread(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    card = await claimed(family, emulator, desk_app)
    emulator.block(family.user_id)
    await group_says(emulator, desk_app, ASSIGNEE, "Вы на связи?", card.message_id)
    await emulator.wait_for(lambda: any("заблокировала" in (m.text or "") for m in emulator.sent_to(GROUP)))
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        person = await uow.people.get(f"tg:{family.user_id}")
    assert person is not None and person.reachable is False


@pytest.fixture
async def quiet_off_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    # Quiet hours off: the check-in offer that "helped" brings comes at once, at any hour of the day.
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", quiet_hours="off")
    yield app
    await app.stop()


async def test_close_with_an_outcome_reopen_and_release(
    emulator: TelegramEmulator, quiet_off_app: Application
) -> None:
    desk_app = quiet_off_app
    family = Parent(emulator=emulator, handled=HandledUpdates(desk_app), user_id=6001)
    card = await claimed(family, emulator, desk_app)
    refused = await press(emulator, OTHER, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Закрыть"))
    assert "только координатор" in refused["text"].lower()
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Закрыть"))
    await emulator.wait_for(lambda: "Помогли" in str(emulator.buttons(emulator.sent_to(GROUP)[0])))
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Помогли"))
    await emulator.wait_for(
        lambda: any("закрыта" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    assert (await ticket(desk_app)).status == "closed"
    assert "Закрыл(а) Анна" in (emulator.sent_to(GROUP)[0].text or "")
    await offer_declined(family, emulator, desk_app)
    # Closed: the family's next message is no longer relayed; they are offered a new request.
    replies = await family.say("Спасибо!")
    assert "Попросить о помощи" in family.texts(replies)
    # Nor is the assignee's message in the closed ticket's thread: group_says returns once it is
    # handled (the notice that it stays in the group is sent by then), so "not relayed" is final.
    await group_says(emulator, desk_app, ASSIGNEE, "Как вы?", card.message_id)
    assert any("останется в группе" in (m.text or "") for m in emulator.sent_to(GROUP))
    assert not copies_to(emulator, family.chat_id)

    refused = await press(
        emulator, OTHER, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Открыть снова")
    )
    assert (await ticket(desk_app)).status == "closed"
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Открыть снова"))
    await emulator.wait_for(
        lambda: any("снова открыта" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    reopened = await ticket(desk_app)
    assert reopened.status == "claimed" and reopened.assignee == f"tg:{ASSIGNEE}"

    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Освободить"))
    await emulator.wait_for(lambda: bool(cards(emulator)))
    answer = await press(emulator, OTHER, card, emulator.button_data(cards(emulator)[0], "Беру"))
    assert "ваша" in answer["text"]
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        actions = [e.action for e in await uow.audit.for_ticket(reopened.id)]
    assert actions == ["card_posted", "claim", "close", "internal_notice", "reopen", "release", "claim"]


async def test_referral_asks_for_the_organisation(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    card = await claimed(family, emulator, desk_app)
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Закрыть"))
    await emulator.wait_for(lambda: "Направили" in str(emulator.buttons(emulator.sent_to(GROUP)[0])))
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Направили"))
    await emulator.wait_for(
        lambda: any((m.reply_markup or {}).get("force_reply") for m in emulator.sent_to(GROUP))
    )
    prompt = next(m for m in emulator.sent_to(GROUP) if (m.reply_markup or {}).get("force_reply"))
    await group_says(emulator, desk_app, ASSIGNEE, "Центр <Семья> на Ленина, 5", prompt.message_id)
    await emulator.wait_for(
        lambda: any("направили" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    closed = await ticket(desk_app)
    assert closed.status == "closed" and closed.outcome == "referred"
    assert closed.outcome_note == "Центр <Семья> на Ленина, 5"
    family_note = next(m for m in emulator.sent_to(family.chat_id) if "направили" in (m.text or ""))
    assert "&lt;Семья&gt;" in family_note.params["text"]


@pytest.fixture
async def sla_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(
        emulator,
        db_url,
        coordinator_chat=f"tg:{GROUP}",
        admin_ids="tg:900",
        claim_sla="2h",
        claim_sla_urgent="15m",
    )
    yield app
    await app.stop()


async def test_unclaimed_requests_are_reannounced_and_escalated_once(
    emulator: TelegramEmulator, sla_app: Application
) -> None:
    await make_tickets(sla_app, 2, urgent_every=2)  # the first is urgent
    await emulator.wait_for(lambda: len(cards(emulator)) == 2)
    await settled(sla_app)
    sla = sla_app.sla
    assert sla is not None
    start = utcnow()
    sla._clock = lambda: start + timedelta(minutes=20)
    assert await sla.tick() == 2, "the urgent one (15 min): in the group and to the admin"
    assert await sla.tick() == 0, "once per period"
    sla._clock = lambda: start + timedelta(hours=3)
    assert await sla.tick() == 4, "both now"
    reminders = [m for m in emulator.sent_to(GROUP) if "ждёт координатора" in (m.text or "")]
    assert len(reminders) == 3
    assert [m for m in emulator.sent_to(900) if "никто не взял" in (m.text or "")]


async def test_an_assignee_is_nudged_when_the_family_waits(
    emulator: TelegramEmulator, sla_app: Application
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(sla_app), user_id=6501)
    await claimed(family, emulator, sla_app)
    await family.say("Вы здесь?")
    await settled(sla_app)
    # The nudge is a follow-up row, claimed by the follow-up job's tick.
    followups = sla_app.followups
    assert followups is not None
    start = utcnow()
    assert await followups.run_once(start + timedelta(hours=23)) == 0, "not a day yet"
    assert await followups.run_once(start + timedelta(hours=25)) == 1
    assert [m for m in emulator.sent_to(GROUP) if "Анна, семья по заявке" in (m.text or "")]
    assert await followups.run_once(start + timedelta(hours=26)) == 0, "once"


async def test_a_migrated_group_is_followed(emulator: TelegramEmulator, desk_app: Application) -> None:
    new_group = -1009999999999
    emulator.fail_next("sendMessage", error_code=400, migrate_to_chat_id=new_group, chat_id=GROUP)
    [first] = await make_tickets(desk_app, 1)
    await emulator.wait_for(lambda: bool(emulator.sent_to(new_group)))
    await settled(desk_app)
    [second] = await make_tickets(desk_app, 1)
    await emulator.wait_for(lambda: len(emulator.sent_to(new_group)) == 2)
    await settled(desk_app)
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        chats = {
            t.chat
            for t in (await uow.session.scalars(select(Ticket).where(Ticket.id.in_([first, second])))).all()
        }
        [migration] = (await uow.session.scalars(select(ChatMigration))).all()
    assert chats == {f"tg:{new_group}"}
    assert (migration.old_chat, migration.new_chat) == (f"tg:{GROUP}", f"tg:{new_group}")
    assert emulator.sent_to(GROUP) == []


async def test_a_forum_gets_a_topic_per_ticket_named_with_its_status(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    emulator.forums.add(GROUP)
    card = await claimed(family, emulator, desk_app)
    [((chat_id, thread), topic)] = list(emulator.topics.items())
    assert chat_id == GROUP
    assert card.params["message_thread_id"] == thread
    assert topic["name"].startswith("✋ #"), "the status shows in the topic's name"
    assert "юридическая помощь" in topic["name"]
    # The family writes: it arrives in the ticket's topic.
    await family.say("Мы дома, ждём звонка")
    await emulator.wait_for(lambda: len(copies_to(emulator, GROUP)) == 1)
    assert copies_to(emulator, GROUP)[0].params["message_thread_id"] == thread
    # The assignee writes in the topic without replying to anything: it reaches the family.
    emulator.message(
        ASSIGNEE, "Звоню через 5 минут", chat_id=GROUP, chat_type="supergroup", message_thread_id=thread
    )
    await emulator.wait_for(lambda: len(copies_to(emulator, family.chat_id)) == 1)
    assert copies_to(emulator, family.chat_id)[0].text == "Звоню через 5 минут"
    # Closing renames the topic.
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Закрыть"))
    await emulator.wait_for(lambda: "Помогли" in str(emulator.buttons(emulator.sent_to(GROUP)[0])))
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Помогли"))
    await emulator.wait_for(lambda: topic["name"].startswith("🔒"))


async def test_a_plain_group_has_no_topics(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    card = await claimed(family, emulator, desk_app)
    assert emulator.topics == {}
    assert "message_thread_id" not in card.params
    [attempt] = emulator.calls_of("createForumTopic")
    assert attempt.error, "tried once, learned the chat is not a forum"
    await make_tickets(desk_app, 2)
    await emulator.wait_for(lambda: len(cards(emulator)) == 2)
    assert len(emulator.calls_of("createForumTopic")) == 1, "and does not ask again"


async def test_a_returning_family_brings_back_its_coordinator(
    emulator: TelegramEmulator, quiet_off_app: Application
) -> None:
    desk_app = quiet_off_app
    family = Parent(emulator=emulator, handled=HandledUpdates(desk_app), user_id=6001)
    card = await claimed(family, emulator, desk_app)
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Закрыть"))
    await emulator.wait_for(lambda: "Помогли" in str(emulator.buttons(emulator.sent_to(GROUP)[0])))
    await press(emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Помогли"))
    await emulator.wait_for(
        lambda: any("закрыта" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    await offer_declined(family, emulator, desk_app)
    await family.walk("new", "no", "other", "0", "r.msk")
    await family.say("Снова нужна помощь")
    await finish(family)
    await emulator.wait_for(lambda: len(cards(emulator)) == 1)
    second = cards(emulator)[0]
    assert "Семья уже обращалась: 1 заявка." in (second.text or "")
    assert f'<a href="tg://user?id={ASSIGNEE}">Анна</a>' in second.params["text"], "mentioned, so notified"
