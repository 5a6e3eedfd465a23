"""`switch-reads` and `switch-writes`: reads, then writes, of a unit (with the units
that switch with it) move to RDS, behind the same gates."""
from __future__ import annotations

import time

import psycopg

from migrate import capture, fences, foreign_keys, holds, replication, snapshot
from migrate.gates import require_carrier, require_replication, require_same_shape, require_state
from migrate.run import Run, pause_at, reopen_fence
from migrate.sequences import copy_sequences
from migrate.state import GateRefused, ToolError, one
from migrate.steps.verify import full_verify
from migrate.units import Unit, switch_group

# How long a verification stays good enough to switch on.
VERIFY_FRESH_SECONDS = 3600


def _require_verified(run: Run, member: Unit, row: dict, step: str) -> None:
    fresh = one(run.rds.execute(
        "select %s::timestamptz > now() - make_interval(secs => %s) as ok",
        (row["verified_at"], VERIFY_FRESH_SECONDS)).fetchone())["ok"]
    if row["verified_at"] is None or row["verified_at"] < row["started_at"] or not fresh:
        raise GateRefused(f"cannot {step}: {member.name} has no clean verification since it "
                          f"was started (within the last hour); run `verify {member.name}`")
    if row["verify_mismatches"]:
        raise GateRefused(f"cannot {step}: the last verify of {member.name} found "
                          f"{row['verify_mismatches']} mismatching rows; run `verify "
                          f"{member.name}` until clean")


def _switch_gate(run: Run, unit: Unit, step: str, *,
                 from_state: str) -> tuple[tuple[Unit, ...], dict[str, dict]]:
    """What every switch checks first, for each unit of the group: it is in `from_state`,
    still replicating, and verified clean since it started; (group, state rows)."""
    require_carrier(unit, step)
    group = switch_group(unit)
    rows = {m.name: require_state(run, m, (from_state,), step) for m in group}
    for member in group:
        require_replication(run, member, step)
        _require_verified(run, member, rows[member.name], step)
    require_same_shape(run, group, step)
    return group, rows


def switch_reads(run: Run, unit: Unit) -> int:
    """Serve published data of the unit's group from RDS."""
    group, rows = _switch_gate(run, unit, "switch-reads", from_state="replicating")
    compared = max(r["shadow_compared"] for r in rows.values())
    mismatched = max(r["shadow_mismatched"] for r in rows.values())
    if compared == 0:
        raise GateRefused(f"cannot switch-reads: no shadow read of {unit.name} was compared "
                          f"yet; run `shadow {unit.name} on` and let it serve reads")
    if mismatched:
        raise GateRefused(f"cannot switch-reads: {mismatched} of {compared} shadow reads "
                          f"mismatched (see `status`); find why, then `shadow {unit.name} on` "
                          "again to reset the counts")
    with run.rds.transaction():
        for member in group:
            run.state.update(member, state="reads_switched")
    run.state.event(unit, "switch-reads", "done", "reads from RDS",
                    {"shadow_compared": compared})
    run.say(f"reads of {', '.join(m.name for m in group)} now come from RDS "
            f"({compared} shadow reads compared, none mismatched)")
    return 0


