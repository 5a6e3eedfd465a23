"""SQL of operator-service. Every function takes a connection from `datasource`, which runs
as the caller, so Supabase's row-level security applies to each statement here."""
from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from psycopg import sql
from psycopg.types.json import set_json_loads

from operator_service.datasource import ADDONS, CHANGES, EXCLUSIONS, PACKAGES, STOPS, USERS

# Operator profile ----------------------------------------------------------------------------

_PROFILE_COLUMNS = ("id, company_name, contact_email, contact_phone, status, status_changed_at, "
                    "created_at, updated_at")
PROFILE_FIELDS = ("company_name", "contact_email", "contact_phone")


def ensure_operator(*, conn, user_id: str, company_name: str, contact_email: str | None) -> None:
    """Create the operator's profile row unless it exists."""
    conn.execute(
        sql.SQL("insert into {} (id, company_name, contact_email) values (%s, %s, %s) "
                "on conflict (id) do nothing").format(sql.Identifier(USERS)),
        (user_id, company_name, contact_email))


def get_operator(*, conn, user_id: str) -> dict | None:
    """The operator profile row of a Supabase user, or None."""
    return conn.execute(
        sql.SQL(f"select {_PROFILE_COLUMNS} from {{}} where id = %s").format(sql.Identifier(USERS)),
        (user_id,)).fetchone()


def count_operators(*, conn, status: str | None) -> int:
    """How many operator profiles (of one status) the caller may see."""
    return conn.execute(
        sql.SQL("select count(*) as n from {} where %(status)s::text is null"
                " or status = %(status)s").format(sql.Identifier(USERS)),
        {"status": status}).fetchone()["n"]


def list_operators(*, conn, status: str | None, limit: int, offset: int) -> list[dict]:
    """Operator profiles (of one status), oldest first: the queue an administrator works."""
    return conn.execute(
        sql.SQL(f"select {_PROFILE_COLUMNS} from {{}} where %(status)s::text is null"
                " or status = %(status)s order by created_at, id limit %(limit)s"
                " offset %(offset)s").format(sql.Identifier(USERS)),
        {"status": status, "limit": limit, "offset": offset}).fetchall()


def change_operator_status(*, conn, user_id, from_status: str, to_status: str,
                           changed_by: str) -> dict | None:
    """Move a profile from one status to another; None if it is not in `from_status`."""
    return conn.execute(
        sql.SQL(f"update {{}} set status = %s, status_changed_at = now(),"
                f" status_changed_by = %s where id = %s and status = %s"
                f" returning {_PROFILE_COLUMNS}").format(sql.Identifier(USERS)),
        (to_status, changed_by, user_id, from_status)).fetchone()


def supabase_sign_in_emails(*, conn, user_ids: list) -> dict[str, dict]:
    """The e-mail each operator's Supabase Auth account signed up with (theirs to prove, not
    to type), by operator id; an administrator's connection to Supabase only."""
    rows = conn.execute("select id::text, email, confirmed"
                        " from private.operator_sign_in_emails(%s::uuid[])",
                        ([str(i) for i in user_ids],)).fetchall()
    return {row["id"]: row for row in rows}


def cognito_sign_in_emails(*, conn, user_ids: list) -> dict[str, str]:
    """The e-mail of each operator's linked user of the operators' Cognito pool (RDS), by
    operator id: their sign-in once they signed in there or were imported."""
    rows = conn.execute("select operator_id::text, email from operator_identities"
                        " where operator_id = any(%s::uuid[])",
                        ([str(i) for i in user_ids],)).fetchall()
    return {row["operator_id"]: row["email"] for row in rows}


def update_operator(*, conn, user_id: str, fields: dict) -> None:
    """Set some of PROFILE_FIELDS of a profile."""
    _update_row(conn=conn, table=USERS, row_id=user_id, fields=fields, allowed=PROFILE_FIELDS)


# Packages ------------------------------------------------------------------------------------

PACKAGE_FIELDS = ("title", "description", "price_per_traveller", "currency", "min_travellers",
                  "max_travellers", "capacity_per_departure", "first_departure_date",
                  "last_departure_date")

