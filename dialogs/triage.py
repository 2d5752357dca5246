"""Asking for help: one question per screen, from "is anyone in danger" to the summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dialogs import texts
from dialogs.engine import MENU, STEPS, Step, Turn, in_triage, nav_rows
from dialogs.i18n import N_
from dialogs.primitives import Button, CreateTicket, Screen
from dialogs.questions import QUESTION_BY_STEP, QUESTIONS, Question
from dialogs.state import Attachment
from dialogs.validate import as_int, normalise_phone, parse_ages, parse_count
from storage.vocabulary import Category, ContactMethod

REGIONS_PER_PAGE = 8
AGE_BUTTONS = tuple(range(18))

SECTIONS: dict[str, str] = {
    "t_category": "category",
    **dict.fromkeys(QUESTION_BY_STEP, "category"),
    "t_children": "children",
    "t_ages": "children",
    "t_region": "region",
    "t_desc": "description",
    "t_contact": "contact",
    "t_phone": "contact",
}
SECTION_FIRST_STEP = {"category": "t_category", "children": "t_children", "region": "t_region"}
SECTION_FIRST_STEP |= {"description": "t_desc", "contact": "t_contact"}


def flow(t: Turn) -> list[str]:
    """The steps of this draft in order; it depends on the answers so far."""
    draft = t.draft
    questions = [q.step for q in QUESTIONS.get(draft.category, ())] if draft.category else []
    steps = ["t_danger", "t_category", *questions, "t_children"]
    if draft.children:
        steps.append("t_ages")
    steps += ["t_region", "t_desc", "t_contact"]
    if draft.contact is ContactMethod.PHONE:
        steps.append("t_phone")
    return [*steps, "t_summary"]


def advance(t: Turn) -> None:
    """Go to the next step; while editing one field, return to the summary once it is done."""
    steps = flow(t)
    index = steps.index(t.state) if t.state in steps else 0
    following = steps[index + 1] if index + 1 < len(steps) else "t_summary"
    if t.data.editing and SECTIONS.get(following) != t.data.editing:
        t.data.editing = None
        t.data.history = []
        t.state = "t_summary"
        return
    t.go(following)


def choice_rows(t: Turn, options: list[tuple[str, str]], per_row: int = 1) -> list[tuple[Button, ...]]:
    buttons = [t.button(label, value) for label, value in options]
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def question_screen(t: Turn, text: str, rows: Sequence[tuple[Button, ...]], *, back: bool = True) -> Screen:
    return Screen(text=text, buttons=(*rows, *nav_rows(t, back=back)))


def match_label(t: Turn, text: str, options: list[tuple[str, str]]) -> str | None:
    """A parent may type a button's words instead of tapping it."""
    wanted = _plain(text)
    return next((value for label, value in options if _plain(label) == wanted), None)


