"""Schema changes refused on a moving unit's tables (supabase/migrations/
20261207140000_migration_ddl_guard.sql), from Studio's and psql's role (the owner, a
superuser here) as from anyone; the tool's own sessions pass, other tables are untouched,
and `finalize` / `rollback` (allow_ddl) give the tables back."""
from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from migrate import fences
from migrate.state import connect
from migrate.units import unit_named

UNIT = unit_named("rehearsal")


@pytest.fixture
def moving(databases):
    """The rehearsal unit's tables refused, as `start` leaves them; a person's session."""
    url = databases["SUPABASE_DB_ADMIN_URL"]
    tool = connect(url, side="supabase", purpose="migrate test")
    tool.execute("create or replace function public.ddl_guard_noop() returns trigger "
                 "language plpgsql as $$ begin return null; end $$")
    tool.execute("create or replace trigger ddl_guard_existing after insert on "
                 "migration_rehearsal for each statement execute function ddl_guard_noop()")
    fences.refuse_ddl(tool, UNIT)
    fences.refuse_ddl(tool, UNIT)     # idempotent, as a resumed `start` runs it again
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as person:
        yield tool, person
    fences.allow_ddl(tool, UNIT)
    tool.execute("drop trigger if exists ddl_guard_existing on migration_rehearsal")
    tool.close()


REFUSED = [
    "alter table migration_rehearsal add column studio_column text",
    "alter table migration_rehearsal rename column note to remark",
    "alter table migration_rehearsal alter column note set default 'x'",
    "create index ddl_guard_idx on migration_rehearsal (note)",
    "create policy ddl_guard_policy on migration_rehearsal for select using (true)",
    "alter table migration_rehearsal add constraint ddl_guard_check check (version > -1)",
    "drop trigger ddl_guard_existing on migration_rehearsal",
    "drop table migration_rehearsal",
]


@pytest.mark.parametrize("statement", REFUSED, ids=lambda s: " ".join(s.split()[:2]))
def test_a_schema_change_on_a_moving_table_is_refused_naming_the_unit(moving, statement):
    _, person = moving
    with pytest.raises(psycopg.Error) as refused:
        person.execute(statement)
    assert refused.value.sqlstate == "MG002"
    assert "moving to another database (unit rehearsal)" in str(refused.value)
    assert "python -m migrate finalize rehearsal" in refused.value.diag.message_hint
    # Nothing of it is left behind.
    columns = {r["column_name"] for r in person.execute(
        "select column_name from information_schema.columns "
        "where table_name = 'migration_rehearsal'").fetchall()}
    assert "note" in columns and "studio_column" not in columns and "remark" not in columns


def test_what_changes_no_shape_other_tables_and_the_tool_pass(moving):
    tool, person = moving
    person.execute("comment on table migration_rehearsal is 'rehearsal'")
    person.execute("grant select on migration_rehearsal to service_role")
    person.execute("create table ddl_guard_other (id int primary key)")
    person.execute("alter table ddl_guard_other add column note text")
    person.execute("drop table ddl_guard_other")
    # Another role's DDL on its own tables (Supabase's services migrate their schemas as
    # their own roles) is not stopped by a trigger it may not read the list of.
    person.execute("drop role if exists ddl_guard_someone")
    person.execute("create role ddl_guard_someone")
    person.execute("grant create on schema public to ddl_guard_someone")
    with person.transaction():
        person.execute("set local role ddl_guard_someone")
        person.execute("create table ddl_guard_theirs (id int)")
        person.execute("drop table ddl_guard_theirs")
    person.execute("revoke create on schema public from ddl_guard_someone")
    person.execute("drop role ddl_guard_someone")
    # The tool's sessions pass, and so does a person who says so.
    tool.execute("create index ddl_guard_tool_idx on migration_rehearsal (note)")
    tool.execute("drop index ddl_guard_tool_idx")
    with person.transaction():
        person.execute("set local migrate.ddl = 'allowed'")
        person.execute("create index ddl_guard_person_idx on migration_rehearsal (note)")
        person.execute("drop index ddl_guard_person_idx")


def test_finalize_or_rollback_gives_the_tables_back(moving):
    tool, person = moving
    fences.allow_ddl(tool, UNIT)
    assert person.execute("select count(*) as n from pg_event_trigger "
                          "where evtname like 'migration_refuse%%'").fetchone()["n"] == 0
    person.execute("create index ddl_guard_after_idx on migration_rehearsal (note)")
    person.execute("drop index ddl_guard_after_idx")
