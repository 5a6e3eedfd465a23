"""Command line: `python -m migrate <command> [unit] [options]`.

Every error is one line on stderr naming the cause and what to do, with a non-zero exit:
1 a step failed, 2 bad usage or settings, 3 a gate is not met, 4 another run holds the lock.
"""
from __future__ import annotations

import argparse
import sys
import time

import psycopg
from pydantic import ValidationError

from migrate import archive, guardian, replication
from migrate.reconcile import reconcile
from migrate.run import Run, open_run
from migrate.settings import MigrateSettings
from migrate.state import Busy, ToolError, acquire_lock, who
from migrate.steps import (
    backup,
    finalize,
    plan,
    rehearse,
    rollback,
    shadow,
    start,
    status,
    switch,
    verify,
)
from migrate.units import UNITS, UnknownUnit, unit_named

STEPS = {
    "backup": backup.backup, "start": start.start, "verify": verify.verify_unit,
    "switch-reads": switch.switch_reads, "switch-writes": switch.switch_writes,
    "rollback": rollback.rollback, "finalize": finalize.finalize, "drop": finalize.drop,
    "import-logins": finalize.import_logins,
}
# The steps that hold writes: a guardian process watches each (migrate/guardian.py).
GUARDED = ("switch-writes", "rollback")
# How long the guardian of a dead run keeps trying to reach both servers (one restarting).
GUARDIAN_PATIENCE_SECONDS = 300


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="python -m migrate",
        description="Move the operator tables from Supabase to RDS, one unit at a time "
                    f"(units in order: {', '.join(u.name for u in UNITS)}).")
    sub = top.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("plan", help="check prerequisites; show the units and the steps")
    listing = sub.add_parser("status", help="per unit: state, rows, lag, verification, routing")
    listing.add_argument("--json", action="store_true", help="a JSON array, one object per unit")
    fix = sub.add_parser("reconcile", help="undo what a dead run left (every command does "
                                           "this first)")
    fix.add_argument("--when-stdin-closes", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("archive", help="once every unit is finalized: a checked dump of what "
                                   "remains on Supabase (auth included) to S3, kept 30 days")
    for name, fn in STEPS.items():
        step = sub.add_parser(name, help=(fn.__doc__ or "").splitlines()[0])
        step.add_argument("unit")
        if name == "switch-writes":
            step.add_argument("--without-snapshot", action="store_true",
                              help="no RDS snapshot before the cutover (one is taken and "
                                   "waited for otherwise: MIGRATE_RDS_INSTANCE_ID)")
    drill = sub.add_parser("rehearse", help="every step, rollback included, on a scratch copy "
                                            "of the newest backups, timed; the real databases "
                                            "untouched")
    drill.add_argument("--unit", action="append", default=[], metavar="UNIT",
                       help="rehearse this unit (and those it switches with); repeatable; "
                            "all by default")
    drill.add_argument("--keep", action="store_true",
                       help="keep the scratch databases afterwards (the next rehearse "
                            "removes them)")
    shadows = sub.add_parser("shadow", help="shadow reads of a unit on RDS: on or off")
    shadows.add_argument("unit")
    shadows.add_argument("switch", choices=("on", "off"))
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code says how it went."""
    args = parser().parse_args(argv)
    try:
        settings = MigrateSettings()
    except ValidationError as exc:
        missing = ", ".join(sorted({str(e["loc"][0]).upper() for e in exc.errors()}))
        print(f"migrate: bad or missing settings ({missing}); set them, e.g. "
              "`set -a; . .dev/stack.env; set +a`", file=sys.stderr)
        return 2
    replication.use_prefix(settings.migrate_replication_prefix)
    try:
        if args.command == "rehearse":
            return rehearse.rehearse(settings, args.unit, keep=args.keep)
        unit = unit_named(args.unit) if getattr(args, "unit", None) else None
        if args.command == "plan":
            return plan.plan(settings)
        if args.command == "reconcile" and args.when_stdin_closes:
            return _guard(settings)
        run = open_run(settings, args.command,
                       who(args.command, unit.name if unit else None))
        run.without_snapshot = getattr(args, "without_snapshot", False)
        try:
            if args.command == "status":
                return status.status(run, as_json=args.json)
            acquire_lock(run.rds)
            for line in reconcile(run):
                run.say(f"reconciled: {line}")
            if args.command == "reconcile":
                return 0
            if args.command == "archive":
                return archive.archive(run)
            assert unit is not None
            if args.command == "shadow":
                return shadow.shadow(run, unit, args.switch == "on")
            return _step(run, args.command, unit)
        finally:
            run.rds.close()
            run.supabase.close()
    except UnknownUnit as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    except ToolError as exc:
        print(f"migrate {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"migrate {args.command}: lost a database connection ({first}); what this run "
              "left is undone by its guardian or the next command: see `python -m migrate "
              "status`", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"migrate {args.command}: interrupted; run the same command again to go on",
              file=sys.stderr)
        return 130


def _step(run: Run, command: str, unit) -> int:
    """Run one step; a switch runs with its guardian, told `done` unless the switch dies
    (an error it could not handle: a lost connection, an interrupt)."""
    if command not in GUARDED:
        return STEPS[command](run, unit)
    watcher = guardian.start(run.settings.migrate_backup_dir)
    try:
        code = STEPS[command](run, unit)
    except ToolError:
        watcher.done()
        raise
    watcher.done()
    return code


def _guard(settings: MigrateSettings) -> int:
    """The guardian's side (migrate/guardian.py): wait for the switch to end; if it died,
    reconcile as soon as both servers answer and the dead run's lock is free."""
    if not guardian.wait_for_parent(sys.stdin.buffer):
        return 0
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    deadline = time.monotonic() + GUARDIAN_PATIENCE_SECONDS
    while True:
        try:
            run = open_run(settings, "reconcile", who("reconcile", None))
            try:
                acquire_lock(run.rds, wait_seconds=30)
                done = reconcile(run)
            finally:
                run.rds.close()
                run.supabase.close()
            print(f"{stamp} the switch died; reconciled: {'; '.join(done) or 'nothing left'}",
                  flush=True)
            return 0
        except (ToolError, psycopg.Error) as exc:
            if time.monotonic() > deadline or isinstance(exc, Busy):
                print(f"{stamp} the switch died; could not reconcile ({exc}); the next "
                      "command will", flush=True)
                return 1
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
