"""Times shown to people, in their language and time zone (Babel's formatting, never hand-made)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_datetime

from dialogs import texts
from dialogs.i18n import N_
from dialogs.primitives import Speaks


def when(moment: datetime, zone: tzinfo | None, locale: str) -> str:
    """ "2 декабря, 09:00" / "December 2, 09:00", in ``zone`` (else the moment's own)."""
    return format_datetime(moment, "d MMMM, HH:mm", tzinfo=zone or moment.tzinfo, locale=locale)


def after_hours(t: Speaks, opens: datetime, zone: tzinfo | None) -> list[str]:
    """Outside the coordinators' working hours: when a person will read the request, and the numbers."""
    return [
        t._(
            N_(
                "Coordinators are not at work at this hour. A person will read your request after "
                "{when} (your local time)."
            )
        ).format(when=when(opens, zone, t.locale)),
        t._(N_("If someone is in danger, do not wait for us:")),
        t._(texts.LINE_112),
        t._(texts.LINE_HELPLINE),
    ]
