"""Attempts counted per key in fixed windows, in PostgreSQL: every worker and every
instance of a service sees the same count, which a counter in a worker's memory would
not. Used where the key is in the request body (an account), so the gateway, which limits
per address and per token before reading any body, cannot count it.

A table of attempts has the columns (bucket text, key bytea, window_start timestamptz,
attempts integer) with primary key (bucket, key, window_start); the key is a digest, so the
table names no one and holds no secret."""
from __future__ import annotations

import hashlib
from typing import Any

from psycopg import sql


def digest(value: str) -> bytes:
    """The key a value is counted under (SHA-256)."""
    return hashlib.sha256(value.encode()).digest()


def count_attempt(*, conn: Any, table: str, bucket: str, key: bytes,
                  window_seconds: int) -> tuple[int, int]:
    """Count one attempt of `key` in `bucket` in the current window: (attempts in the window,
    this one included; whole seconds until the window ends). One statement, so concurrent
    attempts are each counted once. Windows a day old are deleted on the way."""
    name = sql.Identifier(*table.split("."))
    row = conn.execute(sql.SQL(
        """with w as (select to_timestamp(floor(extract(epoch from now()) / %(w)s) * %(w)s)
                               as start)
           insert into {table} as t (bucket, key, window_start, attempts)
           select %(bucket)s, %(key)s, start, 1 from w
           on conflict (bucket, key, window_start) do update set attempts = t.attempts + 1
           returning attempts,
                     greatest(1, ceil(extract(epoch from window_start
                                              + make_interval(secs => %(w)s) - now())))::int
                       as retry_after""").format(table=name),
        {"bucket": bucket, "key": key, "w": window_seconds}).fetchone()
    attempts, retry_after = row["attempts"], row["retry_after"]  # pools hand out dict rows
    if attempts == 1:
        conn.execute(sql.SQL("delete from {table} where window_start < now() - interval '1 day'")
                     .format(table=name))
    return attempts, retry_after


def refund_attempt(*, conn: Any, table: str, bucket: str, key: bytes,
                   window_seconds: int) -> None:
    """Take back one attempt of `key` in the current window: for limits that count only
    what failed, counted before the attempt (so concurrent attempts cannot slip past the
    limit) and given back when it succeeded."""
    name = sql.Identifier(*table.split("."))
    current = sql.SQL("""bucket = %(bucket)s and key = %(key)s
        and window_start = to_timestamp(floor(extract(epoch from now()) / %(w)s) * %(w)s)""")
    values = {"bucket": bucket, "key": key, "w": window_seconds}
    conn.execute(sql.SQL("delete from {table} where {current} and attempts = 1")
                 .format(table=name, current=current), values)
    conn.execute(sql.SQL("update {table} set attempts = attempts - 1 where {current}"
                         " and attempts > 1").format(table=name, current=current), values)
