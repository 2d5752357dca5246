"""What was sent after a turn's commit, written in batches instead of one transaction per reply.

After a turn's screens are sent, two things are recorded: the bot's message ids (the quick exit
deletes them from the parent's phone) and that the answer kept in the inbox is no longer owed. They
were one transaction per update; in a burst that was a third of the database work. Here the first
reply recorded wakes the job, which writes at once; what is sent while that transaction runs goes in
the next one, for everyone together (a group commit of the after-send bookkeeping).

What a crash can cost is what it cost before, one transaction's time: an answer sent just before a
``kill -9`` may be sent once more after the restart (never lost), and those messages' ids are not
deleted by a later quick exit. Within the process nothing is missed: a replayed update whose answer
was sent is not answered twice (``answered``), and a quick exit takes the ids not yet written
(``take``). Without a runner (tests of the service alone) they are written at the next ``flush``.
"""

from __future__ import annotations

from datetime import datetime

from handlers.background import Job
from storage.uow import Database
from storage.vocabulary import Platform

Key = tuple[Platform, int]


class SentLog(Job):
    name = "sent-log"
    interval = 0.5

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db
        self._ids: dict[str, list[int]] = {}  # private chat key -> the bot's message ids to record
        self._answered: dict[Key, None] = {}  # kept answers sent: cleared in the inbox at the flush
        self._flushing: tuple[dict[str, list[int]], dict[Key, None]] = ({}, {})
        self._erased: dict[str, list[int]] = {}  # taken by a quick exit while being written

    def record(self, chat_key: str, ids: list[int], answer_of: Key | None) -> None:
        if not ids and answer_of is None:
            return
        if not self._ids and not self._answered:
            # Written now, not at the next tick: the window in which a crash repeats an answer stays
            # as short as one transaction. What is recorded while that one runs goes in the next.
            self.wake()
        if ids:
            self._ids.setdefault(chat_key, []).extend(ids)
        if answer_of is not None:
            self._answered[answer_of] = None

    def answered(self, platform: Platform, update_id: int) -> bool:
        """The kept answer of this update was sent, and the inbox does not know it yet."""
        key = (platform, update_id)
        return key in self._answered or key in self._flushing[1]

    def take(self, chat_key: str) -> list[int]:
        """A quick exit: the ids of this chat not written yet, which are then never written."""
        taken = self._ids.pop(chat_key, [])
        writing = self._flushing[0].get(chat_key)
        if writing:
            self._erased[chat_key] = list(writing)  # deleted again right after that write commits
            taken += writing
        return taken

    async def run_once(self, now: datetime) -> int:
        await self.flush()
        return 0

    async def flush(self) -> None:
        ids, answered = self._ids, self._answered
        if not ids and not answered:
            return
        self._ids, self._answered = {}, {}
        self._flushing = (ids, answered)
        try:
            # Short statements, as a family's turn's: on SQLite they take their turn on the turns'
            # own connection (storage/quick.py), on the loop's thread, behind the turns in line: what
            # those send meanwhile goes in the next batch. On the pool's connections, beside the
            # turns, the writes went to the connection's thread one or two replies at a time, and the
            # turns waited for the writer each time (bench.burst: 1.0 -> 1.6 ms of CPU an update).
            async with self._db.uow(quick=True) as uow:
                await uow.chat_log.add_many(list(ids.items()), from_bot=True)
                await uow.inbox.clear_answers(list(answered))
        except Exception:
            for chat, chat_ids in ids.items():  # tried again at the next tick
                if chat not in self._erased:
                    self._ids.setdefault(chat, [])[:0] = chat_ids
            self._answered = {**answered, **self._answered}
            raise
        finally:
            self._flushing = ({}, {})
            erased, self._erased = self._erased, {}
        if erased:
            async with self._db.uow(quick=True) as uow:
                for chat, chat_ids in erased.items():
                    await uow.chat_log.forget(chat, chat_ids)
