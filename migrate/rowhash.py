"""What the full verify computes alike on both servers, written once: a table's primary key
(how to name its columns, bound a range of it, place a key among chunk boundaries, print
it) and the 64-bit hash of a row, by which verify.py sums chunks of rows and merges rows.

The row hash is `hash_record_extended` over the table's columns: each value is hashed by its
type's own hash function (the one hash indexes and hash partitioning use, which PostgreSQL
keeps stable across versions), so no text is made of the row. Making that text was most of
verify's CPU: one scan of 1,000,000 package rows took 3.3-4.0 s with
`hashtextextended(t::text, 0)` and 0.8-1.3 s with this (docs/benchmarks.md, 3d). It also
no longer depends on the session's TimeZone or DateStyle. A column whose type has no hash
function (json, point, xml) is hashed through its text instead.

What it cannot tell apart: values their type calls equal (numeric 1.0 and 1.00, float 0 and
-0, char(3) 'EU' and 'EU '), which a copy by logical replication never changes anyway; and
two different rows with the same hash, probability 2^-64 per pair. Chunks combine row hashes
with XOR and never with a sum: the row hash is 31 x (the columns before) + (this column),
so a sum over a chunk could not see values swapped between two of its rows; XOR does.
"""
from __future__ import annotations

import psycopg
from psycopg import sql

from migrate.replication import primary_key, qualified
from migrate.state import Conn

Range = tuple[tuple | None, tuple | None]   # (after this key, up to and with this key)


def mismatch(ours: int | None, theirs: int | None) -> str | None:
    """What is wrong with a row whose hash is `ours` on Supabase and `theirs` on RDS (None:
    no such row on that side), in the words verify and the cutover's check both print; None
    when the row is the same on both."""
    if theirs is None:
        return "missing on rds"
    if ours is None:
        return "only on rds"
    return "differs" if ours != theirs else None


def _hashable(conn: Conn, types: list[str]) -> bool:
    """Whether PostgreSQL can hash a row of these types (asking with NULLs of them: the
    type's hash function is looked up whatever the value)."""
    probe = sql.SQL("select hash_record_extended(row({}), 0)").format(
        sql.SQL(", ").join(sql.SQL("null::{}").format(sql.SQL(t)) for t in types))
    try:
        with conn.transaction():   # a savepoint when inside the hold's transaction
            conn.execute(probe)
    except psycopg.errors.UndefinedFunction:
        return False
    return True


class Key:
    """A table's primary key and its row hash: how to name the key's columns, bound a
    range of it, place a key among chunk boundaries, and print it."""

    def __init__(self, conn: Conn, table: str) -> None:
        self.table = table
        self.columns = primary_key(conn, table)
        every = [(r["name"], r["type"]) for r in conn.execute(
            """select attname as name, format_type(atttypid, atttypmod) as type
                 from pg_attribute where attrelid = %s::regclass and attnum > 0
                  and not attisdropped order by attnum""", (f"public.{table}",)).fetchall()]
        types = dict(every)
        self.types = [types[c] for c in self.columns]
        self.cols = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c))
                                       for c in self.columns)
        self.row = sql.SQL("({})").format(self.cols)
        self.values = sql.SQL("({})").format(sql.SQL(", ").join(
            sql.SQL("%s::{}").format(sql.SQL(t)) for t in self.types))
        # One value to compare with chunk boundaries (a row value for several columns).
        self.value = (sql.SQL("t.{}").format(sql.Identifier(self.columns[0]))
                      if len(self.columns) == 1 else sql.SQL("row({})").format(self.cols))
        # What the result names: the key's text (a row value's text for several columns).
        self.text = (sql.SQL("t.{}::text").format(sql.Identifier(self.columns[0]))
                     if len(self.columns) == 1 else sql.SQL("row({})::text").format(self.cols))
        whole = _hashable(conn, [t for _, t in every])
        self.hash = sql.SQL("hash_record_extended(row({}), 0)").format(sql.SQL(", ").join(
            sql.SQL("t.{}").format(sql.Identifier(name))
            if whole or _hashable(conn, [type_]) else
            sql.SQL("t.{}::text").format(sql.Identifier(name)) for name, type_ in every))

    def where(self, span: Range) -> tuple[sql.Composable, list]:
        lo, hi = span
        parts: list[sql.Composable] = []
        params: list = []
        if lo is not None:
            parts.append(sql.SQL("{} > {}").format(self.row, self.values))
            params.extend(lo)
        if hi is not None:
            parts.append(sql.SQL("{} <= {}").format(self.row, self.values))
            params.extend(hi)
        return (sql.SQL(" and ").join(parts) if parts else sql.SQL("true")), params

    def boundaries(self, bounds: list[tuple]) -> tuple[sql.Composable, list]:
        """The chunk boundaries as one sorted array, for `width_bucket`."""
        if len(self.columns) == 1:
            return sql.SQL("%s::{}[]").format(sql.SQL(self.types[0])), [[b[0] for b in bounds]]
        names = [sql.Identifier(f"c{i}") for i in range(len(self.columns))]
        return sql.SQL(
            "(select array_agg(row({names}) order by o) from unnest({arrays}) "
            "with ordinality u({names}, o))").format(
            names=sql.SQL(", ").join(names),
            arrays=sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(t))
                                      for t in self.types)), [
            [b[i] for b in bounds] for i in range(len(self.columns))]


