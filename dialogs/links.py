"""The admin's start links and QR codes (``/links``): one link per kind of help and messenger, for
posters in schools and clinics. A family who comes by one starts with that kind of help chosen."""

from __future__ import annotations

from enum import StrEnum

from dialogs import texts
from dialogs.admin_effects import SendQrCodes
from dialogs.engine import Dialog, Handlers, Step, Turn
from dialogs.i18n import N_
from dialogs.primitives import Button, Event, EventKind, Role, Screen
from dialogs.reports import outsider
from dialogs.start_links import payload_for
from dialogs.state import DialogDataBase
from storage.vocabulary import Category, Platform

ADMIN_HOME = "adm_home"  # dialogs.admin_home's home state (that module opens this one)
PLATFORM_NAMES = {Platform.TELEGRAM.value: "Telegram", Platform.VK.value: "VK", Platform.MAX.value: "MAX"}


class L(StrEnum):
    """The links dialog's states: persisted, a schema."""

    HOME = "lnk_home"


class LinksData(DialogDataBase):
    pass


class LinksTurn(Turn[LinksData]):
    pass


def links_of(base: str) -> list[tuple[Category | None, str]]:
    """The plain link to the bot (no kind of help chosen), then one per kind of help."""
    plain = base.split("?", 1)[0]
    return [(None, plain), *((c, base + payload_for(c)) for c in Category)]


class Home(Step[LinksTurn]):
    name = L.HOME

    def render(self, t: LinksTurn) -> Screen:
        lines = [t._(N_("🔗 <b>Start links</b>"))]
        rows: list[tuple[Button, ...]] = []
        for platform, base in t.ctx.start_links.items():
            name = PLATFORM_NAMES.get(platform, platform)
            lines += ["", f"<b>{name}</b>"]
            for category, link in links_of(base):
                label = t._(texts.CATEGORY_LABELS[category]) if category else t._(N_("Any request"))
                lines.append(f"• {label}: {texts.esc(link)}")
            rows.append((t.button(t._(N_("🖼 QR codes for {app}")).format(app=name), f"qr.{platform}"),))
        if not t.ctx.start_links:
            lines += ["", t._(N_("No messenger has told the bot its name yet: try again in a minute."))]
        lines += [
            "",
            t._(
                N_(
                    "A family who opens a link starts with that kind of help chosen, after the consent "
                    "and the question about danger. Print the QR codes on posters."
                )
            ),
        ]
        rows.append((t.button(t._(N_("🛠 Admin menu")), "admin"),))
        return Screen(text="\n".join(lines), buttons=tuple(rows))

    def on_button(self, t: LinksTurn, value: str) -> None:
        platform = value.removeprefix("qr.")
        if value.startswith("qr.") and platform in t.ctx.start_links:
            files = tuple(
                (f"qr_{platform}_{category.value if category else 'start'}.png", link)
                for category, link in links_of(t.ctx.start_links[platform])
            )
            t.effect(SendQrCodes(links=files))
            t.silent = True  # the handler's report follows the files
        elif value == "admin":
            t.reset_to(ADMIN_HOME)
        elif value == "back_links":
            t.edit = True
        else:
            super().on_button(t, value)


COMMANDS = Handlers()


@COMMANDS("links")
def _links(t: LinksTurn) -> None:
    t.reset_to(L.HOME)


class LinksDialog(Dialog[LinksTurn]):
    name = "links"
    data_model = LinksData
    turn_class = LinksTurn
    home = L.HOME
    roles = frozenset({Role.ADMIN})

    def finish(self, t: LinksTurn) -> None:
        if not outsider(t):
            super().finish(t)

    def on_event(self, t: LinksTurn, event: Event) -> None:
        if event.kind is EventKind.REPORT and event.system is not None:
            # Under the files, a short line; the long list of links is not sent again.
            back = (
                t.button(t._(N_("🔗 Start links")), "back_links"),
                t.button(t._(N_("🛠 Admin menu")), "admin"),
            )
            t.show(Screen(text=event.system.render(t), buttons=(back,)))
            t.silent = True
        else:
            super().on_event(t, event)


def assemble() -> LinksDialog:
    return LinksDialog([Home()], commands=COMMANDS, entry=COMMANDS.by_name)
