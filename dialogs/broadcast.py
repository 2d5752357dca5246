"""The admin's broadcast wizard: text, audience, preview with the number of recipients, now or later.

Its own dialog with its own typed data, for admins only (``roles``): anyone else gets the answer
for an unknown command, whatever they type or press. The database work (counting, saving,
cancelling) is done by the use-case, which answers with a ``BROADCAST`` event.
"""

from __future__ import annotations

import re

from dialogs import broadcast_content, texts
from dialogs.admin_home import A
from dialogs.broadcast_content import show_preview
from dialogs.broadcast_state import B, BroadcastData, BroadcastTurn
from dialogs.effects import CancelBroadcasts, CountAudience, PricePaid
from dialogs.engine import Dialog, Handlers, Step
from dialogs.i18n import N_, SUPPORTED_LOCALES
from dialogs.primitives import Event, EventKind, Role, Screen
from storage.vocabulary import Category, Platform

__all__ = ["B", "BroadcastData", "BroadcastDialog", "BroadcastTurn", "assemble"]


PLATFORM_NAMES = {Platform.TELEGRAM.value: "Telegram", Platform.VK.value: "VK", Platform.MAX.value: "MAX"}
LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}
WHEN_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.?\s+(\d{1,2})[:.](\d{2})\s*$")


class Home(Step[BroadcastTurn]):
    name = B.HOME

    def render(self, t: BroadcastTurn) -> Screen:
        text = t._(N_("📣 <b>Announcements</b> go to the families who agreed to receive them."))
        rows = (
            (t.button(t._(N_("✍️ New announcement")), "new"),),
            (t.button(t._(N_("⛔ Cancel the waiting ones")), "stop"),),
            (t.button(t._(N_("🛠 Admin menu")), "admin"),),
        )
        return Screen(text=text, buttons=rows)

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        if value == "new":
            start(t)
        elif value == "stop":
            stop(t)
        elif value == "admin":
            t.reset_to(A.HOME)
        else:
            super().on_button(t, value)


def start(t: BroadcastTurn) -> None:
    t.data = BroadcastData()
    t.reset_to(B.HOME)
    t.go(B.TEXT)


def stop(t: BroadcastTurn) -> None:
    t.effect(CancelBroadcasts())
    t.silent = True  # the use-case's answer says how many


AUDIENCES = (
    ("all", N_("👥 Everyone who agreed")),
    ("region", N_("📍 By region")),
    ("category", N_("🗂 By kind of help asked for before")),
    ("lang", N_("🌐 By language")),
    ("platform", N_("📱 By messenger")),
)


class Audience(Step[BroadcastTurn]):
    name = B.AUDIENCE

    def render(self, t: BroadcastTurn) -> Screen:
        rows = [(t.button(t._(label), kind),) for kind, label in AUDIENCES]
        return Screen(text=t._(N_("Who should receive it?")), buttons=(*rows, t.nav()))

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        if value == "all":
            t.data.kind, t.data.value = "all", ""
            count(t)
        elif value in dict(AUDIENCES):
            t.data.kind, t.data.value = value, ""
            t.go(B.FILTER)
        else:
            super().on_button(t, value)


def count(t: BroadcastTurn) -> None:
    t.effect(CountAudience(audience=(t.data.kind, t.data.value)))
    t.go(B.PREVIEW)
    t.silent = True  # the preview comes with the use-case's count


def choices(t: BroadcastTurn) -> list[tuple[str, str]]:
    kind = t.data.kind
    if kind == "lang":
        return [(loc, LANGUAGE_NAMES.get(loc, loc)) for loc in SUPPORTED_LOCALES]
    if kind == "platform":
        return list(PLATFORM_NAMES.items())
    if kind == "category":
        return [(c.value, t._(texts.CATEGORY_LABELS[c])) for c in Category if c in texts.CATEGORY_LABELS]
    return []


class Filter(Step[BroadcastTurn]):
    name = B.FILTER

    def render(self, t: BroadcastTurn) -> Screen:
        if t.data.kind == "region":
            return Screen(text=t._(N_("Write the name of the region.")), buttons=(t.nav(),))
        rows = [(t.button(label, value),) for value, label in choices(t)]
        return Screen(text=t._(N_("Choose one:")), buttons=(*rows, t.nav()))

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        if value in dict(choices(t)):
            t.data.value = value
            count(t)
        else:
            super().on_button(t, value)

    def on_text(self, t: BroadcastTurn, text: str) -> None:
        region = t.ctx.directory.find_region(text) if t.data.kind == "region" else None
        if region is None:
            t.notice(t._(N_("I don't know this region. Please write its name as it is usually written.")))
            return
        t.data.value = region.code
        count(t)