# A package with its derived duration and its parts as JSON arrays, in one statement.
# Amounts inside the JSON are cast to text: JSON numbers would come back as floats.
_PACKAGE_SELECT = f"""
select p.id, p.operator_id, p.title, p.description, p.status, p.price_per_traveller,
       p.currency, p.min_travellers, p.max_travellers, p.capacity_per_departure,
       p.first_departure_date, p.last_departure_date, d.total_nights, p.created_at,
       p.updated_at,
       coalesce((select json_agg(json_build_object(
                  'id', s.id, 'position', s.position, 'city', s.city, 'country', s.country,
                  'nights', s.nights, 'hotel_name', s.hotel_name, 'star_rating', s.star_rating)
                  order by s.position)
                  from {STOPS} s where s.package_id = p.id), '[]') as stops,
       coalesce((select json_agg(json_build_object(
                  'id', a.id, 'position', a.position, 'name', a.name, 'price', a.price::text,
                  'pricing', a.pricing) order by a.position)
                  from {ADDONS} a where a.package_id = p.id), '[]') as addons,
       coalesce((select json_agg(json_build_object(
                  'id', e.id, 'position', e.position, 'text', e.text) order by e.position)
                  from {EXCLUSIONS} e where e.package_id = p.id), '[]') as exclusions
"""
_PACKAGE_FROM = f"""
  from {PACKAGES} p
 cross join lateral (select coalesce(sum(s.nights), 0)::int as total_nights
                       from {STOPS} s where s.package_id = p.id) d
"""
_SORT_COLUMNS = {"price": "p.price_per_traveller", "duration": "d.total_nights",
                 "newest": "p.created_at", "title": "lower(p.title)"}


@dataclass(frozen=True)
class PackageFilter:
    """Which packages a listing shows; None means no condition."""

    status: str | None = None
    operator_id: str | uuid.UUID | None = None
    city: str | None = None
    country: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    currency: str | None = None
    min_nights: int | None = None
    max_nights: int | None = None
    travel_date: datetime.date | None = None
    # Operators whose packages are left out (suspended ones, while the profiles live in
    # another database than the packages; otherwise row-level security leaves them out).
    excluded_operators: tuple[str, ...] | None = None


def suspended_operator_ids(*, conn) -> list[str]:
    """The suspended operators, as the database holding the profiles knows them (a
    SECURITY DEFINER function any caller may run, in schema `private`)."""
    found = conn.execute("select private.suspended_operator_ids()::text[] as ids").fetchone()
    return list(found["ids"])


def _where(f: PackageFilter) -> tuple[str, dict]:
    conditions = {
        "status": "p.status = %(status)s",
        "operator_id": "p.operator_id = %(operator_id)s",
        "city": f"""exists (select 1 from {STOPS} s
                             where s.package_id = p.id and lower(s.city) = lower(%(city)s))""",
        "country": f"""exists (select 1 from {STOPS} s
                                where s.package_id = p.id and s.country = %(country)s)""",
        "min_price": "p.price_per_traveller >= %(min_price)s",
        "max_price": "p.price_per_traveller <= %(max_price)s",
        "currency": "p.currency = %(currency)s",
        "min_nights": "d.total_nights >= %(min_nights)s",
        "max_nights": "d.total_nights <= %(max_nights)s",
        "travel_date": "%(travel_date)s between p.first_departure_date and p.last_departure_date",
        "excluded_operators": "p.operator_id <> all(%(excluded_operators)s::uuid[])",
    }
    params = {name: getattr(f, name) for name in conditions if getattr(f, name) is not None}
    if "excluded_operators" in params:
        params["excluded_operators"] = list(params["excluded_operators"])
    clause = " and ".join(conditions[name] for name in params) or "true"
    return f"where {clause}", params


def count_packages(*, conn, where: PackageFilter) -> int:
    """How many packages the caller may see match `where`."""
    clause, params = _where(where)
    return conn.execute(f"select count(*) as n {_PACKAGE_FROM} {clause}", params).fetchone()["n"]


