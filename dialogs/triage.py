"""Asking for help: one question per screen, from "is anyone in danger" to the summary."""

from __future__ import annotations

from collections.abc import Sequence

from dialogs import texts
from dialogs.flow import FamilyStep as Step
from dialogs.flow import FamilyTurn as Turn
from dialogs.flow import S, linked_category_taken, nav_rows
from dialogs.i18n import N_
from dialogs.primitives import Button, Screen
from dialogs.questions import QUESTION_BY_STEP, QUESTIONS, Question
from dialogs.validate import as_int, parse_ages, parse_count
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


def after_danger(t: Turn) -> None:
    """The kind of help is asked next, unless the family's start link chose it already."""
    if linked_category_taken(t):
        steps = flow(t)
        t.go(steps[steps.index(S.CATEGORY.value) + 1])
    else:
        t.go(S.CATEGORY)


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


class ChoiceStep(Step):
    """A step answered with buttons; typing a button's words counts as tapping it."""

    def options(self, t: Turn) -> list[tuple[str, str]]:
        raise NotImplementedError

    def on_text(self, t: Turn, text: str) -> None:
        value = match_label(t, text, self.options(t))
        if value is None:
            super().on_text(t, text)
        else:
            self.on_button(t, value)


class Danger(Step):
    name = S.DANGER

    def render(self, t: Turn) -> Screen:
        options = [(t._(N_("🆘 Yes, someone is in danger")), "yes"), (t._(N_("No")), "no")]
        text = t._(N_("Is anyone in danger right now — you, a child, someone else in the family?"))
        return question_screen(t, text, choice_rows(t, options))

    def on_button(self, t: Turn, value: str) -> None:
        if value == "yes":
            t.draft.danger_now = True
            t.draft.urgent = True
            t.draft.emergency_shown = True
            t.go(S.DANGER_YES)
        elif value == "no":
            t.draft.danger_now = False
            after_danger(t)

    def on_text(self, t: Turn, text: str) -> None:
        lowered = _plain(text)
        if lowered in {"да", "yes", "есть"}:
            self.on_button(t, "yes")
        elif lowered in {"нет", "no"}:
            self.on_button(t, "no")
        else:
            super().on_text(t, text)


class DangerYes(Step):
    name = S.DANGER_YES

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
            t.go(S.PHONE)
        elif value == "continue":
            after_danger(t)


class CategoryStep(ChoiceStep):
    name = S.CATEGORY
    section = "category"

    def options(self, t: Turn) -> list[tuple[str, str]]:
        return [(t._(label), category.value) for category, label in texts.CATEGORY_LABELS.items()]

    def render(self, t: Turn) -> Screen:
        return question_screen(t, t._(N_("What kind of help do you need?")), choice_rows(t, self.options(t)))

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


class QuestionStep(ChoiceStep):
    """One category question; instances are registered for every question in QUESTIONS."""

    section = "category"

    def __init__(self, question: Question) -> None:
        self.question = question
        self.name = question.step

    def options(self, t: Turn) -> list[tuple[str, str]]:
        return [(t._(o.label), o.value) for o in self.question.options]

    def render(self, t: Turn) -> Screen:
        q = self.question
        if not q.multi:
            return question_screen(t, t._(q.text), choice_rows(t, self.options(t)))
        chosen = set(t.draft.answers.get(q.key, []))
        options = [(("✅ " if v in chosen else "▫️ ") + label, v) for label, v in self.options(t)]
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


class Children(Step):
    name = S.CHILDREN
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
    name = S.AGES
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
    name = S.REGION
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


STEPS: tuple[Step, ...] = (
    Danger(),
    DangerYes(),
    CategoryStep(),
    Children(),
    Ages(),
    RegionStep(),
    *(QuestionStep(q) for q in QUESTION_BY_STEP.values()),
)
