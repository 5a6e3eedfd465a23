"""PostgreSQL's own logical replication from Supabase to RDS: a publication per unit on
Supabase, a subscription per unit on RDS that copies the tables (`copy_data`) and then
applies every change in commit order. Measured here at 176k rows/s for the initial copy,
faster than `pg_dump | psql`, and a killed tool loses nothing: the copy runs in the
servers, and a table's copy that fails is redone from scratch by PostgreSQL itself."""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from migrate.copywatch import SYNCHRONIZED, Relation, Snapshot, Stuck, Watchdog
from migrate.state import Conn, ToolError, one
from migrate.units import Unit

# MIGRATE_REPLICATION_PREFIX, set once per process by `python -m migrate` (use_prefix): one
# process runs the steps of one pair of databases, and every function naming a unit's
# replication objects would otherwise need the settings passed down to it.
_prefix = "migrate_"


def use_prefix(prefix: str) -> None:
    """Name this process's publications, subscriptions and slots <prefix><unit>."""
    global _prefix
    _prefix = prefix


def name_of(unit: Unit) -> str:
    """Publication, subscription and slot name of a unit."""
    return f"{_prefix}{unit.name}"


def qualified(table: str) -> sql.Composable:
    """public.<table> as an identifier."""
    return sql.Identifier("public", table)


# Table facts -----------------------------------------------------------------------------

def primary_key(conn: Conn, table: str) -> list[str]:
    """Primary key columns of public.<table>, in key order."""
    rows = conn.execute(
        """select a.attname from pg_index i
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
            where i.indrelid = %s::regclass and i.indisprimary
            order by array_position(i.indkey, a.attnum)""", (f"public.{table}",)).fetchall()
    if not rows:
        raise ToolError(f"public.{table} has no primary key; give it one before moving it")
    return [r["attname"] for r in rows]


def identity_sequences(conn: Conn, table: str) -> list[tuple[str, str]]:
    """(column, sequence) of the table's identity and serial columns."""
    rows = conn.execute(
        """select a.attname as col, pg_get_serial_sequence(%s, a.attname) as seq
             from pg_attribute a where a.attrelid = %s::regclass and a.attnum > 0
              and not a.attisdropped""", (f"public.{table}", f"public.{table}")).fetchall()
    return [(r["col"], r["seq"]) for r in rows if r["seq"]]


def row_counts(conn: Conn, tables: tuple[str, ...]) -> dict[str, int | None]:
    """Exact rows per table (None where the table does not exist)."""
    counts: dict[str, int | None] = {}
    for table in tables:
        if one(conn.execute("select to_regclass(%s) is not null as ok",
                        (f"public.{table}",)).fetchone())["ok"]:
            counts[table] = one(conn.execute(sql.SQL("select count(*) as n from {}").format(
                qualified(table))).fetchone())["n"]
        else:
            counts[table] = None
    return counts


def server_setting(conn: Conn, name: str) -> str:
    """A server setting's current value."""
    return one(conn.execute("select current_setting(%s) as v", (name,)).fetchone())["v"]


# Publication and subscription -------------------------------------------------------------

def ensure_publication(supabase: Conn, unit: Unit) -> None:
    """The unit's publication with its tables and its heartbeat row (idempotent)."""
    name = name_of(unit)
    supabase.execute("insert into migration.heartbeat (unit) values (%s) on conflict do nothing",
                     (unit.name,))
    exists = supabase.execute("select 1 from pg_publication where pubname = %s",
                              (name,)).fetchone()
    if not exists:
        supabase.execute(sql.SQL(
            "create publication {} for table {}, migration.heartbeat where (unit = {})").format(
            sql.Identifier(name), sql.SQL(", ").join(qualified(t) for t in unit.tables),
            sql.Literal(unit.name)))


