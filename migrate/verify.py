"""Are the two copies of a unit the same? Count and XOR of 64-bit row hashes per chunk of
the primary key space, computed by both servers at once; the chunks that differ are then
compared row by row to name the exact keys. Chunks that still differ while replication is
running are re-checked once RDS has applied everything Supabase had committed, until the
answer is stable, so lag is never reported as a mismatch (and a real difference is).

Each row is hashed from its text form (`hashtextextended(t::text, 0)`), so both sessions
print values alike (UTC, ISO dates: see state.connect) and both tables must have the same
columns in the same order, which one set of migrations guarantees."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from psycopg import sql

from migrate.replication import primary_key, qualified
from migrate.state import Conn, one

CHUNKS = 256
MAX_RECHECKS = 5


def _key_expr(pk: list[str]) -> sql.Composable:
    if len(pk) == 1:
        return sql.SQL("t.{}::text").format(sql.Identifier(pk[0]))
    return sql.SQL("row({})::text").format(
        sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in pk))


def _chunk_expr(pk: list[str]) -> sql.Composable:
    return sql.SQL("(hashtextextended({}, 7) & {})").format(_key_expr(pk), sql.Literal(CHUNKS - 1))


def chunk_sums(conn: Conn, table: str, pk: list[str]) -> dict[int, tuple[int, int]]:
    """chunk -> (rows, XOR of row hashes) for the whole table, in one scan."""
    rows = conn.execute(sql.SQL(
        "select {chunk} as chunk, count(*) as n, bit_xor(hashtextextended(t::text, 0)) as h "
        "from {table} t group by 1").format(chunk=_chunk_expr(pk), table=qualified(table)))
    return {r["chunk"]: (r["n"], r["h"]) for r in rows}


def row_hashes(conn: Conn, table: str, pk: list[str],
               chunks: list[int]) -> dict[str, int]:
    """key text -> row hash, for the rows in `chunks`."""
    rows = conn.execute(sql.SQL(
        "select {key} as k, hashtextextended(t::text, 0) as h from {table} t "
        "where {chunk} = any(%s)").format(key=_key_expr(pk), table=qualified(table),
                                          chunk=_chunk_expr(pk)), (chunks,))
    return {r["k"]: r["h"] for r in rows}


def _both(fn: Callable, supabase: Conn, rds: Conn, *args):
    with ThreadPoolExecutor(2) as pool:
        left = pool.submit(fn, supabase, *args)
        right = pool.submit(fn, rds, *args)
        return left.result(), right.result()


def differing_rows(supabase: Conn, rds: Conn, table: str,
                   pk: list[str], chunks: list[int]) -> list[dict]:
    """The exact keys that differ within `chunks`."""
    ours, theirs = _both(row_hashes, supabase, rds, table, pk, chunks)
    return _differences(table, ours, theirs)


def _differences(table: str, ours: dict[str, int], theirs: dict[str, int]) -> list[dict]:
    """Each key whose row hash differs between Supabase (`ours`) and RDS, and how."""
    found = []
    for key in sorted(set(ours) | set(theirs)):
        if key not in theirs:
            found.append({"table": table, "key": key, "problem": "missing on rds"})
        elif key not in ours:
            found.append({"table": table, "key": key, "problem": "only on rds"})
        elif ours[key] != theirs[key]:
            found.append({"table": table, "key": key, "problem": "differs"})
    return found


def compare_table(supabase: Conn, rds: Conn, table: str, *,
                  settle: Callable[[], None] | None = None) -> tuple[int, list[dict]]:
    """(rows on Supabase, mismatching rows) of one table. `settle` waits until RDS has
    applied what Supabase committed; without it the first answer is final.

    With `settle`, a row counts as mismatching only if it differed in the same way in every
    round, each after RDS caught up: a real difference stays, while a row written between
    the two servers' scans (both scan at once, but not in one snapshot) differs in one
    round and not the next. Rows that start differing in a later round were written during
    the verify; the next verify (or the hold's check of written rows) sees them."""
    pk = primary_key(supabase, table)
    ours, theirs = _both(chunk_sums, supabase, rds, table, pk)
    total = sum(n for n, _ in ours.values())
    suspects = sorted(c for c in set(ours) | set(theirs) if ours.get(c) != theirs.get(c))
    previous: list[dict] | None = None
    for _ in range(MAX_RECHECKS):
        if not suspects:
            return total, []
        found = differing_rows(supabase, rds, table, pk, suspects)
        if settle is None:
            return total, found
        if previous is not None:
            found = [d for d in found if d in previous]
            if found == previous:
                return total, found
        previous = found
        if not found:
            return total, []
        settle()
        suspects = sorted({_chunk_of(supabase, pk, d["key"]) for d in found})
    return total, previous or []


def _chunk_of(conn: Conn, pk: list[str], key: str) -> int:
    return one(conn.execute(sql.SQL("select (hashtextextended(%s::text, 7) & {}) as c").format(
        sql.Literal(CHUNKS - 1)), (key,)).fetchone())["c"]


def compare(supabase: Conn, rds: Conn, tables: tuple[str, ...], *,
            settle: Callable[[], None] | None = None) -> tuple[dict[str, int], list[dict]]:
    """Rows per table and every mismatching row of `tables`."""
    counts, mismatches = {}, []
    for table in tables:
        counts[table], found = compare_table(supabase, rds, table, settle=settle)
        mismatches.extend(found)
    return counts, mismatches


def _hashes_of(conn: Conn, table: str, pk: list[str], keys: list[str]) -> dict[str, int]:
    pk_type = one(conn.execute(
        """select format_type(atttypid, atttypmod) as t from pg_attribute
            where attrelid = %s::regclass and attname = %s""",
        (f"public.{table}", pk[0])).fetchone())["t"]
    rows = conn.execute(sql.SQL(
        "select {key} as k, hashtextextended(t::text, 0) as h from {table} t "
        "where t.{col} = any(%s::text[]::{type}[])").format(
        key=_key_expr(pk), table=qualified(table), col=sql.Identifier(pk[0]),
        type=sql.SQL(pk_type)), (keys,))
    return {r["k"]: r["h"] for r in rows}


def compare_changed(supabase: Conn, rds: Conn,
                    changed: dict[str, list[str]]) -> list[dict]:
    """The quick check for a moment when neither side takes writes, after a full verify
    found both equal: the rows of the keys written since (`changed`: table -> primary key
    values as text), by index. Any difference since the full verify is a row written since
    (an insert, an update or a delete of one of these keys), so no table is counted or
    scanned: its cost follows the writes since the full verify, not the size of the
    tables."""
    found: list[dict] = []
    for table, keys in changed.items():
        if not keys:
            continue
        pk = primary_key(supabase, table)
        left, right = _both(_hashes_of, supabase, rds, table, pk, keys)
        found.extend(_differences(table, left, right))
    return found