@foreign_keys.follow_writes
def switch_writes(run: Run, unit: Unit) -> int:
    """The write cutover: hold writes, let RDS catch up, verify, flip; prints the hold."""
    group, _ = _switch_gate(run, unit, "switch-writes", from_state="reads_switched")
    snapshot.before_switch(run, unit, skip=run.without_snapshot)
    tables = [t for m in group for t in m.tables]
    max_hold = run.settings.migrate_max_hold_seconds
    # Foreign keys to tables whose writes stay on Supabase are dropped on RDS now, while it
    # takes no writes (replication does not check them), and so are those on Supabase from
    # tables staying there into the group's, whose copy there freezes; each recorded at once
    # so that a later switch or rollback restores it; they are not the hold's business.
    suspended = foreign_keys.suspend_into(run, group, to="rds")
    # A full verify just before the hold; inside it, only what was written since.
    for member in group:
        _, mismatches, _ = full_verify(run, member)
        if mismatches:
            raise GateRefused(f"cannot switch-writes: {mismatches.total} rows of {member.name} "
                              f"differ (first: {mismatches[0]['table']} {mismatches[0]['key']}); "
                              f"see `verify {member.name}`")
    _require_few_written(run, unit, tables)
    # The change capture goes on before the hold: creating a trigger locks the table, and
    # waits for an autovacuum of it up to deadlock_timeout (a second), which the hold must
    # not (capture.install_capture says why it is inert until the flip).
    for member in group:
        with run.rds.transaction():
            capture.install_capture(run.rds, member)
    # The verify loads both servers, and RDS's apply falls behind meanwhile: let it catch up
    # before writes wait, so that inside the hold it applies only the last moment's writes.
    for member in group:
        replication.wait_applied(run.rds, member, replication.beat(run.supabase, member),
                                 timeout=30)
    pause_at(run, "switch-writes:before-hold")
    held_at = None
    try:
        held_at = holds.close(run, group, tables, on=run.supabase, side="supabase",
                              keep="Supabase", reason=fences.MOVED_TO_RDS,
                              failpoint="switch-writes")
        closed = time.monotonic() - held_at
        pause_at(run, "switch-writes:fence-closed")
        with holds.bounded(run, held_at):
            beats = {member.name: replication.beat(run.supabase, member) for member in group}
            for member in group:
                remaining = max_hold - (time.monotonic() - held_at)
                replication.wait_applied(run.rds, member, beats[member.name],
                                         timeout=max(remaining, 0.1))
            caught_up = time.monotonic() - held_at
            pause_at(run, "switch-writes:caught-up")
            written = capture.touched(run.supabase, tables)
            differing = capture.compare_keys(run.supabase, run.rds, written)
            if differing:
                raise ToolError(f"the final verify found {len(differing)} differing rows "
                                f"(first: {differing[0]['table']} {differing[0]['key']} "
                                f"{differing[0]['problem']}); writes stay on Supabase")
            verified = time.monotonic() - held_at
            pause_at(run, "switch-writes:verified")
            with run.rds.transaction():
                # The fence rows first, then the tables: writers lock them in that order too.
                fences.set_fence(run.rds, tables, accepting=True, reason=fences.RDS_HOLDS)
                sequences = {}
                for member in group:
                    sequences.update(copy_sequences(run.supabase, run.rds, member))
                for member in group:
                    run.state.update(member, conn=run.rds, state="writes_switched")
                holds.release_hold(run, group, conn=run.rds)
        hold = time.monotonic() - held_at
    except BaseException as exc:
        if held_at is not None:
            reopen_fence(run, group, tables, on=run.supabase, reason=fences.SUPABASE_HOLDS)
        run.state.event(unit, "switch-writes", "failed", str(exc)[:500])
        if isinstance(exc, (ToolError, psycopg.Error)):
            raise ToolError(f"switch-writes {unit.name} aborted, writes stay on Supabase: "
                            f"{str(exc).splitlines()[0]}") from None
        raise
    pause_at(run, "switch-writes:flipped")
    # Supabase's fence stays closed for good now: no longer a hold, no lease.
    fences.set_fence(run.supabase, tables, accepting=False, reason=fences.MOVED_TO_RDS)
    for member in group:
        replication.drop_subscription(run.rds, run.supabase, member)
        capture.remove_touch(run.supabase, member)
    pause_at(run, "switch-writes:unsubscribed")
    restored = foreign_keys.restore(run)
    details = {"hold_seconds": hold, "fence_closed_after": closed, "caught_up_after": caught_up,
               "verified_after": verified,
               "rows_checked_in_hold": sum(len(keys) for keys in written.values()),
               "sequences": sequences,
               "suspended_fks": [fk["name"] for fk in suspended], "restored_fks": restored}
    run.state.event(unit, "switch-writes", "done", f"writes on RDS; held {hold:.3f} s", details)
    run.say(f"writes of {', '.join(m.name for m in group)} now go to RDS; writes were held "
            f"{hold * 1000:.0f} ms (caught up after {caught_up * 1000:.0f} ms, verified after "
            f"{verified * 1000:.0f} ms)")
    foreign_keys.say_suspended(run, suspended)
    foreign_keys.say_restored(run, restored)
    return 0


def _require_few_written(run: Run, unit: Unit, tables: list[str]) -> None:
    """Refuse to hold when more rows were written since the full verify than the hold may
    check (each one, by key, while writes wait)."""
    written = sum(len(keys) for keys in capture.touched(run.supabase, tables).values())
    if written > run.settings.migrate_max_hold_keys:
        raise GateRefused(f"cannot switch-writes: {written:,} rows were written during the "
                          f"verify just before the hold, more than MIGRATE_MAX_HOLD_KEYS="
                          f"{run.settings.migrate_max_hold_keys:,} the hold may check; run "
                          f"`switch-writes {unit.name}` at a quieter time")
