"""Check-ins on VK, end to end through the real vk-api client: the intent VK asks for, and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.vk.emulator import VkEmulator
from handlers.background import Job
from handlers.followups import offer_after_close
from storage.models import Ticket, utcnow
from storage.vocabulary import FollowUpKind, FollowUpStatus, Outcome
from tests.e2e import HandledUpdates
from tests.vk_e2e import VkParent, start_vk_app

GROUP_CHAT = "tg:-100777"


@pytest.fixture
async def quiet_off_vk_app(vk: VkEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_vk_app(vk, db_url, quiet_hours="off", working_hours="off")
    yield app
    await app.stop()


@pytest.fixture
def family(vk: VkEmulator, quiet_off_vk_app: Application) -> VkParent:
    return VkParent(vk=vk, handled=HandledUpdates(quiet_off_vk_app), user=vk.user(7001))


def followup_job(app: Application) -> Job:
    assert app.background is not None
    return next(job for job in app.background.jobs if job.name == "followups")


async def closed_request(family: VkParent, app: Application) -> int:
    """A request filed on VK, then taken and closed as helped by a coordinator."""
    await family.start()
    await family.tap_value("yes")
    await family.walk("new", "no", "legal", "benefits", "1", "4")
    await family.say("Приморье")  # typed: one of 89 regions, found by its everyday name
    await family.say("Не выплачивают пособие")
    await family.walk("done", "chat", "send")
    assert app.db is not None
    async with app.db.uow() as uow:
        ticket = (await uow.session.scalars(select(Ticket).order_by(Ticket.id.desc()))).first()
        assert ticket is not None and ticket.region_code == "primorye"
        now = utcnow()
        await uow.tickets.set_chat(ticket.id, GROUP_CHAT)
        assert await uow.tickets.claim(ticket.id, GROUP_CHAT, "tg:201", "Вера", now)
        assert await uow.tickets.close(ticket.id, GROUP_CHAT, Outcome.HELPED.value, None, now)
        await offer_after_close(uow, ticket.id, Outcome.HELPED.value, now)
        return ticket.id


async def offered(vk: VkEmulator, family: VkParent, words: str = "Можно мы напишем") -> None:
    """The offer due now reaches the family: from the test's round, or from the app's own follow-up
    tick (every 30 s beside the test) if that claimed it first and is still sending it."""
    await vk.wait_for(lambda: words in family.texts(family.messages()), timeout=10)


async def test_a_vk_check_in_carries_the_intent_the_family_agreed_to(
    vk: VkEmulator, family: VkParent, quiet_off_vk_app: Application
) -> None:
    app = quiet_off_vk_app
    await closed_request(family, app)
    job, now = followup_job(app), utcnow()
    await job.run_once(now)
    await offered(vk, family)
    assert vk.calls_of("messages.send")[-1].params.get("intent") == "customer_support"
    await family.tap_value("yes")
    await job.run_once(now + timedelta(days=3))
    sent = [c for c in vk.calls_of("messages.send") if "получили помощь" in c.params.get("message", "")]
    assert sent and {c.params.get("intent") for c in sent} == {"confirmed_notification"}
    await family.tap_value("yes")
    await family.tap_value("r.4")
    assert app.db is not None
    async with app.db.uow() as uow:
        rows = await uow.followups.of_ticket((await uow.session.scalars(select(Ticket))).one().id)
    assert [(r.answer, r.rating) for r in rows[:2]] == [("allow", None), ("yes", 4)]


@pytest.mark.parametrize("code", [943, 944])
async def test_an_intent_vk_refuses_marks_the_check_in_not_sent_once(
    vk: VkEmulator, family: VkParent, quiet_off_vk_app: Application, code: int
) -> None:
    app = quiet_off_vk_app
    ticket = await closed_request(family, app)
    job, now = followup_job(app), utcnow()
    await job.run_once(now)
    await offered(vk, family)
    await family.tap_value("yes")
    vk.fail("messages.send", code, times=5)
    await job.run_once(now + timedelta(days=3))
    await job.run_once(now + timedelta(days=3, hours=1))  # not retried
    assert app.db is not None
    async with app.db.uow() as uow:
        rows = await uow.followups.of_ticket(ticket)
        audit = [e.action for e in await uow.audit.for_ticket(ticket)]
    assert rows[1].status == FollowUpStatus.FAILED
    assert audit.count("followup_not_sent") == 1
    refused = [c for c in vk.calls_of("messages.send") if c.error == code]
    assert len(refused) == 1


async def test_a_vk_family_confirms_an_appointment_and_is_reminded(
    vk: VkEmulator, family: VkParent, quiet_off_vk_app: Application
) -> None:
    app = quiet_off_vk_app
    ticket = await closed_request(family, app)
    assert app.db is not None
    now = utcnow()
    at = now + timedelta(days=2)
    async with app.db.uow() as uow:  # reopened for its coordinator, who offers an appointment
        assert await uow.tickets.reopen(ticket, GROUP_CHAT, now)
        appointment = await uow.appointments.add(ticket, at, "Центр семьи, Светланская 1", "tg:201")
        await uow.followups.add(ticket, FollowUpKind.APPOINTMENT, now, appointment_id=appointment.id)
        await uow.followups.add(
            ticket,
            FollowUpKind.REMINDER,
            at - timedelta(hours=2),
            FollowUpStatus.HELD,
            appointment_id=appointment.id,
        )
    job = followup_job(app)
    await job.run_once(now)
    await offered(vk, family, "Сможете прийти?")  # the offer's text, then this question with its buttons
    offer = [c for c in vk.calls_of("messages.send") if "Светланская" in c.params.get("message", "")]
    assert offer and offer[-1].params.get("intent") == "customer_support"
    await family.tap_value("confirm")
    await job.run_once(at - timedelta(hours=2))
    reminder = [c for c in vk.calls_of("messages.send") if "Напоминаем" in c.params.get("message", "")]
    assert len(reminder) == 1 and reminder[0].params.get("intent") == "confirmed_notification"
