"""Holding writes, bounded (gh-ost's cut-over, for two PostgreSQL servers).

A hold stops the writes of a switch group on one side, so that the other side can catch up
and take them. It is the one moment of the move that users feel, so it is bounded at every
step:
- it does not begin while an old transaction touches the tables (a stuck worker, a psql
  session left open): it would only queue every writer behind it;
- every lock it takes (the fence rows: every writer share-locks them, see
  supabase/migrations/20261206090000_fence_enforced.sql) waits at most
  MIGRATE_LOCK_TIMEOUT_MS, and on a timeout the hold lets go (writes flow as before), waits
  a moment and tries again, MIGRATE_HOLD_ATTEMPTS times, then gives up naming the session
  in its way;
- it carries a lease (`migration.units.hold_until`, and `lease_until` on each fence row it
  closed): operator-service stops waiting for it when the lease ends, and a run that finds
  a hold whose run is gone undoes it (migrate/reconcile.py);
- every statement inside it runs under a `statement_timeout` of what is left of
  MIGRATE_MAX_HOLD_SECONDS.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors, sql

from migrate import failpoints, fences
from migrate.state import Conn, ToolError
from migrate.units import Unit

if TYPE_CHECKING:
    from migrate.run import Run

# After a lock timeout, writes flow this long before the next try.
RETRY_PAUSE_SECONDS = 1.0
# A hold's lease: the longest hold, plus the time to commit what follows it.
LEASE_MARGIN_SECONDS = 2.0


class HoldRefused(ToolError):
    """The hold did not begin, or let go; writes flow where they flowed before."""


def sessions_in_the_way(conn: Conn, tables: Sequence[str], *,
                        older_than: float = 0.0) -> list[dict]:
    """Other sessions whose open transaction holds a lock on `tables` or on their fence
    rows (claim_writes and the guard trigger share-lock them), oldest first."""
    return conn.execute(
        """select a.pid, a.application_name, a.usename, a.state, a.client_addr,
                  extract(epoch from now() - a.xact_start)::float as age
             from pg_stat_activity a
            where a.pid <> pg_backend_pid() and a.backend_type = 'client backend'
              and a.xact_start is not null
              and a.xact_start < now() - make_interval(secs => %s)
              and exists (select 1 from pg_locks l
                           where l.pid = a.pid and l.granted
                             and l.relation = any(%s::regclass[]))
            order by a.xact_start""",
        (older_than, [f"public.{t}" for t in tables] + ["migration.fence"])).fetchall()


def describe(session: dict) -> str:
    """One session as a person finds it in pg_stat_activity."""
    app = session["application_name"] or "no application_name"
    return (f"pid {session['pid']} ({app!r}, user {session['usename']}, {session['state']}, "
            f"transaction open {session['age']:.1f} s)")


def preflight(conn: Conn, side: str, tables: Sequence[str], *, older_than: float,
              keep: str) -> None:
    """Refuse to begin a hold while an old transaction touches `tables` on `side`."""
    old = sessions_in_the_way(conn, tables, older_than=older_than)
    if old:
        raise HoldRefused(
            f"a transaction on {side} has touched these tables for longer than {older_than:g} s "
            f"and would stall the hold: {describe(old[0])}; nothing was held, writes stay on "
            f"{keep}; end it (select pg_terminate_backend({old[0]['pid']}) on {side}) or "
            "wait for it, then run the command again")


def close(run: Run, group: Sequence[Unit], tables: Sequence[str], *, on: Conn, side: str,
          keep: str, reason: str, failpoint: str) -> float:
    """Begin a hold: operator-service's writers of `group` wait (hold_until), then the
    fence of `tables` closes on `on`, waiting for the writes in flight there, each lock for
    at most MIGRATE_LOCK_TIMEOUT_MS. On a timeout the hold lets go and tries again; after
    MIGRATE_HOLD_ATTEMPTS, HoldRefused names the session in the way. Returns when the hold
    began (time.monotonic(): writers wait from then on)."""
    settings = run.settings
    lease = settings.migrate_max_hold_seconds + LEASE_MARGIN_SECONDS
    preflight(on, side, tables, older_than=settings.migrate_old_transaction_seconds, keep=keep)
    blockers: list[dict] = []
    for attempt in range(settings.migrate_hold_attempts):
        if attempt:
            time.sleep(RETRY_PAUSE_SECONDS)
        set_hold(run, group, lease)
        held_at = time.monotonic()
        failpoints.pause(f"{failpoint}:hold-set", settings.migrate_pause_at)
        try:
            with on.transaction():
                on.execute(sql.SQL("set local lock_timeout = {}").format(
                    sql.Literal(f"{settings.migrate_lock_timeout_ms}ms")))
                # Every writer share-locks the fence rows until it commits (claim_writes,
                # or the guard trigger at its first write), so taking them waits out every
                # write in flight, and every write after this commits is refused. (No
                # table lock: it would add nothing, and wait for autovacuum.)
                fences.set_fence(on, tables, accepting=False, reason=reason,
                                  held_by=run.who, lease_seconds=lease)
            return held_at
        except (errors.LockNotAvailable, errors.DeadlockDetected):
            blockers = sessions_in_the_way(on, tables)
            release_hold(run, group)
    named = describe(blockers[0]) if blockers else "a session that has since ended"
    raise HoldRefused(
        f"could not hold writes on {side}: {settings.migrate_hold_attempts} tries waited "
        f"{settings.migrate_lock_timeout_ms} ms each for {named}; writes stay on {keep}; "
        "end that transaction or wait for it, then run the command again")


def set_hold(run: Run, group: Sequence[Unit], lease: float) -> None:
    """operator-service's writers of `group` wait (at most its HOLD_WAIT) until `lease`
    seconds from now, or until the hold is released."""
    run.rds.execute("update migration.units set hold_until = now() + make_interval(secs => %s),"
                    " held_by = %s where unit = any(%s)",
                    (lease, run.who, [m.name for m in group]))


def release_hold(run: Run, group: Sequence[Unit], *, conn: Conn | None = None) -> None:
    """Writers of `group` stop waiting."""
    (conn or run.rds).execute("update migration.units set hold_until = null, held_by = null "
                              "where unit = any(%s)", ([m.name for m in group],))


@contextmanager
def bounded(run: Run, held_at: float) -> Iterator[float]:
    """Every statement on either side, until the block ends, is cancelled once the hold
    would pass MIGRATE_MAX_HOLD_SECONDS; yields the seconds left."""
    left = run.settings.migrate_max_hold_seconds - (time.monotonic() - held_at)
    if left <= 0:
        raise ToolError(f"the hold would exceed MIGRATE_MAX_HOLD_SECONDS="
                        f"{run.settings.migrate_max_hold_seconds:g}")
    for conn in (run.supabase, run.rds):
        conn.execute(sql.SQL("set statement_timeout = {}").format(
            sql.Literal(f"{int(left * 1000) + 1}ms")))
    try:
        yield left
    except errors.QueryCanceled:
        raise ToolError(f"the hold would exceed MIGRATE_MAX_HOLD_SECONDS="
                        f"{run.settings.migrate_max_hold_seconds:g}") from None
    finally:
        for conn in (run.supabase, run.rds):
            try:
                conn.execute("reset statement_timeout")
            except psycopg.Error:   # a lost connection: what went wrong is raised already
                pass
