"""`verify` on tables of a few hundred thousand rows, on one real PostgreSQL server holding
both databases: differences planted at both ends of the key and in its middle are each
found and named, with a two-column key; a table that differs everywhere is counted
without the tool's memory growing with it; and a table whose key is a random uuid is read
about once on each side, however many chunks it is cut into. Replication is not needed
here (the settle step is a no-op): tests/e2e/test_migration_verify.py runs `verify` against
a real subscription."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest
from psycopg.rows import dict_row

from migrate import verify
from tests.helpers import REPO

ROWS = 300_000


def _run(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def twin_tables(databases):
    """`verify_probe` with the same ROWS rows in both databases, keyed by (part, n); `detail`
    is json, a type PostgreSQL cannot hash (its rows are hashed through its text)."""
    urls = databases["SUPABASE_DB_ADMIN_URL"], databases["RDS_ADMIN_URL"]
    for url in urls:
        _run(url, "drop table if exists public.verify_probe",
             "create table public.verify_probe (part int, n int, note text not null, "
             "detail json, primary key (part, n))",
             f"insert into public.verify_probe select g / 1000, g % 1000, md5(g::text), "
             f"json_build_object('g', g) from generate_series(0, {ROWS - 1}) g",
             "vacuum analyze public.verify_probe")
    yield urls
    for url in urls:
        _run(url, "drop table if exists public.verify_probe")


def test_differences_at_both_ends_and_in_the_middle_are_each_named(twin_tables):
    supabase_url, rds_url = twin_tables
    _run(rds_url,
         "delete from public.verify_probe where (part, n) = (0, 0)",          # the first key
         "update public.verify_probe set note = 'changed' where (part, n) = (150, 500)",
         "update public.verify_probe set note = 'changed' where (part, n) = (299, 999)",
         """update public.verify_probe set detail = '{"g": 0}' where (part, n) = (75, 1)""",
         "insert into public.verify_probe values (300, 7, 'extra')")          # past the last
    settles = []
    with psycopg.connect(supabase_url, autocommit=True, row_factory=dict_row) as supabase, \
            psycopg.connect(rds_url, autocommit=True, row_factory=dict_row) as rds:
        counts, found = verify.compare(supabase, rds, ("verify_probe",),
                                       settle=lambda: settles.append(1), chunk_rows=20_000)
    assert counts == {"verify_probe": ROWS}
    assert sorted((d["key"], d["problem"]) for d in found) == [
        ("(0,0)", "missing on rds"), ("(150,500)", "differs"), ("(299,999)", "differs"),
        ("(300,7)", "only on rds"), ("(75,1)", "differs")]
    assert found.total == 5
    assert settles, "differing chunks are re-checked after RDS caught up"


PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import psycopg
    from psycopg.rows import dict_row
    from migrate import verify

    def peak_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    supabase, rds = (psycopg.connect(url, autocommit=True, row_factory=dict_row)
                     for url in sys.argv[1:3])
    supabase.execute("select 1"); rds.execute("select 1")
    before = peak_kib()
    counts, found = verify.compare(supabase, rds, ("verify_probe",), settle=lambda: None)
    print(json.dumps({"before": before, "after": peak_kib(), "rows": counts["verify_probe"],
                      "total": getattr(found, "total", len(found)), "named": len(found)}))
""")


def test_a_table_that_differs_everywhere_is_counted_in_bounded_memory(twin_tables):
    supabase_url, rds_url = twin_tables
    _run(rds_url, "update public.verify_probe set note = note || '!'")
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, supabase_url, rds_url],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout)
    grown_mib = (measured["after"] - measured["before"]) / 1024
    print(f"verify of {ROWS:,} differing rows: peak memory grew {grown_mib:.1f} MiB")
    assert measured["rows"] == ROWS and measured["total"] == ROWS
    assert measured["named"] <= verify.MAX_NAMED
    assert grown_mib < 30, measured


SCATTERED_ROWS = 100_000


def _heap_blocks(url: str, table: str) -> tuple[int, int]:
    """(heap blocks read so far, from the cache or not; the table's size in blocks)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0), "
            "pg_relation_size(relid) / current_setting('block_size')::int "
            "from pg_statio_user_tables where relname = %s", (table,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_random_key_is_read_about_once_on_each_side_however_many_chunks(databases):
    # With a random key, a range of it lies all over the heap: hashed one query per range,
    # each chunk read nearly every block of the table again (10 chunks, 10 reads of it).
    urls = databases["SUPABASE_DB_ADMIN_URL"], databases["RDS_ADMIN_URL"]
    for url in urls:   # the same rows on both sides, stored in an order unrelated to the key
        _run(url, "drop table if exists public.verify_scatter",
             "create table public.verify_scatter (id uuid primary key, note text not null)",
             "insert into public.verify_scatter select md5(g::text)::uuid, md5((-g)::text) "
             f"from generate_series(1, {SCATTERED_ROWS}) g",
             "vacuum analyze public.verify_scatter")
    try:
        before = [_heap_blocks(url, "verify_scatter")[0] for url in urls]
        with psycopg.connect(urls[0], autocommit=True, row_factory=dict_row) as supabase, \
                psycopg.connect(urls[1], autocommit=True, row_factory=dict_row) as rds:
            counts, found = verify.compare(supabase, rds, ("verify_scatter",),
                                           settle=lambda: None, chunk_rows=10_000)
            for conn in (supabase, rds):
                conn.execute("select pg_stat_force_next_flush()")
        assert counts == {"verify_scatter": SCATTERED_ROWS} and not found
        deadline, read = time.monotonic() + 10, [0, 0]
        while time.monotonic() < deadline:   # each backend's counts arrive once it is idle
            now = [_heap_blocks(url, "verify_scatter") for url in urls]
            read = [n - b for (n, _), b in zip(now, before, strict=True)]
            if all(r > 0 for r in read):
                break
            time.sleep(0.2)
        for side, (blocks_read, (_, size)) in enumerate(zip(read, now, strict=True)):
            assert 0 < blocks_read <= 1.5 * size, (
                f"{('supabase', 'rds')[side]} read {blocks_read} heap blocks of a "
                f"{size}-block table")
    finally:
        for url in urls:
            _run(url, "drop table if exists public.verify_scatter")
