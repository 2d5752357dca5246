"""Steps around the request: consent, language, the main menu, my requests, and privacy."""

from __future__ import annotations

from dialogs import texts
from dialogs.details import add_attachment, resume_step
from dialogs.effects import AddPhone, AddTicketInfo, GiveConsent, RelayToTicket, WithdrawTicket
from dialogs.flow import CONSENT, MENU, S, go_home, nav_rows
from dialogs.flow import FamilyStep as Step
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_, SUPPORTED_LOCALES
from dialogs.primitives import Button, Screen
from dialogs.state import Attachment, Draft, TicketView
from dialogs.validate import as_int, contact_phone
from storage.vocabulary import TicketStatus

LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}


class Consent(Step):
    name = CONSENT
    needs_consent = False

    def render(self, t: Turn) -> Screen:
        lines = [
            t._(N_("Hello! This bot helps families with children to ask for urgent help.")),
            "",
            t._(
                N_(
                    "To take your request, we need your consent to process personal data: what you tell "
                    "us about your family, your region and how to contact you. Only the coordinators of "
                    "the family help service see it. You can see or delete it at any time with /my_data "
                    "and /delete_my_data."
                )
            ),
        ]
        lines += texts.org_lines(t)
        if t.ctx.policy_url:
            lines.append(
                t._(N_('The full policy: <a href="{url}">{url}</a>')).format(url=texts.esc(t.ctx.policy_url))
            )
        lines += ["", t._(N_("If someone is in danger right now, press «Emergency»: no consent needed."))]
        other = "en" if t.locale == "ru" else "ru"
        rows = (
            (t.button(t._(N_("✅ I agree")), "yes"),),
            (t.button(t._(N_("Not now")), "no"),),
            (
                t.global_button(t._(texts.LABEL_SOS), "sos"),
                t.global_button(t._(texts.LABEL_CONTACTS), "contacts"),
            ),
            (t.button(LANGUAGE_NAMES[other], f"lang.{other}"),),
        )
        return Screen(text="\n".join(lines), buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "yes":
            t.effect(GiveConsent(version=t.ctx.consent_version))
            t.consented = True
            t.go(S.OPT_IN, remember=False)  # announcements: their own question, before the menu
        elif value == "no":
            t.go(S.NO_CONSENT)
        elif value.startswith("lang.") and value[5:] in SUPPORTED_LOCALES:
            t.set_locale(value[5:])
        else:
            super().on_button(t, value)


class NoConsent(Step):
    name = S.NO_CONSENT
    needs_consent = False

    def render(self, t: Turn) -> Screen:
        text = t._(
            N_(
                "Without your consent I cannot take a request, and I keep nothing about you. "
                "You can still call for help right away:"
            )
        )
        emergency = texts.emergency_screen(t).text
        rows = (
            (t.button(t._(N_("✅ I agree after all")), "yes"),),
            (t.global_button(t._(texts.LABEL_CONTACTS), "contacts"),),
        )
        return Screen(text=f"{text}\n\n{emergency}", buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value == "yes":
            t.state = CONSENT
            t.dialog.steps[CONSENT].on_button(t, "yes")
        else:
            super().on_button(t, value)


class Language(Step):
    name = S.LANGUAGE
    needs_consent = False

    def render(self, t: Turn) -> Screen:
        rows = tuple((t.button(LANGUAGE_NAMES[loc], loc),) for loc in SUPPORTED_LOCALES)
        return Screen(text=t._(N_("Choose the language / Выберите язык")), buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        if value not in SUPPORTED_LOCALES:
            super().on_button(t, value)
            return
        t.set_locale(value)
        t.notice(t._(N_("Done: I will write in English.")))
        if t.consented:
            go_home(t)
        else:
            t.reset_to(CONSENT)


class Menu(Step):
    name = MENU

    def render(self, t: Turn) -> Screen:
        rows: list[tuple[Button, ...]] = []
        if t.data.draft is not None and t.data.draft.started:
            rows.append((t.button(t._(N_("▶️ Continue my unfinished request")), "continue"),))
        rows += [
            (t.button(t._(N_("📝 Ask for help")), "new"),),
            (t.button(t._(N_("📂 My requests")), "requests"),),
            (t.global_button(t._(texts.LABEL_CONTACTS), "contacts"),),
            (t.global_button(t._(texts.LABEL_SOS), "sos"), t.global_button(t._(texts.LABEL_EXIT), "exit")),
            (t.global_button(t._(N_("🌐 Language")), "lang"),),
        ]
        return Screen(text=t._(N_("How can we help? Choose below.")), buttons=tuple(rows))

    def on_button(self, t: Turn, value: str) -> None:
        if value == "new":
            t.data.draft = Draft()
            t.data.draft_step = None
            t.go(S.DANGER)
        elif value == "continue" and t.data.draft is not None:
            t.go(resume_step(t), remember=False)
            t.data.draft_step = None
        elif value == "requests":
            t.go(S.MY_REQUESTS)
        else:
            super().on_button(t, value)

    def on_text(self, t: Turn, text: str) -> None:
        if not relay(t, text, None):
            t.notice(t._(N_("To ask for help, press «Ask for help»: I will ask a few short questions.")))

    def on_media(self, t: Turn, attachment: Attachment) -> None:
        if not relay(t, t.event.text, attachment):
            super().on_media(t, attachment)

    def on_contact(self, t: Turn, phone: str) -> None:
        ticket = next((tk for tk in t.ctx.tickets if tk.is_open), None)
        number = contact_phone(phone)
        if ticket is None or number is None:
            super().on_contact(t, phone)
            return
        # A phone is shown only to the coordinator who takes the request, never copied into the group.
        t.effect(AddPhone(ticket_id=ticket.id, phone=number))
        t.show(
            Screen(
                text=t._(
                    N_("📞 Your number is saved with request #{n}; only your coordinator will see it.")
                ).format(n=ticket.id)
            )
        )
        t.silent = True

    def on_other(self, t: Turn, what: str) -> None:
        if not relay(t, "", None):
            super().on_other(t, what)


def relay(t: Turn, text: str, attachment: Attachment | None) -> bool:
    """Between requests, a parent with an open one is talking to its coordinator: pass it on."""
    # A claimed ticket has a person waiting to hear from the family; the use-case routes replies exactly.
    ticket = next((tk for tk in t.ctx.tickets if tk.status is TicketStatus.CLAIMED), None)
    ticket = ticket or next((tk for tk in t.ctx.tickets if tk.is_open), None)
    if ticket is None:
        return False
    t.effect(RelayToTicket(ticket_id=ticket.id, text=text, attachment=attachment, urgent=t.data.relay_urgent))
    t.data.relay_urgent = False
    if ticket.status is TicketStatus.CLAIMED:
        ack = t._(N_("✉️ Sent to your coordinator (request #{n})."))
    else:
        ack = t._(N_("✉️ Added to your request #{n}. A coordinator will see it as soon as they take it."))
    t.show(Screen(text=ack.format(n=ticket.id)))
    t.silent = True
    return True


def own_ticket(t: Turn, raw: str) -> TicketView | None:
    """The ticket must be one of this person's own: the number in a button proves nothing."""
    number = as_int(raw)
    return next((tk for tk in t.ctx.tickets if tk.id == number), None)


class MyRequests(Step):
    name = S.MY_REQUESTS

    def render(self, t: Turn) -> Screen:
        tickets = t.ctx.tickets
        if not tickets:
            text = t._(N_("You have no requests yet."))
            return Screen(text=text, buttons=((t.global_button(t._(texts.LABEL_MENU), "menu"),),))
        lines = [texts.requests_count(t, len(tickets)), ""]
        rows: list[tuple[Button, ...]] = []
        for ticket in tickets:
            lines.append(texts.ticket_line(t, ticket.id, ticket.category, ticket.status))
            if ticket.is_open:
                rows.append(
                    (
                        t.button(t._(N_("➕ Add to #{n}")).format(n=ticket.id), f"add.{ticket.id}"),
                        t.button(t._(N_("🗑 Withdraw #{n}")).format(n=ticket.id), f"wd.{ticket.id}"),
                    )
                )
        rows.append((t.global_button(t._(texts.LABEL_MENU), "menu"),))
        return Screen(text="\n".join(lines), buttons=tuple(rows), protect=True)

    def on_button(self, t: Turn, value: str) -> None:
        action, _, raw = value.partition(".")
        ticket = own_ticket(t, raw)
        if ticket is None or not ticket.is_open or action not in {"add", "wd"}:
            t.toast = t._(N_("This request cannot be changed any more."))
            t.notice(t._(N_("This request is closed or is not yours. Here is the current list:")))
            return
        t.data.ticket = ticket.id
        t.data.info_text = ""
        t.data.info_attachments = []
        t.data.info_urgent = False
        t.go(S.ADD_INFO if action == "add" else "mr_withdraw")


class AddInfo(Step):
    name = S.ADD_INFO

    def render(self, t: Turn) -> Screen:
        number = t.data.ticket
        if t.data.info_text or t.data.info_attachments:
            text = t._(N_("Got it. Add more, or press «Send» to add it to request #{n}.")).format(n=number)
            rows: tuple[tuple[Button, ...], ...] = ((t.button(t._(N_("✅ Send")), "send"),),)
        else:
            text = t._(
                N_("What would you like to add to request #{n}? Write it, or send photos or documents.")
            ).format(n=number)
            rows = ()
        return Screen(text=text, buttons=(*rows, *nav_rows(t)))

    def on_text(self, t: Turn, text: str) -> None:
        joined = f"{t.data.info_text}\n\n{text}" if t.data.info_text else text
        limit = t.ctx.limits.description
        if len(joined) > limit:
            t.notice(texts.story_too_long(t, limit))
            return
        t.data.info_text = joined

    def on_media(self, t: Turn, attachment: Attachment) -> None:
        add_attachment(t, t.data.info_attachments, attachment)
        if t.event.text.strip():
            self.on_text(t, t.event.text.strip())

    def on_button(self, t: Turn, value: str) -> None:
        ticket = own_ticket(t, str(t.data.ticket))
        if value != "send":
            super().on_button(t, value)
        elif ticket is None or not ticket.is_open:
            t.notice(t._(N_("This request is already closed. You can send a new one from the menu.")))
            t.reset_to(MENU)
        elif t.data.info_text or t.data.info_attachments:
            t.effect(
                AddTicketInfo(
                    ticket_id=ticket.id,
                    text=t.data.info_text,
                    attachments=tuple(t.data.info_attachments),
                    urgent=t.data.info_urgent,
                )
            )
            t.notice(t._(N_("✅ Added to request #{n}. The coordinator will see it.")).format(n=ticket.id))
            clear_info(t)
            t.reset_to(MENU)
        else:
            t.notice(t._(N_("Please write something first.")))


def clear_info(t: Turn) -> None:
    t.data.ticket = None
    t.data.info_text = ""
    t.data.info_attachments = []
    t.data.info_urgent = False


class Withdraw(Step):
    name = S.WITHDRAW

    def render(self, t: Turn) -> Screen:
        text = t._(N_("Withdraw request #{n}? The coordinators will stop working on it.")).format(
            n=t.data.ticket
        )
        rows = (
            (t.button(t._(N_("Yes, withdraw it")), "yes"),),
            (t.button(t._(N_("No, keep it")), "no"),),
        )
        return Screen(text=text, buttons=rows)

    def on_button(self, t: Turn, value: str) -> None:
        ticket = own_ticket(t, str(t.data.ticket))
        if value == "yes" and ticket is not None and ticket.is_open:
            t.effect(WithdrawTicket(ticket_id=ticket.id))
            t.notice(t._(N_("Request #{n} is withdrawn. You can always write again.")).format(n=ticket.id))
            clear_info(t)
            t.reset_to(MENU)
        elif value in {"yes", "no"}:
            clear_info(t)
            t.state = "mr_list"
        else:
            super().on_button(t, value)


STEPS: tuple[Step, ...] = (Consent(), NoConsent(), Language(), Menu(), MyRequests(), AddInfo(), Withdraw())
