"""`plan`: every prerequisite on both sides, and what each step will do."""
from __future__ import annotations

import psycopg

from migrate import capture, logins, prerequisites, replication, schema, writers
from migrate.gates import next_step_hint, without_key_line
from migrate.settings import MigrateSettings
from migrate.state import Conn, State, ToolError, connect
from migrate.units import UNITS, switch_group


def plan(settings: MigrateSettings) -> int:
    """Check every prerequisite on both sides and print what each step will do."""
    problems: list[str] = []
    supabase = rds = None
    try:
        supabase = connect(settings.supabase_db_admin_url.get_secret_value(), side="supabase",
                           purpose="migrate plan")
    except ToolError as exc:
        problems.append(str(exc))
    try:
        rds = connect(settings.rds_admin_url.get_secret_value(), side="rds", purpose="migrate plan")
    except ToolError as exc:
        problems.append(str(exc))
    # One `start` uses the subscription's slot and one slot and WAL sender per table copied
    # at once: RDS's max_sync_workers_per_subscription (PostgreSQL's default is 2).
    sync_workers = (int(replication.server_setting(rds, "max_sync_workers_per_subscription"))
                    if rds is not None else 2)
    notes: list[str] = []
    if supabase is not None:
        problems += prerequisites.supabase_basics(supabase, sync_workers=sync_workers)
        problems += prerequisites.tls(supabase, side="Supabase", variable="SUPABASE_DB_ADMIN_URL",
                                      url=settings.supabase_db_admin_url.get_secret_value())
        problems += prerequisites.replica_mode(supabase, side="Supabase")
        for finding in prerequisites.wal_headroom(supabase):
            (problems if finding.level == "MISSING" else notes).append(finding.text)
    if rds is not None:
        problems += prerequisites.rds_basics(rds)
        problems += prerequisites.tls(rds, side="RDS", variable="RDS_ADMIN_URL",
                                      url=settings.rds_admin_url.get_secret_value())
        problems += prerequisites.replica_mode(rds, side="RDS")
    problems += prerequisites.publisher_tls(settings.publisher_url)
    problems += prerequisites.pg_dump_version(settings.migrate_pg_bin, {
        side: conn for side, conn in (("Supabase", supabase), ("RDS", rds)) if conn is not None})
    if supabase is not None and rds is not None:
        problems += prerequisites.reachability(rds, supabase, settings.publisher_url)
    rows = {}
    if rds is not None and not any("migration schema" in p for p in problems):
        rows = {row["unit"]: row for row in State(rds).rows()}
    shapes = _shapes(supabase, rds, rows) if supabase is not None and rds is not None else {}
    problems += [line for drift, lines in shapes.values() if drift for line in lines]
    if supabase is not None:
        problems += [without_key_line(table) for table in capture.tables_without_key(
            supabase, [t for u in UNITS for t in u.tables])]
    print("Prerequisites:")
    for problem in problems:
        print(f"  MISSING  {problem}")
    if not problems:
        print("  all met (connections and their TLS, pg_dump's version, replica mode, RDS "
              "reaches Supabase as its subscription will, wal_level, privileges, slots and "
              "senders, schema alike on both sides)")
    for note in notes + _cannot_move(settings, rds):
        print(f"  NOTE     {note}")
    if supabase is not None:
        _print_writers(supabase)
    print("\nUnits, in the design note's order (least risky first):")
    for number, unit in enumerate(UNITS, 1):
        state = rows.get(unit.name, {}).get("state", "new")
        print(f"\n{number}. {unit.name}  [{', '.join(unit.tables)}]  state: {state}")
        if unit.switches_with:
            print(f"   copy, verify: alone. Shadow, switch-reads, switch-writes, rollback, "
                  f"finalize: with {unit.switches_with}, because {unit.why}.")
        else:
            group = [u.name for u in switch_group(unit) if u is not unit]
            carried = f" (carrying {', '.join(group)})" if group else ""
            print(f"   every step alone{carried}: {unit.why}.")
        for line in shapes.get(unit.name, (False, []))[1]:
            print(f"   schema: {line}")
        if supabase is not None and rows.get(unit.name, {}).get("state") not in ("finalized",
                                                                               "dropped"):
            for line in prerequisites.dependents(supabase, unit):
                print(f"   NOTE on Supabase, {line}: after `finalize` it sees the frozen copy; "
                      "point it at the API or RDS first")
        print(f"   next: {next_step_hint(state, unit)}")
    print("""
Steps:
  backup <unit>         pg_dump of the unit's tables on both sides, with SHA-256; start needs one
  start <unit>          schema on RDS, publication on Supabase, subscription on RDS copying the
                        tables with a progress bar, then replicating every change
  verify <unit>         count + hash per key chunk on both servers, exact keys of differing rows;
                        re-checks chunks that changed meanwhile until stable
  shadow <unit> on|off  operator-service also reads from RDS and counts mismatches
  switch-reads <unit>   published data read from RDS; gate: fresh clean verify, shadow clean
  switch-writes <unit>  writes held (bounded), lag to zero, final verify, sequences, capture of
                        RDS changes (the way back), routing flipped; gate: reads switched
  rollback <unit>       back to Supabase from any state, RDS writes replayed first, verified
  finalize <unit>       replication objects dropped; Supabase tables kept in schema
                        supabase_backup until `drop <unit>`
  reconcile             undo what a dead run left (fences, holds, leftovers), from the
                        recorded state; every command does this first""")
    return 1 if problems else 0


