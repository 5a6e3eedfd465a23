"""The steps of the move, one function per command. Each is safe to repeat: it looks at the
recorded state and at the servers, does what is left, and refuses (changing nothing) when
the step does not apply yet, saying which command comes first."""
from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from migrate import backup as backups
from migrate import (
    cutover,
    failpoints,
    foreign_keys,
    holds,
    logins,
    prerequisites,
    replication,
    schema,
    snapshot,
    verify,
    writers,
)
from migrate.copywatch import NO_SLOT_GRACE_SECONDS, STATES, SYNCHRONIZED, Watchdog, described
from migrate.cutover import ROUTING_SETTLE_SECONDS
from migrate.replication import qualified
from migrate.settings import MigrateSettings
from migrate.state import WRITES_ON_RDS, Conn, GateRefused, State, ToolError, connect, one
from migrate.units import UNITS, Unit, switch_group

REPO = Path(__file__).resolve().parent.parent
OPERATOR_MIGRATIONS = REPO / "supabase" / "migrations"
SQL = Path(__file__).resolve().parent / "sql"
BACKUP_SCHEMA = "supabase_backup"
# How long a verification stays good enough to switch on.
VERIFY_FRESH_SECONDS = 3600
MOVING = ("copying", "replicating", "reads_switched")
# The unit whose move carries the operators' logins to Cognito (migrate/logins.py).
LOGINS_UNIT = "operators"


@dataclass
class Run:
    """One command's connections and state."""

    settings: MigrateSettings
    supabase: Conn
    rds: Conn
    state: State
    command: str
    who: str = ""
    # `switch-writes --without-snapshot`: no RDS snapshot before the cutover (migrate/snapshot.py).
    without_snapshot: bool = False

    def say(self, message: str) -> None:
        print(message, flush=True)


def open_run(settings: MigrateSettings, command: str, purpose: str) -> Run:
    """Connect to both sides (RDS first: it holds the state and the lock)."""
    rds = connect(settings.rds_admin_url.get_secret_value(), side="rds", purpose=purpose)
    supabase = connect(settings.supabase_db_admin_url.get_secret_value(), side="supabase",
                       purpose=purpose)
    return Run(settings=settings, supabase=supabase, rds=rds, state=State(rds), command=command,
               who=purpose)


def _carrier(unit: Unit, step: str, *, then: str = "") -> None:
    if unit.switches_with:
        raise GateRefused(f"{unit.name} takes `{step}` together with {unit.switches_with} "
                          f"({unit.why}): run `python -m migrate {step} {unit.switches_with}"
                          f"{then}`")


def _require_state(run: Run, unit: Unit, allowed: tuple[str, ...], step: str) -> dict:
    row = run.state.row(unit)
    if row["state"] not in allowed:
        raise GateRefused(f"cannot {step} {unit.name}: it is {row['state']}, and {step} needs "
                          f"{' or '.join(allowed)}; {_next_step(row['state'], unit)}")
    return row


def _next_step(state: str, unit: Unit) -> str:
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


# plan -----------------------------------------------------------------------------------------

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
        print(f"   next: {_next_step(state, unit)}")
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
    return [f"operator {operator_id} cannot move to the operators' pool ({why}); "
            "`finalize operators` waits until they have an e-mail or are removed"
            for operator_id, why in found.cannot_move]


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


# status -----------------------------------------------------------------------------------------

