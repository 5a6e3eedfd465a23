"""A table whose primary key is two columns, (operator_id, day), where the first alone is
not unique, moved through start -> verify -> switch-reads -> switch-writes -> rollback ->
start -> switch-writes -> finalize while it takes writes to rows that share an operator,
on two real PostgreSQL servers with logical replication between them (devstack's, no
service). After the switch and after the rollback both sides hold exactly the same rows,
the rows every acknowledged write left: a key cut down to its first column would check,
replay or delete every day of an operator for one written day, and lose or keep rows.

The steps run in this process on a unit built from the scratch table (the units of the move
are the operator tables, none of which has a composite key); the failpoints the fault
drills use (migrate/failpoints.py) stop a step where a test writes, exactly as a drill
does. These tests run in order: each leaves the move where the next expects it."""
from __future__ import annotations

import datetime
import itertools
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from io import StringIO
from pathlib import Path

import psycopg
import pytest

from devstack import api as devstack
from devstack.api import PG_BIN, Layout
from migrate.run import Run
from migrate.settings import MigrateSettings
from migrate.state import GateRefused, State, ToolError, connect
from migrate.steps.backup import backup
from migrate.steps.finalize import finalize
from migrate.steps.plan import plan
from migrate.steps.rollback import rollback
from migrate.steps.start import start
from migrate.steps.switch import switch_reads, switch_writes
from migrate.steps.verify import verify_unit
from migrate.units import Unit
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE

TABLE = "composite_probe"
UNIT = Unit(TABLE, (TABLE,))
FIRST_DAY = datetime.date(2027, 1, 1)
# Numbers the writers' writes, across writers: each inserts a day of its own.
WRITES = itertools.count(1)
# What each acknowledged write left: (operator_id, day) -> (seats, note).
Rows = dict[tuple[int, datetime.date], tuple[int, str]]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict]:
    """Both servers of a stack, migrated, with the scratch table on each (as a migration
    applied to both sides gives it) and its rows on Supabase: 3 operators x 6 days."""
    layout = Layout(state=Path(f"{TEST_STATE}-composite"), port_offset=TEST_PORT_OFFSET + 5500)
    for part in devstack.DATABASES:
        devstack.stop_part(layout, part)
    shutil.rmtree(layout.state, ignore_errors=True)
    try:
        env = devstack.start_databases(layout)
        for url in env.values():
            _sql(url, f"create table public.{TABLE} (operator_id bigint, day date, "
                      "seats int not null, note text, primary key (operator_id, day))")
        _sql(env["SUPABASE_DB_ADMIN_URL"],
             f"insert into public.{TABLE} select o, %s::date + d, 10, 'seeded' "
             "from generate_series(1, 3) o, generate_series(0, 5) d", (FIRST_DAY,))
        seeded: Rows = {(o, FIRST_DAY + datetime.timedelta(days=d)): (10, "seeded")
                        for o in range(1, 4) for d in range(6)}
        yield {"env": env, "rows": seeded, "backups": tmp_path_factory.mktemp("backups")}
    finally:
        for part in devstack.DATABASES:
            devstack.stop_part(layout, part)


def _sql(url: str, statement: str, params=(), *, replica: bool = False) -> list:
    with psycopg.connect(url, autocommit=True) as conn:
        if replica:
            conn.execute("set session_replication_role = replica")
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def rows_on(servers: dict, side: str, table: str = f"public.{TABLE}") -> Rows:
    url = servers["env"]["SUPABASE_DB_ADMIN_URL" if side == "supabase" else "RDS_ADMIN_URL"]
    return {(o, d): (s, n) for o, d, s, n in _sql(
        url, f"select operator_id, day, seats, note from {table}")}


@contextmanager
def opened(servers: dict, unit: Unit = UNIT, *, pause_at: str = "") -> Iterator[Run]:
    """A run of the tool on both servers, as `python -m migrate` opens one."""
    env = servers["env"]
    settings = MigrateSettings(supabase_db_admin_url=env["SUPABASE_DB_ADMIN_URL"],
                               rds_admin_url=env["RDS_ADMIN_URL"],
                               migrate_backup_dir=servers["backups"], migrate_pg_bin=PG_BIN,
                               migrate_pause_at=pause_at)
    rds = connect(env["RDS_ADMIN_URL"], side="rds", purpose="migrate test")
    supabase = connect(env["SUPABASE_DB_ADMIN_URL"], side="supabase", purpose="migrate test")
    try:
        yield Run(settings=settings, supabase=supabase, rds=rds,
                  state=State(rds, units=(unit,)), command="test", who="migrate test",
                  without_snapshot=True)
    finally:
        rds.close()
        supabase.close()


