"""The move of `packages` with 1,000,000 rows, measured in one run on a stack of its own:

1. initial copy: `pg_dump --data-only | psql` of the package table into an empty RDS table,
   then `python -m migrate start` of the unit (rows/s of each; goal: the tool >= 1.0x);
2. `verify` time vs the tool's copy time (goal <= 0.5x);
3. `switch-writes` while a paced writer changes packages through the gateway at a target
   rate: the longest write hold the tool reports (goal <= 1 s), and the API's p50/p99
   latency over the whole run and in the second around the cutover;
4. `rollback` under the same writer: the hold of its last replay round (the rounds before
   it replay what RDS took meanwhile while writes flow).

The writer calls from 127.0.0.1, which the stack exempts from the per-address rate limits
(GATEWAY_RATE_LIMIT_EXEMPT, as the test suite does): the benchmark measures the move, not
the limits. If any of its own requests failed (a 429 included), it prints no figure: it
says so and exits 1.

    make bench-migration
    .venv/bin/python -m bench.migration_move [--rows 1000000] [--writes-per-second 300]
    .venv/bin/python -m bench.migration_move --quick   # 2,000 rows, 20 writes/s, 4 s

It starts its own stack (state `.dev-bench-migration`, ports +2000; `--state` and
`--port-offset` choose others, as the test of its quick mode does) and stops it after.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

# Run as a file (`python bench/<name>.py`), import as `python -m bench.<name>` does: from the
# repository's root, not from bench/ (what Python put first on the path for a script).
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import psycopg
import requests

from bench.stackenv import demo_operator_token, expect_ok, refuse
from devstack.api import PG_BIN, Layout, fresh_stack
from migrate.commands import apply_rds_schema, open_run
from migrate.settings import MigrateSettings

REPO = Path(__file__).resolve().parent.parent
PACKAGES = "multi_city_hotel_packages"
# --quick: what make test runs; the whole move in well under a minute once the stack is up.
QUICK = {"rows": 2000, "writes_per_second": 20.0, "seconds": 4.0}


# The peak resident memory (KiB) of each `migrate` command run so far, by its arguments.
PEAK_KIB: dict[str, int] = {}


def migrate(env: dict, *args: str) -> str:
    """Run a step that must succeed; its output. Its peak memory goes to PEAK_KIB (from the
    child's own rusage: the tool's memory must not grow with the tables)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "migrate", *args], cwd=REPO,
                                 env={**env, "PATH": os.environ["PATH"]}, stdout=out,
                                 stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)   # reaps it: its own rusage, not ours
        PEAK_KIB[" ".join(args)] = max(usage.ru_maxrss, PEAK_KIB.get(" ".join(args), 0))
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        refuse(f"migrate {' '.join(args)} failed: {' '.join(stderr.split())[-300:]}")
    return stdout


def sql(url: str, statement: str, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


class PacedWriter:
    """PATCHes the operator's packages at `rate` requests/s from several threads; keeps
    (start time, seconds, status) of each request."""

    def __init__(self, env: dict, token: str, package_ids: list[str], rate: float,
                 threads: int = 16):
        self.url = env["GATEWAY_URL"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids = package_ids
        self.interval = threads / rate
        self.samples: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, number: int) -> None:
        session = requests.Session()
        next_at = time.monotonic() + number * self.interval / len(self._threads)
        i = number
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at += self.interval
            started = time.monotonic()
            try:
                answer = session.patch(
                    f"{self.url}/api/operators/me/packages/{self.ids[i % len(self.ids)]}",
                    headers=self.headers, json={"title": f"Bench {uuid.uuid4().hex[:8]}"},
                    timeout=10)
                code = answer.status_code
            except requests.RequestException:
                code = 0
            self.samples.append((started, time.monotonic() - started, code))
            i += len(self._threads)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _found(pattern: str, output: str, command: str) -> re.Match[str]:
    """The figure a migrate command printed; refuse if its report no longer says it."""
    match = re.search(pattern, output)
    if match is None:
        refuse(f"migrate {command} printed no {pattern!r}: its report changed, update "
               "bench/migration_move.py")
    return match


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: the JSON of every figure; exit 1, with no figure, if any of
    the benchmark's own writes failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writes-per-second", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--state", type=Path, default=REPO / ".dev-bench-migration",
                        help="the stack's state folder (emptied first)")
    parser.add_argument("--port-offset", type=int, default=2000,
                        help="the stack's port offset (beside a `make up` stack at 0)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 rows, 20 writes/s for 4 s (what make test runs)")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)

    for name in ("GATEWAY_RATE_LIMIT_EXEMPT", "AUTH_RATE_LIMIT_EXEMPT"):
        os.environ.setdefault(name, "127.0.0.1/32")
    with fresh_stack(Layout(state=args.state.resolve(), port_offset=args.port_offset)) as env:
        return run(env, args)


