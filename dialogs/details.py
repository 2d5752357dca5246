"""Asking for help, the second half: what happened, how to contact, the summary, edits, cancelling."""

from __future__ import annotations

from dataclasses import replace

from dialogs import hours, refusals, texts
from dialogs.effects import CreateTicket
from dialogs.flow import MENU, S, in_triage
from dialogs.flow import FamilyStep as Step
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_
from dialogs.primitives import Button, EventKind, Screen
from dialogs.questions import QUESTIONS
from dialogs.state import Attachment
from dialogs.triage import SECTION_FIRST_STEP, ChoiceStep, advance, choice_rows, question_screen
from dialogs.validate import contact_phone, normalise_phone
from storage.vocabulary import Category, ContactMethod


class Description(Step):
    name = S.DESCRIPTION
    section = "description"

    def render(self, t: Turn) -> Screen:
        draft = t.draft
        text = t._(
            N_(
                "Please tell us in your own words what happened and what help you need. "
                "You can send several messages, photos, documents or voice messages."
            )
        )
        rows: list[tuple[Button, ...]] = []
        if draft.description or draft.attachments:
            text = t._(N_("Got it. You can add more, or press «Done» to go on.")) + "\n" + _progress(t)
            rows.append((t.button(t._(N_("➡️ Done")), "done"),))
        return question_screen(t, text, rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value != "done":
            super().on_button(t, value)
        elif t.draft.description or t.draft.attachments:
            advance(t)
        else:
            t.notice(t._(N_("Please write at least a few words first.")))

    def on_text(self, t: Turn, text: str) -> None:
        draft = t.draft
        limit = t.ctx.limits.description
        # While rewriting, the old text stays until the first new message replaces it.
        earlier = "" if t.data.rewrite else draft.description
        joined = f"{earlier}\n\n{text}" if earlier else text
        if len(joined) > limit:
            t.notice(texts.story_too_long(t, limit))
            return
        draft.description = joined
        t.data.rewrite = False

    def on_media(self, t: Turn, attachment: Attachment) -> None:
        add_attachment(t, t.draft.attachments, attachment)
        if t.event.text.strip():
            self.on_text(
                t, t.event.text.strip()
            )  # a caption is part of the story, kept even without its file


def add_attachment(t: Turn, attachments: list[Attachment], attachment: Attachment) -> bool:
    limit = t.ctx.limits.attachments
    if len(attachments) >= limit:
        t.notice(
            t.ngettext(
                "I can keep at most {n} file with one request; this one was not added.",
                "I can keep at most {n} files with one request; this one was not added.",
                limit,
            ).format(n=limit)
        )
        return False
    attachments.append(attachment)
    return True


def _progress(t: Turn) -> str:
    chars, files = texts.size_parts(t, len(t.draft.description), len(t.draft.attachments))
    return t._(N_("So far: {chars}, {files}.")).format(chars=chars, files=files)


class Contact(ChoiceStep):
    name = S.CONTACT
    section = "contact"

    def options(self, t: Turn) -> list[tuple[str, str]]:
        return [(t._(N_("💬 Here, in this chat")), "chat"), (t._(N_("📞 By phone")), "phone")]

    def render(self, t: Turn) -> Screen:
        text = t._(N_("How should the coordinator contact you?"))
        return question_screen(t, text, choice_rows(t, self.options(t)))

    def on_button(self, t: Turn, value: str) -> None:
        if value == "chat":
            t.draft.contact = ContactMethod.CHAT
            t.draft.phone = None
            advance(t)
        elif value == "phone":
            t.draft.contact = ContactMethod.PHONE
            advance(t)
        else:
            super().on_button(t, value)

    def on_text(self, t: Turn, text: str) -> None:
        phone = normalise_phone(text)
        if phone is not None:  # a number typed straight away: take it
            t.draft.contact = ContactMethod.PHONE
            take_phone(t, phone)
            return
        super().on_text(t, text)


class Phone(Step):
    name = S.PHONE
    section = "contact"

    def render(self, t: Turn) -> Screen:
        nav = (t._(texts.LABEL_BACK), t._(texts.LABEL_CANCEL), t._(texts.LABEL_SOS))
        if not t.ctx.traits.share_contact:
            text = t._(N_("Please type your phone number, for example +7 900 123-45-67."))
            return Screen(text=text, reply_buttons=nav)
        text = t._(
            N_(
                "Please share your phone number with the button below, or type it, "
                "for example +7 900 123-45-67."
            )
        )
        return Screen(text=text, request_contact=t._(N_("📱 Share my number")), reply_buttons=nav)

    def on_text(self, t: Turn, text: str) -> None:
        if text == t._(texts.LABEL_SOS):
            t.show(texts.emergency_screen(t))
            return
        phone = normalise_phone(text)
        if phone is None:
            t.notice(
                t._(
                    N_(
                        "This does not look like a phone number. Please type it with the area code, "
                        "for example +7 900 123-45-67, or use the button."
                    )
                )
                if t.ctx.traits.share_contact
                else t._(
                    N_(
                        "This does not look like a phone number. Please type it with the area code, "
                        "for example +7 900 123-45-67."
                    )
                )
            )
        else:
            take_phone(t, phone)

    def on_contact(self, t: Turn, phone: str) -> None:
        normalised = contact_phone(phone)
        if normalised is None:
            t.notice(t._(N_("I could not read this number. Please type it instead.")))
        else:
            take_phone(t, normalised)

    def on_ticket_created(self, t: Turn, number: int) -> None:
        done_screen(t, number)


def take_phone(t: Turn, phone: str) -> None:
    """A valid phone number: an urgent call back is sent at once; otherwise go on."""
    draft = t.draft
    draft.phone = phone
    draft.contact = ContactMethod.PHONE
    t.show(Screen(text=t._(N_("✅ Phone number saved.")), remove_reply_keyboard=True))
    if draft.callback:
        draft.category = draft.category or Category.OTHER
        t.effect(CreateTicket(draft=draft.model_copy(deep=True)))
        t.silent = True
        return
    if t.state == "t_contact":
        t.state = "t_phone"  # typed at "how to contact": the phone step is answered already
    advance(t)


class Summary(Step):
    name = S.SUMMARY

    def render(self, t: Turn) -> Screen:
        rows = [
            (t.button(t._(N_("✅ Send the request")), "send"),),
            (t.button(t._(N_("✏️ Change something")), "edit"),),
        ]
        screen = question_screen(t, texts.summary_text(t, t.draft), rows)
        return replace(screen, protect=True)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "edit":
            t.go(S.EDIT, remember=False)
        elif value == "send":
            missing = missing_step(t)
            if missing is not None:
                t.notice(t._(N_("One more answer is needed before sending.")))
                t.go(missing, remember=False)
                return
            t.effect(CreateTicket(draft=t.draft.model_copy(deep=True)))
            t.silent = True
        else:
            super().on_button(t, value)

    def on_ticket_created(self, t: Turn, number: int) -> None:
        done_screen(t, number)


def missing_step(t: Turn) -> str | None:
    draft = t.draft
    if draft.category is None:
        return "t_category"
    for question in QUESTIONS.get(draft.category, ()):
        if not draft.answers.get(question.key):
            return question.step
    if draft.children is None:
        return "t_children"
    if not draft.region:
        return "t_region"
    if not (draft.description or draft.attachments):
        return "t_desc"
    if draft.contact is None or (draft.contact is ContactMethod.PHONE and not draft.phone):
        return "t_contact"
    return None


def resume_step(t: Turn) -> str:
    """Where "continue my request" goes: the step the parent left, else the first unanswered one."""
    left = t.data.draft_step
    if t.knows(left) and left is not None and in_triage(left) and left != "t_cancel":
        return left
    if t.draft.danger_now is None and not t.draft.callback:
        return "t_danger"
    return missing_step(t) or "t_summary"


def done_screen(t: Turn, number: int) -> None:
    if t.event.kind is EventKind.TICKET_HELD:
        refusals.held(t)
        return
    if t.event.kind is EventKind.TICKET_REFUSED:
        refusals.too_many(t)
        return
    draft = t.draft
    if t.event.kind is EventKind.TICKET_MERGED:
        head = t._(
            N_(
                "✅ You already have an open request <b>#{number}</b> of this kind: what you wrote was added to it."
            )
        )
    else:
        head = t._(N_("✅ Your request <b>#{number}</b> has been received."))
    lines = [head.format(number=number), ""]
    if draft.callback:
        lines.append(t._(N_("A coordinator will call you back as soon as possible.")))
    elif draft.urgent:
        lines.append(t._(N_("It is marked urgent: coordinators will see it first.")))
    lines.append(
        t._(
            N_(
                "A coordinator will read it and write to you here. You will get a message when "
                "a person takes your request. You can add information or withdraw the request "
                "in «My requests»."
            )
        )
    )
    if (opens := t.event.opens) is not None:
        region = t.ctx.directory.region(draft.region_code)  # shown in the family's own time
        lines += ["", *hours.after_hours(t, opens, region.zone if region is not None else None)]
    else:
        lines.append(t._(N_("If someone is in danger, do not wait: call 112.")))
    t.show(Screen(text="\n".join(lines), protect=True))
    t.data.draft = None
    t.data.draft_step = None
    t.data.sent = number
    t.reset_to(MENU)


def sent_again(t: Turn, number: int) -> None:
    """The summary's "send" pressed after its request was saved: the same confirmation, no new request."""
    head = t._(N_("✅ Your request <b>#{number}</b> has been received.")).format(number=number)
    more = t._(N_("If someone is in danger, do not wait: call 112."))
    t.show(Screen(text=f"{head}\n\n{more}", protect=True))


class Edit(Step):
    name = S.EDIT

    def render(self, t: Turn) -> Screen:
        options = [
            (t._(N_("Kind of help")), "category"),
            (t._(N_("Children")), "children"),
            (t._(N_("Region")), "region"),
            (t._(N_("What happened")), "description"),
            (t._(N_("How to contact you")), "contact"),
        ]
        rows = choice_rows(t, options, per_row=2)
        rows.append((t.button(t._(N_("⬅️ Back to the summary")), "summary"),))
        return Screen(text=t._(N_("What would you like to change?")), buttons=tuple(rows))

    def on_button(self, t: Turn, value: str) -> None:
        if value == "summary":
            t.state = "t_summary"
        elif value in SECTION_FIRST_STEP:
            t.data.editing = value
            if value == "description":
                t.data.rewrite = True
                t.notice(t._(N_("Please write it again; the earlier text is replaced. Files stay attached.")))
            t.state = SECTION_FIRST_STEP[value]
        else:
            super().on_button(t, value)


class CancelConfirm(Step):
    name = S.CANCEL

    def render(self, t: Turn) -> Screen:
        rows = choice_rows(t, [(t._(N_("Yes, cancel the request")), "yes"), (t._(N_("No, continue")), "no")])
        return Screen(text=t._(N_("Cancel this request? Your answers will be deleted.")), buttons=tuple(rows))

    def on_button(self, t: Turn, value: str) -> None:
        if value == "yes":
            t.data.draft = None
            t.data.draft_step = None
            t.data.return_to = None
            t.reset_to(MENU)
            t.notice(t._(N_("The request was cancelled; nothing was sent.")))
        elif value == "no":
            t.state = t.data.return_to if t.knows(t.data.return_to) and t.data.return_to else S.SUMMARY
        else:
            super().on_button(t, value)


STEPS: tuple[Step, ...] = (Description(), Contact(), Phone(), Summary(), Edit(), CancelConfirm())
