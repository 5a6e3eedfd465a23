"""Command line: `python -m migrate <command> [unit] [options]`.

Every error is one line on stderr naming the cause and what to do, with a non-zero exit:
1 a step failed, 2 bad usage or settings, 3 a gate is not met, 4 another run holds the lock.
"""
from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from migrate import commands
from migrate.settings import MigrateSettings
from migrate.state import ToolError, acquire_lock, who
from migrate.units import UNITS, UnknownUnit, unit_named

STEPS = {
    "backup": commands.backup, "start": commands.start, "verify": commands.verify_unit,
    "switch-reads": commands.switch_reads, "switch-writes": commands.switch_writes,
    "rollback": commands.rollback, "finalize": commands.finalize, "drop": commands.drop,
    "import-logins": commands.import_logins,
}


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="python -m migrate",
        description="Move the operator tables from Supabase to RDS, one unit at a time "
                    f"(units in order: {', '.join(u.name for u in UNITS)}).")
    sub = top.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("plan", help="check prerequisites; show the units and the steps")
    status = sub.add_parser("status", help="per unit: state, rows, lag, verification, routing")
    status.add_argument("--json", action="store_true", help="a JSON array, one object per unit")
    for name, fn in STEPS.items():
        step = sub.add_parser(name, help=(fn.__doc__ or "").splitlines()[0])
        step.add_argument("unit")
    shadow = sub.add_parser("shadow", help="shadow reads of a unit on RDS: on or off")
    shadow.add_argument("unit")
    shadow.add_argument("switch", choices=("on", "off"))
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
    try:
        unit = unit_named(args.unit) if getattr(args, "unit", None) else None
        if args.command == "plan":
            return commands.plan(settings)
        run = commands.open_run(settings, args.command,
                                who(args.command, unit.name if unit else None))
        try:
            if unit is None:   # the one command without a unit besides plan
                return commands.status(run, as_json=args.json)
            acquire_lock(run.rds)
            if args.command == "shadow":
                return commands.shadow(run, unit, args.switch == "on")
            return STEPS[args.command](run, unit)
        finally:
            run.rds.close()
            run.supabase.close()
    except UnknownUnit as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    except ToolError as exc:
        print(f"migrate {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"migrate {args.command}: interrupted; run the same command again to go on",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