def _plain(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


class Danger(Step):
    name = "t_danger"

    def render(self, t: Turn) -> Screen:
        options = [(t._(N_("🆘 Yes, someone is in danger")), "yes"), (t._(N_("No")), "no")]
        text = t._(N_("Is anyone in danger right now — you, a child, someone else in the family?"))
        return question_screen(t, text, choice_rows(t, options))

    def on_button(self, t: Turn, value: str) -> None:
        if value == "yes":
            t.draft.danger_now = True
            t.draft.urgent = True
            t.draft.emergency_shown = True
            t.go("t_danger_yes")
        elif value == "no":
            t.draft.danger_now = False
            advance(t)

    def on_text(self, t: Turn, text: str) -> None:
        lowered = _plain(text)
        if lowered in {"да", "yes", "есть"}:
            self.on_button(t, "yes")
        elif lowered in {"нет", "no"}:
            self.on_button(t, "no")
        else:
            super().on_text(t, text)


class DangerYes(Step):
    name = "t_danger_yes"

    def render(self, t: Turn) -> Screen:
        emergency = texts.emergency_screen(t)
        offer = t._(
            N_(
                "We can call you back urgently: a coordinator will see your request first. "
                "Or you can go on and tell us more."
            )
        )
        rows = choice_rows(
            t,
            [
                (t._(N_("📞 Call me back urgently")), "callback"),
                (t._(N_("📝 Continue the request")), "continue"),
            ],
        )
        return question_screen(t, f"{emergency.text}\n\n{offer}", rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "callback":
            t.draft.callback = True
            t.go("t_phone")
        elif value == "continue":
            t.go("t_category")


class CategoryStep(Step):
    name = "t_category"
    section = "category"

    def _options(self, t: Turn) -> list[tuple[str, str]]:
        return [(t._(label), category.value) for category, label in texts.CATEGORY_LABELS.items()]

    def render(self, t: Turn) -> Screen:
        return question_screen(t, t._(N_("What kind of help do you need?")), choice_rows(t, self._options(t)))

    def on_button(self, t: Turn, value: str) -> None:
        try:
            category = Category(value)
        except ValueError:
            super().on_button(t, value)
            return
        if t.draft.category is not category:
            t.draft.answers = {}
        t.draft.category = category
        advance(t)

    def on_text(self, t: Turn, text: str) -> None:
        value = match_label(t, text, self._options(t))
        if value is None:
            super().on_text(t, text)
        else:
            self.on_button(t, value)


class QuestionStep(Step):
    """One category question; instances are registered for every question in QUESTIONS."""

    section = "category"

    def __init__(self, question: Question) -> None:
        self.question = question

    def _options(self, t: Turn) -> list[tuple[str, str]]:
        return [(t._(o.label), o.value) for o in self.question.options]

    def render(self, t: Turn) -> Screen:
        q = self.question
        if not q.multi:
            return question_screen(t, t._(q.text), choice_rows(t, self._options(t)))
        chosen = set(t.draft.answers.get(q.key, []))
        options = [(("✅ " if v in chosen else "▫️ ") + label, v) for label, v in self._options(t)]
        rows = choice_rows(t, options)
        if chosen:
            rows.append((t.button(t._(N_("➡️ Done")), "done"),))
        return question_screen(t, t._(q.text), rows)

    def on_button(self, t: Turn, value: str) -> None:
        q = self.question
        known = {o.value for o in q.options}
        if value == "done" and q.multi:
            if t.draft.answers.get(q.key):
                advance(t)
            else:
                t.notice(t._(N_("Please choose at least one option.")))
            return
        if value not in known:
            super().on_button(t, value)
            return
        if q.multi:
            chosen = list(t.draft.answers.get(q.key, []))
            chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
            t.draft.answers = {**t.draft.answers, q.key: chosen}
            t.edit = True
            return
        t.draft.answers = {**t.draft.answers, q.key: [value]}
        if value in q.urgent_values:
            t.draft.urgent = True
        advance(t)

    def on_text(self, t: Turn, text: str) -> None:
        value = match_label(t, text, self._options(t))
        if value is None:
            super().on_text(t, text)
        else:
            self.on_button(t, value)


for _question in QUESTION_BY_STEP.values():
    STEPS[_question.step] = QuestionStep(_question)


class Children(Step):
    name = "t_children"
    section = "children"

    def render(self, t: Turn) -> Screen:
        numbers = [t.button(str(n), str(n)) for n in range(1, 7)]
        rows = [
            tuple(numbers[:3]),
            tuple(numbers[3:]),
            (t.button(t._(N_("7 or more")), "more"),),
            (t.button(t._(N_("No children yet / expecting a baby")), "0"),),
        ]
        return question_screen(t, t._(N_("How many children are in your family?")), rows)

    def _set(self, t: Turn, count: int) -> None:
        if t.draft.children != count:
            t.draft.ages = []
        t.draft.children = count
        advance(t)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "more":
            t.notice(t._(N_("Please type the number of children, for example 8.")))
        elif (count := as_int(value)) is not None and count <= 6:
            self._set(t, count)
        else:
            super().on_button(t, value)

    def on_text(self, t: Turn, text: str) -> None:
        count = parse_count(text)
        if count is None:
            t.notice(t._(N_("Please type the number of children as digits, for example 3.")))
        else:
            self._set(t, count)


class Ages(Step):
    name = "t_ages"
    section = "children"

    def render(self, t: Turn) -> Screen:
        draft = t.draft
        total = draft.children or 0
        text = t.ngettext(
            "How old is the child? Tap the age, or type it.",
            "How old are the children? Tap the age of each child (twice for twins), or type the ages "
            "separated by commas, for example: 2, 5, 11.",
            total,
        )
        if draft.ages:
            chosen = ", ".join(texts.age_label(t, a) for a in draft.ages)
            text += "\n\n" + t._(N_("Chosen: {ages} ({done} of {total})")).format(
                ages=chosen, done=len(draft.ages), total=total
            )
        buttons = [t.button(texts.age_label(t, a), str(a)) for a in AGE_BUTTONS]
        rows = [tuple(buttons[i : i + 6]) for i in range(0, len(buttons), 6)]
        if draft.ages:
            rows.append((t.button(t._(N_("↩️ Undo the last one")), "undo"),))
        return question_screen(t, text, rows)

    def on_button(self, t: Turn, value: str) -> None:
        draft = t.draft
        if value == "undo":
            draft.ages = draft.ages[:-1]
            t.edit = True
        elif (age := as_int(value)) is not None and age in AGE_BUTTONS:
            draft.ages = [*draft.ages, age][: draft.children or 0]
            self._maybe_done(t)
        else:
            super().on_button(t, value)

    def on_text(self, t: Turn, text: str) -> None:
        ages = parse_ages(text)
        total = t.draft.children or 0
        if ages is None:
            t.notice(t._(N_("Please type the ages as numbers from 0 to 17, separated by commas.")))
        elif len(t.draft.ages) + len(ages) > total:
            t.notice(
                t.ngettext(
                    "You told me about {n} child, but listed more ages. Please type them again.",
                    "You told me about {n} children, but listed more ages. Please type them again.",
                    total,
                ).format(n=total)
            )
            t.draft.ages = []
        else:
            t.draft.ages = [*t.draft.ages, *ages]
            self._maybe_done(t)

    def _maybe_done(self, t: Turn) -> None:
        if len(t.draft.ages) >= (t.draft.children or 0):
            advance(t)
        else:
            t.edit = True


class RegionStep(Step):
    name = "t_region"
    section = "region"

    def render(self, t: Turn) -> Screen:
        regions = t.ctx.directory.regions
        pages = max(1, -(-len(regions) // REGIONS_PER_PAGE))
        page = min(max(t.data.page, 0), pages - 1)
        shown = regions[page * REGIONS_PER_PAGE : (page + 1) * REGIONS_PER_PAGE]
        buttons = [t.button(r.name(t.locale), f"r.{r.code}") for r in shown]
        rows = [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
        pager = []
        if page > 0:
            pager.append(t.button(t._(N_("◀️ Previous")), f"p.{page - 1}"))
        if page < pages - 1:
            pager.append(t.button(t._(N_("More ▶️")), f"p.{page + 1}"))
        if pager:
            rows.append(tuple(pager))
        text = t._(N_("Where do you live? Choose your region, or type it if it is not in the list."))
        if pages > 1:
            text += "\n" + t._(N_("Page {page} of {pages}.")).format(page=page + 1, pages=pages)
        return question_screen(t, text, rows)

    def on_button(self, t: Turn, value: str) -> None:
        kind, _, arg = value.partition(".")
        region = t.ctx.directory.region(arg) if kind == "r" else None
        if region is not None:
            t.draft.region_code = region.code
            t.draft.region = region.name(t.locale)
            t.data.page = 0
            advance(t)
        elif kind == "p" and (page := as_int(arg)) is not None:
            t.data.page = page
            t.edit = True
        else:
            super().on_button(t, value)

    def on_text(self, t: Turn, text: str) -> None:
        limit = t.ctx.limits.short_text
        if len(text) > limit:
            t.notice(
                t.ngettext(
                    "Please write only the name of the region, at most {n} character.",
                    "Please write only the name of the region, at most {n} characters.",
                    limit,
                ).format(n=limit)
            )
            return
        region = t.ctx.directory.find_region(text)
        t.draft.region_code = region.code if region else None
        t.draft.region = region.name(t.locale) if region else text
        t.data.page = 0
        advance(t)


class Description(Step):
    name = "t_desc"
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


class Contact(Step):
    name = "t_contact"
    section = "contact"

    def _options(self, t: Turn) -> list[tuple[str, str]]:
        return [(t._(N_("💬 Here, in this chat")), "chat"), (t._(N_("📞 By phone")), "phone")]

    def render(self, t: Turn) -> Screen:
        text = t._(N_("How should the coordinator contact you?"))
        return question_screen(t, text, choice_rows(t, self._options(t)))

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
            self_phone(t, phone)
            return
        value = match_label(t, text, self._options(t))
        if value is None:
            super().on_text(t, text)
        else:
            self.on_button(t, value)


class Phone(Step):
    name = "t_phone"
    section = "contact"

    def render(self, t: Turn) -> Screen:
        text = t._(
            N_(
                "Please share your phone number with the button below, or type it, "
                "for example +7 900 123-45-67."
            )
        )
        return Screen(
            text=text,
            request_contact=t._(N_("📱 Share my number")),
            reply_buttons=(t._(texts.LABEL_BACK), t._(texts.LABEL_CANCEL), t._(texts.LABEL_SOS)),
        )

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
            )
        else:
            self_phone(t, phone)

    def on_contact(self, t: Turn, phone: str) -> None:
        normalised = normalise_phone(phone) or normalise_phone("+" + phone.lstrip("+"))
        if normalised is None:
            t.notice(t._(N_("I could not read this number. Please type it instead.")))
        else:
            self_phone(t, normalised)

    def on_ticket_created(self, t: Turn, number: int) -> None:
        done_screen(t, number)


def self_phone(t: Turn, phone: str) -> None:
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
    advance(t)


class Summary(Step):
    name = "t_summary"

    def render(self, t: Turn) -> Screen:
        rows = [
            (t.button(t._(N_("✅ Send the request")), "send"),),
            (t.button(t._(N_("✏️ Change something")), "edit"),),
        ]
        screen = question_screen(t, texts.summary_text(t, t.draft), rows)
        return replace(screen, protect=True)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "edit":
            t.go("t_edit", remember=False)
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
    if left is not None and left in STEPS and in_triage(left) and left != "t_cancel":
        return left
    if t.draft.danger_now is None and not t.draft.callback:
        return "t_danger"
    return missing_step(t) or "t_summary"


def done_screen(t: Turn, number: int) -> None:
    draft = t.draft
    lines = [t._(N_("✅ Your request <b>#{number}</b> has been received.")).format(number=number), ""]
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
    lines.append(t._(N_("If someone is in danger, do not wait: call 112.")))
    t.show(Screen(text="\n".join(lines), protect=True))
    t.data.draft = None
    t.data.draft_step = None
    t.reset_to(MENU)


class Edit(Step):
    name = "t_edit"

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
    name = "t_cancel"

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
            t.state = t.data.return_to if t.data.return_to in STEPS else "t_summary"
        else:
            super().on_button(t, value)
