"""Row-level security of the operator tables, straight in SQL as supabase-js would reach
them (roles `anon` and `authenticated`, claims in `request.jwt.claims`): with no help from
operator-service's WHERE clauses, an operator reaches only their own rows, and anyone
reads published packages with their parts."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import DictRow, dict_row

from tests.helpers import REPO
from travel_platform.migrations import apply_migrations

PART_TABLES = ["multi_city_hotel_package_cities", "multi_city_hotel_package_addons",
               "multi_city_hotel_package_exclusions"]
OPERATOR_TABLES = ["users", "multi_city_hotel_packages", *PART_TABLES,
                   "multi_city_hotel_package_changes"]


@pytest.fixture(scope="module")
def world(databases):
    """Operators A and B (as the admin would make them), each with a draft and a published
    package with one row in every part table, and an audited change."""
    ids = {"a": str(uuid.uuid4()), "b": str(uuid.uuid4())}
    packages = {}
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"], row_factory=dict_row) as conn:
        for name, user_id in ids.items():
            email = f"rls-{name}-{user_id[:8]}@example.com"
            conn.execute("insert into auth.users (id, email, aud, role) "
                         "values (%s, %s, 'authenticated', 'authenticated')", (user_id, email))
            conn.execute("insert into users (id, company_name, contact_email) values (%s, %s, %s)",
                         (user_id, f"Company {name}", email))
            for status in ("draft", "published"):
                package_id = conn.execute(
                    """insert into multi_city_hotel_packages (operator_id, title, status,
                         price_per_traveller) values (%s, %s, %s, 100) returning id""",
                    (user_id, f"{name} {status}", status)).fetchone()["id"]
                conn.execute("""insert into multi_city_hotel_package_cities
                                  (package_id, position, city, country, nights, hotel_name,
                                   star_rating) values (%s, 1, 'Lisbon', 'PT', 2, 'H', 4)""",
                             (package_id,))
                conn.execute("""insert into multi_city_hotel_package_addons
                                  (package_id, position, name, price, pricing)
                                values (%s, 1, 'Transfer', 10, 'per_booking')""", (package_id,))
                conn.execute("""insert into multi_city_hotel_package_exclusions
                                  (package_id, position, text) values (%s, 1, 'Flights')""",
                             (package_id,))
                packages[(name, status)] = str(package_id)
            # An audited change on the published package (and, as admin, changed_by is null).
            conn.execute("update multi_city_hotel_packages set title = title || '!' where id = %s",
                         (packages[(name, "published")],))
    yield ids, packages
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("delete from auth.users where id = any(%s::uuid[])", (list(ids.values()),))


class Caller:
    """SQL as `authenticated` with an operator's claims, or as `anon`: each call is its own
    transaction, rolled back, as PostgREST runs each request."""

    def __init__(self, admin_url: str, user_id: str | None):
        self.admin_url = admin_url
        self.role = "authenticated" if user_id else "anon"
        self.claims = {"sub": user_id, "role": "authenticated"} if user_id else {"role": "anon"}

    def run(self, statement: str, params=()) -> list[dict] | int:
        with psycopg.connect(self.admin_url, row_factory=dict_row) as conn:
            try:
                conn.execute("select set_config('request.jwt.claims', %s, true)",
                             (json.dumps(self.claims),))
                conn.execute(f"set local role {self.role}")
                cursor = conn.execute(statement, params)
                return cursor.fetchall() if cursor.description else cursor.rowcount
            finally:
                conn.rollback()

    def rows(self, statement: str, params=()) -> list[dict]:
        """The rows a query answers (a statement that answers none fails here)."""
        result = self.run(statement, params)
        assert isinstance(result, list), f"{statement!r} answered a row count, not rows"
        return result


@pytest.fixture(scope="module")
def as_a(databases, world):
    return Caller(databases["SUPABASE_DB_ADMIN_URL"], world[0]["a"])


@pytest.fixture(scope="module")
def as_b(databases, world):
    return Caller(databases["SUPABASE_DB_ADMIN_URL"], world[0]["b"])


@pytest.fixture(scope="module")
def as_anon(databases, world):
    return Caller(databases["SUPABASE_DB_ADMIN_URL"], None)


def _rows_of(caller: Caller, table: str, package_id: str) -> int:
    column = "id" if table == "multi_city_hotel_packages" else "package_id"
    return len(caller.rows(f"select 1 from {table} where {column} = %s", (package_id,)))


@pytest.mark.parametrize("table", ["multi_city_hotel_packages", *PART_TABLES])
def test_a_draft_and_its_parts_are_visible_to_their_operator_only(world, as_a, as_b, as_anon,
                                                                   table):
    draft = world[1][("a", "draft")]
    assert (_rows_of(as_a, table, draft), _rows_of(as_b, table, draft),
            _rows_of(as_anon, table, draft)) == (1, 0, 0)


@pytest.mark.parametrize("table", ["multi_city_hotel_packages", *PART_TABLES])
def test_a_published_package_and_its_parts_are_visible_to_everyone(world, as_a, as_b, as_anon,
                                                                    table):
    live = world[1][("a", "published")]
    assert (_rows_of(as_a, table, live), _rows_of(as_b, table, live),
            _rows_of(as_anon, table, live)) == (1, 1, 1)


def test_the_audit_is_visible_to_the_packages_operator_only(world, as_a, as_b):
    live = world[1][("a", "published")]
    changes = [r["change"] for r in as_a.run(
        "select change from multi_city_hotel_package_changes where package_id = %s order by id",
        (live,))]
    # The parts added to the already published package, then the title change.
    assert [(c["table"], c["operation"]) for c in changes] == [
        *((table, "insert") for table in PART_TABLES), ("multi_city_hotel_packages", "update")]
    assert changes[-1]["fields"] == {"title": {"old": "a published", "new": "a published!"}}
    assert _rows_of(as_b, "multi_city_hotel_package_changes", live) == 0


def test_profiles_are_private(world, as_a, as_b, as_anon):
    a = world[0]["a"]
    assert [r["company_name"] for r in as_a.run("select company_name from users")] == ["Company a"]
    assert as_b.run("select 1 from users where id = %s", (a,)) == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_anon.run("select 1 from users")
    assert as_b.run("update users set company_name = 'Mine now' where id = %s", (a,)) == 0


@pytest.mark.parametrize("table", ["multi_city_hotel_packages", *PART_TABLES])
def test_another_operators_rows_cannot_be_changed_or_deleted(world, as_a, as_b, table):
    for status in ("draft", "published"):
        package = world[1][("a", status)]
        column = "id" if table == "multi_city_hotel_packages" else "package_id"
        assert as_b.run(f"update {table} set created_at = now() where {column} = %s",
                        (package,)) == 0
        assert as_b.run(f"delete from {table} where {column} = %s", (package,)) == 0
        assert as_a.run(f"delete from {table} where {column} = %s", (package,)) >= 1


@pytest.mark.parametrize("statement", [
    """insert into multi_city_hotel_package_cities (package_id, position, city, country, nights,
         hotel_name, star_rating) values (%(package)s, 2, 'Evil', 'PT', 1, 'H', 1)""",
    """insert into multi_city_hotel_package_addons (package_id, position, name, price, pricing)
         values (%(package)s, 2, 'Evil', 1, 'per_booking')""",
    """insert into multi_city_hotel_package_exclusions (package_id, position, text)
         values (%(package)s, 2, 'Evil')""",
    "insert into multi_city_hotel_packages (operator_id, title) values (%(owner)s, 'Evil')",
])
def test_rows_cannot_be_added_to_another_operators_package(world, as_b, statement):
    params = {"package": world[1][("a", "draft")], "owner": world[0]["a"]}
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        as_b.run(statement, params)


def test_another_operators_published_package_cannot_be_locked_for_update(world, as_a, as_b):
    # operator-service locks a package before changing it: this is why it finds nothing.
    live = world[1][("a", "published")]
    statement = "select id from multi_city_hotel_packages where id = %s for update"
    assert as_b.run("select id from multi_city_hotel_packages where id = %s", (live,)) != []
    assert as_b.run(statement, (live,)) == []
    assert len(as_a.run(statement, (live,))) == 1


def test_an_operator_cannot_move_rows_into_another_operators_hands(world, as_b):
    mine, theirs = world[1][("b", "draft")], world[1][("a", "draft")]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        as_b.run("update multi_city_hotel_packages set operator_id = %s where id = %s",
                 (world[0]["a"], mine))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        as_b.run("update multi_city_hotel_package_cities set package_id = %s "
                 "where package_id = %s", (theirs, mine))


def test_clients_can_neither_write_the_audit_nor_truncate(world, as_a, as_anon):
    own_live = world[1][("a", "published")]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_a.run("insert into multi_city_hotel_package_changes (package_id, change) "
                 "values (%s, '{}')", (own_live,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_a.run("delete from multi_city_hotel_package_changes")
    for table in OPERATOR_TABLES:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_a.run(f"truncate {table} cascade")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_anon.run("update multi_city_hotel_packages set title = 'x'")


def test_every_operator_table_has_row_level_security(databases):
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        rows = conn.execute("select relname, relrowsecurity from pg_class "
                            "where relnamespace = 'public'::regnamespace and relname = any(%s)",
                            (OPERATOR_TABLES,)).fetchall()
    assert dict(rows) == {table: True for table in OPERATOR_TABLES}


# Operators' approval (issue 10, item 4): the status is the administrators' alone ----------------

def test_an_operator_cannot_approve_themselves(world, as_a):
    a = world[0]["a"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_a.run("update users set status = 'active' where id = %s", (a,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_a.run("insert into users (id, company_name, contact_email, status)"
                 " values (%s, 'Self-made', 'x@example.com', 'active')", (str(uuid.uuid4()),))
    # Their contact details stay theirs to change.
    assert as_a.run("update users set company_name = 'Renamed' where id = %s", (a,)) == 1


def test_a_new_profile_starts_pending(databases, world):
    user_id = str(uuid.uuid4())
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"], row_factory=dict_row,
                         autocommit=True) as conn:
        conn.execute("insert into auth.users (id, email, aud, role) values (%s, %s,"
                     " 'authenticated', 'authenticated')", (user_id, f"{user_id}@example.com"))
        try:
            caller = Caller(databases["SUPABASE_DB_ADMIN_URL"], user_id)
            with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"], row_factory=dict_row,
                                 autocommit=False) as own:
                own.execute("select set_config('request.jwt.claims', %s, true)",
                            (json.dumps(caller.claims),))
                own.execute("set local role authenticated")
                own.execute("insert into users (id, company_name, contact_email)"
                            " values (%s, 'New Tours', 'n@example.com')", (user_id,))
                own.commit()
            assert conn.execute("select status from users where id = %s",
                                (user_id,)).fetchone()["status"] == "pending"
        finally:
            conn.execute("delete from auth.users where id = %s", (user_id,))


def test_administrators_read_every_profile_and_change_only_the_status(databases, world):
    admin = Caller(databases["SUPABASE_DB_ADMIN_URL"], None)
    admin.role, admin.claims = "operator_admin", {"role": "operator_admin", "sub": "admin-sub"}
    a, b = world[0]["a"], world[0]["b"]
    assert {r["id"] for r in admin.run("select id::text from users where id = any(%s::uuid[])",
                                       ([a, b],))} == {a, b}
    assert admin.run("update users set status = 'suspended', status_changed_by = 'admin-sub'"
                     " where id = %s", (a,)) == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        admin.run("update users set company_name = 'Taken over' where id = %s", (a,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        admin.run("delete from users where id = %s", (a,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        admin.run("select 1 from multi_city_hotel_packages")


# The approval gate in the database (issue 21, finding 5), on both sides: Supabase, and RDS
# with the operator tables as `python -m migrate start` makes them there ---------------------

COMPLETE = """insert into multi_city_hotel_packages (operator_id, title, status,
                price_per_traveller, min_travellers, max_travellers, capacity_per_departure,
                first_departure_date, last_departure_date)
              values (%s, %s, %s, 100, 1, 4, 10, current_date + 10, current_date + 100)
              returning id::text"""


@pytest.fixture(scope="module")
def sides(databases) -> dict[str, str]:
    """Superuser URLs of Supabase and of an RDS database holding the operator tables the way
    `python -m migrate start` puts them there (aws/migrations, then supabase/migrations
    between migrate/sql/rds_compat_before.sql and rds_compat_after.sql)."""
    from migrate.steps.start import OPERATOR_MIGRATIONS, SQL

    rds = make_conninfo(databases["RDS_ADMIN_URL"], dbname="rds_operator_copy")
    with psycopg.connect(databases["RDS_ADMIN_URL"], autocommit=True) as conn:
        conn.execute("drop database if exists rds_operator_copy")
        conn.execute("create database rds_operator_copy")
    apply_migrations(conninfo=rds, directory=REPO / "aws" / "migrations")
    with psycopg.connect(rds, autocommit=True) as conn:
        conn.execute((SQL / "rds_compat_before.sql").read_text())
    apply_migrations(conninfo=rds, directory=OPERATOR_MIGRATIONS)
    with psycopg.connect(rds, autocommit=True) as conn:
        conn.execute((SQL / "rds_compat_after.sql").read_text())
    return {"supabase": databases["SUPABASE_DB_ADMIN_URL"], "rds": rds}


@pytest.fixture(params=["supabase", "rds"])
def side(request, sides) -> str:
    return sides[request.param]


def _one(conn: psycopg.Connection[DictRow], query: str, params: tuple = ()) -> DictRow:
    """The row a statement must answer."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row: {query}"
    return row


