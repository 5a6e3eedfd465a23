"""`verify`: every row compared on both sides, recorded for the switches to rely on."""
from __future__ import annotations

import time

from migrate import capture, replication, verify
from migrate.gates import require_replication, require_state
from migrate.pacing import Pacer
from migrate.run import Run, rds_now
from migrate.state import ToolError
from migrate.units import Unit


def verify_unit(run: Run, unit: Unit) -> int:
    """Compare both copies; record and print the result; non-zero on any mismatch."""
    require_state(run, unit, ("replicating", "reads_switched"), "verify")
    require_replication(run, unit, "verify")
    counts, mismatches, seconds = full_verify(run, unit)
    total = sum(counts.values())
    if mismatches:
        run.state.event(unit, "verify", "failed", f"{mismatches.total} rows differ",
                        {"mismatches": mismatches[:100]})
        for m in mismatches[:20]:
            run.say(f"  {m['table']} {m['key']}: {m['problem']}")
        raise ToolError(f"verify {unit.name}: {mismatches.total} of {total:,} rows differ "
                        "(listed above); find why, then "
                        f"`rollback {unit.switches_with or unit.name}` "
                        f"and `start {unit.name}` again")
    run.state.event(unit, "verify", "done", f"{total} rows identical", {"seconds": seconds})
    run.say(f"{unit.name}: {total:,} rows identical on both sides ({seconds:.2f} s)")
    return 0


def full_verify(run: Run, unit: Unit) -> tuple[dict[str, int], verify.Mismatches, float]:
    """Compare every row of the unit, record the result; (rows, mismatches, seconds). The
    keys written on Supabase are tracked afresh from its start (see switch_writes)."""

    def settle() -> None:
        replication.wait_applied(run.rds, unit, replication.beat(run.supabase, unit), timeout=30)

    capture.reset_touched(run.supabase, unit)
    started = time.monotonic()
    counts, mismatches = verify.compare(
        run.supabase, run.rds, unit.tables, settle=settle,
        pace=Pacer.of(run.settings, run.supabase, run.rds, unit, run.say),
        chunk_rows=run.settings.migrate_verify_chunk_rows)
    seconds = time.monotonic() - started
    run.state.update(unit, verified_at=rds_now(run), verify_mismatches=mismatches.total,
                     verify_details={"rows": counts, "seconds": seconds,
                                     "mismatches": mismatches[:100]})
    return counts, mismatches, seconds