def drop_publication(supabase: Conn, unit: Unit, *, settle_seconds: float = 5.0) -> None:
    """Remove the unit's publication (idempotent) without failing a write on its tables.

    PostgreSQL 15 finds a table's publications for every INSERT, UPDATE and DELETE in two
    catalog lookups (the table's publication ids, then each publication by id), so a DROP
    PUBLICATION that commits in between fails that write with "cache lookup failed for
    publication N" (reproduced in tests/integration/test_publication_drop.py within a few
    drops). So the tables leave the publication first, in a commit of their own; statements
    already running on them finish (waited for up to `settle_seconds`); only then does the
    publication, which no write can still be looking at, go. Measured: dropped at once, a
    write failed within 3 drops; emptied first but not waited for, within ~2,000; as here,
    none in 4,300 drops under 157,000 writes."""
    name = name_of(unit)
    members = [r["rel"] for r in supabase.execute(
        "select r.prrelid::regclass::text as rel from pg_publication_rel r "
        "join pg_publication p on p.oid = r.prpubid where p.pubname = %s", (name,)).fetchall()]
    if members:
        supabase.execute(sql.SQL("alter publication {} drop table {}").format(
            sql.Identifier(name), sql.SQL(", ").join(sql.SQL(m) for m in members)))
        emptied = one(supabase.execute("select clock_timestamp() as t").fetchone())["t"]
        deadline = time.monotonic() + settle_seconds
        while time.monotonic() < deadline and supabase.execute(
                """select 1 from pg_stat_activity a
                    where a.state = 'active' and a.query_start <= %s
                      and a.pid <> pg_backend_pid()
                      and exists (select 1 from pg_locks l where l.pid = a.pid
                                     and l.relation = any(%s::regclass[]))""",
                (emptied, members)).fetchone():
            time.sleep(0.01)
    supabase.execute(sql.SQL("drop publication if exists {}").format(sql.Identifier(name)))


def subscription_exists(rds: Conn, unit: Unit) -> bool:
    """Whether RDS has the unit's subscription."""
    return rds.execute("select 1 from pg_subscription where subname = %s",
                       (name_of(unit),)).fetchone() is not None


def subscription_enabled(rds: Conn, unit: Unit) -> bool:
    """Whether the unit's subscription is enabled (a drop that failed half way leaves it
    disabled, its slot keeping WAL on Supabase)."""
    row = rds.execute("select subenabled from pg_subscription where subname = %s",
                      (name_of(unit),)).fetchone()
    return bool(row and row["subenabled"])


def enable_subscription(rds: Conn, unit: Unit) -> None:
    """Let the unit's subscription apply again."""
    rds.execute(sql.SQL("alter subscription {} enable").format(sql.Identifier(name_of(unit))))


def ensure_subscription(rds: Conn, supabase: Conn, unit: Unit, *,
                        publisher_url: str) -> bool:
    """The unit's subscription, copying the tables first; True if created now."""
    name = name_of(unit)
    if subscription_exists(rds, unit):
        return False
    # A run killed between creating the slot on Supabase and committing the subscription
    # on RDS leaves the slot behind: drop it, or the new subscription cannot be created.
    supabase.execute("select pg_drop_replication_slot(slot_name) from pg_replication_slots "
                     "where slot_name = %s and not active", (name,))
    rds.execute(sql.SQL(
        "create subscription {} connection {} publication {} "
        "with (copy_data = true, create_slot = true, slot_name = {})").format(
        sql.Identifier(name), sql.Literal(publisher_url), sql.Identifier(name),
        sql.Literal(name)))
    return True


def slot_exists(supabase: Conn, unit: Unit) -> bool:
    """Whether Supabase has the unit's replication slot."""
    return supabase.execute("select 1 from pg_replication_slots where slot_name = %s",
                            (name_of(unit),)).fetchone() is not None


