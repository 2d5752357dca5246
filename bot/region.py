"""What a region sets up without code, read at start: its regions (REGIONS_FILE), its directory of
help (DIRECTORY_FILE), and the start links of its posters (the bot's name on each messenger)."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.transport import Transport
from dialogs.directory import Directory, load_directory
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
