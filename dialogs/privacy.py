"""Privacy: what we keep (/my_data) and erasing it (/delete_my_data)."""

from __future__ import annotations

from dialogs import texts
from dialogs.account import LANGUAGE_NAMES
from dialogs.effects import DeleteMyData, SetAnnouncements
from dialogs.flow import MENU, S
from dialogs.flow import FamilyStep as Step
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_
from dialogs.primitives import Button, Screen
from dialogs.state import DialogData


class MyData(Step):
    name = S.MY_DATA
    needs_consent = False

    def render(self, t: Turn) -> Screen:
        person = t.ctx.person
        lines = [t._(N_("🔐 <b>What we keep about you</b>")), ""]
        lines.append(t._(N_("• Your account id in this messenger: {key}")).format(key=texts.esc(person.key)))
        lines.append(t._(N_("• Language: {lang}")).format(lang=LANGUAGE_NAMES.get(t.locale, t.locale)))
        if person.consent_at is not None or t.consented:
            when = person.consent_at.strftime("%d.%m.%Y %H:%M UTC") if person.consent_at else "—"
            lines.append(
                t._(N_("• Consent to data processing: given {when}, version {version}")).format(
                    when=when, version=texts.esc(person.consent_version or t.ctx.consent_version)
                )
            )
        else:
            lines.append(t._(N_("• Consent to data processing: not given")))
        announcements = t.announcements
        lines.append(
            t._(N_("• Announcements: you receive them"))
            if announcements
            else t._(N_("• Announcements: you do not receive them"))
        )
        if person.region:
            lines.append(t._(N_("• Region: {region}")).format(region=texts.esc(person.region)))
        lines.append("• " + texts.requests_count(t, len(t.ctx.tickets)))
        for ticket in t.ctx.tickets:
            lines.append("   " + texts.ticket_line(t, ticket.id, ticket.category, ticket.status))
            chars, files = texts.size_parts(t, len(ticket.description), ticket.attachments)
            lines.append(
                "      " + t._(N_("kept: your story ({chars}), {files}")).format(chars=chars, files=files)
            )
            if ticket.region:
                lines.append("      " + t._(N_("region: {region}")).format(region=texts.esc(ticket.region)))
            if ticket.phone:
                lines.append("      " + t._(N_("phone: {phone}")).format(phone=texts.esc(ticket.phone)))
        if t.data.draft is not None:
            lines.append(t._(N_("• An unfinished request (your answers so far)")))
        lines += [
            "",
            t._(
                N_(
                    "Your requests are seen only by the coordinators of the family help service. "
                    "Files stay on the messenger's servers; we keep only references to them."
                )
            ),
        ]
        lines += texts.org_lines(t)
        rows: list[tuple[Button, ...]] = []
        if t.consented:
            toggle = N_("🔕 Stop announcements") if announcements else N_("🔔 Receive announcements")
            rows.append((t.button(t._(toggle), "ann_off" if announcements else "ann_on"),))
        rows.append((t.button(t._(N_("🗑 Delete my data")), "delete"),))
        rows.append((t.global_button(t._(texts.LABEL_MENU), "menu"),))
        return Screen(text="\n".join(lines), buttons=tuple(rows), protect=True)

    def on_button(self, t: Turn, value: str) -> None:
        if value in {"ann_on", "ann_off"} and t.consented:
            enabled = value == "ann_on"
            t.effect(SetAnnouncements(enabled=enabled))
            t.announcements = enabled
            t.edit = True
        elif value == "delete":
            t.go(S.DELETE_CONFIRM, remember=False)
        else:
            super().on_button(t, value)


class DeleteConfirm(Step):
    name = S.DELETE_CONFIRM
    needs_consent = False

    def render(self, t: Turn) -> Screen:
        text = t._(
            N_(
                "Delete all your data? Your answers, texts, files and phone number will be erased, your "
                "open requests withdrawn, and your account id replaced. This cannot be undone."
            )
        )
        rows = (
            (t.button(t._(N_("Yes, delete everything")), "yes"),),
            (t.button(t._(N_("No, keep my data")), "no"),),
        )
        return Screen(text=text, buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "yes":
            t.effect(DeleteMyData())
            t.data = DialogData()
            t.state = "start"
            t.silent = True
            t.show(
                Screen(
                    text=t._(
                        N_(
                            "Your data has been deleted. If you write again, we will start from the beginning."
                        )
                    ),
                    remove_reply_keyboard=True,
                )
            )
        elif value == "no":
            target = t.data.return_to
            t.data.return_to = None
            t.state = target if t.knows(target) and target and target != self.name else MENU
        else:
            super().on_button(t, value)


STEPS: tuple[Step, ...] = (MyData(), DeleteConfirm())