def drop_subscription(rds: Conn, supabase: Conn, unit: Unit) -> None:
    """Remove the unit's subscription and its slot on Supabase (idempotent, also when the
    slot is already gone)."""
    name = name_of(unit)
    if subscription_exists(rds, unit):
        rds.execute(sql.SQL("alter subscription {} disable").format(sql.Identifier(name)))
        if not slot_exists(supabase, unit):
            rds.execute(sql.SQL("alter subscription {} set (slot_name = none)").format(
                sql.Identifier(name)))
        rds.execute(sql.SQL("drop subscription {}").format(sql.Identifier(name)))
    # The slot goes with the subscription, unless Supabase was unreachable then.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = supabase.execute("select active from pg_replication_slots where slot_name = %s",
                                (name,)).fetchone()
        if left is None:
            return
        if not left["active"]:
            supabase.execute("select pg_drop_replication_slot(%s)", (name,))
            return
        time.sleep(0.1)
    raise ToolError(f"replication slot {name} on Supabase is still in use; stop its reader "
                    "and run the command again")


# Watching the initial copy ----------------------------------------------------------------

HEARTBEAT = "migration.heartbeat"
SYNC_SLOT = re.compile(r"^pg_(\d+)_sync_(\d+)_(\d+)$")
# How long the main apply worker may be missing before the copy is judged dead.
APPLY_GRACE_SECONDS = 30.0
# Rows of a stuck table the tool copies itself, in a transaction it rolls back, to get the
# server's own error message (see probe_copy).
PROBE_ROWS = 1000


def relations_of(unit: Unit) -> list[str]:
    """The relations the unit's subscription copies: its tables and the heartbeat."""
    return [f"public.{t}" for t in unit.tables] + [HEARTBEAT]


def subscription_oid(rds: Conn, unit: Unit) -> int | None:
    """The oid of the unit's subscription on RDS (it names the table-sync slots)."""
    row = rds.execute("select oid::bigint as oid from pg_subscription where subname = %s",
                      (name_of(unit),)).fetchone()
    return row["oid"] if row else None


def observe(rds: Conn, supabase: Conn, unit: Unit) -> Snapshot | None:
    """One look at the unit's subscription: each relation's sync state, worker, COPY
    progress and table-sync slot, and the subscription's error counts; None without one."""
    subid = subscription_oid(rds, unit)
    if subid is None:
        return None
    rows = rds.execute(
        """select r.srrelid::bigint as relid, n.nspname || '.' || c.relname as name,
                  r.srsubstate::text as state, r.srsublsn::text as lsn, w.pid,
                  w.received_lsn::text as received, p.tuples_processed as copied
             from pg_subscription_rel r
             join pg_class c on c.oid = r.srrelid
             join pg_namespace n on n.oid = c.relnamespace
             left join pg_stat_subscription w on w.subid = r.srsubid and w.relid = r.srrelid
             left join pg_stat_progress_copy p on p.pid = w.pid
            where r.srsubid = %s order by 2""", (subid,)).fetchall()
    workers = one(rds.execute(
        """select count(w.pid) filter (where w.subid = %(s)s and w.relid is not null) as sync,
                  count(w.pid) as everyone,
                  max(w.pid) filter (where w.subid = %(s)s and w.relid is null) as apply_pid,
                  current_setting('max_sync_workers_per_subscription')::int as max_sync,
                  current_setting('max_logical_replication_workers')::int as max_all,
                  (select sync_error_count from pg_stat_subscription_stats
                    where subid = %(s)s) as sync_errors,
                  (select apply_error_count from pg_stat_subscription_stats
                    where subid = %(s)s) as apply_errors
             from pg_stat_subscription w""", {"s": subid}).fetchone())
    sysid = system_identifier(rds)
    slots = set()
    for slot in supabase.execute(
            "select slot_name from pg_replication_slots where slot_name like %s",
            (f"pg\\_{subid}\\_sync\\_%",)).fetchall():
        match = SYNC_SLOT.match(slot["slot_name"])
        if match and int(match.group(1)) == subid and sysid in (None, int(match.group(3))):
            slots.add(int(match.group(2)))
    return Snapshot(
        at=time.monotonic(),
        relations=tuple(Relation(relid=r["relid"], name=r["name"], state=r["state"],
                                 lsn=r["lsn"], pid=r["pid"], copied=r["copied"],
                                 received=r["received"], sync_slot=r["relid"] in slots)
                        for r in rows),
        sync_errors=workers["sync_errors"] or 0, apply_errors=workers["apply_errors"] or 0,
        apply_pid=workers["apply_pid"], sync_workers=workers["sync"],
        max_sync_workers=workers["max_sync"], workers_free=workers["everyone"] < workers["max_all"])


