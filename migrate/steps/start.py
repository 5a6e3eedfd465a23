"""`start`: the RDS schema, the fences, the initial copy, then logical replication."""
from __future__ import annotations

import time
from pathlib import Path

from psycopg import sql

from migrate import capture, fences, foreign_keys, initial_copy, replication, slots
from migrate.copywatch import NO_SLOT_GRACE_SECONDS, SYNCHRONIZED, Watchdog, described
from migrate.gates import (
    require_primary_keys,
    require_same_shape,
    require_slot_usable,
    require_state,
)
from migrate.replication import qualified
from migrate.run import MOVING, Run, pause_at, rds_now
from migrate.state import GateRefused
from migrate.units import Unit

REPO = Path(__file__).resolve().parents[2]
OPERATOR_MIGRATIONS = REPO / "supabase" / "migrations"
SQL = REPO / "migrate" / "sql"


def apply_rds_schema(run: Run) -> list[str]:
    """The operator tables' schema on RDS, from the same migrations as Supabase's."""
    from travel_platform.migrations import apply_migrations

    run.rds.execute((SQL / "rds_compat_before.sql").read_text())
    applied = apply_migrations(conninfo=run.settings.rds_admin_url.get_secret_value(),
                               directory=OPERATOR_MIGRATIONS)
    run.rds.execute((SQL / "rds_compat_after.sql").read_text())
    return applied


@foreign_keys.follow_writes
def start(run: Run, unit: Unit) -> int:
    """Copy the unit to RDS and keep it in sync; resumes an interrupted copy."""
    row = require_state(run, unit, ("new", "rolled_back", *MOVING), "start")
    require_primary_keys(run, unit, "start")
    if "supabase" not in run.state.latest_backup(unit):
        raise GateRefused(f"no backup of {unit.name}: run `python -m migrate backup "
                          f"{unit.name}` first")
    if row["state"] in ("replicating", "reads_switched"):
        run.say(f"{unit.name} is already {row['state']}; nothing to do")
        return 0
    applied = apply_rds_schema(run)
    if applied:
        run.say(f"rds: schema applied ({', '.join(applied)})")
    require_same_shape(run, (unit,), "start")
    # The copy on RDS takes no writes until the cutover; the Supabase rows exist (accepting)
    # so that writers lock them and a cutover can wait for the writes in flight.
    fences.set_fence(run.rds, unit.tables, accepting=False, reason=fences.COPY_OF_SUPABASE)
    fences.set_fence(run.supabase, unit.tables, accepting=True, reason=fences.SUPABASE_HOLDS)
    # From now on each side refuses the unit's writes, from anyone, while its fence is
    # closed (RDS's is, until the write cutover).
    for side in (run.rds, run.supabase):
        fences.install_guard(side, unit)
        fences.refuse_ddl(side, unit)
    pause_at(run, "start:guarded")
    if not replication.subscription_exists(run.rds, unit):
        foreign_keys.say_suspended(run, foreign_keys.suspend_into(run, (unit,), to="supabase"))
        _empty_rds_copy(run, unit)
        run.state.update(unit, state="copying", started_at=rds_now(run), verified_at=None,
                         verify_mismatches=None, verify_details=None, shadow=False,
                         shadow_compared=0, shadow_mismatched=0, shadow_lagged=0,
                         shadow_last=None)
        run.state.event(unit, "start", "started", "copy started")
        replication.ensure_publication(run.supabase, unit)
        replication.ensure_subscription(run.rds, run.supabase, unit,
                                        publisher_url=run.settings.publisher_url)
    else:
        require_slot_usable(run, unit, "start")
        _repair_stuck(run, unit)
    swept = slots.sweep_sync_slots(run.rds, run.supabase, unit)
    if swept:
        run.say(f"supabase: dropped {len(swept)} leftover table-sync slot(s) nothing will use "
                f"again: {', '.join(swept)}")
    capture.install_touch(run.supabase, unit)
    expected = replication.row_counts(run.supabase, unit.tables)
    run.say(f"copying {unit.name}: {sum(v or 0 for v in expected.values()):,} rows")
    phases = _wait_for_copy(run, unit, expected)
    seconds = phases["ready"]
    total = sum(v or 0 for v in expected.values())
    run.state.update(unit, state="replicating")
    run.state.event(unit, "start", "done", f"copied {total} rows, now replicating",
                    {"rows": total, "seconds": seconds, "phases": phases})
    run.say(f"{unit.name}: copied {total:,} rows in {seconds:.1f} s; replicating. "
            f"Next: `python -m migrate verify {unit.name}`")
    return 0


