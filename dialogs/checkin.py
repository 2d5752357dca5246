"""The family's follow-ups: may we check in later, and the check-in itself (did you get the help?).

Both start as system events pushed by ``handlers.followups``; the answers are effects, recorded in
the same transaction as the dialog's next state. A "no" (or "partly" with a comment) reopens the
request; "yes" may be followed by a one-tap rating of how the family was treated.
"""

from __future__ import annotations

from typing import ClassVar

from dialogs.effects import AnswerFollowUp, RateFollowUp
from dialogs.flow import MENU, S
from dialogs.flow import FamilyStep as Step
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_
from dialogs.primitives import Screen, Speaks, SystemEvent
from dialogs.validate import as_int
from storage.vocabulary import FollowUpAnswer

Answer = FollowUpAnswer
# VK may refuse a message the person did not just ask for without this: they agreed to check-ins.
CONFIRMED = "confirmed_notification"


class FollowUpOffer(SystemEvent):
    """Sent when a request is closed: may we write later to ask how things are?"""

    kind: ClassVar[str] = "followup_offer"
    step: ClassVar[str | None] = S.FOLLOWUP_OFFER.value
    # About the family's own request, possibly days after their last message.
    intent: ClassVar[str | None] = "customer_support"
    followup: int
    ticket: int

    def render(self, t: Speaks) -> str:
        return t._(N_("About your request No. {n}.")).format(n=self.ticket)


class CheckIn(SystemEvent):
    """A check-in the family agreed to."""

    kind: ClassVar[str] = "checkin"
    step: ClassVar[str | None] = S.CHECKIN.value
    intent: ClassVar[str | None] = CONFIRMED
    followup: int
    ticket: int

    def render(self, t: Speaks) -> str:
        return t._(N_("Hello! We are checking in about your request No. {n}, as you allowed us to.")).format(
            n=self.ticket
        )


def _arrive(t: Turn, system: SystemEvent) -> None:
    if isinstance(system, FollowUpOffer | CheckIn):
        t.data.followup, t.data.followup_ticket = system.followup, system.ticket
        t.data.followup_answer = None


def leave(t: Turn) -> None:
    """Back where the family was before the system wrote (the menu, or a step left idle)."""
    back = t.data.return_to
    t.data.followup = t.data.followup_ticket = t.data.followup_answer = None
    t.data.appointment = None
    t.data.return_to = None
    if back is not None and t.knows(back) and not back.startswith("f_"):
        t.go(back, remember=False)
    else:
        t.reset_to(MENU)


class Offer(Step):
    name = S.FOLLOWUP_OFFER

    def on_arrival(self, t: Turn, system: SystemEvent) -> None:
        _arrive(t, system)

    def render(self, t: Turn) -> Screen:
        text = t._(
            N_(
                "Your request is closed. May we write to you in a few days to ask whether you got the "
                "help you needed? You can answer or ignore these messages."
            )
        )
        rows = ((t.button(t._(N_("✅ Yes, you may")), "yes"), t.button(t._(N_("No, thank you")), "no")),)
        return Screen(text=text, buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value not in ("yes", "no") or t.data.followup is None:
            super().on_button(t, value)
            return
        allowed = value == "yes"
        t.effect(AnswerFollowUp(t.data.followup, Answer.ALLOW if allowed else Answer.DENY))
        if allowed:
            t.notice(t._(N_("Thank you. We will write to you later.")))
        else:
            t.notice(t._(N_("All right, we will not write. You can always come back with /start.")))
        leave(t)


class Question(Step):
    name = S.CHECKIN

    def on_arrival(self, t: Turn, system: SystemEvent) -> None:
        _arrive(t, system)

    def render(self, t: Turn) -> Screen:
        text = t._(N_("Did you get the help you needed?"))
        rows = (
            (t.button(t._(N_("✅ Yes")), Answer.YES), t.button(t._(N_("🌓 Partly")), Answer.PARTLY)),
            (t.button(t._(N_("❌ No, I still need help")), Answer.NO),),
        )
        return Screen(text=text, buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        if t.data.followup is None or value not in (Answer.YES, Answer.PARTLY, Answer.NO):
            super().on_button(t, value)
            return
        if value == Answer.YES:
            t.effect(AnswerFollowUp(t.data.followup, Answer.YES))
            t.notice(t._(N_("We are glad. Thank you for telling us.")))
            t.go(S.CHECKIN_RATING, remember=False)
            return
        t.data.followup_answer = value
        t.go(S.CHECKIN_COMMENT, remember=False)


class Comment(Step):
    name = S.CHECKIN_COMMENT

    def render(self, t: Turn) -> Screen:
        if t.data.followup_answer == Answer.NO:
            text = t._(
                N_(
                    "We are sorry. Your request goes back to the coordinator. If you like, write in a few "
                    "words what you still need, or press «Skip»."
                )
            )
        else:
            text = t._(
                N_(
                    "What is still missing? Write it in a few words, and a coordinator will come back to "
                    "you. Or press «Skip»."
                )
            )
        return Screen(text=text, buttons=((t.button(t._(N_("Skip")), "skip"),),))

    def on_text(self, t: Turn, text: str) -> None:
        self._done(t, text)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "skip":
            self._done(t, None)
        else:
            super().on_button(t, value)

    def _done(self, t: Turn, comment: str | None) -> None:
        answer = t.data.followup_answer
        if t.data.followup is None or answer is None:
            leave(t)
            return
        t.effect(AnswerFollowUp(t.data.followup, answer, comment))
        if answer == Answer.NO or comment:
            t.notice(
                t._(
                    N_("Thank you. Your request No. {n} is open again; a coordinator will write to you.")
                ).format(n=t.data.followup_ticket)
            )
        else:
            t.notice(t._(N_("Thank you for telling us.")))
        leave(t)


class Rating(Step):
    name = S.CHECKIN_RATING

    def render(self, t: Turn) -> Screen:
        text = t._(N_("One more tap, if you like: how were you treated? 1 is bad, 5 is very good."))
        stars = tuple(t.button(str(n), f"r.{n}") for n in range(1, 6))
        return Screen(text=text, buttons=(stars, (t.button(t._(N_("Skip")), "skip"),)))

    def on_button(self, t: Turn, value: str) -> None:
        rating = as_int(value[2:]) if value.startswith("r.") else None
        if rating is not None and 1 <= rating <= 5 and t.data.followup is not None:
            t.effect(RateFollowUp(t.data.followup, rating))
            t.notice(t._(N_("Thank you for the rating.")))
            leave(t)
        elif value == "skip":
            leave(t)
        else:
            super().on_button(t, value)


STEPS: tuple[Step, ...] = (Offer(), Question(), Comment(), Rating())
