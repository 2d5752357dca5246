"""The dialog engine on its own: no transport, no database."""

from __future__ import annotations

import pytest

from dialogs.effects import EraseChat
from dialogs.primitives import Event, EventKind, Payload
from dialogs.questions import QUESTIONS
from storage.vocabulary import Category, ContactMethod
from tests.dialog_driver import DIALOGS, DialogDriver

STEPS = DIALOGS.by_name["family"].steps

EMERGENCY_NUMBERS = ("112", "8-800-2000-122", "124")


def consent(d: DialogDriver) -> None:
    d.command("start")
    assert d.state == "consent"
    d.press("yes")
    assert d.consent == "test-1"
    assert d.state == "opt_in", "announcements: their own question, right after consent"
    d.press("ann_no", step="*")
    assert d.state == "menu"


def begin(d: DialogDriver, category: str, *answers: str) -> None:
    """Consent, "ask for help", nobody in danger, a category and its answers."""
    consent(d)
    d.press("new")
    d.press("no")
    d.press(category)
    for answer in answers:
        d.press(answer)


def fill_common_tail(d: DialogDriver, *, phone: str | None = None) -> None:
    """Children, region, description, contact, summary -> send."""
    assert d.state == "t_children"
    d.press("2")
    assert d.state == "t_ages"
    d.press("3")
    d.press("10")
    assert d.state == "t_region"
    d.press("r.spb")
    assert d.state == "t_desc"
    d.text("Нам нужна помощь, мы не справляемся.")
    d.press("done")
    assert d.state == "t_contact"
    if phone is None:
        d.press("chat")
    else:
        d.press("phone")
        assert d.state == "t_phone"
        d.text(phone)
    assert d.state == "t_summary"
    d.press("send")


CATEGORY_ANSWERS: dict[Category, list[str]] = {
    Category.PSYCHOLOGICAL: ["teen", "phone"],
    Category.LEGAL: ["alimony"],
    Category.HUMANITARIAN: ["food", "baby", "done", "week"],
    Category.HOUSING: ["eviction", "yes"],
    Category.OTHER: [],
}


@pytest.mark.parametrize("locale", ["ru", "en"])
@pytest.mark.parametrize("category", list(Category))
def test_journey_every_category(driver: DialogDriver, category: Category, locale: str) -> None:
    driver.locale = locale
    consent(driver)
    driver.press("new")
    assert driver.state == "t_danger"
    driver.press("no")
    driver.press(category.value)
    for answer in CATEGORY_ANSWERS[category]:
        driver.press(answer)
    fill_common_tail(driver, phone="8 (912) 345-67-89")
    assert len(driver.created) == 1
    draft = driver.created[0]
    assert draft.category is category
    assert draft.children == 2
    assert draft.ages == [3, 10]
    assert draft.has_under4
    assert draft.region_code == "spb"
    assert draft.contact is ContactMethod.PHONE
    assert draft.phone == "+79123456789"
    assert draft.urgent is False
    assert driver.state == "menu"
    assert "#101" in driver.texts
    assert driver.data.draft is None
    assert set(draft.answers) == {q.key for q in QUESTIONS[category]}
    assert all(draft.answers.values())


def test_danger_now_shows_emergency_at_once_and_offers_callback(driver: DialogDriver) -> None:
    consent(driver)
    driver.press("new")
    driver.press("yes")
    assert driver.state == "t_danger_yes"
    for number in EMERGENCY_NUMBERS:
        assert number in driver.texts
    driver.press("callback")
    assert driver.state == "t_phone"
    driver.contact("79001112233")
    draft = driver.created[0]
    assert draft.callback and draft.urgent and draft.danger_now
    assert draft.phone == "+79001112233"
    assert driver.state == "menu"


def test_urgent_housing_when_no_safe_place(driver: DialogDriver) -> None:
    begin(driver, "housing", "shelter", "no")
    assert driver.data.draft is not None and driver.data.draft.urgent


