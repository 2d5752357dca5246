"""The hot statements built once (Core on the mapped tables) keep the ORM's behaviour: the person is
the session's own object, a second /start changes nothing of theirs, NULL stays NULL, a redelivery
is kept once, and dialog states are read fresh."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from storage.models import InboxEntry, Person, utcnow
from storage.uow import Database
from storage.vocabulary import Platform


async def test_a_second_start_keeps_the_person_and_their_language(db: Database) -> None:
    async with db.uow() as uow:
        person, created = await uow.people.get_or_create("tg:77", Platform.TELEGRAM, "ru")
        assert created and person.locale == "ru" and person.reachable and not person.announcements
        await uow.people.give_consent(person, "v1", utcnow())
    created_at = person.created_at
    async with db.uow() as uow:
        again, created_again = await uow.people.get_or_create("tg:77", Platform.TELEGRAM, "en")
        # Filled as the ORM's loading fills an object (storage/repositories.py): every column loaded
        # before anything else is read (a missing one would be loaded later, off the greenlet).
        state = inspect(again)
        assert not state.unloaded and state.dict.keys() >= set(Person.__mapper__.column_attrs.keys())
        assert state.persistent and not state.modified
        assert not created_again and again.id == person.id
        assert (again.locale, again.consent_version, again.created_at) == ("ru", "v1", created_at)
        # The row read by the upsert is the session's object: a later read returns it, and a change
        # to it is written at the commit like any loaded object's.
        assert await uow.session.get(Person, again.id) is again
        assert await uow.people.get("tg:77") is again
        row = (
            await uow.session.execute(select(*Person.__table__.columns).where(Person.id == again.id))
        ).one()
        assert {key: getattr(again, key) for key in row._fields} == row._asdict(), "the same as loaded"
        assert not uow.session.dirty and not uow.session.new and again in uow.session
        await uow.people.set_locale(again, "en")
        again.reachable = False
    async with db.uow() as uow:
        stored = await uow.people.get("tg:77")
        assert stored is not None and (stored.locale, stored.reachable) == ("en", False)
        assert stored.updated_at > created_at  # the ORM's onupdate still runs on that write
        total = await uow.session.scalar(select(func.count()).select_from(Person))
    assert total == 1


async def test_a_person_loaded_first_is_the_one_returned(db: Database) -> None:
    async with db.uow() as uow:
        await uow.people.get_or_create("tg:78", Platform.TELEGRAM, "ru")
    async with db.uow() as uow:
        loaded = await uow.people.get("tg:78")
        assert loaded is not None
        loaded.locale = "en"  # not flushed yet
        person, created = await uow.people.get_or_create("tg:78", Platform.TELEGRAM, "ru")
        assert person is loaded and not created and person.locale == "en"


async def test_answers_are_json_and_none_is_null(db: Database) -> None:
    async with db.uow() as uow:
        await uow.inbox.accept(Platform.TELEGRAM, [(1, {"update_id": 1}), (2, {"update_id": 2})])
        await uow.inbox.accept(Platform.TELEGRAM, [(2, {"update_id": 2}), (3, {"update_id": 3})])
        await uow.inbox.set_answer(Platform.TELEGRAM, 1, {"screens": [{"text": "привет"}]})
        await uow.inbox.set_answer(Platform.TELEGRAM, 2, {"screens": []})
        await uow.inbox.set_answer(Platform.TELEGRAM, 2, None)
    async with db.uow() as uow:
        assert [e.update_id for e in await uow.inbox.pending(Platform.TELEGRAM)] == [1, 2, 3]
        assert await uow.inbox.answer_of(Platform.TELEGRAM, 1) == {"screens": [{"text": "привет"}]}
        nulls = select(InboxEntry.update_id).where(InboxEntry.answer.is_(None)).order_by(InboxEntry.update_id)
        assert (await uow.session.scalars(nulls)).all() == [2, 3]  # SQL NULL, not the JSON text 'null'


async def test_dialog_states_are_read_fresh(db: Database) -> None:
    async with db.uow() as uow:
        assert await uow.dialogs.load("tg:79") is None
        assert await uow.dialogs.updated_at("tg:79") is None
        await uow.dialogs.save("tg:79", "menu", {"n": 1})
        assert await uow.dialogs.load("tg:79") == ("menu", {"n": 1})
        first = await uow.dialogs.updated_at("tg:79")
        await uow.dialogs.save("tg:79", "t_danger", {"n": 2, "history": ["menu"]})
        assert await uow.dialogs.load("tg:79") == ("t_danger", {"n": 2, "history": ["menu"]})
        later = await uow.dialogs.updated_at("tg:79")
    assert first is not None and later is not None and later >= first and later.tzinfo is not None


async def test_batches_clear_and_forget_exactly_the_keys_given(db: Database) -> None:
    async with db.uow() as uow:
        await uow.inbox.accept(Platform.TELEGRAM, [(n, {"update_id": n}) for n in range(1, 6)])
        await uow.inbox.accept(Platform.VK, [(2, {"update_id": 2})])
        for n in range(1, 6):
            await uow.inbox.set_answer(Platform.TELEGRAM, n, {"n": n})
        await uow.inbox.set_answer(Platform.VK, 2, {"n": 2})
    async with db.uow() as uow:
        await uow.inbox.clear_answers([(Platform.TELEGRAM, 2), (Platform.TELEGRAM, 3)])
        await uow.inbox.clear_answers([])
        await uow.inbox.done([("tg", 1), ("tg", 2), ("vk", 99)])
        await uow.inbox.done([])
    async with db.uow() as uow:
        answers = {n: await uow.inbox.answer_of(Platform.TELEGRAM, n) for n in range(1, 6)}
        assert answers == {1: None, 2: None, 3: None, 4: {"n": 4}, 5: {"n": 5}}
        assert [e.update_id for e in await uow.inbox.pending(Platform.TELEGRAM)] == [3, 4, 5]
        assert await uow.inbox.answer_of(Platform.VK, 2) == {"n": 2}, "the same id of another platform"


async def test_a_pending_change_is_written_before_the_upsert_looks_for_the_key(db: Database) -> None:
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:80", Platform.TELEGRAM, "ru")
        await uow.people.anonymise(person)  # the key becomes "deleted:<id>", not flushed yet
        again, created = await uow.people.get_or_create("tg:80", Platform.TELEGRAM, "en")
        assert created and again is not person and again.id != person.id and again.locale == "en"
    async with db.uow() as uow:
        stored = await uow.people.get("tg:80")
        assert stored is not None and stored.id == again.id
        assert await uow.people.get(f"deleted:{person.id}") is not None
