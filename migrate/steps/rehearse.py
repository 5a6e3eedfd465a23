"""`rehearse`: every step of the move, rollback included, on a scratch copy made from the
newest backups, timed; the real databases untouched (the design note: staging first).

Each step runs as the command an operator runs (`python -m migrate <step> <unit>`, its
guardian included), pointed at the scratch pair (migrate/rehearsal.py) by its environment,
so what is timed is what the move will run. What a rehearsal cannot run for real it says
so in its table: `switch-writes` takes no RDS snapshot (an RDS snapshot is of the whole
instance, the real databases included), and `finalize operators` is left out (it detaches
the real operators' pool's UserMigration trigger and reads Supabase Auth; the logins'
settings are not passed to the steps at all).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from migrate import rehearsal
from migrate.rehearsal import Pair
from migrate.replication import primary_key, qualified
from migrate.run import LOGINS_UNIT
from migrate.settings import MigrateSettings
from migrate.state import Busy, Conn, connect, one
from migrate.units import UNITS, Unit, switch_group, unit_named

_LOCK_KEY = 7_201_128   # one rehearsal at a time (another than the move's run lock)
# Settings a step of the rehearsal must not see: they reach real things outside the pair
# (the operators' logins, the RDS instance's snapshots, the rehearsal's own servers).
WITHHELD = ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "AWS_COGNITO_OPERATOR_POOL_ID",
            "MIGRATE_RDS_INSTANCE_ID", "MIGRATE_REHEARSAL_SUPABASE_URL",
            "MIGRATE_REHEARSAL_RDS_URL")


@dataclass
class Timing:
    """One row of the table."""

    step: str
    unit: str = ""
    seconds: float = 0.0
    held: float | None = None
    note: str = ""


@dataclass
class Rehearsal:
    """A rehearsal under way: its pair, what it ran, and how to say so."""

    pair: Pair
    timings: list[Timing] = field(default_factory=list)
    max_hold: float = 0.0
    number: int = 0
    total: int = 0

    def say(self, message: str) -> None:
        print(f"rehearse: {message}", flush=True)


class StepFailed(Exception):
    """A step of the rehearsal exited non-zero."""

    def __init__(self, step: str, unit: str, code: int, last: str):
        super().__init__(f"{step} {unit} failed (exit {code}): {last}")
        self.step, self.unit, self.code = step, unit, code


def selected(names: list[str]) -> tuple[Unit, ...]:
    """The units asked for (all by default), each with the units it switches with, in order."""
    asked = [unit_named(n) for n in names] or list(UNITS)
    carriers = {unit_named(u.switches_with) if u.switches_with else u for u in asked}
    return tuple(u for u in UNITS if any(u in switch_group(c) for c in carriers))


def plan_of(units: tuple[Unit, ...]) -> list[tuple[str, Unit | None]]:
    """The steps, in order: for each carrier, its group started and verified, shadowed,
    switched, rolled back, moved again and finalized."""
    steps: list[tuple[str, Unit | None]] = [("plan", None)]
    for carrier in (u for u in units if not u.switches_with):
        group = switch_group(carrier)
        for round_ in (1, 2):
            steps += [(step, m) for m in group for step in ("start", "verify")]
            steps += [("shadow on", carrier), ("shadow reads", carrier),
                      ("switch-reads", carrier), ("switch-writes", carrier)]
            if round_ == 1:
                steps.append(("rollback", carrier))
        steps.append(("finalize", carrier))
    return steps


def rehearse(settings: MigrateSettings, names: list[str], *, keep: bool) -> int:
    """Restore the newest backups into a scratch pair, run every step on it, time each."""
    units = selected(names)
    pair = rehearsal.new_pair(settings)
    supabase_server = connect(pair.supabase_server, side="supabase", purpose="migrate rehearse")
    rds_server = connect(pair.rds_server, side="rds", purpose="migrate rehearse")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not one(rds_server.execute("select pg_try_advisory_lock(%s) as got",
                                      (_LOCK_KEY,)).fetchone())["got"]:
            raise Busy("another rehearsal is running on these servers; wait for it to end")
        run = Rehearsal(pair, max_hold=settings.migrate_max_hold_seconds)
        for line in _remove(settings, pair, supabase_server, rds_server,
                            set(rehearsal.scratch_databases(supabase_server).values())
                            | set(rehearsal.scratch_databases(rds_server).values())):
            run.say(f"removed what an earlier rehearsal left: {line}")
        with connect(settings.rds_admin_url.get_secret_value(), side="rds",
                     purpose="migrate rehearse") as real_rds:
            found = rehearsal.latest_backups(real_rds, UNITS, required=units)
        run.say(f"units {', '.join(u.name for u in units)}; scratch databases "
                f"{pair.name('supabase')} (Supabase's server) and {pair.name('rds')} (RDS's)")
        failed: StepFailed | None = None
        try:
            _prepare(run, settings, found, supabase_server, rds_server)
            steps = plan_of(units)
            run.total = len(steps)
            for step, unit in steps:
                _one(run, step, unit)
        except StepFailed as exc:
            failed = exc
        except KeyboardInterrupt:
            run.say("interrupted; removing the scratch databases")
            _end(run, settings, supabase_server, rds_server, keep=False)
            print("migrate rehearse: interrupted; the scratch databases are removed and the "
                  "real ones were not touched", file=sys.stderr)
            return 130
        except BaseException:
            _end(run, settings, supabase_server, rds_server, keep=keep)
            raise
        _table(run)
        _end(run, settings, supabase_server, rds_server, keep=keep)
        if failed is not None:
            print(f"migrate rehearse: {failed}; the real databases were not touched; fix "
                  f"that, then rehearse again (`--keep` keeps the scratch databases to look "
                  f"into; `status` with them: see docs/migration-runbook.md, Rehearse)",
                  file=sys.stderr)
            return 1
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        supabase_server.close()
        rds_server.close()


def _interrupt(signum, frame) -> None:
    """SIGTERM cleans up as Ctrl-C does."""
    raise KeyboardInterrupt


def _prepare(run: Rehearsal, settings: MigrateSettings, found: dict[str, dict],
             supabase_server: Conn, rds_server: Conn) -> None:
    started = time.monotonic()
    rehearsal.create(run.pair, supabase_server, rds_server)
    rehearsal.build_schemas(run.pair)
    run.say(f"schemas made; restoring the newest backups of {', '.join(found)}")
    rows = rehearsal.restore(run.pair, found, {u.name: u for u in UNITS},
                             pg_bin=settings.migrate_pg_bin, say=run.say)
    run.timings.append(Timing("restore", f"{len(found)} units", time.monotonic() - started,
                              note=f"{rows:,} rows"))
    run.say(f"restored {rows:,} rows in {time.monotonic() - started:.1f} s")


def _one(run: Rehearsal, step: str, unit: Unit | None) -> None:
    """Run one step on the pair, timed; StepFailed if it fails."""
    run.number += 1
    name = unit.name if unit else ""
    if step == "finalize" and unit is not None and unit.name == LOGINS_UNIT:
        run.say(f"[{run.number}/{run.total}] finalize {name}: not rehearsed (it detaches the "
                "real operators' pool's trigger)")
        run.timings.append(Timing(step, name, note="not rehearsed: acts on the real "
                                                   "operators' pool"))
        return
    run.say(f"[{run.number}/{run.total}] {step} {name}".rstrip())
    started = time.monotonic()
    if step == "shadow reads":
        assert unit is not None
        note = _shadow_reads(run.pair, unit)
    else:
        args = ["shadow", name, "on"] if step == "shadow on" else [step, *([name] if name else [])]
        if step == "switch-writes":
            args.append("--without-snapshot")
        try:
            _command(run, args)
        except StepFailed as exc:
            run.timings.append(Timing(step, name, time.monotonic() - started,
                                      note=f"FAILED (exit {exc.code})"))
            raise
        note = "no RDS snapshot" if step == "switch-writes" else ""
    seconds = time.monotonic() - started
    held = _held(run.pair, step) if step in ("switch-writes", "rollback") else None
    run.timings.append(Timing(step, name, seconds, held, note))
    run.say(f"{step} {name}".rstrip() + f": {seconds:.2f} s"
            + (f", writes held {held * 1000:.0f} ms" if held is not None else ""))


def _command(run: Rehearsal, args: list[str]) -> None:
    """`python -m migrate <args>` on the pair, its output shown indented as it comes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "migrate", *args], cwd=rehearsal.REPO, env=_environment(run.pair),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        preexec_fn=_die_with_parent)
    last = ""
    try:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if line:
                last = line
                print(f"    {line}", flush=True)
        code = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if code != 0:
        raise StepFailed(args[0], " ".join(args[1:]).replace(" --without-snapshot", ""),
                         code, last)


