"""Figures for admins: requests by kind of help, region, status; time to claim; outcomes.

Anonymous by construction: only categories, region codes, times, statuses and outcomes are read
(``storage.figures``), so neither the report nor its CSV can carry a name, a phone, an id or a story.
"""

from __future__ import annotations

import csv
import io
import logging
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from dialogs.effects import ShowFigures
from dialogs.figures import FiguresReport
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Role
from dialogs.reports import Report
from handlers.uploads import Upload
from storage.figures import TicketFacts

log = logging.getLogger(__name__)
MAX_DAYS = 366
COLUMNS = ("created_at", "category", "region", "urgent", "status", "minutes_to_claim", "closed_at", "outcome")


def summarise(
    facts: Sequence[TicketFacts], days: int, checkins: Sequence[tuple[str, int | None]] = ()
) -> FiguresReport:
    """``checkins``: each answered check-in's answer and rating (the family's own outcome)."""
    ratings = [rating for _answer, rating in checkins if rating is not None]
    waits = [(f.claimed_at - f.created_at).total_seconds() / 60 for f in facts if f.claimed_at is not None]
    return FiguresReport(
        days=days,
        total=len(facts),
        urgent=sum(1 for f in facts if f.urgent),
        by_category=dict(Counter(f.category for f in facts).most_common()),
        by_region=dict(Counter(f.region or "" for f in facts).most_common()),
        by_status=dict(Counter(f.status for f in facts).most_common()),
        outcomes=dict(Counter(f.outcome for f in facts if f.outcome).most_common()),
        claimed=len(waits),
        claim_median=None if not waits else round(statistics.median(waits)),
        checkins=dict(Counter(answer for answer, _rating in checkins).most_common()),
        ratings=len(ratings),
        rating_mean=round(statistics.mean(ratings), 1) if ratings else None,
    )


def to_csv(facts: Sequence[TicketFacts]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in facts:
        wait = None if f.claimed_at is None else round((f.claimed_at - f.created_at).total_seconds() / 60)
        writer.writerow(
            [
                f.created_at.isoformat(timespec="minutes"),
                f.category,
                f.region or "",
                int(f.urgent),
                f.status,
                "" if wait is None else wait,
                f.closed_at.isoformat(timespec="minutes") if f.closed_at else "",
                f.outcome or "",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(facts: Sequence[TicketFacts], report: FiguresReport) -> bytes:
    """The same lines as the CSV in a spreadsheet, and the totals on a second sheet. openpyxl is
    imported here, when an admin asks: a bot that is never asked does not carry it (5 MiB)."""
    from openpyxl import Workbook  # noqa: PLC0415

    book = Workbook()
    if book.active is not None:  # a new workbook's one sheet: ours
        book.remove(book.active)
    sheet = book.create_sheet("requests")
    sheet.append(COLUMNS)
    for f in facts:
        wait = None if f.claimed_at is None else round((f.claimed_at - f.created_at).total_seconds() / 60)
        closed = f.closed_at.replace(tzinfo=None) if f.closed_at else None  # spreadsheets have no zones: UTC
        sheet.append(
            [
                f.created_at.replace(tzinfo=None),
                f.category,
                f.region or "",
                int(f.urgent),
                f.status,
                wait,
                closed,
                f.outcome or "",
            ]
        )
    totals = book.create_sheet("totals")
    totals.append(["requests", report.total])
    totals.append(["urgent", report.urgent])
    totals.append(["claimed", report.claimed])
    totals.append(["median_minutes_to_claim", report.claim_median])
    totals.append(["ratings", report.ratings])
    totals.append(["mean_rating", report.rating_mean])
    for group, counts in (
        ("category", report.by_category),
        ("region", report.by_region),
        ("status", report.by_status),
        ("outcome", report.outcomes),
        ("checkin", report.checkins),
    ):
        for code, n in counts.items():
            totals.append([f"{group}:{code}", n])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def show(scope: Any, effect: ShowFigures) -> Event:
    incoming = scope.incoming
    if incoming is None or incoming.role is not Role.ADMIN:
        log.warning("figures were refused: not asked by an admin")
        return Event(
            kind=EventKind.REPORT, what="refused", system=Report.of(N_("Only admins can see the figures."))
        )
    days = max(1, min(effect.days, MAX_DAYS))
    now: datetime = scope.now
    facts = await scope.uow.figures.tickets(now - timedelta(days=days), now)
    checkins = await scope.uow.figures.checkins(now - timedelta(days=days), now)
    report = summarise(facts, days, checkins)
    if effect.export:  # made and sent after the commit (handlers/uploads.py), the figures under them
        name = f"requests_{(now - timedelta(days=days)).date()}_{now.date()}.csv"
        scope.uploads.append(Upload(name, partial(to_csv, facts)))
        scope.uploads.append(Upload(name.removesuffix(".csv") + ".xlsx", partial(to_xlsx, facts, report)))
    return Event(kind=EventKind.REPORT, what="figures", system=report)
