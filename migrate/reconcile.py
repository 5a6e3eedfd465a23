"""Undo what a dead run left, from the recorded state (the reconciler).

A run can die anywhere: kill -9, a lost connection, a server restarting under it. Each step
records its outcome in `migration.units` in the same RDS transaction that makes it true
(the write cutover's flip, the rollback's flip), so the recorded state always says which
side owns each unit's tables. What a dead run can leave is everything around that: a hold
(`hold_until`), a fence closed for a hold on the side that owns the tables, the other side's
fence open, and the tail of a step (a subscription, capture or touch triggers, a foreign
key not restored yet).

`reconcile` makes the servers agree with the recorded state again. It runs, holding the
run lock (so never beside a live run), first in every command that takes the lock, and in
the guardian a switch starts beside itself (migrate/guardian.py), which runs it as soon as
the switch's process is gone. It never moves ownership: a fence is only ever opened on the
side the state says owns the tables, and closed on the other, so a dead run can block
writes for a moment but never let both sides take them."""
from __future__ import annotations

import time

from migrate import capture, fences, foreign_keys, holds, replication
from migrate.fences import ROUTING_SETTLE_SECONDS
from migrate.run import Run
from migrate.state import WRITES_ON_RDS
from migrate.units import UNITS, Unit

# States in which the unit's subscription copies or replicates.
REPLICATING = ("copying", "replicating", "reads_switched")


def owner(state: str) -> str:
    """The side whose fence accepts the unit's writes in `state`."""
    return "rds" if state in WRITES_ON_RDS else "supabase"


def expected_fence(state: str, side: str) -> tuple[bool, str] | None:
    """(accepting, reason) of the unit's fence on `side` in `state`; None: no opinion (a
    unit that never started, or whose fence a later step clears)."""
    if state == "new" or (state in ("finalized", "dropped")):
        return None
    if side == "supabase":
        return ((True, fences.SUPABASE_HOLDS) if owner(state) == "supabase"
                else (False, fences.MOVED_TO_RDS))
    if state == "writes_switched":
        return True, fences.RDS_HOLDS
    if state == "rolled_back":
        return False, fences.STALE_COPY
    return False, fences.COPY_OF_SUPABASE


def reconcile(run: Run) -> list[str]:
    """Make the fences, holds and leftovers agree with the recorded state; what was done,
    one line each (nothing when all agreed)."""
    done: list[str] = []
    reopen: list[tuple[Unit, list[str]]] = []
    for row in run.state.rows():
        unit = next(u for u in UNITS if u.name == row["unit"])
        state = row["state"]
        if row["hold_until"] is not None:
            holds.release_hold(run, (unit,))
            done.append(f"{unit.name}: released the write hold left by "
                        f"{row['held_by'] or 'a run that is gone'}")
        for side, conn in (("supabase", run.supabase), ("rds", run.rds)):
            want = expected_fence(state, side)
            if want is None:
                continue
            found = fences.fences(conn, unit.tables)
            wrong = [t for t in unit.tables if t in found and (
                found[t]["accepting"] != want[0] or found[t]["held_by"] is not None)]
            if not wrong:
                continue
            if want[0] and side == "supabase":
                reopen.append((unit, wrong))   # after the routing settles, below
                continue
            fences.set_fence(conn, wrong, accepting=want[0], reason=want[1])
            done.append(f"{unit.name}: {'opened' if want[0] else 'closed'} the write fence on "
                        f"{side} ({state}: {'it' if want[0] else 'the other side'} holds the "
                        "tables)")
        done += _tail(run, unit, state)
        if state == "new":
            done += _allow_ddl_again(run, unit)
    if reopen:
        time.sleep(ROUTING_SETTLE_SECONDS)
        for unit, tables in reopen:
            fences.set_fence(run.supabase, tables, accepting=True, reason=fences.SUPABASE_HOLDS)
            done.append(f"{unit.name}: opened the write fence on supabase (it holds the tables)")
    if done:
        run.state.event(None, "reconcile", "done", "; ".join(done)[:500], {"actions": done})
    return done


def _allow_ddl_again(run: Run, unit: Unit) -> list[str]:
    """A `start` that died before the copy began left the unit's tables refusing schema
    changes (fences.refuse_ddl) on a unit that is still `new`: nothing moves, so nothing
    may stop Studio or a deploy from changing them."""
    done = []
    for side, conn in (("supabase", run.supabase), ("rds", run.rds)):
        if fences.ddl_refused(conn, unit):
            fences.allow_ddl(conn, unit)
            done.append(f"{unit.name}: schema changes allowed again on {side} (a start that "
                        "died before copying had refused them)")
    return done


def _tail(run: Run, unit: Unit, state: str) -> list[str]:
    """The rest of a step a run died in, from the state it recorded."""
    done = []
    subscribed = replication.subscription_exists(run.rds, unit)
    if state == "writes_switched":
        if subscribed:
            replication.drop_subscription(run.rds, run.supabase, unit)
            capture.remove_touch(run.supabase, unit)
            done.append(f"{unit.name}: dropped the subscription the write cutover left")
        done += [f"restored foreign key {name}" for name in foreign_keys.restore(run)]
    elif state == "rolled_back":
        if subscribed or capture.capture_installed(run.rds, unit):
            capture.remove_capture(run.rds, unit)
            replication.drop_subscription(run.rds, run.supabase, unit)
            replication.drop_publication(run.supabase, unit)
            capture.remove_touch(run.supabase, unit)
            done.append(f"{unit.name}: removed the change capture and replication the "
                        "rollback left")
    elif state in REPLICATING and subscribed and not replication.subscription_enabled(
            run.rds, unit):
        replication.enable_subscription(run.rds, unit)
        done.append(f"{unit.name}: enabled its subscription again")
    return done