def test_sos_word_at_any_step_returns_to_the_step(driver: DialogDriver) -> None:
    begin(driver, "legal", "custody")
    assert driver.state == "t_children"
    for word in ("SOS", "срочно", "Срочно!"):
        screens = driver.text(word)
        assert driver.state == "t_children"
        assert all(n in screens[0].text for n in EMERGENCY_NUMBERS)
        assert any(b.payload and b.payload.value == "2" for row in screens[-1].buttons for b in row)
    driver.command("sos")
    assert driver.state == "t_children"
    assert "112" in driver.texts


def test_sos_works_without_consent(driver: DialogDriver) -> None:
    screens = driver.text("SOS")
    assert "112" in screens[0].text
    driver.press("sos", step="*")
    assert "8-800-2000-122" in driver.texts
    assert driver.consent is None


def test_danger_words_mark_urgent_and_show_emergency_once(driver: DialogDriver) -> None:
    begin(driver, "other", "1", "5", "r.msk")
    screens = driver.text("Муж избивает меня и угрожает убить")
    assert "112" in screens[0].text
    assert "051" in screens[0].text  # the region's own line, known for Moscow
    assert driver.data.draft is not None
    assert driver.data.draft.urgent
    assert {"violence", "threat"} <= set(driver.data.draft.danger)
    screens = driver.text("Он опять бьёт")
    assert not any("112" in s.text for s in screens)
    assert driver.state == "t_desc"
    assert "опять" in driver.data.draft.description


def test_consent_refusal_collects_nothing(driver: DialogDriver) -> None:
    driver.command("start")
    driver.press("no")
    assert driver.state == "no_consent"
    assert all(n in driver.texts for n in EMERGENCY_NUMBERS)
    driver.command("requests")
    assert driver.state == "consent"
    driver.text("Мне нужна помощь с жильём")
    assert driver.state == "consent"
    assert driver.created == [] and driver.consent is None
    driver.press("contacts", step="*")
    assert "8-800-7000-600" in driver.texts
    driver.press("callback", step="*")
    assert driver.state == "consent" and driver.created == []


def test_back_and_cancel(driver: DialogDriver) -> None:
    consent(driver)
    driver.press("new")
    driver.press("no")
    driver.press("back", step="t_category")
    assert driver.state == "t_danger"
    driver.press("no")
    driver.press("humanitarian")
    driver.press("food")
    assert driver.state == "q_hum_needs"
    driver.press("cancel")
    assert driver.state == "t_cancel"
    driver.press("no")
    assert driver.state == "q_hum_needs"
    driver.press("cancel")
    driver.press("yes")
    assert driver.state == "menu" and driver.data.draft is None and driver.created == []


def test_stale_and_forged_buttons_change_nothing(driver: DialogDriver) -> None:
    consent(driver)
    driver.press("new")
    driver.press("no")
    before = driver.data.model_copy(deep=True)
    driver.press("psychological", step="t_danger")  # an old screen's button
    assert driver.state == "t_category"
    assert driver.data == before
    assert driver.last is not None and driver.last.toast
    driver.press("nonsense", step="t_category")
    assert driver.state == "t_category"
    driver.send(Event(kind=EventKind.BUTTON, payload=None))
    assert driver.state == "t_category" and driver.data == before
    driver.press("unknown-global", step="*")
    assert driver.state == "t_category"


def test_bad_input_repeats_the_question(driver: DialogDriver) -> None:
    begin(driver, "legal")
    for action in (driver.sticker, lambda: driver.text("   "), lambda: driver.command("frobnicate")):
        screens = action()
        assert driver.state == "q_legal_topic"
        assert any(b.payload and b.payload.value == "alimony" for row in screens[-1].buttons for b in row)
    screens = driver.photo()
    assert driver.state == "q_legal_topic"


def test_huge_text_is_refused_with_the_limit(driver: DialogDriver) -> None:
    begin(driver, "other", "0")
    driver.text("Тверская область")
    assert driver.state == "t_desc"
    driver.text("а" * 10_000)
    assert driver.state == "t_desc"
    assert driver.data.draft is not None and driver.data.draft.description == ""
    assert "4000" in driver.texts
    for _ in range(3):
        driver.text("б" * 1000)
    driver.text("в" * 1000)  # would pass the 3500 limit of the whole story
    assert len(driver.data.draft.description) < 3500
    assert "3500" in driver.texts