def _operator_on(url: str, status: str) -> tuple[str, str, str]:
    """An operator of `status` (as an administrator leaves them) with a complete draft and
    a published package, each with a stop: (operator id, draft id, published id)."""
    user_id = str(uuid.uuid4())
    with psycopg.connect(url, row_factory=dict_row) as conn:
        if _one(conn, "select to_regclass('auth.users') is not null as yes")["yes"]:
            conn.execute("insert into auth.users (id, email, email_confirmed_at, aud, role) "
                         "values (%s, %s, now(), 'authenticated', 'authenticated')",
                         (user_id, f"verified-{user_id[:8]}@example.com"))
        conn.execute("insert into users (id, company_name, contact_email, status)"
                     " values (%s, 'Gate Tours', 'typed@example.com', %s)", (user_id, status))
        ids = []
        for package_status in ("draft", "published"):
            package_id = _one(conn, COMPLETE, (user_id, f"gate {package_status}",
                                               package_status))["id"]
            conn.execute("""insert into multi_city_hotel_package_cities
                              (package_id, position, city, country, nights, hotel_name,
                               star_rating) values (%s, 1, 'Porto', 'PT', 2, 'H', 4)""",
                         (package_id,))
            ids.append(package_id)
    return user_id, ids[0], ids[1]


