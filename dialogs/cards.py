"""A ticket's card in a coordinators' chat: a screen like any other, rendered without I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import ClassVar

from babel.dates import format_datetime

from dialogs import texts
from dialogs.directory import Directory
from dialogs.i18n import N_, Translator
from dialogs.primitives import Button, Payload, PayloadCodec, Screen
from dialogs.state import Draft
from storage.vocabulary import Category, ContactMethod, Outcome, TicketStatus

CARD_STEP = "tk"  # payload step of coordinators' buttons: a schema
# A card must stay one Telegram message (4096 characters) so that its buttons can be edited.
CARD_STORY_LIMIT = 2000

OUTCOME_LABELS = {
    Outcome.HELPED: N_("✅ Helped"),
    Outcome.REFERRED: N_("➡️ Referred to another organisation"),
    Outcome.UNREACHABLE: N_("📵 Could not reach the family"),
    Outcome.DUPLICATE: N_("🔁 Duplicate"),
    Outcome.NOT_OUR_PROFILE: N_("🚫 Not our profile"),
}

DANGER_LABELS = {
    "violence": N_("violence"),
    "threat": N_("threats"),
    "suicide": N_("risk of suicide or self-harm"),
    "child_alone": N_("a child left alone"),
    "missing": N_("a missing child"),
    "medical": N_("a medical emergency"),
    "sexual_abuse": N_("sexual abuse"),
    "confinement": N_("locked in, not let out"),
    "neglect": N_("a child neglected, hungry or out in the cold"),
}


@dataclass(frozen=True)
class CardView:
    """What a card shows; built by the use-case from the ticket, its family's history and its state."""

    id: int
    category: Category
    answers: dict[str, list[str]]
    urgent: bool
    danger: list[str]
    callback: bool
    region: str | None  # as the family's language or the family's own words have it
    children: int | None
    ages: list[int]
    description: str
    attachments: int
    contact: ContactMethod
    has_phone: bool
    status: TicketStatus
    created_at: datetime
    assignee_name: str | None = None
    claimed_at: datetime | None = None
    earlier_tickets: int = 0
    earlier_assignees: list[tuple[str, str]] = field(default_factory=list)  # (key, name) of who helped
    outcome: Outcome | None = None
    region_code: str | None = None  # a known region: shown in the reader's language
    outcome_note: str | None = None
    blocked: bool = False  # the person was blocked for abuse: their new requests are held


class Speaker:
    """Translation for a coordinators' chat, which has one language rather than one per person."""

    def __init__(
        self, tr: Translator, locale: str, directory: Directory | None = None, zone: tzinfo | None = None
    ) -> None:
        self.tr = tr
        self.locale = locale
        self.directory = directory
        self.zone = zone  # the coordinators' time zone (DEFAULT_TIMEZONE); None: times in UTC, so labelled

    def in_zone(self, zone: tzinfo | None) -> Speaker:
        """The same speaker for a chat in ``zone`` (None: this one's)."""
        return (
            self if zone is None or zone == self.zone else Speaker(self.tr, self.locale, self.directory, zone)
        )

    def when(self, moment: datetime) -> str:
        """A time on a card, in the coordinators' zone and language (Babel), e.g. "28.11 08:37"."""
        if self.zone is None:
            return format_datetime(moment, "dd.MM HH:mm 'UTC'", tzinfo=UTC, locale=self.locale)
        return format_datetime(moment, "dd.MM HH:mm", tzinfo=self.zone, locale=self.locale)

    def region(self, view: CardView) -> str | None:
        """The region in this chat's language: a known region by its code, else as the family typed it."""
        known = self.directory.region(view.region_code) if self.directory and view.region_code else None
        return known.name(self.locale) if known is not None else view.region

    def _(self, message: str) -> str:
        return self.tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.tr.ngettext(singular, plural, n)


