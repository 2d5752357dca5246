"""The admin's broadcast wizard: its states and typed data (persisted: a schema), and its turn."""

from __future__ import annotations

from enum import StrEnum

from dialogs import texts
from dialogs.effects import SendBroadcast
from dialogs.engine import Turn
from dialogs.primitives import Button
from dialogs.state import Attachment, DialogDataBase

# The first text is Russian, the optional second one English: families get their own where both exist.
MAIN_LOCALE, SECOND_LOCALE = "ru", "en"
TEXT_LIMIT = 3500  # the announcement's header and a message's 4,096 characters leave this much


class B(StrEnum):
    """The wizard's states: persisted, a schema (only add values)."""

    HOME = "bc_home"
    TEXT = "bc_text"
    AUDIENCE = "bc_aud"
    FILTER = "bc_filter"
    PREVIEW = "bc_preview"
    WHEN = "bc_when"
    ATTACH = "bc_attach"
    TEXT_EN = "bc_text_en"
    PAID = "bc_paid"


class BroadcastData(DialogDataBase):
    text: str = ""  # safe HTML (see admin_html)
    kind: str = "all"  # the audience: all, lang, platform, region, category
    value: str = ""
    count: int | None = None
    text_en: str = ""  # the English version, safe HTML ("": only the first text, for everyone)
    attachment: Attachment | None = None  # a photo or a document, as the admin's messenger keeps it
    paid_count: int | None = None  # families of the audience on Telegram, for the paid broadcast
    balance: str = ""  # the bot's Stars when they were read (a Decimal as text)


class BroadcastTurn(Turn[BroadcastData]):
    def nav(self) -> tuple[Button, ...]:
        return (
            self.button(self._(texts.LABEL_BACK), "back"),
            self.button(self._(texts.LABEL_CANCEL), "cancel"),
        )

    def versions(self) -> dict[str, str]:
        """The texts by language; one version written goes to everyone as written."""
        if self.data.text_en:
            return {MAIN_LOCALE: self.data.text, SECOND_LOCALE: self.data.text_en}
        return {"*": self.data.text}

    def sending(self, *, when: tuple[int, int, int, int] | None = None, paid: bool = False) -> SendBroadcast:
        versions = self.versions()
        return SendBroadcast(
            text=self.data.text,
            audience=(self.data.kind, self.data.value),
            when=when,
            zone=self.ctx.zone,
            texts=None if "*" in versions else versions,
            attachment=self.data.attachment,
            paid=paid,
        )
