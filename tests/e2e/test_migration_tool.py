"""`python -m migrate` on a real stack: both PostgreSQL servers with logical replication,
operator-service routing by the migration state, the gateway, bookings. These tests move
tables for good (finalize), so they get a stack of their own on other ports, started for
this module and stopped after it, also when tests fail. They run in order: each one leaves
the move where the next expects it."""
from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
import requests

from devstack import api as devstack
from devstack.api import Layout
from migrate.backup import sha256_of
from tests.builders.admins import new_admin
from tests.builders.agents import active_agent
from tests.builders.operators import Operator, approve, new_operator
from tests.builders.packages import package_fields
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import RehearsalWriter, migrate, ok, replication_objects, sql, status
from tests.helpers import REPO, api

# `devstack`: a devstack stack of its own.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]

PACKAGES = "multi_city_hotel_packages"
TODAY = datetime.date.today()


@pytest.fixture(scope="module")
def moving_stack() -> Iterator[dict[str, str]]:
    """A fresh whole stack whose operator tables the tests move to RDS."""
    layout = Layout(state=Path(f"{TEST_STATE}-migration"), port_offset=TEST_PORT_OFFSET + 1000)
    with devstack.fresh_stack(layout) as env:
        yield env


# Gates: each step refuses, with a one-line reason and what to do, and changes nothing ---------

@pytest.mark.parametrize("args, code, says", [
    (("start", "nowhere"), 2,
     "no unit 'nowhere'; the units, in order: rehearsal, addons, exclusions"),
    (("start", "addons"), 3, "no backup of addons: run `python -m migrate backup addons`"),
    (("switch-reads", "packages"), 3, "it is new, and switch-reads needs replicating"),
    (("switch-writes", "packages"), 3, "it is new, and switch-writes needs reads_switched"),
    (("verify", "packages"), 3, "cannot verify packages: it is new"),
    (("shadow", "addons", "on"), 3, "run `python -m migrate shadow packages on`"),
    (("switch-writes", "addons"), 3, "run `python -m migrate switch-writes packages`"),
    (("finalize", "packages"), 3, "it is new, and finalize needs writes_switched"),
])
def test_a_step_out_of_order_is_refused_in_one_line(moving_stack, args, code, says):
    before = status(moving_stack)
    result = migrate(moving_stack, *args)
    assert result.returncode == code
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert status(moving_stack) == before and replication_objects(moving_stack) == []


def test_an_unreachable_database_is_named(moving_stack):
    env = {**moving_stack, "SUPABASE_DB_ADMIN_URL": moving_stack["SUPABASE_DB_ADMIN_URL"]
           .replace(f":{moving_stack['SUPABASE_DB_ADMIN_URL'].split(':')[3].split('/')[0]}/",
                    ":1/")}
    result = migrate(env, "status")
    assert result.returncode == 1
    assert "cannot reach the supabase database" in result.stderr
    assert "check SUPABASE_DB_ADMIN_URL" in result.stderr


def test_plan_says_what_each_unit_does_and_why(moving_stack):
    out = ok(moving_stack, "plan")
    assert "all met" in out
    assert "1. rehearsal" in out and "2. addons" in out and "5. operators" in out
    assert "switch-writes, rollback, finalize: with packages, because every package write" in out


# Ten ways a real project is not ready (pg_dump's version, the tool's and RDS's TLS, RDS
# unable to reach Supabase, WAL headroom, and five things on Supabase that would go on using
# the frozen copy), seeded at once: `plan` names each, then, undone, none.
MISCONFIGURED = [
    "create view public.plan_probe_titles as select id, title from multi_city_hotel_packages",
    "create publication supabase_realtime for table multi_city_hotel_package_addons",
    "create function public.plan_probe_profile() returns trigger language plpgsql as $$ "
    "begin insert into public.users (id) values (new.id); return new; end $$",
    "create trigger plan_probe_on_signup after insert on auth.users for each row "
    "execute function public.plan_probe_profile()",
    "create schema cron",
    "create table cron.job (jobid bigserial primary key, command text)",
    "insert into cron.job (command) values ('update multi_city_hotel_packages set status = "
    "''archived'' where updated_at < now() - interval ''1 year''')",
    "create table public.plan_probe_notes (package_id uuid references multi_city_hotel_packages)",
    "alter system set max_slot_wal_keep_size = 0",
]
UNDONE = [
    "drop view public.plan_probe_titles", "drop publication supabase_realtime",
    "drop trigger plan_probe_on_signup on auth.users", "drop function public.plan_probe_profile",
    "drop schema cron cascade", "drop table public.plan_probe_notes",
    "alter system reset max_slot_wal_keep_size",
]