STATUS_ICONS = {
    TicketStatus.NEW: "🆕",
    TicketStatus.CLAIMED: "✋",
    TicketStatus.CLOSED: "🔒",
    TicketStatus.WITHDRAWN: "↩️",
    TicketStatus.HELD: "⏸",
}


def topic_name(s: Speaker, view: CardView) -> str:
    """A forum topic's name: number, kind of help, region, and the status as an icon (at most 128)."""
    parts = [f"{STATUS_ICONS[view.status]} #{view.id}", s._(texts.CATEGORY_NAMES[view.category])]
    if region := s.region(view):
        parts.append(region)
    name = " · ".join(parts)
    return ("🆘 " + name if view.urgent else name)[:128]


def shorten_escaped(text: str, limit: int) -> str:
    """The start of ``text``, escaped, at most ``limit`` characters (escaping can make it 5 times longer)."""
    cut = text[:limit]
    while len(texts.esc(cut)) > limit:
        cut = cut[: max(0, len(cut) - max(1, (len(texts.esc(cut)) - limit) // 4))]
    return texts.esc(cut)


class CardAction(PayloadCodec):
    """A button on a ticket's card: ``claim.12``, ``oc-helped.12``, ``trr-legal-msk.12``. It carries no
    rights: the desk checks the chat, the status and the assignee of every press."""

    STEP: ClassVar[str] = CARD_STEP
    action: str  # what, with its argument after a "-": oc-<outcome>, trc-<kind>, trp-<kind>-<page>, ...
    ticket: int

    @property
    def kind(self) -> str:
        return self.action.partition("-")[0]

    @property
    def category(self) -> str:
        return self.action.partition("-")[2].partition("-")[0]

    @property
    def arg(self) -> str:
        """The outcome of "oc", the page of "trp", the region of "trr"."""
        if self.kind == "oc":
            return self.action.partition("-")[2]
        return self.action.partition("-")[2].partition("-")[2]


def card_payload(action: str, ticket_id: int) -> Payload:
    return CardAction(action=action, ticket=ticket_id).pack()


def card(s: Speaker, view: CardView) -> Screen:
    head = (
        s._(N_("🆘 <b>URGENT</b> · request <b>#{n}</b>"))
        if view.urgent
        else s._(N_("📝 Request <b>#{n}</b>"))
    ).format(n=view.id)
    lines = [head, ""]
    lines.append(
        s._(N_("<b>Help needed:</b> {category}")).format(category=s._(texts.CATEGORY_NAMES[view.category]))
    )
    draft_like = Draft(category=view.category, answers=view.answers)
    lines += texts.answers_text(s, draft_like)
    if view.danger:
        kinds = ", ".join(s._(DANGER_LABELS.get(k, k)) for k in view.danger)
        lines.append(s._(N_("⚠️ <b>Words of danger:</b> {kinds}")).format(kinds=texts.esc(kinds)))
    lines.append(
        s._(N_("<b>Children:</b> {children}")).format(
            children=texts.children_text(s, view.children, view.ages)
        )
    )
    if any(age < 4 for age in view.ages):
        lines.append(s._(N_("👶 A child under 4 in the family")))
    lines.append(s._(N_("<b>Region:</b> {region}")).format(region=texts.esc(s.region(view) or "—")))
    story = texts.esc(view.description)
    if len(story) > CARD_STORY_LIMIT:
        story = (
            shorten_escaped(view.description, CARD_STORY_LIMIT)
            + "… "
            + s._(N_("(the whole text follows the card)"))
        )
    lines.append(s._(N_("<b>What happened:</b> {text}")).format(text=story or "—"))
    if view.attachments:
        _chars, files = texts.size_parts(s, 0, view.attachments)
        lines.append(s._(N_("📎 {files}")).format(files=files))
    lines.append(_contact_line(s, view))
    if view.earlier_tickets:
        history = s.ngettext(
            "The family wrote before: {n} request.",
            "The family wrote before: {n} requests.",
            view.earlier_tickets,
        ).format(n=view.earlier_tickets)
        if view.earlier_assignees:
            names = ", ".join(texts.mention(key, name) for key, name in view.earlier_assignees)
            history += " " + s._(N_("Helped by: {names}.")).format(names=names)
        lines.append(history)
    lines += ["", _status_line(s, view)]
    if view.blocked:
        lines.append(s._(N_("🚫 The person is blocked: their new requests are kept, not posted.")))
    return Screen(text="\n".join(lines), buttons=(*_buttons(s, view), *_block_row(s, view)))


def _contact_line(s: Speaker, view: CardView) -> str:
    if view.callback:
        return s._(
            N_("📞 <b>Asks for an urgent call back.</b> The number is shown to whoever takes the request.")
        )
    if view.contact is ContactMethod.PHONE and view.has_phone:
        return s._(N_("📞 Contact by phone. The number is shown to whoever takes the request."))
    return s._(N_("💬 Contact in the chat with the bot."))


def _status_line(s: Speaker, view: CardView) -> str:
    if view.status is TicketStatus.NEW:
        return s._(N_("⏳ Waiting for a coordinator"))
    if view.status is TicketStatus.CLAIMED and view.assignee_name:
        when = s.when(view.claimed_at) if view.claimed_at else ""
        return s._(N_("✋ Taken by {name}, {when}")).format(name=texts.esc(view.assignee_name), when=when)
    if view.status is TicketStatus.WITHDRAWN:
        return s._(N_("↩️ Withdrawn by the family"))
    if view.status is TicketStatus.CLOSED and view.outcome is not None:
        line = s._(N_("🔒 Closed by {name}: {outcome}")).format(
            name=texts.esc(view.assignee_name or "—"), outcome=s._(OUTCOME_LABELS[view.outcome])
        )
        return f"{line} — {texts.esc(view.outcome_note)}" if view.outcome_note else line
    return s._(texts.STATUS_LABELS[view.status]).capitalize()


def _buttons(s: Speaker, view: CardView) -> tuple[tuple[Button, ...], ...]:
    if view.status is TicketStatus.NEW:
        return ((Button(label=s._(N_("✋ Take it")), payload=card_payload("claim", view.id)),),)
    if view.status is TicketStatus.CLAIMED:
        rows: list[tuple[Button, ...]] = []
        if view.has_phone:
            rows.append(
                (Button(label=s._(N_("📞 Show the phone number")), payload=card_payload("phone", view.id)),)
            )
        rows.append(
            (
                Button(label=s._(N_("↩️ Release")), payload=card_payload("release", view.id)),
                Button(label=s._(N_("🔀 Transfer")), payload=card_payload("transfer", view.id)),
            )
        )
        rows.append((Button(label=s._(N_("🔒 Close")), payload=card_payload("close", view.id)),))
        return tuple(rows)
    if view.status is TicketStatus.CLOSED:
        return ((Button(label=s._(N_("🔄 Reopen")), payload=card_payload("reopen", view.id)),),)
    return ()


def _block_row(s: Speaker, view: CardView) -> tuple[tuple[Button, ...], ...]:
    if view.status in (TicketStatus.WITHDRAWN, TicketStatus.HELD):
        return ()
    if view.blocked:
        return ((Button(label=s._(N_("✅ Unblock the person")), payload=card_payload("unblock", view.id)),),)
    return ((Button(label=s._(N_("🚫 Block the person")), payload=card_payload("block", view.id)),),)


def block_confirm_buttons(s: Speaker, ticket_id: int) -> tuple[tuple[Button, ...], ...]:
    """Blocking asks first; the card keeps its text meanwhile."""
    return (
        (Button(label=s._(N_("🚫 Yes, block")), payload=card_payload("block-yes", ticket_id)),),
        (Button(label=s._(N_("⬅️ Back")), payload=card_payload("block-no", ticket_id)),),
    )


def outcome_buttons(s: Speaker, ticket_id: int) -> tuple[tuple[Button, ...], ...]:
    """Close asks how it ended; the card keeps its text meanwhile."""
    rows = [
        (Button(label=s._(label), payload=card_payload(f"oc-{outcome.value}", ticket_id)),)
        for outcome, label in OUTCOME_LABELS.items()
    ]
    rows.append((Button(label=s._(N_("⬅️ Back")), payload=card_payload("back", ticket_id)),))
    return tuple(rows)


def referral_prompt(s: Speaker, ticket_id: int) -> Screen:
    text = s._(
        N_(
            "➡️ Request #{n}: reply to this message with the name of the organisation the family was referred to."
        )
    )
    return Screen(text=text.format(n=ticket_id), force_reply=True)


FAMILY_OUTCOME_TEXTS = {
    Outcome.HELPED: N_("The coordinator marked that help was given."),
    Outcome.REFERRED: N_("You were referred to: {note}. They will help you further."),
    Outcome.UNREACHABLE: N_("The coordinator could not reach you."),
    Outcome.DUPLICATE: N_("It repeats another request of yours; we go on with that one."),
    Outcome.NOT_OUR_PROFILE: N_(
        "This is outside what our service can do. /contacts lists other places that help."
    ),
}


def closed_for_family(s: Speaker, ticket_id: int, outcome: Outcome, note: str | None) -> Screen:
    lines = [
        s._(N_("🔒 Your request #{n} is closed.")).format(n=ticket_id),
        s._(FAMILY_OUTCOME_TEXTS[outcome]).format(note=texts.esc(note or "—")),
        "",
        s._(N_("If you need help again, just write here or send /start. If someone is in danger, call 112.")),
    ]
    return Screen(text="\n".join(lines))


def transferred_card(s: Speaker, card_screen: Screen, scope: str) -> Screen:
    """The old card, once the ticket has moved to another chat: no buttons, and where it went."""
    note = s._(N_("🔀 Transferred: {scope}")).format(scope=texts.esc(scope))
    return Screen(text=f"{card_screen.text}\n{note}")


def transferred_for_family(s: Speaker, ticket_id: int, category: Category) -> Screen:
    text = s._(
        N_("🔀 Your request #{n} has been passed to the specialists in {category}. They will contact you.")
    )
    return Screen(text=text.format(n=ticket_id, category=s._(texts.CATEGORY_NAMES[category])))


def reopened_for_family(s: Speaker, ticket_id: int) -> Screen:
    return Screen(
        text=s._(N_("🔄 Your request #{n} is open again; your coordinator will contact you.")).format(
            n=ticket_id
        )
    )


def info_added(s: Speaker, ticket_id: int, text: str, attachments: int, urgent: bool) -> Screen:
    head = s._(N_("➕ The family added to request <b>#{n}</b>:")).format(n=ticket_id)
    lines = [("🆘 " if urgent else "") + head, texts.esc(text) if text else ""]
    if attachments:
        lines.append(s._(N_("📎 {files}")).format(files=texts.size_parts(s, 0, attachments)[1]))
    return Screen(text="\n".join(line for line in lines if line))


def whole_story(s: Speaker, ticket_id: int, description: str) -> Screen:
    head = s._(N_("📄 Request <b>#{n}</b>, the whole story:")).format(n=ticket_id)
    return Screen(text=f"{head}\n{texts.esc(description)}")


def phone_added(s: Speaker, ticket_id: int) -> Screen:
    text = s._(
        N_("📞 The family of request <b>#{n}</b> shared a phone number: whoever takes the request sees it.")
    )
    return Screen(text=text.format(n=ticket_id))


def withdrawn(s: Speaker, ticket_id: int) -> Screen:
    return Screen(text=s._(N_("↩️ The family withdrew request <b>#{n}</b>.")).format(n=ticket_id))