@contextmanager
def at_failpoint(action: Callable[[], None]) -> Iterator[None]:
    """Do `action` once the step in the block stops at its failpoint (the run's
    MIGRATE_PAUSE_AT), then let it go on (SIGUSR1, as a drill does)."""
    waiting = signal.getsignal(signal.SIGUSR1)
    failed: list[BaseException] = []

    def act() -> None:
        deadline = time.monotonic() + 120
        while signal.getsignal(signal.SIGUSR1) is waiting:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        try:
            action()
        except BaseException as exc:
            failed.append(exc)
        finally:
            os.kill(os.getpid(), signal.SIGUSR1)

    thread = threading.Thread(target=act)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


class Writer:
    """Writes operator 2's and 3's days on one side until that side refuses them (its fence
    closed: the writes moved) or it is stopped: inserts a day, changes it and an older day,
    deletes every third; applies each acknowledged write to `rows`."""

    def __init__(self, url: str, rows: Rows):
        self.url, self.rows = url, rows
        self.acknowledged = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write)

    def more(self, writes: int = 5) -> None:
        """Wait until `writes` more writes were acknowledged (or it stopped)."""
        until = self.acknowledged + writes
        deadline = time.monotonic() + 30
        while self.acknowledged < until and self._thread.is_alive():
            assert time.monotonic() < deadline, "the writer stalled"
            time.sleep(0.01)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _write(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                n = next(WRITES)
                operator = 2 + n % 2
                new = (operator, FIRST_DAY + datetime.timedelta(days=100 + n))
                old = (operator, FIRST_DAY + datetime.timedelta(days=n % 6))
                try:
                    conn.execute(f"insert into {TABLE} values (%s, %s, %s, 'written')",
                                 (*new, n))
                    self.rows[new] = (n, "written")
                    conn.execute(f"update {TABLE} set note = %s "
                                 "where (operator_id, day) in ((%s, %s), (%s, %s))",
                                 (f"changed {n}", *new, *old))
                    for key in (new, old):
                        if key in self.rows:
                            self.rows[key] = (self.rows[key][0], f"changed {n}")
                    if n % 3 == 0:
                        conn.execute(f"delete from {TABLE} where (operator_id, day) = (%s, %s)",
                                     new)
                        del self.rows[new]
                    self.acknowledged += 1
                except psycopg.Error as exc:
                    if exc.sqlstate == "MG001":     # refused: the fence closed
                        return
                    self.failures.append(str(exc))
                    return
                time.sleep(0.005)


def test_a_table_without_a_primary_key_is_refused_in_one_line(servers):
    env = servers["env"]
    keyless = Unit("keyless_probe", ("keyless_probe",))
    _sql(env["SUPABASE_DB_ADMIN_URL"], "create table public.keyless_probe (n int, note text)")
    with opened(servers, keyless) as run, pytest.raises(GateRefused) as refused:
        start(run, keyless)
    assert str(refused.value) == (
        "cannot start keyless_probe: public.keyless_probe has no primary key; add one "
        "(a migration applied to both sides), then run the command again")
    # `plan` names it too, for the tables of the move.
    _sql(env["SUPABASE_DB_ADMIN_URL"],
         "alter table public.migration_rehearsal drop constraint migration_rehearsal_pkey")
    try:
        out = StringIO()
        with redirect_stdout(out):
            plan(MigrateSettings(supabase_db_admin_url=env["SUPABASE_DB_ADMIN_URL"],
                                 rds_admin_url=env["RDS_ADMIN_URL"], migrate_pg_bin=PG_BIN))
        assert ("  MISSING  public.migration_rehearsal has no primary key; add one (a "
                "migration applied to both sides), then run the command again"
                ) in out.getvalue().splitlines()
    finally:
        _sql(env["SUPABASE_DB_ADMIN_URL"],
             "alter table public.migration_rehearsal add primary key (id)")


def test_a_row_lost_on_rds_after_the_verify_is_named_by_its_whole_key_in_the_hold(servers):
    env = servers["env"]
    with opened(servers) as run:
        backup(run, UNIT)
        start(run, UNIT)
        verify_unit(run, UNIT)
        run.state.update(UNIT, shadow_compared=1)     # operator-service would count them
        switch_reads(run, UNIT)
    lost = (2, FIRST_DAY)

    def lose_a_row() -> None:
        # After the full verify: RDS loses a row (replica mode: nothing captures it), and
        # Supabase changes it, which replication cannot apply to a missing row.
        _sql(env["RDS_ADMIN_URL"], f"delete from {TABLE} where (operator_id, day) = (%s, %s)",
             lost, replica=True)
        _sql(env["SUPABASE_DB_ADMIN_URL"],
             f"update {TABLE} set seats = 11 where (operator_id, day) = (%s, %s)", lost)
        servers["rows"][lost] = (11, "seeded")

    with opened(servers, pause_at="switch-writes:before-hold") as run, \
            at_failpoint(lose_a_row), pytest.raises(ToolError) as aborted:
        switch_writes(run, UNIT)
    assert "writes stay on Supabase" in str(aborted.value)
    assert '{"day": "2027-01-01", "operator_id": 2} missing on rds' in str(aborted.value)
    # Supabase takes writes again; the row comes back to RDS as it is on Supabase.
    _sql(env["SUPABASE_DB_ADMIN_URL"],
         f"update {TABLE} set note = 'after' where (operator_id, day) = (%s, %s)", lost)
    servers["rows"][lost] = (11, "after")
    _sql(env["RDS_ADMIN_URL"], f"insert into {TABLE} values (%s, %s, 11, 'after')", lost,
         replica=True)


def test_after_the_switch_both_sides_hold_every_acknowledged_write(servers):
    env = servers["env"]
    with Writer(env["SUPABASE_DB_ADMIN_URL"], servers["rows"]) as writer, \
            opened(servers, pause_at="switch-writes:before-hold") as run:
        # Writes after the full verify, and on until the hold: the hold checks those rows.
        with at_failpoint(writer.more):
            switch_writes(run, UNIT)
        writer.more()        # meets the closed fence and stops
        checked = run.rds.execute("select details from migration.events where unit = %s "
                                  "and command = 'switch-writes' and outcome = 'done'",
                                  (UNIT.name,)).fetchone()["details"]["rows_checked_in_hold"]
    assert writer.failures == [] and checked >= 5
    assert rows_on(servers, "supabase") == servers["rows"]
    assert rows_on(servers, "rds") == servers["rows"]


def test_after_a_rollback_both_sides_hold_every_write_rds_took(servers):
    env = servers["env"]
    rds_url, rows = env["RDS_ADMIN_URL"], servers["rows"]
    # RDS takes writes now: one day of operator 1 deleted, one changed, one re-keyed to
    # another day, a day added; operator 1's other days stay as they are.
    day = [FIRST_DAY + datetime.timedelta(days=d) for d in range(8)]
    _sql(rds_url, f"delete from {TABLE} where (operator_id, day) = (1, %s)", (day[1],))
    _sql(rds_url, f"update {TABLE} set seats = 7 where (operator_id, day) = (1, %s)", (day[2],))
    _sql(rds_url, f"update {TABLE} set day = %s where (operator_id, day) = (1, %s)",
         (day[6], day[3]))
    _sql(rds_url, f"insert into {TABLE} values (1, %s, 3, 'on rds')", (day[7],))
    del rows[(1, day[1])]
    rows[(1, day[2])] = (7, rows[(1, day[2])][1])
    rows[(1, day[6])] = rows.pop((1, day[3]))
    rows[(1, day[7])] = (3, "on rds")

    with Writer(rds_url, rows) as writer:
        def write_before_the_hold() -> None:
            writer.more()
            _sql(rds_url, f"delete from {TABLE} where (operator_id, day) = (1, %s)", (day[4],))
            del rows[(1, day[4])]

        with opened(servers, pause_at="rollback:caught-up") as run, \
                at_failpoint(write_before_the_hold):
            rollback(run, UNIT)
        writer.more()        # meets the closed fence and stops
    assert writer.failures == [] and writer.acknowledged >= 5
    assert rows_on(servers, "supabase") == rows
    assert rows_on(servers, "rds") == rows
    assert (1, day[0]) in rows and (1, day[5]) in rows   # operator 1's untouched days


def test_moved_again_and_finalized_rds_holds_every_row(servers):
    env = servers["env"]
    with opened(servers) as run:
        start(run, UNIT)
        verify_unit(run, UNIT)
        run.state.update(UNIT, shadow_compared=1)
        switch_reads(run, UNIT)
        with Writer(env["SUPABASE_DB_ADMIN_URL"], servers["rows"]) as writer:
            writer.more()
            switch_writes(run, UNIT)
            writer.more()
        assert writer.failures == []
        finalize(run, UNIT)
    assert rows_on(servers, "rds") == servers["rows"]
    assert rows_on(servers, "supabase", f"supabase_backup.{TABLE}") == servers["rows"]
