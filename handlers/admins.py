"""Who is an admin: ``ADMIN_IDS`` (the root of trust, changed only in the settings) and the admins an
admin added with ``/admins`` (kept in the database).

One ``AdminRoster`` is shared by everything that asks "is this an admin?" (the router's role, the
desk's "an admin may manage any request", bindings, SLA alerts). It reads the table again at most
every ``TTL`` seconds, and at once after a change made in this process; another replica's change
shows within ``TTL``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

from dialogs.admin_effects import ChangeAdmin
from dialogs.admins import AdminsReport
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Role
from dialogs.reports import Report
from storage.uow import Database
from storage.vocabulary import parse_person_key, person_key

log = logging.getLogger(__name__)
TTL = 10.0


class AdminRoster(Collection[str]):
    """The admins' person keys: the root ones, then the stored ones."""

    def __init__(
        self,
        root: Collection[str],
        db: Database | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = frozenset(root)
        self._db = db
        self._clock = clock
        self._stored: tuple[str, ...] = ()
        self._read_at: float | None = None
        # The read in hand, and the count of changes made here when it began (``changed``).
        self._reading: asyncio.Future[None] | None = None
        self._reading_after = 0
        self._changes = 0
        self._stored_after = -1  # the count of changes when what ``_stored`` holds was read

    @property
    def stored(self) -> tuple[str, ...]:
        return tuple(key for key in self._stored if key not in self.root)

    def __contains__(self, key: object) -> bool:
        return key in self.root or key in self._stored

    def __iter__(self) -> Iterator[str]:
        yield from sorted(self.root)
        yield from self.stored

    def __len__(self) -> int:
        return len(self.root) + len(self.stored)

    def view(self) -> tuple[tuple[str, bool], ...]:
        """Every admin's key, with True for the ``ADMIN_IDS`` ones (what /admins shows)."""
        return tuple((key, key in self.root) for key in self)

    def changed(self) -> None:
        """An admin was added or removed here: read the table again before the next update."""
        self._read_at = None
        self._changes += 1

    async def refresh(self) -> None:
        """Read the table if it is older than ``TTL``. Every update asks at once, and in a burst
        hundreds of them do while the first read is still running: they all wait for that one read
        (a flood had made hundreds of reads of the same table, 8% of the bot's time), unless it began
        before a change made here."""
        if self._db is None:
            return
        if self._read_at is not None and self._clock() - self._read_at < TTL:
            return
        if self._reading is None or self._reading_after != self._changes:
            self._reading_after = self._changes
            self._reading = reading = asyncio.ensure_future(self._read(self._db, self._changes))
            reading.add_done_callback(self._read_done)
        await asyncio.shield(self._reading)

    async def _read(self, db: Database, changes: int) -> None:
        began = self._clock()
        async with db.uow() as uow:
            stored = tuple(await uow.admins.keys())
        if changes >= self._stored_after:  # not older than what a later read stored already
            self._stored, self._stored_after = stored, changes
        if changes == self._changes:  # else a change made meanwhile may be missing: read at the next
            self._read_at = began

    def _read_done(self, reading: asyncio.Future[None]) -> None:
        if self._reading is reading:
            self._reading = None
        if not reading.cancelled():
            reading.exception()  # raised to whoever waited; a read nobody waits for any more is not news


def _refused(message: str, **params: str | int) -> Event:
    return Event(kind=EventKind.REPORT, what="refused", system=Report.of(message, **params))


async def change(scope: Any, effect: ChangeAdmin) -> Event:
    """Add or remove a stored admin. Checked here again, whatever the dialog let through: only an
    admin may, and an ``ADMIN_IDS`` admin is never removed from the bot."""
    incoming = scope.incoming
    if incoming is None or incoming.role is not Role.ADMIN:
        log.warning("a change of admins was refused: not asked by an admin")
        return _refused(N_("Only admins can do this."))
    try:
        platform, number = parse_person_key(effect.key)
    except ValueError:
        number = 0
    if number <= 0:
        return _refused(N_("{key} is not an id like tg:123, vk:456 or max:789."), key=effect.key)
    key = person_key(platform, number)
    roster: AdminRoster | None = scope.roster
    if roster is not None and key in roster.root:
        if effect.add:
            return _refused(N_("{key} is an admin already (ADMIN_IDS)."), key=key)
        return _refused(
            N_("{key} is in ADMIN_IDS: only the settings can remove them from the admins."), key=key
        )
    actor = scope.person.key
    if effect.add:
        done = await scope.uow.admins.add(key, actor, scope.now)
        message = N_("{key} is an admin now.") if done else N_("{key} is an admin already.")
    else:
        done = await scope.uow.admins.remove(key)
        message = N_("{key} is no longer an admin.") if done else N_("{key} was not an admin.")
    if done:
        await scope.uow.audit.add(
            actor, "admin_added" if effect.add else "admin_removed", details={"admin": key}
        )
        scope.admins_changed = True
    log.info("admins changed: %s %s", "added" if effect.add else "removed", "one" if done else "none")
    stored = tuple(k for k in await scope.uow.admins.keys() if roster is None or k not in roster.root)
    report = AdminsReport(lines=Report.of(message, key=key).lines, stored=stored)
    return Event(kind=EventKind.REPORT, what="admins", system=report)
