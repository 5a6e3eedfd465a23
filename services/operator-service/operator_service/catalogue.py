"""What anyone signed in may read: the published catalogue, one package, and batches
of packages for booking-service."""
from __future__ import annotations

from collections.abc import Iterable

from operator_service import repository
from operator_service.datasource import PACKAGE_TABLES, USERS, DataSources
from operator_service.packages import no_such_package
from operator_service.repository import PackageFilter
from operator_service.schemas import CatalogueQuery
from travel_platform.api import page
from travel_platform.auth import Identity


def catalogue(*, data: DataSources, identity: Identity, query: CatalogueQuery) -> dict:
    """A page of published packages matching the query's filters, in its order."""
    where = PackageFilter(
        status="published", operator_id=query.operator_id, city=query.city,
        country=query.country, min_price=query.min_price, max_price=query.max_price,
        currency=query.currency, min_nights=query.min_nights, max_nights=query.max_nights,
        travel_date=query.travel_date, excluded_operators=_suspended_apart(data, identity))
    order = query.order or ("desc" if query.sort == "newest" else "asc")
    def read_page(conn) -> dict:
        total = repository.count_packages(conn=conn, where=where)
        rows = repository.list_packages(conn=conn, where=where, sort=query.sort,
                                        descending=order == "desc", limit=query.limit,
                                        offset=query.offset)
        return page(rows, total=total, limit=query.limit, offset=query.offset)

    return data.read(identity=identity, tables=PACKAGE_TABLES, query=read_page)


def get_package(*, data: DataSources, identity: Identity, package_id) -> dict:
    """A package visible to the caller: published, or their own."""
    # Anything else is 404, never 403, so that another operator's draft does not leak.
    # An operator reads where they write, so their own draft is there the moment they made it.
    found = _published(data, identity, [package_id], own=identity.is_operator)
    if not found:
        raise no_such_package()
    return found[0]


def packages_by_ids(*, data: DataSources, identity: Identity, package_ids: Iterable) -> dict:
    """The packages among `package_ids` the caller may see, in the order asked, and the rest."""
    wanted = list(dict.fromkeys(package_ids))
    by_id = {row["id"]: row for row in _published(data, identity, wanted)}
    return {"data": [by_id[i] for i in wanted if i in by_id],
            "missing": [i for i in wanted if i not in by_id]}


def _published(data: DataSources, identity: Identity, package_ids: list, *,
               own: bool = False) -> list[dict]:
    """The packages among `package_ids` the caller may see. While their tables move, the
    side that serves reads can lag the side that takes writes by a moment (replication):
    ids it does not know are asked of the writing side before they are called missing, so
    a package published a moment ago can be booked at once."""
    def query(ids: list):
        return lambda conn: repository.get_packages(conn=conn, package_ids=ids)

    rows = data.read(identity=identity, tables=PACKAGE_TABLES, own=own, query=query(package_ids))
    missing = [i for i in package_ids if i not in {row["id"] for row in rows}]
    if missing and not own and data.reads_apart(PACKAGE_TABLES):
        rows += data.read(identity=identity, tables=PACKAGE_TABLES, own=True,
                          query=query(missing))
    suspended = _suspended_apart(data, identity)
    if not suspended:
        return rows
    return [row for row in rows
            if str(row["operator_id"]) not in suspended
            or (identity.is_operator and str(row["operator_id"]) == identity.subject)]


def _suspended_apart(data: DataSources, identity: Identity) -> tuple[str, ...] | None:
    """The suspended operators, when the packages are read from another database than the
    one where profiles are written (a move between `switch-reads packages` and the
    operators' switch; migrate/units.py): there the packages' row-level security reads a
    copy of `users` that is empty (before `start operators`) or frozen, so the catalogue
    leaves them out here. None otherwise: the policy does it, in the same database."""
    if {data.source_of(PACKAGE_TABLES, reads=True), data.source_of(PACKAGE_TABLES)} == {
            data.source_of([USERS])}:
        return None
    return tuple(data.read(identity=identity, tables=[USERS], own=True,
                           query=lambda conn: repository.suspended_operator_ids(conn=conn)))
