"""`python -m migrate rehearse` on a real stack: every step, rollback included, on a scratch
pair of databases made from the newest backups, timed, while the real databases, their
state and replication objects stay exactly as they were and the platform goes on serving
from Supabase; a rehearsal killed with SIGKILL is cleaned up by the next one. A stack of its
own (the tests back up and rehearse; nothing of the real move happens here)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import api as devstack
from devstack.api import Layout
from tests.builders.admins import new_admin
from tests.builders.agents import active_agent
from tests.builders.operators import approve, new_operator
from tests.builders.packages import package_fields
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import migrate, ok, sql
from tests.helpers import REPO, api

pytestmark = [pytest.mark.stack, pytest.mark.devstack]

UNITS = ("rehearsal", "addons", "exclusions", "packages", "operators")
OPERATOR_TABLES = ("migration_rehearsal", "multi_city_hotel_package_addons",
                   "multi_city_hotel_package_exclusions", "multi_city_hotel_packages",
                   "multi_city_hotel_package_cities", "multi_city_hotel_package_changes", "users")


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    layout = Layout(state=Path(f"{TEST_STATE}-rehearse"), port_offset=TEST_PORT_OFFSET + 6500)
    with devstack.fresh_stack(layout) as env:
        yield env


def real_databases(env: dict) -> dict[str, list]:
    """Everything of the real pair a rehearsal could change: every row of the tool's state
    on both sides (units, events, backups, routing, fences...), the operator tables' row
    counts, the replication objects, the event triggers, and the databases themselves."""
    seen: dict[str, list] = {}
    for side in ("supabase", "rds"):
        for (table,) in sql(env, side, "select table_name from information_schema.tables "
                                       "where table_schema = 'migration' order by 1"):
            seen[f"{side} migration.{table}"] = sql(
                env, side, f"select * from migration.{table} order by 1")
        seen[f"{side} rows"] = [
            sql(env, side, f"select count(*) from public.{t}") if sql(
                env, side, "select to_regclass(%s)", (f"public.{t}",))[0][0] else None
            for t in OPERATOR_TABLES]
        seen[f"{side} event triggers"] = sql(env, side, "select evtname from pg_event_trigger "
                                                        "order by 1")
        seen[f"{side} databases"] = sql(env, side, "select datname from pg_database order by 1")
    seen["publications"] = sql(env, "supabase", "select pubname from pg_publication")
    seen["slots"] = sql(env, "supabase", "select slot_name from pg_replication_slots")
    seen["subscriptions"] = sql(env, "rds", "select subname from pg_subscription")
    return seen


def leftovers(env: dict) -> list:
    """Scratch databases and replication slots on either server."""
    return (sql(env, "supabase", "select datname from pg_database where datname like "
                                 "'rehearsal\\_%'")
            + sql(env, "rds", "select datname from pg_database where datname like "
                              "'rehearsal\\_%'")
            + sql(env, "supabase", "select slot_name from pg_replication_slots "
                                 "where slot_name not like 'migrate\\_%'"))


def test_without_a_backup_a_rehearsal_is_refused_in_one_line(stack):
    before = real_databases(stack)
    result = migrate(stack, "rehearse", "--unit", "rehearsal")
    assert result.returncode == 3, result.stderr + result.stdout
    assert result.stderr.strip() == ("migrate rehearse: no backup of rehearsal to rehearse "
                                     "on: run `python -m migrate backup rehearsal` first")
    assert real_databases(stack) == before and leftovers(stack) == []


def test_a_rehearsal_times_every_step_and_leaves_the_real_databases_as_they_were(stack):
    env = stack
    gateway = env["GATEWAY_URL"]
    admin = new_admin(gateway, env)
    operator = approve(gateway, new_operator(env, prefix="rehearsed"), admin_token=admin.token)
    made = api(gateway, "POST", "/api/operators/me/packages", operator.token,
               json=package_fields()).json()
    assert api(gateway, "POST", f"/api/operators/me/packages/{made['id']}/publish",
               operator.token).status_code == 200
    sql(env, "supabase", "insert into migration_rehearsal (owner, note) "
                         "select gen_random_uuid(), 'row ' || n from generate_series(1, 500) n")
    # The real move has begun: its publication, subscription and slot of `rehearsal` exist
    # (a slot's name is unique per server, the scratch pair's server too).
    ok(env, "backup", "rehearsal")
    ok(env, "start", "rehearsal")
    for unit in UNITS:
        ok(env, "backup", unit)
    deadline = time.monotonic() + 30     # the copy's table-sync slots go once it is done
    while sql(env, "supabase", "select slot_name from pg_replication_slots") != [
            ("migrate_rehearsal",)]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    before = real_databases(env)
    assert before["supabase rows"][0] == [(500,)]
    assert before["slots"] == [("migrate_rehearsal",)]

    result = migrate(env, "rehearse", timeout=900)

    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    # Progress as it goes, then the table: each step of each carrier, twice over, timed.
    assert "rehearse: restored " in out and "rehearse: [1/" in out
    table = out[out.index("\nstep "):]
    for carrier in ("rehearsal", "packages", "operators"):
        for step in ("switch-reads", "switch-writes", "rollback"):
            assert re.search(rf"^{step} +{carrier} +\d+\.\d\d s", table, re.M), (step, table)
        held = re.findall(rf"^switch-writes +{carrier} +\d+\.\d\d s +(\d+) ms", table, re.M)
        assert len(held) == 2, table
    for unit in UNITS:
        assert len(re.findall(rf"^start +{unit} +\d+\.\d\d s", table, re.M)) == 2, table
    assert re.search(r"^finalize +packages +\d+\.\d\d s", table, re.M)
    assert re.search(r"^finalize +operators +- .*not rehearsed", table, re.M)
    assert re.search(r"^restore +5 units +\d+\.\d\d s +[\d,]+ rows", table, re.M), table
    # Nothing of the real databases changed, the scratch pair is gone, and the platform
    # still serves from Supabase.
    assert real_databases(env) == before
    assert leftovers(env) == []
    agent = active_agent(gateway, env)
    assert api(gateway, "GET", f"/api/packages/{made['id']}", agent.token).status_code == 200
    assert api(gateway, "GET", "/api/operators/me", operator.token).status_code == 200


def test_a_rehearsal_killed_with_sigkill_is_cleaned_up_by_the_next(stack):
    env = stack
    ok(env, "backup", "rehearsal")
    before = real_databases(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "migrate", "rehearse", "--unit", "rehearsal"], cwd=REPO,
        env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "MIGRATE_PAUSE_AT": "switch-writes:before-hold"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 300
    for line in process.stdout:
        seen.append(line)
        if "failpoint switch-writes:before-hold: paused" in line:
            break
        assert time.monotonic() < deadline, "".join(seen)
    stamp = re.search(r"rehearsal_(\d{8}t\d{6})_supabase", "".join(seen))[1]
    process.send_signal(signal.SIGKILL)
    process.wait()
    # What it left: its databases, its subscription's slot on the Supabase server.
    assert sorted(leftovers(env)) == sorted([(f"rehearsal_{stamp}_supabase",),
                                             (f"rehearsal_{stamp}_rds",),
                                             (f"rehearsal_{stamp}_rehearsal",)])

    again = migrate(env, "rehearse", "--unit", "rehearsal", timeout=600)

    assert again.returncode == 0, again.stderr + again.stdout
    assert (f"rehearse: removed what an earlier rehearsal left: rehearsal_{stamp}_rds, "
            f"subscription rehearsal_{stamp}_rehearsal, rehearsal_{stamp}_supabase"
            in again.stdout), again.stdout
    assert leftovers(env) == []
    assert real_databases(env) == before
