"""Rules of operator-service: an operator's profile, the life of their packages (draft,
published, archived), when a package is complete enough to publish, and what the
catalogue shows. Row-level security decides which rows a caller reaches; these rules
decide what may be done with them."""
from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg

from operator_service import repository
from operator_service.datasource import (
    CHANGES,
    PACKAGE_TABLES,
    PACKAGES,
    RDS,
    SUPABASE,
    USERS,
    DataSources,
)
from operator_service.repository import PackageFilter
from operator_service.schemas import (
    MAX_ADDONS,
    MAX_EXCLUSIONS,
    MAX_STOPS,
    CatalogueQuery,
    PackageCreate,
    PackageUpdate,
)
from travel_platform.accounts import TRANSITIONS
from travel_platform.api import page
from travel_platform.auth import Identity
from travel_platform.clock import utc_today
from travel_platform.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)
from travel_platform.web import identity_view

PARTS = ("stops", "addons", "exclusions")
PART_LIMITS = {"stops": MAX_STOPS, "addons": MAX_ADDONS, "exclusions": MAX_EXCLUSIONS}
PART_NAMES = {"stops": "stop", "addons": "add-on", "exclusions": "exclusion"}
EDITABLE = ("draft", "published")

log = logging.getLogger(__name__)


# Operator profile ----------------------------------------------------------------------------

def describe_operator(*, data: DataSources, identity: Identity) -> dict:
    """The verified identity of the operator with their profile, or `"profile": null` until
    their first write (PATCH /me or a new package) creates it: a read never writes, so it
    needs no write fence, cannot fail while writes are held, and a GET stays safe."""
    profile = data.read(identity=identity, tables=[USERS], own=True,
                        query=lambda conn: repository.get_operator(conn=conn,
                                                                   user_id=identity.subject))
    return {"identity": identity_view(identity), "profile": profile}


def update_operator(*, data: DataSources, identity: Identity, changes: dict) -> dict:
    """Change the operator's own profile; answers as `describe_operator`."""
    _ensure_profile(data, identity)
    with data.transaction(identity=identity, tables=[USERS]) as conn:
        repository.update_operator(conn=conn, user_id=identity.subject, fields=changes)
        profile = repository.get_operator(conn=conn, user_id=identity.subject)
    return {"identity": identity_view(identity), "profile": profile}


def _ensure_profile(data: DataSources, identity: Identity) -> None:
    """Create the operator's profile unless it exists (on their first write), in a
    transaction of its own: the profile and the packages that reference it may live in
    different databases while the tables move (see migrate/units.py)."""
    # The company name given at sign-up (supabase-js signUp's data.company_name, carried in
    # the token's user_metadata); without one, the e-mail is the most telling name.
    given = (identity.claims.get("user_metadata") or {}).get("company_name")
    named = given.strip() if isinstance(given, str) and given.strip().isprintable() else ""
    placeholder = (named or identity.email or f"Operator {identity.subject[:8]}")[:200]
    with _account_must_exist(data, identity), data.transaction(identity=identity,
                                                              tables=[USERS]) as conn:
        repository.ensure_operator(conn=conn, user_id=identity.subject,
                                   company_name=placeholder, contact_email=identity.email)


def require_active(*, data: DataSources, identity: Identity, action: str) -> None:
    """403 `operator_not_active` unless an administrator approved the operator (and has not
    suspended them): only active operators publish packages and confirm bookings. Read from
    wherever the profiles live: a package and its operator's profile may be in different
    databases while the tables move, so this is a rule here, not a constraint there."""
    profile = data.read(identity=identity, tables=[USERS], own=True,
                        query=lambda conn: repository.get_operator(conn=conn,
                                                                   user_id=identity.subject))
    status = profile["status"] if profile else "pending"
    if status != "active":
        raise Forbidden(f"an operator who is {status} cannot {action}: an administrator "
                        "approves new operators", code="operator_not_active",
                        details=[{"field": "status", "problem": status}])


def require_not_suspended(*, data: DataSources, identity: Identity) -> None:
    """403 `operator_suspended` for a suspended operator: their packages are out of the
    catalogue and frozen until an administrator reactivates them. The database refuses
    their writes too (restrictive policies); this check, read where the profiles live,
    gives the caller the reason instead of a package that seems not to exist."""
    profile = data.read(identity=identity, tables=[USERS], own=True,
                        query=lambda conn: repository.get_operator(conn=conn,
                                                                   user_id=identity.subject))
    if profile is not None and profile["status"] == "suspended":
        raise Forbidden("a suspended operator cannot change packages: their packages are out "
                        "of the catalogue until an administrator reactivates them",
                        code="operator_suspended",
                        details=[{"field": "status", "problem": "suspended"}])


# Operators, for administrators ------------------------------------------------------------------

