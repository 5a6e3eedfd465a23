"""`rollback`: writes go back to Supabase, with what RDS took since the switch
replayed there first."""
from __future__ import annotations

import time

import psycopg

from migrate import capture, fences, foreign_keys, holds, replication
from migrate.fences import ROUTING_SETTLE_SECONDS
from migrate.gates import require_carrier
from migrate.run import BACKUP_SCHEMA, Run, pause_at, reopen_fence
from migrate.sequences import copy_sequences
from migrate.state import GateRefused, ToolError
from migrate.units import Unit, switch_group

# Replay rounds before the rollback's hold: at most this many, and done once a round took
# less than CAUGHT_UP_SECONDS (the hold's own round will take about as long).
CATCH_UP_ROUNDS = 10
CAUGHT_UP_SECONDS = 0.5


@foreign_keys.follow_writes
def rollback(run: Run, unit: Unit) -> int:
    """Back to Supabase from any state before finalize; RDS's writes replayed first."""
    row = run.state.row(unit)
    if unit.switches_with and row["state"] not in ("new", "rolled_back", "copying",
                                                   "replicating"):
        require_carrier(unit, "rollback")
    group = switch_group(unit) if not unit.switches_with else (unit,)
    states = {m.name: run.state.row(m)["state"] for m in group}
    if any(s in ("finalized", "dropped") for s in states.values()):
        raise GateRefused(f"cannot roll {unit.name} back: it is finalized (replication and change "
                          f"capture are gone); restore Supabase from the `{BACKUP_SCHEMA}` tables "
                          "or a backup instead")
    tables = [t for m in group for t in m.tables]
    foreign_keys.say_suspended(run, foreign_keys.suspend_into(run, group, to="supabase"))
    replayed = 0
    if "writes_switched" in states.values():
        replayed = _replay_to_supabase(run, unit, group, tables)
    moving = [m for m in group if states[m.name] != "new"]
    moving_tables = [t for m in moving for t in m.tables]
    # The routing of every unit of the group flips in one transaction (a package write
    # spans all of them); writes stay held.
    with run.rds.transaction():
        fences.set_fence(run.rds, moving_tables, accepting=False, reason=fences.STALE_COPY)
        for member in moving:
            run.state.update(member, conn=run.rds, state="rolled_back", shadow=False)
    pause_at(run, "rollback:flipped")
    # Until every worker has re-read the routing, some still read RDS. Nothing may change
    # meanwhile that RDS would not show: after a replay Supabase's fence stays closed (writes
    # wait), otherwise the subscription keeps RDS up to date until it is dropped below.
    time.sleep(ROUTING_SETTLE_SECONDS)
    fences.set_fence(run.supabase, moving_tables, accepting=True, reason=fences.SUPABASE_HOLDS)
    holds.release_hold(run, tuple(moving))
    pause_at(run, "rollback:reopened")
    for member in moving:
        capture.remove_capture(run.rds, member)
        replication.drop_subscription(run.rds, run.supabase, member)
        replication.drop_publication(run.supabase, member)
        capture.remove_touch(run.supabase, member)
        for side in (run.rds, run.supabase):
            fences.allow_ddl(side, member)
    run.state.event(unit, "rollback", "done", f"back on Supabase; {replayed} rows replayed")
    run.say(f"{', '.join(m.name for m in group)}: reads and writes on Supabase again"
            + (f"; {replayed} rows written on RDS replayed there and verified" if replayed else ""))
    return 0


def _replay_to_supabase(run: Run, unit: Unit, group: tuple[Unit, ...], tables: list[str]) -> int:
    """Replay RDS's writes onto Supabase: in rounds while RDS still takes writes, then the
    last seconds inside a hold, checked key by key; the rows written."""
    since: str | None = None
    replayed = 0
    suspects: dict[str, set[str]] = {t: set() for t in tables}
    for _ in range(CATCH_UP_ROUNDS):
        started = time.monotonic()
        done = _replay_round(run, group, since)
        since, replayed = done.snapshot, replayed + done.rows
        # RDS moves on meanwhile: a difference here is either a row changed again (the next
        # round replays it) or a real one, which the hold checks again.
        for found in capture.compare_keys(run.supabase, run.rds, done.keys):
            suspects[found["table"]].add(found["key"])
        if time.monotonic() - started < CAUGHT_UP_SECONDS:
            break
    pause_at(run, "rollback:caught-up")
    held_at = None
    try:
        held_at = holds.close(run, group, tables, on=run.rds, side="RDS", keep="RDS",
                              reason=fences.ROLLING_BACK, failpoint="rollback")
        pause_at(run, "rollback:fence-closed")
        with holds.bounded(run, held_at):
            last = _replay_round(run, group, since, sequences=True)
            # Both sides were equal when writes moved (checked in that hold); since then only
            # the captured rows changed on RDS, and nothing on Supabase.
            mismatches = capture.compare_keys(run.supabase, run.rds, {
                t: sorted(set(last.keys[t]) | suspects[t]) for t in tables})
            if mismatches:
                raise ToolError(f"after replay {len(mismatches)} rows still differ (first: "
                                f"{mismatches[0]['table']} {mismatches[0]['key']} "
                                f"{mismatches[0]['problem']}); run `rollback {unit.name}` again "
                                "(it replays every captured change from the start)")
        replayed += last.rows
    except BaseException as exc:
        if held_at is not None:
            reopen_fence(run, group, tables, on=run.rds, reason=fences.RDS_HOLDS)
        run.state.event(unit, "rollback", "failed", str(exc)[:500])
        if isinstance(exc, (ToolError, psycopg.Error)):
            raise ToolError(f"rollback {unit.name} aborted, writes stay on RDS: "
                            f"{str(exc).splitlines()[0]}") from None
        raise
    pause_at(run, "rollback:replayed")
    hold = time.monotonic() - held_at
    run.state.event(unit, "rollback", "progress", f"replayed; held {hold:.3f} s",
                    {"hold_seconds": hold, "rows_replayed": replayed,
                     "rows_in_hold": last.rows})
    run.say(f"replayed {replayed} rows onto Supabase ({last.rows} of them while writes were "
            f"held {hold * 1000:.0f} ms); both sides identical")
    return replayed


def _replay_round(run: Run, group: tuple[Unit, ...], since: str | None, *,
                  sequences: bool = False) -> capture.Round:
    """One replay onto Supabase in replica mode (no trigger fires, nor the fence: Supabase
    takes no other writes), its deferrable keys checked at commit."""
    with run.supabase.transaction():
        run.supabase.execute("set local session_replication_role = replica")
        run.supabase.execute("set constraints all deferred")
        done = capture.replay(run.rds, run.supabase, group, since=since)
        if sequences:
            for member in group:
                copy_sequences(run.rds, run.supabase, member)
    return done
