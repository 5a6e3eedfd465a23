"""What moves writes from one database to the other and back: write fences, the change
capture that is the way back, replaying it onto Supabase, sequences and foreign keys.

The way back does not rely on a subscription on Supabase (a hosted project on PostgreSQL 15
cannot create one) nor on a logical slot on RDS (a forgotten slot keeps WAL until the disk
fills). From the write cutover on, a trigger on each moved table records every row it
changes in `migration.changelog`, in the same transaction as the change itself, so a change
is captured exactly when it commits. The triggers fire only for local writes
(`session_replication_role = origin`), never for replication, so nothing loops back.
`rollback` replays the last state of each changed row onto Supabase by primary key."""
from __future__ import annotations

import time
from dataclasses import dataclass

from psycopg import errors, sql
from psycopg.types.json import Jsonb

from migrate.replication import identity_sequences, primary_key, qualified
from migrate.state import Conn, ToolError, one
from migrate.units import Unit

CAPTURE_FUNCTION = """
create or replace function migration.capture() returns trigger
  language plpgsql security definer set search_path = ''
as $$
declare
  row_data jsonb := case when tg_op = 'DELETE' then to_jsonb(old) else to_jsonb(new) end;
  pk jsonb := (select jsonb_object_agg(k, row_data -> k) from unnest(tg_argv[1:]) k);
begin
  if tg_op = 'UPDATE' then
    -- A changed key is a delete of the old one and an insert of the new.
    if (select jsonb_object_agg(k, to_jsonb(old) -> k) from unnest(tg_argv[1:]) k) <> pk then
      insert into migration.changelog (unit, table_name, operation, pk)
      select tg_argv[0], tg_table_name, 'delete',
             (select jsonb_object_agg(k, to_jsonb(old) -> k) from unnest(tg_argv[1:]) k);
    end if;
  end if;
  insert into migration.changelog (unit, table_name, operation, pk, row_data)
  values (tg_argv[0], tg_table_name, case when tg_op = 'DELETE' then 'delete' else 'upsert' end,
          pk, case when tg_op = 'DELETE' then null else row_data end);
  return null;
end
$$;
revoke all on function migration.capture() from public;
"""


def trigger_name(table: str) -> str:
    """Name of the capture trigger on a table."""
    return f"migration_capture_{table}"[:63]


# Fences ------------------------------------------------------------------------------------

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
    _drop_triggers(conn, unit, guard_trigger)


def _drop_triggers(conn: Conn, unit: Unit, name_of) -> None:
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


# Keys written on Supabase since the last verify ----------------------------------------------

def touch_trigger(table: str) -> str:
    """Name of the trigger recording written keys on a Supabase table."""
    return f"migration_touched_{table}"[:63]


def install_touch(supabase: Conn, unit: Unit) -> None:
    """Record the key of every row written on the unit's Supabase tables (idempotent).
    Only single-column keys: the operator tables all have one."""
    for table in unit.tables:
        pk = primary_key(supabase, table)
        if len(pk) != 1:  # `start` refuses such a table before it gets here
            raise ToolError(f"public.{table}: a composite key cannot be tracked")
        ddl(supabase, sql.SQL("create or replace trigger {} after insert or update or delete "
                              "on {} for each row execute function migration.touch({})").format(
            sql.Identifier(touch_trigger(table)), qualified(table), sql.Literal(pk[0])))


def remove_touch(supabase: Conn, unit: Unit) -> None:
    """Stop recording written keys of the unit, and forget them (idempotent)."""
    _drop_triggers(supabase, unit, touch_trigger)
    reset_touched(supabase, unit)


def reset_touched(supabase: Conn, unit: Unit) -> None:
    """Forget the keys written so far (a full verify is starting)."""
    supabase.execute("delete from migration.touched where table_name = any(%s)",
                     (list(unit.tables),))


def touched(supabase: Conn, tables) -> dict[str, list[str]]:
    """Keys written since the last reset, per table."""
    found: dict[str, list[str]] = {t: [] for t in tables}
    for row in supabase.execute("select table_name, key from migration.touched "
                                "where table_name = any(%s)", (list(tables),)):
        found[row["table_name"]].append(row["key"])
    return found


