"""Texts and screens shared by several steps. Every user-facing string goes through gettext."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from dialogs.i18n import N_
from dialogs.primitives import Button, Screen, Speaks
from dialogs.questions import QUESTIONS
from dialogs.resources import family_lines, for_family
from storage.vocabulary import Category, ContactMethod, TicketStatus

if TYPE_CHECKING:
    from dialogs.directory import Region
    from dialogs.engine import Turn as _Turn
    from dialogs.state import DialogData, Draft

    Turn = _Turn[DialogData]  # a turn of the family's dialog

__all__ = ["Speaks"]  # re-exported: cards and desk texts speak like a dialog turn

LABEL_BACK = N_("⬅️ Back")
LABEL_CANCEL = N_("✖️ Cancel")
LABEL_SOS = N_("🆘 Emergency")
LABEL_EXIT = N_("🚪 Quick exit")
LABEL_MENU = N_("🏠 Main menu")
LABEL_CONTACTS = N_("📋 Useful contacts")

CATEGORY_LABELS: dict[Category, str] = {
    Category.PSYCHOLOGICAL: N_("🧡 Psychological support"),
    Category.LEGAL: N_("⚖️ Legal help"),
    Category.HUMANITARIAN: N_("🧺 Food, clothes, medicine, baby goods"),
    Category.HOUSING: N_("🏠 Housing: shelter, eviction, utilities"),
    Category.OTHER: N_("💬 Something else"),
}

CATEGORY_NAMES: dict[Category, str] = {
    Category.PSYCHOLOGICAL: N_("psychological support"),
    Category.LEGAL: N_("legal help"),
    Category.HUMANITARIAN: N_("humanitarian help"),
    Category.HOUSING: N_("housing"),
    Category.OTHER: N_("other"),
}

STATUS_LABELS: dict[TicketStatus, str] = {
    TicketStatus.NEW: N_("waiting for a coordinator"),
    TicketStatus.CLAIMED: N_("a coordinator is working on it"),
    TicketStatus.CLOSED: N_("closed"),
    TicketStatus.WITHDRAWN: N_("withdrawn by you"),
    TicketStatus.HELD: N_("received"),
}


def esc(text: str) -> str:
    """User text inside formatted screens: a name like <b> must show as text."""
    return html.escape(text, quote=False)


def mention(key: str, name: str) -> str:
    """A name that notifies its person where the platform allows it (one specialist per family)."""
    platform, _, ident = key.partition(":")
    if platform == "tg" and ident.lstrip("-").isdecimal():
        return f'<a href="tg://user?id={ident}">{esc(name)}</a>'
    return esc(name)


def nav_label_action(t: Turn, text: str) -> str | None:
    """Reply-keyboard buttons arrive as text: map our own labels back to their action."""
    if text == t._(LABEL_BACK):
        return "back"
    if text == t._(LABEL_CANCEL):
        return "cancel"
    return None


LINE_112 = N_("• <b>112</b> — emergency services (free, 24/7)")
LINE_HELPLINE = N_("• <b>8-800-2000-122</b> — helpline for children and parents (free, 24/7, anonymous)")


def hotline_line(t: Turn) -> str:
    """The service's own line (ORG_HOTLINE), named after the service when ORG_NAME is set."""
    ctx = t.ctx
    line = esc(ctx.org_hotline or "")
    if ctx.org_name:
        return t._(N_("• <b>{line}</b> — «{org}», our own line")).format(line=line, org=esc(ctx.org_name))
    return t._(N_("• <b>{line}</b> — our own line")).format(line=line)


def org_lines(t: Turn) -> list[str]:
    """Who keeps the family's data and how to call them (ORG_NAME, ORG_HOTLINE), when set."""
    lines = []
    if t.ctx.org_name:
        lines.append(t._(N_("Your data is kept by «{org}».")).format(org=esc(t.ctx.org_name)))
    if t.ctx.org_hotline:
        lines.append(hotline_line(t))
    return lines


def emergency_screen(t: Turn) -> Screen:
    lines = [
        t._(N_("🆘 <b>If someone is in danger right now, call:</b>")),
        "",
        t._(LINE_112),
        t._(LINE_HELPLINE),
        t._(N_("• <b>124</b> — the same helpline, short number from a mobile phone")),
    ]
    if t.ctx.org_hotline:
        lines.append(hotline_line(t))
    region = _known_region(t)
    if region is not None and region.line:
        lines.append(
            t._(N_("• <b>{line}</b> — help line of {region}")).format(
                line=esc(region.line), region=esc(region.name(t.locale))
            )
        )
    lines += ["", t._(N_("Tap a number to call. You do not have to give your name."))]
    rows: list[tuple[Button, ...]] = []
    if t.consented:
        rows.append((t.global_button(t._(N_("📞 Call me back urgently")), "callback"),))
    rows.append((t.global_button(t._(LABEL_CONTACTS), "contacts"), t.global_button(t._(LABEL_EXIT), "exit")))
    return Screen(text="\n".join(lines), buttons=tuple(rows))


def _known_region(t: Turn) -> Region | None:
    directory = t.ctx.directory
    draft = t.data.draft
    if draft is not None and draft.region_code:
        return directory.region(draft.region_code)
    if t.ctx.person.region:
        return directory.region(t.ctx.person.region) or directory.find_region(t.ctx.person.region)
    return None


