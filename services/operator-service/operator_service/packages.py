"""The operator's own packages and their life (draft, published, archived): every
change in one transaction that holds the package, and a published package stays
complete (operator_service/rules.py)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from operator_service import repository
from operator_service.datasource import CHANGES, PACKAGE_TABLES, PACKAGES, DataSources
from operator_service.profiles import (
    account_must_exist,
    ensure_profile,
    require_active,
    require_not_suspended,
)
from operator_service.repository import PackageFilter
from operator_service.rules import (
    ensure_complete,
    ensure_consistent,
    ensure_room_for_part,
    ensure_status_allows,
)
from operator_service.schemas import (
    PackageCreate,
    PackageUpdate,
)
from travel_platform.api import page
from travel_platform.auth import Identity
from travel_platform.clock import utc_today
from travel_platform.errors import NotFound

PARTS = ("stops", "addons", "exclusions")
PART_NAMES = {"stops": "stop", "addons": "add-on", "exclusions": "exclusion"}
EDITABLE = ("draft", "published")


def list_own_packages(*, data: DataSources, identity: Identity, status: str | None, limit: int,
                      offset: int) -> dict:
    """A page of the operator's own packages, drafts included, newest first."""
    where = PackageFilter(operator_id=identity.subject, status=status)
    def query(conn) -> dict:
        total = repository.count_packages(conn=conn, where=where)
        rows = repository.list_packages(conn=conn, where=where, sort="newest", descending=True,
                                        limit=limit, offset=offset)
        return page(rows, total=total, limit=limit, offset=offset)

    return data.read(identity=identity, tables=PACKAGE_TABLES, query=query, own=True)


def create_package(*, data: DataSources, identity: Identity, new: PackageCreate) -> dict:
    """A new draft package with its parts, written in one transaction."""
    fields = new.model_dump(exclude=set(PARTS))
    ensure_consistent(fields)
    ensure_profile(data, identity)   # the package's operator_id references it
    require_not_suspended(data=data, identity=identity)
    with account_must_exist(data, identity), data.transaction(identity=identity,
                                                              tables=PACKAGE_TABLES) as conn:
        package_id = repository.insert_package(conn=conn, operator_id=identity.subject,
                                               fields=fields)
        for part in PARTS:
            rows = [item.model_dump() for item in getattr(new, part)]
            if rows:
                repository.replace_parts(conn=conn, part=part, package_id=package_id, rows=rows)
        return _read(conn, package_id)


def get_own_package(*, data: DataSources, identity: Identity, package_id) -> dict:
    """One of the operator's own packages, whatever its status."""
    def query(conn) -> dict | None:
        if repository.find_own_package(conn=conn, package_id=package_id,
                                       operator_id=identity.subject) is None:
            return None
        return _read(conn, package_id)

    found = data.read(identity=identity, tables=PACKAGE_TABLES, query=query, own=True)
    if found is None:
        raise no_such_package()
    return found


def update_package(*, data: DataSources, identity: Identity, package_id,
                   changes: PackageUpdate) -> dict:
    """Change a draft or published package (a list given replaces the whole list)."""
    fields = changes.model_dump(exclude_unset=True)
    parts = {part: fields.pop(part) for part in PARTS if part in fields}
    with _editing(data, identity, package_id, allowed=EDITABLE, action="change") as (conn, current):
        if fields:
            ensure_consistent({**current, **fields})
            repository.update_package(conn=conn, package_id=package_id, fields=fields)
        for part, rows in parts.items():
            repository.replace_parts(conn=conn, part=part, package_id=package_id, rows=rows)
        return _finish(conn, package_id)


def publish_package(*, data: DataSources, identity: Identity, package_id) -> dict:
    """Publish a complete draft of an active operator; 422 lists what is missing."""
    require_active(data=data, identity=identity, action="publish packages")
    with _editing(data, identity, package_id, allowed=("draft",), action="publish") as (conn, _):
        ensure_complete(_read(conn, package_id), today=utc_today(),
                        refusal="the package is not complete enough to publish")
        repository.set_package_status(conn=conn, package_id=package_id, status="published")
        return _read(conn, package_id)


