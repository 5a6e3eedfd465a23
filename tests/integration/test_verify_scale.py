"""`verify` on tables of a few hundred thousand rows, on one real PostgreSQL server holding
both databases: differences planted at both ends of the key and in its middle are each
found and named, with a two-column key; and a table that differs everywhere is counted
without the tool's memory growing with it. Replication is not needed here (the settle step
is a no-op): tests/e2e/test_migration_verify.py runs `verify` against a real subscription."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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
    """`verify_probe` with the same ROWS rows in both databases, keyed by (part, n)."""
    urls = databases["SUPABASE_DB_ADMIN_URL"], databases["RDS_ADMIN_URL"]
    for url in urls:
        _run(url, "drop table if exists public.verify_probe",
             "create table public.verify_probe (part int, n int, note text not null, "
             "primary key (part, n))",
             f"insert into public.verify_probe select g / 1000, g % 1000, md5(g::text) "
             f"from generate_series(0, {ROWS - 1}) g",
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
         "insert into public.verify_probe values (300, 7, 'extra')")          # past the last
    settles = []
    with psycopg.connect(supabase_url, autocommit=True, row_factory=dict_row) as supabase, \
            psycopg.connect(rds_url, autocommit=True, row_factory=dict_row) as rds:
        counts, found = verify.compare(supabase, rds, ("verify_probe",),
                                       settle=lambda: settles.append(1), chunk_rows=20_000)
    assert counts == {"verify_probe": ROWS}
    assert sorted((d["key"], d["problem"]) for d in found) == [
        ("(0,0)", "missing on rds"), ("(150,500)", "differs"), ("(299,999)", "differs"),
        ("(300,7)", "only on rds")]
    assert found.total == 4
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
