"""Screens of an admin binding a coordinators' chat to regions and categories."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from dialogs import texts
from dialogs.cards import Speaker, card_payload
from dialogs.directory import Directory
from dialogs.i18n import N_
from dialogs.primitives import Button, Payload, PayloadCodec, Screen
from storage.vocabulary import Category

BIND_STEP = "bd"  # payload step of binding buttons: a schema
ANY = "any"
REGIONS_PER_PAGE = 8


class BindAction(PayloadCodec):
    """A button of the /bind and /unbind screens: ``c.<kind>``, ``p.<kind>.<page>``, ``r.<kind>.<region>``,
    ``u.<binding>``. Only admins' presses count; the desk checks that on the server."""

    STEP: ClassVar[str] = BIND_STEP
    kind: str  # c: kind of help chosen, p: a page of regions, r: region chosen, u: remove a binding
    first: str = ""  # the kind of help, or the binding's id
    second: str = ""  # the page, or the region


def bind_payload(kind: str, first: str | int = "", second: str | int = "") -> Payload:
    return BindAction(kind=kind, first=str(first), second=str(second)).pack()


def scope_text(s: Speaker, directory: Directory, category: str | None, region_code: str | None) -> str:
    kind = s._(texts.CATEGORY_NAMES[Category(category)]) if category else s._(N_("any kind of help"))
    region = directory.region(region_code) if region_code else None
    where = region.name(s.locale) if region else s._(N_("any region"))
    return f"{kind} · {where}"


def choose_category(s: Speaker) -> Screen:
    rows = [
        (Button(label=s._(label), payload=bind_payload("c", c.value)),)
        for c, label in texts.CATEGORY_LABELS.items()
    ]
    rows.append((Button(label=s._(N_("Any kind of help")), payload=bind_payload("c", ANY)),))
    return Screen(
        text=s._(N_("Which requests should this chat receive? First, the kind of help:")), buttons=tuple(rows)
    )


def choose_region(s: Speaker, directory: Directory, category: str, page: int) -> Screen:
    rows = region_rows(
        s,
        directory,
        page,
        pick=lambda code: bind_payload("r", category, code),
        turn=lambda to: bind_payload("p", category, to),
    )
    rows.append((Button(label=s._(N_("Any region")), payload=bind_payload("r", category, ANY)),))
    return Screen(text=s._(N_("And from which region?")), buttons=tuple(rows))


def region_rows(
    s: Speaker,
    directory: Directory,
    page: int,
    *,
    pick: Callable[[str], Payload],
    turn: Callable[[int], Payload],
) -> list[tuple[Button, ...]]:
    """A page of region buttons, two a row, with paging: nothing is cut off silently."""
    regions = directory.regions
    pages = max(1, -(-len(regions) // REGIONS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = regions[page * REGIONS_PER_PAGE : (page + 1) * REGIONS_PER_PAGE]
    buttons = [Button(label=r.name(s.locale), payload=pick(r.code)) for r in shown]
    rows: list[tuple[Button, ...]] = [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
    pager = []
    if page > 0:
        pager.append(Button(label=s._(N_("◀️ Previous")), payload=turn(page - 1)))
    if page < pages - 1:
        pager.append(Button(label=s._(N_("More ▶️")), payload=turn(page + 1)))
    if pager:
        rows.append(tuple(pager))
    return rows


def bound(s: Speaker, scope: str, is_admin: bool) -> Screen:
    lines = [s._(N_("✅ This chat now receives requests: {scope}.")).format(scope=texts.esc(scope))]
    if not is_admin:
        lines.append(s._(NOT_ADMIN))
    return Screen(text="\n".join(lines))


NOT_ADMIN = N_(
    "⚠️ I am not an admin in this chat. Make me one, so that I can see the coordinators' "
    "replies to requests and keep the cards up to date."
)


def bindings_list(
    s: Speaker, chat: str, scopes: Sequence[tuple[int, str]], is_default: bool, removable: bool
) -> Screen:
    lines = [s._(N_("This chat receives requests:"))]
    lines += [f"• {texts.esc(scope)}" for _id, scope in scopes]
    if is_default:
        lines.append("• " + s._(N_("everything no other chat takes (the default chat)")))
    if not scopes and not is_default:
        lines = [s._(N_("This chat receives no requests. An admin can use /bind."))]
    lines.append(
        s._(N_("This chat's id, for COORDINATOR_CHAT: <code>{chat}</code>")).format(chat=texts.esc(chat))
    )
    rows = (
        tuple((Button(label="✖️ " + scope, payload=bind_payload("u", bid)),) for bid, scope in scopes)
        if removable
        else ()
    )
    return Screen(text="\n".join(lines), buttons=rows)


def transfer_categories(s: Speaker, ticket_id: int) -> tuple[tuple[Button, ...], ...]:
    """Transfer, first step: to which kind of help (the current one too, to change only the region)."""
    rows = [
        (Button(label=s._(label), payload=card_payload(f"trc-{c.value}", ticket_id)),)
        for c, label in texts.CATEGORY_LABELS.items()
    ]
    rows.append((Button(label=s._(N_("⬅️ Back")), payload=card_payload("back", ticket_id)),))
    return tuple(rows)


def transfer_regions(
    s: Speaker, directory: Directory, ticket_id: int, category: str, page: int
) -> tuple[tuple[Button, ...], ...]:
    same = Button(label=s._(N_("The same region")), payload=card_payload(f"trr-{category}-{SAME}", ticket_id))
    rows: list[tuple[Button, ...]] = [(same,)]
    rows += region_rows(
        s,
        directory,
        page,
        pick=lambda code: card_payload(f"trr-{category}-{code}", ticket_id),
        turn=lambda to: card_payload(f"trp-{category}-{to}", ticket_id),
    )
    rows.append((Button(label=s._(N_("⬅️ Back")), payload=card_payload("back", ticket_id)),))
    return tuple(rows)


SAME = "same"