def list_packages(*, conn, where: PackageFilter, sort: str, descending: bool, limit: int,
                  offset: int) -> list[dict]:
    """A page of the packages the caller may see matching `where`, with their parts."""
    clause, params = _where(where)
    direction = "desc" if descending else "asc"
    # The id breaks ties, so that pages neither repeat nor skip rows.
    order = f"{_SORT_COLUMNS[sort]} {direction} nulls last, p.id {direction}"
    return conn.execute(
        f"{_PACKAGE_SELECT} {_PACKAGE_FROM} {clause} order by {order} "
        "limit %(limit)s offset %(offset)s",
        {**params, "limit": limit, "offset": offset}).fetchall()


def get_packages(*, conn, package_ids: Iterable) -> list[dict]:
    """The packages among `package_ids` the caller may see, with their parts, in one query."""
    return conn.execute(f"{_PACKAGE_SELECT} {_PACKAGE_FROM} where p.id = any(%s::uuid[])",
                        (list(package_ids),)).fetchall()


def find_own_package(*, conn, package_id, operator_id: str, lock: bool = False) -> dict | None:
    """The caller's own package (status and fields, no parts), or None; `lock` holds it."""
    return conn.execute(
        f"""select id, status, {', '.join(PACKAGE_FIELDS)} from {PACKAGES}
             where id = %s and operator_id = %s {'for update' if lock else ''}""",
        (package_id, operator_id)).fetchone()


def insert_package(*, conn, operator_id: str, fields: dict) -> uuid.UUID:
    """A new draft package; returns its id."""
    fields = _only(fields, PACKAGE_FIELDS)
    columns = ["operator_id", *fields]
    statement = sql.SQL("insert into {} ({}) values ({}) returning id").format(
        sql.Identifier(PACKAGES), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    return conn.execute(statement, [operator_id, *fields.values()]).fetchone()["id"]


def update_package(*, conn, package_id, fields: dict) -> None:
    """Set some of PACKAGE_FIELDS of a package."""
    _update_row(conn=conn, table=PACKAGES, row_id=package_id, fields=fields,
                allowed=PACKAGE_FIELDS)


def set_package_status(*, conn, package_id, status: str) -> None:
    """Move a package to `status` (published or archived), as `package_publisher` for this
    one statement: `authenticated`, which supabase-js clients run as too, may not write the
    status column at all (supabase/migrations/20261207100000_approval_gate.sql), so the
    database lets only this service's path, after its checks, publish or archive. The
    role's policy still admits only the caller's own package, forward only. (A failed
    update aborts the whole transaction, role and all: nothing to restore then.)"""
    conn.execute("set local role package_publisher")
    conn.execute(f"update {PACKAGES} set status = %s where id = %s", (status, package_id))
    conn.execute("set local role authenticated")


def delete_package(*, conn, package_id) -> None:
    """Delete a package; its parts and audit go with it (on delete cascade)."""
    conn.execute(f"delete from {PACKAGES} where id = %s", (package_id,))


# Parts: stops, add-ons, exclusions, each ordered by a 1-based position ---------------------------

PART_TABLES = {"stops": STOPS, "addons": ADDONS, "exclusions": EXCLUSIONS}
# Column and SQL type of each field, in insert order.
PART_FIELDS = {"stops": {"city": "text", "country": "text", "nights": "int",
                         "hotel_name": "text", "star_rating": "smallint"},
               "addons": {"name": "text", "price": "numeric", "pricing": "text"},
               "exclusions": {"text": "text"}}


def count_parts(*, conn, part: str, package_id) -> int:
    """How many stops, add-ons or exclusions a package has."""
    table = sql.Identifier(PART_TABLES[part])
    return conn.execute(sql.SQL("select count(*) as n from {} where package_id = %s").format(table),
                        (package_id,)).fetchone()["n"]


def replace_parts(*, conn, part: str, package_id, rows: list[dict]) -> None:
    """Replace all stops, add-ons or exclusions of a package by `rows`, in that order."""
    table = sql.Identifier(PART_TABLES[part])
    conn.execute(sql.SQL("delete from {} where package_id = %s").format(table), (package_id,))
    if rows:
        _insert_parts(conn=conn, part=part, package_id=package_id, rows=rows, first_position=1)


def insert_part(*, conn, part: str, package_id, row: dict, position: int) -> uuid.UUID:
    """Insert one part at `position` (1..count+1), moving later ones down; returns its id."""
    table = sql.Identifier(PART_TABLES[part])
    conn.execute(sql.SQL("update {} set position = position + 1 "
                         "where package_id = %s and position >= %s").format(table),
                 (package_id, position))
    return _insert_parts(conn=conn, part=part, package_id=package_id, rows=[row],
                         first_position=position)[0]


def delete_part(*, conn, part: str, package_id, part_id) -> bool:
    """Delete one part of a package and close the gap it leaves; False if there is none."""
    table = sql.Identifier(PART_TABLES[part])
    deleted = conn.execute(
        sql.SQL("delete from {} where id = %s and package_id = %s returning position"
                ).format(table),
        (part_id, package_id)).fetchone()
    if deleted is None:
        return False
    conn.execute(sql.SQL("update {} set position = position - 1 "
                         "where package_id = %s and position > %s").format(table),
                 (package_id, deleted["position"]))
    return True


def _insert_parts(*, conn, part: str, package_id, rows: list[dict],
                  first_position: int) -> list[uuid.UUID]:
    types = {"package_id": "uuid", "position": "int", **PART_FIELDS[part]}
    statement = sql.SQL("insert into {} ({}) select * from unnest({}) returning id").format(
        sql.Identifier(PART_TABLES[part]),
        sql.SQL(", ").join(map(sql.Identifier, types)),
        sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(t)) for t in types.values()))
    # One array per column: a single statement for the whole list.
    arrays = [[package_id] * len(rows), list(range(first_position, first_position + len(rows))),
              *([row[f] for row in rows] for f in PART_FIELDS[part])]
    return [r["id"] for r in conn.execute(statement, arrays).fetchall()]


