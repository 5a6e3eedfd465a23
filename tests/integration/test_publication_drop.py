"""Dropping a unit's publication under writers. PostgreSQL 15 builds a table's publication
list for every INSERT/UPDATE/DELETE (to check replica identity) in two catalog lookups: the
table's publications, then each publication by its id. A DROP PUBLICATION committed between
the two fails that write with "cache lookup failed for publication N", an internal error a
user sees as a failed save. A clean-clone CI run met it once, in an API write during
`rollback`. The tool must never fail a write it does not mean to refuse."""
from __future__ import annotations

import threading
import time

import psycopg
from psycopg.rows import dict_row

from migrate import replication
from migrate.units import unit_named


def test_dropping_a_publication_fails_no_concurrent_write(databases):
    url = databases["SUPABASE_DB_ADMIN_URL"]
    unit = unit_named("rehearsal")
    failures: list[str] = []
    writes = [0]
    stop = threading.Event()
    with psycopg.connect(url, autocommit=True) as conn:
        key = conn.execute("insert into migration_rehearsal (owner, note) "
                           "values (gen_random_uuid(), 'race') returning id").fetchone()[0]

    def write() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    conn.execute("update migration_rehearsal set version = version + 1 "
                                 "where id = %s", (key,))
                    writes[0] += 1
                except psycopg.Error as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            deadline = time.monotonic() + 20
            rounds = 0
            while time.monotonic() < deadline and not failures:
                replication.ensure_publication(conn, unit)
                replication.drop_publication(conn, unit)
                rounds += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    print(f"{rounds} publications dropped under {writes[0]} writes")
    assert failures == [], (rounds, failures[:3])
    assert rounds > 50 and writes[0] > 1000