def run(env: dict, args) -> int:
    supabase, rds = env["SUPABASE_DB_ADMIN_URL"], env["RDS_ADMIN_URL"]
    operator_id = sql(supabase, "select id from users where contact_email = %s",
                      (env["DEMO_OPERATOR_EMAIL"],))[0][0]
    print(f"loading {args.rows:,} packages into Supabase ...", flush=True)
    sql(supabase, f"insert into {PACKAGES} (operator_id, title, description, price_per_traveller)"
                  " select %s, 'Bench package ' || g, repeat('x', 120), 1000 + g %% 500"
                  " from generate_series(1, %s) g", (operator_id, args.rows))
    sql(supabase, "vacuum analyze")
    rows = sql(supabase, f"select count(*) from {PACKAGES}")[0][0]
    for unit in ("addons", "exclusions", "packages"):
        migrate(env, "backup", unit)

    # 1. pg_dump | psql of the package table into RDS, into the schema the tool's `start`
    # would apply, then emptied again (truncated: a fresh table for the tool, as for psql).
    bench_run = open_run(MigrateSettings(supabase_db_admin_url=supabase, rds_admin_url=rds),
                         "bench", "bench migration_move")
    apply_rds_schema(bench_run)
    bench_run.rds.close()
    bench_run.supabase.close()
    started = time.monotonic()
    dump = subprocess.Popen([str(PG_BIN / "pg_dump"), "--data-only", f"--table=public.{PACKAGES}",
                             f"--dbname={supabase}"], stdout=subprocess.PIPE)
    load = subprocess.run([str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={rds}",
                           "-c", "set session_replication_role = replica", "-f", "-"],
                          stdin=dump.stdout, capture_output=True, text=True)
    dump.wait()
    dump_seconds = time.monotonic() - started
    if load.returncode != 0:
        raise SystemExit(f"pg_dump | psql failed: {load.stderr[-500:]}")
    sql(rds, f"truncate {PACKAGES} cascade")

    # 2. The tool's copy, then verify.
    migrate(env, "start", "addons")
    migrate(env, "start", "exclusions")
    migrate(env, "start", "packages")
    copy_seconds, phases = sql(rds, "select (details->>'seconds')::float, details->'phases' "
                                    "from migration.events where unit = 'packages' and "
                                    "command = 'start' and outcome = 'done' "
                                    "order by id desc limit 1")[0]
    started = time.monotonic()
    migrate(env, "verify", "packages")
    verify_seconds = time.monotonic() - started
    for unit in ("addons", "exclusions"):
        migrate(env, "verify", unit)

    # 3. The cutover under a paced writer.
    token = demo_operator_token(env)
    own = [str(r[0]) for r in sql(supabase, f"select id from {PACKAGES} where operator_id = %s "
                                            "and title not like 'Bench package %%'",
                                  (operator_id,))]
    migrate(env, "shadow", "packages", "on")
    expect_ok(requests.get(f"{env['GATEWAY_URL']}/api/packages", timeout=10,
                           headers={"Authorization": f"Bearer {token}"}),
              "GET /api/packages through the gateway")
    migrate(env, "switch-reads", "packages")
    migrate(env, "verify", "packages")
    with PacedWriter(env, token, own, args.writes_per_second) as writer:
        time.sleep(args.seconds / 2)
        cutover_at = time.monotonic()
        out = migrate(env, "switch-writes", "packages")
        cutover_done = time.monotonic()
        time.sleep(args.seconds / 2)
        back = migrate(env, "rollback", "packages")
        time.sleep(1)
    samples = writer.samples
    latencies = [s[1] * 1000 for s in samples]
    around = [s[1] * 1000 for s in samples if cutover_at - 0.5 <= s[0] <= cutover_done + 0.5]
    failed = sum(1 for s in samples if s[2] != 200)
    if failed:
        statuses = sorted({s[2] for s in samples if s[2] != 200})
        refuse(f"{failed} of {len(samples)} of the benchmark's own writes failed (statuses "
               f"{statuses})")
    held = _found(r"writes were held (\d+) ms \(caught up after (\d+) ms, verified after "
                  r"(\d+) ms\)", out, "switch-writes")
    hold_ms = float(held.group(1))
    replayed = _found(r"replayed (\d+) rows onto Supabase \((\d+) of them while writes "
                      r"were held (\d+) ms\)", back, "rollback")
    achieved = len(samples) / (max(s[0] for s in samples) - min(s[0] for s in samples))
    result = {
        "rows": rows,
        "pg_dump_psql_rows_per_s": rows / dump_seconds, "tool_copy_rows_per_s": rows / copy_seconds,
        "copy_ratio_tool_vs_dump": dump_seconds / copy_seconds,
        "verify_seconds": verify_seconds, "copy_seconds": copy_seconds, "copy_phases": phases,
        "pg_dump_psql_seconds": dump_seconds,
        "verify_vs_copy": verify_seconds / copy_seconds,
        "verify_peak_mib": PEAK_KIB["verify packages"] / 1024,
        "hold_ms": hold_ms, "hold_caught_up_ms": float(held.group(2)),
        "hold_verified_ms": float(held.group(3)), "rollback_rows_replayed": int(replayed.group(1)),
        "rollback_rows_in_hold": int(replayed.group(2)),
        "rollback_hold_ms": float(replayed.group(3)), "writes_per_s": achieved,
        "write_requests": len(samples),
        "failed_writes": failed,
        "api_p50_ms": percentile(latencies, 50), "api_p99_ms": percentile(latencies, 99),
        "cutover_p99_ms": percentile(around, 99) if around else None,
        "cutover_max_ms": max(around) if around else None,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