@dataclass
class CopyState:
    """How far the initial copy is."""

    ready: bool
    copied_rows: int
    tables_ready: int
    tables: int


def copy_state(snapshot: Snapshot, unit: Unit, expected: dict[str, int | None]) -> CopyState:
    """Relations done and rows copied so far, from the subscription's own bookkeeping. A
    table whose copy is done (f, s, r) counts all its rows; one being copied, the rows its
    COPY has processed. Ready means every relation, the heartbeat included, is READY."""
    by_name = {r.name: r for r in snapshot.relations}
    wanted = relations_of(unit)
    copied = 0
    for table in unit.tables:
        relation = by_name.get(f"public.{table}")
        if relation is None:
            continue
        if relation.state in ("f", *SYNCHRONIZED):
            copied += expected.get(table) or 0
        else:
            copied += relation.copied or 0
    done = [n for n in wanted if n in by_name and by_name[n].state in SYNCHRONIZED]
    ready = all(n in by_name and by_name[n].state == "r" for n in wanted)
    return CopyState(ready=ready, copied_rows=copied, tables_ready=len(done), tables=len(wanted))


class CopyStuck(ToolError):
    """Relations whose copy cannot finish; the message names the first and what to do."""

    def __init__(self, unit: Unit, stuck: list[Stuck], message: str):
        super().__init__(message)
        self.unit = unit
        self.stuck = stuck


def stuck_message(unit: Unit, stuck: list[Stuck], *, cause: str | None = None) -> str:
    """One line: the first stuck relation, its state in words, why, and the command that
    repairs it."""
    first = stuck[0]
    more = f" (and {', '.join(s.name for s in stuck[1:])})" if len(stuck) > 1 else ""
    server = (f"; {cause}" if cause else
              "; its error is in the RDS server log" if "error" in first.why else "")
    these = "these relations" if more else "that relation"
    return (f"{first.line()}{more}{server}; {these} left the subscription meanwhile; remove the "
            f"cause, then run `python -m migrate start {unit.name}`, which re-copies only "
            f"{these}")