_exact_json = partial(json.loads, parse_float=Decimal)


# Audit -------------------------------------------------------------------------------------

def count_changes(*, conn, package_id) -> int:
    """How many audited changes a package has."""
    return conn.execute(f"select count(*) as n from {CHANGES} where package_id = %s",
                        (package_id,)).fetchone()["n"]


def list_changes(*, conn, package_id, limit: int, offset: int) -> list[dict]:
    """Audited changes of a package, newest first; amounts in them stay exact decimals."""
    cursor = conn.cursor()
    set_json_loads(_exact_json, cursor)
    return cursor.execute(
        f"""select id, changed_at, changed_by, change from {CHANGES}
             where package_id = %s order by id desc limit %s offset %s""",
        (package_id, limit, offset)).fetchall()


# Helpers -----------------------------------------------------------------------------------

def _only(fields: dict, allowed: tuple[str, ...]) -> dict:
    unknown = set(fields) - set(allowed)
    if unknown:   # column names become SQL identifiers: only known ones may pass
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    return fields


def _update_row(*, conn, table: str, row_id, fields: dict, allowed: tuple[str, ...]) -> None:
    fields = _only(fields, allowed)
    if not fields:
        return
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(name))
                                     for name in fields)
    conn.execute(sql.SQL("update {} set {} where id = %s").format(sql.Identifier(table),
                                                                   assignments),
                 [*fields.values(), row_id])


# Sign-ins of the operators' Cognito pool, linked to operators (RDS, docs/operator-logins.md) --

def link_sign_in(*, conn, cognito_sub: str, operator_id: str, email: str, via: str) -> str:
    """Link a Cognito user to an operator unless it is linked; returns the operator the sub
    is linked to (a link never changes). Two Cognito users for one operator is refused by
    the table's unique key."""
    conn.execute(
        "insert into operator_identities (cognito_sub, operator_id, email, linked_via)"
        " values (%s, %s, %s, %s) on conflict (cognito_sub) do nothing",
        (cognito_sub, operator_id, email, via))
    return str(conn.execute("select operator_id from operator_identities where cognito_sub = %s",
                            (cognito_sub,)).fetchone()["operator_id"])


def is_linked(*, conn, cognito_sub: str) -> bool:
    """Whether a Cognito user of the operators' pool is linked to an operator."""
    return conn.execute("select exists (select from operator_identities where cognito_sub = %s)"
                        " as linked", (cognito_sub,)).fetchone()["linked"]
