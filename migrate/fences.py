"""Write fences, the guard triggers that enforce them, and the refusal of schema changes on
moving tables: what decides, on each database, whether a unit's tables take writes (and
schema changes) at all. `switch-writes` and `rollback` move writes by closing one side's
fence and opening the other's; every writer claims the fence rows first, so closing a fence
waits out the writes in flight. Kept apart from the change capture (migrate/capture.py),
which says what changed, not who may change it."""
from __future__ import annotations

import time

from psycopg import errors, sql

from migrate.replication import qualified
from migrate.state import Conn, ToolError, one
from migrate.units import Unit

# Why a fence is open or closed, as `status` shows it (migration.fence.reason).
SUPABASE_HOLDS = "Supabase holds the table"
RDS_HOLDS = "RDS holds the table"
MOVED_TO_RDS = "moved to RDS: writes go there"
COPY_OF_SUPABASE = "copy of Supabase until `switch-writes`"
STALE_COPY = "stale copy after rollback; `start` copies it again"
ROLLING_BACK = "rolling back to Supabase: writes go there"
# operator-service re-reads the routing at most every 0.5 s per worker
# (operator_service.datasource.ROUTING_MAX_AGE); twice that, and every worker has.
ROUTING_SETTLE_SECONDS = 1.0


def set_fence(conn: Conn, tables, *, accepting: bool, reason: str,
              held_by: str | None = None, lease_seconds: float | None = None,
              lock_timeout_ms: int | None = None) -> None:
    """Open or close the write fence of `tables` on one database. Closing waits for the
    write transactions that claimed it (migration.claim_writes, or any write: the guard
    trigger, see install_guard) and holds back new ones until this commits. A close for a
    hold names the run (`held_by`) and its lease; any other call clears them.

    The rows are locked in table-name order, the order in which writers claim them
    (migration.claim_writes): in any other order a writer holding one row and a cutover
    holding another would wait for each other for ever."""
    ordered = sorted(set(tables))
    with conn.transaction():
        if lock_timeout_ms is not None:
            conn.execute(sql.SQL("set local lock_timeout = {}").format(
                sql.Literal(f"{int(lock_timeout_ms)}ms")))
        conn.execute("select 1 from migration.fence where table_name = any(%s) "
                     "order by table_name for update", (ordered,))
        for table in ordered:
            conn.execute(
                """insert into migration.fence (table_name, accepting, reason, held_by,
                                                lease_until)
                   values (%(t)s, %(a)s, %(r)s, %(h)s,
                           now() + make_interval(secs => %(l)s::float8))
                   on conflict (table_name) do update
                      set accepting = excluded.accepting, reason = excluded.reason,
                          held_by = excluded.held_by, lease_until = excluded.lease_until""",
                {"t": table, "a": accepting, "r": reason, "h": held_by, "l": lease_seconds})


def fences(conn: Conn, tables) -> dict[str, dict]:
    """The fence rows of `tables` on one database (a table without one accepts writes)."""
    if one(conn.execute("select to_regclass('migration.fence') is null as no").fetchone())["no"]:
        return {}
    return {r["table_name"]: r for r in conn.execute(
        """select table_name, accepting, reason, held_by, lease_until,
                  lease_until < now() as lease_expired
             from migration.fence where table_name = any(%s)""", (list(tables),)).fetchall()}


def clear_fence(conn: Conn, tables) -> None:
    """Forget the fence rows of `tables` (writes accepted, as before any move)."""
    conn.execute("delete from migration.fence where table_name = any(%s)", (list(tables),))


def guard_trigger(table: str) -> str:
    """Name of the trigger enforcing the fence on a table."""
    return f"migration_fence_{table}"[:63]


def install_guard(conn: Conn, unit: Unit) -> None:
    """Make the database refuse every write to the unit's tables while their fence is
    closed, whoever writes (supabase/migrations/20261206090000_fence_enforced.sql says
    why a trigger); idempotent."""
    for table in unit.tables:
        ddl(conn, sql.SQL("create or replace trigger {} before insert or update or delete or "
                          "truncate on {} for each statement "
                          "execute function migration.guard_writes()").format(
            sql.Identifier(guard_trigger(table)), qualified(table)))