# Change capture on RDS ----------------------------------------------------------------------

def install_capture(rds: Conn, unit: Unit) -> None:
    """Capture triggers on the unit's tables (idempotent), in the caller's transaction.
    `create or replace trigger` takes a lock that readers do not wait for; writers are
    held off by the write fence while this runs. Installed before the write cutover's hold,
    they capture nothing until it flips: they fire only for local writes, and until then
    RDS's fence refuses every local statement before any row (migration.guard_writes),
    while replication applies its changes in replica mode, where they do not fire."""
    rds.execute(CAPTURE_FUNCTION)
    for table in unit.tables:
        pk = primary_key(rds, table)
        args = sql.SQL(", ").join(sql.Literal(a) for a in (unit.name, *pk))
        rds.execute(sql.SQL(
            "create or replace trigger {} after insert or update or delete on {} "
            "for each row execute function migration.capture({})").format(
            sql.Identifier(trigger_name(table)), qualified(table), args))


def capture_installed(rds: Conn, unit: Unit) -> bool:
    """Whether any of the unit's tables has its capture trigger."""
    return rds.execute("select 1 from pg_trigger where tgname = any(%s) limit 1",
                       ([trigger_name(t) for t in unit.tables],)).fetchone() is not None


def remove_capture(rds: Conn, unit: Unit) -> None:
    """Drop the unit's capture triggers and forget its captured changes (not in a
    transaction: each drop waits for its lock on its own, see `ddl`)."""
    for table in unit.tables:
        ddl(rds, sql.SQL("drop trigger if exists {} on {}").format(
            sql.Identifier(trigger_name(table)), qualified(table)))
    rds.execute("delete from migration.changelog where unit = %s", (unit.name,))


@dataclass
class Round:
    """One round of a rollback's replay: the RDS snapshot it read the changelog in (the
    next round starts there), the keys it wrote per table, and how many rows."""

    snapshot: str
    keys: dict[str, list[str]]
    rows: int


def replay(rds: Conn, supabase: Conn, units, *, since: str | None) -> Round:
    """Write onto Supabase, in the caller's Supabase transaction, the last captured state
    of every row of `units` whose change committed on RDS after snapshot `since` (every
    captured change if None).

    Rounds replay exactly what was captured, each change once, whatever order transactions
    commit in: a round reads the changelog in one snapshot, and the next takes what that
    snapshot did not see (`pg_visible_in_snapshot`); changes of transactions older than
    its oldest open one were all seen (the index's lower bound)."""
    keys: dict[str, list[str]] = {t: [] for u in units for t in u.tables}
    written = 0
    with rds.transaction():
        rds.execute("set transaction isolation level repeatable read")
        snapshot = one(rds.execute("select pg_current_snapshot()::text as s").fetchone())["s"]
        for unit in units:
            for table in unit.tables:
                latest = rds.execute(
                    """select distinct on (pk) pk, operation, row_data from migration.changelog
                        where unit = %(unit)s and table_name = %(table)s
                          and (%(since)s::pg_snapshot is null
                               or (xid >= pg_snapshot_xmin(%(since)s::pg_snapshot)
                                   and not pg_visible_in_snapshot(xid, %(since)s::pg_snapshot)))
                        order by pk, id desc""",
                    {"unit": unit.name, "table": table, "since": since}).fetchall()
                written += _write_latest(supabase, table, latest)
                keys[table] = [str(next(iter(r["pk"].values()))) for r in latest]
    return Round(snapshot=snapshot, keys=keys, rows=written)