def status(run: Run, *, as_json: bool) -> int:
    """Per unit: state, rows on each side, lag, verification, shadow, routing, backups."""
    report: list[dict[str, Any]] = []
    for row in run.state.rows():
        unit = next(u for u in UNITS if u.name == row["unit"])
        tables = list(unit.tables)
        source_rows = replication.row_counts(run.supabase, unit.tables)
        target_rows = replication.row_counts(run.rds, unit.tables)
        lag = replication.lag(run.supabase, run.rds, unit)
        moved = row["state"] in WRITES_ON_RDS
        reads = row["state"] in ("reads_switched", "writes_switched", "finalized", "dropped")
        compared = row["shadow_compared"]
        backups_by_side = run.state.latest_backup(unit)
        report.append({
            "unit": unit.name, "tables": tables, "state": row["state"],
            "reads_from": "rds" if reads else "supabase",
            "writes_to": "rds" if moved else "supabase",
            "rows_supabase": source_rows, "rows_rds": target_rows,
            "lag_bytes": lag["bytes"], "lag_seconds": lag["seconds"],
            "verified_at": row["verified_at"].isoformat() if row["verified_at"] else None,
            "mismatches": row["verify_mismatches"],
            "shadow": row["shadow"], "shadow_compared": compared,
            "shadow_mismatched": row["shadow_mismatched"], "shadow_lagged": row["shadow_lagged"],
            "shadow_mismatch_rate": (row["shadow_mismatched"] / compared) if compared else None,
            "switches_with": unit.switches_with,
            "hold": _hold_of(row),
            "fences": {side: _fences_of(conn, unit) for side, conn in
                       (("supabase", run.supabase), ("rds", run.rds))},
            "suspended_fks": [{"name": fk["name"], "side": fk.get("side", "rds"),
                               "table": fk["table"], "references": fk["references"]}
                              for fk in row["suspended_fks"]],
            "backups": {side: {"path": b["path"], "sha256": b["sha256"], "bytes": b["bytes"],
                               "at": b["created_at"].isoformat()}
                        for side, b in backups_by_side.items()},
        })
        report[-1]["copy"] = _copy_report(run, unit, row["state"])
        if unit.name == LOGINS_UNIT:
            report[-1]["logins"] = _login_census(run)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    for item in report:
        print(f"{item['unit']:<11} {item['state']:<16} reads: {item['reads_from']:<9} "
              f"writes: {item['writes_to']}")
        for table in item["tables"]:
            print(f"  {table:<38} supabase {_n(item['rows_supabase'][table]):>10}   "
                  f"rds {_n(item['rows_rds'][table]):>10}")
        lag_text = ("no replication" if item["lag_bytes"] is None else
                    f"{item['lag_bytes']:,} bytes, {item['lag_seconds'] or 0:.1f} s")
        print(f"  lag: {lag_text}")
        for side, found in item["fences"].items():
            print(f"  fence on {side}: {_fence_text(found)}")
        if item["hold"]:
            hold = item["hold"]
            print(f"  writes held by {hold['by']} until {hold['until']}"
                  + (" (lease over: left by a dead run; the next command undoes it)"
                     if hold["expired"] else ""))
        for fk in item["suspended_fks"]:
            print(f"  foreign key {fk['name']} ({fk['table']} -> {fk['references']}) suspended "
                  f"on {fk['side']} until both take writes there")
        print(f"  verified: {item['verified_at'] or 'never'}"
              + (f", {item['mismatches']} mismatching rows" if item["verified_at"] else ""))
        rate = item["shadow_mismatch_rate"]
        print(f"  shadow: {'on' if item['shadow'] else 'off'}, {item['shadow_compared']} reads "
              f"compared, {item['shadow_mismatched']} mismatched"
              f"{f' ({rate:.2%})' if rate is not None else ''}, {item['shadow_lagged']} lagged")
        if item["copy"]:
            _print_copy(item["copy"])
        if "logins" in item:
            moved = item["logins"]
            print("  logins: " + (moved["error"] if "error" in moved else
                  f"{moved['moved']} operators moved to the operators' pool "
                  f"({moved['by_login']} by signing in, {moved['imported']} imported), "
                  f"{moved['remaining']} remain; {moved['not_moved_inactive']} banned or "
                  "deleted are not moved"))
            for stuck in moved.get("cannot_move", []):
                print(f"  CANNOT MOVE operator {stuck['id']}: {stuck['why']}; give them an "
                      "e-mail in Supabase Auth, or ban or delete them if they are gone "
                      "(finalize waits)")
        if item["backups"]:
            for side, b in sorted(item["backups"].items()):
                print(f"  backup {side}: {b['path']} ({b['bytes']:,} bytes, sha256 "
                      f"{b['sha256'][:12]}…, {b['at']})")
        else:
            print("  backup: none")
    return 0


def _hold_of(row: dict) -> dict | None:
    if row["hold_until"] is None:
        return None
    return {"by": row["held_by"], "until": row["hold_until"].isoformat(),
            "expired": row["hold_until"] < row["now"]}


def _fences_of(conn: Conn, unit: Unit) -> dict[str, dict]:
    """Per table: whether this side takes its writes, why, and the hold's run and lease."""
    return {table: {"accepting": f["accepting"], "reason": f["reason"], "held_by": f["held_by"],
                    "lease_until": f["lease_until"].isoformat() if f["lease_until"] else None,
                    "lease_expired": bool(f["lease_expired"])}
            for table, f in cutover.fences(conn, unit.tables).items()}