def wait_for_copy(rds: Conn, supabase: Conn, unit: Unit, expected: dict[str, int | None], *,
                  stall_seconds: float) -> dict[str, float]:
    """Show a progress bar until the initial copy is done; seconds until the first row was
    copied, until every relation was synchronized, and until the subscription was ready.
    There is no overall time limit: a copy that moves may take hours, and one that cannot
    finish is named (CopyStuck) by the watchdog within its grace periods (migrate/copywatch.py)."""
    total = sum(v or 0 for v in expected.values())
    started = time.monotonic()
    last_line = 0.0
    tty = sys.stderr.isatty()
    phases: dict[str, float] = {}
    watchdog = Watchdog(stall_seconds)
    apply_missing_since: float | None = None
    while True:
        snapshot = observe(rds, supabase, unit)
        if snapshot is None:
            raise ToolError(f"the subscription {name_of(unit)} disappeared from RDS during the "
                            f"copy; run `python -m migrate start {unit.name}` again")
        state = copy_state(snapshot, unit, expected)
        elapsed = snapshot.at - started
        if state.copied_rows and "first_row" not in phases:
            phases["first_row"] = elapsed
        if state.tables_ready == state.tables and "copied" not in phases:
            phases["copied"] = elapsed
        stuck = watchdog.observe(snapshot)
        if state.ready or elapsed - last_line >= (0.25 if tty else 2.0):
            _progress(state, total, elapsed, tty=tty, slow=watchdog.slow(snapshot))
            last_line = elapsed
        if state.ready:
            if tty:
                print(file=sys.stderr)
            return {**phases, "ready": elapsed}
        if snapshot.apply_pid is None:
            apply_missing_since = apply_missing_since or snapshot.at
            if snapshot.at - apply_missing_since > APPLY_GRACE_SECONDS:
                raise ToolError(
                    f"the subscription {name_of(unit)} has had no apply worker for "
                    f"{snapshot.at - apply_missing_since:.0f} s (apply_error_count "
                    f"{snapshot.apply_errors}, sync_error_count {snapshot.sync_errors}); see the "
                    f"RDS server log, then run `python -m migrate start {unit.name}` again")
        else:
            apply_missing_since = None
        if stuck:
            if tty:
                print(file=sys.stderr)
            cause = None
            for item in stuck:
                if item.state in ("i", "d") and "error" in item.why:
                    try:
                        cause = probe_copy(rds, supabase, unit, item.name)
                    except psycopg.Error:
                        cause = None    # the probe is a help, never the failure
                    if cause:
                        break
            raise CopyStuck(unit, stuck, stuck_message(unit, stuck, cause=cause))
        time.sleep(0.1)


def _progress(state: CopyState, total: int, elapsed: float, *, tty: bool,
              slow: list[tuple[str, str, float]]) -> None:
    done = min(state.copied_rows, total) if total else 0
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
    width = 30
    filled = int(width * (done / total)) if total else width
    bar = "#" * filled + "." * (width - filled)
    line = (f"[{bar}] {done:,}/{total:,} rows  {rate:,.0f} rows/s  "
            f"ETA {eta}  relations {state.tables_ready}/{state.tables}")
    if slow:
        line += "  waiting on " + ", ".join(f"{name.split('.')[-1]} ({state_}, {still:.0f} s)"
                                            for name, state_, still in slow)
    print(("\r" if tty else "") + line + ("\x1b[K" if tty else ""), end="" if tty else "\n",
          file=sys.stderr, flush=True)


def beat(supabase: Conn, unit: Unit) -> int:
    """Bump the unit's heartbeat on Supabase; its new value. The commit is flushed at once
    (a WAL sender only sends flushed WAL), whatever the server's synchronous_commit."""
    with supabase.transaction():
        supabase.execute("set local synchronous_commit = on")
        return one(supabase.execute(
            "update migration.heartbeat set beat = beat + 1, beat_at = now() where unit = %s "
            "returning beat", (unit.name,)).fetchone())["beat"]


def wait_applied(rds: Conn, unit: Unit, value: int, *, timeout: float) -> float:
    """Wait until RDS has applied heartbeat `value` (so everything before it); seconds."""
    started = time.monotonic()
    while True:
        row = rds.execute("select beat from migration.heartbeat where unit = %s",
                          (unit.name,)).fetchone()
        if row and row["beat"] >= value:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise ToolError(f"RDS did not catch up with Supabase on {unit.name} within "
                            f"{timeout:.1f} s; check `status` for the lag and run again")
        time.sleep(0.005)


def lag(supabase: Conn, rds: Conn, unit: Unit) -> dict:
    """Replication lag of the unit: bytes behind on Supabase's slot, and seconds."""
    slot = supabase.execute(
        """select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint as bytes
             from pg_replication_slots where slot_name = %s""", (name_of(unit),)).fetchone()
    if slot is None:
        return {"bytes": None, "seconds": None}
    seconds: float | None = 0.0
    if slot["bytes"]:
        sub = rds.execute(
            """select extract(epoch from now() - max(latest_end_time))::float as s
                 from pg_stat_subscription where subname = %s""", (name_of(unit),)).fetchone()
        seconds = sub["s"] if sub and sub["s"] is not None else None
    return {"bytes": slot["bytes"], "seconds": seconds}