def _write_latest(supabase: Conn, table: str, latest: list) -> int:
    """Apply the last state of each row (delete, or upsert of the whole row) to Supabase."""
    pk = primary_key(supabase, table)
    deletes = [r["pk"] for r in latest if r["operation"] == "delete"]
    upserts = [r["row_data"] for r in latest if r["operation"] == "upsert"]
    key_match = sql.SQL(" and ").join(
        sql.SQL("t.{c} = (d.k ->> {name})::{type}").format(
            c=sql.Identifier(c), name=sql.Literal(c),
            type=sql.SQL(_type_of(supabase, table, c)))
        for c in pk)
    if deletes:
        supabase.execute(sql.SQL(
            "delete from {t} t using jsonb_array_elements(%s) d (k) where {m}").format(
            t=qualified(table), m=key_match), (Jsonb(deletes),))
    if upserts:
        columns = [r["attname"] for r in supabase.execute(
            """select attname from pg_attribute where attrelid = %s::regclass
                and attnum > 0 and not attisdropped order by attnum""",
            (f"public.{table}",)).fetchall()]
        updates = sql.SQL(", ").join(
            sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c))
            for c in columns if c not in pk)
        supabase.execute(sql.SQL(
            "insert into {t} overriding system value "
            "select * from jsonb_populate_recordset(null::{t}, %s) "
            "on conflict ({pk}) do update set {updates}").format(
            t=qualified(table), pk=sql.SQL(", ").join(map(sql.Identifier, pk)),
            updates=updates), (Jsonb(upserts),))
    return len(deletes) + len(upserts)


def _type_of(conn: Conn, table: str, column: str) -> str:
    return one(conn.execute(
        """select format_type(atttypid, atttypmod) as t from pg_attribute
            where attrelid = %s::regclass and attname = %s""",
        (f"public.{table}", column)).fetchone())["t"]


# Sequences and foreign keys -------------------------------------------------------------------

def copy_sequences(source: Conn, target: Conn, unit: Unit) -> dict:
    """Set each identity/serial sequence of the unit on `target` past both the source's
    sequence and the target's rows (sequences are not replicated)."""
    done = {}
    for table in unit.tables:
        for column, seq in identity_sequences(source, table):
            last = one(source.execute(sql.SQL(
                "select greatest((select last_value from {seq}), "
                "(select coalesce(max({col}), 0) from {t})) as v").format(
                seq=sql.SQL(seq), col=sql.Identifier(column), t=qualified(table))).fetchone())["v"]
            target_max = one(target.execute(sql.SQL(
                "select coalesce(max({col}), 0) as v from {t}").format(
                col=sql.Identifier(column), t=qualified(table))).fetchone())["v"]
            value = max(last, target_max, 1)
            target.execute("select setval(%s, %s, true)", (seq, value))
            done[seq] = value
    return done


def foreign_keys_out(conn: Conn, tables: tuple[str, ...]) -> list[dict]:
    """Foreign keys from `tables` to other tables of schema public (not to `auth.users`,
    whose name is also `users`: Supabase Auth's table never moves)."""
    return conn.execute(
        """select c.conname as name, src.relname as "table", dst.relname as references,
                  pg_get_constraintdef(c.oid) as definition
             from pg_constraint c
             join pg_class src on src.oid = c.conrelid
             join pg_class dst on dst.oid = c.confrelid
             join pg_namespace n on n.oid = src.relnamespace
             join pg_namespace dn on dn.oid = dst.relnamespace
            where c.contype = 'f' and n.nspname = 'public' and src.relname = any(%s)
              and dn.nspname = 'public' and not dst.relname = any(%s)""",
        (list(tables), list(tables))).fetchall()


def drop_foreign_key(conn: Conn, fk: dict) -> None:
    """Drop one foreign key (its definition is kept by the caller)."""
    ddl(conn, sql.SQL("alter table {} drop constraint if exists {}").format(
        qualified(fk["table"]), sql.Identifier(fk["name"])))


def restore_foreign_key(conn: Conn, fk: dict) -> None:
    """Re-create a dropped foreign key and check every existing row against it."""
    exists = conn.execute("select 1 from pg_constraint "
                          "where conname = %s and conrelid = %s::regclass",
                          (fk["name"], f"public.{fk['table']}")).fetchone()
    if not exists:
        ddl(conn, sql.SQL("alter table {} add constraint {} {} not valid").format(
            qualified(fk["table"]), sql.Identifier(fk["name"]), sql.SQL(fk["definition"])))
    ddl(conn, sql.SQL("alter table {} validate constraint {}").format(
        qualified(fk["table"]), sql.Identifier(fk["name"])))