def test_plan_proves_each_prerequisite_and_names_each_misconfiguration(moving_stack, tmp_path):
    env = moving_stack
    old_pg_dump = tmp_path / "pg_dump"
    old_pg_dump.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n")
    old_pg_dump.chmod(0o755)
    supabase_url = env["SUPABASE_DB_ADMIN_URL"]
    port = supabase_url.split("@")[1].split("/")[0].split(":")[1]
    seeded = {**env, "MIGRATE_PG_BIN": str(tmp_path),
              "SUPABASE_DB_ADMIN_URL": supabase_url.replace("sslmode=verify-full",
                                                            "sslmode=require"),
              "MIGRATE_PUBLISHER_URL": supabase_url.replace(f":{port}/", ":1/")
              .replace("sslmode=verify-full", "sslmode=require")}
    try:
        for statement in MISCONFIGURED:
            sql(env, "supabase", statement)
        sql(env, "supabase", "select pg_reload_conf()")
        result = migrate(seeded, "plan")
    finally:
        for statement in UNDONE:
            sql(env, "supabase", statement)
        sql(env, "supabase", "select pg_reload_conf()")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    missing = [line for line in out.splitlines() if line.startswith("  MISSING")]
    for says in [
        f"pg_dump at {tmp_path}/pg_dump is PostgreSQL 14, older than Supabase's 15",
        f"pg_dump at {tmp_path}/pg_dump is PostgreSQL 14, older than RDS's 15",
        "Supabase: the tool does not check the server's certificate (sslmode=require); set "
        "sslmode=verify-full",
        "RDS would reach Supabase with sslmode=require, not checking its certificate",
        "RDS cannot reach Supabase as its subscription will (could not connect",
        "Supabase: max_slot_wal_keep_size is 0 MB, less than the 1 MB of tables to copy",
    ]:
        assert sum(says in line for line in missing) == 1, (says, missing)
    assert len(missing) == 6, missing
    frozen = "after `finalize` it sees the frozen copy"
    for unit, says in [
        ("packages", "view public.plan_probe_titles"),
        ("addons", "publication supabase_realtime (Realtime, or another subscriber)"),
        ("operators", "trigger plan_probe_on_signup on auth.users (calls "
                      "plan_probe_profile(), which names the table)"),
        ("packages", "cron job 1 (update multi_city_hotel_packages set status = "),
        ("packages", "foreign key plan_probe_notes_package_id_fkey from "
                     "public.plan_probe_notes, which does not move"),
    ]:
        section = out.split(f". {unit}  [")[1].split("\n\n")[0]
        assert f"NOTE on Supabase, {says}" in section and frozen in section, (unit, section)
    # Undone, the same servers pass, and the probe left nothing behind.
    assert "all met" in ok(env, "plan")
    assert replication_objects(env) == []


def test_a_second_run_is_refused_naming_the_one_holding_the_lock(moving_stack):
    with psycopg.connect(moving_stack["RDS_ADMIN_URL"], autocommit=True,
                         application_name="migrate start packages by someone@elsewhere") as conn:
        conn.execute("select pg_advisory_lock(7201127)")
        result = migrate(moving_stack, "backup", "addons")
    assert result.returncode == 4
    holder = "another run holds the lock: 'migrate start packages by someone@elsewhere'"
    assert holder in result.stderr