def _fence_text(found: dict[str, dict]) -> str:
    if not found:
        return "none (writes accepted)"
    texts = sorted({("open" if f["accepting"] else "closed") + f" ({f['reason']})"
                    + (f", held by {f['held_by']} until {f['lease_until']}"
                       + (" (lease over)" if f["lease_expired"] else "") if f["held_by"] else "")
                    for f in found.values()})
    return "; ".join(texts)
def _copy_report(run: Run, unit: Unit, state: str) -> dict | None:
    """The unit's subscription as the servers show it: each relation's sync state in words,
    its table-sync worker and COPY progress, whether its table-sync slot exists, and why it
    is stuck (its copy done but its slot gone, or named by the last `start`); the error
    counts and the slot's wal_status. None without a subscription."""
    snapshot = replication.observe(run.rds, run.supabase, unit)
    if snapshot is None:
        return None
    named: dict[str, str] = {}
    if state == "copying":
        last = run.rds.execute(
            """select details from migration.events
                where unit = %s and command = 'start'
                  and (outcome = 'started' or details ? 'stuck' or details ? 'recopied')
                order by id desc limit 1""", (unit.name,)).fetchone()
        if last and last["details"] and "stuck" in last["details"]:
            named = {n: "named stuck by the last `start`: " + last["details"].get("why", {})
                     .get(n, "") for n in last["details"]["stuck"]}
    relations = []
    for r in snapshot.relations:
        stuck = None
        if r.state == "f" and not r.sync_slot:
            stuck = "its copy is done but its table-sync slot on Supabase is gone"
        elif r.state not in SYNCHRONIZED:
            stuck = named.get(r.name)
        relations.append({"relation": r.name, "state": r.state, "state_name": STATES[r.state][0],
                          "meaning": STATES[r.state][1], "worker_pid": r.pid,
                          "copied_rows": r.copied, "sync_slot": r.sync_slot, "stuck": stuck})
    present = {r.name for r in snapshot.relations}
    for name in replication.relations_of(unit):
        if name not in present:
            relations.append({"relation": name, "state": None, "state_name": "NOT SUBSCRIBED",
                              "meaning": "out of the subscription; `start` re-copies it",
                              "worker_pid": None, "copied_rows": None, "sync_slot": False,
                              "stuck": named.get(name)})
    return {"subscription": replication.name_of(unit), "apply_worker_pid": snapshot.apply_pid,
            "sync_error_count": snapshot.sync_errors, "apply_error_count": snapshot.apply_errors,
            "slot_wal_status": replication.slot_wal_status(run.supabase, unit),
            "relations": relations}


def _print_copy(copy: dict) -> None:
    print(f"  subscription: apply worker {copy['apply_worker_pid'] or 'NOT RUNNING'}, sync "
          f"errors {copy['sync_error_count']}, apply errors {copy['apply_error_count']}, slot "
          f"{copy['slot_wal_status'] or 'MISSING'}")
    relations = copy["relations"]
    if all(r["state"] == "r" for r in relations):
        print(f"  relations: all {len(relations)} READY")
        return
    for r in relations:
        worker = f", worker {r['worker_pid']}" if r["worker_pid"] else ""
        copied = f", {r['copied_rows']:,} rows copied" if r["copied_rows"] else ""
        stuck = f"; STUCK: {r['stuck']}" if r["stuck"] else ""
        print(f"  {r['relation']:<45} {r['state'] or '-'} ({r['state_name']}: {r['meaning']})"
              f"{worker}{copied}{stuck}")


def _login_census(run: Run) -> dict:
    try:
        return logins.census(run.settings, run.rds).as_dict()
    except ToolError as exc:
        return {"error": f"unknown ({exc})"}


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"


# backup -------------------------------------------------------------------------------------------

def backup(run: Run, unit: Unit) -> int:
    """Dump the unit's tables of both sides (RDS once it has them)."""
    folder = run.settings.migrate_backup_dir.resolve()
    for side, url, conn in (("supabase", run.settings.supabase_db_admin_url, run.supabase),
                            ("rds", run.settings.rds_admin_url, run.rds)):
        counts = replication.row_counts(conn, unit.tables)
        if any(v is None for v in counts.values()):
            run.say(f"{side}: the tables of {unit.name} do not exist there yet; nothing to dump")
            continue
        path, digest, size = backups.dump(pg_bin=run.settings.migrate_pg_bin,
                                          url=url.get_secret_value(), unit=unit, side=side,
                                          folder=folder)
        run.state.record_backup(unit, side=side, path=str(path), sha256=digest, size=size,
                                row_counts=counts)
        rows = sum(v or 0 for v in counts.values())
        run.say(f"{side}: {path} ({size:,} bytes, {rows:,} rows, sha256 {digest})")
    _prune_backups(run)
    run.state.event(unit, "backup", "done", "backed up")
    return 0


