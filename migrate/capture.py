"""What changed while a unit moves, row by row: the keys written on Supabase since the last
verify (the touch trigger: the write cutover checks only those rows while writes are held),
the change capture on RDS from the write cutover on (the way back), and replaying it onto
Supabase. Kept apart from the fences (migrate/fences.py), which say who may write, not
what was written.

The way back does not rely on a subscription on Supabase (a hosted project on PostgreSQL 15
cannot create one) nor on a logical slot on RDS (a forgotten slot keeps WAL until the disk
fills). From the write cutover on, a trigger on each moved table records every row it
changes in `migration.changelog`, in the same transaction as the change itself, so a change
is captured exactly when it commits. The triggers fire only for local writes
(`session_replication_role = origin`), never for replication, so nothing loops back.
`rollback` replays the last state of each changed row onto Supabase by primary key."""
from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from psycopg.types.json import Jsonb

from migrate.fences import ddl, drop_triggers
from migrate.replication import primary_key, qualified
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
    drop_triggers(supabase, unit, touch_trigger)
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

