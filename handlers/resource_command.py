"""/resource <words> in a ticket's thread: the assignee finds a resource of the directory of help
and sends its card to the family (through the outbox, with its retries and pacing)."""

from __future__ import annotations

from dialogs.i18n import N_, Translator, Translators
from dialogs.resources import Resource, family_lines, search
from dialogs.texts import esc
from handlers.directory_admin import to_resource
from handlers.pacer import Priority
from storage.models import Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import Category

COMMAND = "/resource"
LISTED = 5  # names shown when the words fit several resources


def is_resource(text: str) -> bool:
    head = text.strip().split(maxsplit=1)[0].lower() if text.strip() else ""
    return head.split("@", 1)[0] == COMMAND


async def suggest(
    uow: UnitOfWork, ticket: Ticket, actor: str, text: str, *, tr: Translator, translators: Translators
) -> str:
    """Carry out /resource in the ticket's transaction; the answer for the thread."""
    words = text.strip().split(maxsplit=1)[1] if len(text.strip().split(maxsplit=1)) > 1 else ""
    if not words.strip():
        return tr.gettext(
            N_("Write what to look for: /resource lawyer (a word of its name or of what it helps with).")
        )
    everything = tuple(to_resource(row) for row in await uow.resources.all())
    found = search(everything, words)
    category = Category(ticket.category) if ticket.category in Category._value2member_map_ else None
    # The family's own region and kind of help first: what fits them is what they can use.
    fitting = [r for r in found if r.serves(ticket.region_code, category)] or found
    if not fitting:
        return tr.gettext(N_("Nothing in the directory of help matches «{words}».")).format(words=esc(words))
    if len(fitting) > 1:
        names = "\n".join(f"• {esc(r.name_ru)}" for r in fitting[:LISTED])
        more = len(fitting) - LISTED
        tail = "\n" + tr.gettext(N_("… and {count} more.")).format(count=more) if more > 0 else ""
        intro = tr.gettext(N_("Several resources match; add a word to pick one:"))
        return f"{intro}\n{names}{tail}"
    [resource] = fitting
    family = await uow.people.by_id(ticket.person_id)
    if family is None or family.deleted_at is not None:
        return tr.gettext(N_("The family can no longer be reached through the bot."))
    await uow.outbox.message(
        family.key, _card(resource, translators[ticket.locale], ticket.locale), priority=Priority.DESK
    )
    await uow.audit.add(actor, "resource_suggested", ticket_id=ticket.id, details={"resource": resource.id})
    return tr.gettext(N_("Sent to the family: {name}.")).format(name=esc(resource.name_ru))


def _card(resource: Resource, tr: Translator, locale: str) -> str:
    head = tr.gettext(N_("📋 Your coordinator suggests a place that can help:"))
    return "\n".join([head, "", *family_lines(resource, locale)])
