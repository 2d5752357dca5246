"""The family's side of an in-person appointment: the offer (confirm / can't come / another time),
its reminders, and its cancellation. Times are shown in the family's language and time zone."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from dialogs import hours
from dialogs.checkin import CONFIRMED, leave
from dialogs.effects import AnswerAppointment
from dialogs.flow import FamilyStep as Step
from dialogs.flow import FamilyTurn as Turn
from dialogs.flow import S
from dialogs.i18n import N_
from dialogs.primitives import Screen, Speaks, SystemEvent
from dialogs.texts import esc
from storage.vocabulary import AppointmentStatus

Status = AppointmentStatus


class _Timed(SystemEvent):
    ticket: int
    at: str  # ISO, aware
    zone: str  # the family's time zone
    place: str = ""

    def when(self, t: Speaks) -> str:
        return hours.when(datetime.fromisoformat(self.at), ZoneInfo(self.zone), t.locale)


class AppointmentOffer(_Timed):
    kind: ClassVar[str] = "appointment"
    step: ClassVar[str | None] = S.APPOINTMENT.value
    intent: ClassVar[str | None] = "customer_support"  # about the family's own open request
    followup: int
    appointment: int

    def render(self, t: Speaks) -> str:
        return t._(
            N_("📅 Your coordinator invites you to an appointment (request No. {n}):\n{when}\n{place}")
        ).format(n=self.ticket, when=self.when(t), place=esc(self.place))


class AppointmentReminder(_Timed):
    kind: ClassVar[str] = "appt_reminder"
    intent: ClassVar[str | None] = CONFIRMED  # the family confirmed this appointment

    def render(self, t: Speaks) -> str:
        return t._(N_("⏰ A reminder: your appointment is {when}.\n{place}")).format(
            when=self.when(t), place=esc(self.place)
        )


class AppointmentCancelled(_Timed):
    kind: ClassVar[str] = "appt_cancelled"
    intent: ClassVar[str | None] = "customer_support"

    def render(self, t: Speaks) -> str:
        return t._(
            N_("❌ The appointment of {when} is cancelled. Your coordinator will write to you.")
        ).format(when=self.when(t))


class Offer(Step):
    name = S.APPOINTMENT

    def on_arrival(self, t: Turn, system: SystemEvent) -> None:
        if isinstance(system, AppointmentOffer):
            t.data.appointment, t.data.followup_ticket = system.appointment, system.ticket

    def render(self, t: Turn) -> Screen:
        rows = (
            (t.button(t._(N_("✅ I will come")), "confirm"),),
            (t.button(t._(N_("❌ I can't come")), "decline"), t.button(t._(N_("🕑 Another time")), "other")),
        )
        return Screen(text=t._(N_("Can you come?")), buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        appointment = t.data.appointment
        if appointment is None or value not in ("confirm", "decline", "other"):
            super().on_button(t, value)
        elif value == "other":
            t.go(S.APPOINTMENT_TIME, remember=False)
        elif value == "confirm":
            t.effect(AnswerAppointment(appointment, Status.CONFIRMED))
            t.notice(t._(N_("Thank you. We will remind you before the appointment.")))
            leave(t)
        else:
            t.effect(AnswerAppointment(appointment, Status.DECLINED))
            t.notice(t._(N_("Thank you for telling us. Your coordinator will write to you.")))
            leave(t)


class OtherTime(Step):
    name = S.APPOINTMENT_TIME

    def render(self, t: Turn) -> Screen:
        text = t._(
            N_("Which day and time would suit you? Write it in words, for example «Tuesday after 3 pm».")
        )
        return Screen(text=text)

    def on_text(self, t: Turn, text: str) -> None:
        if t.data.appointment is not None:
            t.effect(AnswerAppointment(t.data.appointment, Status.OTHER_TIME, text))
            t.notice(t._(N_("Thank you. Your coordinator will suggest another time.")))
        leave(t)


STEPS: tuple[Step, ...] = (Offer(), OtherTime())