def _environment(pair: Pair) -> dict[str, str]:
    """The environment of a step: the pair instead of the real databases."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in WITHHELD}
    env.update(SUPABASE_DB_ADMIN_URL=pair.url("supabase"), RDS_ADMIN_URL=pair.url("rds"),
               MIGRATE_PUBLISHER_URL=pair.publisher_url,
               MIGRATE_REPLICATION_PREFIX=pair.prefix, MIGRATE_BACKUP_DIR=str(pair.folder))
    return env


def _die_with_parent() -> None:
    """A step dies with the rehearsal, however the rehearsal dies (Linux: PR_SET_PDEATHSIG),
    so that a killed rehearsal leaves no step running on into its databases."""
    name = ctypes.util.find_library("c")
    if name and sys.platform.startswith("linux"):
        ctypes.CDLL(name).prctl(1, signal.SIGKILL)


def _shadow_reads(pair: Pair, carrier: Unit) -> str:
    """What operator-service's shadow reads do, for every row: each table of the group read
    on both sides, compared, and the outcome counted as theirs are
    (`migration.record_shadow`), so `switch-reads` finds reads compared."""
    group = [m.name for m in switch_group(carrier)]
    differing = []
    rows = 0
    with connect(pair.url("supabase"), side="supabase", purpose="migrate rehearse") as ours, \
            connect(pair.url("rds"), side="rds", purpose="migrate rehearse") as theirs:
        for member in switch_group(carrier):
            for table in member.tables:
                query = sql.SQL("select * from {} order by {}").format(
                    qualified(table), sql.SQL(", ").join(
                        sql.Identifier(c) for c in primary_key(ours, table)))
                alike, count = _same_rows(ours, theirs, query)
                rows += count
                if not alike:
                    differing.append(table)
        outcome = "mismatch" if differing else "match"
        theirs.execute("select migration.record_shadow(%s, %s, %s::jsonb)",
                       (group, outcome, psycopg.types.json.Json(
                           {"differing": differing} if differing else None)))
    return f"{rows:,} rows compared" + (f"; differ: {', '.join(differing)}" if differing else "")


def _same_rows(ours: Conn, theirs: Conn, query: sql.Composed) -> tuple[bool, int]:
    """Whether a query gives the same rows on both sides, streamed in key order (server-side
    cursors: memory stays flat whatever the table's size); the rows read on one side."""
    count = 0
    with ours.transaction(), theirs.transaction():
        served, shadowed = ours.cursor(name="rehearse_served"), theirs.cursor(
            name="rehearse_shadowed")
        served.itersize = shadowed.itersize = 10_000
        served.execute(query)
        shadowed.execute(query)
        for a, b in itertools.zip_longest(served, shadowed):
            if a != b:
                return False, count
            count += 1
    return True, count


def _held(pair: Pair, step: str) -> float | None:
    """How long the last `step` held writes, as it recorded it."""
    with connect(pair.url("rds"), side="rds", purpose="migrate rehearse") as conn:
        row = conn.execute(
            """select (details ->> 'hold_seconds')::float as held from migration.events
                where command = %s and details ? 'hold_seconds' order by id desc limit 1""",
            (step,)).fetchone()
    return row["held"] if row else None


def _table(run: Rehearsal) -> None:
    """Each step's wall time and the holds, and the total."""
    print(f"\n{'step':<15} {'unit':<11} {'wall time':>10} {'writes held':>12}  note")
    for t in run.timings:
        held = f"{t.held * 1000:.0f} ms" if t.held is not None else ""
        seconds = f"{t.seconds:.2f} s" if t.seconds else "-"
        print(f"{t.step:<15} {t.unit:<11} {seconds:>10} {held:>12}  {t.note}".rstrip())
    total = sum(t.seconds for t in run.timings)
    print(f"{'total':<15} {'':<11} {total:>8.2f} s", flush=True)
    cutovers = [t for t in run.timings if t.step == "switch-writes" and t.held is not None]
    if cutovers:
        longest = max(cutovers, key=lambda t: t.held or 0.0)
        run.say(f"the longest cutover held writes {(longest.held or 0.0) * 1000:.0f} ms "
                f"(switch-writes {longest.unit}); MIGRATE_MAX_HOLD_SECONDS is "
                f"{run.max_hold:g} s")


def _end(run: Rehearsal, settings: MigrateSettings, supabase_server: Conn,
         rds_server: Conn, *, keep: bool) -> None:
    if keep:
        run.say(f"kept the scratch databases {run.pair.name('supabase')} (on Supabase's server) "
                f"and {run.pair.name('rds')} (on RDS's), their replication objects named "
                f"{run.pair.prefix}<unit>; the next `python -m migrate rehearse` removes them")
        return
    for line in _remove(settings, run.pair, supabase_server, rds_server, {run.pair.stamp}):
        run.say(f"removed {line}")


def _remove(settings: MigrateSettings, pair: Pair, supabase_server: Conn, rds_server: Conn,
            stamps: set[str]) -> list[str]:
    return rehearsal.remove(stamps, supabase_server=supabase_server, rds_server=rds_server,
                            supabase_url=pair.supabase_server, rds_url=pair.rds_server,
                            folder=settings.migrate_backup_dir.resolve())

