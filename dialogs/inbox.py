"""A coordinators' chat's inbox: /open and /mine as pages of one line per request. Pure: no I/O.

A line names no family: only the number, the kind of help, the region, urgency, age and assignee.
It links to the card where the platform has message links (Telegram supergroups); elsewhere a
"📍 #n" button makes the bot answer the card itself, so the quoted reply leads to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from dialogs import texts
from dialogs.cards import Speaker, shorten_escaped
from dialogs.i18n import N_
from dialogs.primitives import Button, PayloadCodec, Screen
from storage.vocabulary import Category, TicketStatus

INBOX_STEP = "ib"  # payload step of the inbox's buttons: a schema
PAGE_SIZE = 8  # lines a page: far below Telegram's 4096 characters, and 8 jump buttons + 2 fit VK's 10
JUMPS_PER_ROW = 4
# A typed region or a long name must not push a page past one message: each is cut to this (escaped).
REGION_CHARS = 60
NAME_CHARS = 40


class InboxAction(PayloadCodec):
    """``open.2.0``: page 2 of the chat's list; ``mine.0.123``: user 123's; ``go.12.0``: show card 12."""

    STEP: ClassVar[str] = INBOX_STEP
    action: str
    arg: int
    owner: int = 0


@dataclass(frozen=True)
class InboxLine:
    id: int
    category: Category
    region: str | None  # in the chat's language where known, else as the family typed it
    urgent: bool
    status: TicketStatus
    created_at: datetime
    assignee_name: str | None
    link: str | None  # to the card or its topic, where the platform has links


def age(s: Speaker, since: datetime, now: datetime) -> str:
    waited = max(timedelta(0), now - since)
    if waited < timedelta(hours=1):
        return s._(N_("{n} min")).format(n=max(1, int(waited.total_seconds() // 60)))
    if waited < timedelta(days=2):
        return s._(N_("{n} h")).format(n=int(waited.total_seconds() // 3600))
    return s._(N_("{n} d")).format(n=waited.days)


def line(s: Speaker, item: InboxLine, now: datetime) -> str:
    number = f"#{item.id}"
    number = f'<a href="{item.link}">{number}</a>' if item.link else f"<b>{number}</b>"
    parts = [("🆘 " if item.urgent else "") + number, s._(texts.CATEGORY_NAMES[item.category])]
    parts.append(shorten_escaped(item.region, REGION_CHARS) if item.region else "—")
    parts.append(age(s, item.created_at, now))
    if item.status is TicketStatus.CLAIMED and item.assignee_name:
        parts.append("✋ " + shorten_escaped(item.assignee_name, NAME_CHARS))
    else:
        parts.append(s._(N_("⏳ nobody yet")))
    return " · ".join(parts)


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def inbox_page(
    s: Speaker, items: list[InboxLine], *, total: int, page: int, now: datetime, mine: bool, owner: int
) -> Screen:
    """One page; ``items`` are that page's lines, ``total`` the list's length."""
    if total == 0:
        empty = (
            N_("You have no open requests in this chat.") if mine else N_("No open requests in this chat. 🎉")
        )
        return Screen(text=s._(empty))
    head = s._(
        N_("Your open requests: {n}.") if mine else N_("Open requests: {n}, urgent and oldest first.")
    ).format(n=total)
    pages = page_count(total)
    if pages > 1:
        head += " " + s._(N_("Page {page} of {pages}.")).format(page=page + 1, pages=pages)
    text = "\n".join([head, "", *(line(s, item, now) for item in items)])
    rows: list[tuple[Button, ...]] = []
    jumps = [
        Button(label=f"📍 #{item.id}", payload=InboxAction(action="go", arg=item.id).pack())
        for item in items
        if item.link is None
    ]
    rows += [tuple(jumps[i : i + JUMPS_PER_ROW]) for i in range(0, len(jumps), JUMPS_PER_ROW)]
    action = "mine" if mine else "open"
    nav = []
    if page > 0:
        nav.append(Button(label="◀️", payload=InboxAction(action=action, arg=page - 1, owner=owner).pack()))
    if page + 1 < pages:
        nav.append(Button(label="▶️", payload=InboxAction(action=action, arg=page + 1, owner=owner).pack()))
    if nav:
        rows.append(tuple(nav))
    return Screen(text=text, buttons=tuple(rows))


def jump(s: Speaker, ticket_id: int) -> Screen:
    return Screen(text=s._(N_("📍 Request <b>#{n}</b> is here.")).format(n=ticket_id))
