"""The admin's directory of help: list, look at, add, change and remove resources; import and
export the whole directory as a CSV file. Pure: the resources come in ``Context.resources``, and
every change is an effect the use-case checks and carries out (``handlers.directory_admin``)."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from pydantic import Field

from dialogs import texts
from dialogs.effects import Effect, ExportDirectory, ImportDirectory, RemoveResource, SaveResource
from dialogs.engine import Dialog, Handlers, Step, Turn
from dialogs.i18n import N_
from dialogs.primitives import Button, Event, EventKind, Role, Screen
from dialogs.reports import outsider
from dialogs.resource_card import FIELD_LABELS, card, card_value, check, parse_regions
from dialogs.resources import Resource, tidy
from dialogs.state import Attachment, DialogDataBase
from dialogs.texts import esc
from storage.vocabulary import AttachmentKind, Category

ADMIN_HOME = "adm_home"  # dialogs.admin_home's home state (that module opens this one)
PAGE = 8


class D(StrEnum):
    """The directory dialog's states: persisted, a schema."""

    LIST = "dir_list"
    VIEW = "dir_view"
    FIELD = "dir_field"
    CATEGORIES = "dir_cats"
    NEW = "dir_new"
    REMOVE = "dir_remove"


class DirectoryData(DialogDataBase):
    page: int = 0
    resource: int | None = None  # the resource looked at
    field: str | None = None  # the field being changed
    picked: list[Category] = Field(default_factory=list)  # categories being chosen
    adding: bool = False  # a new resource's name was sent: its id comes back with the report


class DirTurn(Turn[DirectoryData]):
    def act(self, effect: Effect) -> None:
        """Every effect here reports back (``EventKind.REPORT``): the screen is shown after it."""
        self.effect(effect)
        self.silent = True

    def current(self) -> Resource | None:
        return next((r for r in self.ctx.resources if r.id == self.data.resource), None)


