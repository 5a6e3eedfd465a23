"""What changed while a unit moves, row by row and by its whole primary key: the keys written
on Supabase since the last verify (the touch trigger: the write cutover checks only those
rows while writes are held), the change capture on RDS from the write cutover on (the way
back), replaying it onto Supabase, and comparing given rows on both sides.

The way back does not rely on a subscription on Supabase (a hosted project on PostgreSQL 15
cannot create one) nor on a logical slot on RDS (a forgotten slot keeps WAL until the disk
fills). From the write cutover on, a trigger on each moved table records every row it
changes in `migration.changelog`, in the same transaction as the change itself, so a change
is captured exactly when it commits. The triggers fire only for local writes
(`session_replication_role = origin`), never for replication, so nothing loops back.
`rollback` replays the last state of each changed row onto Supabase by primary key.

A key is every column of the primary key, always: a table keyed by (operator_id, day) has
many rows per operator, and a filter on the first column alone would check, replay or
delete all of them for one written. A key travels as the text of a jsonb object
{column: value} (`Key`), as both triggers record it: one shape on both sides, hashable in
Python, and turned back into typed values by PostgreSQL from the table's own row type
(`jsonb_populate_record`), never by Python (a numeric or a timestamp would lose digits or
its zone). Both triggers print keys in UTC and PostgreSQL's interval style, whatever the
writer's session says, so that one row has one key text."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from psycopg import sql

from migrate import rowhash
from migrate.fences import ddl, drop_triggers
from migrate.replication import primary_key, qualified
from migrate.state import Conn, one
from migrate.units import Unit

# A row's primary key: the text of the jsonb object {column: value} of its key columns.
Key = str

CAPTURE_FUNCTION = """
create or replace function migration.capture() returns trigger
  language plpgsql security definer set search_path = ''
  set timezone = 'UTC' set intervalstyle = 'postgres'
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


def tables_without_key(conn: Conn, tables) -> list[str]:
    """Those of `tables` (schema public) that have no primary key: nothing of this module
    can name their rows, so `plan` names them and `start` refuses them."""
    return [r["t"] for r in conn.execute(
        """select t from unnest(%s::text[]) t
            where to_regclass('public.' || quote_ident(t)) is not null
              and not exists (select 1 from pg_index
                               where indrelid = ('public.' || quote_ident(t))::regclass
                                 and indisprimary)
            order by t""", (list(tables),)).fetchall()]


def _key_columns(conn: Conn, table: str) -> sql.Composable:
    """The table's primary key columns, in key order, as trigger arguments."""
    return sql.SQL(", ").join(sql.Literal(c) for c in primary_key(conn, table))


# Keys written on Supabase since the last verify ----------------------------------------------

def touch_trigger(table: str) -> str:
    """Name of the trigger recording written keys on a Supabase table."""
    return f"migration_touched_{table}"[:63]


def install_touch(supabase: Conn, unit: Unit) -> None:
    """Record the whole key of every row written on the unit's Supabase tables
    (supabase/migrations/20261208090000_migration_touched_whole_key.sql; idempotent)."""
    for table in unit.tables:
        ddl(supabase, sql.SQL("create or replace trigger {} after insert or update or delete "
                              "on {} for each row execute function migration.touch({})").format(
            sql.Identifier(touch_trigger(table)), qualified(table),
            _key_columns(supabase, table)))


def remove_touch(supabase: Conn, unit: Unit) -> None:
    """Stop recording written keys of the unit, and forget them (idempotent)."""
    drop_triggers(supabase, unit, touch_trigger)
    reset_touched(supabase, unit)


def reset_touched(supabase: Conn, unit: Unit) -> None:
    """Forget the keys written so far (a full verify is starting)."""
    supabase.execute("delete from migration.touched where table_name = any(%s)",
                     (list(unit.tables),))


def touched(supabase: Conn, tables) -> dict[str, list[Key]]:
    """Keys written since the last reset, per table."""
    found: dict[str, list[Key]] = {t: [] for t in tables}
    for row in supabase.execute("select table_name, key::text as key from migration.touched "
                                "where table_name = any(%s)", (list(tables),)):
        found[row["table_name"]].append(row["key"])
    return found


# Given rows, compared on both sides ------------------------------------------------------------

def compare_keys(supabase: Conn, rds: Conn, keys: dict[str, list[Key]]) -> list[dict]:
    """The rows of `keys` (table -> keys) that differ between the sides, each as
    {table, key, problem}: the check for a moment when neither side takes writes, after a
    full verify found both equal, so any difference is a row written since. Each row is
    found by its whole key through the primary key's index: the cost follows the writes,
    not the size of the tables."""
    found = []
    for table, wanted in keys.items():
        if not wanted:
            continue
        with ThreadPoolExecutor(2) as both:     # the hold waits for the slower side only
            ours, theirs = both.map(_row_hashes, (supabase, rds), (table,) * 2, (wanted,) * 2)
        for key in sorted(set(ours) | set(theirs)):
            if problem := rowhash.mismatch(ours.get(key), theirs.get(key)):
                found.append({"table": table, "key": key, "problem": problem})
    return found