def _prune_backups(run: Run) -> None:
    """Backups past their retention go (the newest of each unit and side stays)."""
    keep = run.settings.migrate_backup_keep_days
    gone = backups.prune(run.settings.migrate_backup_dir.resolve(), keep_days=keep,
                         now=datetime.datetime.now(datetime.UTC))
    if gone:
        run.say(f"deleted {len(gone)} backups older than {keep} days: "
                f"{', '.join(p.name for p in gone)}")


# start --------------------------------------------------------------------------------------------

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
    row = _require_state(run, unit, ("new", "rolled_back", *MOVING), "start")
    if "supabase" not in run.state.latest_backup(unit):
        raise GateRefused(f"no backup of {unit.name}: run `python -m migrate backup "
                          f"{unit.name}` first")
    for table in unit.tables:
        key = replication.primary_key(run.supabase, table)
        if len(key) != 1:
            raise GateRefused(f"cannot start {unit.name}: public.{table}'s primary key has "
                              f"{len(key)} columns ({', '.join(key)}); this tool tracks and "
                              "replays single-column keys only")
    if row["state"] in ("replicating", "reads_switched"):
        run.say(f"{unit.name} is already {row['state']}; nothing to do")
        return 0
    applied = apply_rds_schema(run)
    if applied:
        run.say(f"rds: schema applied ({', '.join(applied)})")
    _require_same_shape(run, (unit,), "start")
    # The copy on RDS takes no writes until the cutover; the Supabase rows exist (accepting)
    # so that writers lock them and a cutover can wait for the writes in flight.
    cutover.set_fence(run.rds, unit.tables, accepting=False, reason=cutover.COPY_OF_SUPABASE)
    cutover.set_fence(run.supabase, unit.tables, accepting=True, reason=cutover.SUPABASE_HOLDS)
    # From now on each side refuses the unit's writes, from anyone, while its fence is
    # closed (RDS's is, until the write cutover).
    for side in (run.rds, run.supabase):
        cutover.install_guard(side, unit)
        cutover.refuse_ddl(side, unit)
    if not replication.subscription_exists(run.rds, unit):
        foreign_keys.say_suspended(run, foreign_keys.suspend_into(run, (unit,), to="supabase"))
        _empty_rds_copy(run, unit)
        run.state.update(unit, state="copying", started_at=_now(run), verified_at=None,
                         verify_mismatches=None, verify_details=None, shadow=False,
                         shadow_compared=0, shadow_mismatched=0, shadow_lagged=0,
                         shadow_last=None)
        run.state.event(unit, "start", "started", "copy started")
        replication.ensure_publication(run.supabase, unit)
        replication.ensure_subscription(run.rds, run.supabase, unit,
                                        publisher_url=run.settings.publisher_url)
    else:
        _require_slot_usable(run, unit, "start")
        _repair_stuck(run, unit)
    swept = replication.sweep_sync_slots(run.rds, run.supabase, unit)
    if swept:
        run.say(f"supabase: dropped {len(swept)} leftover table-sync slot(s) nothing will use "
                f"again: {', '.join(swept)}")
    cutover.install_touch(run.supabase, unit)
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
            return replication.wait_for_copy(
                run.rds, run.supabase, unit, expected,
                stall_seconds=run.settings.migrate_copy_stall_seconds)
        except replication.CopyStuck as exc:
            names = [s.name for s in exc.stuck]
            run.state.event(unit, "start", "failed", str(exc)[:500],
                            {"stuck": names, "why": {s.name: s.why for s in exc.stuck}})
            if not all(s.repairable_now and s.name not in repaired for s in exc.stuck):
                replication.park(run.rds, run.supabase, unit, names)
                raise
            for item in exc.stuck:
                run.say(item.line())
            _recopy(run, unit, names)
            repaired.update(names)