# Repairs --------------------------------------------------------------------------------------

def probe_copy(rds: Conn, supabase: Conn, unit: Unit, name: str) -> str | None:
    """The error RDS gives when the tool copies a sample of the relation's rows itself, the
    way a table-sync worker does (replica mode, so only ALWAYS and REPLICA triggers fire, and
    no foreign key is checked), in a transaction it rolls back; None if the sample copies.

    PostgreSQL 15 shows a failing table-sync worker's error nowhere but in the server log,
    which a remote tool cannot read on RDS. The copy's own error (a column RDS lacks, a
    trigger or check that refuses a row, a row already there) is what this reproduces;
    one the sample does not reach, or a network error of the worker, it cannot."""
    schema, table = name.split(".", 1)
    target = sql.Identifier(schema, table)
    columns_sql = """select attname from pg_attribute where attrelid = %s::regclass
                       and attnum > 0 and not attisdropped and attgenerated = ''
                     order by attnum"""
    published = [r["attname"] for r in supabase.execute(columns_sql, (name,)).fetchall()]
    present = {r["attname"] for r in rds.execute(columns_sql, (name,)).fetchall()}
    missing = [c for c in published if c not in present]
    if missing:
        return f"RDS's {name} lacks the column(s) {', '.join(missing)} that Supabase publishes"
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in published)
    only = (sql.SQL(" where unit = {}").format(sql.Literal(unit.name)) if name == HEARTBEAT
            else sql.SQL(""))
    sample = bytearray()
    with supabase.cursor().copy(sql.SQL("copy (select {} from {}{} limit {}) to stdout").format(
            columns, target, only, sql.Literal(PROBE_ROWS))) as out:
        for chunk in out:
            sample += chunk
    try:
        with rds.transaction(force_rollback=True):
            rds.execute("set local session_replication_role = replica")
            rds.execute("set local lock_timeout = '2s'")
            rds.execute("set local statement_timeout = '10s'")
            with rds.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(
                    target, columns)) as into:
                into.write(sample)
    except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled):
        return None     # the worker holds the table now: inconclusive
    except psycopg.Error as exc:
        text = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
        return f"a copy of its first {PROBE_ROWS} rows by the tool fails with: {text}"
    return None


def park(rds: Conn, supabase: Conn, unit: Unit, names: list[str]) -> None:
    """Take these relations out of the unit's publication and subscription. That stops
    their workers and drops their table-sync slots and origins (REFRESH PUBLICATION does it
    for a relation not yet synchronized): a copy that fails is otherwise retried every few
    seconds forever, each time a full COPY on Supabase. The other relations keep
    replicating. `recopy` puts them back."""
    pub = sql.Identifier(name_of(unit))
    enabled = rds.execute("select subenabled from pg_subscription where subname = %s",
                          (name_of(unit),)).fetchone()
    if enabled is None or not enabled["subenabled"]:
        raise ToolError(f"the subscription {name_of(unit)} is disabled or missing, so it cannot "
                        f"re-copy a table; run `rollback` then `start {unit.name}`")
    published = {f"{r['schemaname']}.{r['tablename']}" for r in supabase.execute(
        "select schemaname, tablename from pg_publication_tables where pubname = %s",
        (name_of(unit),)).fetchall()}
    leaving = [n for n in names if n in published]
    if leaving:
        supabase.execute(sql.SQL("alter publication {} drop table {}").format(
            pub, sql.SQL(", ").join(_relation(n) for n in leaving)))
    rds.execute(sql.SQL("alter subscription {} refresh publication").format(pub))


