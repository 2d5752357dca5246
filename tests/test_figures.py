"""Figures for admins on a known data set, their CSV export without identifiers, and the
directory dialog driven through the pure engine."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.effects import ExportDirectory, ImportDirectory, RemoveResource, SaveResource
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Payload, Role
from dialogs.reports import Report
from dialogs.resources import Resource
from handlers.figures import summarise
from storage.figures import TicketFacts
from storage.models import Ticket
from storage.uow import Database
from storage.vocabulary import Category
from tests.directory_support import admin, context, service
from tests.fakes import FakeMessenger, Family

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def fact(
    category: str, region: str | None, status: str, wait: int | None, outcome: str | None = None
) -> TicketFacts:
    claimed = None if wait is None else T0 + timedelta(minutes=wait)
    closed = T0 + timedelta(days=1) if status == "closed" else None
    return TicketFacts(T0, category, region, category == "legal", status, claimed, closed, outcome)


def test_every_figure_of_a_known_data_set() -> None:
    facts = [
        fact("legal", "msk", "closed", 10, "helped"),
        fact("legal", "msk", "claimed", 30),
        fact("housing", "spb", "closed", 50, "referred"),
        fact("housing", None, "new", None),
        fact("psychological", "msk", "closed", 200, "helped"),
    ]
    report = summarise(facts, 7)
    assert report.total == 5 and report.urgent == 2
    assert report.by_category == {"legal": 2, "housing": 2, "psychological": 1}
    assert report.by_region == {"msk": 3, "spb": 1, "": 1}
    assert report.by_status == {"closed": 3, "claimed": 1, "new": 1}
    assert report.outcomes == {"helped": 2, "referred": 1}
    assert report.claimed == 4 and report.claim_median == 40  # median of 10, 30, 50, 200
    assert summarise([], 7).claim_median is None


async def test_an_admin_sees_the_figures_and_the_export_carries_no_identifier(
    db: Database, translators: Translators, directory: Directory
) -> None:
    messenger = FakeMessenger()
    svc = service(db, messenger, translators, directory)
    family = Family(svc, user_id=4242)
    await family.to_summary()
    await family.press("t_summary", "send")
    async with db.uow() as uow:
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
        ticket.phone = "+79991234567"
        ticket.claimed_at = ticket.created_at + timedelta(minutes=12)
    a = admin(svc)
    await a.send(Event(kind=EventKind.COMMAND, command="admin"))
    await a.press("adm_home", "figures")
    before = len(messenger.sent)
    await a.press("fig_home", "d30")
    text = "\n".join(screen.text for chat, screen in messenger.sent[before:])
    assert "1" in text and "12" in text and "Москва" in text
    await a.press("fig_home", "export")
    [(chat, name, content), (_, xlsx_name, xlsx)] = messenger.documents
    assert chat == 7 and name.endswith(".csv") and xlsx_name == name.replace(".csv", ".xlsx")
    sheet = load_workbook(io.BytesIO(xlsx))["requests"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["created_at", "category", "region"] and rows[1][1:6] == [
        "other",
        "msk",
        0,
        "new",
        12,
    ]
    totals = {row[0].value: row[1].value for row in load_workbook(io.BytesIO(xlsx))["totals"].iter_rows()}
    assert totals["requests"] == 1 and totals["median_minutes_to_claim"] == 12 and totals["region:msk"] == 1
    everything = " ".join(str(v) for row in rows for v in row)
    for secret in ("4242", "tg:", "Нужна помощь", "+7999"):
        assert secret not in everything
    csv_text = content.decode("utf-8-sig")
    lines = csv_text.splitlines()
    assert len(lines) == 2 and lines[0].startswith("created_at,category,region")
    assert ",other,msk,0,new,12," in lines[1]
    for secret in ("4242", "tg:", "Нужна помощь", "+7999", "1234567"):
        assert secret not in csv_text


async def test_non_admins_get_no_figures(
    db: Database, translators: Translators, directory: Directory
) -> None:
    messenger = FakeMessenger()
    svc = service(db, messenger, translators, directory)
    family = Family(svc, user_id=4243)
    async with db.uow() as uow:
        from storage.vocabulary import Platform

        await uow.people.get_or_create("tg:4243", Platform.TELEGRAM, "ru")
        await uow.dialogs.save("tg:4243", "fig_home", {})
    await family.press("fig_home", "export")
    await family.press("fig_home", "d7")
    assert messenger.documents == []
    assert all("📊" not in screen.text for _, screen in messenger.sent)


# ---- the directory dialog through the pure engine ----

RESOURCES = (
    Resource(id=1, name_ru="112", phone="112"),
    Resource(id=2, name_ru="Центр", regions=("msk",), categories=(Category.LEGAL,)),
)


def press(state: str, value: str) -> Event:
    return Event(kind=EventKind.BUTTON, payload=Payload(step=state, value=value))


def test_engine_directory_dialog_edits_by_effects_only(
    translators: Translators, directory: Directory
) -> None:
    dialogs = assemble()
    ctx = context(translators, directory, RESOURCES)
    out = dialogs.step(None, {}, Event(kind=EventKind.COMMAND, command="directory"), ctx)
    assert out.state == "dir_list" and "Центр" in str(out.screens[-1].buttons)
    out = dialogs.step(out.state, out.persisted(), press("dir_list", "r2"), ctx)
    assert out.state == "dir_view" and "Центр" in out.screens[-1].text and not out.effects
    out = dialogs.step(out.state, out.persisted(), press("dir_view", "f.link"), ctx)
    refused = dialogs.step(out.state, out.persisted(), Event(kind=EventKind.TEXT, text="example.org"), ctx)
    assert refused.state == "dir_field" and not refused.effects
    out = dialogs.step(
        out.state, out.persisted(), Event(kind=EventKind.TEXT, text="https://example.org"), ctx
    )
    [effect] = out.effects
    assert isinstance(effect, SaveResource) and effect.resource.link == "https://example.org"
    assert effect.resource.id == 2 and effect.resource.regions == ("msk",)
    out = dialogs.step(out.state, out.persisted(), press("dir_view", "remove"), ctx)
    out = dialogs.step(out.state, out.persisted(), press("dir_remove", "yes"), ctx)
    assert out.effects == [RemoveResource(2)]
    report = Event(kind=EventKind.REPORT, what="removed", system=Report.of("Removed from the directory."))
    out = dialogs.step(out.state, out.persisted(), report, ctx)
    assert out.state == "dir_list" and "Removed from the directory." in out.screens[-1].text
    out = dialogs.step(out.state, out.persisted(), press("dir_list", "export"), ctx)
    assert out.effects == [ExportDirectory()]


def test_engine_directory_dialog_takes_a_csv_document_only(
    translators: Translators, directory: Directory
) -> None:
    from dialogs.state import Attachment
    from storage.vocabulary import AttachmentKind

    dialogs = assemble()
    ctx = context(translators, directory, RESOURCES)
    out = dialogs.step(None, {}, Event(kind=EventKind.COMMAND, command="directory"), ctx)
    photo = Attachment(kind=AttachmentKind.PHOTO, ref="tg:p")
    refused = dialogs.step(out.state, out.persisted(), Event(kind=EventKind.MEDIA, attachment=photo), ctx)
    assert not refused.effects
    doc = Attachment(kind=AttachmentKind.DOCUMENT, ref="tg:d")
    out = dialogs.step(out.state, out.persisted(), Event(kind=EventKind.MEDIA, attachment=doc), ctx)
    [effect] = out.effects
    assert isinstance(effect, ImportDirectory) and "msk" in effect.regions and effect.attachment == doc


@pytest.mark.parametrize("command", ["directory", "figures", "admin"])
def test_engine_a_family_cannot_enter_the_admin_dialogs(
    translators: Translators, directory: Directory, command: str
) -> None:
    dialogs = assemble()
    ctx = context(translators, directory, RESOURCES, role=Role.FAMILY)
    out = dialogs.step("menu", {}, Event(kind=EventKind.COMMAND, command=command), ctx)
    assert out.state == "menu" and not out.effects
