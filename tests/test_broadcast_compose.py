"""Composing an announcement: a photo or a document, an English version, Telegram's paid broadcast.

The wizard in the pure engine, then the use-case over a database (what is stored, what each family
gets), the recipient's announcement, and the pacer's budget for paid broadcasts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from dialogs.announcements import Announcement, SpeaksAs
from dialogs.broadcast import BroadcastData
from dialogs.directory import Directory
from dialogs.effects import PricePaid, SendBroadcast
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from dialogs.state import Attachment
from handlers.broadcast_files import BroadcastFilesJob
from handlers.broadcasts import announcement_of
from handlers.pacer import Limit, PacerSettings, Priority, PriorityPacer
from handlers.ports import FileData, FileRefusedError
from storage.models import Broadcast, utcnow
from storage.uow import Database
from storage.vocabulary import AttachmentKind, ChatRef, Platform
from tests.broadcast_support import ADMIN, BroadcastRig, Wizard, media, typed
from tests.dialog_driver import DialogDriver
from tests.fakes import FakeMessenger, FakeTime

PHOTO = Attachment(kind=AttachmentKind.PHOTO, ref="tg:PHOTO1")


@pytest.fixture
def rig(db: Database, translators: Translators, directory: Directory) -> BroadcastRig:
    return BroadcastRig(db, translators, directory)


def to_preview(w: Wizard, count: int = 3) -> None:
    w.press("bc_aud", "all")
    w.send(counted(count))


def counted(n: int) -> Event:
    return Event(kind=EventKind.BROADCAST, what="counted", number=n)


def priced(n: int, balance: str) -> Event:
    return Event(kind=EventKind.BROADCAST, what="priced", number=n, text=balance)


def test_a_photo_with_its_caption_is_the_text_and_shows_in_the_preview(driver: DialogDriver) -> None:
    w = Wizard(driver)
    out = w.send(media(AttachmentKind.PHOTO, "tg:PHOTO1", caption="Раздача в <b>субботу</b>"))
    assert out.state == "bc_text_en", "file and text given: on to the English version"
    data = BroadcastData.model_validate(w.data)
    assert data.attachment == PHOTO and data.text == "Раздача в <b>субботу</b>"
    w.press("bc_text_en", "skip")
    to_preview(w)
    [announcement, question] = w.out.screens if w.out else []
    assert announcement.files == (PHOTO,), "the photo with the text, as families get it"
    assert "субботу" in announcement.text and announcement.buttons, "with the unsubscribe button"
    assert "3" in question.text
    w.press("bc_preview", "now")
    assert w.out is not None and w.out.effects == [
        SendBroadcast(text="Раздача в <b>субботу</b>", audience=("all", ""), attachment=PHOTO)
    ]


def test_a_file_alone_then_the_text(driver: DialogDriver) -> None:
    w = Wizard(driver)
    out = w.send(media(AttachmentKind.DOCUMENT, "tg:DOC1"))
    assert out.state == "bc_text", "the text is still to come"
    out = w.send(typed("Часы работы юриста"))
    assert out.state == "bc_text_en", "the file is there: no question about one"
    assert BroadcastData.model_validate(w.data).attachment == Attachment(
        kind=AttachmentKind.DOCUMENT, ref="tg:DOC1"
    )


def test_the_attach_step_takes_a_photo_or_a_document_only(driver: DialogDriver) -> None:
    w = Wizard(driver)
    assert w.send(typed("Текст")).state == "bc_attach"
    out = w.send(media(AttachmentKind.VOICE, "tg:VOICE"))
    assert out.state == "bc_attach" and out.screens, "a voice message: refused kindly, asked again"
    assert BroadcastData.model_validate(w.data).attachment is None
    assert w.send(typed("ещё текст")).state == "bc_attach", "text here: asked for a file or the button"
    assert w.send(media(AttachmentKind.PHOTO, "tg:PHOTO1")).state == "bc_text_en"
    assert BroadcastData.model_validate(w.data).attachment == PHOTO


def test_an_english_version_goes_to_english_families_and_both_are_previewed(
    driver: DialogDriver, translators: Translators
) -> None:
    w = Wizard(driver)
    w.send(typed("Раздача наборов"))
    w.press("bc_attach", "skip")
    assert w.send(typed("Food kits <i>today</i>")).state == "bc_aud"
    to_preview(w, 5)
    assert w.out is not None
    ru, en = w.out.screens[0], w.out.screens[1]
    assert "Раздача наборов" in ru.text and "Объявление" in ru.text
    assert "Food kits <i>today</i>" in en.text and "Announcement" in en.text, "as English families see it"
    w.press("bc_preview", "now")
    [sent] = w.out.effects
    assert isinstance(sent, SendBroadcast)
    assert sent.texts == {"ru": "Раздача наборов", "en": "Food kits <i>today</i>"}


def test_paid_broadcast_shows_cost_and_balance_and_needs_a_confirmation(driver: DialogDriver) -> None:
    w = Wizard(driver)
    w.send(typed("Открылся кризисный центр"))
    w.press("bc_attach", "skip")
    w.press("bc_text_en", "skip")
    to_preview(w, 50)
    out = w.press("bc_preview", "paid")
    assert out.effects == [PricePaid(audience=("all", ""))] and out.screens == []
    out = w.send(priced(40, "12.5"))
    assert out.state == "bc_paid"
    text = out.screens[-1].text
    assert "4 ⭐" in text and "40" in text and "12.5 ⭐" in text, "cost = 0.1 × 40, and the balance"
    out = w.press("bc_paid", "confirm")
    assert out.effects == [SendBroadcast(text="Открылся кризисный центр", audience=("all", ""), paid=True)]


def test_paid_broadcast_is_refused_kindly_when_the_balance_is_too_small(driver: DialogDriver) -> None:
    w = Wizard(driver)
    w.send(typed("Срочно"))
    w.press("bc_attach", "skip")
    w.press("bc_text_en", "skip")
    to_preview(w, 50)
    w.press("bc_preview", "paid")
    out = w.send(priced(40, "3.9"))
    screen = out.screens[-1]
    assert "3.9 ⭐" in screen.text and "4 ⭐" in screen.text
    assert not any(b.payload and b.payload.value == "confirm" for r in screen.buttons for b in r)
    out = w.press("bc_paid", "confirm")  # forged, or an old screen's
    assert out.effects == [], "nothing sent, nothing charged"
    out = w.press("bc_paid", "back")
    assert out.state == "bc_preview", "back to send it as usual"


def test_the_recipients_announcement_is_built_in_one_place(translators: Translators) -> None:
    vk_copy = Attachment(kind=AttachmentKind.PHOTO, ref="vk:photo-1_2_k")
    row = Broadcast(
        id=7,
        text="Раздача",
        texts={"ru": "Раздача", "en": "Food kits"},
        attachment=PHOTO.model_dump(mode="json"),
        files={"vk": vk_copy.model_dump(mode="json")},
        paid=True,
    )
    announcement = announcement_of(row)
    assert announcement.files == (PHOTO, vk_copy) and announcement.paid
    english = announcement.screen(SpeaksAs("en", translators["en"]))
    russian = announcement.screen(SpeaksAs("ru", translators["ru"]))
    assert "Food kits" in english.text and "Раздача" in russian.text
    assert english.paid and english.files == (PHOTO, vk_copy)
    plain = announcement_of(Broadcast(id=8, text="Только так", texts=None, attachment=None, files=None))
    assert plain.texts == {"*": "Только так"} and plain.files == () and not plain.paid
    assert "Только так" in plain.screen(SpeaksAs("en", translators["en"])).text, "otherwise as written"
    # Saved with a family that waits for the end of its step: it comes back the same.
    loaded = Announcement.load(announcement.dump())
    assert loaded == announcement


async def test_families_get_their_own_language_and_the_row_keeps_the_content(rig: BroadcastRig) -> None:
    ru = await rig.family(61)
    en = await rig.family(62)
    await en.command("language")
    await en.press("lang", "en")
    await rig.admin.command("broadcast")
    await rig.admin.text("Раздача наборов")
    await rig.admin.press("bc_attach", "skip")
    await rig.admin.text("Food kits")
    await rig.admin.press("bc_aud", "all")
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert [s.text.split("\n\n", 1)[1] for s in rig.messenger.announcements(ru.user_id)] == [
        "Раздача наборов"
    ]
    assert [s.text.split("\n\n", 1)[1] for s in rig.messenger.announcements(en.user_id)] == ["Food kits"]
    [row] = await rig.broadcasts()
    assert row.texts == {"ru": "Раздача наборов", "en": "Food kits"} and not row.paid


async def test_a_photo_goes_with_the_announcement_by_the_same_reference(rig: BroadcastRig) -> None:
    await rig.family(63)
    await rig.admin.command("broadcast")
    await rig.admin.send(media(AttachmentKind.PHOTO, "tg:PHOTO1", caption="Раздача"))
    await rig.admin.press("bc_text_en", "skip")
    await rig.admin.press("bc_aud", "all")
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert rig.messenger.announcements(63) == [], "not before its file is on every messenger"
    assert await BroadcastFilesJob(rig.db, messengers={Platform.TELEGRAM: rig.messenger}).run_once(
        rig.clock()
    )
    await rig.drain()
    [row] = await rig.broadcasts()
    assert row.attachment == PHOTO.model_dump(mode="json")
    assert row.files == {}, "no other messenger here: nothing to upload"
    [got] = rig.messenger.announcements(63)
    assert got.files == (PHOTO,)


async def test_a_paid_broadcast_is_recorded_and_sent_paid(rig: BroadcastRig, monkeypatch: Any) -> None:
    async def balance() -> Decimal:
        return Decimal("100")

    monkeypatch.setattr(rig.messenger, "star_balance", balance, raising=False)
    await rig.family(64)
    await rig.family(65)
    await rig.compose("Открыт приют")
    await rig.admin.press("bc_preview", "paid")
    assert "0.2 ⭐" in rig.messenger.to(ADMIN)[-1].text, "two families on Telegram: 0.2 Stars"
    await rig.admin.press("bc_paid", "confirm")
    await rig.drain()
    [row] = await rig.broadcasts()
    assert row.paid
    for uid in (64, 65):
        [got] = rig.messenger.announcements(uid)
        assert got.paid, "sent with allow_paid_broadcast"


async def test_paid_is_unavailable_without_telegrams_balance(rig: BroadcastRig) -> None:
    await rig.family(66)
    await rig.compose("Открыт приют")
    await rig.admin.press("bc_preview", "paid")
    assert "Stars" in rig.messenger.to(ADMIN)[-1].text or "звёзд" in rig.messenger.to(ADMIN)[-1].text.lower()
    assert await rig.broadcasts() == []


async def test_a_paid_broadcast_has_its_own_budget_past_the_bots_30_a_second() -> None:
    time = FakeTime(auto=True)
    p = PriorityPacer(PacerSettings(bulk=Limit(25, 1.0)), clock=time.clock, sleep=time.sleep)
    start = time.now
    for n in range(300):
        await p.wait(ChatRef.parse(f"tg:{1000 + n}"), Priority.BULK, paid=True)
    assert time.now - start < 1.0, "300 paid messages in under a second (1,000 a second allowed)"
    start = time.now
    for n in range(51):
        await p.wait(ChatRef.parse(f"tg:{5000 + n}"), Priority.BULK)
    assert time.now - start >= 2.0, "the others keep BROADCAST_RATE: 51 at 25 a second take 2 s"
    start = time.now
    for n in range(1001):
        await p.wait(ChatRef.parse(f"tg:{9000 + n}"), Priority.BULK, paid=True)
    assert time.now - start >= 0.9, "and paid ones stay within 1,000 a second"


@dataclass
class UploadingVk(FakeMessenger):
    """VK as the files job sees it: keeps an upload for sending by reference (or refuses it)."""

    refuse: bool = False
    stored: list[tuple[int, FileData]] = field(default_factory=list)

    async def store_file(self, chat_id: int, file: FileData) -> Attachment:
        if self.refuse:
            raise FileRefusedError(50)
        self.stored.append((chat_id, file))
        return Attachment(kind=file.kind, ref=f"vk:photo-1_{len(self.stored)}", name=file.name)


@pytest.mark.parametrize("refuse", [False, True])
async def test_the_file_is_put_on_each_messenger_once_and_a_refusal_leaves_the_text(
    db: Database, refuse: bool
) -> None:
    now = utcnow()
    async with db.uow() as uow:
        for uid in (71, 72, 73):
            person, _ = await uow.people.get_or_create(f"vk:{uid}", Platform.VK, "ru")
            await uow.people.give_consent(person, "v-test", now)
            await uow.people.set_announcements(person, True)
        created = await uow.broadcasts.create(
            "tg:1", "Раздача", {"kind": "all", "value": ""}, now, attachment=PHOTO.model_dump(mode="json")
        )
        broadcast_id = created.id
        assert await uow.broadcasts.due(now) == [], "not before its file is everywhere"
    telegram, vk = FakeMessenger(files={"tg:PHOTO1": b"jpeg bytes"}), UploadingVk(platform=Platform.VK)
    vk.refuse = refuse
    job = BroadcastFilesJob(db, messengers={Platform.TELEGRAM: telegram, Platform.VK: vk})
    assert await job.run_once(now) == 1
    assert await job.run_once(now) == 0, "done once"
    async with db.uow() as uow:
        row = await uow.broadcasts.get(broadcast_id)
        assert row is not None and [b.id for b in await uow.broadcasts.due(now)] == [broadcast_id]
    if refuse:
        assert row.files == {}, "VK refused it: VK families get the text alone, and it still goes"
    else:
        assert [(peer, f.data) for peer, f in vk.stored] == [(71, b"jpeg bytes")], "one upload, for one peer"
        assert row.files == {"vk": {"kind": "photo", "ref": "vk:photo-1_1", "name": "file", "url": None}}
        assert announcement_of(row).files[1].ref == "vk:photo-1_1"