def _repair_stuck(run: Run, unit: Unit) -> None:
    """Before waiting on a copy already under way: re-copy the relations a previous run named
    stuck, those stuck now (copy done, table-sync slot gone), and those a repair interrupted
    left out of the subscription, unless they have finished meanwhile."""
    snapshot = replication.observe(run.rds, run.supabase, unit)
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
        later = replication.observe(run.rds, run.supabase, unit)
        for item in watchdog.observe(later) if later else []:
            if item.repairable_now:
                reasons[item.name] = item.why
    for name in replication.relations_of(unit):
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
    replication.recopy(run.rds, run.supabase, unit, names)
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


def _now(run: Run):
    return one(run.rds.execute("select now() as t").fetchone())["t"]


# verify -------------------------------------------------------------------------------------------

def verify_unit(run: Run, unit: Unit) -> int:
    """Compare both copies; record and print the result; non-zero on any mismatch."""
    _require_state(run, unit, ("replicating", "reads_switched"), "verify")
    _require_replication(run, unit, "verify")
    counts, mismatches, seconds = _full_verify(run, unit)
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


def _full_verify(run: Run, unit: Unit) -> tuple[dict[str, int], verify.Mismatches, float]:
    """Compare every row of the unit, record the result; (rows, mismatches, seconds). The
    keys written on Supabase are tracked afresh from its start (see switch_writes)."""

    def settle() -> None:
        replication.wait_applied(run.rds, unit, replication.beat(run.supabase, unit), timeout=30)

    cutover.reset_touched(run.supabase, unit)
    started = time.monotonic()
    counts, mismatches = verify.compare(
        run.supabase, run.rds, unit.tables, settle=settle,
        pace=verify.Pacer.of(run.settings, run.supabase, run.rds, unit, run.say),
        chunk_rows=run.settings.migrate_verify_chunk_rows)
    seconds = time.monotonic() - started
    run.state.update(unit, verified_at=_now(run), verify_mismatches=mismatches.total,
                     verify_details={"rows": counts, "seconds": seconds,
                                     "mismatches": mismatches[:100]})
    return counts, mismatches, seconds


# shadow -------------------------------------------------------------------------------------------

def shadow(run: Run, unit: Unit, on: bool) -> int:
    """Turn shadow reads of the unit's group on (counters reset) or off."""
    _carrier(unit, "shadow", then=" on" if on else " off")
    group = switch_group(unit)
    for member in group:
        _require_state(run, member, ("replicating", "reads_switched") if on else
                       (*MOVING, "new", "rolled_back", "writes_switched", "finalized",
                        "dropped"), "shadow")
    for member in group:
        if on:
            run.state.update(member, shadow=True, shadow_compared=0, shadow_mismatched=0,
                             shadow_lagged=0, shadow_last=None)
        else:
            run.state.update(member, shadow=False)
    run.state.event(unit, "shadow", "done", "on" if on else "off")
    run.say(f"shadow reads of {', '.join(m.name for m in group)}: {'on' if on else 'off'}")
    return 0


# switches -----------------------------------------------------------------------------------------

def _require_replication(run: Run, member: Unit, step: str) -> None:
    """The unit's subscription on RDS and its slot on Supabase both exist."""
    carrier = member.switches_with or member.name
    if not replication.subscription_exists(run.rds, member):
        raise GateRefused(f"cannot {step}: the subscription of {member.name} is missing on RDS; "
                          f"run `rollback {carrier}` then `start {member.name}`")
    if not replication.slot_exists(run.supabase, member):
        raise GateRefused(f"cannot {step}: the replication slot {replication.name_of(member)} "
                          f"is missing on Supabase, so RDS no longer receives changes; run "
                          f"`rollback {carrier}` then `start {member.name}`")
    _require_slot_usable(run, member, step)


def _require_slot_usable(run: Run, member: Unit, step: str) -> None:
    """The unit's slot on Supabase still holds the WAL RDS needs: refuse when it was
    invalidated (wal_status lost, by max_slot_wal_keep_size), warn when it may soon be."""
    carrier = member.switches_with or member.name
    name = replication.name_of(member)
    wal_status = replication.slot_wal_status(run.supabase, member)
    if wal_status == "lost":
        raise GateRefused(f"cannot {step}: the replication slot {name} on Supabase was "
                          "invalidated (wal_status lost: Supabase removed WAL RDS had not "
                          f"received yet, see max_slot_wal_keep_size); run `rollback {carrier}` "
                          f"then `start {member.name}`")
    if wal_status == "unreserved":
        run.say(f"warning: the replication slot {name} on Supabase is past "
                "max_slot_wal_keep_size (wal_status unreserved) and is lost at the next "
                "checkpoint unless RDS catches up; check `status` for the lag")


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
    _carrier(unit, step)
    group = switch_group(unit)
    rows = {m.name: _require_state(run, m, (from_state,), step) for m in group}
    for member in group:
        _require_replication(run, member, step)
        _require_verified(run, member, rows[member.name], step)
    _require_same_shape(run, group, step)
    return group, rows