def test_attachment_limit_is_stated(driver: DialogDriver) -> None:
    begin(driver, "other", "0")
    driver.text("Москва")
    assert driver.data.draft is not None and driver.data.draft.region_code == "msk"
    for i in range(11):
        driver.photo(caption=f"фото {i}" if i == 0 else "")
    assert len(driver.data.draft.attachments) == 10
    assert "10" in driver.texts
    assert driver.data.draft.description == "фото 0"


def test_phone_validation(driver: DialogDriver) -> None:
    consent(driver)
    driver.press("new")
    driver.press("yes")
    driver.press("callback")
    for bad in ("12345", "позвоните мне", "+7 900 123", "8 800"):
        driver.text(bad)
        assert driver.state == "t_phone"
    assert driver.created == []
    driver.text("+7 (900) 123-45-67")
    assert driver.created[0].phone == "+79001234567"


def test_ages_typed_and_mismatch(driver: DialogDriver) -> None:
    begin(driver, "other")
    driver.text("3")
    assert driver.state == "t_ages"
    driver.text("1, 5, 7, 9")
    assert driver.state == "t_ages"
    assert driver.data.draft is not None and driver.data.draft.ages == []
    driver.text("0, 5")
    assert driver.state == "t_ages"
    driver.press("undo")
    assert driver.data.draft.ages == [0]
    driver.text("6 и 12")
    assert driver.state == "t_region"
    assert driver.data.draft.ages == [0, 6, 12]


def test_region_paging_and_free_text(driver: DialogDriver) -> None:
    begin(driver, "other", "0")
    assert driver.last is not None
    first_page = {b.payload.value for row in driver.last.screens[-1].buttons for b in row if b.payload}
    driver.press("p.1")
    assert driver.state == "t_region"
    assert driver.last is not None and driver.last.screens[-1].edit
    second_page = {b.payload.value for row in driver.last.screens[-1].buttons for b in row if b.payload}
    assert "r.vlg" in second_page and "r.vlg" not in first_page
    driver.text("Тверская область, г. Ржев")
    assert driver.data.draft is not None and driver.data.draft.region == "Тверская область, г. Ржев"
    assert driver.data.draft.region_code is None


def test_edit_a_field_returns_to_summary(driver: DialogDriver) -> None:
    begin(driver, "legal", "benefits")
    fill_common_tail_without_send(driver)
    driver.press("edit")
    driver.press("region")
    assert driver.state == "t_region"
    driver.press("r.msk")
    assert driver.state == "t_summary"
    driver.press("edit")
    driver.press("category")
    driver.press("housing")
    assert driver.state == "q_house_issue"
    driver.press("utilities")
    driver.press("yes")
    assert driver.state == "t_summary"
    driver.press("send")
    draft = driver.created[0]
    assert draft.category is Category.HOUSING and draft.region_code == "msk"
    assert draft.answers == {"house_issue": ["utilities"], "house_safe": ["yes"]}


def fill_common_tail_without_send(d: DialogDriver) -> None:
    d.press("1")
    d.press("0")
    d.press("r.spb")
    d.text("Не платят пособие")
    d.press("done")
    d.press("chat")
    assert d.state == "t_summary"


def test_summary_escapes_user_text(driver: DialogDriver) -> None:
    begin(driver, "other", "0")
    driver.text("<b>Район</b>")
    driver.text("<script>alert(1)</script> & <i>")
    driver.press("done")
    driver.press("chat")
    assert driver.last is not None
    summary = driver.last.screens[-1]
    assert summary.protect
    assert "&lt;script&gt;" in summary.text and "<script>" not in summary.text
    assert "&lt;b&gt;Район&lt;/b&gt;" in summary.text