def remove_guard(conn: Conn, unit: Unit) -> None:
    """Drop the unit's guard triggers (idempotent)."""
    drop_triggers(conn, unit, guard_trigger)


def drop_triggers(conn: Conn, unit: Unit, name_of) -> None:
    """Drop the trigger `name_of(table)` of each of the unit's tables that still exists."""
    for table in unit.tables:
        if one(conn.execute("select to_regclass(%s) is not null as ok",
                            (f"public.{table}",)).fetchone())["ok"]:
            ddl(conn, sql.SQL("drop trigger if exists {} on {}").format(
                sql.Identifier(name_of(table)), qualified(table)))


def refuse_ddl(conn: Conn, unit: Unit) -> None:
    """Make the database refuse schema changes on the unit's tables from anyone but this
    tool until `finalize` or `rollback`
    (supabase/migrations/20261207140000_migration_ddl_guard.sql says why); idempotent."""
    if not _has_ddl_list(conn):
        raise ToolError("this database has no migration.ddl_refused: apply the repository's "
                        "supabase/migrations to it first (RDS gets them from `start`)")
    with conn.transaction():
        for table in unit.tables:
            conn.execute("insert into migration.ddl_refused (relid, table_name, unit) "
                         "values (%s::regclass, %s, %s) on conflict (relid) do nothing",
                         (f"public.{table}", f"public.{table}", unit.name))
        present = {r["evtname"] for r in conn.execute(
            "select evtname from pg_event_trigger where evtname = any(%s)",
            (list(DDL_EVENTS),)).fetchall()}
        for name, event in DDL_EVENTS.items():
            if name not in present:
                conn.execute(sql.SQL("create event trigger {} on {} "
                                     "execute function migration.refuse_ddl()").format(
                    sql.Identifier(name), sql.SQL(event)))


def allow_ddl(conn: Conn, unit: Unit) -> None:
    """Schema changes on the unit's tables are anyone's again; the event triggers go with
    the last unit listed (idempotent; nothing to do where none was ever listed)."""
    if not _has_ddl_list(conn):
        return
    with conn.transaction():
        conn.execute("delete from migration.ddl_refused where unit = %s", (unit.name,))
        if conn.execute("select 1 from migration.ddl_refused limit 1").fetchone() is None:
            for name in DDL_EVENTS:
                conn.execute(sql.SQL("drop event trigger if exists {}").format(
                    sql.Identifier(name)))


def ddl_refused(conn: Conn, unit: Unit) -> bool:
    """Whether this database refuses schema changes on the unit's tables (refuse_ddl)."""
    return _has_ddl_list(conn) and conn.execute(
        "select 1 from migration.ddl_refused where unit = %s limit 1", (unit.name,)
    ).fetchone() is not None


def _has_ddl_list(conn: Conn) -> bool:
    return one(conn.execute("select to_regclass('migration.ddl_refused') is not null as ok"
                            ).fetchone())["ok"]


# The event triggers of refuse_ddl, and the event each fires on.
DDL_EVENTS = {"migration_refuse_ddl": "ddl_command_end", "migration_refuse_drop": "sql_drop"}


# Schema changes on tables that serve traffic ----------------------------------------------------

def ddl(conn: Conn, statement: sql.Composed, *, lock_timeout_ms: int = 200,
        attempts: int = 100) -> None:
    """Run one schema change on a table in use, in a transaction of its own that waits at
    most `lock_timeout_ms` for its lock, and try again until it gets it. Waiting longer
    would queue every reader behind it, and a deadlock with a request would fail the
    request; this way the tool is the one that backs off."""
    for attempt in range(attempts):
        try:
            with conn.transaction():
                conn.execute(f"set local lock_timeout = '{int(lock_timeout_ms)}ms'")
                conn.execute(statement)
            return
        except (errors.LockNotAvailable, errors.DeadlockDetected):
            time.sleep(min(0.02 * (attempt + 1), 0.5))
    raise ToolError(f"could not lock a table for `{statement.as_string(conn)[:80]}` in "
                    f"{attempts} tries; the tables are busy: run the command again")