def _row_hashes(conn: Conn, table: str, keys: list[Key]) -> dict[Key, int]:
    """The row hash verify uses (rowhash.py) of each of `keys` found in the table, by the
    key as given."""
    row = rowhash.Key(conn, table)
    return {r["key"]: r["h"] for r in conn.execute(sql.SQL(
        "select k.key, {hash} as h "
        "from unnest(%s::text[]) k (key) "
        "cross join lateral jsonb_populate_record(null::{t}, k.key::jsonb) p "
        "join {t} t on {match}").format(hash=row.hash, t=qualified(table),
                                        match=_match(row.columns, "p")), (keys,))}


def _match(pk: list[str], other: str) -> sql.Composable:
    """`(t.a, t.b) = (<other>.a, <other>.b)` over the primary key's columns `pk`."""
    return sql.SQL("({}) = ({})").format(
        sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in pk),
        sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(other), sql.Identifier(c))
                           for c in pk))


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
        rds.execute(sql.SQL(
            "create or replace trigger {} after insert or update or delete on {} "
            "for each row execute function migration.capture({}, {})").format(
            sql.Identifier(trigger_name(table)), qualified(table), sql.Literal(unit.name),
            _key_columns(rds, table)))


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
    keys: dict[str, list[Key]]
    rows: int


def replay(rds: Conn, supabase: Conn, units, *, since: str | None) -> Round:
    """Write onto Supabase, in the caller's Supabase transaction, the last captured state
    of every row of `units` whose change committed on RDS after snapshot `since` (every
    captured change if None).

    Rounds replay exactly what was captured, each change once, whatever order transactions
    commit in: a round reads the changelog in one snapshot, and the next takes what that
    snapshot did not see (`pg_visible_in_snapshot`); changes of transactions older than
    its oldest open one were all seen (the index's lower bound)."""
    keys: dict[str, list[Key]] = {t: [] for u in units for t in u.tables}
    written = 0
    with rds.transaction():
        rds.execute("set transaction isolation level repeatable read")
        snapshot = one(rds.execute("select pg_current_snapshot()::text as s").fetchone())["s"]
        for unit in units:
            for table in unit.tables:
                latest = rds.execute(
                    """select distinct on (pk) pk::text as key, operation,
                              row_data::text as row_data
                         from migration.changelog
                        where unit = %(unit)s and table_name = %(table)s
                          and (%(since)s::pg_snapshot is null
                               or (xid >= pg_snapshot_xmin(%(since)s::pg_snapshot)
                                   and not pg_visible_in_snapshot(xid, %(since)s::pg_snapshot)))
                        order by pk, id desc""",
                    {"unit": unit.name, "table": table, "since": since}).fetchall()
                written += _write_latest(supabase, table, latest)
                keys[table] = [r["key"] for r in latest]
    return Round(snapshot=snapshot, keys=keys, rows=written)


def _write_latest(supabase: Conn, table: str, latest: list) -> int:
    """Apply the last state of each row (delete by its whole key, or upsert of the whole
    row) to Supabase. Values stay jsonb text until PostgreSQL types them."""
    pk = primary_key(supabase, table)
    deletes = [r["key"] for r in latest if r["operation"] == "delete"]
    upserts = [r["row_data"] for r in latest if r["operation"] == "upsert"]
    if deletes:
        supabase.execute(sql.SQL(
            "delete from {t} t using unnest(%s::text[]) d (key) "
            "cross join lateral jsonb_populate_record(null::{t}, d.key::jsonb) k "
            "where {match}").format(t=qualified(table), match=_match(pk, "k")),
            (deletes,))
    if upserts:
        columns = [r["attname"] for r in supabase.execute(
            """select attname from pg_attribute where attrelid = %s::regclass
                and attnum > 0 and not attisdropped order by attnum""",
            (f"public.{table}",)).fetchall()]
        others = [c for c in columns if c not in pk]
        # A table of key columns alone has nothing to update: the row is there, or not.
        updates = sql.SQL("update set {}").format(sql.SQL(", ").join(
            sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in others)
        ) if others else sql.SQL("nothing")
        supabase.execute(sql.SQL(
            "insert into {t} overriding system value "
            "select r.* from unnest(%s::text[]) u (row_data) "
            "cross join lateral jsonb_populate_record(null::{t}, u.row_data::jsonb) r "
            "on conflict ({pk}) do {updates}").format(
            t=qualified(table), pk=sql.SQL(", ").join(map(sql.Identifier, pk)),
            updates=updates), (upserts,))
    return len(deletes) + len(upserts)