def test_my_requests_add_withdraw_and_forged_ticket(driver: DialogDriver) -> None:
    begin(driver, "other")
    fill_common_tail(driver)
    driver.press("requests")
    assert driver.state == "mr_list"
    driver.press("add.999")  # not this family's ticket
    assert driver.state == "mr_list" and driver.added == []
    driver.press("add.101")
    assert driver.state == "mr_add"
    driver.text("Ещё: нас выселяют в пятницу")
    driver.photo()
    driver.press("send")
    assert driver.added and driver.added[0].ticket_id == 101 and len(driver.added[0].attachments) == 1
    driver.press("requests")
    driver.press("wd.101")
    driver.press("yes")
    assert driver.tickets[0].status.value == "withdrawn"
    driver.press("requests")
    driver.press("wd.101", step="mr_list")  # withdrawn already: refused
    assert driver.state == "mr_list"


@pytest.mark.parametrize(
    ("count", "word"), [(1, "1 заявка"), (3, "3 заявки"), (5, "5 заявок"), (21, "21 заявка")]
)
def test_russian_plural_forms(driver: DialogDriver, count: int, word: str) -> None:
    consent(driver)
    for _ in range(count):
        driver.press("new")
        driver.press("no")
        driver.press("other")
        fill_common_tail(driver)
    driver.press("requests")
    assert word in driver.texts


def test_quick_exit_is_silent(driver: DialogDriver) -> None:
    consent(driver)
    driver.press("new")
    driver.press("no")
    screens = driver.press("exit", step="*")
    assert screens == []
    assert driver.last is not None and any(isinstance(e, EraseChat) for e in driver.last.effects)
    assert driver.state == "menu"
    driver.command("start")
    driver.press("continue")
    assert driver.state == "t_category"


def test_privacy_commands(driver: DialogDriver) -> None:
    consent(driver)
    driver.command("my_data")
    assert driver.state == "my_data" and "tg:1" in driver.texts and "test-1" in driver.texts
    assert driver.last is not None and driver.last.screens[-1].protect
    driver.press("ann_on")
    assert driver.announcements
    driver.command("delete_my_data")
    assert driver.state == "delete_confirm"
    driver.press("no")
    assert driver.state == "my_data"
    driver.command("delete_my_data")
    driver.press("yes")
    assert driver.deleted == 1
    driver.text("привет")
    assert driver.state == "consent"


def test_language_switch(driver: DialogDriver) -> None:
    driver.command("start")
    driver.press("lang.en")
    assert driver.locale == "en"
    assert "consent" in driver.texts
    driver.press("yes")
    driver.command("language")
    driver.press("ru")
    assert driver.locale == "ru" and driver.state == "menu"


def test_every_payload_fits_telegram(driver: DialogDriver) -> None:
    for name in STEPS:
        assert ":" not in name
        Payload(step=name, value="wd.2147483647").pack()


def test_danger_words_in_a_caption_and_in_added_information(driver: DialogDriver) -> None:
    begin(driver, "other", "0", "r.msk")
    screens = driver.photo(caption="Вот синяки, он избил меня вчера")
    assert "112" in screens[0].text
    assert driver.data.draft is not None and driver.data.draft.urgent
    assert "избил" in driver.data.draft.description
    driver.press("done")
    driver.press("chat")
    driver.press("send")
    assert driver.created[0].urgent
    driver.press("requests")
    driver.press("add.101")
    screens = driver.text("Он грозит убить детей")
    assert "112" in screens[0].text
    driver.press("send")
    assert driver.added[0].urgent


# ---- regressions found in review ----


def test_an_unfinished_request_can_always_be_continued(driver: DialogDriver) -> None:
    begin(driver, "legal", "custody")
    driver.press("2")
    driver.text("4, 8")
    driver.press("r.msk")
    driver.text("Суд через неделю")
    for leave in (
        lambda: driver.command("start"),
        lambda: driver.command("my_data"),
        lambda: driver.command("requests"),
    ):
        leave()
        driver.command("menu")
        driver.press("continue", step="menu")
        assert driver.state == "t_desc", "the parent comes back where she left"
        assert driver.data.draft is not None and driver.data.draft.description == "Суд через неделю"
    driver.press("done")
    driver.press("chat")
    driver.press("edit")
    driver.press("region")
    driver.press("r.spb")
    driver.press("back", step="t_summary")  # history was reset by the edit: back falls to the menu
    driver.press("continue", step="menu")
    assert driver.state == "t_summary"