# Backups ------------------------------------------------------------------------------------

def test_a_backup_restores_the_rows_it_was_taken_from(moving_stack):
    env = moving_stack
    table = "multi_city_hotel_package_addons"
    before = sql(env, "supabase", f"select * from {table} order by id")
    assert before, "the demo data has add-ons"
    ok(env, "backup", "addons")
    dump = status(env)["addons"]["backups"]["supabase"]
    sql(env, "supabase", f"delete from {table}", replica=True)
    from migrate.backup import restore
    restore(pg_bin=Path("/usr/lib/postgresql/15/bin"), url=env["SUPABASE_DB_ADMIN_URL"],
            path=Path(dump["path"]), expected_sha256=dump["sha256"])
    assert sql(env, "supabase", f"select * from {table} order by id") == before


# The initial copy survives kill -9 -----------------------------------------------------------

def test_kill_9_during_the_initial_copy_then_the_same_command_goes_on(moving_stack):
    env = moving_stack
    operator_id = sql(env, "supabase", "select id from users limit 1")[0][0]
    sql(env, "supabase", f"insert into {PACKAGES} (operator_id, title) select %s, 'bulk ' || g "
                         "from generate_series(1, 300000) g", (operator_id,))
    for unit in ("exclusions", "packages"):
        ok(env, "backup", unit)
    ok(env, "start", "exclusions")
    tool = subprocess.Popen([sys.executable, "-m", "migrate", "start", "packages"], cwd=REPO,
                            env={**env, "PATH": os.environ["PATH"]}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    copying = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and tool.poll() is None:
        progress = sql(env, "rds", "select tuples_processed from pg_stat_progress_copy")
        if progress and progress[0][0] > 0:
            copying = True
            break
        time.sleep(0.02)
    assert copying, "the copy was over before the test could interrupt it"
    tool.send_signal(signal.SIGKILL)
    tool.wait()
    # The server's copy worker dies too, half way: PostgreSQL redoes that table's copy.
    sql(env, "rds", "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where backend_type = 'logical replication worker'")
    out = ok(env, "start", "packages")
    assert "replicating" in out
    counts = status(env)["packages"]
    assert counts["rows_rds"] == counts["rows_supabase"]
    assert counts["rows_rds"][PACKAGES] >= 300000
    ok(env, "verify", "packages")
    # The bulk rows go again, by replication.
    sql(env, "supabase", f"delete from {PACKAGES} where title like 'bulk %%'")


def test_verify_names_a_row_changed_behind_its_back(moving_stack):
    env = moving_stack
    stop_id, nights = sql(env, "rds", "select id, nights from multi_city_hotel_package_cities "
                                      "order by id limit 1")[0]
    sql(env, "rds", "update multi_city_hotel_package_cities set nights = nights + 1 "
                    "where id = %s", (stop_id,), replica=True)
    result = migrate(env, "verify", "packages")
    assert result.returncode == 1
    assert f"multi_city_hotel_package_cities {stop_id}: differs" in result.stdout
    assert "1 of" in result.stderr and "rows differ" in result.stderr
    assert status(env)["packages"]["mismatches"] == 1
    sql(env, "rds", "update multi_city_hotel_package_cities set nights = %s where id = %s",
        (nights, stop_id), replica=True)
    ok(env, "verify", "packages")


# A rehearsal: the whole cycle on a table of no value, as a team would run it first --------

def test_a_rehearsal_runs_every_step_with_its_writer_losing_nothing(moving_stack):
    env = moving_stack
    with RehearsalWriter(env) as writer:
        ok(env, "backup", "rehearsal")
        ok(env, "start", "rehearsal")
        # The slot dropped behind the tool's back: steps that need replication say so, and
        # rollback then start recover.
        sql(env, "rds", "alter subscription migrate_rehearsal disable")
        deadline = time.monotonic() + 10
        while sql(env, "supabase", "select active from pg_replication_slots where slot_name = "
                                   "'migrate_rehearsal'") != [(False,)]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sql(env, "supabase", "select pg_drop_replication_slot('migrate_rehearsal')")
        refused = migrate(env, "verify", "rehearsal")
        assert refused.returncode == 3
        assert "replication slot migrate_rehearsal is missing on Supabase" in refused.stderr
        ok(env, "rollback", "rehearsal")
        ok(env, "start", "rehearsal")
        ok(env, "verify", "rehearsal")
        refused = migrate(env, "switch-reads", "rehearsal")
        assert refused.returncode == 3
        assert "no shadow read of rehearsal was compared" in refused.stderr
        ok(env, "shadow", "rehearsal", "on")
        time.sleep(1)
        # A row changed on RDS behind the tool's back: verify names it, the gate holds.
        key = next(iter(writer.rows))
        sql(env, "rds", "update migration_rehearsal set note = 'tampered' where id = %s", (key,),
            replica=True)
        named = migrate(env, "verify", "rehearsal")
        assert named.returncode == 1 and f"migration_rehearsal {key}: differs" in named.stdout
        refused = migrate(env, "switch-reads", "rehearsal")
        assert refused.returncode == 3 and "found 1 mismatching rows" in refused.stderr
        sql(env, "rds", "update migration_rehearsal set note = %s where id = %s",
            (writer.rows[key]["note"], key), replica=True)
        ok(env, "verify", "rehearsal")
        ok(env, "shadow", "rehearsal", "on")   # counts afresh: reads saw the tampered row
        time.sleep(1)
        ok(env, "switch-reads", "rehearsal")
        ok(env, "switch-writes", "rehearsal")
        time.sleep(1)
        ok(env, "rollback", "rehearsal")
        time.sleep(0.5)
        ok(env, "start", "rehearsal")
        ok(env, "verify", "rehearsal")
        ok(env, "shadow", "rehearsal", "on")
        time.sleep(1)
        ok(env, "switch-reads", "rehearsal")
        ok(env, "switch-writes", "rehearsal")
        time.sleep(1)
        ok(env, "finalize", "rehearsal")
        time.sleep(0.5)
    assert writer.failures == [], writer.failures[:5]
    assert len(writer.rows) > 20 and writer.reads > 20
    found = {str(r[0]): {"note": r[1], "version": r[2], "owner": str(r[3])} for r in sql(
        env, "rds", "select id, note, version, owner from migration_rehearsal")}
    assert found == writer.rows
    assert status(env)["rehearsal"]["state"] == "finalized"
    assert [o for o in replication_objects(env) if "rehearsal" in o[0]] == []
    # Each rehearsing operator still sees only their own rows, on RDS.
    theirs = writer.identities[1].subject
    with psycopg.connect(env["RDS_ADMIN_URL"]) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (f'{{"sub": "{writer.identities[0].subject}", "role": "authenticated"}}',))
        conn.execute("set local role authenticated")
        owners = {r[0] for r in conn.execute(
            "select distinct owner::text from migration_rehearsal")}
    assert owners == {writer.identities[0].subject} and theirs not in owners


