"""The move under the faults a real one meets, caused for real on a stack of its own: writers
that bypass the API (supabase-js through PostgREST, Studio, scripts), a transaction left
open holding the fence, and `kill -9` of the tool at every statement boundary of
`switch-writes` and `rollback` (MIGRATE_PAUSE_AT stops it at a named point; nothing else
changes). The drills run on the rehearsal unit, in order: each leaves the move where the
next expects it."""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import psycopg
import pytest

from devstack import api as devstack
from devstack.api import Layout
from migrate.failpoints import POINTS
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import RehearsalWriter, migrate, ok, sql, status
from tests.helpers import REPO

pytestmark = [pytest.mark.stack, pytest.mark.devstack]

TABLE = "migration_rehearsal"
# How soon writes must flow again after the tool is killed, whatever it was doing.
RECOVERY_SECONDS = 10


LAYOUT = Layout(state=Path(f"{TEST_STATE}-drills"), port_offset=TEST_PORT_OFFSET + 2000)


@pytest.fixture(scope="module")
def drill_stack() -> Iterator[dict[str, str]]:
    """A fresh whole stack for the drills."""
    with devstack.fresh_stack(LAYOUT) as env:
        yield env


@pytest.fixture(scope="module")
def writer(drill_stack):
    """operator-service's routing code writing the rehearsal table all along."""
    with RehearsalWriter(drill_stack, tolerate_paused=True) as running:
        yield running
    assert running.failures == [], running.failures[:5]


def _to_reads_switched(env: dict, writer: RehearsalWriter) -> None:
    """start (copy), verify, shadow reads compared, switch-reads."""
    ok(env, "start", "rehearsal")
    ok(env, "verify", "rehearsal")
    ok(env, "shadow", "rehearsal", "on")
    deadline = time.monotonic() + 10
    while status(env)["rehearsal"]["shadow_compared"] < 1:
        assert time.monotonic() < deadline, "no shadow read was compared"
        time.sleep(0.1)
    ok(env, "switch-reads", "rehearsal")


# Direct writers -------------------------------------------------------------------------------

ROLES = ("anon", "authenticated", "service_role", "owner")
STATEMENTS = (
    f"insert into {TABLE} (owner, note) values (%(sub)s, 'direct')",
    f"update {TABLE} set note = 'direct' where owner = %(sub)s",
    f"delete from {TABLE} where owner = %(sub)s",
    f"truncate {TABLE}",
)


class DirectWrites(TypedDict):
    """What `tries` direct writes met: accepted, refused by the write fence, anything else
    (as "role: SQLSTATE")."""

    accepted: int
    fence: int
    other: set[str]


