"""The directory of help, for admins: add, change, remove, import and export (CSV).

Effects of the admin's directory dialog, carried out in the turn's transaction. Every one checks
the role again on the server: a forged button or a stale state never changes the directory.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from dialogs.effects import ExportDirectory, ImportDirectory, RemoveResource, SaveResource
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Role
from dialogs.reports import Line, Report
from dialogs.resources import Resource
from handlers import directory_csv
from handlers.ports import FileRefusedError
from handlers.uploads import Upload
from storage.models import HelpResource
from storage.uow import UnitOfWork
from storage.vocabulary import Category

log = logging.getLogger(__name__)
SHOWN_ERRORS = 15  # more would not fit a message; the admin fixes these and tries again


def to_resource(row: HelpResource) -> Resource:
    categories = tuple(Category(c) for c in row.categories if c in Category._value2member_map_)
    return Resource(
        id=row.id,
        name_ru=row.name_ru,
        name_en=row.name_en,
        about_ru=row.about_ru,
        about_en=row.about_en,
        categories=categories,
        regions=tuple(str(r) for r in row.regions),
        phone=row.phone,
        address=row.address,
        hours_ru=row.hours_ru,
        hours_en=row.hours_en,
        link=row.link,
    )


def _report(what: str, report: Report, number: int = 0) -> Event:
    return Event(kind=EventKind.REPORT, what=what, system=report, number=number)


def _admin(scope: Any) -> bool:
    incoming = scope.incoming
    if incoming is None or incoming.role is not Role.ADMIN:
        log.warning("a directory change was refused: not from an admin")
        return False
    return True


def _refused() -> Event:
    return _report("refused", Report.of(N_("Only admins can change the directory of help.")))


async def save(scope: Any, effect: SaveResource) -> Event:
    if not _admin(scope):
        return _refused()
    values = directory_csv.resource_values(effect.resource)
    row = await scope.uow.resources.save(effect.resource.id, values)
    if row is None:
        return _report("gone", Report.of(N_("This resource was removed meanwhile.")))
    await scope.uow.audit.add(scope.person.key, "resource_saved", details={"resource": row.id})
    return _report("saved", Report.of(N_("Saved.")), number=row.id)


async def remove(scope: Any, effect: RemoveResource) -> Event:
    if not _admin(scope):
        return _refused()
    if not await scope.uow.resources.remove(effect.resource_id):
        return _report("gone", Report.of(N_("This resource was removed meanwhile.")))
    await scope.uow.audit.add(scope.person.key, "resource_removed", details={"resource": effect.resource_id})
    return _report("removed", Report.of(N_("Removed from the directory.")))


async def import_csv(uow: UnitOfWork, content: bytes, regions: frozenset[str]) -> Report | int:
    """The whole directory replaced by the file's rows, or nothing changed: the number of resources,
    or a report naming the lines to fix."""
    parsed = directory_csv.parse(content, regions)
    if parsed.errors:
        lines = [Line(message=N_("Nothing was changed: the file has errors. Fix them and send it again."))]
        for error in parsed.errors[:SHOWN_ERRORS]:
            text = Line(message=error.message, params=error.params)
            if error.line:
                lines.append(Line(message=N_("Line {line}:"), params={"line": error.line}))
            lines.append(text)
        if len(parsed.errors) > SHOWN_ERRORS:
            lines.append(
                Line(message=N_("… and {count} more."), params={"count": len(parsed.errors) - SHOWN_ERRORS})
            )
        return Report(lines=tuple(lines))
    await uow.resources.replace_all(parsed.rows)
    return len(parsed.rows)


async def import_file(scope: Any, effect: ImportDirectory) -> Event:
    if not _admin(scope):
        return _refused()
    # Fetched before the turn's transaction (handlers.prefetch): none is downloaded while it is open.
    fetched = scope.files.get(effect.attachment.ref)
    if fetched is not None and isinstance(fetched.error, FileRefusedError):
        limit = directory_csv.MAX_BYTES // 1000
        return _report("failed", Report.of(N_("The file is too big: at most {limit} KB."), limit=limit))
    file = fetched.data if fetched is not None else None
    if file is None:
        return _report("failed", Report.of(N_("I could not read this file. Please send it again.")))
    result = await import_csv(scope.uow, file.data, effect.regions)
    if isinstance(result, Report):
        return _report("failed", result)
    await scope.uow.audit.add(scope.person.key, "directory_imported", details={"resources": result})
    return _report("imported", Report.of(N_("The directory was replaced: {count} resources."), count=result))


async def export_file(scope: Any, effect: ExportDirectory) -> Event:
    if not _admin(scope):
        return _refused()
    rows = await scope.uow.resources.all()
    # Made and sent after the commit (handlers/uploads.py), the report under it.
    scope.uploads.append(
        Upload("directory.csv", partial(directory_csv.dump, [to_resource(row) for row in rows]))
    )
    return _report(
        "exported", Report.of(N_("The directory as a CSV file: {count} resources."), count=len(rows))
    )