class Preview(Step[BroadcastTurn]):
    name = B.PREVIEW

    def render(self, t: BroadcastTurn) -> Screen:
        n = t.data.count or 0
        if n == 0:
            text = t._(N_("Nobody in this audience has agreed to receive announcements. Choose another one."))
            return Screen(text=text, buttons=(t.nav(),))
        text = t.ngettext(
            "Above: the announcement as families will see it. It will reach {n} family.",
            "Above: the announcement as families will see it. It will reach {n} families.",
            n,
        ).format(n=n)
        rows = (
            (t.button(t._(N_("🚀 Send now")), "now"),),
            (t.button(t._(N_("⚡ Urgent: paid, faster (Telegram)")), "paid"),),
            (t.button(t._(N_("🕒 Schedule")), "later"),),
            (t.button(t._(N_("✏️ Change the text or the file")), "edit"),),
            t.nav(),
        )
        return Screen(text=text, buttons=rows)

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        if value == "now" and t.data.count:
            t.effect(t.sending())
            t.silent = True
        elif value == "paid" and t.data.count:
            t.effect(PricePaid(audience=(t.data.kind, t.data.value)))
            t.silent = True  # the use-case's answer brings the cost and the balance
        elif value == "later" and t.data.count:
            t.go(B.WHEN)
        elif value == "edit":
            t.data.attachment, t.data.text_en = None, ""  # the content is given anew, file included
            t.go(B.TEXT)
        else:
            super().on_button(t, value)


class When(Step[BroadcastTurn]):
    name = B.WHEN

    def render(self, t: BroadcastTurn) -> Screen:
        text = t._(
            N_("When should it go? Write the date and time, like 05.12 18:30 (time zone {zone}).")
        ).format(zone=t.ctx.zone)
        return Screen(text=text, buttons=(t.nav(),))

    def on_text(self, t: BroadcastTurn, text: str) -> None:
        match = WHEN_RE.match(text)
        parts = tuple(int(x) for x in match.groups()) if match else None
        if parts is None or not (
            1 <= parts[0] <= 31 and 1 <= parts[1] <= 12 and parts[2] < 24 and parts[3] < 60
        ):
            t.notice(t._(N_("I could not read this time. Please write it like 05.12 18:30.")))
            return
        day, month, hour, minute = parts
        when = (day, month, hour, minute)
        t.effect(t.sending(when=when))
        t.silent = True


COMMANDS = Handlers()


@COMMANDS("broadcast")
def _broadcast(t: BroadcastTurn) -> None:
    start(t)


@COMMANDS("broadcast_cancel")
def _broadcast_cancel(t: BroadcastTurn) -> None:
    t.reset_to(B.HOME)
    stop(t)


@COMMANDS("admin")
def _admin(t: BroadcastTurn) -> None:
    t.reset_to(A.HOME)


class BroadcastDialog(Dialog[BroadcastTurn]):
    name = "broadcast"
    data_model = BroadcastData
    turn_class = BroadcastTurn
    home = B.HOME
    roles = frozenset({Role.ADMIN})

    def cancel(self, t: BroadcastTurn) -> None:
        t.data = BroadcastData()
        t.reset_to(B.HOME)

    def on_event(self, t: BroadcastTurn, event: Event) -> None:
        if event.kind is not EventKind.BROADCAST:
            super().on_event(t, event)
            return
        n = event.number
        if event.what == "counted":
            t.data.count = n
            if n:
                show_preview(t)
        elif event.what == "priced":
            t.data.paid_count, t.data.balance = n, event.text
            t.go(B.PAID)
        elif event.what == "paid_unavailable":
            t.notice(
                t._(
                    N_(
                        "The paid broadcast is Telegram's, and I could not read the bot's Stars balance now "
                        "(or Telegram is not connected). You can send it as usual."
                    )
                )
            )
        elif event.what in ("queued", "scheduled"):
            message = (
                N_(
                    "✅ Announcement #{n} is on its way: I will report progress here. /broadcast_cancel stops it."
                )
                if event.what == "queued"
                else N_("🕒 Announcement #{n} is scheduled. /broadcast_cancel calls it off before it goes.")
            )
            t.notice(t._(message).format(n=n))
            t.data = BroadcastData()
            t.reset_to(B.HOME)
        elif event.what == "bad_time":
            t.notice(t._(N_("There is no such date. Please write it like 05.12 18:30.")))
        elif event.what == "cancelled":
            t.notice(
                t.ngettext(
                    "⛔ {n} announcement is called off.", "⛔ {n} announcements are called off.", n
                ).format(n=n)
                if n
                else t._(N_("Nothing is waiting to go."))
            )


def assemble() -> BroadcastDialog:
    return BroadcastDialog(
        [Home(), Audience(), Filter(), Preview(), When(), *broadcast_content.STEPS],
        commands=COMMANDS,
        entry=COMMANDS.by_name,
    )
