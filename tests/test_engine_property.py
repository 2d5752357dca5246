"""Property: any sequence of events leaves a valid state, never raises, and keeps the data readable."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.vk.render import ClientInfo
from bot.vk.render import render as vk_render
from dialogs.primitives import GLOBAL_STEP, Event, EventKind, Payload, Screen
from dialogs.state import Attachment, DialogData
from storage.vocabulary import AttachmentKind
from tests.dialog_driver import DIALOGS, DialogDriver

STEPS = DIALOGS.by_name["family"].steps

KNOWN_VALUES = [
    "yes",
    "no",
    "back",
    "cancel",
    "done",
    "send",
    "edit",
    "new",
    "continue",
    "requests",
    "more",
    "undo",
    "callback",
    "chat",
    "phone",
    "sos",
    "exit",
    "menu",
    "contacts",
    "lang",
    "ru",
    "en",
    "lang.en",
    "lang.ru",
    "psychological",
    "legal",
    "humanitarian",
    "housing",
    "other",
    "food",
    "baby",
    "today",
    "shelter",
    "0",
    "1",
    "2",
    "3",
    "6",
    "17",
    "r.msk",
    "r.zzz",
    "p.1",
    "p.99",
    "add.101",
    "wd.101",
    "add.x",
    "summary",
    "category",
    "children",
    "region",
    "description",
    "contact",
    "ann_on",
    "ann_off",
    "delete",
    "teen",
]
TEXTS = [
    "SOS",
    "срочно",
    "Муж бьёт детей",
    "хочу покончить с собой",
    "8 900 123 45 67",
    "+7 900 123-45-67",
    "2, 5",
    "3",
    "Москва",
    "",
    "   ",
    "<b>x</b>",
    "a" * 5000,
    "ёжик",
    "Done",
    "⬅️ Назад",
    "✖️ Отмена",
    "🆘",
]
COMMANDS = [
    "start",
    "sos",
    "menu",
    "help",
    "erase",
    "language",
    "my_data",
    "delete_my_data",
    "requests",
    "contacts",
    "cancel",
    "new",
    "bogus",
]

payloads = st.builds(
    Payload,
    step=st.sampled_from([*STEPS, GLOBAL_STEP, "old_step"]),
    value=st.one_of(st.sampled_from(KNOWN_VALUES), st.from_regex(r"[a-z0-9.]{1,12}", fullmatch=True)),
)
events = st.one_of(
    st.builds(
        Event, kind=st.just(EventKind.TEXT), text=st.one_of(st.sampled_from(TEXTS), st.text(max_size=300))
    ),
    st.builds(Event, kind=st.just(EventKind.COMMAND), command=st.sampled_from(COMMANDS)),
    st.builds(Event, kind=st.just(EventKind.BUTTON), payload=st.one_of(st.none(), payloads)),
    st.builds(
        Event,
        kind=st.just(EventKind.MEDIA),
        attachment=st.builds(Attachment, kind=st.sampled_from(AttachmentKind), ref=st.just("tg:file")),
        text=st.sampled_from(["", "подпись"]),
    ),
    st.builds(
        Event, kind=st.just(EventKind.CONTACT), phone=st.sampled_from(["79001234567", "+380501234567", "1"])
    ),
    st.builds(
        Event, kind=st.just(EventKind.UNSUPPORTED), what=st.sampled_from(["sticker", "location", "poll"])
    ),
    st.builds(Event, kind=st.just(EventKind.TICKET_CREATED), number=st.integers(1, 10**6)),
)


NAVIGATION = {"back", "cancel", "exit", "sos", "menu", "lang", "contacts", "delete", "edit"}


def on_screen(driver: DialogDriver) -> list[Payload]:
    if driver.last is None:
        return []
    return [b.payload for s in driver.last.screens for row in s.buttons for b in row if b.payload is not None]


# Derandomized: the same 300 runs each time, so the guard below (the runs reach the deep steps) cannot
# fail by bad luck in CI; a change to the dialogs still changes which paths they take.
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), consented=st.booleans(), locale=st.sampled_from(["ru", "en"]))
def test_any_sequence_keeps_a_valid_state(
    driver: DialogDriver, data: st.DataObject, consented: bool, locale: str
):
    driver.reset(consent="test-1" if consented else None, locale=locale)
    visited: set[str] = set()
    for _ in range(data.draw(st.integers(1, 80), label="length")):
        buttons = on_screen(driver)
        forward = [p for p in buttons if p.value not in NAVIGATION]
        roll = data.draw(st.integers(0, 9), label="tap")
        if forward and roll < 6:
            event = Event(kind=EventKind.BUTTON, payload=data.draw(st.sampled_from(forward), label="forward"))
        elif buttons and roll < 8:
            event = Event(kind=EventKind.BUTTON, payload=data.draw(st.sampled_from(buttons), label="button"))
        else:
            event = data.draw(events, label="event")
        screens = driver.send(event)
        visited.add(str(driver.state))
        assert driver.state in STEPS or driver.state == "start"
        # The data survives the JSON round trip of the dialog state table.
        assert DialogData.model_validate_json(driver.data.model_dump_json()) == driver.data
        effects = driver.last.effects if driver.last else []
        if not effects:
            assert screens, f"no answer to {event!r} in {driver.state}"
        quiet_effect = bool(driver.last and driver.last.effects)  # quick exit, data deletion, ...
        if screens and not quiet_effect:
            last = screens[-1]
            sos = [b for row in last.buttons for b in row if b.payload and b.payload.value == "sos"]
            assert sos or last.reply_buttons, f"no emergency button on {driver.state}"
        for screen in screens:
            assert screen.text.strip()
            assert_fits_vk(screen)
            for row in screen.buttons:
                assert 0 < len(row) <= 8
                for button in row:
                    assert button.label.strip()
                    assert button.payload is None or len(button.payload.pack().encode()) <= 64
        if driver.state not in {"consent", "no_consent", "lang", "my_data", "delete_confirm", "start"}:
            assert driver.consent is not None, f"{driver.state} reached without consent"
        assert len(driver.data.history) <= 30
    VISITED.update(visited)


VISITED: set[str] = set()


def assert_fits_vk(screen: Screen) -> None:
    """Every screen reaches a VK user whole, in an old app (one regular keyboard) and a new one."""
    wanted = [b.label for row in screen.buttons for b in row if b.payload or b.url] + list(
        screen.reply_buttons
    )
    for client in (ClientInfo(inline=False, callback=False), ClientInfo(inline=True, callback=True)):
        labels = [
            button["action"]["label"]
            for part in vk_render(screen, client)
            if part.keyboard
            for row in json.loads(part.keyboard)["buttons"]
            for button in row
        ]
        assert labels == wanted, f"VK would not show these buttons as they are: {wanted}"


def test_the_property_run_reached_deep_steps() -> None:
    """Guards the generator itself: random taps must actually get through the triage."""
    if not VISITED:  # run on its own
        return
    assert {"t_summary", "t_desc", "mr_list", "t_phone"} <= VISITED, sorted(VISITED)