def test_urgent_call_back_keeps_what_was_told(driver: DialogDriver) -> None:
    begin(driver, "housing", "eviction", "no")
    driver.press("1")
    driver.press("2")
    driver.press("r.msk")
    driver.text("Нас выгоняют на улицу сегодня")
    driver.press("callback", step="*")
    driver.text("+7 900 000-00-01")
    draft = driver.created[0]
    assert draft.callback and draft.urgent
    assert draft.category is Category.HOUSING and draft.region_code == "msk"
    assert draft.description == "Нас выгоняют на улицу сегодня" and draft.ages == [2]


def test_rewriting_the_story_keeps_the_old_one_until_a_new_one_arrives(driver: DialogDriver) -> None:
    begin(driver, "other")
    fill_common_tail_without_send(driver)
    driver.press("edit")
    driver.press("description")
    driver.press("back", step="t_desc")
    assert driver.state == "t_summary"
    assert driver.data.draft is not None and driver.data.draft.description == "Не платят пособие"
    driver.press("edit")
    driver.press("description")
    driver.text("Пособие не платят три месяца")
    driver.text("Документы есть")
    assert driver.data.draft.description == "Пособие не платят три месяца\n\nДокументы есть"


def test_cancel_twice_does_not_trap_the_parent(driver: DialogDriver) -> None:
    begin(driver, "other")
    driver.press("0")
    driver.press("r.msk")
    driver.press("done")  # nothing written yet: a notice
    driver.press("chat", step="t_desc")  # stale: ignored
    driver.press("cancel", step="t_desc")
    assert driver.state == "t_cancel"
    driver.text("✖️ Отмена")  # a second tap on a cancel label while already asking
    assert driver.state == "t_cancel"
    driver.press("no")
    assert driver.state == "t_desc"


@pytest.mark.parametrize("text", ["²", "5, ³", "٣", "①"])
def test_unicode_digits_are_not_numbers(driver: DialogDriver, text: str) -> None:
    begin(driver, "other")
    driver.text(text)
    assert driver.state == "t_children"
    driver.press("3")
    driver.text(text)
    assert driver.state == "t_ages"
    driver.press("²")
    assert driver.data.draft is not None and driver.data.draft.ages == []


def test_a_caption_is_kept_when_the_file_is_over_the_limit(driver: DialogDriver) -> None:
    begin(driver, "other")
    driver.press("0")
    driver.press("r.msk")
    for _ in range(10):
        driver.photo()
    driver.photo(caption="И ещё одно важное")
    assert driver.data.draft is not None and len(driver.data.draft.attachments) == 10
    assert driver.data.draft.description == "И ещё одно важное"


def test_danger_in_the_caption_of_a_first_message(driver: DialogDriver) -> None:
    screens = driver.photo(caption="Муж избил ребёнка")
    assert "112" in screens[0].text


def test_added_information_over_the_limit_says_so_kindly(driver: DialogDriver) -> None:
    begin(driver, "other")
    fill_common_tail(driver)
    driver.press("requests")
    driver.press("add.101")
    driver.text("а" * 3000)
    driver.text("б" * 1000)
    assert "3500" in driver.texts
    assert driver.data.info_text == "а" * 3000


def test_typing_a_buttons_words_counts_as_tapping_it(driver: DialogDriver) -> None:
    consent(driver)
    driver.press("new")
    driver.press("no")
    legal = (
        next(
            b.label
            for s in driver.last.screens
            for r in s.buttons
            for b in r
            if b.payload and b.payload.value == "legal"
        )
        if driver.last
        else ""
    )
    driver.text(legal.split(" ", 1)[1].upper())  # without the emoji, in capitals
    assert driver.state == "q_legal_topic"
    driver.text("Алименты")
    assert driver.state == "t_children"
    driver.press("0")
    driver.press("r.msk")
    driver.text("Не платит")
    driver.press("done")
    driver.text("8 900 111-22-33")  # a phone typed at "how to contact": taken as is
    assert driver.state == "t_summary"
    assert driver.data.draft is not None and driver.data.draft.phone == "+79001112233"
