"""What a region sets up without code, read at start: its regions (REGIONS_FILE), its directory of
help (DIRECTORY_FILE), and the start links of its posters (the bot's name on each messenger)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.transport import Transport
from dialogs.directory import Directory, load_directory
from handlers.background import Job
from handlers.directory_file import DirectoryFileError, load_directory_file
from storage.uow import Database
from storage.vocabulary import Platform

log = logging.getLogger(__name__)


async def region_directory(settings: Settings, db: Database) -> Directory:
    """The regions (REGIONS_FILE, checked with the settings) and, when DIRECTORY_FILE is set and
    changed since the last start, the directory of help from that file."""
    regions_file = Path(settings.regions_file) if settings.regions_file else None
    directory = load_directory(regions_file=regions_file)
    if settings.directory_file:
        codes = [r.code for r in directory.regions]
        try:
            await load_directory_file(db, Path(settings.directory_file), codes)
        except DirectoryFileError as exc:
            raise ConfigError(f"DIRECTORY_FILE: {exc}") from None
    return directory


async def start_links_of(transports: list[Transport]) -> dict[Platform, str]:
    """The admins' start links (/links) need the bot's name on each platform; a platform that does
    not say it only leaves its links out."""
    links: dict[Platform, str] = {}
    for transport in transports:
        try:
            link = await transport.start_link()
        except Exception as exc:  # a nicety for posters: never a reason to stop the start
            log.warning("no start link for %s (%s)", transport.platform.value, type(exc).__name__)
            continue
        if link:
            links[transport.platform] = link
    return links


class StartLinks(Job):
    """Fills in the start links once the transports run, as a background job rather than a step of
    the start: the start does not wait on it, a stop waits for it, and a platform that did not say
    the bot's name is asked again at the next tick."""

    name = "start_links"

    def __init__(
        self,
        transports: list[Transport],
        links: dict[Platform, str],
        *,
        interval: timedelta = timedelta(minutes=5),
    ) -> None:
        super().__init__()
        self._transports = transports
        self._links = links
        self.interval = interval.total_seconds()
        self.delay = 0.0

    async def run_once(self, now: datetime) -> int:
        missing = [t for t in self._transports if t.platform not in self._links]
        if missing:
            self._links.update(await start_links_of(missing))
        return 0  # nothing to repeat within this tick
