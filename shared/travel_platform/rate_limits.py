"""Attempts counted per key in fixed windows, in PostgreSQL: every worker and every
instance of a service sees the same count, which a counter in a worker's memory would
not. Used where the key is in the request body (an account), so the gateway, which limits
per address and per token before reading any body, cannot count it.

A table of attempts has the columns (bucket text, key bytea, window_start timestamptz,
attempts integer) with primary key (bucket, key, window_start); the key is a digest, so the
table names no one and holds no secret."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from travel_platform.errors import TooManyRequests


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


@dataclass(frozen=True)
class PasswordAttemptLimit:
    """Failed password attempts an account may have per window: `per_address` from any one
    client address, `all_addresses` from all of them together."""

    per_address: int
    all_addresses: int
    window_seconds: int


@contextmanager
def password_attempt(*, pool: Any, table: str, flow: str, account: str, address: str,
                     limit: PasswordAttemptLimit) -> Iterator[None]:
    """Around one attempt at an account's password (`account`: an e-mail, any case), from
    `address`: TooManyRequests, before anything is tried, once this account has failed
    `limit.per_address` times from this address in the window, or `limit.all_addresses`
    times from all of them. Counted before the attempt (concurrent guesses cannot all slip
    past), given back when it succeeds, so only failures count.

    Per account alone, ten guesses from anywhere locked the owner out too; per account and
    address, a guesser locks out only their own address. The ceiling across addresses stops
    a guesser with many addresses; it can still lock the account out (for the rest of the
    window), at the price of that many addresses' failures. An attempt the per-address count
    refused is not counted toward the ceiling, so one address alone can never reach it."""
    account = account.strip().lower()
    keys = {flow: digest(f"{account}\n{address}"), f"{flow}_all": digest(account)}
    limits = {flow: limit.per_address, f"{flow}_all": limit.all_addresses}
    counted: list[str] = []
    refused: int | None = None
    with pool.connection() as conn:
        for bucket, key in keys.items():
            attempts, retry_after = count_attempt(conn=conn, table=table, bucket=bucket,
                                                  key=key, window_seconds=limit.window_seconds)
            counted.append(bucket)
            if attempts > limits[bucket]:
                refused = retry_after
                break
    if refused is not None:
        raise TooManyRequests(f"too many failed attempts for this account: try again in "
                              f"{refused} s", retry_after=refused)
    yield
    with pool.connection() as conn:
        for bucket in counted:
            refund_attempt(conn=conn, table=table, bucket=bucket, key=keys[bucket],
                           window_seconds=limit.window_seconds)
