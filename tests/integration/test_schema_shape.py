"""The shape of a moving table compared between the two sides (migrate/schema.py): every
kind of difference that stops replication or fakes a mismatch is named, and what the tool
leaves alike on purpose (foreign keys, plain indexes, triggers, policies) is not."""
from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from migrate import schema

BOTH = """create table public.shape_probe (
  id uuid primary key default gen_random_uuid(),
  title text not null check (length(title) < 200),
  seats integer default 1,
  total numeric(12, 2))"""


@pytest.fixture
def sides(databases):
    conns = [psycopg.connect(databases[k], autocommit=True, row_factory=dict_row)
             for k in ("SUPABASE_DB_ADMIN_URL", "RDS_ADMIN_URL")]
    for conn in conns:
        conn.execute("drop table if exists public.shape_probe")
        conn.execute(BOTH)
    yield conns
    for conn in conns:
        conn.execute("drop table if exists public.shape_probe")
        conn.close()


def test_alike_tables_have_one_fingerprint_and_no_difference(sides):
    supabase, rds = sides
    # What the tool keeps different per side on purpose changes nothing.
    supabase.execute("create index shape_probe_title on public.shape_probe (title)")
    supabase.execute("alter table public.shape_probe enable row level security")
    assert schema.differences(supabase, rds, ["shape_probe"]) == []
    assert (schema.fingerprint(schema.shape(supabase, "shape_probe"))
            == schema.fingerprint(schema.shape(rds, "shape_probe")))


def test_each_kind_of_drift_is_named(sides):
    supabase, rds = sides
    supabase.execute("alter table public.shape_probe add column studio text")
    rds.execute("alter table public.shape_probe alter column seats type bigint")
    supabase.execute("alter table public.shape_probe alter column total set not null")
    rds.execute("alter table public.shape_probe alter column seats set default 2")
    rds.execute("alter table public.shape_probe add constraint shape_probe_seats "
                "check (seats > 0)")
    assert schema.differences(supabase, rds, ["shape_probe"]) == [
        "public.shape_probe.seats: integer default 1 on Supabase, bigint default 2 on RDS",
        "public.shape_probe.studio: text default none on Supabase, absent on RDS",
        "public.shape_probe.total: numeric(12,2) not null default none on Supabase, "
        "numeric(12,2) default none on RDS",
        "public.shape_probe: `CHECK ((seats > 0))` only on RDS",
    ]
    rds.execute("drop table public.shape_probe")
    assert schema.differences(supabase, rds, ["shape_probe"]) == [
        "public.shape_probe: does not exist on RDS"]
    assert schema.fingerprint(schema.shape(rds, "shape_probe")) == "absent"