def storage(conn: Conn, table: str) -> tuple[int, int]:
    """(the table's file on this side, its size in blocks): the file changes when the table
    is rewritten (VACUUM FULL, CLUSTER, pg_repack), which moves every row to other blocks."""
    row = conn.execute(
        "select pg_relation_filenode(%s::regclass) as file, "
        "pg_relation_size(%s::regclass) / current_setting('block_size')::int as n",
        (f"public.{table}",) * 2).fetchone()
    return row["file"], row["n"]  # type: ignore[index]


def chunk_sums(conn: Conn, key: Key, bounds: list[tuple],
               block_range: tuple[int, int | None]) -> dict[int, tuple[int, int]]:
    """Rows and XOR of row hashes per chunk (0: up to and with bounds[0]; i: after
    bounds[i-1], up to and with bounds[i]) of the rows stored in this side's blocks
    [first, last) (last None: to the end), read in one sequential scan of those blocks.

    `width_bucket` puts a key equal to a boundary in the chunk after it, the ranges put it
    in the one before: one is taken off then. The planner expects as many chunks as rows,
    so it would sort every row to group them; with sorting off it hashes them into the few
    chunks there are."""
    first, last = block_range
    where = sql.SQL("t.ctid >= %s::tid") + (sql.SQL(" and t.ctid < %s::tid")
                                             if last is not None else sql.SQL(""))
    params: list = [f"({first},0)"] + ([f"({last},0)"] if last is not None else [])
    chunk: sql.Composable
    head: sql.Composable
    source: sql.Composable
    if bounds:
        array, array_params = key.boundaries(bounds)
        chunk = sql.SQL("width_bucket({k}, b.a) - coalesce((b.a[width_bucket({k}, b.a)] = {k})"
                        "::int, 0)").format(k=key.value)
        head = sql.SQL("with b as materialized (select {} as a) ").format(array)
        source = sql.SQL("{} t, b").format(qualified(key.table))
        params = array_params + params
    else:
        chunk, head, source = sql.SQL("0"), sql.SQL(""), sql.SQL("{} t").format(
            qualified(key.table))
    query = head + sql.SQL(
        "select chunk, count(*) as n, bit_xor(h) as h from (select {chunk} as chunk, "
        "{hash} as h from {source} where {where}) s group by chunk").format(
        chunk=chunk, hash=key.hash, source=source, where=where)
    with conn.transaction():
        conn.execute("set local enable_sort = off")
        return {r["chunk"]: (r["n"], r["h"]) for r in conn.execute(query, params)}
