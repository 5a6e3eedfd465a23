"""`python -m migrate start` when a table's initial copy cannot finish: the tool names the
relation, its state and why within 120 s, stops, and the next `start` re-copies only that
relation. On a stack of its own (the copies it breaks would disturb other tests), started
for this module and stopped after it; the tests run in order, each leaving the move where
the next expects it."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devstack import api as devstack
from devstack.api import Layout
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import migrate, ok, sql

pytestmark = [pytest.mark.stack, pytest.mark.devstack]

STOPS = "multi_city_hotel_package_cities"
OTHERS = ("multi_city_hotel_packages", "multi_city_hotel_package_changes")


@pytest.fixture(scope="module")
def faulty_stack() -> Iterator[dict[str, str]]:
    """A fresh whole stack whose copies these tests break and repair."""
    layout = Layout(state=Path(f"{TEST_STATE}-copy-faults"), port_offset=TEST_PORT_OFFSET + 3000)
    with devstack.fresh_stack(layout) as env:
        yield env


def copy_of(env: dict, unit: str) -> dict:
    """The `copy` part of `status --json` for one unit, relations by name."""
    item = next(u for u in json.loads(ok(env, "status", "--json")) if u["unit"] == unit)
    copy = item["copy"]
    return {**copy, "relations": {r["relation"]: r for r in copy["relations"]}}


def inserted(env: dict, tables) -> dict[str, int]:
    """Rows ever inserted into each RDS table (pg_stat_user_tables.n_tup_ins): a re-copy of
    a table shows there, even when it leaves the same rows."""
    time.sleep(1.5)     # a worker's table statistics reach the shared counts within 1 s
    return dict(sql(env, "rds", "select relname, n_tup_ins from pg_stat_user_tables "
                                "where schemaname = 'public' and relname = any(%s)",
                    (list(tables),)))


def test_status_shows_each_relations_sync_state(faulty_stack):
    env = faulty_stack
    ok(env, "backup", "rehearsal")
    out = ok(env, "start", "rehearsal")     # also gives RDS the operator tables' schema
    assert "replicating" in out
    copy = copy_of(env, "rehearsal")
    assert set(copy["relations"]) == {"public.migration_rehearsal", "migration.heartbeat"}
    for relation in copy["relations"].values():
        assert relation["state"] == "r" and relation["state_name"] == "READY"
        assert relation["meaning"] == "replicating" and relation["stuck"] is None
    assert copy["sync_error_count"] == 0 and copy["apply_error_count"] == 0
    assert copy["apply_worker_pid"] and copy["slot_wal_status"] == "reserved"
    assert "relations: all 2 READY" in ok(env, "status")


def test_a_copy_refused_on_rds_is_named_then_only_that_table_is_copied_again(faulty_stack):
    env = faulty_stack
    # A trigger on RDS that refuses every row: ENABLE ALWAYS, so that it fires for the
    # table-sync worker too (which writes in replica mode).
    sql(env, "rds", f"""
        create function public.refuse_row() returns trigger language plpgsql as $$
        begin raise exception 'refused by a test trigger'; end $$;
        create trigger refuse_row before insert on public.{STOPS}
          for each row execute function public.refuse_row();
        alter table public.{STOPS} enable always trigger refuse_row""")
    ok(env, "backup", "packages")
    started = time.monotonic()
    result = migrate(env, "start", "packages", timeout=180)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert took < 120, took
    # The progress lines, then the error: one line.
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("migrate start: ") and "[" not in error[:20], result.stderr
    assert f"public.{STOPS} is stuck in state d (DATASYNC: copying its rows)" in error
    assert "sync_error_count rose by" in error
    assert "refused by a test trigger" in error         # the server's own error, probed
    assert "run `python -m migrate start packages`, which re-copies only that relation" in error
    # Parked: out of the subscription, so PostgreSQL stops retrying its copy.
    copy = copy_of(env, "packages")
    assert copy["relations"][f"public.{STOPS}"]["state_name"] == "NOT SUBSCRIBED"
    assert "named stuck by the last `start`" in copy["relations"][f"public.{STOPS}"]["stuck"]
    assert {copy["relations"][f"public.{t}"]["state"] for t in OTHERS} == {"r"}
    assert sql(env, "supabase", "select count(*) from pg_replication_slots "
                                "where slot_name like 'pg\\_%%\\_sync\\_%%'") == [(0,)]
    before = inserted(env, OTHERS)

    # The person removing the cause says so: the table's schema is otherwise frozen while
    # it moves (MG002).
    with pytest.raises(psycopg.Error, match="moving to another database"):
        sql(env, "rds", f"drop trigger refuse_row on public.{STOPS}")
    sql(env, "rds", "set migrate.ddl = 'allowed'; "
                    f"drop trigger refuse_row on public.{STOPS}")
    out = ok(env, "start", "packages")
    assert f"re-copying only public.{STOPS}; the other relations of packages keep" in out
    assert "replicating" in out
    assert inserted(env, OTHERS) == before, "only the stuck table is copied again"
    ok(env, "verify", "packages")
    assert {r["state"] for r in copy_of(env, "packages")["relations"].values()} == {"r"}


def test_a_copy_whose_sync_slot_was_lost_before_syncdone_is_named_and_repaired(faulty_stack):
    """The CI stall: a table-sync worker killed after Supabase dropped its slot but before
    RDS committed SYNCDONE leaves the relation in FINISHEDCOPY with no slot, and PostgreSQL
    retries its catch-up forever. Forced here exactly: the catalog row put back to f with a
    plausible LSN and the worker's replication origin, as that worker leaves them."""
    env = faulty_stack
    subid, relid = sql(env, "rds", "select s.oid, r.srrelid::oid from pg_subscription s "
                                   "join pg_subscription_rel r on r.srsubid = s.oid "
                                   "where s.subname = 'migrate_packages' and r.srrelid = %s"
                                   "::regclass", (f"public.{STOPS}",))[0]
    lsn = sql(env, "supabase", "select pg_current_wal_lsn()::text")[0][0]
    sql(env, "rds", "alter subscription migrate_packages disable")
    deadline = time.monotonic() + 10
    while sql(env, "rds", "select pid from pg_stat_subscription "
                          "where subname = 'migrate_packages' and pid is not null"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sql(env, "rds", "update pg_subscription_rel set srsubstate = 'f', srsublsn = %s::pg_lsn "
                    "where srsubid = %s and srrelid = %s", (lsn, subid, relid))
    origin = f"pg_{subid}_{relid}"
    # Names starting with pg_ are PostgreSQL's own: made under another, then renamed.
    sql(env, "rds", "select pg_replication_origin_create('copy_faults_origin')")
    sql(env, "rds", "update pg_replication_origin set roname = %s "
                    "where roname = 'copy_faults_origin'", (origin,))
    sql(env, "rds", "select pg_replication_origin_advance(%s, %s::pg_lsn)", (origin, lsn))
    assert sql(env, "supabase", "select slot_name from pg_replication_slots where slot_name "
                                "like %s", (f"pg\\_{subid}\\_sync\\_{relid}\\_%",)) == []
    # The tool was killed during the copy: the move is still recorded as copying.
    sql(env, "rds", "update migration.units set state = 'copying' where unit = 'packages'")
    sql(env, "rds", "alter subscription migrate_packages enable")
    time.sleep(3)
    # PostgreSQL cannot leave this state by itself.
    assert sql(env, "rds", "select srsubstate::text from pg_subscription_rel where srsubid = %s "
                           "and srrelid = %s", (subid, relid)) == [("f",)]
    relation = copy_of(env, "packages")["relations"][f"public.{STOPS}"]
    assert relation["state"] == "f" and relation["meaning"] == "copy done, catch-up pending"
    assert relation["sync_slot"] is False
    assert "table-sync slot on Supabase is gone" in relation["stuck"]
    # Table-sync slots left on Supabase by a subscription RDS no longer has, and one of
    # another subscriber (another system identifier), which is not the tool's to drop.
    sysid = sql(env, "rds", "select system_identifier from pg_control_system()")[0][0]
    orphan, foreign = f"pg_4000000000_sync_{relid}_{sysid}", f"pg_{subid}_sync_{relid}_1"
    for slot in (orphan, foreign):
        sql(env, "supabase", "select pg_create_logical_replication_slot(%s, 'pgoutput')",
            (slot,))
    before = inserted(env, OTHERS)

    started = time.monotonic()
    out = ok(env, "start", "packages")
    assert time.monotonic() - started < 120
    assert f"dropped 1 leftover table-sync slot(s) nothing will use again: {orphan}" in out
    assert sql(env, "supabase", "select slot_name from pg_replication_slots where slot_name "
                                "like 'pg\\_%%\\_sync\\_%%'") == [(foreign,)]
    sql(env, "supabase", "select pg_drop_replication_slot(%s)", (foreign,))
    assert (f"public.{STOPS} is stuck in state f (FINISHEDCOPY: copy done, catch-up pending): "
            "its copy is done but its table-sync slot on Supabase is gone") in out
    assert f"re-copying only public.{STOPS}" in out and "replicating" in out
    assert inserted(env, OTHERS) == before
    ok(env, "verify", "packages")
    assert sql(env, "rds", "select count(*) from pg_replication_origin where roname = %s",
               (origin,)) == [(0,)]


def test_a_slot_invalidated_on_supabase_is_refused_naming_rollback_then_start(faulty_stack):
    env = faulty_stack
    sql(env, "rds", "alter subscription migrate_rehearsal disable")
    sql(env, "supabase", "alter system set max_slot_wal_keep_size = '1MB'")
    sql(env, "supabase", "select pg_reload_conf()")
    try:
        deadline = time.monotonic() + 30
        while sql(env, "supabase", "select wal_status from pg_replication_slots "
                                   "where slot_name = 'migrate_rehearsal'") != [("lost",)]:
            assert time.monotonic() < deadline, "the slot was not invalidated"
            sql(env, "supabase", "create table if not exists wal_filler (x text); "
                                 "insert into wal_filler select repeat('x', 500) "
                                 "from generate_series(1, 20000); truncate wal_filler")
            sql(env, "supabase", "select pg_switch_wal()")
            sql(env, "supabase", "checkpoint")
        refused = migrate(env, "verify", "rehearsal")
        assert refused.returncode == 3
        assert "replication slot migrate_rehearsal on Supabase was invalidated" in refused.stderr
        assert "run `rollback rehearsal` then `start rehearsal`" in refused.stderr
        ok(env, "rollback", "rehearsal")
    finally:
        sql(env, "supabase", "alter system reset max_slot_wal_keep_size")
        sql(env, "supabase", "select pg_reload_conf()")
        sql(env, "supabase", "drop table if exists wal_filler")
    ok(env, "start", "rehearsal")
    ok(env, "verify", "rehearsal")