def _cannot_move(settings: MigrateSettings, rds: Conn | None) -> list[str]:
    """Operators whose logins cannot move to the pool (`finalize operators` waits for them)."""
    if rds is None or not (settings.supabase_url and settings.supabase_service_role_key):
        return []
    try:
        found = logins.census(settings, rds)
    except (ToolError, psycopg.Error) as exc:
        return [f"operators' logins not counted: {str(exc).splitlines()[0]}"]
    notes = [f"operator {operator_id} cannot move to the operators' pool ({why}); "
             "`finalize operators` waits until they have an e-mail or are removed"
             for operator_id, why in found.cannot_move]
    if found.leave_behind:
        mfa = logins.pool_mfa(settings)
        notes += [f"operator {operator_id} ({email}) {what}"
                  + (f" (the operators' pool's MFA is {mfa})" if "second factor" in what else "")
                  for operator_id, email, what in found.leave_behind]
    return notes


def _shapes(supabase: Conn, rds: Conn, rows: dict) -> dict[str, tuple[bool, list[str]]]:
    """Per unit: whether its tables differ between the sides, and a line per difference (or
    one saying they are alike, with each table's fingerprint)."""
    found: dict[str, tuple[bool, list[str]]] = {}
    for unit in UNITS:
        if rows.get(unit.name, {}).get("state") in ("finalized", "dropped"):
            found[unit.name] = (False, ["moved: RDS alone holds the tables"])
            continue
        prints = [f"{t} {schema.fingerprint(schema.shape(supabase, t))}" for t in unit.tables]
        if all(schema.shape(rds, t) is None for t in unit.tables):
            found[unit.name] = (False, ["not on RDS yet (`start` applies the repository's "
                                        "migrations there, then compares): Supabase "
                                        + ", ".join(prints)])
            continue
        drift = schema.differences(supabase, rds, unit.tables)
        found[unit.name] = (bool(drift), drift or ["same on both sides: " + ", ".join(prints)])
    return found


def _print_writers(supabase: Conn) -> None:
    """Who wrote each unit's tables on Supabase: from `switch-writes` on, Supabase refuses
    every one of those writes but the API's, which go to RDS."""
    found = writers.writers_of(supabase, [t for u in UNITS for t in u.tables])
    print("\nWho wrote each table on Supabase (pg_stat_statements, since its last reset):")
    if found is None:
        print("  unknown: pg_stat_statements is not installed on Supabase (every project has "
              "it: `create extension pg_stat_statements with schema extensions`)")
        return
    for table, roles in found.items():
        listed = ", ".join(f"{role} {calls:,}" for role, calls in roles.most_common())
        print(f"  {table:<38} {listed or 'nobody'}")
    print("  From `switch-writes` of a unit on, Supabase refuses these writes to its tables "
          "(the API's go to RDS): point other writers (supabase-js, cron jobs, scripts) at "
          "the API first. `postgres` includes Studio, psql and this tool.")
