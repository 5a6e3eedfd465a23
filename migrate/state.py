"""The tool's connections, its one-run-at-a-time lock, and the state and event log of the
move, kept in RDS (`migration` schema, aws/migrations/011_*.sql) so that every operator of
the tool, and operator-service, see the same truth."""
from __future__ import annotations

import getpass
import json
import os
import socket
import time

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from migrate.units import UNITS, Unit

_LOCK_KEY = 7_201_127   # any constant: one `python -m migrate` run at a time per RDS
RECONCILE_WAIT_SECONDS = 15.0
# The states in which a unit's tables take writes on RDS (in all others, on Supabase).
WRITES_ON_RDS = ("writes_switched", "finalized", "dropped")

# Every connection of the tool returns rows as dicts (see `connect`).
Conn = psycopg.Connection[DictRow]


def one(row: DictRow | None) -> DictRow:
    """The row of a query that always returns one (an aggregate, a function call)."""
    if row is None:
        raise ToolError("the database returned no row where one is always expected")
    return row


class ToolError(RuntimeError):
    """Stops the command: one line saying what went wrong and what to do."""

    exit_code = 1


class GateRefused(ToolError):
    """A step's precondition does not hold; nothing was changed."""

    exit_code = 3


class Busy(ToolError):
    """Another run holds the lock."""

    exit_code = 4


def connect(url: str, *, side: str, purpose: str) -> Conn:
    """An autocommit connection returning dict rows, named after the run in
    pg_stat_activity; an unreachable server is a ToolError naming the side."""
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=5,
                               application_name=purpose[:63])
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        variable = "SUPABASE_DB_ADMIN_URL" if side == "supabase" else "RDS_ADMIN_URL"
        raise ToolError(f"cannot reach the {side} database ({first}); check {variable} and "
                        "that the server is up") from None
    # Row hashes compare the text of each row: both sides must print values alike.
    conn.execute("set timezone = 'UTC'")
    conn.execute("set datestyle = 'ISO, YMD'")
    conn.execute("set intervalstyle = 'postgres'")
    conn.execute("set extra_float_digits = 3")
    # The tool's own schema changes pass the refusal `start` puts on moving tables.
    conn.execute("set migrate.ddl = 'allowed'")
    return conn


def who(command: str, unit: str | None) -> str:
    """How this run names itself to a second one."""
    return (f"migrate {command} {unit or ''} by {getpass.getuser()}@{socket.gethostname()} "
            f"pid {os.getpid()}").replace("  ", " ")


def acquire_lock(conn: Conn, *, wait_seconds: float = 0.0) -> None:
    """Take the run lock on this RDS session (released when it closes), or say who holds it.
    Waits up to `wait_seconds`, and up to RECONCILE_WAIT_SECONDS while the holder is a
    guardian reconciling after a dead run (that takes a second or two)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        if one(conn.execute("select pg_try_advisory_lock(%s) as got",
                            (_LOCK_KEY,)).fetchone())["got"]:
            return
        holder = conn.execute(
            """select a.application_name, a.pid, a.backend_start
                 from pg_locks l join pg_stat_activity a on a.pid = l.pid
                where l.locktype = 'advisory' and l.objid = %s and l.granted""",
            (_LOCK_KEY,)).fetchone()
        reconciling = holder is not None and holder["application_name"].startswith(
            "migrate reconcile")
        if time.monotonic() < max(deadline, deadline + RECONCILE_WAIT_SECONDS * reconciling):
            time.sleep(0.1)
            continue
        if holder is None:
            raise Busy("another migrate run holds the lock; try again in a moment")
        raise Busy(f"another run holds the lock: {holder['application_name']!r} (server pid "
                   f"{holder['pid']}, since {holder['backend_start']:%Y-%m-%d %H:%M:%S}); "
                   "wait for it to finish, or stop it")


class State:
    """Reads and writes `migration.units` and `migration.events` on RDS."""

    def __init__(self, rds: Conn, units: tuple[Unit, ...] = UNITS):
        """The state on RDS, with a row for each of `units`: the move's; a unit built from
        other tables (a test's scratch table) is given its row the same way."""
        self.rds = rds
        exists = one(rds.execute("select to_regclass('migration.units') is not null as ok"
                                 ).fetchone())
        if not exists["ok"]:
            raise ToolError("RDS has no migration schema: apply aws/migrations first "
                            "(python -m travel_platform.migrations "
                            "--database-url \"$RDS_ADMIN_URL\" --dir aws/migrations)")
        for number, unit in enumerate(units, 1):
            rds.execute(
                """insert into migration.units (unit, position, tables) values (%s, %s, %s)
                   on conflict (unit) do update set position = excluded.position,
                                                   tables = excluded.tables""",
                (unit.name, number, list(unit.tables)))

    def row(self, unit: Unit) -> dict:
        """The unit's state row."""
        return one(self.rds.execute("select * from migration.units where unit = %s",
                                    (unit.name,)).fetchone())

    def rows(self) -> list[dict]:
        """Every unit's state row, in order (with the server's `now`, to judge leases by)."""
        return self.rds.execute("select *, now() as now from migration.units "
                                "order by position").fetchall()

    def update(self, unit: Unit, *, conn: Conn | None = None, **fields) -> None:
        """Set columns of the unit's row (in `conn`'s transaction if given)."""
        assignments = ", ".join(f"{name} = %s" for name in fields)
        values = [Jsonb(v) if isinstance(v, (dict, list)) else v for v in fields.values()]
        (conn or self.rds).execute(
            f"update migration.units set {assignments}, updated_at = now() where unit = %s",
            [*values, unit.name])

    def event(self, unit: Unit | None, command: str, outcome: str, message: str,
              details: dict | None = None) -> None:
        """Append to the event log."""
        self.rds.execute(
            "insert into migration.events (unit, command, outcome, message, details) "
            "values (%s, %s, %s, %s, %s)",
            (unit.name if unit else None, command, outcome, message,
             Jsonb(details) if details is not None else None))

    def events(self, unit: Unit | None = None, *, limit: int = 20) -> list[dict]:
        """The latest events, newest first."""
        return self.rds.execute(
            """select at, unit, command, outcome, message from migration.events
                where %(unit)s::text is null or unit = %(unit)s
                order by id desc limit %(limit)s""",
            {"unit": unit.name if unit else None, "limit": limit}).fetchall()

    def latest_backup(self, unit: Unit) -> dict[str, dict]:
        """The newest backup of each side, by side."""
        rows = self.rds.execute(
            """select distinct on (side) side, path, sha256, bytes, row_counts, created_at
                 from migration.backups where unit = %s order by side, id desc""",
            (unit.name,)).fetchall()
        return {row["side"]: row for row in rows}

    def record_backup(self, unit: Unit, *, side: str, path: str, sha256: str, size: int,
                      row_counts: dict) -> None:
        """Remember a backup file and its checksum."""
        self.rds.execute(
            "insert into migration.backups (unit, side, path, sha256, bytes, row_counts) "
            "values (%s, %s, %s, %s, %s, %s)",
            (unit.name, side, path, sha256, size, Jsonb(row_counts)))


def as_json(value) -> str:
    """JSON for the terminal: dates as ISO text."""
    return json.dumps(value, default=str, indent=2)
