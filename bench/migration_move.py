"""The move of `packages` with 1,000,000 rows, measured in one run on a stack of its own:

1. initial copy: `pg_dump --data-only | psql` of the package table into an empty RDS table,
   then `python -m migrate start` of the unit (rows/s of each; goal: the tool >= 1.0x);
2. `verify` time (the median of VERIFY_RUNS) vs the tool's copy time (goal <= 0.5x);
3. `switch-writes` while a paced writer changes packages through the gateway at a target
   rate: the longest write hold the tool reports (goal <= 1 s), and the API's p50/p99
   latency over the whole run and in the second around the cutover;
4. `rollback` under the same writer: the hold of its last replay round (the rounds before
   it replay what RDS took meanwhile while writes flow).

The writer calls from 127.0.0.1, which the stack exempts from the per-address rate limits
(GATEWAY_RATE_LIMIT_EXEMPT, as the test suite does): the benchmark measures the move, not
the limits. If any of its own requests failed (a 429 included), it prints no figure: it
says so and exits 1. So it does when the writer fell short of the rate asked for (below
95% of it), first in a 3 s probe before the move, then over the cutover: the line says
what it reached, how busy the machine was and each part's CPU per write, so that a run
on a shared machine is told to ask for less, never printed as if at the rate asked.

    make bench-migration [BENCH_ARGS="--writes-per-second 120"]
    .venv/bin/python -m bench.migration_move [--rows 1000000] [--writes-per-second 300]
    .venv/bin/python -m bench.migration_move --quick   # 2,000 rows, 20 writes/s, 4 s
    .venv/bin/python -m bench.migration_move --rows 10000000 --large-every 10  # issue 24

`--large-every N` gives every Nth row a description of LARGE_CHARS random characters,
which PostgreSQL cannot compress and so stores out of line (TOAST), as long descriptions
are in production: the copy, the dump and the verify then read those too.

It starts its own stack (state `.dev-bench-migration`, ports +2000; `--state` and
`--port-offset` choose others, as the test of its quick mode does) and stops it after.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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

from bench.cpu import CpuMeter, CpuUse
from bench.stackenv import demo_agent_token, demo_operator_token, expect_ok, refuse
from devstack.api import PG_BIN, Layout, fresh_stack
from migrate.run import open_run
from migrate.settings import MigrateSettings
from migrate.steps.start import apply_rds_schema

REPO = Path(__file__).resolve().parent.parent
PACKAGES = "multi_city_hotel_packages"
# The writer calls the gateway from here (GATEWAY_URL is a loopback address).
WRITER_ADDRESS = "127.0.0.1/32"
# --quick: what make test runs; the whole move in well under a minute once the stack is up.
QUICK = {"rows": 2000, "writes_per_second": 20.0, "seconds": 4.0}
FULL = {"rows": 1_000_000, "writes_per_second": 300.0, "seconds": 12.0}
# The writer's packages: the operator's own ones and this many of the loaded rows, each
# written in turn (about one write per package every 3 s at 300 writes/s).
SPREAD = 1000
# Before the move, the writer runs this long at the rate asked: a machine that cannot give
# it is told at once, not after the copy.
PROBE_SECONDS = 3.0
# A rate counts as reached from this share of it on (the threads' start and stop).
REACHED_SHARE = 0.95
# --large-every: the size of a large description (the table allows 5,000), and how many
# distinct ones the rows take in turn (random base64: pglz finds nothing to compress).
LARGE_CHARS = 3_200
LARGE_DISTINCT = 4_096
# `verify packages` runs this many times in a row; its figure is their median.
VERIFY_RUNS = 3
# Disk a row takes, measured on a 200,000-row sample: its heap and indexes on one server,
# and a large description's out-of-line copy. Each server holds the table (RDS twice over
# while pg_dump's copy is truncated and the tool's is made), and WAL besides.
ROW_BYTES, LARGE_ROW_BYTES, COPIES = 330, 3_400, 3.5
# How often the publisher's retained WAL is sampled while the move runs.
WAL_SAMPLE_SECONDS = 1.0


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


def disk_needed(rows: int, large_every: int) -> int:
    """Bytes the run needs free where the stack keeps its data (an estimate, see ROW_BYTES)."""
    large = rows // large_every if large_every else 0
    return int((rows * ROW_BYTES + large * LARGE_ROW_BYTES) * COPIES)


def require_disk(folder: Path, rows: int, large_every: int) -> None:
    """Refuse at once, saying what the run needs, rather than fill the disk an hour in."""
    folder.mkdir(parents=True, exist_ok=True)
    needed, free = disk_needed(rows, large_every), shutil.disk_usage(folder).free
    if free < needed:
        refuse(f"{rows:,} rows need about {needed / 2**30:.1f} GiB free under {folder}, "
               f"and {free / 2**30:.1f} GiB are: free some, or ask for fewer rows")


class RetainedWal:
    """The most WAL the publisher's slots held at once while the move ran (what the
    ReplicationSlotRetainedWal alert watches on a real one: monitoring/alerts.yml)."""

    def __init__(self, url: str):
        self.url, self.peak, self._done = url, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._done.wait(WAL_SAMPLE_SECONDS):
                (held,) = conn.execute(
                    "select coalesce(sum(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)),"
                    " 0) from pg_replication_slots").fetchall()[0]
                self.peak = max(self.peak, int(held))

    def start(self) -> RetainedWal:
        self._thread.start()
        return self

    def stop(self) -> int:
        """The peak, in bytes."""
        self._done.set()
        self._thread.join()
        return self.peak


def sql(url: str, statement: str, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


class PacedWriter:
    """PATCHes packages at `rate` requests/s from several threads, each over a kept-alive
    connection of its own, each request a package of its own in turn (`package_ids`
    spread the writes: concurrent PATCHes of one package queue behind its row lock, so a
    few hot rows would measure that queue, not the move); keeps (start time, seconds,
    status) of each request.

    A thread sends its next request when it is due; one that fell behind sends at once
    until it has caught up. So the rate is reached exactly when the stack answers
    `threads` requests at a time within `threads / rate` seconds each; `reached()` says."""

    def __init__(self, env: dict, token: str, package_ids: list[str], rate: float,
                 threads: int = 16):
        self.url = env["GATEWAY_URL"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids = package_ids
        self.rate = rate
        self.interval = threads / rate
        self.samples: list[tuple[float, float, int]] = []
        self.started = self.stopped = 0.0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, number: int) -> None:
        session = requests.Session()
        next_at = self.started + number * self.interval / len(self._threads)
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

    def reached(self) -> float:
        """Requests per second sent, from the first to the end of the run."""
        return len(self.samples) / max(self.stopped - self.started, 1e-9)

    def __enter__(self):
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.stopped = time.monotonic()
        for thread in self._threads:
            thread.join()


def require_rate(writer: PacedWriter, cpu: CpuUse, what: str) -> None:
    """Refuse, printing no figure, when the writer fell short of the rate it asked for:
    a hold measured at a lower rate is not the figure asked for. The line says what was
    reached and where the CPU went, and what to ask for instead."""
    reached = writer.reached()
    if reached >= REACHED_SHARE * writer.rate:
        return
    wall = writer.stopped - writer.started
    refuse(f"{what}, the writer reached {reached:.0f} of the {writer.rate:g} writes/s asked "
           f"({len(writer.samples)} writes in {wall:.1f} s): "
           f"{cpu.summary(len(writer.samples), wall)}; ask for what this machine reaches "
           f"(--writes-per-second {max(int(reached * 0.9), 1)}, or BENCH_ARGS=... with make "
           "bench-migration) or run it on a machine of its own")


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
    # Unset options take the sizes of the mode (FULL, or QUICK with --quick).
    parser.add_argument("--rows", type=int, help=f"default {FULL['rows']:,}")
    parser.add_argument("--writes-per-second", type=float,
                        help=f"default {FULL['writes_per_second']:g}")
    parser.add_argument("--seconds", type=float, help=f"default {FULL['seconds']:g}")
    parser.add_argument("--state", type=Path, default=REPO / ".dev-bench-migration",
                        help="the stack's state folder (emptied first)")
    parser.add_argument("--port-offset", type=int, default=2000,
                        help="the stack's port offset (beside a `make up` stack at 0)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 rows, 20 writes/s for 4 s (what make test runs)")
    parser.add_argument("--large-every", type=int, default=0, metavar="N",
                        help=f"every Nth row gets an incompressible description of "
                             f"{LARGE_CHARS:,} characters (0, the default: none)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    # The stack is the benchmark's own: it exempts the writer's address whatever the
    # caller's shell says (an empty GATEWAY_RATE_LIMIT_EXEMPT from a sourced .env included).
    for name in ("GATEWAY_RATE_LIMIT_EXEMPT", "AUTH_RATE_LIMIT_EXEMPT"):
        os.environ[name] = WRITER_ADDRESS
    layout = Layout(state=args.state.resolve(), port_offset=args.port_offset)
    require_disk(layout.state, args.rows, args.large_every)
    with fresh_stack(layout) as env:
        return run(env, args, layout)


def require_succeeded(writer: PacedWriter, what: str) -> None:
    """Refuse, printing no figure, when any of the writer's requests failed (a 429
    included): the figures would describe refusals."""
    failed = [s[2] for s in writer.samples if s[2] != 200]
    if failed:
        refuse(f"{what}, {len(failed)} of {len(writer.samples)} of the benchmark's own writes "
               f"failed (statuses {sorted(set(failed))})")


def load_packages(url: str, operator_id, rows: int, large_every: int) -> None:
    """`rows` packages of the demo operator; with `large_every`, every Nth one's description
    is one of LARGE_DISTINCT random strings of LARGE_CHARS characters (a temporary table of
    them, joined: one random string per row would take minutes more to make)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create temporary table large (i int primary key, d text not null)")
        if large_every:
            # 3 random bytes make 4 base64 characters; md5 gives 16 bytes per call.
            conn.execute(
                "insert into large select i, left(translate(encode(decode(string_agg("
                "md5(random()::text), '' order by j), 'hex'), 'base64'), E'\\n', ''), %s) "
                "from generate_series(0, %s) i, generate_series(1, %s) j group by i",
                (LARGE_CHARS, LARGE_DISTINCT - 1, LARGE_CHARS * 3 // 4 // 16 + 1))
        conn.execute(
            f"insert into {PACKAGES} (operator_id, title, description, price_per_traveller)"
            " select %s, 'Bench package ' || g, coalesce(large.d, repeat('x', 120)),"
            " 1000 + g %% 500 from generate_series(1, %s) g left join large"
            " on %s > 0 and g %% greatest(%s, 1) = 0 and large.i = g / greatest(%s, 1) %% %s",
            (operator_id, rows, large_every, large_every, large_every, LARGE_DISTINCT))


def run(env: dict, args, layout: Layout) -> int:
    supabase, rds = env["SUPABASE_DB_ADMIN_URL"], env["RDS_ADMIN_URL"]
    operator_id = sql(supabase, "select id from users where contact_email = %s",
                      (env["DEMO_OPERATOR_EMAIL"],))[0][0]
    print(f"loading {args.rows:,} packages into Supabase ...", flush=True)
    load_packages(supabase, operator_id, args.rows, args.large_every)
    sql(supabase, "vacuum analyze")
    rows = sql(supabase, f"select count(*) from {PACKAGES}")[0][0]
    for unit in ("addons", "exclusions", "packages"):
        migrate(env, "backup", unit)
    token = demo_operator_token(env)
    own = [str(r[0]) for r in sql(supabase, f"(select id from {PACKAGES} where operator_id = %s "
                                            "and title not like 'Bench package %%') union all "
                                            f"(select id from {PACKAGES} where operator_id = %s "
                                            "and title like 'Bench package %%' order by id "
                                            "limit %s)", (operator_id, operator_id, SPREAD))]
    meter = CpuMeter(layout)
    meter.start()
    with PacedWriter(env, token, own, args.writes_per_second) as probe:
        time.sleep(PROBE_SECONDS)
    require_succeeded(probe, "before the move")
    require_rate(probe, meter.stop(), "before the move")

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
    wal = RetainedWal(supabase).start()
    migrate(env, "start", "addons")
    migrate(env, "start", "exclusions")
    migrate(env, "start", "packages")
    copy_seconds, phases = sql(rds, "select (details->>'seconds')::float, details->'phases' "
                                    "from migration.events where unit = 'packages' and "
                                    "command = 'start' and outcome = 'done' "
                                    "order by id desc limit 1")[0]
    # verify is repeated (it changes nothing): its median is less at the mercy of a
    # shared machine's moment than one run; the copy, minutes at 10,000,000 rows, is not.
    # Both are the tool's own record of its work (the command's start-up, seconds on a
    # loaded machine, is reported apart).
    verify_runs, command_runs = [], []
    for _ in range(VERIFY_RUNS):
        started = time.monotonic()
        migrate(env, "verify", "packages")
        command_runs.append(time.monotonic() - started)
        verify_runs.append(sql(rds, "select (details->>'seconds')::float from migration.events "
                                    "where unit = 'packages' and command = 'verify' and "
                                    "outcome = 'done' order by id desc limit 1")[0][0])
    verify_seconds = statistics.median(verify_runs)
    for unit in ("addons", "exclusions"):
        migrate(env, "verify", unit)

    # 3. The cutover under a paced writer.
    migrate(env, "shadow", "packages", "on")
    # The catalogue as an agent reads it (published packages, on both sides while shadowed):
    # the operator's own view holds every loaded row, and counting 1,000,000 of them twice
    # outlasted the gateway's 5 s on a busy machine.
    expect_ok(requests.get(f"{env['GATEWAY_URL']}/api/packages", timeout=10,
                           headers={"Authorization": f"Bearer {demo_agent_token(env)}"}),
              "GET /api/packages through the gateway")
    migrate(env, "switch-reads", "packages")
    migrate(env, "verify", "packages")
    meter.start()
    with PacedWriter(env, token, own, args.writes_per_second) as writer:
        time.sleep(args.seconds / 2)
        cutover_at = time.monotonic()
        out = migrate(env, "switch-writes", "packages")
        cutover_done = time.monotonic()
        time.sleep(args.seconds / 2)
        back = migrate(env, "rollback", "packages")
        time.sleep(1)
    cpu = meter.stop()
    require_succeeded(writer, "during the move")
    require_rate(writer, cpu, "during the move")
    samples = writer.samples
    latencies = [s[1] * 1000 for s in samples]
    around = [s[1] * 1000 for s in samples if cutover_at - 0.5 <= s[0] <= cutover_done + 0.5]
    _found(r"writes were held \d+ ms", out, "switch-writes")
    # The hold's phases, as the tool recorded them (seconds from the moment writes wait).
    hold = sql(rds, "select details from migration.events where unit = 'packages' and "
                    "command = 'switch-writes' and outcome = 'done' order by id desc limit 1")[0][0]
    replayed = _found(r"replayed (\d+) rows onto Supabase \((\d+) of them while writes "
                      r"were held (\d+) ms\)", back, "rollback")
    wal_peak = wal.stop()
    result = {
        "rows": rows,
        "pg_dump_psql_rows_per_s": rows / dump_seconds, "tool_copy_rows_per_s": rows / copy_seconds,
        "copy_ratio_tool_vs_dump": dump_seconds / copy_seconds,
        "verify_seconds": verify_seconds, "verify_runs_seconds": verify_runs,
        "verify_command_seconds": command_runs,
        "copy_seconds": copy_seconds, "copy_phases": phases,
        "pg_dump_psql_seconds": dump_seconds,
        "verify_vs_copy": verify_seconds / copy_seconds,
        "verify_peak_mib": PEAK_KIB["verify packages"] / 1024,
        # Issue 24's bound (512 MB) holds for every command of the tool, not only verify.
        "tool_peak_mib": max(PEAK_KIB.values()) / 1024,
        "large_every": args.large_every,
        # From the copy to the end: the slots' WAL, at its most.
        "wal_retained_peak_mib": wal_peak / 2**20,
        "hold_ms": hold["hold_seconds"] * 1000,
        "hold_phases_ms": {"fence_closed": hold["fence_closed_after"] * 1000,
                           "caught_up": hold["caught_up_after"] * 1000,
                           "verified": hold["verified_after"] * 1000,
                           "flipped": hold["hold_seconds"] * 1000},
        "rows_checked_in_hold": hold["rows_checked_in_hold"],
        "rollback_rows_replayed": int(replayed.group(1)),
        "rollback_rows_in_hold": int(replayed.group(2)),
        "rollback_hold_ms": float(replayed.group(3)),
        "writes_per_s_asked": writer.rate, "writes_per_s": writer.reached(),
        "write_requests": len(samples),
        "failed_writes": 0,
        "api_p50_ms": percentile(latencies, 50), "api_p99_ms": percentile(latencies, 99),
        "cutover_p99_ms": percentile(around, 99) if around else None,
        "cutover_max_ms": max(around) if around else None,
        # Where the CPU went while the writer ran (copy and verify excluded).
        "machine_busy": cpu.machine_busy, "stack_cores": cpu.stack_cores(
            writer.stopped - writer.started),
        "cpu_ms_per_write": cpu.per_request_ms(len(samples)),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
