"""Hours of the day in a person's own time zone: quiet hours, working hours, the next morning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs.directory import Directory
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Hours:
    """A range of local hours, ``start`` included, ``end`` excluded; 21-09 wraps midnight."""

    start: int
    end: int

    @classmethod
    def parse(cls, value: str) -> Hours | None:
        """ "21-09" -> Hours(21, 9); "off" (or an empty range like 9-9) -> None."""
        if value.strip().lower() == "off":
            return None
        start, _, end = value.partition("-")
        hours = cls(int(start), int(end))
        return None if hours.start == hours.end else hours

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        hour = moment.astimezone(zone).hour
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end

    def next_start(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The next time (after ``moment``) this range begins, as an aware datetime in ``zone``."""
        local = moment.astimezone(zone)
        candidate = local.replace(hour=self.start, minute=0, second=0, microsecond=0)
        if candidate <= local:
            candidate = (candidate + timedelta(days=1)).replace(hour=self.start)
        return candidate

    def next_end(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """When this range is over next (the morning after quiet hours), in ``zone``."""
        return Hours(self.end, self.start).next_start(moment, zone)


def zone_of(directory: Directory, region_code: str | None, default: ZoneInfo) -> ZoneInfo:
    """A family's time zone: its region's, else the configured default."""
    region = directory.region(region_code) if region_code else None
    return region.zone if region is not None else default


async def chat_zone(uow: UnitOfWork, chat: str, directory: Directory) -> ZoneInfo | None:
    """A coordinators' chat's time zone: that of the regions it is bound to, when they share one
    (None: no such region; the caller's default applies)."""
    zones = set()
    for binding in await uow.bindings.of_chat(chat):
        region = directory.region(binding.region_code) if binding.region_code else None
        if region is not None:
            zones.add(region.tz)
    return ZoneInfo(zones.pop()) if len(zones) == 1 else None


@dataclass(frozen=True)
class DeskHours:
    """When the coordinators a new request goes to are at work, in their own time zone: that of the
    chat it is routed to (its bound region), else DEFAULT_TIMEZONE."""

    hours: Hours | None  # WORKING_HOURS; None: always
    zone: ZoneInfo  # DEFAULT_TIMEZONE
    directory: Directory
    default_chat: str | None = None  # COORDINATOR_CHAT

    async def opens(
        self, uow: UnitOfWork, region_code: str | None, category: str, now: datetime
    ) -> datetime | None:
        """None while they are at work; else when they are back (aware, in their zone)."""
        if self.hours is None:
            return None
        chat = await uow.bindings.route(region_code, category) or self.default_chat
        zone = await chat_zone(uow, await uow.migrations.follow(chat), self.directory) if chat else None
        zone = zone or self.zone
        return None if self.hours.contains(now, zone) else self.hours.next_start(now, zone)
