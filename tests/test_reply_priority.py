"""The priority of a turn's replies: decided once by the turn, never by matching the text again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dialogs import danger
from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.i18n import N_, Translators
from dialogs.primitives import GLOBAL_STEP, Event, EventKind, Notice, Payload
from dialogs.state import Attachment
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from handlers.pacer import Priority
from storage.uow import Database
from storage.vocabulary import AttachmentKind, Platform
from tests.fakes import FakeMessenger, Family, RecordingPacer

PERSON = 42
CHAT = f"tg:{PERSON}"
DANGER = "Муж угрожает убить меня и детей."
CHECK_IN = N_("✉️ Sent to your coordinator (request #{n}).")  # any message of the catalogs
PHOTO = Attachment(kind=AttachmentKind.PHOTO, ref="photo-1")


@pytest.fixture
def pacer() -> RecordingPacer:
    return RecordingPacer()


@pytest.fixture
def service(
    db: Database, translators: Translators, directory: Directory, pacer: RecordingPacer
) -> ConversationService:
    return ConversationService(
        db,
        dialogs=assemble(),
        messengers={Platform.TELEGRAM: FakeMessenger()},
        translators=translators,
        directory=directory,
        settings=ConversationSettings(consent_version="v-test", default_locale="ru"),
        pacer=pacer,
    )


async def at_menu(service: ConversationService) -> Family:
    family = Family(service, user_id=PERSON)
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.press("consent", "yes")
    await family.press(GLOBAL_STEP, "ann_no")  # the announcements question, its own step
    return family


def priorities_of(pacer: RecordingPacer, since: int) -> set[int]:
    asked = pacer.asked[since:]
    assert asked, "the turn sent nothing"
    assert {chat for chat, _ in asked} == {CHAT}
    return {priority for _, priority in asked}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Event(kind=EventKind.TEXT, text="SOS"), Priority.EMERGENCY),
        (Event(kind=EventKind.TEXT, text="срочно"), Priority.EMERGENCY),
        (Event(kind=EventKind.TEXT, text=DANGER), Priority.EMERGENCY),
        (Event(kind=EventKind.BUTTON, payload=Payload(step=GLOBAL_STEP, value="sos")), Priority.EMERGENCY),
        (Event(kind=EventKind.MEDIA, text=DANGER, attachment=PHOTO), Priority.EMERGENCY),
        (Event(kind=EventKind.TEXT, text="Здравствуйте, подскажите"), Priority.REPLY),
        (Event(kind=EventKind.BUTTON, payload=Payload(step="menu", value="new")), Priority.REPLY),
        (Event(kind=EventKind.MEDIA, text="Вот справка", attachment=PHOTO), Priority.REPLY),
        (Event(kind=EventKind.COMMAND, command="start"), Priority.REPLY),
    ],
    ids=[
        "sos",
        "srochno",
        "danger-words",
        "sos-button",
        "danger-caption",
        "text",
        "button",
        "caption",
        "command",
    ],
)
async def test_a_reply_to_a_person_is_an_emergency_only_for_an_sos_or_danger(
    service: ConversationService, pacer: RecordingPacer, event: Event, expected: Priority
) -> None:
    family = await at_menu(service)
    before = len(pacer.asked)
    await family.send(event)
    assert priorities_of(pacer, before) == {expected}


async def test_a_turn_the_system_starts_keeps_its_own_priority(
    service: ConversationService, pacer: RecordingPacer
) -> None:
    await at_menu(service)
    for priority in (Priority.SCHEDULED, Priority.BULK):
        before = len(pacer.asked)
        assert await service.push(CHAT, Notice(message=CHECK_IN, params={"n": 1}), priority=priority)
        assert priorities_of(pacer, before) == {priority}


@pytest.fixture
def matched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the danger matcher reads a text, whoever calls it (every call splits it once)."""
    lengths: list[int] = []
    split = danger._sentences

    def counting(text: str) -> Iterator[list[str]]:
        lengths.append(len(text))
        return split(text)

    monkeypatch.setattr(danger, "_sentences", counting)
    return lengths


async def test_a_long_text_is_matched_for_danger_once_in_its_turn(
    service: ConversationService, pacer: RecordingPacer, matched: list[int]
) -> None:
    family = await at_menu(service)
    story = ("Мы живём в съёмной квартире, денег не хватает до конца месяца. " * 160)[:9_000] + DANGER
    assert len(story) > 9_000
    matched.clear()
    before = len(pacer.asked)
    await family.text(story)
    # Once, as it entered the person's line; the replies' priority is that answer, carried on.
    assert matched == [len(story)]
    assert priorities_of(pacer, before) == {Priority.EMERGENCY}