def contacts_screen(t: Turn) -> Screen:
    """The directory of help for this family: their region's resources for the kind of help they
    asked for first, then the national lines, which always show."""
    region = _known_region(t)
    draft = t.data.draft
    category = draft.category if draft is not None and draft.category else None
    if category is None and t.ctx.tickets:
        category = max(t.ctx.tickets, key=lambda k: (k.is_open, k.created_at)).category
    lines = [t._(N_("📋 <b>Useful contacts</b>")), ""]
    if t.ctx.org_hotline:
        lines += [hotline_line(t), ""]
    if not t.ctx.resources:  # no directory in the database (yet): the lines shipped with the bot
        for contact in t.ctx.directory.contacts:
            note = contact.note(t.locale)
            lines.append(f"<b>{esc(contact.phone)}</b> — {esc(contact.name(t.locale))}")
            if note:
                lines.append(f"<i>{esc(note)}</i>")
        return Screen(text="\n".join(lines))
    for resource in for_family(t.ctx.resources, region.code if region else None, category):
        lines += family_lines(resource, t.locale)
    return Screen(text="\n".join(lines))


def help_text(t: Turn) -> str:
    hours = t.ctx.traits.erase_hours
    erase = t.ngettext(
        "/erase — quick exit: delete our messages of the last {hours} hour",
        "/erase — quick exit: delete our messages of the last {hours} hours",
        hours,
    ).format(hours=hours)
    text = t._(
        N_(
            "I help families with children to ask for urgent help: psychological, legal, humanitarian "
            "or with housing. A coordinator reads every request.\n\n"
            "/start — main menu\n/sos — emergency numbers\n/requests — my requests\n"
            "/contacts — useful contacts\n/language — change the language\n{erase}\n"
            "/my_data — what we keep about you\n/delete_my_data — delete your data\n\n"
            "{app} keeps the chat itself in your list: to hide it too, press and hold it and delete it."
        )
    )
    text = text.format(erase=erase, app=t.ctx.traits.app)
    return "\n\n".join([text, "\n".join(org_lines(t))]) if org_lines(t) else text


def story_too_long(t: Turn, limit: int) -> str:
    return t.ngettext(
        "This does not fit: the whole story can be at most {n} character long. "
        "Please send a shorter message; the coordinator can ask you for details later.",
        "This does not fit: the whole story can be at most {n} characters long. "
        "Please send a shorter message; the coordinator can ask you for details later.",
        limit,
    ).format(n=limit)


def children_text(t: Speaks, count: int | None, ages: list[int]) -> str:
    if count is None:
        return "—"
    if count == 0:
        return t._(N_("no children in the family yet"))
    text = t.ngettext("{n} child", "{n} children", count).format(n=count)
    if ages:
        text += t._(N_(", ages: {ages}")).format(ages=", ".join(age_label(t, a) for a in ages))
    return text


def age_label(t: Speaks, age: int) -> str:
    return t._(N_("under 1")) if age == 0 else str(age)


def answers_text(t: Speaks, draft: Draft) -> list[str]:
    lines = []
    for question in QUESTIONS.get(draft.category, ()) if draft.category else ():
        chosen = draft.answers.get(question.key)
        if chosen:
            shown = ", ".join(t._(question.option_label(v)) for v in chosen)
            lines.append(f"{t._(question.short)}: {esc(shown)}")
    return lines


def summary_text(t: Turn, draft: Draft) -> str:
    category = t._(CATEGORY_NAMES[draft.category]) if draft.category else "—"
    contact = "—"
    if draft.contact is ContactMethod.CHAT:
        contact = t._(N_("in this chat"))
    elif draft.contact is ContactMethod.PHONE and draft.phone:
        contact = t._(N_("phone call to {phone}")).format(phone=esc(draft.phone))
    description = esc(draft.description) if draft.description else "—"
    files = t.ngettext("{n} file attached", "{n} files attached", len(draft.attachments)).format(
        n=len(draft.attachments)
    )
    lines = [t._(N_("📝 <b>Please check your request</b>")), ""]
    if draft.urgent:
        lines.append(t._(N_("❗ Marked as <b>urgent</b>")))
    lines.append(t._(N_("<b>Help needed:</b> {category}")).format(category=category))
    lines += answers_text(t, draft)
    lines.append(
        t._(N_("<b>Children:</b> {children}")).format(children=children_text(t, draft.children, draft.ages))
    )
    lines.append(t._(N_("<b>Region:</b> {region}")).format(region=esc(draft.region or "—")))
    lines.append(t._(N_("<b>What happened:</b> {text}")).format(text=description))
    if draft.attachments:
        lines.append(files)
    lines.append(t._(N_("<b>How to contact you:</b> {contact}")).format(contact=contact))
    return "\n".join(lines)


def size_parts(t: Speaks, chars: int, files: int) -> tuple[str, str]:
    """ "{n} characters", "{n} files" with Russian plural forms."""
    return (
        t.ngettext("{n} character", "{n} characters", chars).format(n=chars),
        t.ngettext("{n} file", "{n} files", files).format(n=files),
    )


def ticket_line(t: Turn, number: int, category: Category, status: TicketStatus) -> str:
    return t._(N_("<b>#{number}</b> · {category} · {status}")).format(
        number=number, category=t._(CATEGORY_NAMES[category]), status=t._(STATUS_LABELS[status])
    )


def requests_count(t: Turn, n: int) -> str:
    return t.ngettext("You have {n} request.", "You have {n} requests.", n).format(n=n)