def _set_status(url: str, user_id: str, status: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("update users set status = %s where id = %s", (status, user_id))


@pytest.mark.parametrize("status", ["pending", "suspended", "active"])
@pytest.mark.parametrize("statement", [
    "update multi_city_hotel_packages set status = 'published' where id = %(draft)s",
    "update multi_city_hotel_packages set title = 'Mine', status = 'published'"
    " where id = %(draft)s",
    "update multi_city_hotel_packages set status = 'draft' where id = %(live)s",
    "insert into multi_city_hotel_packages (operator_id, title, status)"
    " values (%(owner)s, 'Straight in', 'published')",
])
def test_no_operator_sets_a_package_status_by_direct_sql(side, status, statement):
    owner, draft, live = _operator_on(side, status)
    caller = Caller(side, owner)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        caller.run(statement, {"draft": draft, "live": live, "owner": owner})
    # What they may write is still theirs to write (unless suspended, below).
    if status != "suspended":
        assert caller.run("update multi_city_hotel_packages set title = 'Renamed'"
                          " where id = %s", (draft,)) == 1


def test_an_archived_package_is_not_brought_back_by_direct_sql(side):
    owner, draft, _ = _operator_on(side, "active")
    with psycopg.connect(side) as conn:
        conn.execute("update multi_city_hotel_packages set status = 'archived' where id = %s",
                     (draft,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        Caller(side, owner).run("update multi_city_hotel_packages set status = 'published'"
                                " where id = %s", (draft,))


class Publisher(Caller):
    """operator-service's own path: `package_publisher` with the operator's claims."""

    def __init__(self, admin_url: str, user_id: str):
        super().__init__(admin_url, user_id)
        self.role = "package_publisher"


def test_only_operator_service_sets_the_status_and_only_forward(side):
    owner, draft, live = _operator_on(side, "active")
    other, other_draft, _ = _operator_on(side, "active")
    publisher = Publisher(side, owner)
    update = "update multi_city_hotel_packages set status = %s where id = %s"
    assert publisher.run(update, ("published", draft)) == 1
    assert publisher.run(update, ("archived", live)) == 1
    assert publisher.run(update, ("published", other_draft)) == 0   # not theirs
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        publisher.run(update, ("draft", live))                        # never back to draft
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        publisher.run("update multi_city_hotel_packages set title = 'x' where id = %s", (draft,))
    with psycopg.connect(side) as conn:
        conn.execute("update multi_city_hotel_packages set status = 'archived' where id = %s",
                     (draft,))
    assert publisher.run(update, ("published", draft)) == 0           # archived is final
    # Only operator-service's login role can become it.
    with psycopg.connect(side) as conn:
        members = {r[0] for r in conn.execute(
            "select m.rolname from pg_auth_members a join pg_roles m on m.oid = a.member"
            " where a.roleid = 'package_publisher'::regrole")}
    assert members == {"operator_service"}


def _seen(caller: Caller, package_id: str) -> tuple[int, int]:
    return (len(caller.rows("select 1 from multi_city_hotel_packages where id = %s",
                            (package_id,))),
            len(caller.rows("select 1 from multi_city_hotel_package_cities where package_id = %s",
                            (package_id,))))


def test_a_suspended_operators_packages_leave_the_catalogue_and_come_back(side):
    owner, draft, live = _operator_on(side, "active")
    stranger, _, _ = _operator_on(side, "active")
    readers = [Caller(side, None), Caller(side, stranger)]
    assert [_seen(r, live) for r in readers] == [(1, 1), (1, 1)]
    _set_status(side, owner, "suspended")
    assert [_seen(r, live) for r in readers] == [(0, 0), (0, 0)]
    assert _seen(Caller(side, owner), live) == (1, 1)   # the owner still sees their own
    _set_status(side, owner, "active")
    assert [_seen(r, live) for r in readers] == [(1, 1), (1, 1)]
    assert Caller(side, None).run("select status, title from multi_city_hotel_packages"
                                  " where id = %s", (live,)) == [
        {"status": "published", "title": "gate published"}]


@pytest.mark.parametrize("statement", [
    "update multi_city_hotel_packages set title = 'Still selling' where id = %(live)s",
    "delete from multi_city_hotel_packages where id = %(draft)s",
    "update multi_city_hotel_package_cities set nights = 9 where package_id = %(live)s",
    "delete from multi_city_hotel_package_cities where package_id = %(live)s",
])
def test_a_suspended_operator_changes_nothing_by_direct_sql(side, statement):
    owner, draft, live = _operator_on(side, "suspended")
    params = {"draft": draft, "live": live}
    assert Caller(side, owner).run(statement, params) == 0
    assert Publisher(side, owner).run(
        "update multi_city_hotel_packages set status = 'archived' where id = %s", (live,)) == 0
    _set_status(side, owner, "active")
    assert Caller(side, owner).run(statement, params) == 1


@pytest.mark.parametrize("statement", [
    "insert into multi_city_hotel_packages (operator_id, title) values (%(owner)s, 'New')",
    """insert into multi_city_hotel_package_cities (package_id, position, city, country, nights,
         hotel_name, star_rating) values (%(live)s, 2, 'Faro', 'PT', 1, 'H', 3)""",
])
def test_a_suspended_operator_adds_nothing_by_direct_sql(side, statement):
    owner, _, live = _operator_on(side, "suspended")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        Caller(side, owner).run(statement, {"owner": owner, "live": live})


def test_administrators_read_the_verified_sign_in_email(databases):
    url = databases["SUPABASE_DB_ADMIN_URL"]
    owner, _, _ = _operator_on(url, "pending")
    admin = Caller(url, None)
    admin.role, admin.claims = "operator_admin", {"role": "operator_admin", "sub": "admin-sub"}
    assert admin.run("select id::text, email, confirmed"
                     " from private.operator_sign_in_emails(%s::uuid[])", ([owner],)) == [
        {"id": owner, "email": f"verified-{owner[:8]}@example.com", "confirmed": True}]
    for caller in (Caller(url, owner), Caller(url, None)):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            caller.run("select * from private.operator_sign_in_emails(%s::uuid[])", ([owner],))


def test_a_suspended_operator_stays_out_while_packages_are_read_apart_from_profiles(sides):
    """Between `switch-reads packages` and `start operators`, RDS serves the packages with a
    copy of `users` that does not know of the suspension: operator-service asks where the
    profiles live, and leaves the operator's packages out of the catalogue and the lookups
    booking-service books from."""
    from operator_service import catalogue
    from operator_service.datasource import (
        PACKAGE_TABLES,
        RDS,
        REHEARSAL,
        SUPABASE,
        USERS,
        DataSources,
    )
    from operator_service.schemas import CatalogueQuery
    from psycopg_pool import ConnectionPool

    from travel_platform.auth import Identity

    owner, _, live = _operator_on(sides["rds"], "active")            # the RDS copy: stale
    with psycopg.connect(sides["supabase"]) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, %s)",
                     (owner, f"{owner}@example.com"))
        conn.execute("insert into users (id, company_name, contact_email, status)"
                     " values (%s, 'Gate Tours', 'typed@example.com', 'suspended')", (owner,))
    agent = Identity(source="cognito", subject=str(uuid.uuid4()), email=None, groups=(),
                     role=None, expires_at=0, claims={})
    pools = {name: ConnectionPool(url, min_size=1, max_size=2, open=True,
                                  kwargs={"row_factory": dict_row})
             for name, url in ((SUPABASE, sides["supabase"]), (RDS, sides["rds"]))}
    try:
        data = DataSources(pools, table_sources={USERS: SUPABASE, REHEARSAL: SUPABASE,
                                                 **{t: RDS for t in PACKAGE_TABLES}})
        query = CatalogueQuery(operator_id=owner)
        assert catalogue.catalogue(data=data, identity=agent, query=query)["data"] == []
        assert catalogue.packages_by_ids(data=data, identity=agent, package_ids=[live]) == {
            "data": [], "missing": [live]}
        _set_status(sides["supabase"], owner, "active")
        assert [p["id"] for p in catalogue.catalogue(data=data, identity=agent,
                                                     query=query)["data"]] == [uuid.UUID(live)]
    finally:
        for pool in pools.values():
            pool.close()
