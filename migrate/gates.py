"""The gates a step checks before it changes anything: the unit's state, its carrier
(units that switch together), live replication, a usable slot, the same shape on both
sides. A refusal names the command that comes first."""
from __future__ import annotations

from migrate import capture, replication, schema, slots
from migrate.run import Run
from migrate.state import GateRefused
from migrate.units import Unit


def require_carrier(unit: Unit, step: str, *, then: str = "") -> None:
    if unit.switches_with:
        raise GateRefused(f"{unit.name} takes `{step}` together with {unit.switches_with} "
                          f"({unit.why}): run `python -m migrate {step} {unit.switches_with}"
                          f"{then}`")


def require_state(run: Run, unit: Unit, allowed: tuple[str, ...], step: str) -> dict:
    row = run.state.row(unit)
    if row["state"] not in allowed:
        raise GateRefused(f"cannot {step} {unit.name}: it is {row['state']}, and {step} needs "
                          f"{' or '.join(allowed)}; {next_step_hint(row['state'], unit)}")
    return row


def next_step_hint(state: str, unit: Unit) -> str:
    carrier = unit.switches_with or unit.name
    hints = {
        "new": f"run `backup {unit.name}` then `start {unit.name}`",
        "rolled_back": f"run `start {unit.name}` to copy it again",
        "copying": f"run `start {unit.name}` to finish the copy",
        "replicating": f"run `verify {unit.name}`, `shadow {carrier} on`, then "
                       f"`switch-reads {carrier}`",
        "reads_switched": f"run `verify {unit.name}` then `switch-writes {carrier}`",
        "writes_switched": f"run `finalize {carrier}` when satisfied, or `rollback {carrier}`",
        "finalized": f"run `drop {carrier}` to delete the Supabase backup tables",
        "dropped": "nothing is left to do",
    }
    return hints[state]


def require_primary_keys(run: Run, unit: Unit, step: str) -> None:
    """Every table of the unit has a primary key on Supabase: the move names each row by it
    (its whole key, composite or not: migrate/capture.py), so a table without one cannot
    be checked in the hold nor rolled back."""
    missing = capture.tables_without_key(run.supabase, unit.tables)
    if missing:
        raise GateRefused(f"cannot {step} {unit.name}: {without_key_line(missing[0])}")


def without_key_line(table: str) -> str:
    """What a table without a primary key needs, as `plan` and `start` say it."""
    return (f"public.{table} has no primary key; add one (a migration applied to both sides), "
            "then run the command again")


def require_replication(run: Run, member: Unit, step: str) -> None:
    """The unit's subscription on RDS and its slot on Supabase both exist."""
    carrier = member.switches_with or member.name
    if not replication.subscription_exists(run.rds, member):
        raise GateRefused(f"cannot {step}: the subscription of {member.name} is missing on RDS; "
                          f"run `rollback {carrier}` then `start {member.name}`")
    if not replication.slot_exists(run.supabase, member):
        raise GateRefused(f"cannot {step}: the replication slot {replication.name_of(member)} "
                          f"is missing on Supabase, so RDS no longer receives changes; run "
                          f"`rollback {carrier}` then `start {member.name}`")
    require_slot_usable(run, member, step)


def require_slot_usable(run: Run, member: Unit, step: str) -> None:
    """The unit's slot on Supabase still holds the WAL RDS needs: refuse when it was
    invalidated (wal_status lost, by max_slot_wal_keep_size), warn when it may soon be."""
    carrier = member.switches_with or member.name
    name = replication.name_of(member)
    wal_status = slots.slot_wal_status(run.supabase, member)
    if wal_status == "lost":
        raise GateRefused(f"cannot {step}: the replication slot {name} on Supabase was "
                          "invalidated (wal_status lost: Supabase removed WAL RDS had not "
                          f"received yet, see max_slot_wal_keep_size); run `rollback {carrier}` "
                          f"then `start {member.name}`")
    if wal_status == "unreserved":
        run.say(f"warning: the replication slot {name} on Supabase is past "
                "max_slot_wal_keep_size (wal_status unreserved) and is lost at the next "
                "checkpoint unless RDS catches up; check `status` for the lag")


def require_same_shape(run: Run, group: tuple[Unit, ...], step: str) -> None:
    """Both sides' tables of the group have one shape (migrate/schema.py says why)."""
    found = schema.differences(run.supabase, run.rds, [t for m in group for t in m.tables])
    if found:
        many = f"{len(found)} differences, first" if len(found) > 1 else "1 difference"
        raise GateRefused(f"cannot {step}: the tables differ between Supabase and RDS ({many}: "
                          f"{found[0]}); make both alike with a migration applied to both "
                          "(`python -m migrate plan` lists each)")
