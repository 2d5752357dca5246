"""What an announcement says and shows: its text, an optional photo or document, an optional English
version; the preview exactly as families get it; and Telegram's paid broadcast for urgent ones."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from dialogs.announcements import Announcement, SpeaksAs, admin_html
from dialogs.broadcast_state import TEXT_LIMIT, B, BroadcastTurn
from dialogs.engine import Step
from dialogs.i18n import N_
from dialogs.primitives import Screen
from dialogs.state import Attachment
from storage.vocabulary import AttachmentKind

FILE_KINDS = (AttachmentKind.PHOTO, AttachmentKind.DOCUMENT)
STAR_PRICE = Decimal("0.1")  # Telegram's fee for one message of a paid broadcast, in Stars


def _too_long(t: BroadcastTurn, text: str) -> bool:
    if len(text) <= TEXT_LIMIT:
        return False
    t.notice(
        t._(N_("That is too long for one announcement: at most {limit} characters.")).format(limit=TEXT_LIMIT)
    )
    return True


def _file_taken(t: BroadcastTurn, attachment: Attachment) -> bool:
    if attachment.kind not in FILE_KINDS:
        t.notice(
            t._(N_("An announcement can carry a photo or a document (a file); please send one of those."))
        )
        return False
    t.data.attachment = attachment
    return True


class Text(Step[BroadcastTurn]):
    name = B.TEXT

    def render(self, t: BroadcastTurn) -> Screen:
        if t.data.attachment is not None and not t.data.text:
            text = t._(N_("Got the file. Now send the text of the announcement: it goes with the file."))
        else:
            text = t._(
                N_(
                    "Send the text of the announcement in Russian. You may use <b>bold</b>, <i>italic</i>, "
                    "<u>underline</u> by writing the tags: &lt;b&gt;bold&lt;/b&gt;. A photo or a document "
                    "with the text as its caption works too."
                )
            )
        return Screen(text=text, buttons=(t.nav(),))

    def on_text(self, t: BroadcastTurn, text: str) -> None:
        if _too_long(t, text):
            return
        t.data.text = admin_html(text)
        t.go(B.TEXT_EN if t.data.attachment is not None else B.ATTACH)

    def on_media(self, t: BroadcastTurn, attachment: Attachment) -> None:
        caption = t.event.text.strip()
        if (caption and _too_long(t, caption)) or not _file_taken(t, attachment):
            return
        if caption:
            t.data.text = admin_html(caption)
            t.go(B.TEXT_EN)
        else:
            t.data.text = ""  # asked for next, on this step


class Attach(Step[BroadcastTurn]):
    name = B.ATTACH

    def render(self, t: BroadcastTurn) -> Screen:
        text = t._(N_("Add a photo or a document to the announcement? Send it now, or go on without one."))
        rows = ((t.button(t._(N_("➡️ Without a file")), "skip"),), t.nav())
        return Screen(text=text, buttons=rows)

    def on_media(self, t: BroadcastTurn, attachment: Attachment) -> None:
        if _file_taken(t, attachment):
            t.go(B.TEXT_EN)

    def on_text(self, t: BroadcastTurn, text: str) -> None:
        t.notice(t._(N_("Please send a photo or a document, or press «Without a file».")))

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        if value == "skip":
            t.data.attachment = None
            t.go(B.TEXT_EN)
        else:
            super().on_button(t, value)


class TextEn(Step[BroadcastTurn]):
    name = B.TEXT_EN

    def render(self, t: BroadcastTurn) -> Screen:
        text = t._(
            N_(
                "Families who use the bot in English can get an English version. Send it now, or go on: "
                "then everyone gets the Russian text."
            )
        )
        rows = ((t.button(t._(N_("➡️ Only the Russian text")), "skip"),), t.nav())
        return Screen(text=text, buttons=rows)

    def on_text(self, t: BroadcastTurn, text: str) -> None:
        if _too_long(t, text):
            return
        t.data.text_en = admin_html(text)
        t.go(B.AUDIENCE)

    def on_media(self, t: BroadcastTurn, attachment: Attachment) -> None:
        t.notice(t._(N_("Please send the English text, or press «Only the Russian text».")))

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        if value == "skip":
            t.data.text_en = ""
            t.go(B.AUDIENCE)
        else:
            super().on_button(t, value)


def show_preview(t: BroadcastTurn) -> None:
    """Every version exactly as families get it: in their language, with the file and the button."""
    files = (t.data.attachment,) if t.data.attachment is not None else ()
    for locale, text in t.versions().items():
        speaker = t if locale == "*" else SpeaksAs(locale, t.ctx.translators[locale])
        t.show(Announcement(broadcast=0, texts={"*": text}, files=files).screen(speaker))


def _stars(raw: str) -> Decimal | None:
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


class Paid(Step[BroadcastTurn]):
    """Telegram's paid broadcast: up to 1,000 messages a second for 0.1 Star each. The admin sees the
    cost and the bot's balance and confirms; a balance too small refuses it kindly."""

    name = B.PAID

    def cost(self, t: BroadcastTurn) -> Decimal:
        return STAR_PRICE * (t.data.paid_count or 0)

    def render(self, t: BroadcastTurn) -> Screen:
        n, balance, cost = t.data.paid_count or 0, _stars(t.data.balance), self.cost(t)
        if n == 0:
            text = t._(N_("None of these families uses Telegram: a paid broadcast would not make it faster."))
            return Screen(text=text, buttons=(t.nav(),))
        values = {"n": n, "cost": _fmt(cost), "balance": _fmt(balance or Decimal(0))}
        if balance is None or balance < cost:
            text = t._(
                N_(
                    "An urgent (paid) broadcast costs 0.1 ⭐ a message.\nFamilies on Telegram: {n}\n"
                    "Cost: {cost} ⭐\nThe bot's balance: {balance} ⭐\n\nThat is not enough, so nothing "
                    "is sent or charged. Top up the bot's Stars, or go back and send it as usual."
                )
            ).format(**values)
            return Screen(text=text, buttons=(t.nav(),))
        text = t._(
            N_(
                "⚡ Urgent: Telegram's paid broadcast sends up to 1,000 messages a second, for 0.1 ⭐ a "
                "message.\nFamilies on Telegram: {n}\nCost: {cost} ⭐\nThe bot's balance: {balance} ⭐\n\n"
                "Families on other messengers get it as usual."
            )
        ).format(**values)
        confirm = t.button(t._(N_("✅ Pay {cost} ⭐ and send now")).format(cost=values["cost"]), "confirm")
        return Screen(text=text, buttons=((confirm,), t.nav()))

    def on_button(self, t: BroadcastTurn, value: str) -> None:
        balance = _stars(t.data.balance)
        if value == "confirm" and t.data.paid_count and balance is not None and balance >= self.cost(t):
            t.effect(t.sending(paid=True))
            t.silent = True
        else:
            super().on_button(t, value)


def _fmt(amount: Decimal) -> str:
    """Stars as people write them: 12.5, 3, 0.1."""
    return f"{amount.normalize():f}"


STEPS = (Text(), Attach(), TextEn(), Paid())
