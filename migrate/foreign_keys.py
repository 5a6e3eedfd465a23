"""Foreign keys across the two databases.

A foreign key is checked where its table takes writes, against that database's copy of the
table it references. While the two tables take writes on different databases that copy is
frozen (or being emptied and copied again), and the key refuses every row whose parent was
written since: after `rollback operators` with packages still on RDS, every package of an
operator who signed up afterwards (review R4). So on each side, a key from a table written
there to a table written on the other side is dropped before the writes part, recorded in
its table's unit (`suspended_fks`, with the side), and re-created and validated once both
ends take writes on the same side again. operator-service checks what the key would have
(an operator's profile exists before their packages are written: service._ensure_profile)."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from migrate.fences import ddl
from migrate.replication import qualified
from migrate.state import WRITES_ON_RDS, Conn, ToolError
from migrate.units import UNITS, Unit

if TYPE_CHECKING:
    from migrate.run import Run


def _writes_side(run: Run, *, moving: tuple[Unit, ...] = (), to: str = "") -> dict[str, str]:
    """Where each unit table takes writes ("rds" or "supabase"), now, or once the units
    `moving` have gone `to` that side."""
    sides = {table: "rds" if row["state"] in WRITES_ON_RDS else "supabase"
             for row in run.state.rows() for table in row["tables"]}
    for member in moving:
        sides.update(dict.fromkeys(member.tables, to))
    return sides


def _side_conn(run: Run, side: str) -> Conn:
    return run.rds if side == "rds" else run.supabase


def _record_suspended(run: Run, fk: dict, side: str) -> dict:
    """Remember a foreign key in its table's unit before it is dropped on `side`, so that
    nothing forgets it even if the drop or the run fails."""
    owner = next(u for u in UNITS if fk["table"] in u.tables)
    fk = {**fk, "side": side}
    kept = [k for k in run.state.row(owner)["suspended_fks"]
            if (k["name"], k.get("side", "rds")) != (fk["name"], side)]
    run.state.update(owner, suspended_fks=[*kept, fk])
    return fk


def suspend_into(run: Run, group: tuple[Unit, ...], *, to: str) -> list[dict]:
    """Before the writes of `group` go `to` a side (or stay there), drop on each side every
    foreign key from a table written there to a table that will be written on the other
    side, recording each first (see above). For `rollback`: the keys from the tables staying
    on RDS into the group's (RDS keeps only a frozen copy of them), and the keys from the
    group's tables, back on Supabase, into tables still written on RDS. For `start`: a key
    on RDS into the unit's tables, whose copy there is about to be emptied (one left by a
    rollback of an older version of this tool)."""
    writes = _writes_side(run, moving=group, to=to)
    suspended = []
    for side in ("rds", "supabase"):
        conn = _side_conn(run, side)
        here = tuple(table for table, where in writes.items() if where == side)
        for fk in foreign_keys_out(conn, here):
            if writes.get(fk["references"], side) != side:
                suspended.append(_record_suspended(run, fk, side))
                drop_foreign_key(conn, fk)
    return suspended


def say_suspended(run: Run, suspended: list[dict]) -> None:
    for fk in suspended:
        run.say(f"  foreign key {fk['name']} ({fk['table']} -> {fk['references']}) suspended "
                f"on {fk['side']} until both take writes there")


def follow_writes(step: Callable[[Run, Unit], int]) -> Callable[[Run, Unit], int]:
    """However a step that moves writes ends (done, refused, failed, interrupted), restore
    the suspended foreign keys whose two ends now take writes on the same side: those a
    finished rollback brings together again, and those a failed step had suspended for a
    move that did not happen (or a run killed before it could restore them)."""

    @functools.wraps(step)
    def step_then_restore(run: Run, unit: Unit) -> int:
        try:
            done = step(run, unit)
        except BaseException:
            try:
                say_restored(run, restore(run))
            except (ToolError, psycopg.Error) as exc:
                run.say(f"  suspended foreign keys not restored ({str(exc).splitlines()[0]}); "
                        "any later `start`, `switch-writes` or `rollback` restores them")
            raise
        say_restored(run, restore(run))
        return done

    return step_then_restore


def say_restored(run: Run, restored: list[str]) -> None:
    for name in restored:
        run.say(f"  foreign key {name} restored and every row checked")


def restore(run: Run) -> list[str]:
    """Re-create the suspended foreign keys whose table and referenced table both take
    writes on the side they were suspended on (RDS for those recorded without a side)."""
    writes = _writes_side(run)
    restored = []
    for row in run.state.rows():
        keep = []
        for fk in row["suspended_fks"]:
            side = fk.get("side", "rds")
            if writes.get(fk["table"]) == side and writes.get(fk["references"]) == side:
                _restore_foreign_key(run, fk, side)
                restored.append(fk["name"])
            else:
                keep.append(fk)
        if len(keep) != len(row["suspended_fks"]):
            run.rds.execute("update migration.units set suspended_fks = %s where unit = %s",
                            (json.dumps(keep), row["unit"]))
    return restored


def _restore_foreign_key(run: Run, fk: dict, side: str) -> None:
    try:
        restore_foreign_key(_side_conn(run, side), fk)
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ToolError(f"foreign key {fk['name']} cannot be restored on {side}: rows of "
                        f"{fk['table']} name {fk['references']} rows that are not there "
                        f"({str(exc).splitlines()[-1].strip()}); fix or delete those rows "
                        "there: any later `start`, `switch-writes` or `rollback` restores it"
                        ) from None


# The keys themselves, by catalog and DDL ----------------------------------------------------

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