def recopy(rds: Conn, supabase: Conn, unit: Unit, names: list[str]) -> None:
    """Copy only these relations of the unit again, the documented way: out of the
    publication and the subscription (`park`), emptied on RDS in replica mode (no trigger
    and no foreign-key cascade fires), back into the publication, and REFRESH PUBLICATION
    with copy_data. The other relations keep replicating. Safe to repeat after an
    interruption at any point."""
    park(rds, supabase, unit, names)
    with rds.transaction():
        rds.execute("set local session_replication_role = replica")
        for name in names:
            if name == HEARTBEAT:
                rds.execute("delete from migration.heartbeat where unit = %s", (unit.name,))
            else:
                rds.execute(sql.SQL("delete from {}").format(_relation(name)))
    pub = sql.Identifier(name_of(unit))
    for name in names:
        only = (sql.SQL(" where (unit = {})").format(sql.Literal(unit.name)) if name == HEARTBEAT
                else sql.SQL(""))
        supabase.execute(sql.SQL("alter publication {} add table {}{}").format(
            pub, _relation(name), only))
    rds.execute(sql.SQL("alter subscription {} refresh publication with (copy_data = true)")
                .format(pub))


def _relation(name: str) -> sql.Composable:
    schema, table = name.split(".", 1)
    return sql.Identifier(schema, table)


def system_identifier(rds: Conn) -> int | None:
    """RDS's system identifier (the last part of its table-sync slots' names), or None where
    the tool may not read it."""
    try:
        with rds.transaction():
            row = rds.execute("select system_identifier::text as id from pg_control_system()"
                              ).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    # A 64-bit unsigned number that PostgreSQL shows as a signed bigint.
    return int(row["id"]) % 2**64 if row else None


def sweep_sync_slots(rds: Conn, supabase: Conn, unit: Unit) -> list[str]:
    """Drop table-sync slots on Supabase that nothing will use again; their names. A slot
    `pg_<subid>_sync_<relid>_<sysid>` made by this RDS is left over when it is inactive and
    either its subscription no longer exists, or it belongs to this unit's subscription and
    its relation is synchronized (s or r: its worker drops the slot before recording that)
    or no longer in the subscription. Slots of other subscribers (another system identifier)
    are never touched; where RDS's identifier cannot be read, only this unit's are."""
    sysid = system_identifier(rds)
    subscriptions = {r["oid"] for r in rds.execute(
        "select oid::bigint as oid from pg_subscription").fetchall()}
    ours = subscription_oid(rds, unit)
    states = {r["relid"]: r["state"] for r in rds.execute(
        "select srrelid::bigint as relid, srsubstate::text as state from pg_subscription_rel "
        "where srsubid = %s", (ours,)).fetchall()} if ours is not None else {}
    dropped = []
    for slot in supabase.execute(
            "select slot_name from pg_replication_slots where not active and database = "
            "current_database() and slot_name ~ '^pg_[0-9]+_sync_[0-9]+_[0-9]+$'").fetchall():
        match = SYNC_SLOT.match(slot["slot_name"])
        if match is None:
            continue
        subid, relid, slot_sysid = (int(g) for g in match.groups())
        if (sysid is None and subid != ours) or (sysid is not None and slot_sysid != sysid):
            continue
        mine_done = subid == ours and states.get(relid, "gone") in ("s", "r", "gone")
        if subid not in subscriptions or mine_done:
            try:
                supabase.execute("select pg_drop_replication_slot(slot_name) from "
                                 "pg_replication_slots where slot_name = %s and not active",
                                 (slot["slot_name"],))
            except psycopg.errors.ObjectInUse:
                continue
            dropped.append(slot["slot_name"])
    return dropped


def slot_wal_status(supabase: Conn, unit: Unit) -> str | None:
    """wal_status of the unit's slot on Supabase (reserved, extended, unreserved, lost), or
    None without one."""
    row = supabase.execute("select wal_status from pg_replication_slots where slot_name = %s",
                           (name_of(unit),)).fetchone()
    return row["wal_status"] if row else None
