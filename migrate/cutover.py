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

def set_fence(conn: Conn, tables, *, accepting: bool, reason: str) -> None:
    """Open or close the write fence of `tables` on one database. Closing waits for the
    write transactions that claimed it and holds back new ones until this commits.

    The rows are locked in table-name order, the order in which writers claim them
    (migration.claim_writes): in any other order a writer holding one row and a cutover
    holding another would wait for each other for ever."""
    ordered = sorted(set(tables))
    with conn.transaction():
        conn.execute("select 1 from migration.fence where table_name = any(%s) "
                     "order by table_name for update", (ordered,))
        for table in ordered:
            conn.execute(
                """insert into migration.fence (table_name, accepting, reason)
                   values (%s, %s, %s)
                   on conflict (table_name) do update set accepting = excluded.accepting,
                                                          reason = excluded.reason""",
                (table, accepting, reason))


def clear_fence(conn: Conn, tables) -> None:
    """Forget the fence rows of `tables` (writes accepted, as before any move)."""
    conn.execute("delete from migration.fence where table_name = any(%s)", (list(tables),))


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
        if len(pk) != 1:
            raise ValueError(f"public.{table}: a composite key cannot be tracked")
        ddl(supabase, sql.SQL("create or replace trigger {} after insert or update or delete "
                              "on {} for each row execute function migration.touch({})").format(
            sql.Identifier(touch_trigger(table)), qualified(table), sql.Literal(pk[0])))


def remove_touch(supabase: Conn, unit: Unit) -> None:
    """Stop recording written keys of the unit, and forget them (idempotent)."""
    for table in unit.tables:
        if one(supabase.execute("select to_regclass(%s) is not null as ok",
                            (f"public.{table}",)).fetchone())["ok"]:
            ddl(supabase, sql.SQL("drop trigger if exists {} on {}").format(
                sql.Identifier(touch_trigger(table)), qualified(table)))
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


def changed_on_rds(rds: Conn, units) -> dict[str, list[str]]:
    """Keys of the rows captured on RDS since the write cutover, per table."""
    found: dict[str, list[str]] = {t: [] for u in units for t in u.tables}
    for row in rds.execute("select distinct table_name, pk from migration.changelog "
                           "where unit = any(%s)", ([u.name for u in units],)):
        found[row["table_name"]].append(str(next(iter(row["pk"].values()))))
    return found


# Change capture on RDS ----------------------------------------------------------------------

def install_capture(rds: Conn, unit: Unit) -> None:
    """Capture triggers on the unit's tables (idempotent), in the caller's transaction.
    `create or replace trigger` takes a lock that readers do not wait for; writers are
    held off by the write fence while this runs."""
    rds.execute(CAPTURE_FUNCTION)
    for table in unit.tables:
        pk = primary_key(rds, table)
        args = sql.SQL(", ").join(sql.Literal(a) for a in (unit.name, *pk))
        rds.execute(sql.SQL(
            "create or replace trigger {} after insert or update or delete on {} "
            "for each row execute function migration.capture({})").format(
            sql.Identifier(trigger_name(table)), qualified(table), args))


def remove_capture(rds: Conn, unit: Unit) -> None:
    """Drop the unit's capture triggers and forget its captured changes (not in a
    transaction: each drop waits for its lock on its own, see `ddl`)."""
    for table in unit.tables:
        ddl(rds, sql.SQL("drop trigger if exists {} on {}").format(
            sql.Identifier(trigger_name(table)), qualified(table)))
    rds.execute("delete from migration.changelog where unit = %s", (unit.name,))


def replay(rds: Conn, supabase: Conn, unit: Unit) -> int:
    """Write the last captured state of every row the unit's tables changed on RDS onto
    Supabase, in the caller's Supabase transaction; the number of rows written."""
    written = 0
    for table in unit.tables:
        pk = primary_key(supabase, table)
        latest = rds.execute(
            """select distinct on (pk) pk, operation, row_data from migration.changelog
                where unit = %s and table_name = %s order by pk, id desc""",
            (unit.name, table)).fetchall()
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
        written += len(deletes) + len(upserts)
    return written


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