def _wait_for_copy(run: Run, unit: Unit, expected: dict[str, int | None]) -> dict[str, float]:
    """Wait for the copy. A relation whose cause is gone already (its slot lost in the
    SYNCDONE race) is re-copied at once, once per run. Any other stuck relation needs a
    person to remove its cause: it is parked (out of the subscription, so that PostgreSQL
    stops retrying a full COPY every few seconds), recorded, and the run stops; the next
    `start` re-copies it."""
    repaired: set[str] = set()
    while True:
        try:
            return initial_copy.wait_for_copy(
                run.rds, run.supabase, unit, expected,
                stall_seconds=run.settings.migrate_copy_stall_seconds)
        except initial_copy.CopyStuck as exc:
            names = [s.name for s in exc.stuck]
            run.state.event(unit, "start", "failed", str(exc)[:500],
                            {"stuck": names, "why": {s.name: s.why for s in exc.stuck}})
            if not all(s.repairable_now and s.name not in repaired for s in exc.stuck):
                initial_copy.park(run.rds, run.supabase, unit, names)
                raise
            for item in exc.stuck:
                run.say(item.line())
            _recopy(run, unit, names)
            repaired.update(names)


def _repair_stuck(run: Run, unit: Unit) -> None:
    """Before waiting on a copy already under way: re-copy the relations a previous run named
    stuck, those stuck now (copy done, table-sync slot gone), and those a repair interrupted
    left out of the subscription, unless they have finished meanwhile."""
    snapshot = initial_copy.observe(run.rds, run.supabase, unit)
    if snapshot is None:
        return
    states = {r.name: r.state for r in snapshot.relations}
    reasons: dict[str, str] = {}
    last = run.rds.execute(
        """select details from migration.events
            where unit = %s and command = 'start'
              and (outcome = 'started' or details ? 'stuck' or details ? 'recopied')
            order by id desc limit 1""", (unit.name,)).fetchone()
    if last and last["details"] and "stuck" in last["details"]:
        for name in last["details"]["stuck"]:
            reasons[name] = "named stuck by the last `start`: " + last["details"].get(
                "why", {}).get(name, "")
    if any(r.state == "f" and not r.sync_slot for r in snapshot.relations):
        watchdog = Watchdog(run.settings.migrate_copy_stall_seconds)
        watchdog.observe(snapshot)
        time.sleep(NO_SLOT_GRACE_SECONDS)
        later = initial_copy.observe(run.rds, run.supabase, unit)
        for item in watchdog.observe(later) if later else []:
            if item.repairable_now:
                reasons[item.name] = item.why
    for name in initial_copy.relations_of(unit):
        if name not in states:
            reasons.setdefault(name, "out of the subscription (parked, or a re-copy was "
                                     "interrupted)")
    todo = {n: why for n, why in reasons.items() if states.get(n) not in SYNCHRONIZED}
    for name in sorted(set(reasons) - set(todo)):
        run.say(f"{name}, named stuck by the last `start`, has finished its copy meanwhile")
    if not todo:
        return
    for name, why in todo.items():
        state = described(states[name]) if name in states else "none"
        run.say(f"{name} is stuck in state {state}: {why}")
    _recopy(run, unit, list(todo))


def _recopy(run: Run, unit: Unit, names: list[str]) -> None:
    run.say(f"re-copying only {', '.join(names)}; the other relations of {unit.name} keep "
            "replicating")
    initial_copy.recopy(run.rds, run.supabase, unit, names)
    run.state.event(unit, "start", "progress", f"re-copying {', '.join(names)}",
                    {"recopied": names})


def _empty_rds_copy(run: Run, unit: Unit) -> None:
    """Delete a stale copy (from before a rollback, or a half copy) so the copy starts clean.
    Replica mode: no trigger and no foreign-key cascade reaches another unit's tables."""
    with run.rds.transaction():
        run.rds.execute("set local session_replication_role = replica")
        for table in unit.tables:
            run.rds.execute(sql.SQL("delete from {}").format(qualified(table)))
        run.rds.execute("delete from migration.heartbeat where unit = %s", (unit.name,))