def _require_same_shape(run: Run, group: tuple[Unit, ...], step: str) -> None:
    """Both sides' tables of the group have one shape (migrate/schema.py says why)."""
    found = schema.differences(run.supabase, run.rds, [t for m in group for t in m.tables])
    if found:
        many = f"{len(found)} differences, first" if len(found) > 1 else "1 difference"
        raise GateRefused(f"cannot {step}: the tables differ between Supabase and RDS ({many}: "
                          f"{found[0]}); make both alike with a migration applied to both "
                          "(`python -m migrate plan` lists each)")


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
        _, mismatches, _ = _full_verify(run, member)
        if mismatches:
            raise GateRefused(f"cannot switch-writes: {mismatches.total} rows of {member.name} "
                              f"differ (first: {mismatches[0]['table']} {mismatches[0]['key']}); "
                              f"see `verify {member.name}`")
    _require_few_written(run, unit, tables)
    # The verify loads both servers, and RDS's apply falls behind meanwhile: let it catch up
    # before writes wait, so that inside the hold it applies only the last moment's writes.
    for member in group:
        replication.wait_applied(run.rds, member, replication.beat(run.supabase, member),
                                 timeout=30)
    _pause(run, "switch-writes:before-hold")
    held_at = None
    try:
        held_at = holds.close(run, group, tables, on=run.supabase, side="supabase",
                              keep="Supabase", reason=cutover.MOVED_TO_RDS,
                              failpoint="switch-writes")
        closed = time.monotonic() - held_at
        _pause(run, "switch-writes:fence-closed")
        with holds.bounded(run, held_at):
            beats = {member.name: replication.beat(run.supabase, member) for member in group}
            for member in group:
                remaining = max_hold - (time.monotonic() - held_at)
                replication.wait_applied(run.rds, member, beats[member.name],
                                         timeout=max(remaining, 0.1))
            caught_up = time.monotonic() - held_at
            _pause(run, "switch-writes:caught-up")
            written = cutover.touched(run.supabase, tables)
            mismatches = verify.compare_changed(run.supabase, run.rds, written)
            if mismatches:
                raise ToolError(f"the final verify found {len(mismatches)} differing rows "
                                f"(first: {mismatches[0]['table']} {mismatches[0]['key']} "
                                f"{mismatches[0]['problem']}); writes stay on Supabase")
            verified = time.monotonic() - held_at
            _pause(run, "switch-writes:verified")
            with run.rds.transaction():
                # The fence rows first, then the tables: writers lock them in that order too.
                cutover.set_fence(run.rds, tables, accepting=True, reason=cutover.RDS_HOLDS)
                sequences = {}
                for member in group:
                    sequences.update(cutover.copy_sequences(run.supabase, run.rds, member))
                    cutover.install_capture(run.rds, member)
                for member in group:
                    run.state.update(member, conn=run.rds, state="writes_switched")
                holds.release_hold(run, group, conn=run.rds)
        hold = time.monotonic() - held_at
    except BaseException as exc:
        if held_at is not None:
            _reopen(run, group, tables, on=run.supabase, reason=cutover.SUPABASE_HOLDS)
        run.state.event(unit, "switch-writes", "failed", str(exc)[:500])
        if isinstance(exc, (ToolError, psycopg.Error)):
            raise ToolError(f"switch-writes {unit.name} aborted, writes stay on Supabase: "
                            f"{str(exc).splitlines()[0]}") from None
        raise
    _pause(run, "switch-writes:flipped")
    # Supabase's fence stays closed for good now: no longer a hold, no lease.
    cutover.set_fence(run.supabase, tables, accepting=False, reason=cutover.MOVED_TO_RDS)
    for member in group:
        replication.drop_subscription(run.rds, run.supabase, member)
        cutover.remove_touch(run.supabase, member)
    _pause(run, "switch-writes:unsubscribed")
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


def _pause(run: Run, point: str) -> None:
    failpoints.pause(point, run.settings.migrate_pause_at)


