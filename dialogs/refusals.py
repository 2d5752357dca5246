"""What a family is told when a request is not posted: the person was blocked, or has too many open.

Both answers are kind and neutral, and both show the emergency numbers: a request that cannot go to
coordinators must never leave someone in danger without a number to call.
"""

from __future__ import annotations

from dialogs import texts
from dialogs.flow import MENU
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_
from dialogs.primitives import Screen

OPEN_LIMIT = 3  # open requests one person may have at a time


def held(t: Turn) -> None:
    """A blocked person's request: kept with its number, and the person is not told of the block."""
    t.show(
        Screen(
            text=t._(
                N_(
                    "✅ Thank you, what you wrote has been saved. If someone is in danger, do not wait: "
                    "call one of the numbers below."
                )
            ),
            protect=True,
        )
    )
    t.show(texts.emergency_screen(t))
    t.data.draft = None
    t.data.draft_step = None
    t.reset_to(MENU)


def too_many(t: Turn) -> None:
    """A fourth open request: refused, its answers kept for later, the open ones listed."""
    open_ones = [tk for tk in t.ctx.tickets if tk.is_open]
    head = t.ngettext(
        "You already have {n} open request, as many as one can have at a time.",
        "You already have {n} open requests, as many as one can have at a time.",
        len(open_ones),
    ).format(n=len(open_ones))
    lines = [head, ""]
    lines += [texts.ticket_line(t, tk.id, tk.category, tk.status) for tk in open_ones]
    lines += [
        "",
        t._(
            N_(
                "You can add to one of them in «My requests», or send this one when one of them is "
                "closed: your answers are kept («Continue my unfinished request»)."
            )
        ),
    ]
    t.show(Screen(text="\n".join(lines), protect=True))
    t.show(texts.emergency_screen(t))
    t.reset_to(MENU)
