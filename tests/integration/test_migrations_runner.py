"""The migration runner: applies once, records what it applied, refuses edited history."""
from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from travel_platform.migrations import MigrationError, apply_migrations


@pytest.fixture
def scratch_db(databases):
    """An empty database on the stack's RDS server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin = databases["RDS_ADMIN_URL"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield make_conninfo(admin, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def test_applies_each_file_once_in_order(scratch_db, tmp_path):
    (tmp_path / "001_first.sql").write_text("create table a (id int);")
    (tmp_path / "002_second.sql").write_text("insert into a values (1);")
    assert apply_migrations(conninfo=scratch_db, directory=tmp_path) == ["001", "002"]
    assert apply_migrations(conninfo=scratch_db, directory=tmp_path) == []
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("select count(*) from a").fetchone()[0] == 1
        names = conn.execute("select name from supabase_migrations.schema_migrations "
                             "order by version").fetchall()
    assert [n for (n,) in names] == ["first", "second"]


def test_a_failing_file_leaves_nothing_half_applied(scratch_db, tmp_path):
    (tmp_path / "001_broken.sql").write_text("create table b (id int); select 1/0;")
    with pytest.raises(psycopg.Error):
        apply_migrations(conninfo=scratch_db, directory=tmp_path)
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("select to_regclass('b')").fetchone()[0] is None
        assert conn.execute("select count(*) from supabase_migrations.schema_migrations"
                            ).fetchone()[0] == 0


def test_an_edited_applied_file_is_an_error(scratch_db, tmp_path):
    path = tmp_path / "001_first.sql"
    path.write_text("create table c (id int);")
    apply_migrations(conninfo=scratch_db, directory=tmp_path)
    path.write_text("create table c (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        apply_migrations(conninfo=scratch_db, directory=tmp_path)


def test_badly_named_files_are_refused(scratch_db, tmp_path):
    (tmp_path / "first.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="expected <version>_<name>.sql"):
        apply_migrations(conninfo=scratch_db, directory=tmp_path)


def test_supabase_roles_and_auth_functions_exist_as_on_a_real_project(databases):
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        roles = {r for (r,) in conn.execute("select rolname from pg_roles")}
        assert {"anon", "authenticated", "service_role", "authenticator"} <= roles
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     ('{"sub": "8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e", "role": "authenticated"}',))
        uid, role = conn.execute("select auth.uid()::text, auth.role()").fetchone()
    assert uid == "8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e" and role == "authenticated"


def test_rls_hides_another_operators_draft(databases):
    """As `authenticated` with another operator's claims, a draft is invisible."""
    operator_id = str(uuid.uuid4())
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, %s)",
                     (operator_id, f"{operator_id}@example.com"))
        conn.execute("insert into users (id, company_name) values (%s, 'Secretive Tours')",
                     (operator_id,))
        package_id = conn.execute(
            """insert into multi_city_hotel_packages (operator_id, title, status)
               values (%s, 'Secret draft', 'draft') returning id""",
            (operator_id,)).fetchone()[0]
        conn.commit()
        for sub, visible in ((str(uuid.uuid4()), 0), (operator_id, 1)):
            with conn.transaction():
                conn.execute("select set_config('request.jwt.claims', %s, true)",
                             (f'{{"sub": "{sub}", "role": "authenticated"}}',))
                conn.execute("set local role authenticated")
                count = conn.execute("select count(*) from multi_city_hotel_packages where id = %s",
                                     (package_id,)).fetchone()[0]
            assert count == visible
        conn.execute("delete from multi_city_hotel_packages where id = %s", (package_id,))
        conn.commit()