def _require_few_written(run: Run, unit: Unit, tables: list[str]) -> None:
    """Refuse to hold when more rows were written since the full verify than the hold may
    check (each one, by key, while writes wait)."""
    written = sum(len(keys) for keys in cutover.touched(run.supabase, tables).values())
    if written > run.settings.migrate_max_hold_keys:
        raise GateRefused(f"cannot switch-writes: {written:,} rows were written during the "
                          f"verify just before the hold, more than MIGRATE_MAX_HOLD_KEYS="
                          f"{run.settings.migrate_max_hold_keys:,} the hold may check; run "
                          f"`switch-writes {unit.name}` at a quieter time")


def _reopen(run: Run, group: tuple[Unit, ...], tables: list[str], *, on: Conn,
            reason: str) -> None:
    """Undo a hold that did not switch: the fence of `tables` opens again on `on` (the side
    that kept the tables), and writers stop waiting."""
    cutover.set_fence(on, tables, accepting=True, reason=reason, lock_timeout_ms=5000)
    holds.release_hold(run, group)


# rollback -----------------------------------------------------------------------------------------

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
        _carrier(unit, "rollback")
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
        cutover.set_fence(run.rds, moving_tables, accepting=False, reason=cutover.STALE_COPY)
        for member in moving:
            run.state.update(member, conn=run.rds, state="rolled_back", shadow=False)
    _pause(run, "rollback:flipped")
    # Until every worker has re-read the routing, some still read RDS. Nothing may change
    # meanwhile that RDS would not show: after a replay Supabase's fence stays closed (writes
    # wait), otherwise the subscription keeps RDS up to date until it is dropped below.
    time.sleep(ROUTING_SETTLE_SECONDS)
    cutover.set_fence(run.supabase, moving_tables, accepting=True, reason=cutover.SUPABASE_HOLDS)
    holds.release_hold(run, tuple(moving))
    _pause(run, "rollback:reopened")
    for member in moving:
        cutover.remove_capture(run.rds, member)
        replication.drop_subscription(run.rds, run.supabase, member)
        replication.drop_publication(run.supabase, member)
        cutover.remove_touch(run.supabase, member)
        for side in (run.rds, run.supabase):
            cutover.allow_ddl(side, member)
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
        for found in verify.compare_changed(run.supabase, run.rds, done.keys):
            suspects[found["table"]].add(found["key"])
        if time.monotonic() - started < CAUGHT_UP_SECONDS:
            break
    _pause(run, "rollback:caught-up")
    held_at = None
    try:
        held_at = holds.close(run, group, tables, on=run.rds, side="RDS", keep="RDS",
                              reason=cutover.ROLLING_BACK, failpoint="rollback")
        _pause(run, "rollback:fence-closed")
        with holds.bounded(run, held_at):
            last = _replay_round(run, group, since, sequences=True)
            # Both sides were equal when writes moved (checked in that hold); since then only
            # the captured rows changed on RDS, and nothing on Supabase.
            mismatches = verify.compare_changed(run.supabase, run.rds, {
                t: sorted(set(last.keys[t]) | suspects[t]) for t in tables})
            if mismatches:
                raise ToolError(f"after replay {len(mismatches)} rows still differ (first: "
                                f"{mismatches[0]['table']} {mismatches[0]['key']} "
                                f"{mismatches[0]['problem']}); run `rollback {unit.name}` again "
                                "(it replays every captured change from the start)")
        replayed += last.rows
    except BaseException as exc:
        if held_at is not None:
            _reopen(run, group, tables, on=run.rds, reason=cutover.RDS_HOLDS)
        run.state.event(unit, "rollback", "failed", str(exc)[:500])
        if isinstance(exc, (ToolError, psycopg.Error)):
            raise ToolError(f"rollback {unit.name} aborted, writes stay on RDS: "
                            f"{str(exc).splitlines()[0]}") from None
        raise
    _pause(run, "rollback:replayed")
    hold = time.monotonic() - held_at
    run.state.event(unit, "rollback", "progress", f"replayed; held {hold:.3f} s",
                    {"hold_seconds": hold, "rows_replayed": replayed,
                     "rows_in_hold": last.rows})
    run.say(f"replayed {replayed} rows onto Supabase ({last.rows} of them while writes were "
            f"held {hold * 1000:.0f} ms); both sides identical")
    return replayed


