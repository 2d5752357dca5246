"""The inbox's pure parts: links per platform, ages, and pages that stay one Telegram message."""

from __future__ import annotations

from datetime import timedelta

from dialogs.cards import Speaker
from dialogs.i18n import Translators
from dialogs.inbox import PAGE_SIZE, InboxAction, InboxLine, age, inbox_page
from handlers.desk_commands import card_link
from storage.models import utcnow
from storage.vocabulary import Category, ChatKind, ChatRef, Platform, TicketStatus


def test_links_exist_only_where_the_platform_has_them() -> None:
    supergroup = ChatRef(Platform.TELEGRAM, -1001234567890, ChatKind.GROUP)
    assert card_link(supergroup, 55, None) == "https://t.me/c/1234567890/55"
    assert card_link(supergroup, 55, 7) == "https://t.me/c/1234567890/7", "a forum card: its topic"
    assert card_link(ChatRef(Platform.TELEGRAM, -4012345, ChatKind.GROUP), 55, None) is None
    assert card_link(ChatRef(Platform.VK, 2000000001, ChatKind.GROUP), 55, None) is None
    assert card_link(ChatRef(Platform.MAX, -70123, ChatKind.GROUP), 55, None) is None


def test_ages_and_a_full_page_of_long_lines_fit_one_message(translators: Translators) -> None:
    s = Speaker(translators["ru"], "ru")
    now = utcnow()
    assert age(s, now - timedelta(seconds=20), now) == "1 мин"
    assert age(s, now - timedelta(hours=30), now) == "30 ч"
    assert age(s, now - timedelta(days=5), now) == "5 дн."
    items = [
        InboxLine(
            id=100000 + i,
            category=Category.HUMANITARIAN,
            region="<Очень длинное название региона>" * 6,
            urgent=True,
            status=TicketStatus.CLAIMED,
            created_at=now - timedelta(days=400),
            assignee_name="<Имя>" * 30,
            link=f"https://t.me/c/1234567890/{1000000 + i}",
        )
        for i in range(PAGE_SIZE)
    ]
    screen = inbox_page(s, items, total=1000, page=3, now=now, mine=False, owner=0)
    assert len(screen.text) < 4096
    assert "&lt;Имя&gt;" in screen.text, "names are escaped"
    nav = [InboxAction.unpack(b.payload) for row in screen.buttons for b in row]
    assert [(a.action, a.arg) for a in nav if a is not None] == [("open", 2), ("open", 4)]
