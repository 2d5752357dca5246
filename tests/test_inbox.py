"""Nothing a family sent is lost on a crash: the inbox, answers kept until sent, leases that come back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Incoming
from handlers.conversation import ConversationService
from handlers.inbox import Inbox
from storage.models import Outbox, Ticket, utcnow
from storage.uow import Database
from storage.vocabulary import OutboxKind, Platform
from tests.fakes import FakeMessenger, Family, conversation


class Crash(BaseException):
    """The process dies here: nothing after this point runs (no except clause of ours catches it)."""


class CrashingMessenger(FakeMessenger):
    crash_on_send: bool = False

    async def send(self, chat_id, screen, *, reply_to=None, thread_id=None, dedup=None):
        if self.crash_on_send:
            raise Crash
        return await super().send(chat_id, screen, reply_to=reply_to, thread_id=thread_id, dedup=dedup)


def service_for(
    db: Database, messenger: FakeMessenger, translators: Translators, directory: Directory
) -> ConversationService:
    return conversation(db, messenger, translators, directory)


async def test_an_answer_committed_but_not_sent_is_sent_after_a_restart_once(
    db: Database, translators: Translators, directory: Directory
) -> None:
    messenger = CrashingMessenger()
    family = Family(service_for(db, messenger, translators, directory))
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.press("consent", "yes")
    update = Incoming(
        platform=Platform.TELEGRAM,
        user_id=42,
        chat_id=42,
        event=Event(kind=EventKind.COMMAND, command="requests"),
        update_id=100,
        message_id=100,
    )
    inbox = Inbox(db)
    await inbox.accept(Platform.TELEGRAM, [(100, {"update_id": 100})])
    messenger.crash_on_send = True
    with pytest.raises(Crash):
        await family.service.handle(update)
    assert [key for key, _raw in await inbox.pending(Platform.TELEGRAM)] == [100], "still to finish"

    # The restart: a new service; the inbox hands the same update over again.
    after = FakeMessenger()
    restarted = service_for(db, after, translators, directory)
    await restarted.handle(update)
    assert len(after.sent) == 1 and "заяв" in after.sent[0][1].text.lower(), "the kept answer, once"
    await restarted.handle(update)
    assert len(after.sent) == 1, "a second replay sends nothing more"
    async with db.uow() as uow:
        stored = await uow.dialogs.load("tg:42")
    assert stored is not None and stored[0] == "mr_list", "the turn itself was not repeated"


async def test_an_answer_after_erasing_is_never_kept(
    db: Database, translators: Translators, directory: Directory
) -> None:
    """A parent who erased the chat or their data: nothing may come back to that phone later."""
    messenger = CrashingMessenger()
    family = Family(service_for(db, messenger, translators, directory))
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.press("consent", "yes")
    await family.send(Event(kind=EventKind.COMMAND, command="delete_my_data"))
    inbox = Inbox(db)
    await inbox.accept(Platform.TELEGRAM, [(family.update_id + 1, {})])
    messenger.crash_on_send = True
    with pytest.raises(Crash):  # "your data has been deleted" was being sent
        await family.press("delete_confirm", "yes")
    async with db.uow() as uow:
        assert await uow.inbox.answer_of(Platform.TELEGRAM, family.update_id) is None


async def test_the_summarys_send_pressed_again_confirms_the_same_request(
    db: Database, translators: Translators, directory: Directory
) -> None:
    messenger = FakeMessenger()
    family = Family(service_for(db, messenger, translators, directory))
    await family.to_summary()
    await family.press("t_summary", "send")
    async with db.uow() as uow:
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
    before = len(messenger.sent)
    await family.press("t_summary", "send")  # the answer was lost, or a double tap
    shown = "\n".join(screen.text for _chat, screen in messenger.sent[before:])
    assert f"#{ticket.id}</b> принята" in shown
    assert "предыдущего" not in shown, "not 'a button of an earlier message'"
    async with db.uow() as uow:
        assert len((await uow.session.scalars(select(Ticket))).all()) == 1


async def test_the_inbox_keeps_order_and_forgets_what_was_handled(db: Database) -> None:
    inbox = Inbox(db)
    await inbox.accept(Platform.VK, [(3, {"n": 3}), (1, {"n": 1})], cursor=("vk:77", "ts-9"))
    await inbox.accept(Platform.VK, [(3, {"n": 3}), (2, {"n": 2})])  # a redelivery keeps one copy
    assert [key for key, _ in await inbox.pending(Platform.VK)] == [1, 3, 2]
    assert await inbox.pending(Platform.TELEGRAM) == []
    async with db.uow() as uow:
        assert await uow.cursors.load("vk:77") == "ts-9", "the position is saved with its batch"
    inbox.handled(Platform.VK, 3)
    inbox.handled(Platform.VK, 1)
    assert [key for key, _ in await inbox.pending(Platform.VK)] == [1, 3, 2], "not until the flush"
    await inbox.flush()
    assert [(key, raw) for key, raw in await inbox.pending(Platform.VK)] == [(2, {"n": 2})]


async def test_a_restarted_instance_takes_its_leases_back_at_once(db: Database) -> None:
    async with db.uow() as uow:
        await uow.outbox.message("tg:1", "a", priority=1)
        await uow.outbox.message("tg:1", "b", priority=1)
        rows = (await uow.session.scalars(select(Outbox).order_by(Outbox.id))).all()
        assert [r.kind for r in rows] == [OutboxKind.MESSAGE, OutboxKind.MESSAGE]
    now = utcnow()
    far = now + timedelta(seconds=120)
    async with db.uow() as uow:
        assert await uow.outbox.lease(rows[0].id, now, far, "bot-1")
        assert await uow.outbox.lease(rows[1].id, now, far, "bot-2")
    async with db.uow() as uow:
        assert await uow.outbox.reclaim("bot-1", now) == 1, "only this instance's own rows"
        due = [row.id for row in await uow.outbox.due(now + timedelta(seconds=1), 10)]
    assert due == [rows[0].id]


async def test_another_replica_takes_over_what_a_dead_one_kept(db: Database) -> None:
    dead, alive = Inbox(db), Inbox(db)
    await dead.accept(Platform.TELEGRAM, [(501, {"update_id": 501})])  # kept, then the process died
    fed: list[int] = []
    alive.register(Platform.TELEGRAM, lambda update_id, raw: fed.append(update_id))
    await alive.run_once(utcnow())
    assert fed == [], "a fresh update may still be in its own process's hands"
    await alive.run_once(utcnow() + timedelta(seconds=31))
    assert fed == [501]
    await alive.run_once(utcnow() + timedelta(seconds=45))
    assert fed == [501], "fed once while it is being handled"