# The whole move under load ----------------------------------------------------------------------

def _token(operator: Operator) -> str:
    assert operator.token, f"{operator.email} has not signed in"
    return operator.token


class Traffic:
    """Operators create, edit, publish and delete packages and agents book them, through the
    gateway, until stopped; every answer is kept, and what each acknowledged write left."""

    def __init__(self, gateway: str, operators: list[Operator], agents: list[str]):
        self.gateway, self.operators, self.agents = gateway, operators, agents
        self.failures: list[str] = []
        self.answers: Counter = Counter()
        self.packages: dict[str, dict] = {}     # id -> what the API last acknowledged
        self.deleted: set[str] = set()
        self.bookings: list[str] = []
        self.published: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._operate, args=(_token(o),))
                         for o in operators]
        self._threads += [threading.Thread(target=self._book, args=(a,)) for a in agents]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _call(self, method: str, path: str, token: str, expect: int, **kwargs):
        try:
            answer = api(self.gateway, method, path, token, **kwargs)
        except requests.RequestException as exc:
            self.failures.append(f"{method} {path}: {type(exc).__name__}")
            return None
        self.answers[answer.status_code] += 1
        if answer.status_code != expect:
            self.failures.append(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
            return None
        return answer.json() if answer.content else {}

    def _operate(self, token: str) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            body = {**package_fields(capacity=1000), "title": f"Moving {uuid.uuid4().hex[:8]}"}
            made = self._call("POST", "/api/operators/me/packages", token, 201, json=body)
            if made is None:
                continue
            pid = made["id"]
            self.packages[pid] = {"title": made["title"], "status": "draft"}
            title = f"Renamed {uuid.uuid4().hex[:8]}"
            if self._call("PATCH", f"/api/operators/me/packages/{pid}", token, 200,
                          json={"title": title}) is not None:
                self.packages[pid]["title"] = title
            if n % 2:
                if self._call("POST", f"/api/operators/me/packages/{pid}/publish",
                              token, 200) is not None:
                    self.packages[pid]["status"] = "published"
                    with self._lock:
                        self.published.append(pid)
            elif self._call("DELETE", f"/api/operators/me/packages/{pid}", token,
                            204) is not None:
                self.deleted.add(pid)
                del self.packages[pid]

    def _book(self, token: str) -> None:
        departure = str(TODAY + datetime.timedelta(days=30))
        while not self._stop.is_set():
            page = self._call("GET", "/api/packages?limit=20&sort=newest", token, 200)
            with self._lock:
                ours = set(self.published)
            choices = [p for p in (page or {}).get("data", []) if p["id"] in ours]
            if not choices:
                time.sleep(0.05)
                continue
            body = {"package_id": choices[0]["id"], "departure_date": departure,
                    "travellers": [{"full_name": "A Traveller", "email": "t@example.com"}],
                    "addon_ids": []}
            booked = self._call("POST", "/api/bookings", token, 201, json=body,
                                headers={"Idempotency-Key": uuid.uuid4().hex})
            if booked is not None:
                self.bookings.append(booked["id"])


def as_operator(env: dict, side: str, operator_id: str, statement: str) -> None:
    """`statement` (with the operator's id as its parameter) run as PostgREST runs a
    supabase-js call: role `authenticated` with the operator's claims."""
    url = env["SUPABASE_DB_ADMIN_URL" if side == "supabase" else "RDS_ADMIN_URL"]
    claims = json.dumps({"sub": operator_id, "role": "authenticated"})
    with psycopg.connect(url) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        conn.execute("set local role authenticated")
        conn.execute(statement, (operator_id,))


def _shadow_reads(env: dict, token: str, at_least: int = 5) -> None:
    for _ in range(at_least):
        assert api(env["GATEWAY_URL"], "GET", "/api/packages", token).status_code == 200
    deadline = time.monotonic() + 10
    while status(env)["packages"]["shadow_compared"] < at_least and time.monotonic() < deadline:
        time.sleep(0.1)


def _start_verify(env: dict) -> None:
    for unit in ("addons", "exclusions", "packages"):
        ok(env, "start", unit)
        ok(env, "verify", unit)


def test_the_whole_move_of_packages_under_load_loses_nothing(moving_stack):
    env = moving_stack
    gateway = env["GATEWAY_URL"]
    admin = new_admin(gateway, env)
    operators = [approve(gateway, new_operator(env, prefix="mover"), admin_token=admin.token)
                 for _ in range(2)]
    agents = [active_agent(gateway, env).token for _ in range(2)]
    ok(env, "backup", "addons")
    with Traffic(gateway, operators, agents) as traffic:
        ok(env, "start", "addons")
        for unit in ("addons", "exclusions", "packages"):
            ok(env, "verify", unit)
        ok(env, "shadow", "packages", "on")
        _shadow_reads(env, agents[0])
        ok(env, "switch-reads", "packages")
        ok(env, "verify", "packages")
        # No RDS snapshot can be taken: refused, nothing changed, unless said in words.
        unsnapped = migrate({**env, "MIGRATE_RDS_INSTANCE_ID": ""}, "switch-writes", "packages")
        assert unsnapped.returncode == 3 and "no RDS snapshot can be taken before the " \
            "cutover: set MIGRATE_RDS_INSTANCE_ID" in unsnapped.stderr, unsnapped.stderr
        assert status(env)["packages"]["state"] == "reads_switched"
        first = ok(env, "switch-writes", "packages")
        taken = first.split("rds: snapshot ")[1].split()[0]
        assert taken.startswith("migrate-packages-before-switch-") and "available" in first
        [snap] = boto3.client(
            "rds", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).describe_db_snapshots(
            DBSnapshotIdentifier=taken)["DBSnapshots"]
        assert snap["DBInstanceIdentifier"] == env["MIGRATE_RDS_INSTANCE_ID"]
        # What an existing supabase-js frontend runs through PostgREST when it saves a
        # package, or adds a stop, on the side that no longer holds them: refused, so
        # nothing is lost there and nothing stands in the rollback's way.
        for statement in (f"update {PACKAGES} set title = 'direct' where operator_id = %s",
                          "insert into multi_city_hotel_package_cities (package_id, position, "
                          "city, country, nights, hotel_name, star_rating) select id, 30, "
                          f"'Porto', 'PT', 1, 'Hotel', 3 from {PACKAGES} "
                          "where operator_id = %s limit 1"):
            with pytest.raises(psycopg.Error, match="refused on this database: moved to RDS"):
                as_operator(env, "supabase", operators[0].id, statement)
        time.sleep(2)   # writes land on RDS, and are captured for the way back
        back = ok(env, "rollback", "packages")
        assert replication_objects(env) == []
        time.sleep(1)
        _start_verify(env)
        ok(env, "shadow", "packages", "on")
        _shadow_reads(env, agents[0])
        ok(env, "switch-reads", "packages")
        ok(env, "verify", "packages")
        second = ok(env, "switch-writes", "packages")
        time.sleep(2)
        ok(env, "finalize", "packages")
        time.sleep(1)
    assert "writes were held" in first and "writes were held" in second
    assert "rows written on RDS replayed there and verified" in back
    assert traffic.failures == [], traffic.failures[:10]
    assert len(traffic.packages) > 20 and traffic.bookings, traffic.answers

    # Every write the API acknowledged is where the tables now live, exactly as acknowledged.
    ids = list(traffic.packages) + list(traffic.deleted)
    rows = {str(r[0]): {"title": r[1], "status": r[2]} for r in sql(
        env, "rds", f"select id, title, status from {PACKAGES} where id = any(%s::uuid[])",
        (ids,))}
    assert rows == traffic.packages
    booked = sql(env, "rds", "select count(*) from bookings.bookings where id = any(%s::uuid[])",
                 (traffic.bookings,))[0][0]
    assert booked == len(traffic.bookings)

    units = status(env)
    assert {units[u]["state"] for u in ("addons", "exclusions", "packages")} == {"finalized"}
    assert units["packages"]["writes_to"] == units["packages"]["reads_from"] == "rds"
    assert replication_objects(env) == []
    moved = sql(env, "supabase", "select to_regclass('public.multi_city_hotel_packages')")
    assert moved == [(None,)]
    assert sql(env, "supabase", "select count(*) from supabase_backup.multi_city_hotel_packages")

    # Operators stay isolated on RDS: one cannot see or change the other's draft.
    mine = api(gateway, "POST", "/api/operators/me/packages", operators[0].token,
               json=package_fields()).json()
    assert mine["id"] in {str(r[0]) for r in sql(env, "rds", f"select id from {PACKAGES}")}
    other = operators[1].token
    assert api(gateway, "GET", f"/api/packages/{mine['id']}", other).status_code == 404
    assert api(gateway, "PATCH", f"/api/operators/me/packages/{mine['id']}", other,
               json={"title": "mine now"}).status_code == 404
    # And bookings keep working: booking-service reads packages through operator-service.
    published = api(gateway, "POST", f"/api/operators/me/packages/{mine['id']}/publish",
                    operators[0].token)
    assert published.status_code == 200, published.text
    booking = api(gateway, "POST", "/api/bookings", agents[0], headers={
        "Idempotency-Key": uuid.uuid4().hex}, json={
        "package_id": mine["id"], "departure_date": str(TODAY + datetime.timedelta(days=30)),
        "travellers": [{"full_name": "A", "email": "a@example.com"}], "addon_ids": []})
    assert booking.status_code == 201, booking.text


def test_operators_move_last_and_the_suspended_foreign_key_comes_back(moving_stack):
    env = moving_stack
    fk = "multi_city_hotel_packages_operator_id_fkey"
    suspended = status(env)["packages"]
    assert sql(env, "rds", "select 1 from pg_constraint where conname = %s", (fk,)) == []
    operator = new_operator(env, prefix="mover")
    gateway = env["GATEWAY_URL"]
    ok(env, "backup", "operators")
    ok(env, "start", "operators")
    ok(env, "verify", "operators")
    ok(env, "shadow", "operators", "on")
    assert api(gateway, "GET", "/api/operators/me", operator.token).status_code == 200
    deadline = time.monotonic() + 10
    while status(env)["operators"]["shadow_compared"] < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    ok(env, "switch-reads", "operators")
    out = ok(env, "switch-writes", "operators")
    assert "writes were held" in out and suspended["writes_to"] == "rds"
    # Both ends of packages.operator_id now live on RDS: the key is back, every row checked.
    assert sql(env, "rds", "select convalidated from pg_constraint where conname = %s",
               (fk,)) == [(True,)]
    renamed = api(gateway, "PATCH", "/api/operators/me", operator.token,
                  json={"company_name": "Moved Tours"})
    assert renamed.status_code == 200, renamed.text
    assert sql(env, "rds", "select company_name from users where id = %s",
               (operator.id,)) == [("Moved Tours",)]
    made = api(gateway, "POST", "/api/operators/me/packages", operator.token,
               json=package_fields())
    assert made.status_code == 201, made.text


def test_once_every_unit_is_finalized_supabase_is_archived_to_s3_for_30_days(moving_stack,
                                                                           tmp_path):
    env = moving_stack
    refused = migrate(env, "archive")
    assert refused.returncode == 3 and len(refused.stderr.strip().splitlines()) == 1
    assert "cannot archive: operators not finalized" in refused.stderr, refused.stderr
    ok(env, "import-logins", "operators")
    ok(env, "finalize", "operators")
    out = ok(env, "archive")
    uri = out.split("to s3://")[1].split()[0]
    bucket, key = uri.split("/", 1)
    assert bucket == env["AWS_S3_BUCKET"] and key.startswith("migration-archive/supabase-final-")
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    stored = tmp_path / "archive.dump"
    s3.download_file(bucket, key, str(stored))
    digest = sha256_of(stored)
    assert f"sha256 {digest}" in out
    assert s3.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"] == digest
    # What the archive holds: the logins and the frozen operator tables, restorable.
    listed = subprocess.run(["/usr/lib/postgresql/15/bin/pg_restore", "--list", str(stored)],
                            capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA auth users" in listed
    assert f"TABLE DATA supabase_backup {PACKAGES}" in listed
    assert "TABLE DATA supabase_backup users" in listed
    # S3 deletes it after 30 days, and the bucket's other rules are still there.
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    ours = [r for r in rules if r["ID"] == "migration-archive-retention"]
    assert ours and ours[0]["Expiration"]["Days"] == 30
    assert ours[0]["Filter"]["Prefix"] == "migration-archive/"
    # Recorded on RDS, with the checksum.
    assert sql(env, "rds", "select details->>'sha256' from migration.events "
                           "where command = 'archive' and unit = 'operators'") == [(digest,)]
