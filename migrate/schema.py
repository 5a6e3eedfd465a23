"""The shape of each moving table on both sides, compared before the copy and before every
switch.

RDS gets the repository's migrations (`start` applies supabase/migrations there), not
production's schema: a column added in Studio, a check constraint changed by hand, or a
migration applied to one side only makes the two tables differ. Logical replication then
stops at the first row it cannot apply (an apply worker failing forever), or `verify`
reports mismatches that are the schema's, not the data's; after a switch, writes the old
side accepted are refused, or the other way round. So each table's shape is reduced to what
decides which rows it holds and accepts, and the tool refuses to copy or switch while the
two differ, naming every difference. The event triggers `start` installs (fences.refuse_ddl)
keep the shapes equal from then on.

The shape: each column's name, type, nullability, default and generation expression, and
each primary key, unique, check and exclusion constraint by definition. Left out on
purpose: foreign keys (the tool suspends and restores them itself, per side), indexes that
enforce nothing, triggers (each side has the tool's own) and privileges and policies, which
decide who may write, not what a row may hold."""
from __future__ import annotations

import hashlib
import json

from migrate.state import Conn


def shape(conn: Conn, table: str) -> dict | None:
    """public.<table>'s shape on this side, or None where the table does not exist."""
    exists = conn.execute("select to_regclass(%s) as oid", (f"public.{table}",)).fetchone()
    if exists is None or exists["oid"] is None:
        return None
    columns = {r["name"]: r["shape"] for r in conn.execute(
        """select a.attname as name,
                  format_type(a.atttypid, a.atttypmod)
                  || case when a.attnotnull then ' not null' else '' end
                  || case when a.attgenerated = 's' then ' generated as ' else ' default ' end
                  || coalesce(pg_get_expr(d.adbin, d.adrelid), 'none')
                  || case when a.attidentity <> '' then ' identity' else '' end as shape
             from pg_attribute a
             left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped""",
        (f"public.{table}",)).fetchall()}
    constraints = sorted(r["def"] for r in conn.execute(
        """select pg_get_constraintdef(oid) as def from pg_constraint
            where conrelid = %s::regclass and contype in ('p', 'u', 'c', 'x')""",
        (f"public.{table}",)).fetchall())
    return {"columns": columns, "constraints": constraints}


def fingerprint(found: dict | None) -> str:
    """A short digest of a shape, to compare at a glance (`plan`)."""
    if found is None:
        return "absent"
    return hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()[:12]


def differences(supabase: Conn, rds: Conn, tables) -> list[str]:
    """Each way the tables differ between the two sides, one line each (empty: the same)."""
    found: list[str] = []
    for table in tables:
        ours, theirs = shape(supabase, table), shape(rds, table)
        if ours is None or theirs is None:
            missing = "Supabase" if ours is None else "RDS"
            found.append(f"public.{table}: does not exist on {missing}")
            continue
        for name in sorted(ours["columns"].keys() | theirs["columns"].keys()):
            left, right = ours["columns"].get(name), theirs["columns"].get(name)
            if left != right:
                found.append(f"public.{table}.{name}: {left or 'absent'} on Supabase, "
                             f"{right or 'absent'} on RDS")
        for constraint in sorted(set(ours["constraints"]) ^ set(theirs["constraints"])):
            side = "Supabase" if constraint in ours["constraints"] else "RDS"
            found.append(f"public.{table}: `{constraint}` only on {side}")
    return found
