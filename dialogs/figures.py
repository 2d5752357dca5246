"""The admin's figures: how many requests, of which kind, from where, how fast they were taken,
how they ended. The counting is the use-case's (``handlers.figures``); this shows them."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from babel.numbers import format_decimal
from pydantic import Field

from dialogs import texts
from dialogs.cards import OUTCOME_LABELS
from dialogs.effects import Effect, ShowFigures
from dialogs.engine import Dialog, Handlers, Step, Turn
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Role, Screen, Speaks, SystemEvent
from dialogs.reports import outsider
from dialogs.state import DialogDataBase
from storage.vocabulary import Category, FollowUpAnswer, Outcome, TicketStatus

CHECKIN_LABELS = {
    FollowUpAnswer.YES.value: N_("got the help they needed"),
    FollowUpAnswer.PARTLY.value: N_("partly"),
    FollowUpAnswer.NO.value: N_("still need help"),
}

ADMIN_HOME = "adm_home"  # dialogs.admin_home's home state (that module opens this one)
PERIODS = (1, 7, 30, 90)


class F(StrEnum):
    """The figures dialog's states: persisted, a schema."""

    HOME = "fig_home"


class FiguresData(DialogDataBase):
    days: int = 7


class FiguresTurn(Turn[FiguresData]):
    def act(self, effect: Effect) -> None:
        """Every effect here reports back (``EventKind.REPORT``): the screen is shown after it."""
        self.effect(effect)
        self.silent = True


class FiguresReport(SystemEvent):
    """Counts only: what the figures screen shows."""

    kind: ClassVar[str] = "figures"
    days: int
    total: int
    urgent: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_status: dict[str, int]
    outcomes: dict[str, int]
    claimed: int
    claim_median: int | None  # minutes
    # The families' own answers to check-ins after closing (yes / partly / no), and their 1..5 ratings.
    checkins: dict[str, int] = Field(default_factory=dict)
    ratings: int = 0
    rating_mean: float | None = None

    def render(self, t: Speaks) -> str:
        return render_figures(t, self, {})


def _label(t: Speaks, labels: dict[str, str], code: str) -> str:
    return t._(labels[code]) if code in labels else texts.esc(code or "—")


def render_figures(t: Speaks, r: FiguresReport, regions: dict[str, str]) -> str:
    lines = [
        t._(N_("📊 <b>Figures for the last {days} days</b>")).format(days=r.days),
        t._(N_("Requests: {total}, urgent: {urgent}")).format(total=r.total, urgent=r.urgent),
    ]
    if r.total or r.checkins:
        categories = {c.value: texts.CATEGORY_NAMES[c] for c in Category}
        statuses = {s.value: texts.STATUS_LABELS[s] for s in TicketStatus}
        outcomes = {o.value: OUTCOME_LABELS[o] for o in Outcome}
        sections: tuple[tuple[str, dict[str, int], dict[str, str]], ...] = (
            (N_("By kind of help:"), r.by_category, categories),
            (N_("By region:"), r.by_region, {}),
            (N_("By status:"), r.by_status, statuses),
            (N_("Outcomes of closed requests:"), r.outcomes, outcomes),
            (N_("Check-ins after closing, as the families answered:"), r.checkins, CHECKIN_LABELS),
        )
        for title, counts, labels in sections:
            if not counts:
                continue
            lines += ["", f"<b>{t._(title)}</b>"]
            for code, n in counts.items():
                name = texts.esc(regions[code]) if code in regions else _label(t, labels, code)
                lines.append(f"• {name}: {n}")
        lines.append("")
        if r.claim_median is None:
            lines.append(t._(N_("No request was taken yet.")))
        else:
            lines.append(
                t._(N_("Taken: {claimed}; median time to take one: {minutes} min")).format(
                    claimed=r.claimed, minutes=r.claim_median
                )
            )
        if r.rating_mean is not None:
            lines.append(
                t.ngettext(
                    "How they were treated: {mean} of 5 on average ({n} rating)",
                    "How they were treated: {mean} of 5 on average ({n} ratings)",
                    r.ratings,
                ).format(mean=format_decimal(r.rating_mean, locale=t.locale), n=r.ratings)
            )
    return "\n".join(lines)


class Home(Step[FiguresTurn]):
    name = F.HOME

    def render(self, t: FiguresTurn) -> Screen:
        periods = tuple(
            t.button(("• " if d == t.data.days else "") + t._(N_("{days} d")).format(days=d), f"d{d}")
            for d in PERIODS
        )
        rows = (
            periods,
            (t.button(t._(N_("⬇️ Export CSV")), "export"),),
            (t.button(t._(N_("🛠 Admin menu")), "admin"),),
        )
        text = t._(N_("📊 <b>Figures</b>\n\nChoose a period; the export is one anonymous line per request."))
        return Screen(text=text, buttons=rows)

    def on_button(self, t: FiguresTurn, value: str) -> None:
        if value.startswith("d") and value[1:].isdigit() and int(value[1:]) in PERIODS:
            t.data.days = int(value[1:])
            t.act(ShowFigures(days=t.data.days))
        elif value == "export":
            t.act(ShowFigures(days=t.data.days, export=True))
        elif value == "admin":
            t.reset_to(ADMIN_HOME)
        else:
            super().on_button(t, value)


COMMANDS = Handlers()


@COMMANDS("figures")
def _figures(t: FiguresTurn) -> None:
    t.reset_to(F.HOME)


class FiguresDialog(Dialog[FiguresTurn]):
    name = "figures"
    data_model = FiguresData
    turn_class = FiguresTurn
    home = F.HOME
    roles = frozenset({Role.ADMIN})

    def finish(self, t: FiguresTurn) -> None:
        if not outsider(t):
            super().finish(t)

    def on_event(self, t: FiguresTurn, event: Event) -> None:
        if event.kind is not EventKind.REPORT or event.system is None:
            super().on_event(t, event)
        elif isinstance(event.system, FiguresReport):
            regions = {r.code: r.name(t.locale) for r in t.ctx.directory.regions}
            t.show(Screen(text=render_figures(t, event.system, regions)))
        else:
            t.notice(event.system.render(t))


def assemble() -> FiguresDialog:
    return FiguresDialog([Home()], commands=COMMANDS, entry=COMMANDS.by_name)
