"""agent-service's per-account attempt counter against a real PostgreSQL: every attempt
counted exactly once under concurrency (what lets all workers share one limit), and each
account and flow counted on its own."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import psycopg
from agent_service import repository
from psycopg.rows import DictRow, dict_row

from travel_platform import rate_limits


def _as_agent_service(url: str) -> psycopg.Connection[DictRow]:
    conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    conn.execute("set role agent_service")
    return conn


def _attempt(url: str, flow: str, account: bytes) -> tuple[int, int]:
    with _as_agent_service(url) as conn:
        return repository.count_account_attempt(conn=conn, flow=flow, account=account,
                                                window_seconds=300)


def test_concurrent_attempts_are_each_counted_once(databases):
    url, account = databases["RDS_ADMIN_URL"], rate_limits.digest(os.urandom(8).hex())
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _attempt(url, "login", account), range(24)))
    assert sorted(attempts for attempts, _ in results) == list(range(1, 25))
    assert all(1 <= retry_after <= 300 for _, retry_after in results)


def test_each_account_and_flow_has_its_own_count(databases):
    url = databases["RDS_ADMIN_URL"]
    first, second = (rate_limits.digest(os.urandom(8).hex()) for _ in range(2))
    for _ in range(3):
        _attempt(url, "login", first)
    assert _attempt(url, "login", first)[0] == 4
    assert _attempt(url, "signup", first)[0] == 1
    assert _attempt(url, "login", second)[0] == 1


def test_a_refund_takes_back_one_attempt(databases):
    url, account = databases["RDS_ADMIN_URL"], rate_limits.digest(os.urandom(8).hex())
    for _ in range(3):
        _attempt(url, "login", account)
    with _as_agent_service(url) as conn:
        repository.refund_account_attempt(conn=conn, flow="login", account=account,
                                          window_seconds=300)
    assert _attempt(url, "login", account)[0] == 3
    other = rate_limits.digest(os.urandom(8).hex())
    _attempt(url, "login", other)
    with _as_agent_service(url) as conn:   # the only attempt given back: none left
        repository.refund_account_attempt(conn=conn, flow="login", account=other,
                                          window_seconds=300)
    assert _attempt(url, "login", other)[0] == 1
