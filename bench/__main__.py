"""On-demand benchmarks: `python -m bench`. Ratios against a baseline measured in the same run.

Times on shared machines are noisy, so nothing here is asserted; read the ratios, not the microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gettext
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.old_danger import find_danger as old_find_danger
from bot.telegram.render import render as telegram_render
from bot.vk.render import ClientInfo
from bot.vk.render import render as vk_render
from dialogs import danger, engine
from dialogs.assembly import assemble
from dialogs.danger import find_danger
from dialogs.directory import load_directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Incoming, Payload
from dialogs.state import DialogData, Draft, PersonView
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from handlers.housekeeping import WalCheckpoint
from storage.db import create_engine, migrate
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger

SHORT = "Помогите, нет денег на еду"
STORY = ("Муж снова пришёл пьяный, кричал на детей, нам нечего есть, нужны подгузники и смесь. " * 120)[
    :10_000
]
# 10,000 characters of different sentences (the labelled corpus): many distinct words, as in real stories.
_CORPUS = Path(__file__).parent.parent / "tests" / "data" / "danger_corpus.tsv"
VARIED = ". ".join(
    line.split("\t")[0]
    for line in _CORPUS.read_text("utf-8").splitlines()
    if line and not line.startswith("#")
)[:10_000]


def timed(fn: Callable[[], object], rounds: int = 7, number: int = 200) -> float:
    """Median microseconds per call."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


async def timed_async(fn: Callable[[], Awaitable[object]], rounds: int = 5, number: int = 40) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            await fn()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


DIALOGS = assemble()


def danger_cold(text: str) -> object:
    """The matcher on words it has not seen yet: the per-word cache emptied first."""
    danger._slots_of.cache_clear()
    danger._split.cache_clear()
    return find_danger(text)


def context() -> engine.Context:
    translators = Translators({"ru": gettext.NullTranslations(), "en": gettext.NullTranslations()}, "ru")
    person = PersonView("tg:1", "ru", "v1", None, False, None, None)
    return engine.Context(translators, "ru", person, (), load_directory(), "v1")


async def database_rows(tmp: Path) -> list[tuple[str, float, float, str]]:
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"))
    await migrate(db.engine)
    translators = Translators({"ru": gettext.NullTranslations(), "en": gettext.NullTranslations()}, "ru")
    service = ConversationService(
        db,
        dialogs=DIALOGS,
        messengers={Platform.TELEGRAM: FakeMessenger(record=False)},
        translators=translators,
        directory=load_directory(),
        settings=ConversationSettings(consent_version="v1", default_locale="ru"),
    )
    counter = iter(range(1, 10**9))

    async def update() -> None:
        n = next(counter)
        event = Event(kind=EventKind.TEXT, text=f"сообщение {n}")
        await service.handle(Incoming(Platform.TELEGRAM, n % 50, n % 50, event, update_id=n, message_id=n))

    async def bare_transaction() -> None:
        n = next(counter)
        async with db.uow() as uow:
            await uow.dialogs.save(f"tg:{n % 50}", "menu", {"n": n})

    # As in a running bot: the WAL copied into the file every second, off the loop (the connections
    # do not do it on commit; handlers/housekeeping.py).
    checkpoints = asyncio.create_task(_checkpoint_every_second(db))
    ours = await timed_async(update)
    base = await timed_async(bare_transaction)
    rows = [("one update, end to end (SQLite file)", ours, base, "one upsert in one transaction")]

    tracemalloc.start()
    for _ in range(200):
        await bare_transaction()
    base_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    for _ in range(200):
        await update()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows.append(("peak memory, 200 updates (KiB)", peak / 1024, base_peak / 1024, "200 bare upserts"))
    checkpoints.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await checkpoints
    await db.dispose()
    return rows


async def _checkpoint_every_second(db: Database) -> None:
    job = WalCheckpoint(db)
    while True:
        await asyncio.sleep(job.interval)
        await job.run_once(utcnow())


def main() -> None:
    ctx = context()
    data = DialogData(draft=Draft(), history=["menu", "t_danger"])
    tap = Event(kind=EventKind.BUTTON, payload=Payload(step="t_category", value="housing"))
    dumped = data.model_dump_json()
    find_danger(STORY)  # the dictionaries load once, on first use; a bot pays that at start, not per message
    old = "the old stem matcher (bench/old_danger)"
    rows = [
        (
            "danger words, 10,000 characters",
            timed(lambda: find_danger(STORY)),
            timed(lambda: old_find_danger(STORY)),
            old,
        ),
        (
            "danger words, 10,000 varied characters",
            timed(lambda: find_danger(VARIED)),
            timed(lambda: old_find_danger(VARIED)),
            old,
        ),
        (
            "  the same, every word seen the first time",
            timed(lambda: danger_cold(VARIED), rounds=3, number=5),
            timed(lambda: old_find_danger(VARIED)),
            old,
        ),
        (
            "danger words, 10,000 characters",
            timed(lambda: find_danger(STORY)),
            timed(STORY.lower),
            "str.lower() of the same text",
        ),
        (
            "danger words, a short message",
            timed(lambda: find_danger(SHORT)),
            timed(lambda: old_find_danger(SHORT)),
            "the old stem matcher (bench/old_danger)",
        ),
        (
            "danger words, a short message",
            timed(lambda: find_danger(SHORT)),
            timed(SHORT.lower),
            "str.lower() of the same text",
        ),
        (
            "engine step: a tap",
            timed(lambda: DIALOGS.step("t_category", data, tap, ctx)),
            timed(lambda: DialogData.model_validate_json(dumped)),
            "reading the dialog state JSON",
        ),
    ]
    screen = DIALOGS.step("t_region", data, tap, ctx).screens[-1]  # the region list: 13 buttons
    rows.append(
        (
            "Telegram render, the keyboard kept",
            timed(lambda: telegram_render(screen)),
            timed(lambda: telegram_render(screen, kept=False)),
            "the same, built anew",
        )
    )
    rows.append(
        (
            "VK render of a 13-button screen",
            timed(lambda: vk_render(screen, ClientInfo())),
            timed(lambda: telegram_render(screen, kept=False)),
            "Telegram (aiogram) render of it, built anew",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows += asyncio.run(database_rows(Path(tmp)))
    print(f"{'measure':40} {'ours':>12} {'baseline':>12} {'ratio':>8}  baseline is")
    for name, ours, base, what in rows:
        print(f"{name:40} {ours:12.1f} {base:12.1f} {ours / base:8.2f}  {what}")
    print("times in microseconds per call (median), memory in KiB")


if __name__ == "__main__":
    main()