class ListStep(Step[DirTurn]):
    name = D.LIST
    reads_files = True  # a CSV sent here replaces the directory

    def render(self, t: DirTurn) -> Screen:
        resources = t.ctx.resources
        pages = max(1, -(-len(resources) // PAGE))
        page = min(t.data.page, pages - 1)
        text = t._(
            N_(
                "📚 <b>Directory of help</b>: {count} resources.\n\nPick one to change it, or add one. "
                "To replace the whole directory, send a CSV file here (the export shows its columns)."
            )
        ).format(count=len(resources))
        rows: list[tuple[Button, ...]] = [
            (t.button(("🌐 " if r.national else "📍 ") + r.name(t.locale)[:48], f"r{r.id}"),)
            for r in resources[page * PAGE : (page + 1) * PAGE]
        ]
        paging = []
        if page > 0:
            paging.append(t.button("◀️", "prev"))
        if page < pages - 1:
            paging.append(t.button("▶️", "next"))
        if paging:
            rows.append(tuple(paging))
        rows.append((t.button(t._(N_("➕ Add")), "add"), t.button(t._(N_("⬇️ Export CSV")), "export")))
        rows.append((t.button(t._(N_("🛠 Admin menu")), "admin"),))
        return Screen(text=text, buttons=tuple(rows))

    def on_button(self, t: DirTurn, value: str) -> None:
        if value in ("prev", "next"):
            t.data.page = max(0, t.data.page + (1 if value == "next" else -1))
            t.edit = True
        elif value == "add":
            t.go(D.NEW)
        elif value == "export":
            t.act(ExportDirectory())
        elif value == "admin":
            t.reset_to(ADMIN_HOME)
        elif value.startswith("r") and value[1:].isdigit():
            t.data.resource = int(value[1:])
            if t.current() is None:
                t.notice(t._(N_("This resource is no longer in the directory.")))
            else:
                t.go(D.VIEW)
        else:
            super().on_button(t, value)

    def on_media(self, t: DirTurn, attachment: Attachment) -> None:
        if attachment.kind is not AttachmentKind.DOCUMENT:
            t.notice(
                t._(N_("Please send the CSV table as a file (a document), not as a photo or a message."))
            )
            return
        regions = frozenset(r.code for r in t.ctx.directory.regions)
        t.act(ImportDirectory(attachment=attachment, regions=regions))


class ViewStep(Step[DirTurn]):
    name = D.VIEW

    def render(self, t: DirTurn) -> Screen:
        resource = t.current()
        if resource is None:
            return Screen(
                text=t._(N_("This resource is no longer in the directory.")),
                buttons=((t.button(t._(texts.LABEL_BACK), "back"),),),
            )
        labels = [(name, t._(label)) for name, label in FIELD_LABELS.items()]
        rows: list[tuple[Button, ...]] = [
            tuple(t.button("✏️ " + label, f"f.{name}") for name, label in labels[i : i + 2])
            for i in range(0, len(labels), 2)
        ]
        rows.append((t.button(t._(N_("🗑 Remove")), "remove"), t.button(t._(texts.LABEL_BACK), "back")))
        return Screen(text=card(t, resource), buttons=tuple(rows))

    def on_button(self, t: DirTurn, value: str) -> None:
        resource = t.current()
        field = value.removeprefix("f.")
        if resource is None:
            super().on_button(t, value)
        elif value == "remove":
            t.go(D.REMOVE)
        elif value.startswith("f.") and field == "categories":
            t.data.picked = list(resource.categories)
            t.go(D.CATEGORIES)
        elif value.startswith("f.") and field in FIELD_LABELS:
            t.data.field = field
            t.go(D.FIELD)
        else:
            super().on_button(t, value)


class FieldStep(Step[DirTurn]):
    name = D.FIELD

    def render(self, t: DirTurn) -> Screen:
        field = t.data.field or "name_ru"
        resource = t.current()
        now = card_value(t, resource, field) if resource else "—"
        hint = (
            t._(N_('Region codes or names, separated by commas; "-" makes it a national line.'))
            if field == "regions"
            else t._(N_('Send "-" to clear it.'))
        )
        text = t._(N_("✏️ <b>{field}</b>\nNow: {value}\n\nSend the new value. {hint}")).format(
            field=t._(FIELD_LABELS[field]), value=now, hint=hint
        )
        return Screen(text=text, buttons=((t.button(t._(texts.LABEL_CANCEL), "cancel"),),))

    def on_text(self, t: DirTurn, text: str) -> None:
        resource, field = t.current(), t.data.field
        if resource is None or field is None:
            t.notice(t._(N_("This resource is no longer in the directory.")))
            t.reset_to(D.LIST)
            return
        value = "" if text.strip() == "-" else tidy(field, text)
        if field == "regions":
            codes = parse_regions(t, value)
            if codes is None:
                return
            changed = replace(resource, regions=codes)
        else:
            problem = check(t, field, value)
            if problem:
                t.notice(problem)
                return
            changed = replace(resource, **{field: value})  # type: ignore[arg-type]  # a text field
        t.act(SaveResource(changed))
        t.data.field = None
        t.go(D.VIEW, remember=False)


class CategoriesStep(Step[DirTurn]):
    name = D.CATEGORIES

    def render(self, t: DirTurn) -> Screen:
        rows: list[tuple[Button, ...]] = [
            (
                t.button(
                    ("✅ " if c in t.data.picked else "▫️ ") + t._(texts.CATEGORY_NAMES[c]), f"c.{c.value}"
                ),
            )
            for c in Category
        ]
        rows.append((t.button(t._(N_("💾 Save")), "save"), t.button(t._(texts.LABEL_CANCEL), "cancel")))
        text = t._(N_("Which kinds of help does it offer? None ticked: any kind."))
        return Screen(text=text, buttons=tuple(rows))

    def on_button(self, t: DirTurn, value: str) -> None:
        resource = t.current()
        code = value.removeprefix("c.")
        if value.startswith("c.") and code in Category._value2member_map_:
            category = Category(code)
            picked = [c for c in t.data.picked if c != category]
            t.data.picked = picked if category in t.data.picked else [*picked, category]
            t.edit = True
        elif value == "save" and resource is not None:
            ordered = tuple(c for c in Category if c in t.data.picked)
            t.act(SaveResource(replace(resource, categories=ordered)))
            t.go(D.VIEW, remember=False)
        else:
            super().on_button(t, value)


class NewStep(Step[DirTurn]):
    name = D.NEW

    def render(self, t: DirTurn) -> Screen:
        text = t._(N_("➕ Send the name of the new resource, in Russian. You can fill in the rest next."))
        return Screen(text=text, buttons=((t.button(t._(texts.LABEL_CANCEL), "cancel"),),))

    def on_text(self, t: DirTurn, text: str) -> None:
        name = tidy("name_ru", text)
        problem = check(t, "name_ru", name)
        if problem:
            t.notice(problem)
            return
        t.act(SaveResource(Resource(id=None, name_ru=name)))
        t.data.adding = True


class RemoveStep(Step[DirTurn]):
    name = D.REMOVE

    def render(self, t: DirTurn) -> Screen:
        resource = t.current()
        name = esc(resource.name_ru) if resource else "—"
        return Screen(
            text=t._(N_("Remove «{name}» from the directory? Families will no longer see it.")).format(
                name=name
            ),
            buttons=(
                (t.button(t._(N_("🗑 Yes, remove")), "yes"), t.button(t._(texts.LABEL_CANCEL), "cancel")),
            ),
        )

    def on_button(self, t: DirTurn, value: str) -> None:
        if value == "yes" and t.data.resource is not None:
            t.act(RemoveResource(t.data.resource))
        else:
            super().on_button(t, value)


COMMANDS = Handlers()


@COMMANDS("directory")
def _directory(t: DirTurn) -> None:
    t.data.page = 0
    t.reset_to(D.LIST)


class DirectoryDialog(Dialog[DirTurn]):
    name = "directory"
    data_model = DirectoryData
    turn_class = DirTurn
    home = D.LIST
    roles = frozenset({Role.ADMIN})

    def finish(self, t: DirTurn) -> None:
        if not outsider(t):
            super().finish(t)

    def cancel(self, t: DirTurn) -> None:
        if t.state in (D.FIELD, D.CATEGORIES, D.REMOVE) and t.current() is not None:
            t.data.field = None
            t.go(D.VIEW, remember=False)
        else:
            t.reset_to(D.LIST)

    def on_event(self, t: DirTurn, event: Event) -> None:
        if event.kind is not EventKind.REPORT or event.system is None:
            super().on_event(t, event)
            return
        t.notice(event.system.render(t))
        if event.what == "saved" and t.data.adding:
            t.data.adding = False
            t.data.resource = event.number
            t.reset_to(D.LIST)
            t.go(D.VIEW)
        elif event.what in ("removed", "imported", "gone"):
            t.data.resource = None
            t.data.page = 0
            t.reset_to(D.LIST)

    def is_busy(self, state: str) -> bool:
        return state in (D.FIELD, D.NEW)


def assemble() -> DirectoryDialog:
    steps: list[Step[DirTurn]] = [
        ListStep(),
        ViewStep(),
        FieldStep(),
        CategoriesStep(),
        NewStep(),
        RemoveStep(),
    ]
    return DirectoryDialog(steps, commands=COMMANDS, entry=COMMANDS.by_name)