def list_operators(*, data: DataSources, identity: Identity, status: str | None, limit: int,
                   offset: int) -> dict:
    """A page of operators' profiles (of one status), oldest first, each with the e-mail
    addresses the operator signs in with."""
    def query(conn) -> dict:
        total = repository.count_operators(conn=conn, status=status)
        rows = repository.list_operators(conn=conn, status=status, limit=limit, offset=offset)
        return page(rows, total=total, limit=limit, offset=offset)

    found = data.read(identity=identity, tables=[USERS], query=query, own=True)
    found["data"] = _with_sign_ins(data, identity, found["data"])
    return found


def get_operator(*, data: DataSources, identity: Identity, operator_id) -> dict:
    """One operator's profile, with the e-mail addresses they sign in with."""
    found = data.read(identity=identity, tables=[USERS], own=True,
                      query=lambda conn: repository.get_operator(conn=conn, user_id=operator_id))
    if found is None:
        raise NotFound("no such tour operator", code="operator_not_found")
    return _with_sign_ins(data, identity, [found])[0]


def _with_sign_ins(data: DataSources, identity: Identity, rows: list[dict]) -> list[dict]:
    """Each profile with `sign_ins`: the address of each account the operator signs in
    with, as its issuer holds it (Supabase Auth's account; the operators' Cognito pool's
    user, once linked), beside the `contact_email` the operator typed. An administrator
    approves on these: the contact e-mail proves nothing, anyone can type any address."""
    ids = [row["id"] for row in rows]
    if not ids:
        return rows
    supabase = data.read_on(SUPABASE, identity=identity, query=lambda conn:
                            repository.supabase_sign_in_emails(conn=conn, user_ids=ids))
    cognito = (data.read_on(RDS, identity=identity, query=lambda conn:
                            repository.cognito_sign_in_emails(conn=conn, user_ids=ids))
               if data.holds(RDS) else {})
    for row in rows:
        key, sign_ins = str(row["id"]), []
        if key in supabase:
            sign_ins.append({"issuer": "supabase", "email": supabase[key]["email"],
                             "confirmed": supabase[key]["confirmed"]})
        if key in cognito:
            # Linked at a sign-in Supabase Auth vouched for, or imported from its accounts.
            sign_ins.append({"issuer": "cognito", "email": cognito[key], "confirmed": True})
        row["sign_ins"] = sign_ins
    return rows


def change_operator_status(*, data: DataSources, identity: Identity, operator_id,
                           action: str) -> dict:
    """approve (pending -> active), suspend (active -> suspended), reactivate (suspended ->
    active); 409 with the current status when the operator is not where `action` starts."""
    needed, target = TRANSITIONS[action]
    with data.transaction(identity=identity, tables=[USERS]) as conn:
        changed = repository.change_operator_status(conn=conn, user_id=operator_id,
                                                    from_status=needed, to_status=target,
                                                    changed_by=identity.subject)
        current = (repository.get_operator(conn=conn, user_id=operator_id)
                   if changed is None else None)
    if changed is not None:
        return _with_sign_ins(data, identity, [changed])[0]
    if current is None:
        raise NotFound("no such tour operator", code="operator_not_found")
    raise InvalidTransition(f"cannot {action} an operator who is {current['status']}: needs "
                            f"{needed}", current_status=current["status"],
                            required_status=needed)


@contextmanager
def _account_must_exist(data: DataSources, identity: Identity) -> Iterator[None]:
    """A write whose foreign key names the operator's account or profile (the profile's
    `auth.users` row, a package's `users` row) fails when the account was deleted, with its
    profile and packages, after the token was issued: until the issuer's answer reaches every
    process (travel_platform/auth/revocation.py) that is the caller's 401, not our 500.

    While the tables move, a package's key may be checked against the other database's copy
    of `users`, which lacks whoever signed up since (`python -m migrate` suspends such keys;
    a run that failed half way can leave one). So the profile is looked up where `users`
    takes writes now before the account is called deleted: found there, the account lives,
    and the caller gets 503 to retry, never a 401 that signs a live operator out."""
    try:
        yield
    except psycopg.errors.ForeignKeyViolation as exc:
        profile = data.read(identity=identity, tables=[USERS], own=True,
                            query=lambda conn: repository.get_operator(
                                conn=conn, user_id=identity.subject))
        if profile is None:
            raise Unauthorized("this account no longer exists", code="account_deleted") from None
        log.error("a foreign key refused a write of a live operator (their profile is where "
                  "`users` takes writes): a key the move should have suspended: %s",
                  str(exc).splitlines()[0])
        raise ServiceUnavailable("this write cannot be checked while the data moves between "
                                 "databases; retry in a moment", code="data_moving",
                                 headers={"Retry-After": "1"}) from None