def _replay_round(run: Run, group: tuple[Unit, ...], since: str | None, *,
                  sequences: bool = False) -> cutover.Round:
    """One replay onto Supabase in replica mode (no trigger fires, nor the fence: Supabase
    takes no other writes), its deferrable keys checked at commit."""
    with run.supabase.transaction():
        run.supabase.execute("set local session_replication_role = replica")
        run.supabase.execute("set constraints all deferred")
        done = cutover.replay(run.rds, run.supabase, group, since=since)
        if sequences:
            for member in group:
                cutover.copy_sequences(run.rds, run.supabase, member)
    return done


# finalize and drop --------------------------------------------------------------------------------

def finalize(run: Run, unit: Unit) -> int:
    """Drop replication and capture; keep the Supabase tables in schema supabase_backup."""
    _carrier(unit, "finalize")
    group = switch_group(unit)
    for member in group:
        _require_state(run, member, ("writes_switched", "finalized"), "finalize")
    if unit.name == LOGINS_UNIT and run.state.row(unit)["state"] != "finalized":
        logins.refuse_lockout(logins.census(run.settings, run.rds))
        disabled = logins.carry_bans_over(run.settings, run.rds, say=run.say)
        run.state.event(unit, "finalize", "progress", f"bans carried over: {disabled} "
                        "operators' pool users disabled")
    if unit.name == LOGINS_UNIT and not run.settings.aws_cognito_operator_pool_id:
        raise ToolError("finalize operators needs AWS_COGNITO_OPERATOR_POOL_ID: it detaches "
                        "the operators' pool's UserMigration trigger")
    run.supabase.execute(sql.SQL("create schema if not exists {}").format(
        sql.Identifier(BACKUP_SCHEMA)))
    run.supabase.execute(sql.SQL("revoke all on schema {} from public").format(
        sql.Identifier(BACKUP_SCHEMA)))
    for member in group:
        replication.drop_subscription(run.rds, run.supabase, member)
        replication.drop_publication(run.supabase, member)
        for table in member.tables:
            if one(run.supabase.execute("select to_regclass(%s) is not null as ok",
                                        (f"public.{table}",)).fetchone())["ok"]:
                cutover.ddl(run.supabase, sql.SQL("alter table {} set schema {}").format(
                    qualified(table), sql.Identifier(BACKUP_SCHEMA)))
        run.supabase.execute("delete from migration.heartbeat where unit = %s", (member.name,))
        with run.rds.transaction():
            cutover.clear_fence(run.rds, member.tables)
            run.state.update(member, conn=run.rds, state="finalized", shadow=False)
        cutover.remove_capture(run.rds, member)
        # RDS holds the tables for good: no fence left to enforce there. (Supabase's copies,
        # now in supabase_backup, keep refusing writes until `drop`.)
        cutover.remove_guard(run.rds, member)
        for side in (run.rds, run.supabase):
            cutover.allow_ddl(side, member)
    run.state.event(unit, "finalize", "done", "replication dropped; Supabase tables kept")
    if unit.name == LOGINS_UNIT:
        run.say(logins.detach_user_migration(run.settings))
    run.say(f"{', '.join(m.name for m in group)} finalized: no publication, subscription, slot "
            f"or capture left; the Supabase tables are kept in schema {BACKUP_SCHEMA} until "
            f"`python -m migrate drop {unit.name}`")
    return 0


def import_logins(run: Run, unit: Unit) -> int:
    """Give every operator who has not signed in yet a Cognito user (password reset)."""
    if unit.name != LOGINS_UNIT:
        raise GateRefused(f"{unit.name} has no logins: import-logins is for {LOGINS_UNIT}")
    imported = logins.import_remaining(run.settings, run.rds, run.state.row(unit)["state"],
                                       say=run.say)
    run.state.event(unit, "import-logins", "done", f"{imported} operators imported")
    return 0


def drop(run: Run, unit: Unit) -> int:
    """Delete the Supabase backup tables of a finalized unit's group."""
    _carrier(unit, "drop")
    group = switch_group(unit)
    for member in group:
        _require_state(run, member, ("finalized", "dropped"), "drop")
    for member in group:
        with run.supabase.transaction():
            for table in member.tables:
                run.supabase.execute(sql.SQL("drop table if exists {}.{} cascade").format(
                    sql.Identifier(BACKUP_SCHEMA), sql.Identifier(table)))
            cutover.clear_fence(run.supabase, member.tables)
        run.state.update(member, state="dropped")
    run.state.event(unit, "drop", "done", "Supabase backup tables dropped")
    run.say(f"the Supabase copies of {', '.join(m.name for m in group)} are dropped")
    return 0
