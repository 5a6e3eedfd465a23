"""operator-service's data layer on real databases: queries run as the caller so row-level
security decides, and the write fence of a table move (supabase/migrations/*_write_fence.sql)
holds writes back while a cutover closes it and refuses them once it is closed."""
from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from operator_service import packages, profiles, repository
from operator_service.datasource import (
    PACKAGE_TABLES,
    RDS,
    SUPABASE,
    USERS,
    DataSources,
)
from operator_service.schemas import PackageCreate
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from tests.helpers import REPO
from travel_platform.auth import Identity
from travel_platform.errors import ServiceUnavailable, Unauthorized
from travel_platform.migrations import apply_migrations


def _operator(databases) -> Identity:
    sub = str(uuid.uuid4())
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, %s)", (sub, f"{sub}@x.io"))
    return Identity(source="supabase", subject=sub, email=f"{sub}@x.io", groups=(),
                    role="authenticated", expires_at=0,
                    claims={"sub": sub, "role": "authenticated"})


@pytest.fixture(scope="module")
def data(databases):
    pool = ConnectionPool(databases["SUPABASE_DB_ADMIN_URL"], min_size=1, max_size=6,
                          kwargs={"row_factory": dict_row}, open=True)
    yield DataSources({SUPABASE: pool}, hold_wait=0.5)
    pool.close()


def _fence(databases, *, accepting: bool) -> None:
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("""insert into migration.fence (table_name, accepting, reason)
                        select t, %s, 'test' from unnest(%s::text[]) t
                        on conflict (table_name) do update set accepting = excluded.accepting""",
                     (accepting, list(PACKAGE_TABLES)))


def _new_draft(data, owner: Identity) -> str:
    with data.transaction(identity=owner, tables=[USERS]) as conn:
        repository.ensure_operator(conn=conn, user_id=owner.subject, company_name="Co",
                                   contact_email=owner.email)
    with data.transaction(identity=owner, tables=PACKAGE_TABLES) as conn:
        return str(repository.insert_package(conn=conn, operator_id=owner.subject,
                                             fields={"title": "Draft"}))


def test_a_draft_written_as_its_operator_is_invisible_to_another(databases, data):
    owner, other = _operator(databases), _operator(databases)
    package_id = _new_draft(data, owner)
    seen = data.read(identity=other, tables=PACKAGE_TABLES,
                     query=lambda conn: repository.get_packages(conn=conn,
                                                                package_ids=[package_id]))
    mine = data.read(identity=owner, tables=PACKAGE_TABLES, own=True,
                     query=lambda conn: repository.get_packages(conn=conn,
                                                                package_ids=[package_id]))
    assert seen == [] and [str(p["id"]) for p in mine] == [package_id]


def test_a_closed_fence_refuses_writes_and_changes_nothing(databases, data):
    owner = _operator(databases)
    package_id = _new_draft(data, owner)
    _fence(databases, accepting=False)
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            with data.transaction(identity=owner, tables=PACKAGE_TABLES) as conn:
                repository.update_package(conn=conn, package_id=package_id,
                                          fields={"title": "Changed"})
        assert refused.value.code == "writes_paused"
    finally:
        _fence(databases, accepting=True)
    own = data.read(identity=owner, tables=PACKAGE_TABLES, own=True,
                    query=lambda conn: repository.get_packages(conn=conn, package_ids=[package_id]))
    assert own[0]["title"] == "Draft"


def test_closing_the_fence_waits_for_the_write_in_flight(databases, data):
    owner = _operator(databases)
    package_id = _new_draft(data, owner)
    claimed, closed_at = threading.Event(), []

    def close() -> None:
        claimed.wait()
        _fence(databases, accepting=False)
        closed_at.append(time.monotonic())

    closer = threading.Thread(target=close)
    closer.start()
    try:
        with data.transaction(identity=owner, tables=PACKAGE_TABLES) as conn:
            claimed.set()
            time.sleep(0.5)   # the cutover must wait for this write, not cut it off
            repository.update_package(conn=conn, package_id=package_id, fields={"title": "Kept"})
            committed_at = time.monotonic()
        closer.join()
    finally:
        _fence(databases, accepting=True)
    assert closed_at[0] >= committed_at
    own = data.read(identity=owner, tables=PACKAGE_TABLES, own=True,
                    query=lambda conn: repository.get_packages(conn=conn, package_ids=[package_id]))
    assert own[0]["title"] == "Kept"


def test_a_deleted_accounts_writes_are_401_account_deleted_not_a_foreign_key_error(databases,
                                                                                   data):
    # The token still verifies (its issuer's answer may be seconds old), but the account and,
    # by cascade, its profile and packages are gone: the first write that names the account
    # in a foreign key is the caller's 401, never a 500.
    never_wrote, wrote = _operator(databases), _operator(databases)
    _new_draft(data, wrote)
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("delete from auth.users where id = any(%s::uuid[])",
                     ([never_wrote.subject, wrote.subject],))
    for gone in (never_wrote, wrote):
        with pytest.raises(Unauthorized) as refused:
            profiles.update_operator(data=data, identity=gone, changes={"company_name": "Gone"})
        assert refused.value.code == "account_deleted"
        with pytest.raises(Unauthorized) as refused:
            packages.create_package(data=data, identity=gone, new=PackageCreate(title="Gone"))
        assert refused.value.code == "account_deleted"


def test_a_key_checked_against_the_other_databases_copy_is_503_not_account_deleted(databases):
    # While the tables move, a package's foreign key may be checked against a copy of `users`
    # on the other database that lacks whoever signed up since (python -m migrate suspends
    # such keys; a failed run may leave one). The profile is where `users` takes writes, so
    # the account lives: the caller is asked to retry, never told their account is gone.
    admin = databases["SUPABASE_DB_ADMIN_URL"]
    copy = make_conninfo(**{**conninfo_to_dict(admin), "dbname": "operator_tables_copy"})
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("drop database if exists operator_tables_copy")
        conn.execute("create database operator_tables_copy")
    with psycopg.connect(copy, autocommit=True) as conn:
        conn.execute((REPO / "devstack" / "supabase" / "bootstrap.sql").read_text())
    apply_migrations(conninfo=copy, directory=REPO / "supabase" / "migrations")
    pools = {name: ConnectionPool(url, min_size=1, max_size=2, kwargs={"row_factory": dict_row},
                                  open=True)
             for name, url in ((SUPABASE, admin), (RDS, copy))}
    # Profiles on Supabase, packages on the other database (with their key still there).
    placed = {table: RDS for table in PACKAGE_TABLES} | {USERS: SUPABASE}
    data = DataSources(pools, table_sources=placed, hold_wait=0.5)
    try:
        alive, gone = _operator(databases), _operator(databases)
        with pytest.raises(ServiceUnavailable) as refused:
            packages.create_package(data=data, identity=alive, new=PackageCreate(title="Mine"))
        assert refused.value.code == "data_moving"
        # An account deleted with its profile is still a 401.
        with psycopg.connect(admin) as conn:
            conn.execute("insert into public.users (id, company_name, contact_email) "
                         "values (%s, 'Gone', 'gone@x.io')", (gone.subject,))
            conn.execute("delete from auth.users where id = %s", (gone.subject,))
        with pytest.raises(Unauthorized) as refused:
            packages.create_package(data=data, identity=gone, new=PackageCreate(title="Gone"))
        assert refused.value.code == "account_deleted"
    finally:
        for pool in pools.values():
            pool.close()