# The operator's own packages -----------------------------------------------------------------

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
    _require_consistent(fields)
    _ensure_profile(data, identity)   # the package's operator_id references it
    require_not_suspended(data=data, identity=identity)
    with _account_must_exist(data, identity), data.transaction(identity=identity,
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
        raise _no_such_package()
    return found


def update_package(*, data: DataSources, identity: Identity, package_id,
                   changes: PackageUpdate) -> dict:
    """Change a draft or published package (a list given replaces the whole list)."""
    fields = changes.model_dump(exclude_unset=True)
    parts = {part: fields.pop(part) for part in PARTS if part in fields}
    with _editing(data, identity, package_id, allowed=EDITABLE, action="change") as (conn, current):
        if fields:
            _require_consistent({**current, **fields})
            repository.update_package(conn=conn, package_id=package_id, fields=fields)
        for part, rows in parts.items():
            repository.replace_parts(conn=conn, part=part, package_id=package_id, rows=rows)
        return _finish(conn, package_id)


def publish_package(*, data: DataSources, identity: Identity, package_id) -> dict:
    """Publish a complete draft of an active operator; 422 lists what is missing."""
    require_active(data=data, identity=identity, action="publish packages")
    with _editing(data, identity, package_id, allowed=("draft",), action="publish") as (conn, _):
        missing = missing_for_publish(_read(conn, package_id), today=utc_today())
        if missing:
            raise Unprocessable("the package is not complete enough to publish",
                                code="package_incomplete", details=missing)
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
        if count >= PART_LIMITS[part]:
            raise Unprocessable(f"a package has at most {PART_LIMITS[part]} {part}",
                                code="too_many_parts",
                                details=[{"field": part, "problem": f"{count} already"}])
        if position is not None and position > count + 1:
            raise Unprocessable("the position is past the end of the list",
                                code="invalid_position",
                                details=[{"field": "position",
                                          "problem": f"must be between 1 and {count + 1}"}])
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
        raise _no_such_package()
    return found


# What anyone may read ------------------------------------------------------------------------

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
        raise _no_such_package()
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


# The rules -----------------------------------------------------------------------------------

def missing_for_publish(package: dict, *, today: datetime.date) -> list[dict]:
    """What a package lacks before travellers can book it: one entry per problem."""
    missing = []
    if not package["stops"]:
        missing.append(("stops", "at least one stop is required"))
    if package["price_per_traveller"] is None:
        missing.append(("price_per_traveller", "a price per traveller is required"))
    for field in ("first_departure_date", "last_departure_date"):
        if package[field] is None:
            missing.append((field, "the bookable window needs a first and a last departure date"))
    if package["last_departure_date"] is not None and package["last_departure_date"] <= today:
        missing.append(("last_departure_date", "the bookable window must reach past today"))
    if package["capacity_per_departure"] is None:
        missing.append(("capacity_per_departure", "the seats per departure date are required"))
    for field in ("min_travellers", "max_travellers"):
        if package[field] is None:
            missing.append((field, "the travellers per booking need a minimum and a maximum"))
    return [{"field": field, "problem": problem} for field, problem in missing]


def inconsistencies(fields: dict) -> list[dict]:
    """Contradictions between a package's fields (each may be unset)."""
    lo, hi, capacity = (fields.get("min_travellers"), fields.get("max_travellers"),
                        fields.get("capacity_per_departure"))
    first, last = fields.get("first_departure_date"), fields.get("last_departure_date")
    problems = []
    if lo is not None and hi is not None and hi < lo:
        problems.append({"field": "max_travellers", "problem": "must be at least min_travellers"})
    if hi is not None and capacity is not None and hi > capacity:
        problems.append({"field": "max_travellers",
                         "problem": "must not exceed capacity_per_departure"})
    if first is not None and last is not None and last < first:
        problems.append({"field": "last_departure_date",
                         "problem": "must not be before first_departure_date"})
    return problems


def _require_consistent(fields: dict) -> None:
    problems = inconsistencies(fields)
    if problems:
        raise Unprocessable("the package's fields contradict each other",
                            code="package_inconsistent", details=problems)


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
            raise _no_such_package()
        if current["status"] not in allowed:
            raise InvalidTransition(f"cannot {action} a package that is {current['status']}",
                                    current_status=current["status"], action=action)
        yield conn, current


def _finish(conn, package_id) -> dict:
    """The package after a change; a published one must still be complete."""
    package = _read(conn, package_id)
    if package["status"] == "published":
        missing = missing_for_publish(package, today=utc_today())
        if missing:
            raise Unprocessable("a published package must stay complete",
                                code="package_incomplete", details=missing)
    return package


def _read(conn, package_id) -> dict:
    return repository.get_packages(conn=conn, package_ids=[package_id])[0]


def _no_such_package() -> NotFound:
    return NotFound("no such package", code="package_not_found")


