"""Every check-in answer, and the 1..5 rating after a "yes", feeds the admins' figures."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from openpyxl import load_workbook

from dialogs.directory import Directory
from dialogs.figures import render_figures
from dialogs.i18n import Translators
from handlers.figures import summarise, to_xlsx
from storage.uow import Database
from tests.fakes import Family
from tests.followup_support import Rig


class RussianSpeaker:
    def __init__(self, translators: Translators) -> None:
        self.locale, self._tr = "ru", translators["ru"]

    def _(self, message: str) -> str:
        return self._tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._tr.ngettext(singular, plural, n)


async def test_answers_and_ratings_are_counted_in_the_figures(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    answers = [("yes", "r.5"), ("yes", "r.4"), ("no", None)]
    for n, (answer, rating) in enumerate(answers):
        rig.family = Family(rig.service, user_id=5100 + n)
        rig.family.update_id = rig.family.message_id = 1000 * (n + 1)
        ticket = await rig.closed_ticket()
        await rig.allow(ticket)
        rig.clock.move(timedelta(days=3))
        await rig.tick()
        await rig.family.press("f_checkin", answer)
        if rating is not None:
            await rig.family.press("f_rating", rating)
        else:
            await rig.family.press("f_comment", "skip")
    rig.clock.move(timedelta(minutes=1))
    async with db.uow() as uow:
        checkins = await uow.figures.checkins(rig.clock() - timedelta(days=30), rig.clock())
        facts = await uow.figures.tickets(rig.clock() - timedelta(days=30), rig.clock())
    report = summarise(facts, 7, checkins)
    assert report.checkins == {"yes": 2, "no": 1}
    assert (report.ratings, report.rating_mean) == (2, 4.5)
    text = render_figures(RussianSpeaker(translators), report, {})
    assert "получили нужную помощь: 2" in text and "помощь всё ещё нужна: 1" in text
    assert "в среднем 4,5 из 5 (2 оценки)" in text  # Babel's decimal comma, a Russian plural
    assert summarise(facts, 7).checkins == {} and summarise(facts, 7).rating_mean is None
    totals = {
        r[0].value: r[1].value for r in load_workbook(BytesIO(to_xlsx(facts, report)))["totals"].iter_rows()
    }
    assert totals["checkin:yes"] == 2 and totals["mean_rating"] == 4.5
