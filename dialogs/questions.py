"""The questions specific to each category, as data. Keys and values are persisted: a schema."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.i18n import N_
from storage.vocabulary import Category


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    short: str  # the field name in the summary and on the card
    options: tuple[Option, ...]
    multi: bool = False
    urgent_values: frozenset[str] = frozenset()

    @property
    def step(self) -> str:
        return f"q_{self.key}"

    def option_label(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


QUESTIONS: dict[Category, tuple[Question, ...]] = {
    Category.PSYCHOLOGICAL: (
        Question(
            key="psy_who",
            text=N_("Who needs support?"),
            short=N_("Who needs support"),
            options=(
                Option("parent", N_("Me, the parent")),
                Option("child", N_("A child")),
                Option("teen", N_("A teenager")),
                Option("family", N_("The whole family")),
            ),
        ),
        Question(
            key="psy_how",
            text=N_("How would you prefer to talk with a psychologist?"),
            short=N_("Preferred way"),
            options=(
                Option("chat", N_("In writing, here")),
                Option("phone", N_("By phone")),
                Option("visit", N_("In person")),
                Option("any", N_("Any way")),
            ),
        ),
    ),
    Category.LEGAL: (
        Question(
            key="legal_topic",
            text=N_("What is the legal question about?"),
            short=N_("Topic"),
            options=(
                Option("benefits", N_("Benefits and allowances")),
                Option("alimony", N_("Alimony")),
                Option("custody", N_("Divorce, custody, where the child lives")),
                Option("housing", N_("Housing rights")),
                Option("guardian", N_("Guardianship, foster care")),
                Option("violence", N_("Protection from domestic violence")),
                Option("documents", N_("Documents, registration")),
                Option("other", N_("Something else")),
            ),
        ),
    ),
    Category.HUMANITARIAN: (
        Question(
            key="hum_needs",
            text=N_("What do you need? Choose everything that applies, then press «Done»."),
            short=N_("Needed"),
            multi=True,
            options=(
                Option("food", N_("Food")),
                Option("clothes", N_("Clothes and shoes")),
                Option("medicine", N_("Medicine")),
                Option("hygiene", N_("Hygiene products")),
                Option("baby", N_("Baby goods: nappies, formula")),
            ),
        ),
        Question(
            key="hum_when",
            text=N_("How soon do you need it?"),
            short=N_("How soon"),
            options=(
                Option("today", N_("Today: we have nothing left")),
                Option("week", N_("Within a week")),
                Option("later", N_("It can wait")),
            ),
            urgent_values=frozenset({"today"}),
        ),
    ),
    Category.HOUSING: (
        Question(
            key="house_issue",
            text=N_("What is happening with your housing?"),
            short=N_("Problem"),
            options=(
                Option("shelter", N_("We need a shelter")),
                Option("eviction", N_("We are being evicted")),
                Option("utilities", N_("Utilities cut off, or debts")),
                Option("conditions", N_("The home is unsafe or unfit")),
                Option("other", N_("Something else")),
            ),
        ),
        Question(
            key="house_safe",
            text=N_("Do you and the children have a safe place to sleep tonight?"),
            short=N_("Safe place tonight"),
            options=(Option("yes", N_("Yes")), Option("no", N_("No"))),
            urgent_values=frozenset({"no"}),
        ),
    ),
    Category.OTHER: (),
}

QUESTION_BY_STEP: dict[str, Question] = {q.step: q for qs in QUESTIONS.values() for q in qs}