def archive_package(*, data: DataSources, identity: Identity, package_id) -> dict:
    """Take a draft or published package out of use for good."""
    with _editing(data, identity, package_id, allowed=EDITABLE, action="archive") as (conn, _):
        repository.set_package_status(conn=conn, package_id=package_id, status="archived")
        return _read(conn, package_id)


def delete_package(*, data: DataSources, identity: Identity, package_id) -> None:
    """Delete a draft package."""
    # A package that was published is archived instead: bookings and the audit refer to it.
    with _editing(data, identity, package_id, allowed=("draft",), action="delete") as (conn, _):
        repository.delete_package(conn=conn, package_id=package_id)


def add_part(*, data: DataSources, identity: Identity, package_id, part: str, row: dict,
             position: int | None = None) -> dict:
    """Add a stop (at `position`, default last), an add-on or an exclusion (last)."""
    with _editing(data, identity, package_id, allowed=EDITABLE, action="change") as (conn, _):
        count = repository.count_parts(conn=conn, part=part, package_id=package_id)
        ensure_room_for_part(part, count=count, position=position)
        repository.insert_part(conn=conn, part=part, package_id=package_id, row=row,
                               position=position or count + 1)
        return _finish(conn, package_id)


def remove_part(*, data: DataSources, identity: Identity, package_id, part: str,
                part_id) -> dict:
    """Remove one stop, add-on or exclusion; the later ones move up."""
    with _editing(data, identity, package_id, allowed=EDITABLE, action="change") as (conn, _):
        if not repository.delete_part(conn=conn, part=part, package_id=package_id,
                                      part_id=part_id):
            raise NotFound(f"no such {PART_NAMES[part]} in this package",
                           code=f"{part[:-1]}_not_found")
        return _finish(conn, package_id)


def list_changes(*, data: DataSources, identity: Identity, package_id, limit: int,
                 offset: int) -> dict:
    """The audit of one of the operator's packages, newest first."""
    def query(conn) -> dict | None:
        if repository.find_own_package(conn=conn, package_id=package_id,
                                       operator_id=identity.subject) is None:
            return None
        total = repository.count_changes(conn=conn, package_id=package_id)
        rows = repository.list_changes(conn=conn, package_id=package_id, limit=limit,
                                       offset=offset)
        return page(rows, total=total, limit=limit, offset=offset)

    found = data.read(identity=identity, tables=(PACKAGES, CHANGES), query=query, own=True)
    if found is None:
        raise no_such_package()
    return found


@contextmanager
def _editing(data: DataSources, identity: Identity, package_id, *, allowed: tuple[str, ...],
             action: str) -> Iterator[tuple[object, dict]]:
    """A transaction holding the caller's own package locked, if its status allows `action`
    and the operator is not suspended."""
    require_not_suspended(data=data, identity=identity)
    with data.transaction(identity=identity, tables=PACKAGE_TABLES) as conn:
        current = repository.find_own_package(conn=conn, package_id=package_id,
                                              operator_id=identity.subject, lock=True)
        if current is None:
            raise no_such_package()
        ensure_status_allows(current["status"], allowed=allowed, action=action)
        yield conn, current


def _finish(conn, package_id) -> dict:
    """The package after a change; a published one must still be complete."""
    package = _read(conn, package_id)
    if package["status"] == "published":
        ensure_complete(package, today=utc_today(),
                        refusal="a published package must stay complete")
    return package


def _read(conn, package_id) -> dict:
    return repository.get_packages(conn=conn, package_ids=[package_id])[0]


def no_such_package() -> NotFound:
    return NotFound("no such package", code="package_not_found")