def _direct_writes(env: dict, side: str, sub: str, tries: int) -> DirectWrites:
    """`tries` writes on `side` as each role (as PostgREST runs them: `set local role`, the
    caller's claims), every kind of statement; (accepted, refused-by-the-fence, other)."""
    url = env["SUPABASE_DB_ADMIN_URL" if side == "supabase" else "RDS_ADMIN_URL"]
    outcome: DirectWrites = {"accepted": 0, "fence": 0, "other": set()}
    claims = json.dumps({"sub": sub, "role": "authenticated"})
    with psycopg.connect(url, autocommit=True) as conn:
        for n in range(tries):
            role = ROLES[n % len(ROLES)]
            statement = STATEMENTS[(n // len(ROLES)) % len(STATEMENTS)]
            try:
                with conn.transaction():
                    conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
                    if role != "owner":
                        conn.execute(f"set local role {role}")
                    conn.execute(statement, {"sub": sub})
                outcome["accepted"] += 1
            except psycopg.Error as exc:
                if exc.sqlstate == "MG001":
                    assert "refused on this database" in str(exc), exc
                    outcome["fence"] += 1
                else:
                    outcome["other"].add(f"{role}: {exc.sqlstate}")
    return outcome


def test_every_writer_is_refused_where_the_tables_no_longer_live(drill_stack, writer):
    env = drill_stack
    sub = str(uuid.uuid4())
    # A script with the service-role key writes the table directly: `plan` names it.
    with psycopg.connect(env["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("set local role service_role")
        conn.execute(f"insert into {TABLE} (owner, note) values (%s, 'script')", (sub,))
        conn.execute(f"delete from {TABLE} where owner = %s", (sub,))
    listed = next(line for line in ok(env, "plan").splitlines()
                  if line.strip().startswith(TABLE))
    assert "service_role 2" in listed and "authenticated" in listed, listed
    ok(env, "backup", "rehearsal")
    # A column added in Studio before the move: RDS would get the repository's shape.
    sql(env, "supabase", f"alter table {TABLE} add column added_in_studio text")
    refused = migrate(env, "start", "rehearsal")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert ("cannot start: the tables differ between Supabase and RDS (1 difference: "
            f"public.{TABLE}.added_in_studio: text default none on Supabase, absent on RDS)"
            in refused.stderr), refused.stderr
    assert status(env)["rehearsal"]["state"] == "new"
    drift = migrate(env, "plan")
    assert drift.returncode == 1 and (f"MISSING  public.{TABLE}.added_in_studio: text default "
                                      "none on Supabase, absent on RDS") in drift.stdout
    sql(env, "supabase", f"alter table {TABLE} drop column added_in_studio")
    _to_reads_switched(env, writer)
    # Before the cutover RDS holds a copy: nobody writes it but replication.
    before = _direct_writes(env, "rds", sub, 400)
    assert before["accepted"] == 0, before
    ok(env, "switch-writes", "rehearsal")
    moved = _direct_writes(env, "supabase", sub, 1200)
    assert moved["accepted"] == 0, moved
    # Every role allowed to write the table at all is refused by the fence itself; anon may
    # not write it, nor authenticated truncate it: refused before the fence is asked.
    assert moved["fence"] >= 800, moved
    assert moved["other"] <= {"anon: 42501", "authenticated: 42501"}, moved
    # Nor may its shape change on either side while it moves (a column added in Studio).
    for side in ("supabase", "rds"):
        with pytest.raises(psycopg.Error, match=r"moving to another database \(unit rehearsal"):
            sql(env, side, f"alter table {TABLE} add column added_in_studio text")
    ok(env, "rollback", "rehearsal")
    sql(env, "supabase", f"create index drill_after_rollback on {TABLE} (note)")
    sql(env, "supabase", "drop index drill_after_rollback")
    # (RDS has no service_role: Supabase's Data API is not there.)
    back = _direct_writes(env, "rds", sub, 1200)
    assert back["accepted"] == 0 and back["fence"] >= 500, back
    # And the side that holds the tables takes direct writes as before.
    sql(env, "supabase", f"insert into {TABLE} (owner, note) values (%s, 'direct')", (sub,))
    sql(env, "supabase", f"delete from {TABLE} where owner = %s", (sub,))
    time.sleep(0.5)
    with writer.settled() as rows:
        found = {str(r[0]) for r in sql(env, "supabase", f"select id from {TABLE}")}
    assert writer.failures == [] and len(rows) > 10
    assert set(rows) <= found


# A transaction left open holding the fence ----------------------------------------------------

def _idle_claim(env: dict, side: str) -> psycopg.Connection:
    """A session that claimed the rehearsal table's fence and sits idle in its transaction."""
    url = env["SUPABASE_DB_ADMIN_URL" if side == "supabase" else "RDS_ADMIN_URL"]
    conn = psycopg.connect(url, application_name="forgotten psql")
    conn.execute("select migration.claim_writes(%s)", ([TABLE],))
    return conn


@pytest.mark.parametrize("path, extra", [
    ("pre-flight", {}),
    # The pre-flight does not see it (as when the transaction begins just after it): the
    # bounded lock waits and retries give up instead.
    ("lock timeout", {"MIGRATE_OLD_TRANSACTION_SECONDS": "600"}),
])
def test_an_idle_transaction_holding_the_fence_stops_neither_writes_nor_the_tool(
        drill_stack, writer, path, extra):
    env = drill_stack
    state = status(env)["rehearsal"]["state"]
    if state == "rolled_back":
        _to_reads_switched(env, writer)
    for step, side, owner in (("switch-writes", "supabase", "supabase"),
                              ("rollback", "rds", "rds")):
        if step == "rollback":
            ok(env, "switch-writes", "rehearsal")
        stuck = _idle_claim(env, side)
        try:
            time.sleep(2.5)
            started = time.monotonic()
            refused = migrate({**env, **extra}, step, "rehearsal")
            took = time.monotonic() - started
            pid = stuck.info.backend_pid
        finally:
            stuck.close()
        assert refused.returncode != 0 and took < 15, (took, refused.stderr)
        said = refused.stderr.strip()
        assert len(said.splitlines()) == 1 and f"pid {pid} ('forgotten psql'" in said, said
        assert "transaction open" in said and f"writes stay on {owner}".lower() in said.lower()
        unit = status(env)["rehearsal"]
        assert unit["writes_to"] == owner and unit["hold"] is None
        assert all(f["accepting"] for f in unit["fences"][side].values())
        moment = time.monotonic()
        assert writer.first_write_after(moment) < 2
    ok(env, "rollback", "rehearsal")


# kill -9 at every statement boundary -----------------------------------------------------------

def _paused_run(env: dict, step: str, point: str) -> subprocess.Popen:
    """`step` started so that it stops at `point`; returns once it got there."""
    tool = subprocess.Popen([sys.executable, "-m", "migrate", step, "rehearsal"], cwd=REPO,
                            env={**env, "PATH": os.environ["PATH"], "MIGRATE_PAUSE_AT": point},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert tool.stderr is not None
    line = tool.stderr.readline()
    assert f"failpoint {point}: paused" in line, (point, line, tool.stderr.read()
                                                   if tool.poll() is not None else "")
    return tool


def _kill_at(env: dict, writer: RehearsalWriter, step: str, point: str) -> float:
    """kill -9 the tool at `point`; seconds until writes flowed again."""
    tool = _paused_run(env, step, point)
    time.sleep(0.3)   # writers meet whatever the dead run left
    tool.send_signal(signal.SIGKILL)
    tool.wait()
    killed = time.monotonic()
    recovered = writer.first_write_after(killed)
    _wait_reconciled(env)
    return recovered


def _wait_reconciled(env: dict) -> dict:
    """Wait until the guardian has put the fences and holds where the recorded state says:
    no hold, the side that owns the tables open, the other closed; the unit's status."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        unit = status(env)["rehearsal"]
        fences = [f for side in unit["fences"].values() for f in side.values()]
        if unit["hold"] is None and not any(f["held_by"] for f in fences):
            break
        assert time.monotonic() < deadline, (unit["hold"], unit["fences"])
        time.sleep(0.2)
    owner = unit["writes_to"]
    assert all(f["accepting"] == (side == owner) for side, found in unit["fences"].items()
               for f in found.values()), unit["fences"]
    return unit


def _kill_then_finish(env: dict, writer: RehearsalWriter, step: str, point: str | None,
                      recovery: dict[str, float]) -> None:
    """`step`, killed at `point` (if any), then finished by the next command: the same step
    if the dead one had not flipped the state yet, else any command (`reconcile`)."""
    if point is None:
        ok(env, step, "rehearsal")
        return
    recovery[point] = _kill_at(env, writer, step, point)
    unfinished = {"switch-writes": "reads_switched", "rollback": "writes_switched"}[step]
    if status(env)["rehearsal"]["state"] == unfinished:
        ok(env, step, "rehearsal")
    else:
        ok(env, "reconcile")


def test_kill_9_at_every_point_of_a_switch_blocks_writes_for_seconds_only(drill_stack, writer):
    env = drill_stack
    if status(env)["rehearsal"]["state"] == "rolled_back":
        _to_reads_switched(env, writer)
    switch = [p for p in POINTS if p.startswith("switch-writes:")]
    back = [p for p in POINTS if p.startswith("rollback:")]
    recovery: dict[str, float] = {}
    for forward, backward in itertools.zip_longest(switch, back):
        _kill_then_finish(env, writer, "switch-writes", forward, recovery)
        assert status(env)["rehearsal"]["state"] == "writes_switched"
        _kill_then_finish(env, writer, "rollback", backward, recovery)
        assert status(env)["rehearsal"]["state"] == "rolled_back"
        _to_reads_switched(env, writer)
    print("recovery after kill -9, seconds:", json.dumps(recovery, indent=1))
    worst = max(recovery.values())
    assert worst < RECOVERY_SECONDS, recovery
    # Every point of both steps (`start:guarded` has a drill of its own, below).
    assert set(recovery) == {*switch, *back} and len(recovery) >= 10
    # Every write acknowledged along the way is there, once, where the tables live.
    time.sleep(0.5)
    owner = status(env)["rehearsal"]["writes_to"]
    with writer.settled() as rows:
        found = {str(r[0]): {"note": r[1], "version": r[2], "owner": str(r[3])} for r in sql(
            env, owner, f"select id, note, version, owner from {TABLE} where id = any(%s::uuid[])",
            (list(rows),))}
    assert found == rows
    assert writer.failures == []


@pytest.mark.parametrize("step, point, server", [
    ("switch-writes", "switch-writes:caught-up", "supabase-db"),
    ("rollback", "rollback:fence-closed", "rds"),
])
def test_a_server_restarting_under_a_hold_blocks_writes_for_seconds_only(
        drill_stack, writer, step, point, server):
    env = drill_stack
    state = status(env)["rehearsal"]["state"]
    if state == "writes_switched" and step == "switch-writes":
        ok(env, "rollback", "rehearsal")
        state = "rolled_back"
    if state == "rolled_back":
        _to_reads_switched(env, writer)
        state = "reads_switched"
    if state == "reads_switched" and step == "rollback":
        ok(env, "switch-writes", "rehearsal")
    tool = _paused_run(env, step, point)
    seen = len(writer.failures)
    # The server goes down and comes back under the held writes; then the tool goes on,
    # onto connections that are gone.
    assert devstack.stop_part(LAYOUT, server)
    devstack.up(LAYOUT)
    tool.send_signal(signal.SIGUSR1)
    assert tool.wait(timeout=60) == 1
    ended = time.monotonic()
    said = tool.stderr.read().strip() if tool.stderr else ""
    assert len(said.splitlines()) == 1 and "lost a database connection" in said, said
    assert writer.first_write_after(ended) < RECOVERY_SECONDS
    unit = _wait_reconciled(env)
    assert unit["writes_to"] == ("supabase" if step == "switch-writes" else "rds")
    # The writer's connections to the restarted server broke (what any client sees of a
    # restart); nothing else failed. And the next command completes the step.
    lost = writer.failures[seen:]
    del writer.failures[seen:]
    assert all("OperationalError" in f or "connection" in f.lower() or "cannot be read" in f
               for f in lost), lost[:3]
    ok(env, step, "rehearsal")


def test_a_start_killed_before_the_copy_leaves_no_table_refusing_schema_changes(drill_stack):
    # `packages` has not moved in this stack: a first `start`, killed once it has put its
    # guards and DDL refusal in place but before the copy (its state still `new`).
    env = drill_stack
    assert status(env)["packages"]["state"] == "new"
    ok(env, "backup", "packages")
    tool = subprocess.Popen([sys.executable, "-m", "migrate", "start", "packages"], cwd=REPO,
                            env={**env, "PATH": os.environ["PATH"],
                                 "MIGRATE_PAUSE_AT": "start:guarded"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert tool.stderr is not None
    assert "failpoint start:guarded: paused" in tool.stderr.readline()
    tool.send_signal(signal.SIGKILL)
    tool.wait()
    change = "alter table public.multi_city_hotel_packages add column drill_probe int"
    with pytest.raises(psycopg.Error, match="the table is moving to another database"):
        sql(env, "supabase", change)   # what the dead run left: Studio cannot change it
    said = ok(env, "reconcile")
    assert "packages: schema changes allowed again on supabase" in said
    sql(env, "supabase", change)
    sql(env, "supabase", "alter table public.multi_city_hotel_packages drop column drill_probe")
    assert status(env)["packages"]["state"] == "new"
