"""`python -m migrate verify` paces itself on a real stack: it waits while RDS applies
Supabase's changes late (the subscription's apply held up by a lock on RDS, as a long
report query or a stuck apply would) or while Supabase is busy, says so, goes on once
neither holds, and gives up in one line past its ceiling. The stack is its own (ports
+5000), started for this module and stopped after it."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devstack import api as devstack
from devstack.api import Layout
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import ok, sql
from tests.helpers import REPO

pytestmark = [pytest.mark.stack, pytest.mark.devstack]

ROWS = 50_000
# Small chunks: the verify takes long enough for the pacer to look several times.
PACED = {"MIGRATE_VERIFY_CHUNK_ROWS": "100"}


@pytest.fixture(scope="module")
def replicating() -> Iterator[dict[str, str]]:
    """A fresh stack whose rehearsal unit (ROWS rows) replicates to RDS."""
    layout = Layout(state=Path(f"{TEST_STATE}-verify"), port_offset=TEST_PORT_OFFSET + 5000)
    with devstack.fresh_stack(layout) as env:
        sql(env, "supabase", "insert into migration_rehearsal (owner, note) select "
                             "gen_random_uuid(), 'row ' || g from generate_series(1, %s) g",
            (ROWS,))
        ok(env, "backup", "rehearsal")
        ok(env, "start", "rehearsal")
        yield env


def _verify(env: dict, **settings: str) -> subprocess.Popen:
    import os
    return subprocess.Popen([sys.executable, "-m", "migrate", "verify", "rehearsal"], cwd=REPO,
                            env={**env, **PACED, **settings,
                                 "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class ApplyHeldUp:
    """RDS's apply of the unit's changes waits behind a row lock on its heartbeat row (an
    open transaction on RDS), until `release()`."""

    def __init__(self, env: dict):
        self.conn = psycopg.connect(env["RDS_ADMIN_URL"])
        self.conn.execute("select * from migration.heartbeat where unit = 'rehearsal' "
                          "for update")

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def test_verify_waits_while_rds_applies_late_and_goes_on_once_caught_up(replicating):
    env = replicating
    held = ApplyHeldUp(env)
    try:
        verify = _verify(env, MIGRATE_MAX_LAG_SECONDS="0.3")
        time.sleep(6)
        assert verify.poll() is None, "verify went on while RDS lagged"
    finally:
        held.release()
    out, err = verify.communicate(timeout=120)
    assert verify.returncode == 0, err + out
    assert "verify rehearsal: waiting, RDS applies Supabase's changes" in out
    assert "(MIGRATE_MAX_LAG_SECONDS=0.3)" in out
    assert f"rehearsal: {ROWS:,} rows identical on both sides" in out


def test_verify_gives_up_in_one_line_when_rds_stays_behind(replicating):
    env = replicating
    held = ApplyHeldUp(env)
    try:
        verify = _verify(env, MIGRATE_MAX_LAG_SECONDS="0.3", MIGRATE_MAX_PACING_SECONDS="2")
        out, err = verify.communicate(timeout=120)
    finally:
        held.release()
    assert verify.returncode == 1, err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "verify rehearsal gave up after waiting 2 s in all (MIGRATE_MAX_PACING_SECONDS=2)" \
        in lines[0]
    assert "RDS applies Supabase's changes" in lines[0]


def test_verify_waits_while_supabase_is_busy(replicating):
    env = replicating
    busy = [threading.Thread(target=sql, args=(env, "supabase", "select pg_sleep(5)"))
            for _ in range(3)]
    for thread in busy:
        thread.start()
    time.sleep(0.5)
    verify = _verify(env, MIGRATE_MAX_ACTIVE_SESSIONS="2")
    out, err = verify.communicate(timeout=120)
    for thread in busy:
        thread.join()
    assert verify.returncode == 0, err + out
    assert "sessions are running statements on Supabase (MIGRATE_MAX_ACTIVE_SESSIONS=2)" in out
    assert f"rehearsal: {ROWS:,} rows identical on both sides" in out
